// C++ tests of the checks of LQ game data (cpp/include/gamesolve/check.hpp).
#include <algorithm>
#include <cstdint>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "check.hpp"
#include "gamesolve/check.hpp"

using namespace gamesolve;

namespace {

// N = 2 players, n = 2 states, dims (1, 2), T = 3; A time-varying, the rest time-invariant.
struct Game {
  std::vector<double> A, B, Q, R, QT, q;
  LQGameData g;
  Game() {
    const Index N = 2, n = 2, m = 3, T = 3;
    A.assign(T * n * n, 0.5);
    B.assign(n * m, 1.0);
    Q = {1, 0, 0, 1, 2, 0.5, 0.5, 2};
    R.assign(N * m * m, 0.0);
    for (Index i = 0; i < N; ++i)
      for (Index a = 0; a < m; ++a) R[i * m * m + a * m + a] = 1.0 + i;
    QT = Q;
    q.assign(N * n, 0.1);
    g.dims = Dims(n, {1, 2});
    g.T = T;
    g.A = {A.data(), Index(A.size()), n * n, 0};
    g.B = {B.data(), Index(B.size()), 0, 0};
    g.Q = {Q.data(), Index(Q.size()), 0, 0};
    g.R = {R.data(), Index(R.size()), 0, 0};
    g.QT = {QT.data(), Index(QT.size()), 0, 0};
    g.q = {q.data(), Index(q.size()), 0, 0};
  }
};

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

}  // namespace

int main() {
  {
    Game G;
    CHECK(check_game_values(G.g).ok());
  }
  // Non-finite entries anywhere in any input, named.
  for (double bad : {kNaN, kInf, -kInf}) {
    Game G;
    G.A[2 * 4 + 3] = bad;  // last stage of the time-varying A
    const ValueCheck v = check_game_values(G.g);
    CHECK(v.issue == ValueIssue::kNonFinite && std::string(v.name) == "A");
    Game H;
    H.q[3] = bad;
    CHECK(check_game_values(H.g).issue == ValueIssue::kNonFinite);
  }
  {
    std::vector<double> x(1000, 1.0);
    CHECK(all_finite(x.data(), Index(x.size())));
    x[777] = kNaN;
    CHECK(!all_finite(x.data(), Index(x.size())));
    CHECK(all_finite(x.data(), 777));
    x[777] = std::numeric_limits<double>::max();
    x[3] = std::numeric_limits<double>::denorm_min();
    x[4] = -std::numeric_limits<double>::max();
    x[5] = -0.0;
    CHECK(all_finite(x.data(), Index(x.size())));
  }
  // all_finite: one NaN or infinity at any position of any size (main loop, 8-wide steps, tail) is
  // found, and entries beyond `size` are not read as part of it.
  for (Index size = 1; size <= 80; ++size)
    for (Index at = 0; at < size; ++at)
      for (const double bad : {kNaN, kInf, -kInf}) {
        std::vector<double> x(size + 1, -1.5e300);
        x[size] = kNaN;
        CHECK(all_finite(x.data(), size));
        x[at] = bad;
        CHECK(!all_finite(x.data(), size));
        CHECK(first_nonfinite(x.data(), size) == at);
      }
  // Stages not stored back to back (t_stride > block): NaN in the gaps is not the game's, and a
  // NaN in a stage is found and located there.
  {
    Game G;
    const Index T = 3, blk = 4, gap = 3;
    std::vector<double> A(T * (blk + gap), kNaN);
    for (Index t = 0; t < T; ++t)
      for (Index a = 0; a < blk; ++a) A[t * (blk + gap) + a] = 0.5;
    G.g.A = {A.data(), Index(A.size()) - gap, blk + gap, 0};
    CHECK(check_game_values(G.g).ok());
    A[2 * (blk + gap) + 1] = kInf;
    const ValueCheck v = check_game_values(G.g);
    CHECK(v.issue == ValueIssue::kNonFinite && std::string(v.name) == "A" && v.t == 2 && v.entry == 1);
  }
  // max_abs: the largest |x| (in the tail after the 8-wide blocks too), 0 when empty, NaN wins.
  {
    std::vector<double> x(1003, 0.5);
    CHECK(max_abs(x.data(), 0) == 0.0);
    x[5] = -3.0;
    CHECK(max_abs(x.data(), Index(x.size())) == 3.0);
    x[1001] = -std::numeric_limits<double>::infinity();
    CHECK(max_abs(x.data(), Index(x.size())) == std::numeric_limits<double>::infinity());
    CHECK(max_abs(x.data(), 1000) == 3.0);
    x[17] = -kNaN;
    CHECK(std::isnan(max_abs(x.data(), Index(x.size()))));
  }
  // Relative symmetry: the tolerance scales with max |X|.
  {
    const double X[4] = {1e8, 1e8 + 1e-3, 1e8, 1e8};  // asymmetry 1e-11 relative
    CHECK(symmetric_rel(X, 2, 1e-10));
    const double Y[4] = {1.0, 1.0 + 1e-9, 1.0, 1.0};
    CHECK(!symmetric_rel(Y, 2, 1e-10));
    Game G;
    G.QT[1] = 1e-3;
    const ValueCheck v = check_game_values(G.g);
    CHECK(v.issue == ValueIssue::kAsymmetric && std::string(v.name) == "QT");
    Game H;
    H.R[9 + 1] = 0.25;  // player 1's R, entry (0, 1): joint weights must be symmetric too
    CHECK(check_game_values(H.g).issue == ValueIssue::kAsymmetric);
  }
  // Every entry pair is compared, whatever the size.
  for (Index n = 1; n < 20; ++n) {
    std::vector<double> X(n * n);
    for (Index i = 0; i < n; ++i)
      for (Index j = 0; j <= i; ++j) X[i * n + j] = X[j * n + i] = 1.0 + 0.01 * double(i * 31 + j * 7 % 13);
    CHECK(symmetric_rel(X.data(), n, 1e-10));
    for (Index i = 0; i < n; ++i)
      for (Index j = 0; j < n; ++j) {
        if (i == j) continue;
        X[i * n + j] += 1e-6;
        CHECK(!symmetric_rel(X.data(), n, 1e-10));
        X[i * n + j] -= 1e-6;
        X[i * n + j] = X[j * n + i];
      }
  }
  // Definiteness of the own blocks only: the Cholesky rule, no margin.
  {
    Game G;
    G.R[0] = 0.0;  // R^00 = 0
    CHECK(check_game_values(G.g).issue == ValueIssue::kNotDefinite);
    Game H;
    H.R[9 + 2 * 3 + 2] = -1.0;  // R^11 indefinite
    CHECK(check_game_values(H.g).issue == ValueIssue::kNotDefinite);
    Game J;
    J.R[9 + 0] = -5.0;  // player 1's weight on player 0's control: not an own block
    CHECK(check_game_values(J.g).ok());
    for (double delta : {1e-2, 1e-6}) {
      const double X[4] = {1.0, 1.0 - delta, 1.0 - delta, 1.0};
      CHECK(positive_definite(X, 2, 2));
    }
    const double X[4] = {1.0, 1.0 - 1e-12, 1.0 - 1e-12, 1.0};  // PD, close to singular: accepted
    CHECK(positive_definite(X, 2, 2));
    const double Xn[4] = {1.0, 1.0 + 1e-12, 1.0 + 1e-12, 1.0};  // indefinite, close to singular
    CHECK(!positive_definite(Xn, 2, 2));
    CHECK(smallest_eigenvalue(Xn, 2, 2) < 0.0 && smallest_eigenvalue(Xn, 2, 2) > -2e-12);
    const double S[4] = {1e-300, 0.0, 0.0, 1e300};  // badly scaled but diagonal: fine
    CHECK(positive_definite(S, 2, 2));
    const double Z[4] = {1.0, 2.0, 2.0, 1.0};
    CHECK(!positive_definite(Z, 2, 2));
    // 1 x 1 and 2 x 2 blocks take a spelled-out path: it decides as the general Cholesky
    // of the symmetric part does, for asymmetric blocks inside a wider matrix (ld = 3) too,
    // near the boundary, and with NaN and infinities.
    std::uint64_t state = 12345;
    auto next = [&]() {  // a small LCG: values in [-1, 1)
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      return double(state >> 11) / double(1ull << 52) - 1.0;
    };
    const double specials[] = {0.0, -0.0, 1e-310, 1e308, kInf, -kInf, kNaN, 1.0, 1.0 + 1e-16};
    for (int trial = 0; trial < 4000; ++trial) {
      double W[9];
      for (double& w : W) w = next();
      if (trial % 4 == 1) W[4] = W[0] * 0.25 + W[1] * W[3] / std::max(W[0], 1e-3);  // near-singular
      if (trial % 4 == 2) W[trial % 9] = specials[(trial / 4) % 9];
      if (trial % 4 == 3) W[0] = std::fabs(W[0]), W[4] = std::fabs(W[4]);
      for (Index k : {1, 2}) {
        double L[4];
        for (Index i = 0; i < k; ++i)
          for (Index j = 0; j <= i; ++j) L[i * k + j] = 0.5 * (W[i * 3 + j] + W[j * 3 + i]);
        CHECK(positive_definite(W, k, 3) == cholesky_inplace(L, k));
      }
    }
    // a larger block (heap scratch): I + 0.1 * ones is definite, ones is not
    const Index k = 12;
    std::vector<double> P(k * k, 0.1), O(k * k, 1.0);
    for (Index i = 0; i < k; ++i) P[i * k + i] += 1.0;
    CHECK(positive_definite(P.data(), k, k));
    CHECK(!positive_definite(O.data(), k, k));
  }
  // cholesky_inplace: L L' reproduces a definite matrix; indefinite and NaN pivots fail.
  {
    const Index k = 3;
    double S[9] = {4, 0, 0, 2, 5, 0, -2, 1, 6};  // lower triangle of a definite matrix (upper unused)
    double X[9];
    std::copy(S, S + 9, X);
    CHECK(cholesky_inplace(X, k));
    for (Index i = 0; i < k; ++i)
      for (Index j = 0; j <= i; ++j) {
        double v = 0.0;
        for (Index l = 0; l <= j; ++l) v += X[i * k + l] * X[j * k + l];
        CHECK(std::fabs(v - S[i * k + j]) <= 1e-14 * 6);
      }
    double Y[4] = {1, 0, 2, 1};  // [[1, 2], [2, 1]]: indefinite
    CHECK(!cholesky_inplace(Y, 2));
    double Z[4] = {kNaN, 0, 0, 1};
    CHECK(!cholesky_inplace(Z, 2));
  }
  // A stationary game as lq_nash's fast path checks it (cpp/bindings/bind_lq_nash.cpp): T = 1,
  // the terminal weights the same buffer as Q, every series time-invariant.
  {
    Game G;
    G.g.T = 1;
    G.g.A = {G.A.data(), 4, 0, 0};
    G.g.q = {};
    G.g.QT = G.g.Q;
    CHECK(check_game_values(G.g).ok());
    G.Q[1] = 0.5;  // Q^0 asymmetric: met as Q, before its alias QT
    const ValueCheck v = check_game_values(G.g);
    CHECK(v.issue == ValueIssue::kAsymmetric && std::string(v.name) == "Q");
    G.Q[1] = 0.0;
    G.A[3] = kNaN;
    CHECK(check_game_values(G.g).issue == ValueIssue::kNonFinite);
    G.A[3] = 0.5;
    G.R[0] = -1.0;  // R^00 < 0
    CHECK(check_game_values(G.g).issue == ValueIssue::kNotDefinite);
  }
  // Messages: where, expected versus actual; require_valid_values throws InputError.
  {
    Game G;
    G.R[9 + 2 * 3 + 2] = -2.0;  // R^11 = diag(2, -2)
    const ValueCheck v = check_game_values(G.g);
    CHECK(v.player == 1 && v.eig == -2.0);
    CHECK(describe(v, G.g) == "R (player 1's own block R^11)[0, 0] must be positive definite, smallest eigenvalue is -2");
    CHECK_THROWS(require_valid_values(G.g), InputError);
    Game H;
    H.Q[4 + 1] = 0.5 + 1e-3;  // Q^1 (0, 1)
    const ValueCheck w = check_game_values(H.g);
    CHECK(w.issue == ValueIssue::kAsymmetric && w.player == 1);
    CHECK(describe(w, H.g) == "Q[0, 0, 1] must be symmetric: max |X - X'| = 0.001 exceeds 1e-10 * max |X| = 2");
    Game J;
    J.A[2 * 4 + 1] = kNaN;
    const ValueCheck u = check_game_values(J.g);
    CHECK(u.t == 2 && describe(u, J.g) == "A must be finite, found NaN or inf (first in game 0, stage 2, entry (0, 1))");
    CHECK(check_game_values(J.g, kSymRtol, false).ok());  // finiteness left to the caller
    std::vector<double> x(100, 1.0);
    CHECK(first_nonfinite(x.data(), 100) == -1);
    x[42] = -kInf;
    CHECK(first_nonfinite(x.data(), 100) == 42);
  }
  // A batch: shared arrays checked once (check_shared_values), the rest game by game
  // (check_values_of_game); solve_checked_lq_games reports the lowest failing game on any
  // thread count, and solves a valid batch as solve_lq_games does.
  {
    const Index batch = 6, N = 2, n = 2, m = 3, T = 3;
    Game G;
    std::vector<double> Rb;
    for (Index b = 0; b < batch; ++b) Rb.insert(Rb.end(), G.R.begin(), G.R.end());
    G.g.batch = batch;
    G.g.R = {Rb.data(), Index(Rb.size()), 0, N * m * m};
    std::vector<double> K(batch * T * m * n), k(batch * T * m);
    std::vector<std::int32_t> status(batch * T);
    LQSolutionView out;
    out.K = {K.data(), Index(K.size()), m * n, T * m * n};
    out.k = {k.data(), Index(k.size()), m, T * m};
    out.status = status.data();
    out.status_size = Index(status.size());
    CHECK(check_shared_values(G.g).ok() && check_values_of_game(G.g, 3).ok());
    solve_checked_lq_games(G.g, out, 2, SolveOptions{});
    const std::vector<double> K_ref = K;
    Rb[4 * N * m * m + 0] = -1.0;          // game 4: R^00 < 0
    Rb[2 * N * m * m + m * m + 8] = -3.0;  // game 2: R^11 = diag(2, -3) ...
    Rb[5 * N * m * m + 1] = 0.5;           // game 5: R^0 asymmetric
    CHECK(check_values_of_game(G.g, 4).issue == ValueIssue::kNotDefinite);
    CHECK(check_values_of_game(G.g, 5).issue == ValueIssue::kAsymmetric);
    CHECK(check_game_values(G.g).b == 2);
    for (int threads : {1, 2, 3, 6}) {
      std::string msg;
      try {
        solve_checked_lq_games(G.g, out, threads, SolveOptions{});
      } catch (const InputError& e) {
        msg = e.what();
      }
      CHECK(msg == "R (player 1's own block R^11)[2, 0] must be positive definite, smallest eigenvalue is -3");
    }
    for (Index b : {2, 4, 5}) std::copy(G.R.begin(), G.R.end(), Rb.begin() + b * N * m * m);
    std::fill(K.begin(), K.end(), 0.0);
    solve_checked_lq_games(G.g, out, 3, SolveOptions{});
    CHECK(K == K_ref);
    G.Q[1] = 0.5;  // shared Q^0 asymmetric: check_shared_values, game index 0
    const ValueCheck s = check_shared_values(G.g);
    CHECK(s.issue == ValueIssue::kAsymmetric && s.b == 0 && std::string(s.name) == "Q");
    CHECK(check_values_of_game(G.g, 1).ok());  // not a per-game array
  }
  // Inconsistent buffers are still rejected by check_game.
  {
    Game G;
    G.g.A.size = 4;
    CHECK_THROWS(check_game_values(G.g), std::invalid_argument);
  }
  return gscheck::finish("test_check");
}
