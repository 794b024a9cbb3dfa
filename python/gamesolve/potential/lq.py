"""Potentials of LQ games: a potential cost on the joint control and its LQR.

Notation of :mod:`gamesolve.lq.game` (players minimize, policies u = -K x - k). A potential
cost Phi_theta is a one-player LQ cost on the joint control u (m), with the game's dynamics::

    Phi_theta(pi) = sum_t x'Q_theta x + u'R_theta u   (+ x_T'Q_T,theta x_T with a horizon T)

(:class:`CostPotential`: ``cost(theta) -> (Q_theta (n, n), R_theta (m, m)[, Q_T,theta])``,
R_theta positive definite). Its cooperative solution is the LQR of that cost over the joint
control -- the finite-horizon Riccati recursion (``solve_lq_game`` with N = 1) or the
infinite-horizon DARE (``lq_nash`` with N = 1) -- and Phi_theta of a profile is its policy
evaluation in the same one-player game, from the game's initial state (``x0`` / ``x0_cov``
in the context). Best responses are the game family's single-player LQ problems
(:mod:`gamesolve.lq.finite`, :mod:`gamesolve.lq.infinite`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import equilibrium
from ..errors import InputError
from ..lq.finite import solve_lq_game
from ..lq.game import LQGame, lq_game
from ..lq.infinite import lq_nash
from .family import PotentialFamily, register_deviation

__all__ = ["CostPotential", "weighted_costs", "potential_game"]


def _checked(name: str, a, shape) -> np.ndarray:
    try:
        a = np.asarray(a, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"potential(theta): {name} must be a real array of shape {shape}: {exc}") from None
    if a.shape != shape:
        raise InputError(f"potential(theta): {name} must have shape {shape}, got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise InputError(f"potential(theta): {name} must be finite, found NaN or inf")
    return a


def potential_game(game: LQGame, Q, R, QT=None) -> LQGame:
    """The one-player LQ game of the potential cost (Q, R[, QT]) on ``game``'s dynamics and joint control.

    Raises
    ------
    InputError
        Naming ``potential(theta)``: wrong shapes, non-finite, asymmetric, R not positive definite.
    """
    if game.batch is not None:
        raise InputError(f"game: NePPO takes one LQ game, got a batch of {game.batch}")
    n, m = game.n, game.m
    Q = _checked("Q", Q, (n, n))
    R = _checked("R", R, (m, m))
    QT = None if QT is None else _checked("QT", QT, (n, n))
    time_varying = game.T is not None and game.time_varying
    A = game.A if time_varying and game.A.shape[0] > 1 else game.A[0]
    B = game.B if time_varying and game.B.shape[0] > 1 else game.B[0]
    c = None if game.c is None else (game.c if game.c.shape[0] > 1 else game.c[0])
    if time_varying:  # the potential's weights are time-invariant: give them the game's time axis
        Q, R = np.broadcast_to(Q, (game.T, 1, n, n)), np.broadcast_to(R, (game.T, 1, m, m))
    else:
        Q, R = Q[None], R[None]
    try:
        return lq_game(A, B, Q, R, horizon=game.T, c=c, QT=None if QT is None else QT[None], dims=(m,))
    except InputError as exc:
        raise InputError(f"potential(theta): {exc}") from None


class CostPotential(PotentialFamily):
    """A potential cost on the joint control: ``cost(theta) -> (Q, R)`` or ``(Q, R, QT)`` (module docstring).

    Parameters
    ----------
    cost : callable
        theta -> (Q_theta (n, n), R_theta (m, m)) or with a terminal weight Q_T,theta (n, n)
        (default Q_theta).
    dim : int, optional
        The size of theta.
    """

    maximize = False

    def __init__(self, cost: Callable, dim: int | None = None):
        self.cost = cost
        self.dim = dim
        self._cache = (None, None, None)

    def __repr__(self) -> str:
        return f"CostPotential({getattr(self.cost, '__name__', 'cost')}, dim={self.dim})"

    def game(self, game: LQGame, theta) -> LQGame:
        """The potential's one-player game at theta (:func:`potential_game`; the last one is cached)."""
        theta = np.asarray(theta, dtype=float)
        key = theta.tobytes()
        if self._cache[0] is game and self._cache[1] == key:
            return self._cache[2]
        out = self.cost(theta)
        if not isinstance(out, (tuple, list)) or len(out) not in (2, 3):
            raise InputError(f"potential(theta) must return (Q, R) or (Q, R, QT), got {type(out).__name__}")
        pg = potential_game(game, *out)
        self._cache = (game, key, pg)
        return pg

    def value(self, game, theta, profiles, **ctx) -> np.ndarray:
        pg = self.game(game, theta)
        return np.array([equilibrium.policy_value(pg, p, **ctx)[0] for p in profiles])

    def cooperative(self, game, theta, *, temperature: float = 0.0, **ctx):
        pg = self.game(game, theta)
        if pg.T is None:
            return lq_nash(pg).K
        sol = solve_lq_game(pg)
        return sol.K, sol.k


def weighted_costs(game: LQGame, *, shared: bool = False) -> CostPotential:
    """Convex combinations of the players' costs: Q_theta = sum_i w_i Q^i, R_theta = sum_i v_i R^i.

    w = softmax(theta[:N]), v = softmax(theta[N:]), theta (2 N,); ``shared=True``: one set of
    weights w = v = softmax(theta), theta (N,). R^i is player i's weight on the joint control, so
    with own-control weights R_theta = blockdiag(v_1 R^{11}, ..., v_N R^{NN}) (positive definite:
    every v_i > 0). theta = 0 is the summed cost a cooperative learner minimizes (scaled by 1/N).
    A terminal weight Q_T,theta = sum_i w_i Q_T^i goes with a horizon.
    """
    if game.time_varying:
        raise InputError("game: weighted_costs takes time-invariant Q, R (give a CostPotential for time-varying ones)")
    N = game.N
    Q, R = game.Q[0], game.R[0]  # (N, n, n), (N, m, m)
    QT = None if game.T is None or game.QT is None else game.QT

    def softmax(z):
        e = np.exp(z - np.max(z))
        return e / e.sum()

    def cost(theta):
        w = softmax(theta[:N])
        v = w if shared else softmax(theta[N:])
        out = (np.tensordot(w, Q, axes=1), np.tensordot(v, R, axes=1))
        return out if QT is None else (*out, np.tensordot(w, QT, axes=1))

    return CostPotential(cost, dim=N if shared else 2 * N)


def _deviate(game: LQGame, profile, player: int, strategy):
    rows = game.slices[player]
    if game.T is None:
        K = np.array(profile, dtype=float)
        K[rows] = strategy
        return K
    K, k = profile
    K = np.array(K, dtype=float)
    k = np.zeros(K.shape[:-1]) if k is None else np.array(k, dtype=float)
    K[:, rows], k[:, rows] = strategy
    return K, k


register_deviation(LQGame, _deviate)
