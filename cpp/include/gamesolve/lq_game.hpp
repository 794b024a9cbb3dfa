// gamesolve core: finite-horizon feedback Nash equilibria of LQ games.
//
// Notation ([theory §1]): N players, joint state x in R^n, player i's control u^i in
// R^{m_i}, joint control u (m = sum m_i). Policy u = -K x - k. Stage cost of
// player i (no 1/2):
//     x'Q^i x + 2 q^i'x + u'R^i u + 2 r^i'u + 2 u'M^i x,
// dynamics x_{t+1} = A_t x_t + B_t u_t + c_t, terminal cost x'Q_T^i x + 2 q_T^i'x.
//
// Memory layout: every array is a contiguous row-major (numpy "C") buffer of
// doubles. A `Series` describes one input: where it starts, how many doubles
// the buffer holds, and how far apart consecutive time steps and batch members
// are (a stride of 0 broadcasts, e.g. time-invariant data). Every access is
// checked against `size` before any work starts, so a wrong call throws
// std::invalid_argument instead of reading out of bounds.
#pragma once

#include <Eigen/Core>
#include <Eigen/LU>
#include <Eigen/QR>

#include <cstdint>
#include <vector>

namespace gamesolve {

using Index = Eigen::Index;
using Mat = Eigen::MatrixXd;
using Vec = Eigen::VectorXd;
using RowMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MapRow = Eigen::Map<RowMat>;
using CMapRow = Eigen::Map<const RowMat>;
using MapVec = Eigen::Map<Vec>;
using CMapVec = Eigen::Map<const Vec>;

/// Sizes of a game: N players with control sizes m_i, state size n.
/// Largest state size n and total control size m a game may have (2^20), so that
/// no block size (N n n, N m m, m n) overflows an Index.
inline constexpr Index kMaxSize = Index(1) << 20;

struct Dims {
  Index N = 0, n = 0, m = 0;
  std::vector<Index> m_i;  ///< control size of each player
  std::vector<Index> off;  ///< first row of player i in the joint control

  Dims() = default;
  /// Throws std::invalid_argument unless 1 <= n <= kMaxSize, every m_i >= 1 and
  /// m = sum m_i <= kMaxSize.
  Dims(Index n, std::vector<Index> control_dims);
};

/// (batch - 1) b_stride + (T - 1) t_stride + block: the doubles a series spans,
/// or -1 if that overflows an Index (the bounds checks treat it as too large).
Index series_extent(Index batch, Index b_stride, Index T, Index t_stride, Index block);

/// A read-only array with optional time and batch axes (strides in doubles).
struct Series {
  const double* data = nullptr;
  Index size = 0;      ///< doubles available at `data`
  Index t_stride = 0;  ///< 0: the same block at every stage
  Index b_stride = 0;  ///< 0: the same block for every game of a batch
  bool present() const { return data != nullptr; }
  const double* at(Index b, Index t) const { return data + b * b_stride + t * t_stride; }
};

/// A writable array with time and batch axes (strides in doubles).
struct OutSeries {
  double* data = nullptr;
  Index size = 0;
  Index t_stride = 0;
  Index b_stride = 0;
  double* at(Index b, Index t) const { return data + b * b_stride + t * t_stride; }
};

/// One LQ game (or a batch of equal-size games) over horizon T ([theory §1]).
/// Per-stage block sizes: A n*n, B n*m, Q N*n*n, q N*n, R N*m*m, r N*m,
/// M N*m*n, c n; terminal QT N*n*n, qT N*n. q, r, M, c, qT are optional
/// (data == nullptr means zero). R^i is player i's weight on the joint control.
struct LQGameData {
  Dims dims;
  Index T = 0;
  Index batch = 1;
  Series A, B, Q, q, R, r, M, c, QT, qT;
};

/// Output buffers: K (T, m, n), k (T, m), Z (T+1, N, n, n), zeta (T+1, N, n),
/// s (T+1, N), status (T) per game. Strides as in `OutSeries`. Outputs on demand:
///  * an output with `data == nullptr` is not written (e.g. Z, zeta, s absent: the
///    gains only, without the value functions' memory traffic);
///  * an output with `t_stride == 0` holds one block per game: the recursion runs
///    backward, so stage 0 is what remains (e.g. K_0, k_0 of every game of a batch);
///    its terminal block (t = T) is not written.
/// The kernel only writes these buffers, never reads them back; games of a batch
/// must not share output memory. status is always required.
struct LQSolutionView {
  OutSeries K, k, Z, zeta, s;
  std::int32_t* status = nullptr;  ///< T entries per game (batch stride T)
  Index status_size = 0;
};

/// Stage status codes written to `LQSolutionView::status`.
enum StageStatus : std::int32_t {
  kStageOk = 0,        ///< S solved by elimination (LU), well conditioned
  kStageMinNorm = 1,   ///< S singular or ill-conditioned: minimum-norm solution
  kStageNonFinite = 2,  ///< non-finite numbers met at this stage (overflow / NaN input)
  /// Flag bit, added to kStageOk or kStageMinNorm (never to kStageNonFinite): some player's
  /// own cost-to-go is not convex in its control here -- R^{ii} + B^i'Z^i_{t+1}B^i (the
  /// diagonal block i of S) is not positive definite -- so that player's best response to the
  /// others' strategies is unbounded below and the profile is no Nash equilibrium.
  kStageNotConvex = 4
};

struct SolveOptions {
  /// Stage systems with a reciprocal 1-norm condition number below this are
  /// checked: the elimination's solution X is kept if the system is not singular
  /// to working precision (rcond >= singular_tol) and X is accurate (relative
  /// residual ||S X - Y||_1 / (||S||_1 ||X||_1 + ||Y||_1) <= residual_tol); otherwise
  /// the system is solved by a complete orthogonal decomposition (minimum-norm
  /// solution of the rank-truncated system, kStageMinNorm).
  double rcond_tol = 1e-12;
  /// Reciprocal condition number below which S counts as singular to working precision.
  double singular_tol = 1e-15;
  /// Largest relative residual of an elimination's solution kept on an ill-conditioned stage.
  double residual_tol = 1e-12;
  /// Relative threshold below which the rank-revealing factorization treats
  /// a pivot as zero.
  double rank_tol = 1e-10;
};

/// Summary of one solve (counts over all stages of all games).
struct SolveReport {
  Index min_norm_stages = 0;
  Index nonfinite_stages = 0;
  Index not_convex_stages = 0;  ///< stages with the flag kStageNotConvex
  Index ill_conditioned_stages = 0;  ///< rcond < rcond_tol, the elimination's solution kept (accurate)
  /// Largest relative residual ||S X - Y||_1 / (||S||_1 ||X||_1 + ||Y||_1) of the minimum-norm
  /// solutions returned (0 without minimum-norm stages; NaN propagates).
  double max_min_norm_residual = 0.0;
  double min_rcond = 1.0;  ///< smallest 1-norm rcond(S) met (from the computed inverse)
};

/// Preallocated scratch for one game of the given sizes; reused across stages
/// and solves so that nothing is allocated inside the stage loop.
///
/// The recursion runs on the value matrix of the augmented state [x; 1],
/// Z~ = [[Z, zeta], [zeta', s]] (dimension nv = n + 1), when the game has
/// linear or affine terms, and on Z alone (nv = n) otherwise; `buf` holds the
/// padded column-major matrices for that nv (laid out at the start of a solve).
struct LQWorkspace {
  explicit LQWorkspace(const Dims& dims);
  LQWorkspace() = default;
  Index N = 0, n = 0, m = 0, mmax = 0;
  Index nv = -1;  ///< value dimension `buf` is laid out for (-1: none yet)
  Vec buf;        ///< padded matrices (rows padded to 8 with zeros, see small_gemm.hpp)
  Mat S;          ///< m x m stage system (min-norm path)
  Vec inv;        ///< S^{-1} by rows padded to 8 (the exact condition number)
  /// Per player: first / end row and column of R^i's non-zero part (commonly R^i
  /// weighs only u^i): products with R^i and R^i K skip the zero rows and columns.
  std::vector<Index> R_rows, R_cols;
  Mat rhs, sol;            ///< min-norm path
  const double* loaded_A = nullptr;  ///< dynamics currently in the workspace (time-invariant reuse)
  const double* loaded_B = nullptr;
  const double* loaded_c = nullptr;
  const double* loaded_R = nullptr;
  Eigen::CompleteOrthogonalDecomposition<Mat> cod;
};

/// Throws std::invalid_argument if the game's sizes, strides or buffers are
/// inconsistent (any access would fall outside a buffer).
void check_game(const LQGameData& game);
/// The same for the outputs (see LQSolutionView): each present output's time stride
/// is 0 or at least its block, its batch stride keeps the games apart, and its
/// buffer holds every block written. `need_gains` (a solve): status is required;
/// otherwise (policy evaluation) K and k are inputs and must be present.
void check_solution(const LQGameData& game, const LQSolutionView& out, bool need_gains);

/// Coupled Riccati recursion ([theory §2]) for game `b` of `game`, writing into `out`.
/// One elimination of each stage system S serves both K and k. Checks, once per call,
/// the game (check_game), 0 <= b < game.batch, the outputs (check_solution) and that `ws`
/// was built for the game's sizes (LQWorkspace(game.dims)); std::invalid_argument otherwise.
SolveReport solve_lq_game(const LQGameData& game, Index b, const LQSolutionView& out,
                          LQWorkspace& ws, const SolveOptions& opts = {});

/// One stage of a one-stage game (game.T == 1, else std::invalid_argument), for
/// repeated use with the same workspace (the stage map P -> Phi(P) of the
/// infinite-horizon Riccati iteration, lq_nash.cpp): bit for bit the same as
/// solve_lq_game(game, b, out, ws, opts), except that
///  * A, B, c and R are copied into `ws` only if their buffers differ from those
///    of the last call on `ws` (so the caller must not change the contents of
///    those buffers between calls; a solve_lq_game in between is fine);
///  * the terminal blocks of out.Z, zeta, s (t = 1) are not written: those
///    outputs need only one block (N n n, N n, N doubles).
/// QT (and qT) may change between calls. Checks the game, b, the outputs' stage-0 blocks
/// and the workspace's sizes (std::invalid_argument), as solve_lq_game.
SolveReport solve_lq_stage(const LQGameData& game, Index b, const LQSolutionView& out,
                           LQWorkspace& ws, const SolveOptions& opts = {});

/// Value of a given strategy (K, k) ([theory §2], policy evaluation): the Z/zeta/s
/// update with the given gains. `out.K`, `out.k` are read, Z, zeta, s written. Checks the
/// game, b, the buffers and the workspace's sizes (std::invalid_argument), as solve_lq_game.
void evaluate_strategy(const LQGameData& game, Index b, const LQSolutionView& out,
                       LQWorkspace& ws);

/// All `game.batch` games on `n_threads` threads (0 = hardware concurrency).
/// Each game is solved by one thread with its own workspace, so results are
/// bit-identical for any thread count. Validates first.
SolveReport solve_lq_games(const LQGameData& game, const LQSolutionView& out,
                           int n_threads = 0, const SolveOptions& opts = {});

/// Owning convenience for C++ callers: allocates the outputs of one game.
struct LQSolution {
  Index T = 0, N = 0, n = 0, m = 0;
  std::vector<double> K, k, Z, zeta, s;
  std::vector<std::int32_t> status;
  SolveReport report;
  LQSolutionView view();
};
LQSolution solve_lq_game(const LQGameData& game, const SolveOptions& opts = {});

}  // namespace gamesolve
