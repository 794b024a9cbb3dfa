// C++ tests of the LQ game kernel (cpp/include/gamesolve/lq_game.hpp).
#include <Eigen/Dense>
#include <algorithm>
#include <cstdio>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "check.hpp"
#include "gamesolve/lq_game.hpp"
#include "../src/small_gemm.hpp"

using namespace gamesolve;

namespace {

struct Buffers {
  std::vector<double> A, B, Q, R, QT;
  LQGameData g;
};

// Time-invariant game with own-control weights; batch copies of one game when batch > 1
// (distinct games: each batch member's A is scaled differently).
Buffers make_game(Index N, Index n, Index mi, Index T, Index batch, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> nd;
  Buffers b;
  const Index m = N * mi;
  b.A.resize(batch * n * n);
  b.B.resize(batch * n * m);
  for (auto& x : b.A) x = nd(rng) / std::sqrt(double(n));
  for (auto& x : b.B) x = nd(rng);
  b.Q.assign(batch * N * n * n, 0.0);
  b.R.assign(batch * N * m * m, 0.0);
  for (Index k = 0; k < batch; ++k)
    for (Index i = 0; i < N; ++i) {
      Mat X = Mat::NullaryExpr(n, n, [&]() { return nd(rng); });
      MapRow(b.Q.data() + (k * N + i) * n * n, n, n) = X * X.transpose() / double(n) + Mat::Identity(n, n);
      for (Index a = 0; a < mi; ++a) b.R[(k * N + i) * m * m + (i * mi + a) * m + i * mi + a] = 1.0 + 0.5 * i;
    }
  b.QT = b.Q;
  b.g.dims = Dims(n, std::vector<Index>(N, mi));
  b.g.T = T;
  b.g.batch = batch;
  b.g.A = {b.A.data(), Index(b.A.size()), 0, n * n};
  b.g.B = {b.B.data(), Index(b.B.size()), 0, n * m};
  b.g.Q = {b.Q.data(), Index(b.Q.size()), 0, N * n * n};
  b.g.R = {b.R.data(), Index(b.R.size()), 0, N * m * m};
  b.g.QT = {b.QT.data(), Index(b.QT.size()), 0, N * n * n};
  return b;
}

void test_single_player_equals_lqr() {
  const Index n = 6, m = 2, T = 30;
  Buffers b = make_game(1, n, m, T, 1, 7);
  LQSolution sol = solve_lq_game(b.g);
  // Textbook LQR recursion (no 1/2): P = Q + A'PA - A'PB (R + B'PB)^{-1} B'PA.
  CMapRow A(b.A.data(), n, n), B(b.B.data(), n, m), Q(b.Q.data(), n, n), R(b.R.data(), m, m);
  Mat P = Q;
  for (Index t = T - 1; t >= 0; --t) {
    Mat K = (R + B.transpose() * P * B).ldlt().solve(B.transpose() * P * A);
    CHECK((K - CMapRow(sol.K.data() + t * m * n, m, n)).norm() <= 1e-12 * (1 + K.norm()));
    P = Q + A.transpose() * P * A - A.transpose() * P * B * K;
    P = 0.5 * (P + P.transpose()).eval();
    CHECK((P - CMapRow(sol.Z.data() + t * n * n, n, n)).norm() <= 1e-11 * P.norm());
  }
  CHECK(sol.report.min_norm_stages == 0);
}

void test_batch_bit_identical_across_threads() {
  const Index N = 3, n = 8, mi = 2, T = 15, batch = 37, m = N * mi;
  Buffers b = make_game(N, n, mi, T, batch, 11);
  b.g.A.b_stride = n * n;
  b.g.B.b_stride = n * m;
  b.g.Q.b_stride = b.g.QT.b_stride = N * n * n;
  b.g.R.b_stride = N * m * m;
  auto run = [&](int threads) {
    std::vector<double> K(batch * T * m * n), k(batch * T * m), Z(batch * (T + 1) * N * n * n),
        zeta(batch * (T + 1) * N * n), s(batch * (T + 1) * N);
    std::vector<std::int32_t> st(batch * T);
    LQSolutionView v;
    v.K = {K.data(), Index(K.size()), m * n, T * m * n};
    v.k = {k.data(), Index(k.size()), m, T * m};
    v.Z = {Z.data(), Index(Z.size()), N * n * n, (T + 1) * N * n * n};
    v.zeta = {zeta.data(), Index(zeta.size()), N * n, (T + 1) * N * n};
    v.s = {s.data(), Index(s.size()), N, (T + 1) * N};
    v.status = st.data();
    v.status_size = Index(st.size());
    solve_lq_games(b.g, v, threads);
    return std::make_pair(K, Z);
  };
  auto r1 = run(1), r2 = run(2), r4 = run(4);
  CHECK(r1.first == r2.first && r1.second == r2.second);
  CHECK(r1.first == r4.first && r1.second == r4.second);
  // Game 5 of the batch equals a single solve of game 5.
  LQGameData one = b.g;
  one.batch = 1;
  one.A.data += 5 * n * n;
  one.B.data += 5 * n * m;
  one.Q.data += 5 * N * n * n;
  one.QT.data += 5 * N * n * n;
  one.R.data += 5 * N * m * m;
  one.A.size -= 5 * n * n;
  one.B.size -= 5 * n * m;
  one.Q.size -= 5 * N * n * n;
  one.QT.size -= 5 * N * n * n;
  one.R.size -= 5 * N * m * m;
  LQSolution s5 = solve_lq_game(one);
  bool same = true;
  for (Index i = 0; i < T * m * n; ++i) same = same && s5.K[i] == r1.first[5 * T * m * n + i];
  CHECK(same);
}

void test_singular_stage_min_norm() {
  // Two players with identical input columns and identical costs: S is singular.
  const Index n = 3, T = 4;
  std::vector<double> A = {0.9, 0.1, 0, 0, 0.8, 0.2, 0.1, 0, 0.7};
  std::vector<double> B = {1, 1, 0, 0, 0.5, 0.5};  // 3 x 2, identical columns
  std::vector<double> Q(2 * n * n, 0.0), R(2 * 4, 0.0);
  for (int i = 0; i < 2; ++i)
    for (int a = 0; a < n; ++a) Q[i * n * n + a * n + a] = 1.0;
  // Joint R^i = [[1, 1], [1, 1]] * 0.5 + own 0.5: makes S rows equal for both players.
  for (int i = 0; i < 2; ++i) { R[i * 4 + 0] = 1; R[i * 4 + 1] = 1; R[i * 4 + 2] = 1; R[i * 4 + 3] = 1; }
  LQGameData g;
  g.dims = Dims(n, {1, 1});
  g.T = T;
  g.A = {A.data(), 9, 0, 0};
  g.B = {B.data(), 6, 0, 0};
  g.Q = {Q.data(), Index(Q.size()), 0, 0};
  g.R = {R.data(), Index(R.size()), 0, 0};
  g.QT = g.Q;
  LQSolution sol = solve_lq_game(g);
  CHECK(sol.report.min_norm_stages == T);
  for (Index t = 0; t < T; ++t) CHECK(sol.status[t] == kStageMinNorm);
  // Minimum norm: both players take the same share (the two rows of K equal).
  for (Index j = 0; j < n; ++j) CHECK_NEAR(sol.K[0 * n + j], sol.K[1 * n + j], 1e-12);
  for (double v : sol.Z) CHECK(std::isfinite(v));
}

void test_bad_calls_throw() {
  Buffers b = make_game(2, 4, 1, 5, 1, 3);
  LQGameData g = b.g;
  g.A.size = 10;  // too small for 4 x 4
  CHECK_THROWS(solve_lq_game(g), std::invalid_argument);
  g = b.g;
  g.Q.data = nullptr;
  CHECK_THROWS(solve_lq_game(g), std::invalid_argument);
  g = b.g;
  g.A.t_stride = 16;  // time-varying A would need T * 16 doubles
  CHECK_THROWS(solve_lq_game(g), std::invalid_argument);
  g = b.g;
  g.T = 0;
  CHECK_THROWS(solve_lq_game(g), std::invalid_argument);
  CHECK_THROWS(Dims(4, {1, 0}), std::invalid_argument);
  CHECK_THROWS(Dims(0, {1}), std::invalid_argument);
  CHECK_THROWS(Dims(3, {}), std::invalid_argument);
  // Sizes whose sums or products would overflow an Index are rejected, never wrapped.
  const Index huge = std::numeric_limits<Index>::max();
  CHECK_THROWS(Dims(3, {huge, huge, 5}), std::invalid_argument);
  CHECK_THROWS(Dims(kMaxSize + 1, {1}), std::invalid_argument);
  CHECK_THROWS(Dims(3, {kMaxSize, 1}), std::invalid_argument);
  CHECK(Dims(3, {kMaxSize - 1, 1}).m == kMaxSize);
  CHECK(series_extent(2, 10, 3, 4, 5) == 10 + 8 + 5);
  CHECK(series_extent(1, 0, huge / 2, 4, 1) == -1);   // (T - 1) t_stride overflows
  CHECK(series_extent(3, huge / 2 + 1, 1, 0, 1) == -1);  // (batch - 1) b_stride overflows
  g = b.g;
  g.A.t_stride = huge / 2;  // a stride so large that T * stride wraps: rejected, not read
  CHECK_THROWS(solve_lq_game(g), std::invalid_argument);
  g = b.g;
  g.dims = Dims();
  CHECK_THROWS(solve_lq_game(g), std::invalid_argument);
  // Output too small.
  g = b.g;
  LQSolution sol = solve_lq_game(g);
  LQSolutionView v = sol.view();
  v.Z.size = 3;
  CHECK_THROWS(solve_lq_games(g, v, 1), std::invalid_argument);
}

void test_policy_evaluation_reproduces_values() {
  Buffers b = make_game(3, 5, 1, 8, 1, 5);
  LQSolution sol = solve_lq_game(b.g);
  std::vector<double> Z2(sol.Z.size()), zeta2(sol.zeta.size()), s2(sol.s.size());
  LQSolutionView v = sol.view();
  v.Z.data = Z2.data();
  v.zeta.data = zeta2.data();
  v.s.data = s2.data();
  LQWorkspace ws(b.g.dims);
  evaluate_strategy(b.g, 0, v, ws);
  double err = 0;
  for (std::size_t i = 0; i < Z2.size(); ++i) err = std::max(err, std::fabs(Z2[i] - sol.Z[i]));
  CHECK(err < 1e-12);
}


// ---- The stage kernel against a plain Eigen transcription of [theory §2] -------------------------

// A time-varying game with every optional term switchable; joint R^i with off-diagonal blocks
// unless own_only (then R^i weighs u^i alone, the zero-block skipping path).
struct FullGame {
  Index N, n, m, T;
  std::vector<Index> dims;
  std::vector<double> A, B, Q, q, R, r, M, c, QT, qT;
  LQGameData g;
};

FullGame make_full_game(Index N, Index n, Index mi, Index T, unsigned seed, bool lin_q, bool lin_r, bool cross_M,
                        bool affine_c, bool own_only) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> nd;
  FullGame f;
  f.N = N, f.n = n, f.m = N * mi, f.T = T;
  const Index m = f.m;
  f.dims.assign(N, mi);
  auto fill = [&](std::vector<double>& v, Index size, double scale) {
    v.resize(size);
    for (auto& x : v) x = scale * nd(rng);
  };
  fill(f.A, T * n * n, 1.0 / std::sqrt(double(n)));
  fill(f.B, T * n * m, 0.5);
  f.Q.assign(T * N * n * n, 0.0);
  f.R.assign(T * N * m * m, 0.0);
  for (Index t = 0; t < T; ++t)
    for (Index i = 0; i < N; ++i) {
      Mat X = Mat::NullaryExpr(n, n, [&]() { return nd(rng); });
      Mat Qi = X * X.transpose() / double(n) + Mat::Identity(n, n);
      MapRow(f.Q.data() + (t * N + i) * n * n, n, n) = 0.5 * (Qi + Qi.transpose());  // exactly symmetric
      Mat Y = Mat::NullaryExpr(m, m, [&]() { return 0.2 * nd(rng); });
      Mat Ri = Y * Y.transpose();
      if (own_only) Ri.setZero();
      Ri.block(i * mi, i * mi, mi, mi) += (1.0 + 0.3 * i) * Mat::Identity(mi, mi);
      MapRow(f.R.data() + (t * N + i) * m * m, m, m) = 0.5 * (Ri + Ri.transpose());
    }
  f.QT.assign(f.Q.begin(), f.Q.begin() + N * n * n);
  f.g.dims = Dims(n, f.dims);
  f.g.T = T;
  f.g.A = {f.A.data(), Index(f.A.size()), n * n, 0};
  f.g.B = {f.B.data(), Index(f.B.size()), n * m, 0};
  f.g.Q = {f.Q.data(), Index(f.Q.size()), N * n * n, 0};
  f.g.R = {f.R.data(), Index(f.R.size()), N * m * m, 0};
  f.g.QT = {f.QT.data(), Index(f.QT.size()), 0, 0};
  if (lin_q) {
    fill(f.q, T * N * n, 1.0);
    fill(f.qT, N * n, 1.0);
    f.g.q = {f.q.data(), Index(f.q.size()), N * n, 0};
    f.g.qT = {f.qT.data(), Index(f.qT.size()), 0, 0};
  }
  if (lin_r) {
    fill(f.r, T * N * m, 1.0);
    f.g.r = {f.r.data(), Index(f.r.size()), N * m, 0};
  }
  if (cross_M) {
    fill(f.M, T * N * m * n, 0.1);
    f.g.M = {f.M.data(), Index(f.M.size()), N * m * n, 0};
  }
  if (affine_c) {
    fill(f.c, T * n, 1.0);
    f.g.c = {f.c.data(), Index(f.c.size()), n, 0};
  }
  return f;
}

struct RefSolution {
  std::vector<Mat> K;                    // T x (m x n)
  std::vector<Vec> k;                    // T x m
  std::vector<std::vector<Mat>> Z;       // (T+1) x N x (n x n)
  std::vector<std::vector<Vec>> zeta;    // (T+1) x N x n
  std::vector<Vec> s;                    // (T+1) x N
};

// [theory §2] verbatim (dense Eigen, full products, S solved by LU). With `given`, policy
// evaluation of the given K, k instead.
RefSolution reference_solve(const FullGame& f, const RefSolution* given = nullptr) {
  const Index N = f.N, n = f.n, m = f.m, T = f.T;
  const Dims d(n, f.dims);
  RefSolution ref;
  ref.K.assign(T, Mat());
  ref.k.assign(T, Vec());
  ref.Z.assign(T + 1, std::vector<Mat>(N));
  ref.zeta.assign(T + 1, std::vector<Vec>(N));
  ref.s.assign(T + 1, Vec::Zero(N));
  for (Index i = 0; i < N; ++i) {
    ref.Z[T][i] = CMapRow(f.QT.data() + i * n * n, n, n);
    ref.zeta[T][i] = f.qT.empty() ? Vec::Zero(n) : Vec(CMapVec(f.qT.data() + i * n, n));
  }
  for (Index t = T - 1; t >= 0; --t) {
    Mat A = CMapRow(f.A.data() + t * n * n, n, n), B = CMapRow(f.B.data() + t * n * m, n, m);
    Vec c = f.c.empty() ? Vec::Zero(n) : Vec(CMapVec(f.c.data() + t * n, n));
    std::vector<Mat> Q(N), R(N), M(N);
    std::vector<Vec> q(N), r(N);
    for (Index i = 0; i < N; ++i) {
      Q[i] = CMapRow(f.Q.data() + (t * N + i) * n * n, n, n);
      R[i] = CMapRow(f.R.data() + (t * N + i) * m * m, m, m);
      M[i] = f.M.empty() ? Mat::Zero(m, n) : Mat(CMapRow(f.M.data() + (t * N + i) * m * n, m, n));
      q[i] = f.q.empty() ? Vec::Zero(n) : Vec(CMapVec(f.q.data() + (t * N + i) * n, n));
      r[i] = f.r.empty() ? Vec::Zero(m) : Vec(CMapVec(f.r.data() + (t * N + i) * m, m));
    }
    Mat K;
    Vec k;
    if (given) {
      K = given->K[t];
      k = given->k[t];
    } else {
      Mat S(m, m), Y(m, n);
      Vec y(m);
      for (Index i = 0; i < N; ++i) {
        const Index o = d.off[i], mi = d.m_i[i];
        const Mat& Z = ref.Z[t + 1][i];
        Mat Bi = B.middleCols(o, mi);
        S.middleRows(o, mi) = Bi.transpose() * Z * B + R[i].middleRows(o, mi);
        Y.middleRows(o, mi) = Bi.transpose() * Z * A + M[i].middleRows(o, mi);
        y.segment(o, mi) = Bi.transpose() * (ref.zeta[t + 1][i] + Z * c) + r[i].segment(o, mi);
      }
      Eigen::PartialPivLU<Mat> lu(S);
      K = lu.solve(Y);
      k = lu.solve(y);
    }
    ref.K[t] = K;
    ref.k[t] = k;
    Mat F = A - B * K;
    Vec beta = c - B * k;
    for (Index i = 0; i < N; ++i) {
      const Mat& Z = ref.Z[t + 1][i];
      const Vec& z = ref.zeta[t + 1][i];
      Mat Zn = Q[i] + F.transpose() * Z * F + K.transpose() * R[i] * K - K.transpose() * M[i] -
               M[i].transpose() * K;
      ref.Z[t][i] = 0.5 * (Zn + Zn.transpose());
      ref.zeta[t][i] = q[i] + F.transpose() * (z + Z * beta) + K.transpose() * (R[i] * k - r[i]) -
                       M[i].transpose() * k;
      ref.s[t](i) = ref.s[t + 1](i) + beta.dot(Z * beta) + 2 * z.dot(beta) + k.dot(R[i] * k) - 2 * r[i].dot(k);
    }
  }
  return ref;
}

// Largest relative deviation of the kernel's solution from the reference.
double max_rel_err(const FullGame& f, const LQSolution& sol, const RefSolution& ref, bool gains = true) {
  const Index N = f.N, n = f.n, m = f.m, T = f.T;
  double err = 0.0;
  auto rel = [&](const auto& a, const auto& b) { return (a - b).norm() / (1.0 + b.norm()); };
  for (Index t = 0; t <= T; ++t) {
    if (gains && t < T) {
      err = std::max(err, rel(CMapRow(sol.K.data() + t * m * n, m, n), ref.K[t]));
      err = std::max(err, rel(CMapVec(sol.k.data() + t * m, m), ref.k[t]));
    }
    for (Index i = 0; i < N; ++i) {
      err = std::max(err, rel(CMapRow(sol.Z.data() + (t * N + i) * n * n, n, n), ref.Z[t][i]));
      err = std::max(err, rel(CMapVec(sol.zeta.data() + (t * N + i) * n, n), ref.zeta[t][i]));
      err = std::max(err, std::fabs(sol.s[t * N + i] - ref.s[t](i)) / (1.0 + std::fabs(ref.s[t](i))));
    }
  }
  return err;
}

bool exactly_symmetric(const LQSolution& sol) {
  const Index n = sol.n;
  for (std::size_t b = 0; b < sol.Z.size(); b += n * n)
    for (Index a = 0; a < n; ++a)
      for (Index j = 0; j < a; ++j)
        if (sol.Z[b + a * n + j] != sol.Z[b + j * n + a]) return false;
  return true;
}

void test_kernel_matches_reference() {
  // Sizes around the padding boundaries (n, n + 1 vs multiples of 8), m > 8, and n > 32
  // (upper-triangle products over several 32-row chunks).
  struct Case { Index N, n, mi; };
  const Case cases[] = {{3, 12, 2}, {2, 7, 1}, {2, 8, 3}, {3, 15, 2}, {3, 16, 2}, {5, 9, 2}, {2, 33, 3}, {4, 40, 3}};
  unsigned seed = 100;
  for (const Case& cs : cases)
    for (int variant = 0; variant < 6; ++variant) {
      // 0: no optional terms; 1: q, r (iLQGames); 2: all terms; 3: M only; 4: r only; 5: c only.
      const bool lq = variant == 1 || variant == 2, lr = variant == 1 || variant == 2 || variant == 4;
      const bool M = variant == 2 || variant == 3, c = variant == 2 || variant == 5;
      for (int own = 0; own < 2; ++own) {
        FullGame f = make_full_game(cs.N, cs.n, cs.mi, 6, seed++, lq, lr, M, c, own == 1);
        LQSolution sol = solve_lq_game(f.g);
        RefSolution ref = reference_solve(f);
        const double err = max_rel_err(f, sol, ref);
        CHECK(err < 1e-10);
        if (!(err < 1e-10))
          std::fprintf(stderr, "  N=%ld n=%ld mi=%ld variant %d own %d: rel err %g\n", long(cs.N), long(cs.n),
                       long(cs.mi), variant, own, err);
        CHECK(exactly_symmetric(sol));
        CHECK(sol.report.min_norm_stages == 0 && sol.report.nonfinite_stages == 0);
      }
    }
}

void test_evaluate_feedforward_without_affine_data() {
  // Policy evaluation of u = -K x - k with k != 0 in a game without q, r, c: zeta, s are not zero.
  FullGame f = make_full_game(3, 6, 2, 5, 77, false, false, false, false, false);
  LQSolution sol = solve_lq_game(f.g);
  std::mt19937_64 rng(5);
  std::normal_distribution<double> nd;
  for (auto& x : sol.k) x = nd(rng);
  RefSolution given;
  for (Index t = 0; t < f.T; ++t) {
    given.K.push_back(CMapRow(sol.K.data() + t * f.m * f.n, f.m, f.n));
    given.k.push_back(CMapVec(sol.k.data() + t * f.m, f.m));
  }
  RefSolution ref = reference_solve(f, &given);
  LQWorkspace ws(f.g.dims);
  evaluate_strategy(f.g, 0, sol.view(), ws);
  CHECK(max_rel_err(f, sol, ref, false) < 1e-10);
  CHECK(std::fabs(sol.s[0]) > 1e-3);
}

void test_workspace_reuse_across_layouts() {
  // One workspace for an affine game, then a plain one, then the affine one again:
  // results bit-identical to fresh workspaces (the padded layout is rebuilt).
  FullGame fa = make_full_game(3, 16, 2, 5, 31, true, true, true, true, false);
  FullGame fp = make_full_game(3, 16, 2, 5, 32, false, false, false, false, true);
  LQSolution a1 = solve_lq_game(fa.g), p1 = solve_lq_game(fp.g);
  LQSolution a2 = a1, p2 = p1;
  LQWorkspace ws(fa.g.dims);
  solve_lq_game(fa.g, 0, a2.view(), ws);
  solve_lq_game(fp.g, 0, p2.view(), ws);
  CHECK(p2.Z == p1.Z && p2.K == p1.K);
  solve_lq_game(fa.g, 0, a2.view(), ws);
  CHECK(a2.Z == a1.Z && a2.K == a1.K && a2.zeta == a1.zeta && a2.s == a1.s && a2.k == a1.k);
}

void test_small_gemm_against_eigen() {
  // The padded kernel: full and upper-triangle products, several terms, negation, alpha.
  std::mt19937_64 rng(9);
  std::normal_distribution<double> nd;
  for (Index r : {3, 8, 12, 17, 24, 33, 40, 70})
    for (Index p : {1, 5, 13}) {
      const Index rp = detail::padded(r);
      Mat A1 = Mat::Zero(rp, p), A2 = Mat::Zero(rp, p + 2);
      A1.topRows(r) = Mat::NullaryExpr(r, p, [&]() { return nd(rng); });
      A2.topRows(r) = Mat::NullaryExpr(r, p + 2, [&]() { return nd(rng); });
      Mat B1 = Mat::NullaryExpr(p, r, [&]() { return nd(rng); });
      Mat B2t = Mat::NullaryExpr(r, p + 2, [&]() { return nd(rng); });  // B2 = B2t' (read transposed)
      Mat C0 = Mat::NullaryExpr(rp, r, [&]() { return nd(rng); });
      Mat want = C0.topRows(r) + A1.topRows(r) * B1 - A2.topRows(r) * B2t.transpose();
      Mat nA2 = -A2;  // a subtracted term: negated operand
      const detail::Term terms[2] = {{A1.data(), rp, B1.data(), 1, p, p}, {nA2.data(), rp, B2t.data(), r, 1, p + 2}};
      for (int upper = 0; upper < 2; ++upper) {
        Mat C = C0;
        detail::gemm_terms(C.data(), rp, rp, r, terms, 2, true, upper == 1);
        double err = 0.0;
        for (Index j = 0; j < r; ++j)
          for (Index a = 0; a < (upper ? j + 1 : r); ++a) err = std::max(err, std::fabs(C(a, j) - want(a, j)));
        CHECK(err < 1e-12 * (1.0 + want.cwiseAbs().maxCoeff()));
        if (!upper && rp > r)  // padded rows: zero rows of A add nothing
          CHECK((C0.bottomRows(rp - r) - C.bottomRows(rp - r)).cwiseAbs().maxCoeff() == 0.0);
      }
      for (double alpha : {0.5, -1.0}) {
        Mat C = C0;
        detail::gemm(C.data(), rp, A1.data(), rp, B1.data(), 1, p, rp, p, r, alpha, true);
        CHECK((C.topRows(r) - (C0.topRows(r) + alpha * A1.topRows(r) * B1)).cwiseAbs().maxCoeff() <
              1e-12 * (1.0 + p));
        detail::gemm(C.data(), rp, A1.data(), rp, B1.data(), 1, p, rp, p, r, alpha, false);
        CHECK((C.topRows(r) - alpha * A1.topRows(r) * B1).cwiseAbs().maxCoeff() < 1e-12 * (1.0 + p));
      }
    }
}

}  // namespace

// Output buffers of one stage (solve_lq_stage) of an (N, n, m) game and their view.
struct StageOutputs {
  std::vector<double> K, k, Z, zeta, s;
  std::int32_t status = -1;
  Index N, n, m;
  StageOutputs(Index N_, Index n_, Index m_)
      : K(m_ * n_), k(m_), Z(N_ * n_ * n_), zeta(N_ * n_), s(N_), N(N_), n(n_), m(m_) {}
  LQSolutionView view() {
    LQSolutionView v;
    v.K = {K.data(), m * n, m * n, 0};
    v.k = {k.data(), m, m, 0};
    v.Z = {Z.data(), N * n * n, N * n * n, 0};
    v.zeta = {zeta.data(), N * n, N * n, 0};
    v.s = {s.data(), N, N, 0};
    v.status = &status;
    v.status_size = 1;
    return v;
  }
};

void test_stage_entry_equals_one_stage_solve() {
  // solve_lq_stage (time-invariant data loaded once per workspace) equals a T = 1
  // solve_lq_game bit for bit, over repeated calls with a changing terminal QT
  // (fed back from the last stage's Z, as the Riccati iteration of lq_nash does),
  // for plain, cross-weighted and affine games, with a solve_lq_game on the same
  // workspace in between.
  for (int kind = 0; kind < 3; ++kind) {
    const bool aff = kind == 2, cross = kind >= 1;
    FullGame f = make_full_game(3, 12, 2, 1, 41 + kind, aff, aff, cross, aff, kind == 0);
    const Index N = f.N, n = f.n, m = f.m;
    LQWorkspace ws(f.g.dims);
    StageOutputs o(N, n, m);
    std::vector<double>&K = o.K, &k = o.k, &Z = o.Z, &zeta = o.zeta, &s = o.s;
    const std::int32_t& status = o.status;
    const LQSolutionView v = o.view();
    for (int it = 0; it < 4; ++it) {
      const LQSolution ref = solve_lq_game(f.g);
      if (it == 2) {  // the full kernel on the same workspace in between
        LQSolution other = ref;
        solve_lq_game(f.g, 0, other.view(), ws);
        CHECK(other.Z == ref.Z && other.K == ref.K);
      }
      const SolveReport rep = solve_lq_stage(f.g, 0, v, ws);
      CHECK(K == std::vector<double>(ref.K.begin(), ref.K.begin() + m * n));
      CHECK(k == std::vector<double>(ref.k.begin(), ref.k.begin() + m));
      CHECK(Z == std::vector<double>(ref.Z.begin(), ref.Z.begin() + N * n * n));
      CHECK(zeta == std::vector<double>(ref.zeta.begin(), ref.zeta.begin() + N * n));
      CHECK(s == std::vector<double>(ref.s.begin(), ref.s.begin() + N));
      CHECK(status == ref.status[0]);
      CHECK(rep.min_norm_stages == ref.report.min_norm_stages && rep.min_rcond == ref.report.min_rcond);
      std::copy(Z.begin(), Z.end(), f.QT.begin());  // next terminal values
      if (aff) std::copy(zeta.begin(), zeta.end(), f.qT.begin());
    }
    LQGameData two = f.g;
    two.T = 2;
    CHECK_THROWS(solve_lq_stage(two, 0, v, ws), std::invalid_argument);
  }
}

void test_workspace_api_is_bounds_checked() {
  // Regression (ASan: out-of-bounds reads and writes): the workspace overloads did not check
  // the workspace (default-constructed or built for a smaller game: load_terminal), b >= batch,
  // or an undersized out.K (run_stage). Each now throws std::invalid_argument before any access.
  Buffers big = make_game(2, 5, 2, 4, 2, 3);
  Buffers small = make_game(2, 3, 1, 4, 1, 4);
  const Index N = 2, n = 5, m = 4, T = 4;
  LQSolution sol;
  LQGameData one = big.g;
  one.batch = 1;
  sol = solve_lq_game(one);  // the owning overload allocates right
  LQSolutionView v = sol.view();
  LQWorkspace empty, tiny(small.g.dims), right(big.g.dims);
  CHECK_THROWS(solve_lq_game(one, 0, v, empty), std::invalid_argument);
  CHECK_THROWS(solve_lq_game(one, 0, v, tiny), std::invalid_argument);
  CHECK_THROWS(evaluate_strategy(one, 0, v, tiny), std::invalid_argument);
  CHECK_THROWS(solve_lq_game(one, 1, v, right), std::invalid_argument);   // b >= batch
  CHECK_THROWS(solve_lq_game(one, -1, v, right), std::invalid_argument);
  CHECK_THROWS(evaluate_strategy(one, 1, v, right), std::invalid_argument);
  LQSolutionView shortK = v;
  shortK.K.size = m * n * T - 1;  // one double short
  CHECK_THROWS(solve_lq_game(one, 0, shortK, right), std::invalid_argument);
  CHECK_THROWS(evaluate_strategy(one, 0, shortK, right), std::invalid_argument);
  LQSolutionView shortZ = v;
  shortZ.Z.size = N * n * n;  // T + 1 blocks needed
  CHECK_THROWS(solve_lq_game(one, 0, shortZ, right), std::invalid_argument);
  LQGameData badA = one;
  badA.A.size = n * n - 1;
  CHECK_THROWS(solve_lq_game(badA, 0, v, right), std::invalid_argument);
  // the stage entry: T = 1 game, same checks
  Buffers st = make_game(2, 5, 2, 1, 1, 5);
  StageOutputs so(N, n, m);
  const LQSolutionView sv = so.view();
  CHECK_THROWS(solve_lq_stage(st.g, 0, sv, empty), std::invalid_argument);
  CHECK_THROWS(solve_lq_stage(st.g, 0, sv, tiny), std::invalid_argument);
  CHECK_THROWS(solve_lq_stage(st.g, 1, sv, right), std::invalid_argument);
  LQSolutionView sk = sv;
  sk.K.size = m * n - 1;
  CHECK_THROWS(solve_lq_stage(st.g, 0, sk, right), std::invalid_argument);
  // and the correctly sized calls still work (bit-identical to the owning overload)
  LQSolution again = sol;
  solve_lq_game(one, 0, again.view(), right);
  CHECK(again.K == sol.K && again.Z == sol.Z);
  solve_lq_stage(st.g, 0, sv, right);
  CHECK(so.status == 0);
}

int main() {
  test_single_player_equals_lqr();
  test_batch_bit_identical_across_threads();
  test_singular_stage_min_norm();
  test_bad_calls_throw();
  test_policy_evaluation_reproduces_values();
  test_kernel_matches_reference();
  test_evaluate_feedforward_without_affine_data();
  test_workspace_reuse_across_layouts();
  test_small_gemm_against_eigen();
  test_stage_entry_equals_one_stage_solve();
  test_workspace_api_is_bounds_checked();
  return gscheck::finish("test_lq_game");
}
