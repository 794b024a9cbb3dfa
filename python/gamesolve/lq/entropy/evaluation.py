"""Policy value, exact best response and epsilon (the Nash gap) of linear-Gaussian profiles.

This is the entropy-regularized family's implementation of the equilibrium protocol
(:mod:`gamesolve.equilibrium`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from ... import equilibrium
from ..._validate import as_float_array, check_shape
from ...errors import InputError
from ...results import Info, Status, summary
from .game import EntropyLQGame
from .nash import EntropyLQSolution, _expected, _solve

__all__ = ["EpsilonReport", "entropy_policy_value", "entropy_best_response", "entropy_epsilon"]


def _logdet_blocks(game: EntropyLQGame, Sig_t: np.ndarray, what: str) -> np.ndarray:
    out = np.empty(game.N)
    for i, sl in enumerate(game.slices):
        sign, ld = np.linalg.slogdet(Sig_t[sl, sl])
        if sign <= 0:
            raise InputError(f"{what}: player {i}'s covariance block must be positive definite")
        out[i] = ld
    return out


def _evaluate_stage(game, t, Rs_t, K_t, Sig_t, P_next, p_next):
    """One step of the policy-value recursion (Zaman et al. eq. 24, our sign):

    P_t^i = Q_t^i + K'R~^i K + F'P_{t+1}^i F,  F = A - B K,
    p_t^i = p_{t+1}^i + <R~^i, Sigma> - tau/2 (m_i + log det Sigma^i) + <W + B Sigma B', P_{t+1}^i>.
    """
    A, B = game.A[t], game.B[t]
    F = A - B @ K_t
    P = game.Q[t] + np.einsum("ak,iab,bl->ikl", K_t, Rs_t, K_t) + F.T @ P_next @ F
    P = 0.5 * (P + np.swapaxes(P, -1, -2))
    Om = game.W[t] + B @ Sig_t @ B.T
    ld = _logdet_blocks(game, Sig_t, f"Sigma[{t}]")
    p = (p_next + np.einsum("iab,ab->i", Rs_t, Sig_t)
         - 0.5 * game.tau * (np.asarray(game.dims) + ld) + np.einsum("ab,iab->i", Om, P_next))
    return P, p


def _profile(game: EntropyLQGame, K, Sigma) -> tuple[np.ndarray, np.ndarray]:
    T, n, m = game.T, game.n, game.m
    K = as_float_array("K", K, ndim=3)
    check_shape("K", K, (T, m, n))
    Sigma = as_float_array("Sigma", Sigma, ndim=3)
    check_shape("Sigma", Sigma, (T, m, m))
    return K, Sigma


def entropy_policy_value(game: EntropyLQGame, K, Sigma) -> tuple[np.ndarray, np.ndarray]:
    """Value of a linear-Gaussian profile u^i ~ N(-K_t^i x, Sigma_t^i) (Zaman et al. eq. 24).

    Parameters
    ----------
    game : EntropyLQGame
    K : (T, m, n) array_like
    Sigma : (T, m, m) array_like, block-diagonal (off-diagonal blocks are ignored), PD blocks

    Returns
    -------
    P : (T+1, N, n, n) array
    p : (T+1, N) array
        x'P_t^i x + p_t^i is player i's expected cost-to-go from x at stage t,
        KL term included.
    """
    T, N, n = game.T, game.N, game.n
    K, Sigma = _profile(game, K, Sigma)
    Sig = np.zeros_like(Sigma)
    for sl in game.slices:
        Sig[:, sl, sl] = Sigma[:, sl, sl]
    Rs = game.shifted_R()
    P = np.empty((T + 1, N, n, n))
    p = np.empty((T + 1, N))
    P[T], p[T] = game.QT, 0.0
    for t in range(T - 1, -1, -1):
        P[t], p[t] = _evaluate_stage(game, t, Rs[t], K[t], Sig[t], P[t + 1], p[t + 1])
    return P, p


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.flags.writeable = False
    return a


def entropy_best_response(game: EntropyLQGame, K, Sigma, player: int) -> EntropyLQSolution:
    """Exact best response of ``player`` to the others' linear-Gaussian policies.

    Against u^j ~ N(-K^j x, Sigma^j), j != i, the best response is linear
    Gaussian; it is the N = 1 entropy-regularized game with folded data

        A_t -> A_t - B^{-i}K^{-i},   Q^i -> Q^i + K^{-i}'R^i_{[-i,-i]}K^{-i},
        W_t -> W_t + B^{-i}Sigma^{-i}B^{-i}',

    plus the constant tr(R^i_{[-i,-i]} Sigma_t^{-i}) per stage, solved by the
    C++ recursion of :func:`entropy_lq_nash`. Returns an
    :class:`EntropyLQSolution` of that one-player game whose ``P``, ``p``
    (shape (T+1, 1, n, n), (T+1, 1)) are player i's optimal expected
    cost-to-go in the original game.
    """
    if not 0 <= int(player) < game.N:
        raise InputError(f"player must be in [0, {game.N}), got {player}")
    i = int(player)
    K, Sigma = _profile(game, K, Sigma)
    sl = game.slices[i]
    mask = np.ones(game.m, bool)
    mask[sl] = False
    Bo, Ko = game.B[:, :, mask], K[:, mask, :]
    So = np.zeros((game.T,) + (game.m - (sl.stop - sl.start),) * 2)  # the others' diagonal blocks
    off = 0
    for j, sj in enumerate(game.slices):
        if j != i:
            w = sj.stop - sj.start
            So[:, off:off + w, off:off + w] = Sigma[:, sj, sj]
            off += w
    Ro = game.R[:, i][:, mask][:, :, mask]
    Q_hat = game.Q[:, i] + np.swapaxes(Ko, 1, 2) @ Ro @ Ko
    W_hat = game.W + Bo @ So @ np.swapaxes(Bo, 1, 2)
    const = np.einsum("tab,tab->t", Ro, So)
    sub = replace(game.lq, dims=(sl.stop - sl.start,), A=_frozen(game.A - Bo @ Ko), B=_frozen(game.B[:, :, sl]),
                  Q=_frozen(0.5 * (Q_hat + np.swapaxes(Q_hat, 1, 2))[:, None]),
                  R=_frozen(game.R[:, i:i + 1, sl, sl]), QT=_frozen(game.QT[i:i + 1]))
    sol = _solve(EntropyLQGame(sub, game.tau, _frozen(0.5 * (W_hat + np.swapaxes(W_hat, 1, 2)))))
    tail = np.concatenate([np.cumsum(const[::-1])[::-1], [0.0]])
    return replace(sol, p=sol.p + tail[:, None])


def _value(game: EntropyLQGame, profile, *, x0=None, x0_cov=None) -> np.ndarray:
    """Protocol: each player's expected cost of the profile (K, Sigma), shape (N,)."""
    P, p = entropy_policy_value(game, *profile)
    return _expected(P[0], p[0], x0, x0_cov)


def _best_response(game: EntropyLQGame, profile, player: int, *, x0=None, x0_cov=None):
    """Protocol: ((K^i, Sigma^i), expected cost) of player ``player``'s exact best response."""
    br = entropy_best_response(game, *profile, player)
    return (br.K, br.Sigma), float(_expected(br.P[0, 0], br.p[0, 0], x0, x0_cov))


equilibrium.register(EntropyLQGame, equilibrium.Family("entropy-regularized LQ game", _value, _best_response))


@dataclass(frozen=True, repr=False)
class EpsilonReport:
    """How far a linear-Gaussian profile is from Nash in a given game.

    Attributes
    ----------
    epsilon : float
        max_i gains[i], the Nash gap (the profile is an epsilon-Nash equilibrium).
    gains : (N,) array
        Expected-cost reduction of each player's exact best response.
    costs : (N,) array
        Expected costs of the profile.
    best_costs : (N,) array
        Expected costs after each player's unilateral best response.
    status : Status
        ``solved`` (exact best responses, no iteration).
    info : Info
        The wall time.
    """

    epsilon: float
    gains: np.ndarray
    costs: np.ndarray
    best_costs: np.ndarray
    status: Status = Status.SOLVED
    info: Info = Info()

    def __repr__(self) -> str:
        return summary("EpsilonReport", self.status, dict(epsilon=self.epsilon, gains=self.gains))


def entropy_epsilon(game: EntropyLQGame, K, Sigma, *, x0=None, x0_cov=None, _costs=None) -> EpsilonReport:
    """Epsilon of a linear-Gaussian profile in ``game`` (Zaman et al. Thm. IV.3): its Nash gap.

    gain_i = J^i(profile) - J^i(best response of i, others fixed), with
    J = E[x0'P_0 x0] + p_0 for x0 ~ (x0, x0_cov); ``x0=None`` with
    ``x0_cov=None`` means x0 ~ N(0, I); ``x0`` given without ``x0_cov`` is a
    fixed initial state. The gains are :func:`gamesolve.equilibrium.player_gaps`
    of this family (exact best responses, :func:`entropy_best_response`), so they
    are >= 0 up to round-off and zero at a Nash equilibrium.
    """
    t0 = time.perf_counter()
    profile = _profile(game, K, Sigma)
    costs = equilibrium.policy_value(game, profile, x0=x0, x0_cov=x0_cov) if _costs is None else _costs
    gains = equilibrium.player_gaps(game, profile, values=costs, x0=x0, x0_cov=x0_cov)
    return EpsilonReport(float(gains.max()), gains, costs, costs - gains, Status.SOLVED,
                         Info(time=time.perf_counter() - t0))
