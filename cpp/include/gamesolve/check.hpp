// Checks of LQ game data: finiteness, symmetry, definiteness -- the one definition of each.
//
// Every LQ entry point of the Python package reads its data once, in C++
// (cpp/bindings/bind_lq_game.cpp, `read_lq_game`), and runs these checks there;
// C++ callers run `require_valid_values` (or `check_game_values`) before
// `solve_lq_games`. The rules:
//   * finite: no entry is NaN or infinite;
//   * symmetric: max|X - X'| <= rtol * max(max|X|, 1e-300) for every Q^i, Q_T^i, R^i
//     (relative, rtol 1e-10 by default);
//   * positive definite: a Cholesky factorization of the symmetric part
//     (X + X') / 2 of every own-control block R^{ii} succeeds (every pivot > 0).
#pragma once

#include <array>
#include <stdexcept>
#include <string>

#include "gamesolve/lq_game.hpp"

namespace gamesolve {

/// Bad input data. The message names the argument and gives expected versus
/// actual; the Python bindings raise it as gamesolve.InputError (a ValueError).
class InputError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// Default relative symmetry tolerance (gamesolve._validate.SYM_RTOL).
inline constexpr double kSymRtol = 1e-10;

/// Outcome of `check_game_values` (the first failure met).
enum class ValueIssue : int {
  kOk = 0,
  kNonFinite = 1,    ///< some entry is NaN or infinite
  kAsymmetric = 2,   ///< max|X - X'| > rtol * max|X| for a Q^i, Q_T^i or R^i
  kNotDefinite = 3,  ///< the Cholesky factorization of some sym(R^{ii}) fails
};

/// The first failure of `check_game_values` and where it is.
struct ValueCheck {
  ValueIssue issue = ValueIssue::kOk;
  const char* name = nullptr;  ///< the input: "A", "B", "Q", "q", "R", "r", "M", "c", "QT", "qT"
  Index b = 0, t = 0;          ///< game of the batch and stage (0 for time-invariant data)
  Index player = 0;            ///< the player (Q, QT, R)
  Index entry = 0;             ///< kNonFinite: the first bad double's offset in the (b, t) block
  double diff = 0.0, scale = 0.0;  ///< kAsymmetric: max|X - X'| and max|X|
  double eig = 0.0;            ///< kNotDefinite: smallest eigenvalue of sym(R^{ii})
  bool ok() const { return issue == ValueIssue::kOk; }
};

/// One input array of a game: its name, its series and the doubles of one block (one stage of one game).
/// `terminal` arrays (QT, qT) have no time axis.
struct GameArray {
  const char* name;
  Series* series;
  Index block;
  bool terminal;
};

/// The ten arrays of `game` in the order A, B, Q, q, R, r, M, c, QT, qT (the sizes from game.dims).
std::array<GameArray, 10> game_arrays(LQGameData& game);

/// True iff none of the `size` doubles at `x` is NaN or infinite.
bool all_finite(const double* x, Index size);

/// max |x_i| over the `size` doubles at `x` (0 for size 0; NaN if any entry is NaN): one
/// vectorized pass, no allocation (the input-scale checks of the Python layer use it).
double max_abs(const double* x, Index size);

/// The index of the first NaN or infinite entry of the `size` doubles at `x`, -1 if none.
Index first_nonfinite(const double* x, Index size);

/// The relative symmetry test for one row-major n x n matrix: false iff
/// max|X - X'| > rtol * max(max|X|, 1e-300).
bool symmetric_rel(const double* X, Index n, double rtol);

/// In-place lower Cholesky factor of the k x k row-major `s` (its lower triangle
/// is read and overwritten; the strict upper triangle is untouched). False, with
/// `s` partly overwritten, unless every pivot is positive (NaN fails).
bool cholesky_inplace(double* s, Index k);

/// Whether the symmetric part of the k x k block at `X` (row-major, leading
/// dimension `ld`) is positive definite: its Cholesky factorization succeeds.
bool positive_definite(const double* X, Index k, Index ld);
/// The same with a caller's scratch of k * k doubles (nothing allocated).
bool positive_definite(const double* X, Index k, Index ld, double* scratch);

/// Smallest eigenvalue of the symmetric part of the k x k block at `X` (leading dimension `ld`).
double smallest_eigenvalue(const double* X, Index k, Index ld);

/// Checks every value `solve_lq_game(s)` reads: finiteness of all present
/// inputs (unless `check_finite` is false, for callers that checked it while
/// reading), symmetry of Q, QT and R (relative tolerance `sym_rtol`) and the
/// definiteness of every own block R^{ii} (all stages and games). Throws
/// std::invalid_argument if `check_game(game)` fails.
ValueCheck check_game_values(const LQGameData& game, double sym_rtol = kSymRtol, bool check_finite = true);

/// The part of `check_game_values` on the arrays without a batch axis (shared by every game),
/// with the same checks in the same order. Throws std::invalid_argument if `check_game(game)` fails.
ValueCheck check_shared_values(const LQGameData& game, double sym_rtol = kSymRtol, bool check_finite = true);

/// The part of `check_game_values` on game `b`'s blocks of the arrays with a batch axis (the
/// caller has run `check_game`). `check_game_values` is `check_shared_values`, then this for
/// b = 0, 1, ..., batch - 1: the first failure in that order.
ValueCheck check_values_of_game(const LQGameData& game, Index b, double sym_rtol = kSymRtol,
                                bool check_finite = true);

/// `solve_lq_games` with the per-game part of `require_valid_values` run on the solve's threads:
/// each thread checks a game (`check_values_of_game`) just before solving it. The shared part
/// (`check_shared_values`) is the caller's. On a failure nothing more is solved and InputError
/// is thrown with the message of the lowest failing game (independent of `n_threads`); the
/// outputs are then unspecified. Defined with the batch driver (cpp/src/batch.cpp).
SolveReport solve_checked_lq_games(const LQGameData& game, const LQSolutionView& out, int n_threads,
                                   const SolveOptions& opts, double sym_rtol = kSymRtol, bool check_finite = true);

/// The definiteness part of `check_game_values` alone: every own block R^{ii} (all stages and
/// games) positive definite (a Cholesky succeeds). For callers whose other data are well-formed
/// by construction (the local games of iLQGames). Throws std::invalid_argument if
/// `check_game(game)` fails.
ValueCheck check_own_blocks(const LQGameData& game);

/// The message of a failed check, e.g. "Q[0, 2, 1] must be symmetric: max |X - X'| = 0.001 exceeds
/// 1e-10 * max |X| = 2" or "R (player 1's own block R^11)[0, 0] must be positive definite, smallest
/// eigenvalue is -2" (indices: game, stage[, player]).
std::string describe(const ValueCheck& v, const LQGameData& game, double sym_rtol = kSymRtol);

/// `check_game_values`, throwing InputError with `describe`'s message on a failure.
void require_valid_values(const LQGameData& game, double sym_rtol = kSymRtol, bool check_finite = true);

}  // namespace gamesolve
