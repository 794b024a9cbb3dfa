"""The exact linear-Gaussian Nash equilibrium (Zaman et al. Thm. III.1), solved by the C++ core."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ... import _core, equilibrium
from ..._validate import SYM_RTOL
from ...errors import NotConvexWarning, SingularStageWarning, SolveError
from ...results import Info, Status, summary
from ..game import LQGame
from ..infinite import expected_quadratic, initial_moments
from .game import EntropyLQGame, _as_game, _check_entropy_scale, _check_tau, _raise_rule

__all__ = ["EntropyLQSolution", "entropy_lq_nash"]


@dataclass(frozen=True, repr=False)
class EntropyLQSolution:
    """Linear-Gaussian Nash equilibrium of an entropy-regularized LQ game.

    Attributes
    ----------
    K : (T, m, n) array
        Stacked mean gains, u^i ~ N(-K_t^i x, Sigma_t^i).
    Sigma : (T, m, m) array
        Block-diagonal joint covariance.
    P : (T+1, N, n, n) array
        Value matrices.
    p : (T+1, N) array
        Value constants (x'P_t^i x + p_t^i is player i's expected cost-to-go).
    stage_status : (T,) int array
        The core's stage status (0 ok, 1 minimum-norm solve of the mean stage).
    contraction : (T,) array
        2 gamma_B^2 max_i ||P_{t+1}^i||_F (N-1) / tau (Zaman et al. Lemma IV.1).
    assumption_holds : bool
        Zaman et al. Assumption III.3 (tau > 2 gamma_B^2 gamma_P^* (N-1)), which
        makes this equilibrium unique.
    game : EntropyLQGame
    status : Status
        ``solved`` (a direct backward recursion), or ``not_convex`` (with a
        :class:`~gamesolve.errors.NotConvexWarning`) when at some stage a
        player's regularized problem is unbounded below: there is no
        linear-Gaussian equilibrium, and Sigma, p are NaN from that stage down.
    info : Info
        No iterations; the wall time of the solve.
    converged : bool
        ``status.ok``.
    """

    K: np.ndarray
    Sigma: np.ndarray
    P: np.ndarray
    p: np.ndarray
    stage_status: np.ndarray
    contraction: np.ndarray
    assumption_holds: bool
    game: EntropyLQGame
    status: Status = Status.SOLVED
    _time: float = field(default=0.0, repr=False, compare=False)

    @cached_property
    def info(self) -> Info:
        """No iterations (a direct solve); the wall time of the C++ solve."""
        return Info(time=self._time)

    @property
    def converged(self) -> bool:
        """``status.ok``."""
        return self.status.ok

    def __repr__(self) -> str:
        return summary("EntropyLQSolution", self.status, dict(T=self.game.T, tau=self.game.tau, K=self.K))

    def costs(self, x0=None, *, x0_cov=None) -> np.ndarray:
        """Expected total cost of each player, (N,), for x0 ~ (x0, x0_cov).

        ``x0`` alone is a fixed initial state, ``x0_cov`` alone a zero-mean
        distribution with covariance ``x0_cov``, neither x0 ~ N(0, I).
        """
        return _expected(self.P[0], self.p[0], x0, x0_cov)

    def nash_gap(self, x0=None, *, x0_cov=None) -> float:
        """Nash gap (= epsilon) of (K, Sigma) for x0 ~ (x0, x0_cov); round-off level at the equilibrium."""
        return equilibrium.nash_gap(self.game, (self.K, self.Sigma), x0=x0, x0_cov=x0_cov)


def _contraction(game: EntropyLQGame, P: np.ndarray) -> tuple[np.ndarray, bool]:
    """Per-stage Lemma IV.1 factor from P (T+1, N, n, n) and Assumption III.3 with gamma_P = max_t,i ||P_t^i||_F."""
    gB2 = game.gamma_B ** 2
    normP = np.sqrt(np.einsum("tikl,tikl->ti", P, P))  # (T+1, N) Frobenius norms
    factor = 2.0 * gB2 * normP[1:].max(axis=1) * (game.N - 1) / game.tau
    holds = bool(game.tau > 2.0 * gB2 * normP.max() * (game.N - 1))
    return factor, holds


def entropy_lq_nash(A, B=None, Q=None, R=None, *, tau=None, noise_cov=None, horizon=None, QT=None,
                    dims=None) -> EntropyLQSolution:
    """Linear-Gaussian Nash equilibrium of an entropy-regularized LQ game (Zaman et al. Thm. III.1).

    Parameters
    ----------
    A, B, Q, R, tau, noise_cov, horizon, QT, dims
        The game, as in :func:`entropy_lq_game`. ``A`` may instead be an
        :class:`EntropyLQGame` (then the other arguments are left out) or a
        finite-horizon LQGame (then only ``tau`` and ``noise_cov`` are given).

    Returns
    -------
    EntropyLQSolution
        ``K (T, m, n)``, ``Sigma (T, m, m)``, ``P (T+1, N, n, n)``, ``p (T+1, N)``.

    Raises
    ------
    InputError
        Bad data (see :func:`entropy_lq_game`).
    SolveError
        Non-finite numbers in the recursion, or a covariance that underflowed.

    Warns
    -----
    SingularStageWarning
        A stage system was singular: the minimum-norm mean was used there.
    NotConvexWarning
        A stage where a player's regularized problem is unbounded below
        (S_ii not positive definite, possible only with an indefinite Q^i):
        the status is ``not_convex`` (the same policy as
        :func:`gamesolve.solve_lq_game`).

    Notes
    -----
    The means are the feedback Nash equilibrium of the finite-horizon game with
    R^i shifted by tau/2 on player i's own block:

        (tau/2 I + R^{ii} + B^i'P^i B^i) K^i + B^i'P^i sum_{j!=i} B^j K^j = B^i'P^i A,

    solved by the C++ core (``gamesolve::solve_lq_game``) whose Z^i is P^i;
    then one backward pass computes

        Sigma_t^i = (I + 2 (R^{ii} + B^i'P_{t+1}^i B^i) / tau)^{-1},
        p_t^i = p_{t+1}^i + tr(R^i Sigma_t) + tau/2 (tr Sigma_t^i - m_i - log det Sigma_t^i)
                + tr((W + sum_j B^j Sigma_t^j B^j') P_{t+1}^i).

    Examples
    --------
    >>> import numpy as np, gamesolve as gs
    >>> A = np.array([[1.0, 0.1], [0.0, 1.0]]); B = [np.array([[0.0], [0.1]])] * 2
    >>> sol = gs.entropy_lq_nash(A, B, [np.eye(2), 2 * np.eye(2)], [np.eye(1)] * 2, tau=1.0, horizon=5)
    >>> bool(sol.nash_gap() < 1e-10)   # best responses gain nothing
    True
    """
    if isinstance(A, (EntropyLQGame, LQGame)):
        return _solve(_as_game(A, B, Q, R, tau, noise_cov, horizon, QT, dims))
    # Raw arrays: read (lq_game's reader and checks), the entropy rules and the solve in one C++ call.
    t0 = time.perf_counter()
    tau = tau if type(tau) is float and 0.0 < tau < np.inf else _check_tau(tau)  # before the arrays
    out = _core.read_and_solve_entropy(A, B, Q, R, horizon, QT, dims, noise_cov, tau, SYM_RTOL)
    if int(out.check.code) != 0:
        _raise_rule(out.check, out.noise_cov)
    game = object.__new__(EntropyLQGame)  # the frozen dataclass's fields, without its per-field __setattr__
    game.__dict__.update(lq=LQGame._from_core(out.game), tau=tau, noise_cov=out.noise_cov)
    return _outcome(game, out, time.perf_counter() - t0, tops=out.scales)


def _solve(game: EntropyLQGame) -> EntropyLQSolution:
    """The solve of a validated game: the core, then :func:`_outcome`."""
    lq = game.lq
    t0 = time.perf_counter()
    out = _core.entropy_solve(list(lq.dims), lq.A, lq.B, lq.Q, lq.R, lq.QT, game.noise_cov, game.tau, lq.T)
    return _outcome(game, out, time.perf_counter() - t0, stacklevel=4)


def _outcome(game: EntropyLQGame, out, elapsed: float, stacklevel: int = 3, tops=None) -> EntropyLQSolution:
    """The one way every entropy-regularized solve ends: the core's outcome checked (errors, warnings), then
    wrapped. ``tops``: the data's max|x| if the reader computed them (else they are computed here)."""
    _check_entropy_scale(game, tops)
    result = Status.SOLVED
    if out.bad_stage >= 0:  # the finite-horizon solver's policy: flag (status + warning), do not raise
        warnings.warn(
            f"entropy_lq_nash: at stage t={out.bad_stage} player {out.bad_player}'s regularized problem is "
            "unbounded below (tau/2 I + R^ii + B^i'P^i B^i is not positive definite; is Q or QT indefinite?): "
            f"no linear-Gaussian equilibrium; Sigma and p are NaN at stages t <= {out.bad_stage} (status "
            "not_convex)", NotConvexWarning, stacklevel=stacklevel)
        result = Status.NOT_CONVEX
    elif not out.finite:
        raise SolveError("entropy_lq_nash: non-finite numbers in the recursion (overflow: check the scale of "
                         "A, B, Q)")
    elif not out.sigma_positive:
        raise SolveError("entropy_lq_nash: a policy covariance Sigma_t^i underflowed to a singular matrix "
                         "(tau is negligible against R^ii + B^i'P^i B^i: rescale tau or the costs)")
    status = out.status
    if out.min_norm_stages > 0:
        warnings.warn(
            f"entropy_lq_nash: {out.min_norm_stages} stage(s) with a singular mean system "
            f"(min rcond {out.min_rcond:.2e}); minimum-norm solution returned (stages "
            f"{np.flatnonzero((status & 3) == 1).tolist()})", SingularStageWarning, stacklevel=stacklevel)
    sol = object.__new__(EntropyLQSolution)  # the frozen dataclass's fields, without its per-field __setattr__
    sol.__dict__.update(K=out.K, Sigma=out.Sigma, P=out.P, p=out.p, stage_status=status, contraction=out.contraction,
                        assumption_holds=out.assumption_holds, game=game, status=result, _time=elapsed)
    return sol


def _expected(P0: np.ndarray, p0: np.ndarray, x0, x0_cov) -> np.ndarray:
    """E[x'P0 x] + p0 for x ~ (x0, x0_cov) (see :func:`gamesolve.lq.infinite.initial_moments`)."""
    return expected_quadratic(P0, *initial_moments(P0.shape[-1], x0, x0_cov)) + p0
