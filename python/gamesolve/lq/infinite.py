"""Feedback Nash equilibria of infinite-horizon LQ games (``docs/theory.md``, section 3).

Notation: N players, state x in R^n, player i's control u^i in R^{m_i},
joint control u (m = sum m_i), policy u = -K x with K (m x n) stacking the
players' gains K^i. Player i pays sum_t x'Q^i x + u'R^i u + 2 u'M^i x (no 1/2),
R^i its weight on the joint control, M^i an optional cross weight. The
equilibrium (K, P) solves

    P^i = Q^i + K'R^i K - K'M^i - M^i'K + A_K' P^i A_K,    A_K = A - B K       (P-eq.)
    (R^{ii} + B^i'P^i B^i) K^i + B^i'P^i sum_{j!=i} B^j K^j
        + sum_{j!=i} R^{ij} K^j = B^i'P^i A + M^i_[i]                          (K-eq.)

with A_K Schur stable. Every entry point builds (or receives) an
:class:`~gamesolve.lq.game.LQGame` without horizon -- the one validation --
and hands its arrays to the C++ core (``cpp/src/lq_nash.cpp``: Lyapunov /
Riccati / Newton iterations, Anderson acceleration, the robust ``auto``
strategy), which returns an ``LQNashResult``; this module turns it into an
:class:`LQNashSolution` or the error it means.

The module also registers the infinite-horizon family of the equilibrium
protocol (:mod:`gamesolve.equilibrium`): the profile is a stationary K, the
value of player i is J^i(K) = E[x0'P_K^i x0] = x0'P_K^i x0 + tr(P_K^i x0_cov),
and its best response is the one-player game with the others' gains folded
in, solved by the same core.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache

import numpy as np

from .. import _core
from .._validate import SYM_RTOL, as_float_array, check_shape, check_symmetric
from ..equilibrium import Family, nash_gap
from ..errors import ConvergenceError, InputError, SolveError
from ..results import Info, Status, summary
from .game import LQGame, lq_game, register_horizon_family

__all__ = ["LQNashSolution", "lq_nash", "lq_nash_equilibria", "guided_lq_nash"]

#: Largest Anderson history the iterations accept (the core's kMaxAndersonDepth).
MAX_ANDERSON_DEPTH = _core.max_anderson_depth

_NS = _core.NashStatus
#: The core's status of a solve or a stage (by code), in the shared vocabulary. A
#: non-stabilizing iterate, non-finite numbers and a singular stacked system are one
#: event (the iteration left the region where it is defined); a failed Newton line
#: search is reported by the core as a stall.
_STATUS = {int(_NS.converged): Status.CONVERGED, int(_NS.max_iterations): Status.MAX_ITERATIONS,
           int(_NS.stalled): Status.STALLED, int(_NS.lost_stability): Status.DIVERGED,
           int(_NS.non_finite): Status.DIVERGED, int(_NS.singular): Status.DIVERGED,
           int(_NS.bad_start): Status.DIVERGED, int(_NS.no_stabilizing_start): Status.DIVERGED,
           int(_NS.uncertified): Status.STALLED, int(_NS.bad_scale): Status.DIVERGED}
_BAD_START, _NO_START, _BAD_SCALE = int(_NS.bad_start), int(_NS.no_stabilizing_start), int(_NS.bad_scale)
#: How a stage's status reads in a failure message (an "uncertified" stage met its own
#: target, but its answer did not certify).
_STAGE_WORD = {int(_NS.uncertified): "uncertified (own target met, certificate failed)"}
#: NashStage.start codes of the core: where an attempt started.
_START_NAME = {0: "K0", 1: "the best candidate", 2: "the best candidate or K0", 3: "P = Q"}


# --------------------------------------------------------------------------- the game


def _as_game(A, B, Q, R, dims, M=None) -> LQGame:
    """The infinite-horizon LQGame: ``A`` itself if it is one, else ``lq_game(A, B, Q, R, dims=dims, M=M)``."""
    if isinstance(A, LQGame):
        given = [k for k, v in dict(B=B, Q=Q, R=R, dims=dims, M=M).items() if v is not None]
        if given:
            raise InputError(f"pass either an LQGame or the game's arrays, not both (got {', '.join(given)})")
        game = A
    else:
        game = lq_game(A, B, Q, R, dims=dims, M=M)
    if game.batch is not None:
        raise InputError(f"the infinite-horizon solvers take one game, got a batch of {game.batch}")
    if game.T is not None:
        raise InputError(f"the infinite-horizon game has no horizon and time-invariant data, got a game with "
                         f"T={game.T} (build it without horizon and without time axes)")
    linear = [k for k in ("q", "r", "c") if getattr(game, k) is not None]
    if linear:
        raise InputError(f"the infinite-horizon LQ game has no linear terms, got {', '.join(linear)}")
    return game


def _arrays(game: LQGame) -> tuple:
    """(A, B, Q, R, M, dims) of the time-invariant game, as the core's functions take them (views)."""
    return (game.A[0], game.B[0], game.Q[0], game.R[0], None if game.M is None else game.M[0], list(game.dims))


def _discounted(game: LQGame, discount) -> LQGame:
    """The game with sqrt(beta) A, sqrt(beta) B: its undiscounted costs are the discounted costs."""
    return _scaled(game, _discount_scale(discount))


def _discount_scale(discount) -> float:
    """sqrt(beta) of a discount factor beta in (0, 1] (InputError otherwise)."""
    if type(discount) is float and discount == 1.0:
        return 1.0
    try:
        beta = float(discount)
    except (TypeError, ValueError):
        beta = math.nan
    if not 0.0 < beta <= 1.0:
        raise InputError(f"discount must be in (0, 1], got {discount!r}")
    return math.sqrt(beta)


def _scaled(game: LQGame, s: float) -> LQGame:
    """The game with s A, s B (s = sqrt(beta), :func:`_discount_scale`)."""
    if s == 1.0:
        return game
    return replace(game, A=_frozen(s * game.A), B=_frozen(s * game.B))


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def initial_moments(n: int, x0=None, x0_cov=None) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of the initial state x0 ~ (x0, x0_cov).

    ``x0=None`` and ``x0_cov=None``: x0 ~ N(0, I); ``x0`` alone: a fixed
    initial state; ``x0_cov`` alone: mean 0, so ``x0_cov`` is the second moment
    E[x0 x0'].
    """
    if x0 is None:
        mean = np.zeros(n)
        cov = np.eye(n) if x0_cov is None else as_float_array("x0_cov", x0_cov, ndim=2)
    else:
        mean = as_float_array("x0", x0)
        if mean.ndim != 1:
            raise InputError(f"x0 must be an initial state of shape ({n},), got shape {mean.shape} "
                             "(pass a second moment E[x0 x0'] as x0_cov=)")
        check_shape("x0", mean, (n,))
        cov = np.zeros((n, n)) if x0_cov is None else as_float_array("x0_cov", x0_cov, ndim=2)
    check_shape("x0_cov", cov, (n, n))
    check_symmetric("x0_cov", cov)
    return mean, cov


def expected_quadratic(P: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """E[x'P x] = mean'P mean + tr(P cov) for P (..., n, n)."""
    return np.einsum("i,...ij,j->...", mean, P, mean) + np.einsum("...ij,ji->...", P, cov)


# --------------------------------------------------------------------------- the solution


@dataclass(frozen=True)
class NashStage:
    """One method run inside a solve: method, accelerated, iterations, status, final residual, start.

    ``start`` is where the attempt began: ``"K0"`` (the solve's start gain, or its
    values P(K0)), ``"the best candidate"`` (of the attempts before), ``"the best
    candidate or K0"`` or ``"P = Q"`` (the Riccati iteration's own start). An
    attempt whose own measure met its target but whose answer did not certify has
    status ``stalled``.
    """

    method: str
    accelerated: bool
    iterations: int
    status: Status
    residual: float
    start: str = "K0"


@dataclass(frozen=True, repr=False, eq=False)
class LQNashSolution:
    """Result of :func:`lq_nash` (and :func:`guided_lq_nash`).

    Attributes
    ----------
    K : (m, n) array
        Stacked feedback gains, u = -K x.
    gains : list of N (m_i, n) arrays
        The rows of K belonging to each player.
    P : (N, n, n) array
        Value matrices: player i's cost from x0 is x0' P^i x0.
    converged : bool
        ``status.ok``: ``residual <= tol`` and A - B K Schur stable.
    iterations : int
        Iterations over all stages (each Newton polish step counts one).
    residual : float
        max(residual_K, residual_P), the certificate.
    method : str
        The method(s) that produced K, e.g. ``"riccati+anderson+newton"``.
    status : Status
        converged, max_iterations, stalled (oscillation, no progress, failed
        line search) or diverged (an iterate lost stability, overflowed or made
        the stacked system singular).
    info : Info
        Iterations, residual, the per-iteration residuals of every stage
        (concatenated) and the wall time.
    residual_K, residual_P : float
        Relative residuals ||S K - Y||_F / max(||Y||_F, ||S K||_F) of the
        K-equation and max_i ||P^i - (Q^i + K'R^i K + A_K'P^i A_K)||_F / ||P^i||_F
        of the P-equations, both evaluated at the returned (K, P).
    error_estimate : float
        Estimated relative error ||K - K*||_F / ||K||_F of the returned gain (the
        certificate's residual times a condition estimate, or the size of the last
        Newton correction; NaN when none was computed).
    start : str
        Where the iterations that produced K started: ``"user K0"``, ``"zero"``
        (A stable), ``"summed-cost LQR"``, ``"regularized LQR"`` (summed costs with
        Q + eps I), ``"unit LQR"`` (Q = I, R = I) or ``"P = Q"``.
    stages : tuple of NashStage
        Every method run of the solve.
    game : LQGame
        The game solved (for :func:`guided_lq_nash`, the guided game).
    """

    status: Status
    game: LQGame
    _result: object  # the core's LQNashResult, read on first access
    _time: float

    def __repr__(self) -> str:
        return summary("LQNashSolution", self.status, dict(method=self.method, iterations=self.iterations,
                                                            residual=self.residual, K=self.K))

    def __getstate__(self) -> dict:  # pickle every lazy attribute, not the core's result object
        lazy = ("K", "P", "gains", "iterations", "residual", "method", "residual_K", "residual_P", "info", "stages",
                "error_estimate", "start")
        return {**self.__dict__, **{k: getattr(self, k) for k in lazy}, "_result": None}

    K = cached_property(lambda self: self._result.K)
    P = cached_property(lambda self: self._result.P)
    iterations = cached_property(lambda self: self._result.iterations)
    residual = cached_property(lambda self: self._result.residual)
    method = cached_property(lambda self: self._result.method)
    residual_K = cached_property(lambda self: self._result.res_K)
    residual_P = cached_property(lambda self: self._result.res_P)
    error_estimate = cached_property(lambda self: self._result.error_estimate)
    start = cached_property(lambda self: self._result.start)

    @property
    def converged(self) -> bool:
        """``status.ok``."""
        return self.status.ok

    @cached_property
    def gains(self) -> list:
        """Player i's rows K^i of K, for every i."""
        return [self.K[s] for s in self.game.slices]

    @cached_property
    def info(self) -> Info:
        """Iterations, residual, the per-iteration residuals of every stage (concatenated), wall time."""
        return Info(self.iterations, self.residual, self._result.history, self._time)

    @property
    def history(self) -> np.ndarray:
        """Per-iteration residual of every stage, concatenated (``info.residuals``)."""
        return self.info.residuals

    @cached_property
    def stages(self) -> tuple:
        """Every method run of the solve (NashStage)."""
        return tuple(NashStage(s.method.name, s.accelerated, s.iterations, _STATUS[int(s.status)], s.residual,
                               _START_NAME[s.start]) for s in self._result.stages)

    @cached_property
    def closed_loop(self) -> np.ndarray:
        """A - B K."""
        return self.game.A[0] - self.game.B[0] @ self.K

    @cached_property
    def spectral_radius(self) -> float:
        """Spectral radius of the closed loop A - B K (< 1 for a stabilizing K)."""
        return float(np.max(np.abs(np.linalg.eigvals(self.closed_loop))))

    def costs(self, x0=None, *, x0_cov=None) -> np.ndarray:
        """Each player's expected cost J^i = x0'P^i x0 + tr(P^i x0_cov), shape (N,).

        x0 ~ (x0, x0_cov): ``x0`` alone is a fixed initial state, ``x0_cov``
        alone a zero-mean distribution with second moment E[x0 x0'] = x0_cov,
        neither x0 ~ N(0, I).
        """
        return expected_quadratic(self.P, *initial_moments(self.game.n, x0, x0_cov))

    def nash_gap(self, x0=None, *, x0_cov=None) -> float:
        """max_i [J^i(K) - min_{K^i'} J^i(K^i', K^{-i})] for x0 ~ (x0, x0_cov) (as :meth:`costs`).

        Round-off level at a Nash equilibrium (:mod:`gamesolve.equilibrium`).
        """
        return nash_gap(self.game, self.K, x0=x0, x0_cov=x0_cov)


def _options(method, tol, max_iter, anderson_depth, stall_window, polish) -> _core.LQNashOptions:
    """The solver settings (immutable; one object per distinct combination, checked once)."""
    try:
        return _checked_options(method, tol, max_iter, anderson_depth, stall_window, polish)
    except TypeError:  # an unhashable argument: not a valid option either
        return _checked_options.__wrapped__(method, tol, max_iter, anderson_depth, stall_window, polish)


@lru_cache(maxsize=64)
def _checked_options(method, tol, max_iter, anderson_depth, stall_window, polish) -> _core.LQNashOptions:
    try:
        meth = _core.NashMethod.__members__[method]
    except (KeyError, TypeError):
        raise InputError(f"method must be one of ['auto', 'lyapunov', 'newton', 'riccati'], got {method!r}") from None
    if not (isinstance(tol, (int, float, np.floating, np.integer)) and math.isfinite(tol) and tol > 0):
        raise InputError(f"tol must be a positive number, got {tol}")
    if int(max_iter) != max_iter or int(max_iter) < 1:
        raise InputError(f"max_iter must be >= 1, got {max_iter}")
    if int(anderson_depth) != anderson_depth or not 0 <= int(anderson_depth) <= MAX_ANDERSON_DEPTH:
        raise InputError(f"anderson_depth must be between 0 and {MAX_ANDERSON_DEPTH}, got {anderson_depth}")
    # stall_window <= 0: the core's default, 40 iterations for auto, 200 for an explicit method
    return _core.LQNashOptions(method=meth, tol=float(tol), max_iter=int(max_iter),
                               anderson_depth=int(anderson_depth), stall_window=int(stall_window),
                               polish=bool(polish))


def _uncontrollable_mode(A, B, tol=1e-9):
    """PBH test: an eigenvalue |lambda| >= 1 of A with rank [A - lambda I, B] < n, or None."""
    n = A.shape[0]
    for lam in np.linalg.eigvals(A):
        if abs(lam) >= 1.0 - 1e-12:
            s = np.linalg.svd(np.hstack([A - lam * np.eye(n), B]), compute_uv=False)
            if s[-1] <= tol * max(s[0], 1.0):
                return lam
    return None


def _solve(game: LQGame, K0, options, *, raise_on_failure: bool) -> LQNashSolution:
    """The one path of every infinite-horizon solve: the core on the game's arrays, then the result or its error."""
    if K0 is not None:
        K0 = as_float_array("K0", K0, ndim=2)
        check_shape("K0", K0, (game.m, game.n))
    t0 = time.perf_counter()
    r = _core.lq_nash(*_arrays(game), K0, options)
    return _outcome(game, r, time.perf_counter() - t0, K0, options, raise_on_failure=raise_on_failure)


def _outcome(game: LQGame, r, elapsed: float, K0, options, *, raise_on_failure: bool) -> LQNashSolution:
    """The one way every infinite-horizon solve ends: the core's result ``r`` as a solution, or its error."""
    code = int(r.status)
    if code == _BAD_START:
        A, B, K0 = game.A[0], game.B[0], np.asarray(K0, dtype=float)
        rho = float(np.max(np.abs(np.linalg.eigvals(A - B @ K0))))
        raise InputError(f"K0 is not stabilizing: spectral radius of A - B K0 is {rho:.6g} >= 1")
    if code == _NO_START:
        lam = _uncontrollable_mode(game.A[0], game.B[0])
        if lam is not None:
            raise InputError(f"(A, B) is not stabilizable: the eigenvalue {lam:.6g} of A (|lambda| >= 1) "
                             "is not controllable (PBH test)")
        raise SolveError("no stabilizing start gain found (zero, the summed-cost LQR, the LQR with Q + eps I and "
                         "with unit weights did not stabilize A - B K, and the Riccati iteration from P = Q "
                         "reached no stabilizing equilibrium); give a stabilizing K0")
    if code == _BAD_SCALE:
        raise InputError("the game's scales span more than double precision can solve: after scaling each "
                         "player's control to ||B^j|| ~ 1 and each player's costs to ~1, some own weight R^ii "
                         "is below 2^-900 (e.g. ||B^i||^2 ||Q^i|| / ||R^ii|| > 1e270); rescale the game")
    sol = object.__new__(LQNashSolution)  # the frozen dataclass's fields, without its per-field __setattr__
    sol.__dict__.update(status=_STATUS[code], game=game, _result=r, _time=elapsed)
    if raise_on_failure and not sol.converged:
        what = "; ".join(f"{s.method.name}{'+anderson' if s.accelerated else ''} from {_START_NAME[s.start]}: "
                         f"{_STAGE_WORD.get(int(s.status), s.status.name)} after {s.iterations} it (own measure "
                         f"{s.residual:.2e})" for s in r.stages)
        raise ConvergenceError(f"lq_nash found no stabilizing Nash equilibrium to tol={options.tol:g} (start: "
                               f"{r.start}); attempts: {what}; best certified residual {sol.residual:.3g}")
    return sol


def lq_nash(A, B=None, Q=None, R=None, *, dims=None, method="auto", K0=None, tol=1e-10, max_iter=1000, M=None,
            discount=1.0, anderson_depth=5, stall_window=0, polish=True, check_unique=False) -> LQNashSolution:
    """Feedback Nash equilibrium of an infinite-horizon LQ game (``docs/theory.md``, section 3).

    Solves the coupled algebraic Riccati equations

        P^i = Q^i + K'R^i K - K'M^i - M^i'K + A_K' P^i A_K,    A_K = A - B K,
        row block i of  S K = Y,  S_i = B^i'P^i B + R^i_[i,:],  Y_i = B^i'P^i A + M^i_[i],

    for a stabilizing K (u = -K x), the multi-player analogue of
    ``scipy.linalg.solve_discrete_are``.

    Parameters
    ----------
    A : (n, n) array_like, or an LQGame without horizon
        The dynamics; or the whole game (then B, Q, R, dims, M are left out).
    B : list of N (n, m_i) arrays, or (n, m) array with ``dims``
        A 2-D (n, m) B without ``dims``, with 2-D Q (n, n) and R (m, m), is one
        player with all controls: ``lq_nash(A, B, Q, R)`` takes scipy's
        ``solve_discrete_are(A, B, Q, R)`` arrays (``P[0]`` is its answer).
    Q : (N, n, n) array_like or list of N (n, n)
        State weights, symmetric (positive semidefinite).
    R : list of N (m_i, m_i) own-control weights, or N joint (m, m) weights
        Symmetric; each own block R^{ii} positive definite.
    dims : sequence of int, optional
        (m_1, ..., m_N); required when B is stacked.
    method : {"auto", "lyapunov", "riccati", "newton"}
        ``"lyapunov"``: Li & Gajic iteration from K0 (P^i(K) by Stein equations,
        then the stacked K solve). ``"riccati"``: the finite-horizon stage map
        iterated to a fixed point (from P(K0) if K0 is given, else from P = Q).
        ``"newton"``: Newton on F(K) = S(P(K)) K - Y(P(K)) with the exact
        Jacobian (implicit Stein derivatives) and a stabilizing backtracking line
        search. ``"auto"`` (default): a sequence of attempts that stops at the
        first certified answer -- Anderson-accelerated Riccati iteration from
        P(K0); on oscillation, divergence, stall or a failed certificate the
        Anderson-accelerated Lyapunov iteration from the best stabilizing iterate;
        damped Newton from the best iterate and from K0; finally the plain
        Lyapunov iteration from K0 and the plain / accelerated Riccati iteration
        from P = Q -- then Newton polish steps when cheap ((m n)^2 N <= 4096) or
        needed. ``stages`` lists every attempt.
    K0 : (m, n) array_like, optional
        Stabilizing start. Default: 0 if A is Schur stable, otherwise the LQR
        gain of the summed costs with all controls.
    tol : float
        Certificate tolerance on ``residual`` (relative residuals of both
        equations at the returned (K, P)).
    max_iter : int
        Iteration budget of each stage.
    M : (N, m, n) array_like, optional
        State-control cross weights (cost 2 u'M^i x).
    discount : float in (0, 1]
        beta: player i minimizes sum_t beta^t (stage cost), solved as the game
        with sqrt(beta) A, sqrt(beta) B (stability then means
        rho(sqrt(beta)(A - B K)) < 1); the result's ``game`` is that game.
    anderson_depth, stall_window : int
        Anderson history length (auto); iterations without halving the best
        residual after which a stage counts as stalled (0: 40 in auto, 200 for
        an explicit method).
    polish : bool
        Newton polish in auto, by need: Hewer steps for one player whose residual is
        above round-off; Newton steps when the error estimate exceeds tol.
    check_unique : bool
        Also search other starts for other stabilizing equilibria
        (:func:`lq_nash_equilibria`; costs about 40 more solves): the result's
        ``equilibria`` holds every distinct one found (the returned one first), and a
        ``UserWarning`` says when there is more than one. A general-sum LQ game may
        have several stabilizing Nash equilibria (the MA-GPS appendix-A game has at
        least four); without the search, ``start`` says where the returned one came from.

    Returns
    -------
    LQNashSolution
        ``converged`` is True only when the certificate holds. With an explicit
        ``method`` an unconverged result is returned (``converged=False``, with
        ``status`` saying why); ``"auto"`` raises instead.

    Raises
    ------
    InputError
        Bad shapes / non-finite / non-symmetric data, R^{ii} not positive
        definite, K0 not stabilizing, (A, B) not stabilizable, a game with a
        horizon or linear terms.
    SolveError
        No stabilizing start could be built.
    ConvergenceError
        ``method="auto"`` found no certified stabilizing equilibrium.

    Notes
    -----
    The Riccati iteration need not converge for general-sum games (on the
    appendix-A game of MA-GPS it oscillates from P = Q); Anderson mixing
    of its fixed-point map turns that into a 15-20 iteration solve. The
    Lyapunov iteration converges linearly (about 170 iterations on the same
    game). Newton's Jacobian is dF = S dK - [B^i' dP^i A_K]_i with
    dP^i = A_K' dP^i A_K + dK'G^i + G^i'dK, G^i = R^i K - M^i - B'P^i A_K.

    References
    ----------
    J. Li, G. Qu, J. J. Choi, S. Sojoudi, C. Tomlin, "Multi-Agent Guided Policy
    Search for Non-Cooperative Dynamic Games" (MA-GPS), section III-B and
    appendix A. T.-Y. Li, Z. Gajic, "Lyapunov iterations for solving coupled algebraic
    Riccati equations of Nash differential games" (1995).

    Examples
    --------
    >>> from gamesolve import lq_nash
    >>> from gamesolve.examples import lq_example
    >>> g = lq_example()
    >>> sol = lq_nash(g.A, g.B, g.Q, g.R)
    >>> sol.converged and sol.residual <= 1e-12
    True
    >>> bool(sol.nash_gap(g.x0) < 1e-12)
    True
    """
    if isinstance(A, LQGame):
        game = _discounted(_as_game(A, B, Q, R, dims, M), discount)
        options = _options(method, tol, max_iter, anderson_depth, stall_window, polish)
        sol = _solve(game, K0, options, raise_on_failure=(method == "auto"))
        return _with_equilibria(sol, tol) if check_unique else sol
    if dims is None and not isinstance(B, (list, tuple)):
        B, Q, R, M, dims = _one_player(B, Q, R, M)
    # Raw arrays: read (lq_game's reader and checks), K0 and the solve in one C++ call.
    scale = _discount_scale(discount)
    options = _options(method, tol, max_iter, anderson_depth, stall_window, polish)
    t0 = time.perf_counter()
    out = _core.read_and_solve_lq_nash(A, B, Q, R, dims, M, K0, options, scale, SYM_RTOL)
    elapsed = time.perf_counter() - t0
    game = _scaled(LQGame._from_core(out.game), scale)
    sol = _outcome(game, out.result, elapsed, K0, options, raise_on_failure=(method == "auto"))
    return _with_equilibria(sol, tol) if check_unique else sol


def _with_equilibria(sol: LQNashSolution, tol) -> LQNashSolution:
    """``sol`` with ``equilibria`` (every distinct equilibrium found from other starts, ``sol`` first)."""
    found = lq_nash_equilibria(sol.game, tol=tol, first=sol) if sol.converged else (sol,)
    sol.__dict__["equilibria"] = found
    if len(found) > 1:
        dk = max(np.linalg.norm(e.K - sol.K) / max(np.linalg.norm(sol.K), 1e-300) for e in found[1:])
        warnings.warn(f"lq_nash: the game has at least {len(found)} stabilizing Nash equilibria (the others "
                      f"differ from the returned one by up to {dk:.3g} relative in K); see solution.equilibria",
                      UserWarning, stacklevel=3)
    return sol


def lq_nash_equilibria(A, B=None, Q=None, R=None, *, dims=None, M=None, discount=1.0, tol=1e-10, n_starts=40,
                       seed=0, first=None) -> tuple:
    """Distinct stabilizing Nash equilibria of an infinite-horizon LQ game found from many starts.

    A general-sum LQ game may have several stabilizing feedback Nash equilibria (the
    coupled equations of :func:`lq_nash` are polynomial in K); which one an
    iteration reaches depends on its start. This function solves the game from: the
    default start (:func:`lq_nash`, method auto), the Riccati iteration from P = Q,
    and ``n_starts`` random stabilizing gains K0 = K_1 + sigma ||K_1|| G (G standard
    normal, sigma cycling through 0.3, 1, 3, 10, K_1 the first equilibrium; only
    those with A - B K0 Schur stable), each by Newton's method and by the Lyapunov
    iteration. Every certified answer (residual <= tol, stable) is kept once: two
    equilibria are the same when ||K - K'||_F <= 1e-6 ||K||_F.

    The search is not exhaustive: one equilibrium found does not prove uniqueness.

    Parameters
    ----------
    A, B, Q, R, dims, M, discount : as in :func:`lq_nash` (or an LQGame without horizon)
    tol : float
        Certificate tolerance of every solve.
    n_starts : int
        Random starts (each tried by Newton and by the Lyapunov iteration).
    seed : int
        Seed of the random starts.
    first : LQNashSolution, optional
        An equilibrium already found (listed first).

    Returns
    -------
    tuple of LQNashSolution
        The distinct equilibria, ``first`` (or the default solve's) first, then in the
        order found; each solution's ``start`` says where it came from (``"random 3"``:
        the 4th random start).

    Examples
    --------
    >>> from gamesolve import lq_nash_equilibria
    >>> from gamesolve.examples import lq_example
    >>> g = lq_example()
    >>> len(lq_nash_equilibria(g.A, g.B, g.Q, g.R)) >= 2
    True
    """
    game = A if isinstance(A, LQGame) and discount == 1.0 else _discounted(_as_game(A, B, Q, R, dims, M), discount)
    if isinstance(A, LQGame) and discount == 1.0:
        _as_game(A, B, Q, R, dims, M)
    if first is None:
        first = _solve(game, None, _options("auto", tol, 1000, 5, 0, True), raise_on_failure=True)
    found = [first]

    def keep(sol, start):
        if sol.converged and all(np.linalg.norm(sol.K - e.K) > 1e-6 * np.linalg.norm(e.K) for e in found):
            sol.__dict__["start"] = start
            found.append(sol)

    try:
        keep(_solve(game, None, _options("riccati", tol, 1000, 5, 0, True), raise_on_failure=False), "P = Q")
    except (SolveError, InputError):
        pass
    A_, B_ = game.A[0], game.B[0]
    K1 = first.K
    scale = max(np.linalg.norm(K1), 1.0)
    rng = np.random.default_rng(seed)
    for t in range(int(n_starts)):
        K0 = K1 + rng.standard_normal(K1.shape) * scale * (0.3, 1.0, 3.0, 10.0)[t % 4]
        if np.max(np.abs(np.linalg.eigvals(A_ - B_ @ K0))) >= 1.0:
            continue
        for method in ("newton", "lyapunov"):
            keep(_solve(game, K0, _options(method, tol, 1000, 5, 0, True), raise_on_failure=False), f"random {t}")
    return tuple(found)


def _one_player(B, Q, R, M):
    """scipy's one-player call ``lq_nash(A, B, Q, R)``: a 2-D B (n, m) without dims, with 2-D Q (n, n)
    and R (m, m) (and M (m, n)), is the game of one player with all m controls."""
    if np.ndim(B) != 2 or np.ndim(Q) != 2:
        return B, Q, R, M, None
    B = as_float_array("B", B, ndim=2)
    R = as_float_array("R", R)
    if R.ndim != 2:
        raise InputError(f"R must be the (m, m) = {(B.shape[1],) * 2} control weight of the one-player call "
                         f"lq_nash(A, B, Q, R) (B 2-D, Q 2-D), got shape {R.shape}")
    if M is not None and np.ndim(M) == 2:
        M = as_float_array("M", M, ndim=2)[None]
    return B, as_float_array("Q", Q, ndim=2)[None], R[None], M, (B.shape[1],)


def guided_game(game: LQGame, K_guide, rho) -> LQGame:
    """The guided game of MA-GPS eq. 13 as an LQ game with cross terms.

    Player i also pays rho (u^i + Kg^i x)'R^{ii}(u^i + Kg^i x)
    = rho u^i'R^{ii}u^i + 2 rho u^i'R^{ii}Kg^i x + rho x'Kg^i'R^{ii}Kg^i x, so
    R^{ii} -> (1 + rho) R^{ii}, Q^i -> Q^i + rho Kg^i'R^{ii}Kg^i and
    M^i_[i] = rho R^{ii} Kg^i (the substitution is the C++ core's
    ``guided_problem``).
    """
    if game.M is not None:
        raise InputError("the guided game is defined for games without cross terms M")
    Kg = as_float_array("K_guide", K_guide, ndim=2)
    check_shape("K_guide", Kg, (game.m, game.n))
    try:
        rho = float(rho)
    except (TypeError, ValueError):
        raise InputError(f"rho must be a finite number >= 0, got {rho!r}") from None
    if not (math.isfinite(rho) and rho >= 0):
        raise InputError(f"rho must be a finite number >= 0, got {rho}")
    A, B, Q, R, _, dims = _arrays(game)
    Qh, Rh, Mh = _core.guided_game(A, B, Q, R, dims, Kg, rho)
    return replace(game, Q=_frozen(Qh[None]), R=_frozen(Rh[None]), M=_frozen(Mh[None]))


def _guided_args(A, B, Q, R, K_guide, rho):
    """(game arrays, K_guide, rho) of a guided call: ``f(A, B, Q, R, K_guide, rho)`` or ``f(game, K_guide, rho)``."""
    if isinstance(A, LQGame):
        if R is not None or K_guide is not None or rho is not None:
            raise InputError("with an LQGame, pass (game, K_guide, rho)")
        return (A, None, None, None), B, Q
    if rho is None:
        raise InputError("rho is required")
    return (A, B, Q, R), K_guide, rho


def guided_lq_nash(A, B, Q=None, R=None, K_guide=None, rho=None, *, dims=None, method="auto", K0=None, tol=1e-10,
                   max_iter=1000) -> LQNashSolution:
    """Nash equilibrium of the guided (policy-regularized) LQ game, MA-GPS eq. 13.

    Player i pays J^i(K) + rho E sum_t x_t'(K^i - Kg^i)'R^i(K^i - Kg^i)x_t. By
    the substitution of :func:`guided_game` this is an LQ game with R^{ii} ->
    (1 + rho) R^{ii}, Q^i -> Q^i + rho Kg^i'R^{ii}Kg^i and cross term
    M^i_[i] = rho R^{ii} Kg^i, solved by the same C++ solver as :func:`lq_nash`.
    The returned ``P`` is the guided value P-hat, ``game`` the guided game, and
    the equilibrium satisfies Lemma 2 of MA-GPS:
    R^i K^i = (B^i' P-hat^i A_K + rho R^i Kg^i) / (1 + rho).

    Parameters
    ----------
    A, B, Q, R, dims : as in :func:`lq_nash`
        Or ``guided_lq_nash(game, K_guide, rho, ...)`` with an LQGame.
    K_guide : (m, n) array_like
        The guiding policy Kg (stacked like K).
    rho : float >= 0
        Guidance weight; rho = 0 gives the original game.
    method, K0, tol, max_iter : as in :func:`lq_nash`

    Returns
    -------
    LQNashSolution

    Examples
    --------
    Guiding towards the Nash gain itself leaves the equilibrium in place (the
    extra cost and its gradient vanish there):

    >>> from gamesolve import guided_lq_nash, lq_nash
    >>> from gamesolve.examples import lq_example
    >>> g = lq_example()
    >>> Kg = lq_nash(g.A, g.B, g.Q, g.R).K
    >>> sol = guided_lq_nash(g.A, g.B, g.Q, g.R, Kg, 0.1)
    >>> bool(sol.residual <= 1e-12 and abs(sol.K - Kg).max() <= 1e-12)
    True
    """
    (A, B, Q, R), K_guide, rho = _guided_args(A, B, Q, R, K_guide, rho)
    game = guided_game(_as_game(A, B, Q, R, dims), K_guide, rho)
    options = _options(method, tol, max_iter, 5, 0, True)
    return _solve(game, K0, options, raise_on_failure=(method == "auto"))


# --------------------------------------------------------------------------- the equilibrium protocol


def _profile(game: LQGame, K) -> np.ndarray:
    K = as_float_array("K", K, ndim=2)
    check_shape("K", K, (game.m, game.n))
    return K


def policy_value(game: LQGame, K, *, x0=None, x0_cov=None) -> np.ndarray:
    """J^i(K) = x0'P_K^i x0 + tr(P_K^i x0_cov) of a stationary profile K, shape (N,); inf if K is not stabilizing."""
    P, _ = _core.lq_policy_value(*_arrays(game), _profile(game, K))
    if P is None:
        return np.full(game.N, np.inf)
    return expected_quadratic(P, *initial_moments(game.n, x0, x0_cov))


def _folded(game: LQGame, K, player: int) -> LQGame:
    """Player ``player``'s one-player game against the others' fixed gains K^{-i}.

    With u^{-i} = -K^{-i} x: A -> A - B^{-i}K^{-i};
    Q^i -> Q^i + K^{-i}'R^i_{-i,-i}K^{-i} - K^{-i}'M^i_{-i} - M^i_{-i}'K^{-i};
    R -> R^{ii}; M -> M^i_[i] - R^i_{i,-i}K^{-i}.
    """
    if not 0 <= int(player) < game.N:
        raise InputError(f"player must be in [0, {game.N}), got {player}")
    i = int(player)
    A, B, Q, R, M, _ = _arrays(game)
    own = np.zeros(game.m, bool)
    own[game.slices[i]] = True
    Ko = K[~own]
    Ri = R[i]
    Mi = np.zeros((game.m, game.n)) if M is None else M[i]
    KoMo = Ko.T @ Mi[~own]
    Qf = Q[i] + Ko.T @ Ri[np.ix_(~own, ~own)] @ Ko - KoMo - KoMo.T
    Mf = Mi[own] - Ri[np.ix_(own, ~own)] @ Ko
    arr = lambda a: _frozen(np.ascontiguousarray(a)[None])  # noqa: E731
    return replace(game, dims=(int(own.sum()),), A=arr(A - B[:, ~own] @ Ko), B=arr(B[:, own]),
                   Q=arr(0.5 * (Qf + Qf.T)[None]), R=arr(Ri[np.ix_(own, own)][None]), M=arr(Mf[None]))


def best_response(game: LQGame, K, player: int, *, x0=None, x0_cov=None):
    """Player ``player``'s best stationary gain against K^{-i} and its cost: ``(K^i, J^i)``.

    The one-player game of :func:`_folded` is an LQR problem (its DARE), solved
    by the core's ``lq_nash`` with N = 1. ``(None, inf)`` when no gain
    stabilizes it.
    """
    sub = _folded(game, _profile(game, K), player)
    try:
        sol = _solve(sub, None, _options("auto", 1e-12, 1000, 5, 0, True), raise_on_failure=True)
    except InputError as exc:  # no gain of player i stabilizes the system: every cost is infinite
        if "not stabilizable" not in str(exc):
            raise
        return None, np.inf
    return sol.K, float(expected_quadratic(sol.P[0], *initial_moments(game.n, x0, x0_cov)))


register_horizon_family("infinite", Family("infinite-horizon LQ game", policy_value, best_response))
