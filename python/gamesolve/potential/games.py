"""The NePPO papers' games and potential families ([NePPO] section 4.1 and the authors' code release).

* :func:`toy_game` -- two players, two actions each, payoffs (player 1, player 2)
  (A1, B1) = (1, 1), (A1, B2) = (1, 0.5), (A2, B1) = (0.5, 1.75), (A2, B2) = (0, 2); its
  unique Nash equilibrium is (A1, B1), while the sum of payoffs is largest at (A2, B1).
  :func:`toy_potential`: Phi_w = w r^1 + (1 - w) r^2, theta = (w,); F = 0 exactly for
  w in [0.6, 1].
* :func:`alpha_game` -- the 2x2 family of the authors' code release, alpha in [0, 1]
  (alpha = 0: the toy game; alpha = 1: matching pennies), entries (u^1, u^2):
  (A1, B1) = (1, 1 - 2a), (A1, B2) = (1 - 2a, (a + 1)/2), (A2, B1) = ((1 - 3a)/2, (7 - 3a)/4),
  (A2, B2) = (a, 2 - 3a). :class:`MixedQuadraticPotential`: Phi_p(x) = -sum_i (x_i - p_i)^2 on
  the mixed strategies x_i = P(player i plays its second action), cooperative solution x = p
  (clipped to [0, 1]); the gaps use the players' pure best responses.
  :func:`interior_equilibrium`: the fully mixed equilibrium of a 2x2 game, when there is one.
* :func:`lq_demo` -- the appendix-A LQ game of [MA-GPS] (``gamesolve.examples.lq_example``)
  with the convex-combination potential family of :func:`~gamesolve.potential.lq.weighted_costs`;
  its exact Nash equilibrium comes from ``lq_nash``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..markov.game import MarkovGame
from .family import PotentialFamily
from .tabular import RewardPotential

__all__ = ["matrix_game", "toy_game", "toy_potential", "alpha_game", "MixedQuadraticPotential",
           "interior_equilibrium", "mixed_profile", "LQDemo", "lq_demo"]

#: The toy game's payoffs, (player, row A1/A2, column B1/B2).
TOY_PAYOFFS = np.array([[[1.0, 1.0], [0.5, 0.0]],
                        [[1.0, 0.5], [1.75, 2.0]]])


def matrix_game(payoffs) -> MarkovGame:
    """The normal-form game of payoff tables (N, A_1, ..., A_N) as a MarkovGame (S = 1, gamma = 0)."""
    r = np.asarray(payoffs, dtype=float)
    return MarkovGame(np.ones((1, *r.shape[1:], 1)), r[:, None], gamma=0.0)


def toy_game() -> MarkovGame:
    """The toy game of [NePPO] section 4.1 (module docstring)."""
    return matrix_game(TOY_PAYOFFS)


def toy_potential() -> RewardPotential:
    """Phi_w = w r^1 + (1 - w) r^2 on the toy game, theta = (w,)."""
    r1, r2 = TOY_PAYOFFS

    def reward(theta):
        return theta[0] * r1 + (1.0 - theta[0]) * r2

    return RewardPotential(reward, dim=1)


def alpha_payoffs(alpha: float) -> np.ndarray:
    """The payoff tables (2, 2, 2) of the alpha family (module docstring)."""
    a = float(alpha)
    u1 = [[1.0, 1.0 - 2 * a], [(1.0 - 3 * a) / 2, a]]
    u2 = [[1.0 - 2 * a, (a + 1.0) / 2], [(7.0 - 3 * a) / 4, 2.0 - 3 * a]]
    return np.array([u1, u2])


def alpha_game(alpha: float) -> MarkovGame:
    """The 2x2 game of the alpha family (module docstring); alpha = 0 is :func:`toy_game`."""
    if not 0.0 <= float(alpha) <= 1.0:
        raise InputError(f"alpha must lie in [0, 1], got {alpha!r}")
    return matrix_game(alpha_payoffs(alpha))


def mixed_profile(x) -> list[np.ndarray]:
    """The profile [[1 - x_1, x_1]], ..., [[1 - x_N, x_N]] of a one-state game with two actions each."""
    return [np.array([[1.0 - xi, xi]]) for xi in np.asarray(x, dtype=float).reshape(-1)]


class MixedQuadraticPotential(PotentialFamily):
    """Phi_p(x) = -sum_i (x_i - p_i)^2, x_i = P(player i plays its second action), theta = p (N,).

    The potential of the authors' closed-form alpha-family script: a function of the mixed
    strategies of a one-state game where every player has two actions. Its maximizer over
    [0, 1]^N, the cooperative solution, is x = clip(p, 0, 1) (no temperature needed: it moves
    continuously with p).

    Examples
    --------
    >>> g = alpha_game(1.0)                    # matching pennies
    >>> pot = MixedQuadraticPotential(2)
    >>> [p.tolist() for p in pot.cooperative(g, [0.5, 0.25])]
    [[[0.5, 0.5]], [[0.75, 0.25]]]
    """

    maximize = True

    def __init__(self, n_players: int = 2):
        self.dim = int(n_players)

    def __repr__(self) -> str:
        return f"MixedQuadraticPotential(n_players={self.dim})"

    def _check(self, game):
        if not isinstance(game, MarkovGame) or game.n_states != 1 or set(game.n_actions) != {2} \
                or game.n_players != self.dim:
            raise InputError(f"game: the mixed quadratic potential needs a one-state game of {self.dim} players "
                             f"with two actions each, got {game!r}")

    def value(self, game, theta, profiles, **ctx) -> np.ndarray:
        self._check(game)
        p = np.asarray(theta, dtype=float)
        x = np.array([[pi[0, 1] for pi in prof] for prof in profiles])  # (B, N)
        return -((x - p) ** 2).sum(-1)

    def cooperative(self, game, theta, *, temperature: float = 0.0, **ctx):
        self._check(game)
        return mixed_profile(np.clip(np.asarray(theta, dtype=float), 0.0, 1.0))


def interior_equilibrium(payoffs) -> tuple[float, float] | None:
    """The fully mixed Nash equilibrium (x, y) = (P(A2), P(B2)) of a 2x2 game, or None if it has none.

    Each player's mix makes the other indifferent:
    y = (u1[0,0] - u1[1,0]) / (u1[0,0] - u1[1,0] - u1[0,1] + u1[1,1]) and the same for x with u2.
    """
    u1, u2 = np.asarray(payoffs, dtype=float)
    dy = u1[0, 0] - u1[1, 0] - u1[0, 1] + u1[1, 1]
    dx = u2[0, 0] - u2[0, 1] - u2[1, 0] + u2[1, 1]
    if dy == 0 or dx == 0:
        return None
    y = (u1[0, 0] - u1[1, 0]) / dy
    x = (u2[0, 0] - u2[0, 1]) / dx
    return (float(x), float(y)) if 0 < x < 1 and 0 < y < 1 else None


@dataclass(frozen=True)
class LQDemo:
    """The LQ demo: ``game`` (infinite-horizon LQGame), ``potential``, ``theta0``, ``context``
    (``{"x0_cov": Sigma0}``), the exact Nash equilibrium ``K_nash`` (m, n) from ``lq_nash`` and
    ``settings``, the keyword arguments of :func:`~gamesolve.neppo` it is run with."""

    game: object
    potential: PotentialFamily
    theta0: np.ndarray
    context: dict
    K_nash: np.ndarray
    settings: dict


def lq_demo() -> LQDemo:
    """[MA-GPS] appendix A's game with the potential costs of :func:`~gamesolve.potential.lq.weighted_costs`.

    The start theta0 = 0 is the equal-weight (cooperative, summed-cost) potential. The search
    settings (200 iterations of 4 directions, eta_t = 20 / sqrt(t + 1), delta = 0.1) take the
    step in theta to the scale of the gaps (about 1e-2 here).
    """
    from ..examples import lq_example
    from ..lq import lq_game, lq_nash
    from .lq import weighted_costs

    ex = lq_example()
    game = lq_game(ex.A, ex.B, ex.Q, ex.R)
    potential = weighted_costs(game)
    return LQDemo(game=game, potential=potential, theta0=np.zeros(potential.dim),
                  context={"x0_cov": ex.Sigma0}, K_nash=lq_nash(game).K,
                  settings={"iterations": 200, "directions": 4, "step": 20.0, "delta": 0.1})
