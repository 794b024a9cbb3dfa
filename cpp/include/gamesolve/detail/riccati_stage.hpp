// One stage of the coupled Riccati recursion, with a pluggable stage solve (internal API).
//
// Each stage t of solve_lq_game (backward from the terminal values) is three steps:
//
//  1. system assembly, from the values Z~_{t+1} = [[Z, zeta], [zeta', s]]:
//         S = [B^i'Z^i B + R^i_[i,:]]_i,  Y = [B^i'Z^i A + M^i_[i]]_i,
//         y = [B^i'(zeta^i + Z^i c) + r^i_[i]]_i;
//  2. the stage solve: the gains K (m x n) and k (m) from S, Y, y -- by default
//     S [K k] = [Y y] by Gaussian elimination with partial pivoting, and a
//     minimum-norm solution where S is singular or ill-conditioned (`lu_stage_solve`);
//  3. the value update with those gains (F = A - B K, beta = c - B k):
//         Z^i    = Q^i + F'Z^i F + K'R^i K - K'M^i - M^i'K,
//         zeta^i = q^i + F'(zeta^i + Z^i beta) + K'(R^i k - r^i) - M^i'k,
//         s^i   += beta'Z^i beta + 2 zeta^i'beta + k'R^i k - 2 r^i'k.
//
// Steps 1 and 3 belong to the recursion; step 2 is a policy chosen once per
// solve (`StageSolver`): a plugged solve receives the assembled S, Y, y of a
// stage and writes K, k in their place, and the recursion goes on with them --
// e.g. a sparse-feedback solve min_K 1/2 ||S K - Y||_F^2 + sum_ij lambda_ij ||K_[i,j]||_F.
// Policy evaluation (evaluate_strategy) runs step 3 alone with given gains, so
// an evaluated strategy and a solved one share the same value update bit for bit.
//
// The default solve is called directly (no indirection); a plugged one through
// one function pointer per stage.
#pragma once

#include "gamesolve/lq_game.hpp"

#include <cstdint>

namespace gamesolve::detail {

/// The assembled system S [K k] = [Y y] of one stage, held in place in the
/// workspace as m augmented rows: row i starts at `rows + i * ld` and holds
/// S(i, 0..m-1), zeros up to column pm, then Y(i, 0..n-1) and, when the game
/// has linear or affine terms (nv = n + 1), y(i); zeros up to ld. A stage
/// solve overwrites the right-hand side with the gains: on return row i holds
/// K(i, 0..n-1) from column pm on and, when nv = n + 1, k(i) after it (for
/// nv = n, k = 0). The S part may be left overwritten; padding must stay zero.
struct StageSystem {
  double* rows = nullptr;
  Index m = 0, n = 0;
  Index nv = 0;  ///< right-hand sides: n, or n + 1 with the column y
  Index pm = 0;  ///< column of the first right-hand side (m padded to a multiple of 8)
  Index ld = 0;  ///< doubles from one row to the next
  /// Assembles S, Y, y again into `rows` (for a solve that overwrote them and
  /// needs the originals; costs one assembly).
  void (*reassemble)(const void* ctx) = nullptr;
  const void* ctx = nullptr;

  bool affine() const { return nv > n; }
  double& S(Index i, Index j) const { return rows[i * ld + j]; }
  /// Y(i, j) for j < n and y(i) for j = n (nv = n + 1) on entry; K, k on return.
  double& rhs(Index i, Index j) const { return rows[i * ld + pm + j]; }
  /// S' as an m x m column-major map (column i is row i of S).
  Eigen::Map<Mat, 0, Eigen::OuterStride<>> S_transposed() const {
    return {rows, m, m, Eigen::OuterStride<>(ld)};
  }
  /// [Y y]' (nv x m) on entry, [K k]' on return, column-major (column i is row i).
  Eigen::Map<Mat, 0, Eigen::OuterStride<>> rhs_transposed() const {
    return {rows + pm, nv, m, Eigen::OuterStride<>(ld)};
  }
  void restore() const { reassemble(ctx); }
};

/// What a stage solve may use besides the system: the game's sizes, the stage,
/// the options, the workspace (scratch: S, rhs, sol, cod, inv) and the report
/// it counts into (min_norm_stages, min_rcond).
struct StageContext {
  const Dims& dims;
  Index b, t;
  const SolveOptions& opts;
  LQWorkspace& ws;
  SolveReport& rep;
};

/// A stage solve: writes K, k into `sys` (see StageSystem) and returns the
/// stage's StageStatus (kStageOk, kStageMinNorm, or kStageNonFinite if it gave up).
/// `state` is the plug's own data (parameters, warm starts, counters).
using StageSolveFn = std::int32_t (*)(void* state, const StageSystem& sys, const StageContext& ctx);

/// The stage-solve policy of one solve: `fn == nullptr` is the default (lu_stage_solve).
struct StageSolver {
  StageSolveFn fn = nullptr;
  void* state = nullptr;
};

/// The default stage solve: Gaussian elimination with partial pivoting, which
/// also yields S^{-1} and so the exact 1-norm rcond(S) (into ctx.rep.min_rcond);
/// if rcond(S) < opts.rcond_tol, the system is assembled again and the elimination's
/// solution is kept when S is not singular to working precision (rcond >=
/// opts.singular_tol) and its relative residual is at most opts.residual_tol
/// (counted in ctx.rep.ill_conditioned_stages); otherwise (also on a zero pivot) the
/// system is solved by a complete orthogonal decomposition with threshold
/// opts.rank_tol (minimum-norm solution of the truncated system; kStageMinNorm, counted
/// in ctx.rep.min_norm_stages, its residual in ctx.rep.max_min_norm_residual). Finite
/// input is assumed (the recursion checks it).
std::int32_t lu_stage_solve(const StageSystem& sys, const StageContext& ctx);

/// solve_lq_game (the coupled Riccati recursion for game `b`) with the stage
/// solve `solver`; with the default solver bit for bit the same as
/// solve_lq_game(game, b, out, ws, opts). Does not validate (see check_game, check_solution).
SolveReport solve_lq_game_with(const LQGameData& game, Index b, const LQSolutionView& out, LQWorkspace& ws,
                               const SolveOptions& opts, const StageSolver& solver);

/// solve_lq_games with the stage solve `solver` (validates first). `solver.fn` is
/// called from up to `n_threads` threads at once with the same `state`: the plug
/// must be safe for that (or pass n_threads = 1).
SolveReport solve_lq_games_with(const LQGameData& game, const LQSolutionView& out, int n_threads,
                                const SolveOptions& opts, const StageSolver& solver);

}  // namespace gamesolve::detail
