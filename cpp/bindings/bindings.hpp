// Declarations of the per-feature binding functions; module.cpp calls each once.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include "gamesolve/lq_game.hpp"

namespace gamesolve_py {
void bind_lq_game(pybind11::module_& m);
void bind_entropy(pybind11::module_& m);  // entropy-regularized LQ games ([theory §4])
void bind_lq_nash(pybind11::module_& m);  // issue 3
void bind_rollout(pybind11::module_& m);  // closed-loop rollouts of built-in dynamics (iLQGames, [theory §6])
void bind_markov(pybind11::module_& m);   // Markov games: exact evaluation and softmax learners (docs/markov.md)

/// A game read by `read_game`: the LQGame's fields for Python and the core's view of the same buffers.
struct ReadGame {
  pybind11::dict values;    ///< dims, n, T|None, batch|None, A, B, Q, q, R, r, M, c, QT, qT, state_dims
  gamesolve::LQGameData g;  ///< T = 1 when the game has no horizon
  bool has_horizon = false;
};

/// The one reader of LQ game data (gamesolve.lq_game / lq_games): converts, checks shapes and
/// values (InputError naming the argument) and returns the canonical arrays (cpp/bindings/bind_lq_game.cpp).
/// `defer_game_checks`: for a batch with a horizon, only the arrays shared by every game are
/// value-checked here; the caller solves with gamesolve::solve_checked_lq_games.
ReadGame read_game(pybind11::handle A, pybind11::handle B, pybind11::handle Q, pybind11::handle R,
                   pybind11::handle horizon, pybind11::handle q, pybind11::handle r, pybind11::handle M,
                   pybind11::handle c, pybind11::handle QT, pybind11::handle qT, pybind11::handle dims, bool batched,
                   double sym_rtol, bool defer_game_checks = false);

/// A real, finite (rows, cols) float64 C-contiguous array named `name` (InputError naming it otherwise).
pybind11::object read_matrix(const char* name, pybind11::handle h, pybind11::ssize_t rows, pybind11::ssize_t cols);

/// The noise covariance of an entropy-regularized game: a real, finite (n, n) or (T, n, n) array
/// (InputError naming noise_cov otherwise), read-only, read in place when already float64 C-contiguous.
pybind11::object read_noise_cov(pybind11::handle h, pybind11::ssize_t n, pybind11::ssize_t T);
}  // namespace gamesolve_py
