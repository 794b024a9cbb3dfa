// The stage loop allocates nothing: riccati.cpp is compiled into this test
// with EIGEN_RUNTIME_NO_MALLOC, and any Eigen heap allocation while malloc is
// disallowed aborts the process (a failed test).
#include <vector>

#include "check.hpp"
#include "gamesolve/lq_game.hpp"

using namespace gamesolve;

int main() {
  const Index N = 3, n = 12, mi = 2, T = 20, m = N * mi;
  std::vector<double> A(n * n, 0.0), B(n * m, 0.0), Q(N * n * n, 0.0), R(N * m * m, 0.0), q(N * n, 0.1),
      r(N * m, 0.2), M(N * m * n, 0.01), c(n, 0.3);
  for (Index a = 0; a < n; ++a) {
    A[a * n + a] = 0.9;
    if (a + 1 < n) A[a * n + a + 1] = 0.1;
    for (Index j = 0; j < m; ++j) B[a * m + j] = ((a + j) % 3) * 0.5;
  }
  for (Index i = 0; i < N; ++i) {
    for (Index a = 0; a < n; ++a) Q[i * n * n + a * n + a] = 1.0;
    for (Index a = 0; a < m; ++a) R[i * m * m + a * m + a] = (a / mi == i) ? 1.0 : 0.1;
  }
  LQGameData g;
  g.dims = Dims(n, std::vector<Index>(N, mi));
  g.T = T;
  g.A = {A.data(), Index(A.size()), 0, 0};
  g.B = {B.data(), Index(B.size()), 0, 0};
  g.Q = {Q.data(), Index(Q.size()), 0, 0};
  g.R = {R.data(), Index(R.size()), 0, 0};
  g.q = {q.data(), Index(q.size()), 0, 0};
  g.r = {r.data(), Index(r.size()), 0, 0};
  g.M = {M.data(), Index(M.size()), 0, 0};
  g.c = {c.data(), Index(c.size()), 0, 0};
  g.QT = g.Q;
  g.qT = g.q;
  LQSolution sol = solve_lq_game(g);  // allocates the outputs
  LQSolutionView v = sol.view();
  LQWorkspace ws(g.dims);
  Eigen::internal::set_is_malloc_allowed(false);
  SolveReport rep = solve_lq_game(g, 0, v, ws);
  evaluate_strategy(g, 0, v, ws);
  Eigen::internal::set_is_malloc_allowed(true);
  CHECK(rep.min_norm_stages == 0 && rep.nonfinite_stages == 0);
  return gscheck::finish("test_no_alloc");
}
