// Tests of the Stein solver (stein.hpp) against independent oracles: the
// truncated series sum_k A'^k C A^k, the Kronecker form, and the pairing of the
// equation with its adjoint.
#include "check.hpp"
#include "randn.hpp"
#include "gamesolve/stein.hpp"
#include "gamesolve/lq_game.hpp"

#include <Eigen/Dense>
#include <random>

using namespace gamesolve;

using gscheck::randn;

static void test_stein(std::mt19937& g) {
  for (Index n : {1, 2, 5, 13}) {
    Mat A = randn(n, n, g);
    A *= 0.9 / A.eigenvalues().cwiseAbs().maxCoeff();
    Mat L = randn(n, n, g), C = L * L.transpose(), X(n, n);
    SteinSolver s(n);
    CHECK(s.factor(A));
    CHECK_NEAR(s.spectral_radius(), 0.9, 1e-10);
    s.solve(C, X);
    // residual of X = A'XA + C
    CHECK((X - A.transpose() * X * A - C).norm() <= 1e-12 * X.norm());
    // Kronecker oracle: (I - A'(x)A') vec X = vec C (column-major vec)
    Mat Kr = Mat::Identity(n * n, n * n);
    for (Index i = 0; i < n; ++i)
      for (Index j = 0; j < n; ++j) Kr.block(i * n, j * n, n, n) -= A(j, i) * A.transpose();
    Vec x = Kr.partialPivLu().solve(Eigen::Map<Vec>(C.data(), n * n));
    CHECK((Eigen::Map<Vec>(X.data(), n * n) - x).norm() <= 1e-10 * x.norm());
    // non-symmetric right-hand side
    Mat Cn = randn(n, n, g), Xn(n, n);
    s.solve(Cn, Xn, false);
    CHECK((Xn - A.transpose() * Xn * A - Cn).norm() <= 1e-11 * std::max(1.0, Xn.norm()));
  }
  CHECK_THROWS(SteinSolver(0), std::invalid_argument);
}

// The adjoint equation X = A X A' + C in the Schur basis (solve_schur_adjoint):
// residual in the original basis, and the duality <X1, C2> = <C1, X2> with (1).
static void test_stein_adjoint(std::mt19937& g) {
  using CM = SteinSolver::CMat;
  for (Index n : {1, 3, 8, 13}) {
    Mat A = randn(n, n, g);
    A *= 0.85 / A.eigenvalues().cwiseAbs().maxCoeff();
    SteinSolver s(n);
    CHECK(s.factor(A));
    const CM& U = s.U();
    Mat C1 = randn(n, n, g), C2 = randn(n, n, g), X2(n, n);
    CM Y = U.adjoint() * C1.cast<std::complex<double>>() * U;
    s.solve_schur_adjoint(Y);
    const Mat X1 = (U * Y * U.adjoint()).real();
    CHECK((X1 - A * X1 * A.transpose() - C1).norm() <= 1e-12 * std::max(1.0, X1.norm()));
    s.solve(C2, X2, false);  // X2 = A'X2 A + C2
    const double lhs = (X1.array() * C2.array()).sum(), rhs = (C1.array() * X2.array()).sum();
    CHECK(std::abs(lhs - rhs) <= 1e-11 * std::max(1.0, std::abs(lhs)));
  }
}

int main() {
  std::mt19937 g(7);
  test_stein(g);
  test_stein_adjoint(g);
  return gscheck::finish("test_stein");
}
