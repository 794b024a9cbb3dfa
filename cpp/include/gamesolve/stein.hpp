// gamesolve core: discrete Lyapunov (Stein) equations by a complex Schur
// (Bartels-Stewart / Kitagawa) method.
//
//     X = A' X A + C                                             (1)
//
// With the complex Schur form A = U T U^* (T upper triangular), Y = U^* X U
// satisfies Y = T^* Y T + U^* C U, solved column by column:
//     (I - T_jj T^*) Y(:, j) = Ct(:, j) + T^* sum_{l<j} Y(:, l) T_lj,
// a lower-triangular system per column, O(n^3) in all. The factorization of A
// is computed once and reused for any number of right-hand sides (the N
// players of an LQ game share the closed loop A_K). Unique solution iff
// lambda_i(A) lambda_j(A)^* != 1 for all i, j; for a Schur-stable A (spectral
// radius < 1) and C >= 0, X >= 0.
#pragma once

#include <Eigen/Core>
#include <Eigen/Eigenvalues>

namespace gamesolve {

/// Complex Schur factorization of A, reusable for many Stein equations (1).
/// All scratch is allocated in the constructor (size n); `factor` and `solve`
/// allocate nothing once sizes are fixed (Eigen's ComplexSchur reuses its
/// buffers).
class SteinSolver {
 public:
  using CMat = Eigen::MatrixXcd;
  using CVec = Eigen::VectorXcd;

  explicit SteinSolver(Eigen::Index n);

  /// Factor A (n x n). Returns false if the Schur iteration failed.
  bool factor(const Eigen::Ref<const Eigen::MatrixXd>& A);

  /// Spectral radius of the last factored A (from the Schur diagonal).
  double spectral_radius() const { return rho_; }

  /// Smallest |1 - lambda_i conj(lambda_j)| over the spectrum: how far (1) is from
  /// being singular.
  double separation() const { return sep_; }

  /// Solve X = A' X A + C for the factored A. C may alias X. C need not be
  /// symmetric; when it is, the returned X is symmetrized.
  void solve(const Eigen::Ref<const Eigen::MatrixXd>& C, Eigen::Ref<Eigen::MatrixXd> X,
             bool symmetric = true);

  /// Solve in the Schur basis: Ct (complex, already U^* C U) is overwritten by Y.
  void solve_schur(CMat& Ct);

  /// The adjoint equation X = A X A' + C in the Schur basis (Y = T Y T^* + Ct,
  /// Ct = U^* C U), in place: <X, C2> = <C, X2> pairs the solutions of (1) for
  /// C2 with those of this equation.
  void solve_schur_adjoint(CMat& Ct);

  const CMat& U() const { return schur_.matrixU(); }
  const CMat& T() const { return schur_.matrixT(); }

 private:
  Eigen::Index n_;
  Eigen::ComplexSchur<Eigen::MatrixXd> schur_;
  CMat Ct_, W_, L_;
  CVec rhs_, acc_;
  double rho_ = 0.0, sep_ = 0.0;
};

}  // namespace gamesolve
