// Complex Schur solver of the discrete Lyapunov (Stein) equation X = A'XA + C.
// See lyapunov.hpp for the recursion.
#include "gamesolve/lyapunov.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>

namespace gamesolve {

SteinSolver::SteinSolver(Eigen::Index n)
    : n_(n), schur_(n), Ct_(n, n), W_(n, n), L_(n, n), rhs_(n), acc_(n) {
  if (n < 1) throw std::invalid_argument("SteinSolver: n must be >= 1");
}

bool SteinSolver::factor(const Eigen::Ref<const Eigen::MatrixXd>& A) {
  if (A.rows() != n_ || A.cols() != n_)
    throw std::invalid_argument("SteinSolver::factor: A has the wrong size");
  schur_.compute(A, true);
  if (schur_.info() != Eigen::Success) {
    rho_ = std::numeric_limits<double>::infinity();
    sep_ = 0.0;
    return false;
  }
  const CMat& T = schur_.matrixT();
  rho_ = 0.0;
  sep_ = std::numeric_limits<double>::infinity();
  for (Eigen::Index i = 0; i < n_; ++i) {
    rho_ = std::max(rho_, std::abs(T(i, i)));
    for (Eigen::Index j = 0; j < n_; ++j)
      sep_ = std::min(sep_, std::abs(1.0 - T(i, i) * std::conj(T(j, j))));
  }
  return true;
}

void SteinSolver::solve_schur(CMat& Y) {
  // Y = T^* Y T + Ct, column j:
  //   (I - T_jj T^*) Y(:, j) = Ct(:, j) + T^* sum_{l<j} Y(:, l) T_lj.
  const CMat& T = schur_.matrixT();
  for (Eigen::Index j = 0; j < n_; ++j) {
    acc_.setZero();
    for (Eigen::Index l = 0; l < j; ++l) acc_.noalias() += Y.col(l) * T(l, j);
    // rhs = Ct(:, j) + T^* acc  (T^* lower triangular)
    rhs_ = Y.col(j);
    rhs_.noalias() += T.adjoint().template triangularView<Eigen::Lower>() * acc_;
    // L = I - T_jj T^*, lower triangular.
    const std::complex<double> tjj = T(j, j);
    for (Eigen::Index c = 0; c < n_; ++c)
      for (Eigen::Index r = c; r < n_; ++r)
        L_(r, c) = (r == c ? 1.0 : 0.0) - tjj * std::conj(T(c, r));
    L_.template triangularView<Eigen::Lower>().solveInPlace(rhs_);
    Y.col(j) = rhs_;
  }
}

void SteinSolver::solve(const Eigen::Ref<const Eigen::MatrixXd>& C, Eigen::Ref<Eigen::MatrixXd> X,
                        bool symmetric) {
  if (C.rows() != n_ || C.cols() != n_ || X.rows() != n_ || X.cols() != n_)
    throw std::invalid_argument("SteinSolver::solve: C or X has the wrong size");
  const CMat& U = schur_.matrixU();
  W_.noalias() = C.cast<std::complex<double>>() * U;
  Ct_.noalias() = U.adjoint() * W_;
  solve_schur(Ct_);
  W_.noalias() = U * Ct_;
  Ct_.noalias() = W_ * U.adjoint();
  if (symmetric)
    X = 0.5 * (Ct_.real() + Ct_.real().transpose());
  else
    X = Ct_.real();
}

}  // namespace gamesolve
