// gamesolve core: feedback Nash equilibria of infinite-horizon LQ games ([theory §3]).
//
// Unknowns: a stabilizing K (m x n, u = -K x, rows of player i = K^i) and P^i with
//     P^i = Q^i + K'R^i K - K'M^i - M^i'K + A_K' P^i A_K,   A_K = A - B K     (P-equation)
//     row block i of  S K = Y,  S_i = B^i'P^i B + R^i_[i,:],  Y_i = B^i'P^i A + M^i_[i]   (K-equation)
// R^i is player i's weight on the joint control (m x m), M^i the state-control
// cross weight (m x n, optional; the guided game of [MA-GPS] eq. 13 uses it).
//
// Methods (all from a stabilizing K0):
//  * Lyapunov iteration (Li & Gajic): P^i(K) by N Stein equations sharing one
//    Schur factorization of A_K, then K <- S^{-1} Y.
//  * Riccati iteration: the finite-horizon stage map P <- Phi(P) of [theory §2] to a
//    fixed point, each step one T = 1 stage of the finite-horizon kernel
//    (solve_lq_game) with terminal values P; Anderson mixing acts on the packed
//    symmetric P^i (diagonal, then the strict upper triangle with weight 2).
//  * Newton on F(K) = S(P(K)) K - Y(P(K)) with the exact Jacobian
//        dF = S dK - [B^i' dP^i A_K]_i,   dP^i = A_K' dP^i A_K + dK'G^i + G^i'dK,
//        G^i = R^i K - M^i - B'P^i A_K,
//    and a backtracking line search that keeps A_K stable and decreases ||F||.
//  * Auto: a table of attempts (kAutoAttempts in lq_nash.cpp) tried in order
//    until one certifies: Anderson-accelerated Riccati iteration from P(K0);
//    Anderson-accelerated Lyapunov iteration from the best stabilizing K so
//    far; Newton from the best K, then from K0; the plain Lyapunov iteration
//    from K0 and the plain / accelerated Riccati iteration from P = Q. The
//    answer is polished by Newton and certified by the residuals of both
//    equations and a stability check. Every attempt is recorded (NashStage).
#pragma once

#include "gamesolve/lq_game.hpp"
#include "gamesolve/anderson.hpp"  // kMaxAndersonDepth
#include "gamesolve/stein.hpp"

#include <limits>
#include <string>
#include <vector>

namespace gamesolve {

/// Time-invariant LQ game data (copied, column-major). M empty means zero.
struct LQNashProblem {
  Dims dims;
  Mat A, B;                 ///< n x n, n x m
  std::vector<Mat> Q, R, M;  ///< N of n x n, m x m, m x n
};

/// Build a problem from row-major buffers: A (n,n), B (n,m), Q (N,n,n),
/// R (N,m,m) joint weights, M (N,m,n) or nullptr. Throws std::invalid_argument
/// on inconsistent sizes.
LQNashProblem make_lq_nash_problem(Index n, const std::vector<Index>& control_dims,
                                   const double* A, const double* B, const double* Q,
                                   const double* R, const double* M);

/// The guided game of [MA-GPS] eq. 13 by the substitution of [theory §3]: player i
/// also pays rho (u^i + Kg^i x)'R^{ii}(u^i + Kg^i x), i.e.
///     R^{ii} -> (1 + rho) R^{ii},  Q^i -> Q^i + rho Kg^i'R^{ii}Kg^i (the term symmetrized),
///     M^i_[i] = rho R^{ii} Kg^i   (the rows of player i; pb must have no M).
/// Kg (m x n) stacks the guiding gains like K. Throws std::invalid_argument on
/// wrong sizes, a given M, or rho not finite and >= 0.
LQNashProblem guided_problem(const LQNashProblem& pb, const Mat& Kg, double rho);

enum class NashMethod : int { Auto = 0, Lyapunov = 1, Riccati = 2, Newton = 3 };

/// Status of a solve or of one stage of it.
enum NashStatus : int {
  kNashConverged = 0,      ///< certified: residual <= tol
  kNashMaxIter = 1,        ///< iteration budget exhausted while still making progress
  kNashStalled = 2,        ///< oscillation or no progress (residual not decreasing)
  kNashLostStability = 3,  ///< an iterate was not stabilizing (diverged)
  kNashNonFinite = 4,      ///< overflow / NaN
  kNashSingular = 5,       ///< singular stacked system S or Newton Jacobian
  kNashBadStart = 6,       ///< the start K0 is not stabilizing
  kNashNoStabilizingStart = 7,  ///< no stabilizing gain found (pair not stabilizable?)
  kNashUncertified = 8,  ///< a stage's own measure met its target, the certificate did not
  kNashBadScale = 9      ///< the data's scales span more than double precision can solve
};

struct LQNashOptions {
  NashMethod method = NashMethod::Auto;
  double tol = 1e-10;   ///< on the certified residual max(res_K, res_P)
  int max_iter = 1000;  ///< per stage
  int anderson_depth = 5;
  int stall_window = 40;  ///< iterations without halving the best residual = stalled
  bool polish = true;     ///< Auto: Newton polish steps when cheap or needed
};

/// Where an attempt (stage) of a solve starts.
enum class NashStart : int {
  Initial = 0,  ///< the start gain K0 (given or default_start); Riccati: its values P(K0)
  Best = 1,     ///< the best stabilizing candidate so far (smallest certified residual)
  BestOrInitial = 2,  ///< Best if there is one, else Initial
  Q = 3         ///< Riccati only: P = Q, the finite-horizon recursion's start
};

/// The record of one attempt (method run) of a solve.
struct NashStage {
  NashMethod method;
  bool accelerated;  ///< Anderson mixing on
  int iterations;
  int status;        ///< NashStatus of the attempt itself
  double residual;   ///< the attempt's own convergence measure at exit
  NashStart start = NashStart::Initial;
};

struct LQNashResult {
  Mat K;                 ///< m x n
  std::vector<Mat> P;    ///< N of n x n, P = P(K)
  bool converged = false;
  int iterations = 0;    ///< over all stages
  int status = kNashMaxIter;
  double res_K = 0, res_P = 0, residual = 0;  ///< relative residuals, residual = max
  double spectral_radius = 0;                 ///< of A - B K
  /// Estimated relative error ||K - K*|| / ||K|| of the returned gain: the norm of
  /// the last Newton correction, or residual x condition of the Newton Jacobian
  /// when one was computed (NaN when neither is available).
  double error_estimate = std::numeric_limits<double>::quiet_NaN();
  std::string method;                         ///< e.g. "riccati+anderson", "newton"
  /// The start of the iterations: "user K0", "zero" (A stable), "summed-cost LQR",
  /// "regularized LQR" (summed costs with Q + eps I), "unit LQR" (Q = I, R = I),
  /// "P = Q" (the Riccati iteration's own start) or "none".
  std::string start;
  std::vector<double> history;                ///< per-iteration residual of each stage, concatenated
  std::vector<NashStage> stages;
};

/// Default stabilizing start ([theory §3]): 0 if A is Schur stable, otherwise the
/// LQR gain of the summed costs with all controls (DARE by the structure-
/// preserving doubling algorithm). Returns false if no stabilizing gain results.
/// Stability is decided by repeated squaring (||A^p|| -> 0 proves rho < 1,
/// |tr A^p| >= n proves rho >= 1), the complex Schur form when neither bound does.
bool default_start(const LQNashProblem& pb, Mat& K0);

/// Solve the coupled AREs. K0 (m x n) may be empty (then `default_start`).
/// Never throws on numerical failure: inspect `status` / `converged`.
LQNashResult lq_nash(const LQNashProblem& pb, const Mat& K0, const LQNashOptions& opts = {});

/// Value matrices P^i(K) of a stabilizing K (Stein equations) and the
/// residuals; returns false (P untouched) if A - B K is not Schur stable.
bool lq_policy_value(const LQNashProblem& pb, const Mat& K, std::vector<Mat>& P,
                     double* spectral_radius = nullptr);

/// Jacobian of F(K) = S(P(K)) K - Y(P(K)) with respect to vec(K) (row-major
/// vec, (m n) x (m n)), at a stabilizing K. Returns false if not stabilizing.
bool lq_nash_jacobian(const LQNashProblem& pb, const Mat& K, Mat& J, Mat* F = nullptr);

}  // namespace gamesolve
