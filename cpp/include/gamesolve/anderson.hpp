// gamesolve core: Anderson acceleration (type II) of a fixed-point iteration x <- g(x).
//
// With residuals f_k = g(x_k) - x_k and the last d differences
//     dF = [f_{k-j+1} - f_{k-j}]_j,   dG = [g_{k-j+1} - g_{k-j}]_j   (j = 1..d),
// the next iterate is
//     x_{k+1} = g(x_k) - dG gamma,   gamma = argmin ||f_k - dF gamma||_2,
// gamma from the normal equations (dF'dF + reg I) gamma = dF'f_k, reg = 1e-13 tr(dF'dF).
// The Gram matrix dF'dF is updated by one column per step (circular history), so a
// step costs O(d L) for iterates of length L. Depth 0 is the plain iteration.
// Walker & Ni, "Anderson acceleration for fixed-point iterations", SIAM J. Numer.
// Anal. 49 (2011).
#pragma once

#include <Eigen/Cholesky>
#include <Eigen/Core>

namespace gamesolve {

/// Largest Anderson history lq_nash accepts (LQNashOptions::anderson_depth).
inline constexpr int kMaxAndersonDepth = 100;

/// Anderson mixing state for iterates of a fixed padded length. Iterates are
/// vectors of length `padded_len`, a multiple of 8 (kernels work on blocks of 8
/// doubles), zero beyond their logical length. Allocates only in the constructor.
class Anderson {
 public:
  using Index = Eigen::Index;

  /// History of `depth` differences (0 <= depth) for iterates of length `padded_len`
  /// (a positive multiple of 8). Throws std::invalid_argument otherwise.
  Anderson(Index padded_len, Index depth);

  /// Forget the history (the next step is plain).
  void reset() { count_ = 0; head_ = 0; }

  /// After a failed evaluation of g at an extrapolated x: restart from the last
  /// plain iterate g(x_{k-1}) if there is one (x is overwritten, history cleared);
  /// false if there is none (depth 0 or fewer than two steps).
  bool restart_plain(Eigen::VectorXd& x);

  /// Given x_k, g = g(x_k) and f = g - x_k (all of length padded_len), overwrite x
  /// with x_{k+1}. The first step after a reset is plain (x = g); a non-finite
  /// gamma also falls back to x = g and resets.
  void step(Eigen::VectorXd& x, const Eigen::VectorXd& g, const Eigen::VectorXd& f);

  /// Steps taken since the last reset.
  Index count() const { return count_; }

 private:
  bool cholesky_solve(Index k, double reg);

  Index Lp_, d_, count_ = 0, head_ = 0;
  Eigen::MatrixXd dF_, dG_, H_, Hk_;
  Eigen::VectorXd f_prev_, g_prev_, gamma_, rhs_, chol_;
  Eigen::LDLT<Eigen::MatrixXd> ldlt_;
};

}  // namespace gamesolve
