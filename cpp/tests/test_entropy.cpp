// C++ tests of the entropy-regularized LQ solver ([theory §4]) against a hand-derived
// scalar case: for N = 1 the stage value is the soft-min
//   V_t(x) = -tau log E_{u~N(0,1)} exp(-c(x,u)/tau)
// which gives P_t = q + a^2 P - (a b P)^2 / S and p_t = p + w P + tau/2 log(1 + 2 (r + b^2 P)/tau),
// S = tau/2 + r + b^2 P, independently of [theory §4]'s trace/log-det form of p.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <utility>
#include <stdexcept>
#include <vector>

#include "check.hpp"
#include "gamesolve/entropy.hpp"

using gamesolve::Index;

// Heap allocations are counted to check that nothing is allocated per stage. Under AddressSanitizer
// (which owns malloc: an interposed malloc aborts at start) through the sanitizer allocator's hooks;
// otherwise with glibc by interposing malloc in this executable (Eigen and operator new both
// allocate through it).
#if defined(__SANITIZE_ADDRESS__)
#define GS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GS_ASAN 1
#endif
#endif
#if defined(GS_ASAN)
// The sanitizer runtime's allocator hooks (declared here: not every compiler ships
// <sanitizer/allocator_interface.h>).
extern "C" int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void*, size_t),
                                                         void (*free_hook)(const volatile void*));
static long g_mallocs = 0;
static void count_malloc(const volatile void*, size_t) { ++g_mallocs; }
static void count_free(const volatile void*) {}
static const int g_hooks = __sanitizer_install_malloc_and_free_hooks(count_malloc, count_free);
#define GS_COUNT_MALLOCS 1
#elif defined(__GLIBC__)
extern "C" void* __libc_malloc(size_t);
static long g_mallocs = 0;
extern "C" void* malloc(size_t size) {
  ++g_mallocs;
  return __libc_malloc(size);
}
#define GS_COUNT_MALLOCS 1
#endif

namespace {

struct Scalar1 {
  double a = 0.9, b = 0.7, q = 1.3, r = 0.4, qT = 2.0, w = 0.25, tau = 0.8;
  Index T = 4;
};

void test_scalar_lqr() {
  Scalar1 s;
  gamesolve::EntropyLQData data;
  data.game.dims = gamesolve::Dims(1, {1});
  data.game.T = s.T;
  data.game.A = {&s.a, 1, 0, 0};
  data.game.B = {&s.b, 1, 0, 0};
  data.game.Q = {&s.q, 1, 0, 0};
  data.game.R = {&s.r, 1, 0, 0};
  data.game.QT = {&s.qT, 1, 0, 0};
  data.W = {&s.w, 1, 0, 0};
  data.tau = s.tau;
  std::vector<double> K(s.T), Sig(s.T), P(s.T + 1), p(s.T + 1);
  std::vector<std::int32_t> status(s.T);
  gamesolve::EntropySolutionView out;
  out.K = {K.data(), s.T, 1, 0};
  out.Sigma = {Sig.data(), s.T, 1, 0};
  out.P = {P.data(), s.T + 1, 1, 0};
  out.p = {p.data(), s.T + 1, 1, 0};
  out.status = status.data();
  out.status_size = s.T;
  const auto rep = gamesolve::solve_entropy_lq_game(data, out);
  CHECK(rep.bad_stage == -1);
  double Pn = s.qT, pn = 0.0;
  CHECK_NEAR(P[s.T], Pn, 0.0);
  for (Index t = s.T - 1; t >= 0; --t) {
    const double S = 0.5 * s.tau + s.r + s.b * s.b * Pn;
    const double Kt = s.a * s.b * Pn / S;
    const double Pt = s.q + s.a * s.a * Pn - (s.a * s.b * Pn) * (s.a * s.b * Pn) / S;
    const double pt = pn + s.w * Pn + 0.5 * s.tau * std::log(1.0 + 2.0 * (s.r + s.b * s.b * Pn) / s.tau);
    CHECK_NEAR(K[t], Kt, 1e-14);
    CHECK_NEAR(Sig[t], 1.0 / (1.0 + 2.0 * (s.r + s.b * s.b * Pn) / s.tau), 1e-14);
    CHECK_NEAR(P[t], Pt, 1e-13 * Pt);
    CHECK_NEAR(p[t], pt, 1e-13 * std::fabs(pt));
    CHECK(status[t] == 0);
    Pn = Pt;
    pn = pt;
  }

  // tau <= 0 and linear terms are rejected.
  data.tau = 0.0;
  CHECK_THROWS(gamesolve::solve_entropy_lq_game(data, out), std::invalid_argument);
  data.tau = s.tau;
  double qlin = 1.0;
  data.game.q = {&qlin, 1, 0, 0};
  CHECK_THROWS(gamesolve::solve_entropy_lq_game(data, out), std::invalid_argument);
  data.game.q = {};
  // A too-small output buffer is rejected before any work.
  out.P.size = s.T;
  CHECK_THROWS(gamesolve::solve_entropy_lq_game(data, out), std::invalid_argument);
  out.P.size = s.T + 1;

  // An indefinite terminal weight makes the last stage unbounded below: reported, not garbage.
  double qT_bad = -10.0;
  data.game.QT = {&qT_bad, 1, 0, 0};
  const auto bad = gamesolve::solve_entropy_lq_game(data, out);
  CHECK(bad.bad_stage == s.T - 1);
  CHECK(bad.bad_player == 0);
  CHECK(std::isnan(p[0]) && std::isnan(Sig[0]));
}

// Two players, n = 2: Sigma is block-diagonal with zero cross blocks, and with the same
// data the means equal the core's [theory §2] solve of the game with R^ii + tau/2.
void test_two_player_shift() {
  const Index n = 2, T = 3;
  const double A[4] = {1.0, 0.1, 0.0, 0.9};
  const double B[4] = {0.0, 0.3, 0.2, 1.0};  // n x m, m = 2
  const double Q[8] = {1, 0, 0, 2, 3, 0.5, 0.5, 1};
  const double R[8] = {1, 0, 0, 0.2, 0.3, 0, 0, 2};  // R^1 weighs u^2 too (block-diagonal)
  const double tau = 1.5;
  gamesolve::EntropyLQData data;
  data.game.dims = gamesolve::Dims(n, {1, 1});
  data.game.T = T;
  data.game.A = {A, 4, 0, 0};
  data.game.B = {B, 4, 0, 0};
  data.game.Q = {Q, 8, 0, 0};
  data.game.R = {R, 8, 0, 0};
  data.game.QT = {Q, 8, 0, 0};
  data.tau = tau;
  std::vector<double> K(T * 2 * n), Sig(T * 4), P((T + 1) * 2 * n * n), p((T + 1) * 2);
  std::vector<std::int32_t> status(T);
  gamesolve::EntropySolutionView out;
  out.K = {K.data(), (Index)K.size(), 2 * n, 0};
  out.Sigma = {Sig.data(), (Index)Sig.size(), 4, 0};
  out.P = {P.data(), (Index)P.size(), 2 * n * n, 0};
  out.p = {p.data(), (Index)p.size(), 2, 0};
  out.status = status.data();
  out.status_size = T;
  gamesolve::solve_entropy_lq_game(data, out);

  double Rs[8];
  for (int i = 0; i < 8; ++i) Rs[i] = R[i];
  Rs[0] += 0.5 * tau;  // player 0 own block
  Rs[7] += 0.5 * tau;  // player 1 own block
  gamesolve::LQGameData g = data.game;
  g.R = {Rs, 8, 0, 0};
  const auto ref = gamesolve::solve_lq_game(g);
  for (size_t j = 0; j < K.size(); ++j) CHECK_NEAR(K[j], ref.K[j], 1e-13);
  for (size_t j = 0; j < P.size(); ++j) CHECK_NEAR(P[j], ref.Z[j], 1e-12 * (1 + std::fabs(ref.Z[j])));
  for (Index t = 0; t < T; ++t) {
    CHECK(Sig[t * 4 + 1] == 0.0 && Sig[t * 4 + 2] == 0.0);
    CHECK(Sig[t * 4] > 0.0 && Sig[t * 4] < 1.0 && Sig[t * 4 + 3] > 0.0 && Sig[t * 4 + 3] < 1.0);
  }
  CHECK_NEAR(p[2 * T], 0.0, 0.0);

  // Contraction factors ([Reg-LQ] Lemma IV.1) against the formula, with and without the output.
  std::vector<double> fac(T);
  out.contraction = {fac.data(), T, 1, 0};
  const auto rep = gamesolve::solve_entropy_lq_game(data, out);
  double gB2 = 0.0;  // player 0: column (0, 0.2)' ; player 1: (0.3, 1)'
  gB2 = std::max(0.0 * 0.0 + 0.2 * 0.2, 0.3 * 0.3 + 1.0 * 1.0);
  CHECK_NEAR(rep.gamma_B, std::sqrt(gB2), 1e-15);
  double gP = 0.0;
  for (Index t = 0; t <= T; ++t)
    for (Index i = 0; i < 2; ++i) {
      double f2 = 0.0;
      for (Index k = 0; k < n * n; ++k) f2 += P[(t * 2 + i) * n * n + k] * P[(t * 2 + i) * n * n + k];
      gP = std::max(gP, std::sqrt(f2));
      if (t >= 1) {
        double f2o = 0.0;
        for (Index k = 0; k < n * n; ++k) f2o += P[(t * 2 + 1 - i) * n * n + k] * P[(t * 2 + 1 - i) * n * n + k];
        if (i == 0) CHECK_NEAR(fac[t - 1], 2.0 * gB2 * std::sqrt(std::max(f2, f2o)) / tau, 1e-13);
      }
    }
  CHECK_NEAR(rep.gamma_P, gP, 1e-13 * gP);
  CHECK(rep.assumption_holds == (tau > 2.0 * gB2 * gP));
}

// check_entropy_values: each failed check is named with its stage and player.
void test_value_checks() {
  const Index n = 2;
  double A[4] = {1.0, 0.1, 0.0, 0.9}, B[4] = {0.0, 0.3, 0.2, 1.0};
  double Q[8] = {1, 0, 0, 2, 3, 0.5, 0.5, 1};
  double R[8] = {1, 0, 0, 0.2, 0.3, 0, 0, 2};
  double W[4] = {1, 0, 0, 1};
  gamesolve::EntropyLQData data;
  data.game.dims = gamesolve::Dims(n, {1, 1});
  data.game.T = 3;
  data.game.A = {A, 4, 0, 0};
  data.game.B = {B, 4, 0, 0};
  data.game.Q = {Q, 8, 0, 0};
  data.game.R = {R, 8, 0, 0};
  data.game.QT = {Q, 8, 0, 0};
  data.W = {W, 4, 0, 0};
  data.tau = 1.0;
  auto code = [&]() { return gamesolve::check_entropy_values(data); };
  CHECK(code().code == gamesolve::kEntropyOk);
  Q[5] = 0.6;  // Q^1 asymmetric (also QT, which aliases Q: Q is checked first)
  CHECK(code().code == gamesolve::kQAsymmetric && code().i == 1 && code().t == 0);
  Q[5] = 0.5 * (1 + 1e-12);  // within the relative tolerance
  CHECK(code().code == gamesolve::kEntropyOk);
  Q[5] = 0.5;
  R[1] = 0.1;  // a product u^1 u^2 in R^0
  CHECK(code().code == gamesolve::kRNotBlockDiagonal && code().i == 0);
  R[1] = 0.0;
  R[7] = -2.0;  // R^1's own block
  CHECK(code().code == gamesolve::kROwnNotPD && code().i == 1);
  R[7] = std::nan("");  // non-finite: caught with the symmetry test
  CHECK(code().code == gamesolve::kRAsymmetric && code().i == 1);
  R[7] = 2.0;
  W[3] = -1e-3;
  CHECK(code().code == gamesolve::kWNotPSD && code().t == 0);
  W[0] = W[1] = W[2] = W[3] = 1.0;  // PSD, singular: accepted
  CHECK(code().code == gamesolve::kEntropyOk);
  W[1] = 0.5;
  CHECK(code().code == gamesolve::kWAsymmetric);
}

// The number of heap allocations of a solve does not depend on T (time-varying data, noise).
void test_no_allocation_per_stage() {
#ifdef GS_COUNT_MALLOCS
  const Index n = 3, N = 2, m = 3;
  auto count = [&](Index T) {
    std::vector<double> A(T * n * n), B(T * n * m), Q(T * N * n * n, 0.0), R(T * N * m * m, 0.0), W(T * n * n, 0.0);
    for (Index t = 0; t < T; ++t) {
      for (Index k = 0; k < n * n; ++k) A[t * n * n + k] = (k % (n + 1) == 0 ? 1.0 : 0.05 * ((k + t) % 3));
      for (Index k = 0; k < n * m; ++k) B[t * n * m + k] = 0.1 * ((k * 7 + t) % 5) - 0.2;
      for (Index i = 0; i < N; ++i)
        for (Index a = 0; a < n; ++a) Q[((t * N + i) * n + a) * n + a] = 1.0 + 0.1 * i;
      R[(t * N + 0) * m * m + 0] = 1.0;  // player 0: u^0 (1 column)
      R[(t * N + 1) * m * m + 1 * m + 1] = 2.0;  // player 1: u^1 (2 columns)
      R[(t * N + 1) * m * m + 2 * m + 2] = 2.0;
      for (Index a = 0; a < n; ++a) W[t * n * n + a * n + a] = 0.01;
    }
    gamesolve::EntropyLQData data;
    data.game.dims = gamesolve::Dims(n, {1, 2});
    data.game.T = T;
    data.game.A = {A.data(), (Index)A.size(), n * n, 0};
    data.game.B = {B.data(), (Index)B.size(), n * m, 0};
    data.game.Q = {Q.data(), (Index)Q.size(), N * n * n, 0};
    data.game.R = {R.data(), (Index)R.size(), N * m * m, 0};
    data.game.QT = {Q.data(), N * n * n, 0, 0};
    data.W = {W.data(), (Index)W.size(), n * n, 0};
    data.tau = 0.7;
    std::vector<double> K(T * m * n), Sig(T * m * m), P((T + 1) * N * n * n), p((T + 1) * N), c(T);
    std::vector<std::int32_t> status(T);
    gamesolve::EntropySolutionView out;
    out.K = {K.data(), (Index)K.size(), m * n, 0};
    out.Sigma = {Sig.data(), (Index)Sig.size(), m * m, 0};
    out.P = {P.data(), (Index)P.size(), N * n * n, 0};
    out.p = {p.data(), (Index)p.size(), N, 0};
    out.contraction = {c.data(), T, 1, 0};
    out.status = status.data();
    out.status_size = T;
    const long before = g_mallocs;
    const auto rep = gamesolve::solve_entropy_lq_game(data, out);
    const long solve = g_mallocs - before;
    CHECK(rep.bad_stage == -1 && rep.core.nonfinite_stages == 0 && std::isfinite(p[0]));
    const long before_check = g_mallocs;
    CHECK(gamesolve::check_entropy_values(data).code == gamesolve::kEntropyOk);
    return std::make_pair(solve, g_mallocs - before_check);
  };
  const auto a = count(3), b = count(40);
  CHECK(a.first == b.first);
  CHECK(a.second == b.second);
  CHECK(a.first > 0);  // the counter works
#if defined(GS_ASAN)
  CHECK(g_hooks != 0);  // the hooks were installed
#endif
#endif
}

}  // namespace

int main() {
  test_scalar_lqr();
  test_two_player_shift();
  test_value_checks();
  test_no_allocation_per_stage();
  return gscheck::finish("test_entropy");
}
