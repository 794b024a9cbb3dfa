"""Potentials of finite Markov and normal-form games: a common reward table and its cooperative solution.

Notation of :mod:`gamesolve.markov.game` (S states, player i with A_i actions, joint actions
a indexed row-major, discount gamma, initial distribution mu; a normal-form game is S = 1,
gamma = 0). A reward potential is a table Phi_theta(s, a) of shape (S, A_1, ..., A_N); its
value of a product policy pi is the discounted return of the common reward,
Phi_theta(pi) = mu' (I - gamma P_pi)^{-1} Phi_pi.

The cooperative solution (:func:`team_policy`) maximizes that return over joint policies:

* temperature tau = 0: the optimal deterministic joint action in every state (policy
  iteration on the joint MDP, :func:`gamesolve.markov.exact.policy_iteration`, started from the
  greedy actions; ties go to the first joint action) -- a product of one-hot policies, hence
  the exact maximizer over product policies too;
* tau > 0: the entropy-regularized (soft) optimum of the joint MDP, by soft value iteration
  V(s) = tau log sum_a exp((Phi(s, a) + gamma sum_s' P(s'|s, a) V(s')) / tau), the joint
  policy pi(a|s) proportional to exp(Q(s, a) / tau) (the logit response), returned as each
  player's marginal pi^i(a_i|s). It tends to the tau = 0 solution as tau -> 0 (without ties)
  and moves continuously with theta, which the zeroth-order search needs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import InputError, SolveError
from ..markov.exact import as_profile, best_responses, evaluate, factors, policy_iteration
from ..markov.game import MarkovGame
from .family import PotentialFamily, register_deviation, register_responses

__all__ = ["RewardPotential", "team_policy", "common_value", "weighted_rewards"]

#: Soft value iteration stops when the sup-norm change is below this (relative to |V|).
SOFT_VI_TOL = 1e-12
SOFT_VI_MAX_ITER = 100_000


class RewardPotential(PotentialFamily):
    """A potential given as a common reward table: ``reward(theta) -> (S, A_1, ..., A_N)``.

    Parameters
    ----------
    reward : callable ``theta -> array``
        The table Phi_theta(s, a); for a one-state game the state axis may be left out.
    dim : int, optional
        The size of theta.

    Examples
    --------
    The toy game's family Phi_w = w r^1 + (1 - w) r^2:

    >>> from gamesolve.potential import games
    >>> g = games.toy_game()
    >>> pot = RewardPotential(lambda th: th[0] * g.r[0] + (1 - th[0]) * g.r[1], dim=1)
    >>> [p.argmax(-1).tolist() for p in pot.cooperative(g, [0.8])]     # (A1, B1)
    [[0], [0]]
    """

    maximize = True

    def __init__(self, reward: Callable, dim: int | None = None):
        self.reward = reward
        self.dim = dim

    def __repr__(self) -> str:
        return f"RewardPotential({getattr(self.reward, '__name__', 'reward')}, dim={self.dim})"

    def table(self, game: MarkovGame, theta) -> np.ndarray:
        """Phi_theta as a flat (S, A) table (joint actions row-major), checked.

        Raises
        ------
        InputError
            Naming ``potential``: a wrong shape or non-finite entries.
        """
        want = (game.n_states, *game.n_actions)
        try:
            r = np.asarray(self.reward(np.asarray(theta, dtype=float)), dtype=float)
        except (TypeError, ValueError) as exc:
            raise InputError(f"potential(theta) must return a real array of shape {want}: {exc}") from None
        if r.shape != want and not (game.n_states == 1 and r.shape == want[1:]):
            raise InputError(f"potential(theta) must return the reward table of shape (S, A_1, ..., A_N) = {want}, "
                             f"got {r.shape}")
        if not np.all(np.isfinite(r)):
            raise InputError(f"potential(theta) must be finite, found NaN or inf at theta = "
                             f"{np.asarray(theta).tolist()}")
        return r.reshape(game.n_states, game.joint.A)

    def value(self, game, theta, profiles, **ctx) -> np.ndarray:
        return common_value(game, profiles, self.table(game, theta))

    def cooperative(self, game, theta, *, temperature: float = 0.0, **ctx):
        return team_policy(game, self.table(game, theta), temperature)


def weighted_rewards(game: MarkovGame) -> RewardPotential:
    """Phi_theta = sum_i w_i r^i with softmax weights w = softmax(theta), theta (N,).

    The family of [NePPO] section 3.2 with one parameter per player; equal thetas give the
    (scaled) sum of the rewards that a cooperative learner maximizes.
    """
    r = game.r  # (N, S, A_1, ..., A_N)

    def reward(theta):
        w = np.exp(theta - np.max(theta))
        return np.tensordot(w / w.sum(), r, axes=1)

    return RewardPotential(reward, dim=game.n_players)


def common_value(game: MarkovGame, profiles, reward: np.ndarray) -> np.ndarray:
    """mu' (I - gamma P_pi)^{-1} reward_pi of each profile (the return of a common reward), (len(profiles),).

    ``reward``: (S, A) flat table; profiles: lists of N arrays (S, A_i).
    """
    pol = _stack(game, profiles)
    pi, _ = factors(game, pol)  # (B, S, A)
    r_pi = np.einsum("bsa,sa->bs", pi, reward)
    if game.gamma == 0.0:
        return r_pi @ game.mu
    P_pi = np.einsum("bsa,sat->bst", pi, game.joint.P)
    system = np.eye(game.n_states) - game.gamma * P_pi
    return np.linalg.solve(system, r_pi[..., None])[..., 0] @ game.mu


def _stack(game: MarkovGame, profiles) -> np.ndarray:
    """The padded stack (B, N, S, A_max) of B profiles (shapes checked; rows are not re-checked for the simplex)."""
    S, A_max = game.n_states, game.joint.A_max
    pol = np.zeros((len(profiles), game.n_players, S, A_max))
    for b, prof in enumerate(profiles):
        if len(prof) != game.n_players:
            raise InputError(f"policies must hold one policy per player ({game.n_players}), got {len(prof)}")
        for i, (p, a) in enumerate(zip(prof, game.n_actions)):
            pol[b, i, :, :a] = np.asarray(p, dtype=float).reshape(S, a)
    return pol


def _one_hot_profile(game: MarkovGame, joint_actions: np.ndarray) -> list[np.ndarray]:
    idx = game.joint.index[:, joint_actions]  # (N, S): each player's action in the chosen joint action
    return [(idx[i][:, None] == np.arange(a)).astype(float) for i, a in enumerate(game.n_actions)]


def team_policy(game: MarkovGame, reward: np.ndarray, temperature: float = 0.0) -> list[np.ndarray]:
    """The cooperative solution of the common reward ``reward`` (S, A) (module docstring): N arrays (S, A_i).

    Raises
    ------
    InputError
        If ``temperature`` is negative or not finite.
    SolveError
        If soft value iteration does not converge (cannot happen for gamma < 1 within its budget
        unless the numbers overflow).
    """
    tau = float(temperature)
    if not (np.isfinite(tau) and tau >= 0):
        raise InputError(f"temperature must be a finite number >= 0, got {temperature!r}")
    lay, gamma = game.joint, game.gamma
    if tau == 0.0:
        if gamma == 0.0:
            return _one_hot_profile(game, reward.argmax(-1))
        actions, _ = policy_iteration(lay.P, reward, gamma, np.ones(lay.A, bool), reward.argmax(-1))
        return _one_hot_profile(game, actions)
    V = np.zeros(game.n_states)
    for _ in range(SOFT_VI_MAX_ITER):
        Q = reward + gamma * (lay.P @ V) if gamma else reward
        top = Q.max(-1)
        V_new = top + tau * np.log(np.exp((Q - top[:, None]) / tau).sum(-1))
        done = gamma == 0.0 or np.max(np.abs(V_new - V)) <= SOFT_VI_TOL * (1.0 + np.max(np.abs(V_new)))
        V = V_new
        if done:
            break
    else:
        raise SolveError(f"soft value iteration did not converge in {SOFT_VI_MAX_ITER} iterations")
    Q = reward + gamma * (lay.P @ V) if gamma else reward
    joint = np.exp((Q - Q.max(-1, keepdims=True)) / tau)
    joint /= joint.sum(-1, keepdims=True)  # (S, A)
    marg = joint @ lay.onehot  # (N, S, A_max): each player's marginal
    return [marg[i, :, :a] for i, a in enumerate(game.n_actions)]


def _deviate(game, profile, player, strategy):
    out = list(profile)
    out[player] = strategy
    return out


def _responses(game, profiles):
    """Values and exact best responses of every player for a batch of profiles, in one evaluation."""
    pol, _ = as_profile(game, [np.stack([prof[i] for prof in profiles]) for i in range(game.n_players)])
    ev = evaluate(game, pol)
    actions, v_br = best_responses(game, ev)  # (B, N, S), (B, N)
    eyes = [np.eye(a) for a in game.n_actions]
    brs = [[(eyes[i][actions[b, i]], float(v_br[b, i])) for i in range(game.n_players)] for b in range(len(profiles))]
    return ev.value, brs


register_deviation(MarkovGame, _deviate)
register_responses(MarkovGame, _responses)
