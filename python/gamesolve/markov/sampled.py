"""Sample-based (REINFORCE-style) estimates for the softmax learners.

Episodes start from s_0 ~ mu and follow the product policy for 2H steps (H the horizon).
With the discounted return G^i_t = sum_{l >= t} gamma^(l-t) r^i(s_l, a_l) (truncated at 2H):

* the REINFORCE gradient of V^i(mu) in theta^i, averaged over E episodes,
  g^i(s, b) = mean_e sum_{t < H} gamma^t G^i_t 1[s_t = s] (1[a^i_t = b] - pi^i(b|s));
* every-visit Monte-Carlo advantages A^i(s, b) = mean G^i_t over visits of (s, a^i = b)
  minus mean G^i_t over visits of s (t < H; 0 where unvisited);
* the value V^i(mu) = mean_e G^i_0.

H defaults to the smallest H with gamma^H <= 1e-3 (1 when gamma = 0), so returns used for
t < H are truncated at relative error <= 1e-3. :func:`gamesolve.markov.learn` uses these with
``estimator="sample"``; its recorded Nash gap and POA stay exact.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from .game import MarkovGame

__all__ = ["simulate", "estimate", "Sampler"]


def default_horizon(gamma: float) -> int:
    """The smallest H with gamma^H <= 1e-3 (1 for gamma = 0)."""
    return 1 if gamma == 0 else int(np.ceil(np.log(1e-3) / np.log(gamma)))


def _draw(probs: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse-CDF draws: index of the first cumulative probability exceeding ``u``."""
    k = (np.cumsum(probs, axis=-1) < u[..., None]).sum(-1)
    return np.minimum(k, probs.shape[-1] - 1)


def simulate(game: MarkovGame, pol: np.ndarray, rng: np.random.Generator, episodes: int, steps: int):
    """Roll out ``episodes`` episodes of ``steps`` steps for each profile of a batch (B, N, S, A_max).

    Returns ``(states, actions, rewards)``: (steps, B, E) ints, (steps, B, E, N) ints and
    (steps, B, E, N) floats.
    """
    lay = game.joint
    B, N = pol.shape[:2]
    strides = np.array([int(np.prod(game.n_actions[i + 1:])) for i in range(N)])
    states = np.empty((steps, B, episodes), dtype=np.intp)
    actions = np.empty((steps, B, episodes, N), dtype=np.intp)
    rewards = np.empty((steps, B, episodes, N))
    s = _draw(game.mu, rng.random((B, episodes)))
    rows = np.arange(B)[:, None]
    for t in range(steps):
        probs = pol[rows, :, s]  # (B, E, N, A_max)
        a = _draw(probs, rng.random((B, episodes, N)))
        joint = a @ strides
        states[t], actions[t] = s, a
        rewards[t] = np.moveaxis(lay.r[:, s, joint], 0, -1)
        s = _draw(lay.P[s, joint], rng.random((B, episodes)))
    return states, actions, rewards


def returns(rewards: np.ndarray, gamma: float) -> np.ndarray:
    """Discounted returns-to-go G_t = r_t + gamma G_{t+1} (truncated at the end), same shape."""
    G = np.empty_like(rewards)
    acc = np.zeros_like(rewards[0])
    for t in range(len(rewards) - 1, -1, -1):
        acc = rewards[t] + gamma * acc
        G[t] = acc
    return G


def estimate(game: MarkovGame, pol: np.ndarray, rng: np.random.Generator, *, episodes: int = 32,
             horizon: int | None = None):
    """REINFORCE gradient, Monte-Carlo advantage and value of a batch of profiles (B, N, S, A_max).

    Returns
    -------
    grad : (B, N, S, A_max); adv : (B, N, S, A_max); value : (B, N)
        See the module docstring.
    """
    H = default_horizon(game.gamma) if horizon is None else int(horizon)
    if H < 1 or episodes < 1:
        raise InputError(f"episodes and horizon must be positive, got {episodes} and {H}")
    B, N, S, K = pol.shape
    states, actions, rewards = simulate(game, pol, rng, episodes, 2 * H)
    G = returns(rewards, game.gamma)[:H]  # (H, B, E, N)
    s, a = states[:H], actions[:H]
    # flat (b, i, s, k) and (b, i, s) indices of every visit
    b_i = (np.arange(B)[None, :, None, None] * N + np.arange(N)) * S  # (1, B, 1, N)
    sidx = b_i + s[..., None]  # (H, B, E, N)
    kidx = sidx * K + a
    disc = game.gamma ** np.arange(H)[:, None, None, None] * G
    n_s, n_sk = B * N * S, B * N * S * K
    grad = (np.bincount(kidx.ravel(), disc.ravel(), n_sk).reshape(B, N, S, K)
            - np.bincount(sidx.ravel(), disc.ravel(), n_s).reshape(B, N, S, 1) * pol) / episodes
    cnt_sk = np.bincount(kidx.ravel(), minlength=n_sk).reshape(B, N, S, K)
    cnt_s = np.bincount(sidx.ravel(), minlength=n_s).reshape(B, N, S, 1)
    q = np.bincount(kidx.ravel(), G.ravel(), n_sk).reshape(B, N, S, K) / np.maximum(cnt_sk, 1)
    v = np.bincount(sidx.ravel(), G.ravel(), n_s).reshape(B, N, S, 1) / np.maximum(cnt_s, 1)
    adv = np.where(cnt_sk > 0, q - v, 0.0)
    return grad, adv, G[0].mean(1)


class Sampler:
    """The learners' estimator interface backed by simulation (``estimator="sample"``)."""

    def __init__(self, game: MarkovGame, rng: np.random.Generator, *, episodes: int, horizon: int | None):
        self.game, self.rng, self.episodes, self.horizon = game, rng, int(episodes), horizon
        if self.episodes < 1:
            raise InputError(f"episodes must be a positive integer, got {episodes}")

    def estimates(self, game, pol):
        """(gradient, advantage, value) sampled from episodes (always all three: same random stream)."""
        return estimate(game, pol, self.rng, episodes=self.episodes, horizon=self.horizon)

    def _unilateral(self, pol, pol_k):
        """Profiles (B N, N, S, A_max): profile (b, i) is pol[b] with player i playing pol_k[b, i]."""
        B, N = pol.shape[:2]
        prof = np.repeat(pol[:, None], N, axis=1)  # (B, N_profile, N, S, K)
        idx = np.arange(N)
        prof[:, idx, idx] = pol_k[:, idx]
        return prof.reshape((B * N,) + pol.shape[1:])

    def _diagonal(self, x, B, N):
        x = x.reshape((B, N, N) + x.shape[2:])
        return x[:, np.arange(N), np.arange(N)]

    def induced_advantage(self, game, pol, pol_k):
        B, N = pol.shape[:2]
        _, adv, _ = estimate(game, self._unilateral(pol, pol_k), self.rng, episodes=self.episodes,
                             horizon=self.horizon)
        return self._diagonal(adv, B, N)

    def induced_value(self, game, pol, pol_k):
        B, N = pol.shape[:2]
        _, _, value = estimate(game, self._unilateral(pol, pol_k), self.rng, episodes=self.episodes,
                               horizon=self.horizon)
        return self._diagonal(value, B, N)
