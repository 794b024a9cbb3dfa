// C++ tests of the LQ game kernel (cpp/include/gamesolve/lq_game.hpp).
#include <Eigen/Dense>
#include <random>
#include <stdexcept>
#include <vector>

#include "check.hpp"
#include "gamesolve/lq_game.hpp"

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

}  // namespace

int main() {
  test_single_player_equals_lqr();
  test_batch_bit_identical_across_threads();
  test_singular_stage_min_norm();
  test_bad_calls_throw();
  test_policy_evaluation_reproduces_values();
  return gscheck::finish("test_lq_game");
}
