"""Zaman et al. Algorithm 1: receding-horizon best-response sweeps (policy optimization)."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np

from ... import equilibrium
from ..._validate import int_option, real_option
from ...errors import NotConvexWarning
from ...results import Info, Status, summary
from .evaluation import _evaluate_stage, entropy_epsilon, entropy_policy_value
from .game import EntropyLQGame, _as_game, _check_entropy_scale
from .nash import _contraction, _expected, _solve

__all__ = ["EntropyPOResult", "entropy_po"]


@dataclass(frozen=True, repr=False)
class EntropyPOResult:
    """Output of Zaman et al. Algorithm 1 (receding-horizon best-response sweeps).

    Attributes
    ----------
    K : (T, m, n) array
        Mean gains (u^i ~ N(-K^i x, Sigma^i)).
    Sigma : (T, m, m) array
        Block-diagonal covariances.
    P : (T+1, N, n, n) array
        Value of the output profile in the original tau game.
    p : (T+1, N) array
    contraction : (T,) array
        Per-stage factor 2 gamma_B^2 max_i ||P_{t+1}^i||_F (N-1) / tau_solved, P_{t+1}
        as the algorithm computed it (Lemma IV.1: the sweep map contracts when < 1).
    rate : (T,) array
        The sweep map's actual asymptotic rate at each stage: the spectral radius of
        K -> D K (Psi_t is affine in K), <= contraction; the error falls like rate**L.
    assumption_holds : bool
        Assumption III.3 for the solved game (tau + delta), gamma_P^* from its exact
        Nash equilibrium.
    residual : (T,) array
        Fixed-point residual ||Psi_t(S_t) - S_t|| in the paper's norm
        sum_i ||K^i||_F + ||Sigma^i||_F after the last sweep.
    error : (T,) array
        ||S_t - S_t^*|| to the exact Nash of the solved game.
    error_total : float
        Sum of ``error`` (Thm. IV.2).
    epsilon : float
        Nash gap of the output in the original tau game (for the x0 given).
    gains : (N,) array
        Each player's gain from an exact unilateral best response.
    converged : bool
        ``status.ok``: every stage's residual <= tol.
    status : Status
        converged, max_iterations (L sweeps did not reach tol) or diverged (the sweeps
        overflowed at some stage; that stage and all earlier ones are NaN, epsilon is inf).
    iterations : int
        Sweeps per stage (L).
    info : Info
        L, the largest stage residual, the per-stage residuals and the wall time.
    tau, delta : float
        The algorithm solved the game with tau + delta.
    game : EntropyLQGame
        The original (tau) game.
    """

    K: np.ndarray
    Sigma: np.ndarray
    P: np.ndarray
    p: np.ndarray
    contraction: np.ndarray
    rate: np.ndarray
    assumption_holds: bool
    residual: np.ndarray
    error: np.ndarray
    error_total: float
    epsilon: float
    gains: np.ndarray
    converged: bool
    status: Status
    iterations: int
    info: Info
    tau: float
    delta: float
    game: EntropyLQGame

    def __repr__(self) -> str:
        return summary("EntropyPOResult", self.status, dict(sweeps=self.iterations, epsilon=self.epsilon,
                                                             error_total=self.error_total))

    def nash_gap(self, x0=None, *, x0_cov=None) -> float:
        """Nash gap of (K, Sigma) in the original tau game for x0 ~ (x0, x0_cov) (``epsilon`` for the x0 given)."""
        return equilibrium.nash_gap(self.game, (self.K, self.Sigma), x0=x0, x0_cov=x0_cov)


class _NotConvex(Exception):
    """Stage t's regularized problem of player i is unbounded below (entropy_po flags it: status not_convex)."""

    def __init__(self, t, i):
        super().__init__(t, i)
        self.t, self.i = t, i


def _sweep_map(game: EntropyLQGame, t: int, Rs_t: np.ndarray, P_next: np.ndarray):
    """Psi_t as an affine map of the stage-t gains, K <- E - D K, and the stage covariances.

    Row block i: K^i <- H_i^{-1} B^i'P^i (A - sum_{j!=i} B^j K^j), H_i = tau/2 I + R^{ii} + B^i'P^i B^i,
    so E_i = H_i^{-1} B^i'P^i A and D_i = H_i^{-1} B^i'P^i B with its own block zeroed;
    Sigma^i = tau/2 H_i^{-1} depends on P_{t+1} alone. Returns (E, D, Sigma).
    """
    A_t, B_t = game.A[t], game.B[t]
    m, n = game.m, game.n
    E, D, Sig = np.empty((m, n)), np.zeros((m, m)), np.zeros((m, m))
    for i, si in enumerate(game.slices):
        G = B_t[:, si].T @ P_next[i]
        H = Rs_t[i, si, si] + G @ B_t[:, si]
        try:
            c = np.linalg.cholesky(0.5 * (H + H.T))
        except np.linalg.LinAlgError:
            raise _NotConvex(t, i) from None
        Hinv = np.linalg.inv(c).T @ np.linalg.inv(c)
        E[si] = Hinv @ G @ A_t
        D[si] = Hinv @ G @ B_t
        D[si, si] = 0.0
        Sig[si, si] = 0.5 * game.tau * Hinv
    return E, D, Sig


def _sweeps(game: EntropyLQGame, E, D, K_start, L: int) -> tuple[np.ndarray, float]:
    """L sweeps K <- E - D K from K_start; the result and its fixed-point residual sum_i ||Psi(K)^i - K^i||_F."""
    K = K_start
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(L):
            K = E - D @ K
        nxt = E - D @ K
        return K, float(sum(np.linalg.norm(nxt[si] - K[si]) for si in game.slices))


def _check_sweep_options(sweeps, delta, tol) -> tuple[int, float, float]:
    return int_option("sweeps", sweeps, low=1), real_option("delta", delta, low=0.0), real_option("tol", tol, low=0.0)


def entropy_po(A, B=None, Q=None, R=None, *, tau=None, noise_cov=None, horizon=None, sweeps, QT=None,
               dims=None, delta=0.0, warm_start=False, tol=1e-10, x0=None, x0_cov=None,
               progress=False) -> EntropyPOResult:
    """Zaman et al. Algorithm 1: receding-horizon policy optimization with ``sweeps`` best-response sweeps.

    For t = T-1, ..., 0: given the policies of stages t+1..T-1 (and their
    values P_{t+1}^i from the Lyapunov recursion, eq. 24), apply the
    composite best-response map Psi_t ``sweeps`` times to the stage-t profile,
    starting from zero (or from stage t+1's gains with ``warm_start``):

        K^i <- (tau/2 I + R^{ii} + B^i'P^i B^i)^{-1} B^i'P^i (A - sum_{j!=i} B^j K^j)   (all i at once)
        Sigma^i = (I + 2 (R^{ii} + B^i'P^i B^i) / tau)^{-1}

    then evaluate stage t (eq. 24). With ``delta > 0`` the algorithm runs on
    the augmented game tau + delta (section IV-A) and the result's epsilon is
    measured in the original tau game.

    Parameters
    ----------
    A, B, Q, R, tau, noise_cov, horizon, QT, dims
        The game (see :func:`entropy_lq_game`); ``A`` may be an :class:`EntropyLQGame`.
    sweeps : int >= 1
        L, best-response sweeps per stage.
    delta : float >= 0
        Entropy augmentation.
    warm_start : bool
        Start each stage from the next stage's gains instead of zero (paper: zero).
    tol : float
        ``converged`` is True when every stage's fixed-point residual is <= tol.
    x0, x0_cov
        Initial-state distribution for epsilon (see :func:`entropy_epsilon`).
    progress : bool
        Print one line per stage.

    Returns
    -------
    EntropyPOResult

    Notes
    -----
    Lemma IV.1: Psi_t contracts (in sum_i ||K^i||_F + ||Sigma^i||_F) with factor
    2 gamma_B^2 gamma_{P,t} (N-1) / tau, gamma_B = max_{i,t} ||B_t^i||_F,
    gamma_{P,t} = max_i ||P_{t+1}^i||_F; then the error falls linearly in L
    (Thm. IV.2). The exact Nash equilibrium used for ``error`` comes from
    :func:`entropy_lq_nash`.

    Examples
    --------
    >>> import numpy as np, gamesolve as gs
    >>> A = np.array([[1.0, 0.2], [0.0, 0.95]])
    >>> B = [np.array([[0.3], [0.1]]), np.array([[0.0], [0.3]])]
    >>> game = gs.entropy_lq_game(A, B, [np.eye(2), np.eye(2)], [np.eye(1)] * 2, tau=1.0, horizon=8)
    >>> res = gs.entropy_po(game, sweeps=25)
    >>> res.status, bool(res.error_total < 1e-12), bool(res.epsilon < 1e-12)
    (<Status.CONVERGED: 'converged'>, True, True)
    """
    t_start = time.perf_counter()
    game = _as_game(A, B, Q, R, tau, noise_cov, horizon, QT, dims)
    L, delta, tol = _check_sweep_options(sweeps, delta, tol)
    _check_entropy_scale(game)
    solved = game.with_tau(game.tau + delta) if delta > 0 else game
    T, N, n, m = game.T, game.N, game.n, game.m
    Rs = solved.shifted_R()
    K, Sig = np.zeros((T, m, n)), np.zeros((T, m, m))
    P, p = np.empty((T + 1, N, n, n)), np.empty((T + 1, N))
    P[T], p[T] = game.QT, 0.0
    residual, rate = np.full(T, np.nan), np.full(T, np.nan)
    diverged_at, not_convex = None, False
    for t in range(T - 1, -1, -1):
        if not np.all(np.isfinite(P[t + 1])):
            diverged_at = t + 1
            break
        try:
            E, D, Sig[t] = _sweep_map(solved, t, Rs[t], P[t + 1])
        except _NotConvex as nc:
            warnings.warn(f"entropy_po: at stage t={nc.t} player {nc.i}'s regularized problem is unbounded below "
                          "(is Q or QT indefinite?): no linear-Gaussian equilibrium (status not_convex)",
                          NotConvexWarning, stacklevel=2)
            diverged_at, not_convex = t, True
            break
        rate[t] = np.abs(np.linalg.eigvals(D)).max()
        start = K[t + 1].copy() if (warm_start and t < T - 1) else np.zeros((m, n))
        K[t], residual[t] = _sweeps(solved, E, D, start, L)
        if not np.isfinite(residual[t]):
            diverged_at = t
            break
        with np.errstate(over="ignore", invalid="ignore"):
            P[t], p[t] = _evaluate_stage(solved, t, Rs[t], K[t], Sig[t], P[t + 1], p[t + 1])
        if progress:
            print(f"entropy_po: stage {t:4d}  residual {residual[t]:.3e}  rate {rate[t]:.3f}")
    with warnings.catch_warnings():  # a non-convex stage is reported once, above
        warnings.simplefilter("ignore", NotConvexWarning)
        exact = _solve(solved)
    common = dict(rate=rate, assumption_holds=exact.assumption_holds, residual=residual, iterations=L, tau=game.tau,
                  delta=delta, game=game)
    if diverged_at is not None:  # the sweeps overflowed: no policy for stages 0..diverged_at
        K[:diverged_at + 1] = Sig[:diverged_at + 1] = np.nan
        P[:diverged_at + 1] = p[:diverged_at + 1] = np.nan
        with np.errstate(invalid="ignore"):
            contraction, _ = _contraction(solved, P)
        info = Info(L, np.inf, residual, time.perf_counter() - t_start)
        return EntropyPOResult(K=K, Sigma=Sig, P=P, p=p, contraction=contraction, error=np.full(T, np.nan),
                               error_total=np.nan, epsilon=np.inf, gains=np.full(N, np.nan), converged=False,
                               status=Status.NOT_CONVEX if not_convex else Status.DIVERGED, info=info, **common)
    contraction, _ = _contraction(solved, P)
    err = np.array([sum(np.linalg.norm(K[t, si] - exact.K[t, si])
                        + np.linalg.norm(Sig[t, si, si] - exact.Sigma[t, si, si]) for si in game.slices)
                    for t in range(T)])
    if delta > 0:  # P, p above are values in the solved (tau + delta) game
        P, p = entropy_policy_value(game, K, Sig)
    eps = entropy_epsilon(game, K, Sig, x0=x0, x0_cov=x0_cov, _costs=_expected(P[0], p[0], x0, x0_cov))
    status = Status.CONVERGED if np.all(residual <= tol) else Status.MAX_ITERATIONS
    info = Info(L, float(residual.max()), residual, time.perf_counter() - t_start)
    return EntropyPOResult(K=K, Sigma=Sig, P=P, p=p, contraction=contraction, error=err, error_total=float(err.sum()),
                           epsilon=eps.epsilon, gains=eps.gains, converged=status.ok, status=status, info=info,
                           **common)
