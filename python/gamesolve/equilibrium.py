"""The equilibrium protocol: best response, policy value and Nash gap, for every game family.

A *game family* (LQ games over a finite horizon, infinite-horizon LQ games,
entropy-regularized LQ games, nonlinear games, Markov games, ...) implements two
functions and registers them for its game type with :func:`register`:

* ``policy_value(game, profile, **ctx) -> (..., N) array`` -- every player's
  value of the strategy profile (a cost if the family minimizes, a reward if it
  maximizes);
* ``best_response(game, profile, player, **ctx) -> (strategy, value)`` -- player
  ``player``'s optimal strategy against the others' fixed strategies and its
  value (``value`` has the leading shape of ``policy_value``'s output; ``-inf``
  for a cost / ``+inf`` for a reward when the best-response problem is
  unbounded).

From the two, once for all families, the Nash gap of a profile (docs/theory.md,
section 2)::

    gap_i = J^i(profile) - J^i(br_i, profile^{-i})      (costs)
    gap_i = V^i(br_i, profile^{-i}) - V^i(profile)      (rewards)
    nash_gap = max_i gap_i >= 0

A profile is a Nash equilibrium iff its gap is 0; solvers certify their
answers with it, and NePPO and exploitability estimates call the same
functions. ``ctx`` carries what a value depends on besides the game and the
profile (e.g. the initial state ``x0`` of an LQ game); each family documents
its profile type and context.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["Family", "register", "family_of", "policy_value", "best_response", "player_gaps", "nash_gap"]


@dataclass(frozen=True)
class Family:
    """A game family's implementation of the protocol.

    Attributes
    ----------
    name : str
        Shown in messages, e.g. ``"finite-horizon LQ game"``.
    policy_value : callable ``(game, profile, **ctx) -> (..., N) array``
    best_response : callable ``(game, profile, player, **ctx) -> (strategy, value)``
    maximize : bool
        True if values are rewards (players maximize), False for costs.
    """

    name: str
    policy_value: Callable
    best_response: Callable
    maximize: bool = False


_FAMILIES: dict[type, Family] = {}


def register(game_type: type, family: Family) -> None:
    """Register ``family`` as the protocol implementation for ``game_type`` (and its subclasses)."""
    _FAMILIES[game_type] = family


def family_of(game) -> Family:
    """The registered family of ``game``'s type (searched along its MRO).

    Raises
    ------
    TypeError
        If no family is registered for the type.
    """
    for cls in type(game).__mro__:
        fam = _FAMILIES.get(cls)
        if fam is not None:
            return fam
    known = ", ".join(sorted(t.__name__ for t in _FAMILIES)) or "none"
    raise TypeError(f"no equilibrium protocol for games of type {type(game).__name__} (registered: {known})")


def policy_value(game, profile, **ctx) -> np.ndarray:
    """Every player's value of ``profile`` in ``game``, shape (..., N)."""
    return np.asarray(family_of(game).policy_value(game, profile, **ctx))


def best_response(game, profile, player: int, **ctx):
    """Player ``player``'s best response to the others' strategies in ``profile``: ``(strategy, value)``."""
    return family_of(game).best_response(game, profile, player, **ctx)


def player_gaps(game, profile, *, values=None, **ctx) -> np.ndarray:
    """Each player's gain from its best unilateral deviation, shape (..., N), all >= 0 up to round-off.

    ``values``, if given, is ``policy_value(game, profile, **ctx)`` already computed by the caller.
    """
    fam = family_of(game)
    if values is None:
        values = fam.policy_value(game, profile, **ctx)
    values = np.asarray(values, dtype=float)
    n_players = values.shape[-1]
    br = np.stack([np.asarray(fam.best_response(game, profile, i, **ctx)[1], dtype=float)
                   for i in range(n_players)], axis=-1)
    return br - values if fam.maximize else values - br


def nash_gap(game, profile, **ctx):
    """The Nash gap ``max_i gap_i`` of ``profile`` (a float, or an array over a batch)."""
    gap = player_gaps(game, profile, **ctx).max(axis=-1)
    return float(gap) if np.ndim(gap) == 0 else gap
