"""Finite Markov games: the data, validated once, and the Coordination Game.

Notation (``docs/markov.md``): N players, S states, player i has A_i actions; a joint
action a = (a_1, ..., a_N) is indexed row-major (player 1 most significant), A = prod A_i.

* ``P`` (S, A_1, ..., A_N, S): P(s' | s, a), every row a distribution;
* ``r`` (N, S, A_1, ..., A_N): player i's reward r^i(s, a);
* ``gamma`` in [0, 1): the discount; ``mu`` (S,): the initial distribution.

A normal-form game is the case S = 1, gamma = 0. A policy profile is a list of N arrays
(S, A_i) (or (B, S, A_i) for a batch of B profiles) whose rows lie on the simplex.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from .._validate import as_float_array, check_shape
from ..errors import InputError

__all__ = ["MarkovGame", "coordination_game", "coordination_reward"]

#: Rows of P and policies must sum to 1 within this tolerance (absolute, per row).
SIMPLEX_TOL = 1e-9


def _check_distributions(name: str, arr: np.ndarray) -> None:
    """Raise unless ``arr`` is entrywise non-negative and sums to 1 along its last axis."""
    if np.any(arr < 0):
        bad = tuple(int(i) for i in np.argwhere(arr < 0)[0])
        raise InputError(f"{name} must be non-negative (probabilities), found {arr[bad]:.3g} at index {bad}")
    err = np.abs(arr.sum(axis=-1) - 1.0)
    if np.any(err > SIMPLEX_TOL):
        bad = tuple(int(i) for i in np.argwhere(err > SIMPLEX_TOL)[0])
        raise InputError(f"{name} rows must sum to 1 (lie on the simplex); the row at index {bad} "
                         f"sums to {arr[bad].sum():.12g}")


class MarkovGame:
    """A finite discounted Markov game, validated once at construction.

    Parameters
    ----------
    P : (S, A_1, ..., A_N, S) array_like
        Transition probabilities P(s' | s, a); each row (last axis) a distribution.
    r : (N, S, A_1, ..., A_N) array_like
        Rewards r^i(s, a) of each player (players maximize).
    gamma : float
        Discount in [0, 1).
    mu : (S,) array_like, optional
        Initial state distribution (default uniform).

    Raises
    ------
    InputError
        Naming ``P``, ``r``, ``gamma`` or ``mu``: wrong shapes, mismatched action counts,
        non-finite entries, negative probabilities, rows not summing to 1, gamma outside [0, 1).

    Notes
    -----
    Player i's value of a product policy pi (pi(a|s) = prod_i pi^i(a_i|s)) is
    V^i(mu) = E[sum_t gamma^t r^i(s_t, a_t)], s_0 ~ mu.

    Examples
    --------
    A one-state (normal-form) coordination game, gamma = 0:

    >>> import numpy as np
    >>> g = MarkovGame(np.ones((1, 2, 2, 1)), np.stack([np.eye(2)[None]] * 2), gamma=0.0)
    >>> g.n_players, g.n_states, g.n_actions
    (2, 1, (2, 2))
    """

    def __init__(self, P, r, *, gamma, mu=None):
        P = as_float_array("P", P)
        if P.ndim < 3:
            raise InputError(f"P must have shape (S, A_1, ..., A_N, S) with at least 3 dimensions, got {P.shape}")
        S, actions = P.shape[0], tuple(int(a) for a in P.shape[1:-1])
        if P.shape[-1] != S:
            raise InputError(f"P must have shape (S, A_1, ..., A_N, S) with the same S first and last, got {P.shape}")
        if S == 0 or min(actions) == 0:
            raise InputError(f"P must have at least one state and one action per player, got shape {P.shape}")
        _check_distributions("P", P)
        N = len(actions)
        r = as_float_array("r", r)
        if r.shape[:2] != (N, S) or r.shape[2:] != actions:
            raise InputError(f"r must have shape (N, S, A_1, ..., A_N) = {(N, S, *actions)} to match P "
                             f"(action counts {actions}), got {r.shape}")
        try:
            gamma = float(gamma)
        except (TypeError, ValueError):
            raise InputError(f"gamma must be a number in [0, 1), got {gamma!r}") from None
        if not 0.0 <= gamma < 1.0:
            raise InputError(f"gamma must lie in [0, 1), got {gamma}")
        mu = np.full(S, 1.0 / S) if mu is None else as_float_array("mu", mu, ndim=1)
        check_shape("mu", mu, (S,))
        _check_distributions("mu", mu)
        for name, arr in (("P", P), ("r", r), ("mu", mu)):
            arr = arr.copy()
            arr.flags.writeable = False
            setattr(self, name, arr)
        self.gamma = gamma
        self.n_players, self.n_states, self.n_actions = N, S, actions

    def __repr__(self) -> str:
        return (f"MarkovGame(N={self.n_players}, S={self.n_states}, actions={self.n_actions}, "
                f"gamma={self.gamma})")

    # ---- flat views used by the kernels (computed once) -------------------------------------
    @cached_property
    def joint(self) -> _JointLayout:
        """The joint-action layout: flattened P, r and per-player action indices (internal)."""
        return _JointLayout(self)


class _JointLayout:
    """Flat arrays for vectorized kernels; padded to A_max = max_i A_i actions per player.

    Attributes: ``P`` (S, A, S), ``r`` (N, S, A), ``P_flat`` (S A, S), ``PR`` (S, A, S + N) P and r
    side by side, ``optimum`` the cached optimal welfare, ``kernel`` the compiled kernel (built on first
    use), ``index`` (N, A) player i's action in joint
    action a, ``onehot`` (N, A, A_max) the same as indicator rows, ``selector`` (N, S, A_max, A) its
    transpose repeated over states, ``mask`` (N, A_max) true for
    real actions, ``square`` true when no player's actions are padded, ``team`` when all r^i are equal.
    """

    def __init__(self, game: MarkovGame):
        N, S, actions = game.n_players, game.n_states, game.n_actions
        A = int(np.prod(actions))
        self.A, self.A_max = A, max(actions)
        self.P = np.ascontiguousarray(game.P.reshape(S, A, S))
        self.r = np.ascontiguousarray(game.r.reshape(N, S, A))
        self.P_flat = self.P.reshape(S * A, S)
        self.PR = np.concatenate([self.P, np.moveaxis(self.r, 0, -1)], axis=-1)  # (S, A, S + N)
        self.optimum = None
        self.index = np.stack([g.ravel() for g in np.indices(actions)])  # (N, A)
        # flat index of pi^i(a_i|s) in a (N, S, A_max) policy stack, at each (i, s, joint action)
        self.factor_index = (np.arange(N)[:, None, None] * S * self.A_max + np.arange(S)[None, :, None] * self.A_max
                             + self.index[:, None, :])  # (N, S, A)
        self.onehot = (self.index[:, :, None] == np.arange(self.A_max)).astype(float)
        # onehot laid out (N, S, A_max, A) contiguously: a dense factor broadcasts fast against it
        self.selector = np.ascontiguousarray(np.broadcast_to(np.swapaxes(self.onehot, 1, 2)[:, None],
                                                             (N, S, self.A_max, A)))
        self.mask = np.arange(self.A_max)[None, :] < np.asarray(actions)[:, None]
        self.square = bool(self.mask.all())  # every player has A_max actions (no padding)
        self.team = bool(np.all(self.r == self.r[:1]))  # every player has the same reward
        self._kernel_args = (self.P, self.r, game.mu, list(actions), game.gamma)
        self._kernel = None

    def __getstate__(self) -> dict:  # pickle / deepcopy the arrays; the kernel is rebuilt on use
        return {**self.__dict__, "_kernel": None}

    @property
    def kernel(self):
        """The compiled kernel of this game (``gamesolve._core.MarkovKernel``), built on first use."""
        if self._kernel is None:
            from .. import _core

            self._kernel = _core.MarkovKernel(*self._kernel_args)
        return self._kernel


def coordination_reward(state_bits) -> float:
    """The team reward of the Coordination Game in a joint state (paper's appendix G.1).

    ``state_bits``: the N local states (0 or 1). With n0 zeros and n1 ones and bound b = 1
    for N <= 3, else 2: reward 1 if |n0 - n1| <= b and n0 < n1; 0 if |n0 - n1| <= b
    otherwise; 3 if n0 > n1 beyond the bound; 2 if n1 > n0 beyond it.
    """
    bits = list(state_bits)
    n0, n1 = bits.count(0), bits.count(1)
    bound = 1 if len(bits) <= 3 else 2
    if abs(n0 - n1) <= bound:
        return 1.0 if n0 < n1 else 0.0
    return 3.0 if n0 > n1 else 2.0


def coordination_game(n_players: int, *, eps: float = 0.1, gamma: float = 0.95) -> MarkovGame:
    """The Coordination Game of Chen, Zhang and Doan (appendix G.1): N agents, 2^N states.

    Each agent i has a local state s^i in {0, 1} and actions {0, 1}; local transitions are
    independent across agents and of the current state:
    P(s^i' = 0 | a^i = 0) = 1 - eps, P(s^i' = 0 | a^i = 1) = eps. The joint state is
    s = sum_i s^i 2^(N-1-i) (agent 1 is the most significant bit). All agents share the reward
    :func:`coordination_reward` of the current state (independent of the actions); mu is
    uniform.

    Parameters
    ----------
    n_players : int
        N >= 1.
    eps : float
        Transition noise in [0, 1].
    gamma : float
        Discount in [0, 1).

    Returns
    -------
    MarkovGame
        P (2^N, 2, ..., 2, 2^N), r (N, 2^N, 2, ..., 2).

    Examples
    --------
    >>> g = coordination_game(2)
    >>> g.r[0, :, 0, 0].tolist()      # states 00, 01, 10, 11
    [3.0, 0.0, 0.0, 2.0]
    """
    if not isinstance(n_players, (int, np.integer)) or n_players < 1:
        raise InputError(f"n_players must be a positive integer, got {n_players!r}")
    if not 0.0 <= eps <= 1.0:
        raise InputError(f"eps must lie in [0, 1], got {eps}")
    N, S = int(n_players), 2 ** int(n_players)
    local = np.array([[1 - eps, eps], [eps, 1 - eps]])  # local[a_i, s_i'] = P(s_i' | a_i)
    bits = (np.arange(S)[:, None] >> np.arange(N - 1, -1, -1)) & 1  # (S, N), player 1 = MSB
    # P(s' | a) = prod_i local[a_i, bit_i(s')], as an (A_1, ..., A_N, S) table.
    Pa = np.ones((2,) * N + (S,))
    for i in range(N):
        shape = [1] * N + [S]
        shape[i] = 2
        Pa = Pa * local[:, bits[:, i]].reshape(shape)
    P = np.broadcast_to(Pa, (S,) + Pa.shape)
    reward = np.array([coordination_reward(b.tolist()) for b in bits])
    r = np.broadcast_to(reward.reshape((1, S) + (1,) * N), (N, S) + (2,) * N)
    return MarkovGame(P, r, gamma=gamma)
