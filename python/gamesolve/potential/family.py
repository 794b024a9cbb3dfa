"""Potential families: theta -> Phi_theta, its cooperative solution, and the players' gaps.

A *potential family* (``docs/neppo.md``) is a parameterized common objective Phi_theta of a
game's players. It is a :class:`PotentialFamily` with two methods:

* ``value(game, theta, profiles, **ctx) -> (len(profiles),)`` -- Phi_theta of each profile,
  in the players' sense (a reward when the game's players maximize, a cost when they
  minimize);
* ``cooperative(game, theta, *, temperature=0.0, **ctx) -> profile`` -- the cooperative
  solution pi_theta: an optimum of Phi_theta over joint profiles. ``temperature > 0`` asks for
  a smoothed solution (an entropy-regularized / logit one) where the exact optimum jumps with
  theta; 0 is the exact optimum.

With best responses br_i to pi^{-i} and the players' values V^i, player i's gap
([NePPO] eq. 4, written for players that maximize; s = -1 flips both differences for costs)::

    gap_i(theta) = s ([V^i(br_i, pi^{-i}) - V^i(pi)] - [Phi_theta(br_i, pi^{-i}) - Phi_theta(pi)])

is >= 0 when pi is an exact optimum of Phi_theta and br_i an exact best response; then pi is a
max_i gap_i - Nash equilibrium ([NePPO] Theorem 3.1). Building (br_i, pi^{-i}) needs the
game type's profile layout: :func:`register_deviation` sets it per game type, as
:mod:`gamesolve.equilibrium` does for values and best responses.
"""

from __future__ import annotations

import abc
from collections.abc import Callable

import numpy as np

from .. import equilibrium
from ..errors import InputError

__all__ = ["PotentialFamily", "register_deviation", "deviate", "register_responses", "responses", "potential_gaps",
           "gaps_many", "as_potential"]


class PotentialFamily(abc.ABC):
    """A parameterized potential Phi_theta with its cooperative solver (the explicit interface).

    Attributes
    ----------
    dim : int or None
        The size of theta (None: any, taken from ``theta0``).
    maximize : bool
        True if Phi_theta is a reward (players maximize), False for a cost.
    """

    dim: int | None = None
    maximize: bool = True

    @abc.abstractmethod
    def value(self, game, theta: np.ndarray, profiles: list, **ctx) -> np.ndarray:
        """Phi_theta of each profile in ``profiles``, shape (len(profiles),)."""

    @abc.abstractmethod
    def cooperative(self, game, theta: np.ndarray, *, temperature: float = 0.0, **ctx):
        """The cooperative solution pi_theta (a profile of ``game``); temperature 0 = the exact optimum."""


# --------------------------------------------------------------------------- deviations

_DEVIATIONS: dict[type, Callable] = {}


def register_deviation(game_type: type, fn: Callable) -> None:
    """Register ``fn(game, profile, player, strategy) -> profile`` (player's strategy replaced) for ``game_type``."""
    _DEVIATIONS[game_type] = fn


def deviate(game, profile, player: int, strategy):
    """The profile (strategy, profile^{-player}): ``profile`` with player ``player``'s strategy replaced.

    Without a registered deviation for the game's type, a list or tuple of per-player
    strategies is taken as the profile layout (the entry ``player`` replaced).

    Raises
    ------
    TypeError
        If no deviation is registered for the game's type and the profile is no such list.
    """
    for cls in type(game).__mro__:
        fn = _DEVIATIONS.get(cls)
        if fn is not None:
            return fn(game, profile, player, strategy)
    if isinstance(profile, (list, tuple)) and len(profile) > player:  # a list of per-player strategies
        out = list(profile)
        out[player] = strategy
        return out
    raise TypeError(f"no deviation registered for games of type {type(game).__name__} "
                    "(gamesolve.potential.register_deviation)")


# --------------------------------------------------------------------------- gaps

_RESPONSES: dict[type, Callable] = {}


def register_responses(game_type: type, fn: Callable) -> None:
    """Register a batched exact kernel for ``game_type``:
    ``fn(game, profiles, **ctx) -> (values (B, N), [[(strategy_i, value_i) for each player] for each profile])``.

    Optional: without one, :func:`responses` calls the equilibrium protocol per profile and player.
    """
    _RESPONSES[game_type] = fn


def responses(game, profiles: list, **ctx):
    """Every player's value of each profile and exact best response: ``(values (B, N), brs)``,
    ``brs[b][i] = (strategy, value)``.

    By the game type's registered kernel (one batched evaluation), else by
    :func:`gamesolve.equilibrium.policy_value` and :func:`gamesolve.equilibrium.best_response`.
    """
    for cls in type(game).__mro__:
        fn = _RESPONSES.get(cls)
        if fn is not None:
            return fn(game, profiles, **ctx)
    V = np.array([np.asarray(equilibrium.policy_value(game, p, **ctx), dtype=float).reshape(-1) for p in profiles])
    return V, [[equilibrium.best_response(game, p, i, **ctx) for i in range(V.shape[1])] for p in profiles]


def potential_gaps(game, potential: PotentialFamily, theta, profile, *, best_response=None, values=None,
                   **ctx) -> tuple[np.ndarray, np.ndarray]:
    """Each player's NePPO gap and regret at ``profile`` (module docstring): ``(gaps (N,), regrets (N,))``.

    ``regrets[i]`` = s [V^i(br_i, pi^{-i}) - V^i(pi)] is player i's gain from its best response
    (the Nash gap is their maximum); ``gaps[i]`` subtracts the potential's change.

    Parameters
    ----------
    best_response : callable ``(game, profile, player, **ctx) -> (strategy, value)``, optional
        Default: the game family's exact best response (:func:`responses`).
    values : callable ``(game, profile, **ctx) -> (N,)``, optional
        Default: the game family's exact values (:func:`responses`).

    An unbounded best response (value +inf for a reward, -inf for a cost) gives gap and regret +inf.
    """
    gaps, regrets = gaps_many(game, potential, [theta], [profile], best_response=best_response, values=values,
                              **ctx)
    return gaps[0], regrets[0]


def gaps_many(game, potential: PotentialFamily, thetas, profiles, *, best_response=None, values=None,
              **ctx) -> tuple[np.ndarray, np.ndarray]:
    """:func:`potential_gaps` of B pairs (theta_b, profile_b): ``(gaps (B, N), regrets (B, N))``.

    With the exact solvers (no ``best_response`` / ``values``), the profiles are evaluated in
    one batch by the game type's kernel (:func:`register_responses`).
    """
    s = 1.0 if potential.maximize else -1.0
    if best_response is None and values is None:
        V, brs = responses(game, profiles, **ctx)
    else:
        values = values or equilibrium.policy_value
        best_response = best_response or equilibrium.best_response
        V = np.array([np.asarray(values(game, p, **ctx), dtype=float).reshape(-1) for p in profiles])
        brs = [[best_response(game, p, i, **ctx) for i in range(V.shape[1])] for p in profiles]
    V = np.asarray(V, dtype=float)
    V_br = np.array([[float(v) for _, v in row] for row in brs]).reshape(V.shape)
    finite = np.isfinite(V_br)
    dphi = np.full(V.shape, np.nan)
    for b, (theta, profile) in enumerate(zip(thetas, profiles)):
        deviations = [deviate(game, profile, i, strategy) for i, (strategy, _) in enumerate(brs[b]) if finite[b, i]]
        phi = np.asarray(potential.value(game, theta, [profile, *deviations], **ctx), dtype=float)
        dphi[b, finite[b]] = phi[1:] - phi[0]
    regrets = np.where(finite, s * (V_br - V), np.inf)
    gaps = np.where(finite, regrets - s * dphi, np.inf)
    return gaps, regrets


def as_potential(game, potential, dim: int | None = None) -> PotentialFamily:
    """``potential`` itself if it is a :class:`PotentialFamily`; a plain callable ``theta -> data`` is
    wrapped by the game type's family (a reward table for Markov / normal-form games, ``(Q, R)``
    for LQ games).

    Raises
    ------
    InputError
        If ``potential`` is neither, or the game type has no callable wrapper.
    """
    if isinstance(potential, PotentialFamily):
        return potential
    if not callable(potential):
        raise InputError(f"potential must be a PotentialFamily or a callable theta -> potential data, "
                         f"got {type(potential).__name__}")
    from ..lq.game import LQGame
    from ..markov.game import MarkovGame
    from .lq import CostPotential
    from .tabular import RewardPotential

    if isinstance(game, MarkovGame):
        return RewardPotential(potential, dim=dim)
    if isinstance(game, LQGame):
        return CostPotential(potential, dim=dim)
    raise InputError(f"potential: a plain callable needs a Markov or LQ game to interpret its output, got a game "
                     f"of type {type(game).__name__}; pass a PotentialFamily")
