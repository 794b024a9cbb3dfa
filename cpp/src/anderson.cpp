// Anderson acceleration (anderson.hpp): the Gram matrix dF'dF kept column by
// column, gamma by an unpivoted Cholesky factorization (the pivoting LDLT when
// that fails), the mixing in one vectorized pass.
#include "gamesolve/anderson.hpp"

#include "small_gemm.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace gamesolve {

using detail::dot2;
using detail::kW;
using detail::loadv;
using detail::storev;
using detail::vd;

Anderson::Anderson(Index padded_len, Index depth)
    : Lp_(padded_len), d_(depth), dF_(Eigen::MatrixXd::Zero(padded_len, depth)),
      dG_(Eigen::MatrixXd::Zero(padded_len, depth)), H_(depth, depth), Hk_(depth, depth),
      f_prev_(Eigen::VectorXd::Zero(padded_len)), g_prev_(Eigen::VectorXd::Zero(padded_len)), gamma_(depth),
      rhs_(depth), chol_(depth * depth), ldlt_(depth) {
  if (padded_len < detail::kPad || padded_len % detail::kPad != 0 || depth < 0)
    throw std::invalid_argument("Anderson: padded_len must be a positive multiple of 8 and depth >= 0");
}

bool Anderson::restart_plain(Eigen::VectorXd& x) {
  if (d_ == 0 || count_ <= 1) return false;
  reset();
  x = g_prev_;
  return true;
}

void Anderson::step(Eigen::VectorXd& x, const Eigen::VectorXd& g, const Eigen::VectorXd& f) {
  if (d_ == 0) { x = g; return; }
  const Index k = std::min<Index>(count_, d_);  // history columns after this step
  double* __restrict fp = f_prev_.data();
  double* __restrict gp = g_prev_.data();
  const double* __restrict fv = f.data();
  const double* __restrict gv = g.data();
  if (count_ > 0) {
    double* __restrict df = dF_.col(head_).data();
    double* __restrict dg = dG_.col(head_).data();
    for (Index i = 0; i < Lp_; i += kW) {
      const vd fi = loadv(fv + i), gi = loadv(gv + i);
      storev(df + i, fi - loadv(fp + i));
      storev(dg + i, gi - loadv(gp + i));
      storev(fp + i, fi);
      storev(gp + i, gi);
    }
    // The new column's inner products with every history column, and every
    // column's with f (one pass per column).
    for (Index j = 0; j < k; ++j) {
      double hj, rj;
      dot2(dF_.col(j).data(), df, fv, Lp_, hj, rj);
      H_(j, head_) = H_(head_, j) = hj;
      rhs_(j) = rj;
    }
    head_ = (head_ + 1) % d_;
  } else {
    for (Index i = 0; i < Lp_; i += kW) {
      storev(fp + i, loadv(fv + i));
      storev(gp + i, loadv(gv + i));
    }
  }
  ++count_;
  if (k == 0) { x = g; return; }
  double tr = 0.0;
  for (Index j = 0; j < k; ++j) tr += H_(j, j);
  const double reg = 1e-13 * std::max(tr, std::numeric_limits<double>::min());
  if (!cholesky_solve(k, reg)) {  // not numerically positive definite: the pivoting LDLT
    auto Hkk = Hk_.topLeftCorner(k, k);
    Hkk = H_.topLeftCorner(k, k);
    Hkk.diagonal().array() += reg;
    ldlt_.compute(Hkk);
    gamma_.head(k) = ldlt_.solve(rhs_.head(k));
  }
  for (Index j = 0; j < k; ++j)
    if (!std::isfinite(gamma_(j))) { x = g; reset(); return; }
  // x = g - dG gamma, one pass
  double* __restrict xv = x.data();
  const double* __restrict G0 = dG_.data();
  for (Index i = 0; i < Lp_; i += kW) {
    vd acc = loadv(gv + i);
    for (Index j = 0; j < k; ++j) acc -= gamma_(j) * loadv(G0 + j * Lp_ + i);
    storev(xv + i, acc);
  }
}

// gamma = (H_k + reg I)^{-1} rhs (leading k x k block, k <= d <= a few) by an unpivoted
// Cholesky factorization (a fraction of the dynamic-size LDLT's overhead); false
// if a pivot is not positive, and then the caller uses the pivoting LDLT.
bool Anderson::cholesky_solve(Index k, double reg) {
  double* Lc = chol_.data();  // Lc[i + j * d]: the lower triangle
  const Index d = d_;
  for (Index j = 0; j < k; ++j) {
    double sjj = H_(j, j) + reg;
    for (Index p = 0; p < j; ++p) sjj -= Lc[j + p * d] * Lc[j + p * d];
    if (!(sjj > 0.0)) return false;
    const double ljj = std::sqrt(sjj);
    Lc[j + j * d] = ljj;
    for (Index i = j + 1; i < k; ++i) {
      double sij = H_(i, j);
      for (Index p = 0; p < j; ++p) sij -= Lc[i + p * d] * Lc[j + p * d];
      Lc[i + j * d] = sij / ljj;
    }
  }
  for (Index i = 0; i < k; ++i) {  // L y = rhs (y in gamma)
    double t = rhs_(i);
    for (Index p = 0; p < i; ++p) t -= Lc[i + p * d] * gamma_(p);
    gamma_(i) = t / Lc[i + i * d];
  }
  for (Index i = k - 1; i >= 0; --i) {  // L' gamma = y
    double t = gamma_(i);
    for (Index p = i + 1; p < k; ++p) t -= Lc[p + i * d] * gamma_(p);
    gamma_(i) = t / Lc[i + i * d];
  }
  return true;
}

}  // namespace gamesolve
