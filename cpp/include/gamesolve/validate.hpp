// Value checks of LQ game data ([theory §2]): finiteness, symmetry, definiteness.
//
// One pass over the data a solve reads, with no allocation: every entry of
// every present input finite; Q^i, Q_T^i and R^i symmetric to a relative
// tolerance; every own-control block R^{ii} positive definite. The Python
// boundary (python/gamesolve/lq.py; lq_nash.py, on the stationary game as a
// T = 1 game with QT = Q) runs these checks on its fast path and, when one
// fails, defers to its general path, which names the offending argument and
// index. C++ callers can run them before `solve_lq_games`.
#pragma once

#include "gamesolve/lq_game.hpp"

namespace gamesolve {

/// Outcome of `check_game_values` (the first failure met).
enum class ValueIssue : int {
  kOk = 0,
  kNonFinite = 1,     ///< some entry is NaN or infinite
  kAsymmetric = 2,    ///< max|X - X'| > rtol * max|X| for a Q^i, Q_T^i or R^i
  kNotDefinite = 3,   ///< some R^{ii} is not (safely) positive definite, see below
};

struct ValueCheck {
  ValueIssue issue = ValueIssue::kOk;
  const char* name = nullptr;  ///< the input: "A", "B", "Q", "q", "R", "r", "M", "c", "QT", "qT"
  bool ok() const { return issue == ValueIssue::kOk; }
};

/// Relative eigenvalue margin of the definiteness test: R^{ii} passes only if
/// the smallest eigenvalue of its diagonally scaled symmetric part
/// D^{-1/2} sym(R^{ii}) D^{-1/2} (unit diagonal) is provably above this (plus
/// round-off terms that grow with the block size, see validate.cpp).
/// That implies a successful Cholesky factorization in any backward-stable
/// implementation (LAPACK's included); a block close to singular fails the
/// test even if it is positive definite, so a caller that needs the exact
/// boundary decides those (rare) cases itself.
inline constexpr double kDefiniteMargin = 1e-8;

/// True iff none of the `size` doubles at `x` is NaN or infinite.
bool all_finite(const double* x, Index size);

/// The relative symmetry test of python/gamesolve/_validate.py check_symmetric
/// for one row-major n x n matrix: false iff max|X - X'| > rtol * max(max|X|, 1e-300).
bool symmetric_rel(const double* X, Index n, double rtol);

/// In-place lower Cholesky factor of the k x k row-major `s` (its lower triangle
/// is read and overwritten; the strict upper triangle is untouched). False, with
/// `s` partly overwritten, unless every pivot is positive (NaN fails).
bool cholesky_inplace(double* s, Index k);

/// Whether the symmetric part of the k x k block at `X` (row-major, leading
/// dimension `ld`) is positive definite with the margin `kDefiniteMargin`.
bool definite_with_margin(const double* X, Index k, Index ld);

/// Checks every value `solve_lq_game(s)` reads: finiteness of all present
/// inputs, symmetry of Q, QT and R (relative tolerance `sym_rtol`) and the
/// definiteness of every own block R^{ii} (all stages and games). Assumes
/// `check_game(game)` passes (throws std::invalid_argument otherwise).
ValueCheck check_game_values(const LQGameData& game, double sym_rtol = 1e-10);

}  // namespace gamesolve
