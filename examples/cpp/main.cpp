// The LQ game of appendix A of "Multi-Agent Guided Policy Search for
// Non-Cooperative Dynamic Games" (J. Li, G. Qu, J. J. Choi, S. Sojoudi,
// C. Tomlin), solved with the installed gamesolve C++ library:
//   * finite horizon T = 50 by the coupled Riccati recursion (solve_lq_game);
//   * infinite horizon (the stabilizing feedback Nash equilibrium, lq_nash).
// Prints the first-stage gain K_0 (u = -K_0 x, rows = players) and the
// stationary gain K with its certified residual, each entry to 17 digits.
//
//     A = [[0.588, 0.028], [0.570, 0.056]],  B^1 = [1.0, 0.1]',  B^2 = [0, 1.0]',
//     Q^1 = diag(0.01, 1),  Q^2 = diag(1, 0.0147),  R^1 = R^2 = 0.01.
#include <gamesolve/lq_game.hpp>
#include <gamesolve/lq_nash.hpp>

#include <cstdio>
#include <vector>

namespace {

void print_row(const char* label, const double* row, int n) {
  std::printf("%s", label);
  for (int j = 0; j < n; ++j) std::printf(" %.17g", row[j]);
  std::printf("\n");
}

}  // namespace

int main() {
  using gamesolve::Index;
  constexpr Index n = 2, m = 2, T = 50;
  // Row-major buffers: A (n, n), B (n, m) = [B^1 B^2], Q (N, n, n), R (N, m, m)
  // (R^i weighs the joint control; here only player i's own control).
  const std::vector<double> A = {0.588, 0.028, 0.570, 0.056};
  const std::vector<double> B = {1.0, 0.0, 0.1, 1.0};
  const std::vector<double> Q = {0.01, 0.0, 0.0, 1.0,    // Q^1
                                 1.0, 0.0, 0.0, 0.0147};  // Q^2
  const std::vector<double> R = {0.01, 0.0, 0.0, 0.0,    // R^1
                                 0.0, 0.0, 0.0, 0.01};   // R^2

  // Finite horizon: time-invariant data (time stride 0), terminal weights Q.
  gamesolve::LQGameData g;
  g.dims = gamesolve::Dims(n, {1, 1});
  g.T = T;
  g.A = {A.data(), Index(A.size()), 0, 0};
  g.B = {B.data(), Index(B.size()), 0, 0};
  g.Q = {Q.data(), Index(Q.size()), 0, 0};
  g.R = {R.data(), Index(R.size()), 0, 0};
  g.QT = {Q.data(), Index(Q.size()), 0, 0};
  const gamesolve::LQSolution sol = gamesolve::solve_lq_game(g);  // sol.K: (T, m, n) row-major
  std::printf("finite horizon T = %d (K_0, rows = players)\n", int(T));
  for (Index i = 0; i < m; ++i) print_row("K0", sol.K.data() + i * n, int(n));

  // Infinite horizon: the stabilizing feedback Nash equilibrium from the default start.
  const gamesolve::LQNashProblem pb =
      gamesolve::make_lq_nash_problem(n, {1, 1}, A.data(), B.data(), Q.data(), R.data(), nullptr);
  const gamesolve::LQNashResult res = gamesolve::lq_nash(pb, gamesolve::Mat());
  std::printf("infinite horizon: %s after %d iterations (%s), residual %.3g\n",
              res.converged ? "converged" : "NOT converged", res.iterations, res.method.c_str(), res.residual);
  for (Index i = 0; i < m; ++i) {
    const double row[2] = {res.K(i, 0), res.K(i, 1)};
    print_row("K", row, int(n));
  }
  return res.converged ? 0 : 1;
}
