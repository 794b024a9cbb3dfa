"""The papers' games, as SPEC 10 defines them.

All games use dt = 0.1 and per-player state blocks concatenated in player order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["LQExample", "lq_example"]


@dataclass(frozen=True)
class LQExample:
    """A time-invariant LQ game with a distribution of initial states.

    Attributes
    ----------
    A : (n, n) array
    B : list of N (n, m_i) arrays
    Q : (N, n, n) array
    R : list of N (m_i, m_i) arrays (own-control weights)
    dims : tuple of int
    x0s : (K, n) array, the support of the initial-state distribution
    probs : (K,) array, its probabilities
    """

    A: np.ndarray
    B: list
    Q: np.ndarray
    R: list
    dims: tuple
    x0s: np.ndarray
    probs: np.ndarray

    @property
    def x0(self) -> np.ndarray:
        """The first support point of the initial-state distribution."""
        return self.x0s[0]

    @property
    def Sigma0(self) -> np.ndarray:
        """E[x0 x0'] under the initial-state distribution, (n, n)."""
        return np.einsum("k,ki,kj->ij", self.probs, self.x0s, self.x0s)


def lq_example() -> LQExample:
    """Paper 000 appendix A: a two-player, two-state general-sum LQ game (SPEC 10).

    A = [[0.588, 0.028], [0.570, 0.056]], B^1 = [1, 0.1]', B^2 = [0, 1]',
    Q^1 = diag(0.01, 1), Q^2 = diag(1, 0.0147), R^1 = R^2 = 0.01,
    x0 = [1, 1] or [1, 1.1] with probability 1/2 each.
    """
    return LQExample(
        A=np.array([[0.588, 0.028], [0.570, 0.056]]),
        B=[np.array([[1.0], [0.1]]), np.array([[0.0], [1.0]])],
        Q=np.array([np.diag([0.01, 1.0]), np.diag([1.0, 0.0147])]),
        R=[np.array([[0.01]]), np.array([[0.01]])],
        dims=(1, 1),
        x0s=np.array([[1.0, 1.0], [1.0, 1.1]]),
        probs=np.array([0.5, 0.5]),
    )
