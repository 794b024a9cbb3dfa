"""Entropy-regularized general-sum LQ games and policy optimization (``docs/entropy.md``).

Reference: M. A. uz Zaman, S. Aggarwal, M. Bastopcu, T. Başar, "Policy
Optimization finds Nash Equilibrium in Regularized General-Sum LQ Games"
(below: Zaman et al.).

Notation (``docs/theory.md``, sections 1 and 4). N players, state x in R^n,
player i's control u^i in R^{m_i}, joint control u in R^m. Dynamics

    x_{t+1} = A_t x_t + B_t u_t + w_t,        w_t ~ N(0, W_t)   (W = ``noise_cov``)

and player i pays, with **no 1/2** on the quadratic terms,

    sum_t [ x_t'Q_t^i x_t + u_t'R_t^i u_t + tau KL(pi_t^i(.|x_t) || N(0, I)) ] + x_T'Q_T^i x_T.

R^i is player i's weight on the joint control; it must be block-diagonal
(player i may weigh the other players' controls, R^{ij}, but not products of
two players' controls), and its own block R^{ii} must be positive definite.
Own-control weights (a list of N (m_i, m_i) matrices) are the R^{ii} of an
otherwise-zero R^i. The game is an :class:`EntropyLQGame`: a finite-horizon
:class:`~gamesolve.lq.game.LQGame` (validated by ``lq_game``) plus tau and W,
with the entropy-specific rules checked once, in C++.

Policies are linear Gaussian: u^i ~ N(-K_t^i x, Sigma_t^i) (Zaman et al.
write N(K x, Sigma): their K is our -K). The value of player i under a
linear-Gaussian profile is x'P_t^i x + p_t^i.

Derivation of the Nash recursion (Zaman et al. Thm. III.1 in our units). At
stage t, with the others playing N(-K^j x, Sigma^j), player i minimizes over pi

    E_pi[u'(R^{ii} + B^i'P^i B^i) u + 2 u'B^i'P^i (A - B^{-i}K^{-i}) x] + tau KL(pi || N(0, I)) + const.

Lemma III.2 gives the Gaussian minimizer with mean -K^i x and covariance
Sigma^i = (I + 2 (R^{ii} + B^i'P^i B^i) / tau)^{-1} = tau/2 S_ii^{-1},
S_ii = tau/2 I + R^{ii} + B^i'P^i B^i. Since tau KL(N(mu, Sigma) || N(0, I)) =
tau/2 mu'mu + tau/2 (tr Sigma - m_i - log det Sigma), the means are the feedback
Nash equilibrium of the finite-horizon LQ game with R^i -> R~^i = R^i + tau/2 E_ii
(tau/2 added to player i's own block; Zaman et al. eq. 20), and P^i is that
game's Z^i. The constants follow from taking expectations over the Gaussian
controls and the noise (Zaman et al. eq. 24):

    p_t^i = p_{t+1}^i + <R~^i, Sigma_t> - tau/2 (m_i + log det Sigma_t^i)
            + <W_t + B_t Sigma_t B_t', P_{t+1}^i>,

Sigma_t the block-diagonal joint covariance and <X, Y> = tr(X'Y).

The best response of player i to linear-Gaussian opponents is the N = 1 game
obtained by folding the others into the data: A -> A - B^{-i}K^{-i},
Q^i -> Q^i + K^{-i}'R^i_{[-i,-i]}K^{-i}, W -> W + B^{-i}Sigma^{-i}B^{-i}' and the
constant tr(R^i_{[-i,-i]} Sigma^{-i}) per stage; it is solved by the same C++
recursion. Policy value and best response are this family's implementation of
the equilibrium protocol (:mod:`gamesolve.equilibrium`; profile (K, Sigma),
value the expected cost from x0 ~ (x0, x0_cov)), and :func:`entropy_epsilon`
is its Nash gap.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from .. import _core, equilibrium
from .._validate import SYM_RTOL, as_float_array, check_finite, check_scale, check_shape, int_option, real_option
from ..errors import InputError, NotConvexWarning, SingularStageWarning, SolveError
from ..results import Info, Status, summary
from .game import LQGame, lq_game
from .infinite import expected_quadratic, initial_moments

__all__ = [
    "EntropyLQGame",
    "EntropyLQSolution",
    "EntropyPOResult",
    "EpsilonReport",
    "entropy_lq_game",
    "entropy_lq_nash",
    "entropy_po",
    "entropy_policy_value",
    "entropy_best_response",
    "entropy_epsilon",
]


# --------------------------------------------------------------------------- game data


@dataclass(frozen=True, eq=False, repr=False)
class EntropyLQGame:
    """An entropy-regularized LQ game: a validated finite-horizon LQ game, tau and the noise covariance.

    Build it with :func:`entropy_lq_game` (the constructor checks nothing).
    Time-indexed attributes have a leading axis of length T; time-invariant
    data are read-only broadcast views (stride 0), so nothing is copied T times.

    Attributes
    ----------
    lq : LQGame
        The game without the entropy terms (horizon T, no linear or cross terms).
    tau : float
        Entropy weight > 0.
    noise_cov : (n, n) or (T, n, n) array or None
        Process-noise covariance as given (None: no noise).
    A : (T, n, n), B : (T, n, m), Q : (T, N, n, n), R : (T, N, m, m) arrays
        Views of ``lq``'s data (R joint and block-diagonal).
    QT : (N, n, n) array
    W : (T, n, n) array
        The noise covariance (zeros when none was given).
    dims, T, N, n, m, slices
        Sizes and each player's rows of the joint control.
    """

    lq: LQGame
    tau: float
    noise_cov: np.ndarray | None = None

    def __repr__(self) -> str:
        return f"EntropyLQGame(N={self.N}, n={self.n}, dims={self.dims}, T={self.T}, tau={self.tau:g})"

    @cached_property
    def A(self) -> np.ndarray:
        """(T, n, n) dynamics (a broadcast view)."""
        return self.lq.full("A")

    @cached_property
    def B(self) -> np.ndarray:
        """(T, n, m) stacked input matrices (a broadcast view)."""
        return self.lq.full("B")

    @cached_property
    def Q(self) -> np.ndarray:
        """(T, N, n, n) state weights (a broadcast view)."""
        return self.lq.full("Q")

    @cached_property
    def R(self) -> np.ndarray:
        """(T, N, m, m) joint block-diagonal control weights (a broadcast view)."""
        return self.lq.full("R")

    QT = property(lambda self: self.lq.QT, doc="(N, n, n) terminal weights")
    dims = property(lambda self: self.lq.dims, doc="(m_1, ..., m_N)")
    T = property(lambda self: self.lq.T, doc="horizon")
    N = property(lambda self: self.lq.N, doc="number of players")
    n = property(lambda self: self.lq.n, doc="state size")
    m = property(lambda self: self.lq.m, doc="joint control size")

    @cached_property
    def slices(self) -> tuple[slice, ...]:
        """Rows of each player's control in the joint control."""
        return tuple(self.lq.slices)

    @cached_property
    def W(self) -> np.ndarray:
        """(T, n, n) process-noise covariance (a broadcast view)."""
        W = np.zeros((self.n, self.n)) if self.noise_cov is None else self.noise_cov
        return W if W.ndim == 3 else np.broadcast_to(W, (self.T, self.n, self.n))

    def with_tau(self, tau: float) -> EntropyLQGame:
        """The same game with another entropy weight (e.g. tau + delta, Zaman et al. IV-A)."""
        return replace(self, tau=_check_tau(tau))

    @cached_property
    def _shifted_R(self) -> np.ndarray:
        R = np.array(self.lq.R)  # (Tt, N, m, m)
        for i, sl in enumerate(self.slices):
            idx = np.arange(sl.start, sl.stop)
            R[..., i, idx, idx] += 0.5 * self.tau
        return np.broadcast_to(R, (self.T,) + R.shape[1:])

    def shifted_R(self) -> np.ndarray:
        """R~^i = R^i + tau/2 on player i's own block, shape (T, N, m, m) (a broadcast view if R is constant)."""
        return self._shifted_R

    @cached_property
    def gamma_B(self) -> float:
        """gamma_B = max_{i,t} ||B_t^i||_F (Zaman et al. Assumption III.3)."""
        B = self.lq.B
        col2 = np.einsum("tkj,tkj->tj", B, B)  # squared column norms
        return float(np.sqrt(np.add.reduceat(col2, [sl.start for sl in self.slices], axis=1).max()))


def _check_tau(tau) -> float:
    try:
        val = float(tau)
    except (TypeError, ValueError):
        raise InputError(f"tau must be a positive real number, got {tau!r}") from None
    if not np.isfinite(val) or val <= 0.0:
        raise InputError(f"tau must be positive and finite, got {val!r}")
    return val


def _noise_cov(noise_cov, T: int, n: int) -> np.ndarray | None:
    """noise_cov as a read-only C-contiguous float64 (n, n) or (T, n, n) array (values checked in C++)."""
    if noise_cov is None:
        return None
    W = np.ascontiguousarray(as_float_array("noise_cov", noise_cov))
    if W.ndim not in (2, 3) or W.shape[-2:] != (n, n) or (W.ndim == 3 and W.shape[0] != T):
        raise InputError(f"noise_cov must have shape ({n}, {n}) or ({T}, {n}, {n}), got {W.shape}")
    W = W.view()
    W.flags.writeable = False
    return W


def _check_entropy_rules(lq: LQGame, W) -> None:
    """The entropy-specific rules (block-diagonal R, W symmetric PSD), checked in C++; InputError naming the failure."""
    c = _core.entropy_check(list(lq.dims), lq.A, lq.B, lq.Q, lq.R, lq.QT, W, lq.T, True)
    if int(c.code) != 0:  # EntropyCheckCode.ok
        _raise_rule(c, W)


def _raise_rule(c, W) -> None:
    """The InputError of a failed entropy rule (a ``_core.EntropyCheck``); ``W`` the noise covariance read."""
    code = c.code
    E, t, i = _core.EntropyCheckCode, c.t, c.i
    where = "noise_cov" if W is None or W.ndim == 2 else f"noise_cov[{t}]"
    if code == E.R_not_block_diagonal:
        raise InputError(f"R[{i}] must be block-diagonal in the players' controls (no products u^j'u^k, j != k) "
                         "for the entropy-regularized game")
    if code == E.R_own_not_pd:
        raise InputError(f"R (player {i}'s own block R^{i}{i}) must be positive definite with a relative margin "
                         "for the entropy-regularized game")
    if code == E.W_asymmetric:
        check_finite("noise_cov", W)
        raise InputError(f"{where} must be symmetric")
    if code == E.W_not_psd:
        lam = np.linalg.eigvalsh(W if W.ndim == 2 else W[t])[0]
        raise InputError(f"{where} must be positive semidefinite, smallest eigenvalue is {lam:.3g}")
    name = {E.Q_asymmetric: "Q", E.QT_asymmetric: "QT", E.R_asymmetric: "R"}[code]
    raise InputError(f"{name} must be symmetric")


def _entropy_game(lq: LQGame, tau, noise_cov) -> EntropyLQGame:
    """Add tau and the noise covariance to a validated LQ game, checking the entropy-specific rules."""
    tau = tau if type(tau) is float and 0.0 < tau < np.inf else _check_tau(tau)
    if lq.batch is not None:
        raise InputError(f"an entropy-regularized game is one game, got a batch of {lq.batch}")
    if lq.T is None:
        raise InputError("horizon is required when every array is time-invariant")
    if not (lq.q is None and lq.r is None and lq.M is None and lq.c is None and lq.qT is None):
        terms = [k for k in ("q", "r", "M", "c", "qT") if getattr(lq, k) is not None]
        raise InputError(f"the entropy-regularized game has no linear or cross terms, got {', '.join(terms)}")
    W = _noise_cov(noise_cov, lq.T, lq.n)
    _check_entropy_rules(lq, W)
    game = object.__new__(EntropyLQGame)  # the frozen dataclass's fields, without its per-field __setattr__
    game.__dict__.update(lq=lq, tau=tau, noise_cov=W)
    return game


def entropy_lq_game(A, B, Q, R, *, tau, noise_cov=None, horizon=None, QT=None, dims=None) -> EntropyLQGame:
    """Validate the data of an entropy-regularized LQ game.

    A, B, Q, R, horizon, QT, dims are read exactly as by :func:`gamesolve.lq_game`
    (one validation, in C++); the entropy-specific rules follow.

    Parameters
    ----------
    A : (n, n) or (T, n, n) array_like
    B : list of N (n, m_i) / (T, n, m_i) blocks, or stacked (n, m) / (T, n, m) with ``dims``
    Q : (N, n, n) or (T, N, n, n) array_like, state weights
    R : list of N own-control weights (m_i, m_i) [or (T, m_i, m_i)], or joint (N, m, m) / (T, N, m, m)
        block-diagonal weights whose own blocks are positive definite
    tau : float > 0, entropy weight
    noise_cov : (n, n) or (T, n, n) array_like, positive semidefinite; default no noise
    horizon : int, required when every array is time-invariant
    QT : (N, n, n) array_like; defaults to Q (its last stage when Q is time-varying)
    dims : tuple of int, required when B is stacked

    Returns
    -------
    EntropyLQGame

    Raises
    ------
    InputError
        On non-finite or mis-shaped data, tau <= 0, an asymmetric Q, QT, R or
        noise_cov, an own block R^{ii} that is not positive definite, a joint R^i
        with products of two players' controls, or an indefinite noise_cov.
    """
    tau = _check_tau(tau)  # before the arrays, as its own error
    return _entropy_game(lq_game(A, B, Q, R, horizon=horizon, QT=QT, dims=dims), tau, noise_cov)


def _as_game(A, B, Q, R, tau, noise_cov, horizon, QT, dims) -> EntropyLQGame:
    """The game of a call: an EntropyLQGame given as ``A``, an LQGame plus tau and noise_cov, or the arrays."""
    if isinstance(A, (EntropyLQGame, LQGame)):
        extra = dict(B=B, Q=Q, R=R, horizon=horizon, QT=QT, dims=dims)
        if isinstance(A, EntropyLQGame):
            extra.update(tau=tau, noise_cov=noise_cov)
        given = [k for k, v in extra.items() if v is not None]
        if given:
            raise InputError(f"pass either an {type(A).__name__} or the game's arrays, not both "
                             f"(got {', '.join(given)})")
        return A if isinstance(A, EntropyLQGame) else _entropy_game(A, tau, noise_cov)
    return entropy_lq_game(A, B, Q, R, tau=tau, noise_cov=noise_cov, horizon=horizon, QT=QT, dims=dims)


# --------------------------------------------------------------------------- exact Nash (C++)


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
    return _outcome(game, out, time.perf_counter() - t0)


def _solve(game: EntropyLQGame) -> EntropyLQSolution:
    """The solve of a validated game: the core, then :func:`_outcome`."""
    lq = game.lq
    t0 = time.perf_counter()
    out = _core.entropy_solve(list(lq.dims), lq.A, lq.B, lq.Q, lq.R, lq.QT, game.noise_cov, game.tau, lq.T)
    return _outcome(game, out, time.perf_counter() - t0, stacklevel=4)


def _check_entropy_scale(game: EntropyLQGame) -> None:
    """InputError for data of a magnitude whose products over- or underflow (``_validate.check_scale``): an
    answer computed from them (e.g. Sigma = 0 for Q ~ 1e300) would be meaningless."""
    lq = game.lq
    for name, a in (("A", lq.A), ("B", lq.B), ("Q", lq.Q), ("R", lq.R), ("QT", lq.QT), ("noise_cov", game.noise_cov)):
        check_scale(name, a)


def _outcome(game: EntropyLQGame, out, elapsed: float, stacklevel: int = 3) -> EntropyLQSolution:
    """The one way every entropy-regularized solve ends: the core's outcome checked (errors, warnings), then wrapped."""
    _check_entropy_scale(game)
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
    elif not np.all(np.diagonal(out.Sigma, axis1=-2, axis2=-1) > 0.0):
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


# --------------------------------------------------------------------------- policy value, best response, epsilon


def _expected(P0: np.ndarray, p0: np.ndarray, x0, x0_cov) -> np.ndarray:
    """E[x'P0 x] + p0 for x ~ (x0, x0_cov) (see :func:`gamesolve.lq.infinite.initial_moments`)."""
    return expected_quadratic(P0, *initial_moments(P0.shape[-1], x0, x0_cov)) + p0


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


# --------------------------------------------------------------------------- Algorithm 1


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
