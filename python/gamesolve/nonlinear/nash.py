"""The equilibrium protocol for nonlinear games: policy value, (local) best response, Nash gap.

A *profile* of a nonlinear game is a feedback strategy for every player in the
global form of [theory §1], ``u_t = -K_t x_t - k_t`` (``K (T, m, n)``, ``k (T, m)``,
player i's rows ``game.control_slice(i)``), with a reference trajectory
``xs (T+1, n)``, ``us (T, m)`` around which it was built: a
:class:`FeedbackProfile`, or anything with ``xs, us, K, k`` (an
:class:`~gamesolve.nonlinear.result.ILQGamesResult`). A leading batch axis on
every array (and on ``x0``) gives a batch of profiles.

* :func:`policy_value` -- every player's total cost ``J^i`` of the closed-loop
  rollout from ``x0`` (context: ``x0``, ``horizon``);
* :func:`best_response` -- player i's optimal control against the others' fixed
  feedback strategies, by iLQR: iLQGames with one player, the others' feedback
  ``du^j = -K^j dx`` folded into the local LQ game's dynamics and costs
  (:func:`gamesolve.nonlinear.local._fold`), started from the profile's own
  closed-loop trajectory. It is a **local** best response: iLQR finds a
  stationary point of player i's problem near the profile, not necessarily
  its global minimum (on a nonconvex problem a better reply may exist far
  away, and the gap is then a lower bound). The returned value is the smaller
  of the iLQR solution's cost and the profile's own (both are feasible replies).
  For an LQ game the local best response is exact.

:func:`nash_gap` is ``max_i J^i(profile) - J^i(br_i, profile^{-i})`` through
:mod:`gamesolve.equilibrium`, where :class:`~gamesolve.nonlinear.game.Game` is
registered with these two functions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import equilibrium
from .._validate import as_float_array
from ..errors import InputError
from ..results import Status
from .game import Game, as_game
from .iteration import _control_rows, _has_newton, _Members, _run, _Settings
from .local import _rollout

__all__ = ["FeedbackProfile", "policy_value", "best_response", "nash_gap"]


@dataclass(frozen=True)
class FeedbackProfile:
    """Feedback strategies ``u_t = -K_t x_t - k_t`` with their reference trajectory (leading batch axis optional).

    Attributes
    ----------
    xs : ([B,] T+1, n) array
    us : ([B,] T, m) array
    K : ([B,] T, m, n) array
    k : ([B,] T, m) array
    status : Status or (B,) object array, optional
        How the solve that produced it ended (a best response's iLQR).
    """

    xs: np.ndarray
    us: np.ndarray
    K: np.ndarray
    k: np.ndarray
    status: object = None


def _inputs(game, profile, x0, horizon):
    """Batch-form ``(game, K (B, T, m, n), k (B, T, m), X0 (B, n), batched)`` with checked shapes."""
    game = as_game(game)
    K, k = np.asarray(profile.K, dtype=float), np.asarray(profile.k, dtype=float)
    batched = K.ndim == 4
    K, k = (K, k) if batched else (K[None], k[None])
    T = K.shape[1]
    if K.shape[1:] != (T, game.m, game.n) or k.shape != K.shape[:3]:
        raise InputError(f"the profile's K must have shape ([B,] T, {game.m}, {game.n}) and k ([B,] T, {game.m}), "
                         f"got {np.shape(profile.K)} and {np.shape(profile.k)}")
    if horizon is not None and int(horizon) != T:
        raise InputError(f"horizon is {horizon} but the profile has T = {T} stages")
    x0 = as_float_array("x0", x0, ndim=(1, 2))
    X0 = np.broadcast_to(x0, (K.shape[0], game.n)) if x0.shape[-1] == game.n else None
    if X0 is None or (x0.ndim == 2 and x0.shape[0] != K.shape[0]):
        raise InputError(f"x0 must have shape ({game.n},) or ({K.shape[0]}, {game.n}), got {x0.shape}")
    return game, K, k, np.array(X0), batched


def _closed_loop(game, K, k, X0):
    """States (B, T+1, n) and controls (B, T, m) of ``u = -K x - k`` from ``X0``."""
    Bn, T = k.shape[:2]
    zeros = np.zeros((Bn, T + 1, game.n))
    X, U = _rollout(game, X0, zeros, -k, K, np.zeros_like(k), np.zeros((1, Bn)))
    return X[0], U[0]


def policy_value(game, profile, *, x0, horizon=None) -> np.ndarray:
    """Every player's total cost ``J^i`` of the profile's closed-loop rollout from ``x0``, shape ``([B,] N)``."""
    game, K, k, X0, batched = _inputs(game, profile, x0, horizon)
    with np.errstate(over="ignore", invalid="ignore"):
        X, U = _closed_loop(game, K, k, X0)
        J = game.total_costs(X, U)
    return J if batched else J[0]


def best_response(game, profile, player: int, *, x0, horizon=None, max_iter: int = 100, tol: float = 1e-9,
                  grad_tol: float = 1e-9, max_step: float = np.inf, ls_factor: float = 0.5, ls_steps: int = 12,
                  reg: float = 0.0, convex: bool = True, second_order: bool = True):
    """Player ``player``'s local best response to the others' feedback strategies, by iLQR.

    The others keep ``u^j_t = -K^j_t x_t - k^j_t``; player i's control is optimized by iLQGames with one
    player (module docstring): each iteration folds the others' gains into the local LQ game
    (``A' = A - B^{-i} K^{-i}``, player i's costs with ``du^{-i} = -K^{-i} dx`` substituted), solves player
    i's LQR, and line-searches the joint closed-loop rollout; options as :func:`gamesolve.ilqgames`'.

    Returns
    -------
    strategy : FeedbackProfile
        The profile with player i's rows of K, k replaced by its best response, the trajectory it produces
        from ``x0`` and the iLQR's ``status``.
    value : float or (B,) array
        ``min(J^i(br_i, profile^{-i}), J^i(profile))`` from ``x0``.
    """
    game, K, k, X0, batched = _inputs(game, profile, x0, None)
    if not 0 <= int(player) < game.N or int(player) != player:
        raise InputError(f"player must be an integer in [0, {game.N}), got {player!r}")
    player = int(player)
    opts = _Settings(max_iter, tol, grad_tol, max_step, ls_factor, ls_steps, reg, convex,
                     _has_newton(game, second_order), False, player)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        X, U = _closed_loop(game, K, k, X0)
        start = game.total_costs(X, U)[:, player]
        s = _Members.start(X0, X.copy(), U.copy(), K.copy(), 1, opts.newton)
        _run(game, s, opts, _control_rows(game, player))
        value = game.total_costs(s.X, s.U)[:, player]
        kglob = -(s.U + np.einsum("btmn,btn->btm", s.K, s.X[:, :-1]))  # inf - inf on a diverged member
    worse = ~(value <= start)  # a reply no better than the profile's own (or non-finite): keep the profile's
    s.X[worse], s.U[worse], s.K[worse], kglob[worse], value[worse] = X[worse], U[worse], K[worse], k[worse], start[worse]
    status = np.array([Status(v) for v in s.status], dtype=object)
    if batched:
        return FeedbackProfile(s.X, s.U, s.K, kglob, status), value
    return FeedbackProfile(s.X[0], s.U[0], s.K[0], kglob[0], status[0]), float(value[0])


def nash_gap(game, profile, *, x0, horizon=None, **options):
    """``max_i J^i(profile) - J^i(br_i, profile^{-i})`` from ``x0`` with local best responses (a float, or
    ``(B,)`` for a batch); ``options`` go to :func:`best_response`."""
    game = as_game(game)
    if options:
        values = policy_value(game, profile, x0=x0, horizon=horizon)
        br = np.stack([np.asarray(best_response(game, profile, i, x0=x0, horizon=horizon, **options)[1])
                       for i in range(game.N)], axis=-1)
        gap = (values - br).max(axis=-1)
        return float(gap) if np.ndim(gap) == 0 else gap
    return equilibrium.nash_gap(game, profile, x0=x0, horizon=horizon)


equilibrium.register(Game, equilibrium.Family("nonlinear game (local best responses by iLQR)", policy_value,
                                              best_response))
