// Complex Schur solver of the discrete Lyapunov (Stein) equation X = A'XA + C.
// See stein.hpp for the recursion.
#include "gamesolve/stein.hpp"

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

namespace {
// Complex products by their textbook formulas: std::complex's operator* guards
// against inf/NaN operands through a library call (__muldc3) that costs more than
// the arithmetic, and every operand here is finite.
using C = std::complex<double>;
inline C mul(C a, C b) { return {a.real() * b.real() - a.imag() * b.imag(), a.real() * b.imag() + a.imag() * b.real()}; }
inline C conj_mul(C a, C b) {  // conj(a) b
  return {a.real() * b.real() + a.imag() * b.imag(), a.real() * b.imag() - a.imag() * b.real()};
}
}  // namespace

void SteinSolver::solve_schur(CMat& Y) {
  // Y = T^* Y T + Ct, column j:
  //   (I - T_jj T^*) Y(:, j) = Ct(:, j) + T^* sum_{l<j} Y(:, l) T_lj,
  // with (T^*)(r, c) = conj(T(c, r)), c <= r: column r of T's upper triangle, so
  // both the product with T^* and the forward substitution read T by columns.
  const Eigen::Index n = n_;
  const C* T = schur_.matrixT().data();  // T(c, r) = T[c + r * n]
  C* acc = acc_.data();
  C* y = rhs_.data();
  for (Eigen::Index j = 0; j < n; ++j) {
    for (Eigen::Index r = 0; r < n; ++r) acc[r] = 0.0;
    for (Eigen::Index l = 0; l < j; ++l) {
      const C tlj = T[l + j * n];
      const C* yl = Y.data() + l * n;
      for (Eigen::Index r = 0; r < n; ++r) acc[r] += mul(yl[r], tlj);
    }
    C* yj = Y.data() + j * n;
    const C tjj = T[j + j * n];
    for (Eigen::Index r = 0; r < n; ++r) {
      const C* Tr = T + r * n;  // column r: T(c, r), c <= r
      C s = yj[r], u = 0.0;     // s: Ct(r, j) + (T^* acc)_r; u: sum_{c<r} conj(T(c, r)) y_c
      for (Eigen::Index c = 0; c <= r; ++c) s += conj_mul(Tr[c], acc[c]);
      for (Eigen::Index c = 0; c < r; ++c) u += conj_mul(Tr[c], y[c]);
      const C num = s + mul(tjj, u), den = 1.0 - mul(tjj, std::conj(Tr[r]));  // |den| >= separation() > 0
      y[r] = conj_mul(den, num) / std::norm(den);
    }
    for (Eigen::Index r = 0; r < n; ++r) yj[r] = y[r];
  }
}

void SteinSolver::solve_schur_adjoint(CMat& Y) {
  // Y = T Y T^* + Ct (the Schur-basis form of X = A X A' + C), column j from the
  // last: (T Y T^*)(:, j) = T sum_{l>=j} Y(:, l) conj(T(j, l)), so
  //   (I - conj(T_jj) T) Y(:, j) = Ct(:, j) + T sum_{l>j} Y(:, l) conj(T(j, l)),
  // an upper-triangular system, solved by columns of T from the bottom.
  const Eigen::Index n = n_;
  const C* T = schur_.matrixT().data();  // T(r, c) = T[r + c * n]
  C* acc = acc_.data();
  C* y = rhs_.data();
  for (Eigen::Index j = n - 1; j >= 0; --j) {
    for (Eigen::Index r = 0; r < n; ++r) acc[r] = 0.0;
    for (Eigen::Index l = j + 1; l < n; ++l) {
      const C tjl = std::conj(T[j + l * n]);
      const C* yl = Y.data() + l * n;
      for (Eigen::Index r = 0; r < n; ++r) acc[r] += mul(yl[r], tjl);
    }
    C* yj = Y.data() + j * n;
    for (Eigen::Index r = 0; r < n; ++r) y[r] = yj[r];
    for (Eigen::Index c = 0; c < n; ++c) {  // y += T acc, by columns of T (rows 0..c)
      const C* Tc = T + c * n;
      const C ac = acc[c];
      for (Eigen::Index r = 0; r <= c; ++r) y[r] += mul(Tc[r], ac);
    }
    const C tjj = std::conj(T[j + j * n]);
    for (Eigen::Index c = n - 1; c >= 0; --c) {  // back substitution by columns
      const C* Tc = T + c * n;
      const C den = 1.0 - mul(tjj, Tc[c]);  // |den| >= separation() > 0
      const C yc = conj_mul(den, y[c]) / std::norm(den);
      yj[c] = yc;
      const C f = mul(tjj, yc);
      for (Eigen::Index r = 0; r < c; ++r) y[r] += mul(Tc[r], f);
    }
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
