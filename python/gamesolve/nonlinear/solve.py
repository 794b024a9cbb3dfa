"""iLQGames: approximate feedback Nash equilibria of nonlinear games ([theory §6]).

Notation ([theory §1, §6]): joint state x (n), joint control u = [u^1; ...; u^N]
(m, sizes ``game.dims``), dynamics ``x_{t+1} = f(x_t, u_t)``, player i's total
cost ``J^i = sum_{t<T} c^i(x_t, u_t, t) + c^i(x_T, 0, T)``. Strategies are affine
feedback laws around a nominal trajectory (xs, us)::

    u_t = us_t - K_t (x_t - xs_t) - alpha k_t

Each iteration (Fridovich-Keil et al. 2020; [MA-GPS] section V; [Sparse-DP]
section 4.2) runs steps 1-3 on chunks of at most 64 active batch members at a
time (every member's iteration is independent of the others'; a chunk's
derivative arrays, local game, LQ solution and costates (about 12 MB) then stay
in cache from one step to the next -- on the 1024-start platooning batch the
LQ core's time per member drops by about a quarter):

1. **Derivatives** -- linearize f and quadraticize every c^i along (xs, us),
   all stages and the chunk's members in one vectorized call
   (:meth:`gamesolve.Game.lq_approximation`); nonconvex cost terms
   contribute the PSD projection of their Hessians, plus ``reg`` on the
   diagonals (Hessian regularization). Once a member's last trajectory change
   is below 0.3 the dynamics' curvature enters too (Newton / DDP term, for
   models with ``second_order``; built-ins add it into Q in place): ``Q^i_t += lam^i_{t+1}' f_xx / 2``,
   ``M^i_t = lam^i_{t+1}' f_ux / 2``, with player i's costate taken from the
   previous LQ solve's value function, ``lam^i_t = 2 (zeta^i_t + Z^i_t (x_t - x_t^prev))``
   (exact at a fixed point). Without it iLQGames is a Gauss-Newton method
   (linear convergence on unicycles).
2. **LQ solve** -- the local LQ game in deviation coordinates by the C++ core
   (the kernel behind :func:`gamesolve.solve_lq_games`, called directly on the
   already well-formed arrays: one call per chunk, solved on the core's threads;
   shared and time-invariant blocks passed once), giving K_t and the feedforward step k_t.
3. **Line search** on the feedforward step: trial steps
   ``alpha_0, alpha_0 beta, alpha_0 beta^2, ...`` (``beta = ls_factor``,
   ``ls_steps`` of them). **Acceptance rule**: the first trial whose
   closed-loop rollout is finite and whose trajectory change
   ``max_t |x_t(alpha) - xs_t|_inf`` is at most ``max_step`` (a trust region
   on the state trajectory; default unlimited). If none qualifies the member
   stops with status ``line_search_failed`` at its last accepted trajectory
   and strategies. The first trial is rolled out for every member; the others
   only for the members that rejected it, all of them in one rollout (built-in
   dynamics: the C++ kernel ``_core.rollout_feedback``; other dynamics: one
   vectorized numpy loop over t). **Step control**: ``alpha_0`` starts at 1;
   after an accepted step whose trajectory change reverses the previous one
   (cosine < -0.3) without shrinking below half its norm -- the period-2
   oscillation full iLQGames steps fall into, e.g. on platooning -- the next
   ``alpha_0`` is half the accepted step, otherwise twice it (at most 1, at
   least ``beta^3``). **Secant step**: once the trajectory change is at most 1
   and two consecutive changes lie along one line (|cosine| > 0.8), the
   iteration is treated as linear in its dominant mode: with unit steps
   ``d = dX / alpha``, ``d_new = (1 + alpha_prev (rho - 1)) d_prev`` gives that
   mode's rate ``rho``, and ``alpha_0 = 1 / (1 - rho)`` (for
   ``0.05 < |rho| < 0.9``, at most 4) lands on its fixed point: a damped step
   for the oscillating tail (``rho < 0``; platooning's is about -0.4), an
   extrapolated one (``alpha_0 > 1``) for a monotone one. It changes only the
   first trial step; the acceptance rule and the convergence test are the same.
4. **Convergence** -- a member has converged when its last accepted step
   changed the trajectory by at most ``tol`` (inf-norm) AND its first-order
   Nash residual is at most ``grad_tol``. The residual is
   ``max_i max_t |dJ^i / du^i_t|``: the gradient of player i's total cost with
   respect to its own open-loop controls while the others keep their feedback
   strategies ``u^j_t = us^j_t - K^j_t (x_t - xs_t)``; it is zero exactly at a
   stationary point of every player's unilateral problem. It is computed by a
   backward (adjoint) pass, vectorized over players and batch::

       lam^i_T = grad_x c^i(x_T, 0)
       g^i_t   = grad_{u^i} c^i_t + B^i_t' lam^i_{t+1}                  (the residual)
       lam^i_t = grad_x c^i_t - K^{-i}_t' (grad_{u^{-i}} c^i_t + B^{-i}_t' lam^i_{t+1}) + A_t' lam^i_{t+1}

   Nonsmooth terms (the basketball hinge) enter with their subgradient; a
   trajectory that sits on a kink can make the iteration chatter, which is
   reported as ``max_iterations``.

Statuses (:class:`gamesolve.Status`): ``converged``, ``max_iterations``,
``line_search_failed``, ``diverged`` (non-finite trajectory or derivatives; a local LQ game whose
recursion meets non-finite numbers -- only the members concerned stop; or a
local game whose own-control Hessian R^{ii} is not positive definite -- use
``convex=True`` / ``reg``; in a batch that one stops every member still
iterating). Nothing unconverged is labelled converged.

The loop (:func:`_iterate`) is a few lines of calls to the parts of one
iteration, each acting on one chunk of members and their state (:class:`_Members`):
:func:`_local_game`, :func:`_convergence_test`, :func:`_newton_term`,
:func:`_solve_local` (with :func:`_fold` for a best response), :func:`_line_search`
(:func:`_rollout`), :func:`_step_control`, :func:`_update_costates`.
"""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass, field, replace

import numpy as np

from .._validate import as_float_array, check_scale, int_option, real_option
from ..errors import InputError
from ..results import Info, Status, summary
from .approximation import LQApproximation
from .game import Game, as_game
__all__ = ["ilqgames", "ILQGamesResult", "IterationRecord"]

#: The second-order (Newton) dynamics terms are used once a member's last trajectory change is below this:
#: far from a solution the lagged costates can make the local game's Hessians indefinite.
_SO_SWITCH = 0.3
#: Step control: a trajectory change whose cosine with the previous one is below this counts as a reversal.
_REVERSAL = -0.3
#: Step control, secant step: consecutive unit steps count as one direction when their |cosine| is above this,
_PARALLEL = 0.8
#: for trajectory changes at most this,
_SECANT_LOCAL = 1.0
#: and the secant step is at most this.
_SECANT_MAX = 4.0
#: Iteration records whose costs are still to be evaluated, at most this many member trajectories.
_LOG_CHUNK = 4096
#: Members per chunk of an iteration (their arrays stay in cache from the derivatives to the costates).
_CHUNK = 64
_PHASES = ("rollout", "derivatives", "lq_solve", "line_search", "residual")


@dataclass(frozen=True)
class IterationRecord:
    """One iteration of :func:`ilqgames` (arrays over the members active in it).

    Attributes
    ----------
    iteration : int
    active : (B,) int array
        Batch indices of the members iterated.
    alpha : (B,) array
        Accepted step sizes (0 where the line search failed).
    step : (B,) array
        Trajectory change of the accepted step, ``max_t |x_t - xs_t|_inf``.
    nash_residual : (B,) array
        Last computed first-order Nash residual (it is evaluated only once a
        member's trajectory change is at most ``tol``; NaN before).
    costs : (B, N) array
        Players' total costs after the step.
    singular_stages : int
        LQ stage systems solved for the minimum-norm equilibrium.
    """

    iteration: int
    active: np.ndarray
    alpha: np.ndarray
    step: np.ndarray
    nash_residual: np.ndarray
    costs: np.ndarray
    singular_stages: int


@dataclass(frozen=True, repr=False)
class ILQGamesResult:
    """Result of :func:`ilqgames`. A batched call adds a leading batch axis to every array.

    Attributes
    ----------
    xs : ([B,] T+1, n) array
        State trajectory under the returned strategies.
    us : ([B,] T, m) array
        Controls along it.
    K : ([B,] T, m, n) array
        Feedback gains.
    k : ([B,] T, m) array
        Feedforward terms of the strategies in the global [theory §1] form
        ``u_t = -K_t x_t - k_t``, i.e. ``k_t = -(us_t + K_t xs_t)``.
    costs : ([B,] N) array
        Players' total costs of (xs, us).
    converged : bool or (B,) bool array
    iterations : int or (B,) int array
        LQ solves performed for each member.
    status : Status or (B,) object array of Status
        ``converged`` / ``max_iterations`` / ``line_search_failed`` / ``diverged``
        (:class:`gamesolve.Status`).
    nash_residual : float or (B,) array
        First-order Nash residual at the returned solution (NaN if the trajectory
        change never dropped below ``tol``, so it was never evaluated).
    step : float or (B,) array
        Trajectory change of the last accepted step.
    log : tuple of IterationRecord
    timings : dict
        Seconds spent in ``rollout``, ``derivatives``, ``lq_solve``,
        ``line_search`` (backtracking rollouts and acceptance tests) and
        ``residual``, summed over the iterations.
    info : Info
        ``iterations``, ``residual`` (= ``nash_residual``), ``residuals`` (the Nash
        residual of the trajectory after each iteration, NaN where it was not
        evaluated) and the wall ``time`` of the call. Batched: the most
        iterations, the largest final residual, residuals ``(B, iterations)``.
    game : Game
        The game solved (for :meth:`nash_gap`).
    """

    xs: np.ndarray
    us: np.ndarray
    K: np.ndarray
    k: np.ndarray
    costs: np.ndarray
    converged: object
    iterations: object
    status: object
    nash_residual: object
    step: object
    log: tuple
    timings: dict
    info: Info
    game: Game

    def __repr__(self) -> str:
        status = self.status
        if np.ndim(status):
            status = f"{int(np.count_nonzero(self.converged))}/{np.size(status)} converged"
        return summary("ILQGamesResult", status, {"iterations": self.iterations, "costs": self.costs,
                                                 "nash_residual": self.nash_residual, "K": self.K})

    def nash_gap(self, x0=None, **options):
        """The Nash gap of the returned feedback strategies from ``x0`` (default: ``xs[..., 0, :]``), by the
        nonlinear family's local best responses (:func:`gamesolve.nonlinear.nash.best_response`;
        ``options`` go to its iLQR solve)."""
        from . import nash

        x0 = self.xs[..., 0, :] if x0 is None else x0
        return nash.nash_gap(self.game, self, x0=x0, horizon=self.us.shape[-2], **options)


# --------------------------------------------------------------------------- #


def _rollout(game, x0, xs, us, K, k, alpha):
    """Closed-loop rollout ``u_t = us_t - K_t (x_t - xs_t) - alpha k_t`` of B members and C candidates.

    x0 (B, n); xs (B, T+1, n); us (B, T, m); K (B, T, m, n); k (B, T, m);
    alpha (C, B). Returns new states (C, B, T+1, n) and controls (C, B, T, m).
    Built-in dynamics (those with ``kernel_blocks``) run in the C++ kernel
    ``_core.rollout_feedback`` (one sequential loop over t per trajectory, GIL
    released); any other dynamics ``f(x, u)`` are stepped here, vectorized over
    members and candidates (one call of f per stage). Both are checked against
    the plain per-trajectory loop of ``tests/rollout_reference.py``.
    """
    spec = getattr(game.dynamics, "kernel_blocks", None)
    spec = spec() if spec is not None else None
    if spec is not None:
        from .. import _core

        return _core.rollout_feedback(spec, x0, xs, us, K, k, alpha)
    C, Bn = alpha.shape
    T = us.shape[-2]
    uff = us[None] - alpha[:, :, None, None] * k[None]  # (C, B, T, m)
    X = np.empty((C, Bn, T + 1, game.n))
    U = np.empty((C, Bn, T, game.m))
    x = np.broadcast_to(x0, (C, Bn, game.n))
    X[:, :, 0] = x
    for t in range(T):
        u = uff[:, :, t] - (K[:, t] @ (x - xs[:, t])[..., None])[..., 0]
        U[:, :, t] = u
        x = game.dynamics(x, u)
        X[:, :, t + 1] = x
    return X, U


def _nash_residual(lq, K, own_rows):
    """First-order Nash residual ``max_i max_t |dJ^i/du^i_t|`` per member by one backward (adjoint) pass.

    ``lq``: LQApproximation along the current trajectory (q = g_x/2, r = g_u/2),
    every array with a leading batch axis of size B or 1; ``K (B, T, m, n)``: the
    feedback the others keep; ``own_rows (N, m)``: player i's control rows.
    All players and members at once; see the module docstring for the recursion.
    """
    Bn, T = K.shape[:2]
    N, n = lq.qT.shape[-2:]
    At = np.swapaxes(lq.A, -1, -2)[:, :, None]  # (B|1, T, 1, n, n)
    Bt = np.swapaxes(lq.B, -1, -2)[:, :, None]  # (B|1, T, 1, m, n)
    Kt = np.swapaxes(K, -1, -2)[:, :, None]  # (B, T, 1, n, m)
    gx, gu = 2.0 * lq.q[..., None], 2.0 * lq.r[..., None]  # (B|1, T, N, n|m, 1)
    others = (~own_rows)[..., None]
    G = np.empty((Bn, T, N, own_rows.shape[1], 1))
    lt = np.broadcast_to(2.0 * lq.qT[..., None], (Bn, N, n, 1))
    for t in range(T - 1, -1, -1):
        g = gu[:, t] + Bt[:, t] @ lt  # grad_u c^i + B' lam^i, (B, N, m, 1)
        G[:, t] = g
        lt = gx[:, t] + At[:, t] @ lt - Kt[:, t] @ (g * others)
    return np.max(np.abs(G[..., 0]) * own_rows, axis=(1, 2, 3))


def _core_array(a, lead):
    """``a`` as the core wants it: C-contiguous float64 ``(B|1, T|1, *block)``; a time axis of stride 0
    (time-invariant data, e.g. a double integrator's A, B) is passed once."""
    if a is None:
        return None
    if lead:
        a = a[:, None]
    elif a.shape[1] > 1 and a.strides[1] == 0:
        a = a[:, :1]
    return np.ascontiguousarray(a, dtype=float)


def _solve_lq(lq, dims, checked=None):
    """The local LQ games by the C++ core: K, k, Z, zeta (deviation coordinates), min-norm stage count, and
    a (B,) mask of the members whose recursion met non-finite numbers (overflow / NaN data). ``checked``:
    a set of the (small) R arrays already found valid, to skip re-checking them.

    Arrays carry a batch axis of size B or 1 (1 = shared, passed once). The data are well-formed by
    construction (shapes from :meth:`Game.lq_approximation`, symmetric Hessians), so the core is called
    directly, without :func:`gamesolve.solve_lq_games`' validation; the one structural requirement the
    recursion does not check itself, own-control blocks R^{ii} positive definite, is checked here
    (in C++, by the same rule as :func:`gamesolve.lq_game`; InputError otherwise). Raises nothing else:
    non-finite stages come back in the mask.
    """
    from .. import _core
    from ..lq import finite as L

    args = [_core_array(a, name in ("QT", "qT")) for name, a in zip(lq._fields, lq)]
    A, B, Q, q, R, r, QT, qT, M = args
    key = R.tobytes() if checked is not None and R.size <= 4096 else None  # R is usually the same every time
    check_R = key is None or key not in checked
    batch = max(a.shape[0] for a in lq if a is not None)
    T = lq.A.shape[1]
    out = _core.solve_lq_games(list(dims), lq.A.shape[-1], T, batch, A, B, Q, q, R, r, M, None, QT, qT,
                               L._num_threads, L.RCOND_TOL, L.RANK_TOL, check_R=check_R)
    if check_R and key is not None:
        checked.add(key)
    st = out.stage_status
    return out.K, out.k, out.Z, out.zeta, out.n_min_norm_stages, (st == 2).any(axis=1)


def _compact(a):
    """Keep one copy of data shared by the whole batch (a stride-0 batch axis becomes size 1)."""
    if a is None:
        return None
    a = np.asarray(a)
    return a[:1] if a.shape[0] > 1 and a.strides[0] == 0 else a


def _take(a, sel):
    """Members ``sel`` of a batch-axis array (size-1 shared axes pass through)."""
    return a if a is None or a.shape[0] == 1 else a[sel]


def ilqgames(game: Game, x0, *, horizon: int, us0=None, max_iter: int = 100, tol: float = 1e-6,
             grad_tol: float = 1e-6, max_step: float = np.inf, ls_factor: float = 0.5, ls_steps: int = 12,
             reg: float = 0.0, convex: bool = True, second_order: bool = True,
             verbose: bool = False) -> ILQGamesResult:
    """Approximate feedback Nash equilibrium of a nonlinear game by iterated LQ games ([theory §6]).

    Parameters
    ----------
    game : Game or LQ game
        Dynamics and per-player costs (:class:`gamesolve.Game`, e.g. from
        :mod:`gamesolve.examples`), or an LQ game (``examples.lq_example()``,
        anything with ``A, B, Q, R, dims``), converted by
        :func:`gamesolve.nonlinear.game.as_game`.
    x0 : (n,) or (B, n) array_like
        Initial state, or a batch of initial states solved together (each
        member iterates until its own convergence; the active members share
        vectorized rollouts, derivative calls and C++ LQ calls, one per
        chunk of at most 64 members per iteration).
    horizon : int
        T, the number of stages.
    us0 : (T, m) or (B, T, m) array_like, optional
        Initial open-loop controls (default zero).
    max_iter : int
        Maximum LQ solves per member.
    tol : float
        Convergence threshold on the trajectory change ``max_t |x_t - x_t^prev|_inf``.
    grad_tol : float
        Convergence threshold on the first-order Nash residual (see module docstring).
    max_step : float
        Trust region of the line search on the trajectory change (default: no limit).
    second_order : bool
        Add the dynamics' curvature weighted by the players' costates near
        convergence (module docstring, step 1).
    ls_factor : float in (0, 1)
        Backtracking factor beta of the step size alpha.
    ls_steps : int
        Number of trial steps per iteration, ``alpha_0 beta^j`` for ``j < ls_steps``.
    reg : float
        Added to the diagonals of every Q^i and of player i's own R^{ii}.
    convex : bool
        Use the PSD part of nonconvex cost Hessians (Ring, Proximity, callables).
    verbose : bool
        Print one line per iteration (the residual shown is the largest the
        iteration's log holds, ``nan`` while none was evaluated).

    Returns
    -------
    ILQGamesResult
        ``xs, us, K, k, costs, converged, iterations, status, nash_residual,
        step, log, timings, info``; with batched x0 every array gains the batch axis.

    Raises
    ------
    InputError
        Wrong shapes or non-finite x0 / us0, or invalid options.

    Notes
    -----
    The local LQ game at iteration j is, in deviations ``dx = x - xs``,
    ``du = u - us``: ``dx_{t+1} = A_t dx_t + B_t du_t`` with player i's cost
    ``dx'Q dx + 2 q'dx + du'R du + 2 r'du``, ``Q = H_xx/2``, ``q = g_x/2``,
    ``R = H_uu/2``, ``r = g_u/2`` ([theory §1] has no 1/2). Its feedback Nash
    solution ``du = -K dx - k`` ([theory §2]) gives the new strategy
    ``u = us - K (x - xs) - alpha k``. For an LQ game the approximation is
    exact, so one full step lands on :func:`gamesolve.solve_lq_game`'s
    equilibrium and the second iteration confirms it.

    Examples
    --------
    >>> import gamesolve
    >>> g = gamesolve.examples.platooning()
    >>> res = gamesolve.ilqgames(g, g.x0, horizon=20)
    >>> res.status == "converged", bool(res.nash_residual < 1e-6)
    (True, True)
    """
    t_start = time.perf_counter()
    game = as_game(game)
    X0, U, batched = _initial_controls(game, x0, horizon, us0)
    opts = _Settings(max_iter, tol, grad_tol, max_step, ls_factor, ls_steps, reg, convex,
                     _has_newton(game, second_order), verbose)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # divergence is a status, not a warning
        tic = time.perf_counter()
        X = game.rollout_open_loop(X0, U)
        t_rollout = time.perf_counter() - tic
        s = _Members.start(X0, X, U, np.zeros(U.shape + (game.n,)), game.N, opts.newton)
        log, ws = _run(game, s, opts, _control_rows(game))
        ws.timings["rollout"] += t_rollout
        return _result(game, s, batched, log, ws, time.perf_counter() - t_start)


def _initial_controls(game, x0, horizon, us0):
    """Checked ``X0 (B, n)``, initial controls ``U (B, T, m)`` (default zero) and whether x0 was batched."""
    T = int_option("horizon", horizon, low=1)
    x0 = as_float_array("x0", x0, ndim=(1, 2))
    check_scale("x0", x0)
    batched = x0.ndim == 2
    if x0.shape[-1] != game.n:
        raise InputError(f"x0 must have shape ({game.n},) or (B, {game.n}), got {x0.shape}")
    X0 = x0 if batched else x0[None]
    Bn = X0.shape[0]
    if us0 is None:
        return X0, np.zeros((Bn, T, game.m)), batched
    us0 = as_float_array("us0", us0, ndim=(2, 3))
    check_scale("us0", us0)
    if us0.shape[-2:] != (T, game.m) or (us0.ndim == 3 and us0.shape[0] != Bn):
        want = f"({T}, {game.m})" + (f" or ({Bn}, {T}, {game.m})" if batched else "")
        raise InputError(f"us0 must have shape {want}, got {us0.shape}")
    return X0, np.array(np.broadcast_to(us0, (Bn, T, game.m))), batched


def _control_rows(game, player=None):
    """The players' control rows ``(N, m)`` bool (one row: ``player``'s, for its best response)."""
    own = np.zeros((game.N, game.m), dtype=bool)
    for i in range(game.N):
        own[i, game.control_slice(i)] = True
    return own if player is None else own[player:player + 1]


def _has_newton(game, second_order):
    return bool(second_order) and getattr(game.dynamics, "second_order", None) is not None


def _run(game, s, opts, own):
    """Iterate (:func:`_iterate`) with a fresh workspace; divergence is a status, not a warning."""
    so_base = opts.newton and "base" in inspect.signature(game.dynamics.second_order).parameters
    ws = _Workspace(own, dict.fromkeys(_PHASES, 0.0), so_base)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        log = _iterate(game, s, opts, ws)
    return log, ws


def _result(game, s, batched, log, ws, wall):
    """The :class:`ILQGamesResult` of the members' final state (global feedforward ``k = -(us + K xs)``)."""
    T = s.U.shape[1]
    costs = game.total_costs(s.X, s.U)
    # A member whose certificate or costs are not finite never counts as converged.
    bad = (s.status == Status.CONVERGED) & ~(np.isfinite(costs).all(axis=-1) & np.isfinite(s.resid))
    s.status[bad] = Status.DIVERGED
    kglob = -(s.U + np.einsum("btmn,btn->btm", s.K, s.X[:, :T]))
    status = np.array([Status(v) for v in s.status], dtype=object)
    history = np.full((s.X.shape[0], int(s.iters.max(initial=0))), np.nan)
    for it, members, r in ws.residuals:  # the test at iteration it sees the trajectory after it - 1 iterations
        if it >= 2:
            history[members, it - 2] = r
    conv = s.status == Status.CONVERGED
    if batched:  # the batch's info: the most iterations, the largest final residual, (B, iterations) history
        worst = float(np.nanmax(s.resid)) if np.isfinite(s.resid).any() else float("nan")
        info = Info(int(s.iters.max(initial=0)), worst, history, wall)
        return ILQGamesResult(s.X, s.U, s.K, kglob, costs, conv, s.iters, status, s.resid, s.step, log,
                              ws.timings, info, game)
    info = Info(int(s.iters[0]), float(s.resid[0]), history[0, :s.iters[0]], wall)
    return ILQGamesResult(s.X[0], s.U[0], s.K[0], kglob[0], costs[0], bool(conv[0]), int(s.iters[0]), status[0],
                          float(s.resid[0]), float(s.step[0]), log, ws.timings, info, game)


# --------------------------------------------------------------------------- #
# The iteration's state and settings


@dataclass(frozen=True)
class _Settings:
    """The validated options of :func:`ilqgames` (``newton``: the curvature term is on and the dynamics have it;
    ``player``: best-response mode -- only that player's strategy changes, the others keep their rows of K)."""

    max_iter: int
    tol: float
    grad_tol: float
    max_step: float
    ls_factor: float
    ls_steps: int
    reg: float
    convex: bool
    newton: bool
    verbose: bool = False
    player: int | None = None

    def __post_init__(self):
        ints = dict(max_iter=int_option("max_iter", self.max_iter, low=1),
                    ls_steps=int_option("ls_steps", self.ls_steps, low=1))
        reals = dict(tol=real_option("tol", self.tol, low=0.0), grad_tol=real_option("grad_tol", self.grad_tol, low=0.0),
                     max_step=real_option("max_step", self.max_step, low=0.0, low_open=True, allow_inf=True),
                     ls_factor=real_option("ls_factor", self.ls_factor, low=0.0, high=1.0, low_open=True),
                     reg=real_option("reg", self.reg, low=0.0))
        if reals["ls_factor"] == 1.0:
            raise InputError("ls_factor must be in (0, 1), got 1.0")
        for name, v in {**ints, **reals, "convex": bool(self.convex), "verbose": bool(self.verbose)}.items():
            object.__setattr__(self, name, v)


@dataclass(eq=False)
class _Members:
    """Per-member state of the iteration: one row per batch member in every array.

    ``X0 (B, n)``; the current trajectory ``X (B, T+1, n)``, ``U (B, T, m)`` and the gains ``K (B, T, m, n)``
    of the strategies that produced it (``have_K``: a solve has happened); ``iters``, ``status`` (the
    :class:`~gamesolve.results.Status` values), ``step`` (last trajectory change), ``resid`` (last Nash
    residual); the step control's memory ``amax`` (next first trial step), ``dX_prev``, ``dX_sq``,
    ``a_prev`` (last accepted change, its squared norm, its step); ``lam (B, T, N, n)``: the costates for the
    Newton term (None without it).
    """

    X0: np.ndarray
    X: np.ndarray
    U: np.ndarray
    K: np.ndarray
    iters: np.ndarray
    status: np.ndarray
    step: np.ndarray
    resid: np.ndarray
    have_K: np.ndarray
    amax: np.ndarray
    dX_prev: np.ndarray
    dX_sq: np.ndarray
    a_prev: np.ndarray
    lam: np.ndarray | None

    @classmethod
    def start(cls, X0, X, U, K, n_players: int, newton: bool):
        Bn, T = U.shape[:2]
        return cls(X0, X, U, K, np.zeros(Bn, dtype=int), np.full(Bn, _RUNNING, dtype="<U18"), np.full(Bn, np.inf),
                   np.full(Bn, np.nan), np.zeros(Bn, dtype=bool), np.ones(Bn), np.zeros_like(X), np.zeros(Bn),
                   np.zeros(Bn), np.zeros((Bn, T, n_players, X.shape[-1])) if newton else None)


@dataclass(eq=False)
class _Workspace:
    """What the iteration keeps besides the members' state: the players' control rows ``own (N', m)`` (N' = 1
    in best-response mode), the phase timings, the kept Newton buffer of the shared Q (``q_keep``: buffer, its
    base), the control Hessians already checked (``checked``) and whether the model's ``second_order`` takes
    ``base``."""

    own: np.ndarray
    timings: dict
    so_base: bool
    q_keep: tuple | None = None
    checked: set = field(default_factory=set)
    iteration: int = 0
    residuals: list = field(default_factory=list)  # (iteration, members, Nash residuals) of every test
    held: list = field(default_factory=lambda: [None] * 4)  # the last local game, solution, line search, change

    def clock(self, phase, tic):
        self.timings[phase] += time.perf_counter() - tic
        return time.perf_counter()


class _Indefinite(Exception):
    """A local game whose own-control Hessian R^{ii} is not positive definite."""


_RUNNING = str(Status.MAX_ITERATIONS)  # the status of a member still iterating (it is its status if it stops now)


# --------------------------------------------------------------------------- #
# The parts of one iteration (each acts on the members ``idx`` of one chunk)


def _local_game(game, s, idx, opts):
    """The local LQ game along the members' trajectories (shared arrays kept once), restricted to the
    best-responding player in best-response mode, and the mask of members with finite trajectories and
    derivatives (Hessians and Jacobians of finite points are finite for the built-ins; a callable that returns
    NaN there shows up in the LQ solve as a non-finite stage)."""
    xa, ua = s.X[idx], s.U[idx]
    lq = LQApproximation(*(_compact(a) for a in game.lq_approximation(xa, ua, convex=opts.convex, reg=opts.reg)))
    finite = (np.isfinite(xa).all(axis=(1, 2)) & np.isfinite(lq.q).all(axis=(1, 2, 3))
              & np.isfinite(lq.A).all(axis=(1, 2, 3)))
    if opts.player is not None:
        i = slice(opts.player, opts.player + 1)
        lq = lq._replace(Q=lq.Q[:, :, i], q=lq.q[:, :, i], R=lq.R[:, :, i], r=lq.r[:, :, i], QT=lq.QT[:, i],
                         qT=lq.qT[:, i])
    return lq, finite


def _convergence_test(s, idx, lq, finite, opts, ws):
    """Nash residual of the settled members (trajectory change at most ``tol``, with the strategies that
    produced the trajectory); those with residual at most ``grad_tol`` have converged, non-finite ones
    diverged. Returns the mask of the members that iterate on."""
    check = s.have_K[idx] & finite & (s.step[idx] <= opts.tol)
    if check.any():
        sel = np.flatnonzero(check)
        r_sel = _nash_residual(LQApproximation(*(_take(a, sel) for a in lq)), s.K[idx[sel]], ws.own)
        s.resid[idx[sel]] = r_sel
        ws.residuals.append((ws.iteration, idx[sel], r_sel))
        s.status[idx[sel[r_sel <= opts.grad_tol]]] = Status.CONVERGED
    s.status[idx[~finite]] = Status.DIVERGED
    return s.status[idx] == _RUNNING


def _newton_term(game, s, idx, lq, ws):
    """Add the dynamics' curvature weighted by the costates to the local game of the members near convergence
    (trajectory change at most ``_SO_SWITCH``): ``Q^i_t += lam^i_{t+1}' f_xx / 2``, ``M^i_t = lam^i_{t+1}' f_ux / 2``
    (module docstring, step 1). Built-in dynamics add it in place into one kept copy of a shared Q."""
    local = s.have_K[idx] & (s.step[idx] <= _SO_SWITCH)
    if not local.any():
        return lq
    dyn, T = game.dynamics, s.U.shape[1]
    xa, ua = s.X[idx], s.U[idx]
    if getattr(dyn, "second_order_out", False):
        lam = s.lam[idx]  # the members that are not local get a zero costate: Q unchanged, M = 0
        if not local.all():
            lam[~local] = 0.0
        base = None
        if lq.Q.shape[0] == 1 and ws.so_base:  # Hessians shared by the batch: one kept buffer
            if ws.q_keep is None or not np.array_equal(ws.q_keep[1], lq.Q):
                ws.q_keep = (np.empty((min(s.X.shape[0], _CHUNK),) + lq.Q.shape[1:]), np.array(lq.Q))
                ws.q_keep[0][...] = lq.Q
            Hxx, base = ws.q_keep[0][:idx.size], ws.q_keep[1]
        else:
            Hxx = np.empty((idx.size,) + lq.Q.shape[1:])
            Hxx[...] = lq.Q
        out = dyn.second_order(xa[:, :T, None, :], ua[:, :T, None, :], lam, out=Hxx, scale=0.5,
                               **({} if base is None else {"base": base}))
        return lq if out is None else lq._replace(Q=out[0], M=None if out[1] is None else 0.5 * out[1])
    li = np.flatnonzero(local)  # other dynamics: the curvature of the local members, scattered into the chunk
    whole = li.size == idx.size
    xl, ul = (xa, ua) if whole else (xa[li], ua[li])
    out = dyn.second_order(xl[:, :T, None, :], ul[:, :T, None, :], s.lam[idx] if whole else s.lam[idx[li]])
    if out is None:
        return lq
    Hxx = 0.5 * out[0] + (lq.Q if whole else _take(lq.Q, li))
    Mh = None if out[1] is None else 0.5 * out[1]
    if not whole:  # the others keep Q, M = 0
        Qf = np.empty((idx.size,) + Hxx.shape[1:])
        Qf[...] = lq.Q
        Qf[li] = Hxx
        Hxx = Qf
        if Mh is not None:
            Mf = np.zeros((idx.size,) + Mh.shape[1:])
            Mf[li] = Mh
            Mh = Mf
    return lq._replace(Q=Hxx, M=Mh)


def _fold(lq, K, own):
    """Player i's best-response problem as a one-player LQ game (deviation coordinates): the others keep
    ``du^j = -K^j dx``, i.e. ``du = E dv + G dx`` with ``G = -K`` on their rows (0 on player i's, ``own``), so
    ``A' = A + B G``, ``B' = B E``, ``Q' = Q + G'R G + G'M + M'G``, ``q' = q + G'r``, ``R' = E'R E``,
    ``r' = E'r``, ``M' = E'(R G + M)`` (``lq`` already restricted to player i)."""
    G = -K.copy()
    G[:, :, own] = 0.0
    Gp = G[:, :, None]  # (b, T, 1, m, n)
    RG = lq.R @ Gp
    Mfull = RG if lq.M is None else RG + lq.M
    Gt = np.swapaxes(Gp, -1, -2)
    Q = lq.Q + Gt @ RG
    if lq.M is not None:
        GtM = Gt @ lq.M
        Q = Q + GtM + np.swapaxes(GtM, -1, -2)
    q = lq.q + (Gt @ lq.r[..., None])[..., 0]
    return LQApproximation(lq.A + lq.B @ G, lq.B[..., own], Q, q, lq.R[..., own, :][..., own],
                           lq.r[..., own], lq.QT, lq.qT, Mfull[..., own, :])


def _solve_local(lq, s, idx, opts, ws, dims):
    """The local LQ game's feedback Nash solution (best-response mode: player i's LQR against the others'
    gains, expanded to the joint K, k with the others' rows kept, k = 0 there): K, k, Z, zeta, min-norm stage
    count, non-finite mask. Raises :class:`_Indefinite` if some R^{ii} is not positive definite."""
    if opts.player is None:
        try:
            return _solve_lq(lq, dims, ws.checked)
        except InputError as err:
            raise _Indefinite from err
    own = ws.own[0]
    Kp = s.K[idx]
    try:
        Ki, ki, Z, zeta, n_sing, bad = _solve_lq(_fold(lq, Kp, own), (dims[opts.player],), ws.checked)
    except InputError as err:
        raise _Indefinite from err
    K, k = Kp.copy(), np.zeros(Kp.shape[:3])
    K[:, :, own], k[:, :, own] = Ki, ki
    return K, k, Z, zeta, n_sing, bad


def _line_search(game, s, idx, K, kdev, opts, ws):
    """Backtracking on the feedforward step (module docstring, step 3): the first trial ``amax`` for every
    member, ``amax beta^j`` for those who reject it. Returns the accepted trajectories, steps (0 where none
    qualifies) and trajectory changes (inf there)."""
    xa, ua = s.X[idx], s.U[idx]
    a0 = s.amax[idx]
    tic = time.perf_counter()
    Xn, Un = _rollout(game, s.X0[idx], xa, ua, K, kdev, a0[None])
    ws.clock("rollout", tic)
    newX, newU = Xn[0], Un[0]
    dev = np.abs(newX - xa).max(axis=(1, 2))
    ok = np.isfinite(dev) & (dev <= opts.max_step)
    acc_alpha = np.where(ok, a0, 0.0)
    acc_dev = np.where(ok, dev, np.inf)
    if not ok.all() and opts.ls_steps > 1:
        rej = np.flatnonzero(~ok)
        cand = a0[rej][None] * opts.ls_factor ** np.arange(1, opts.ls_steps)[:, None]  # (C, R)
        Xc, Uc = _rollout(game, s.X0[idx[rej]], xa[rej], ua[rej], K[rej], kdev[rej], cand)
        devc = np.abs(Xc - xa[rej][None]).max(axis=(2, 3))  # (C, R)
        okc = np.isfinite(devc) & (devc <= opts.max_step)
        first = np.argmax(okc, axis=0)
        cols = np.flatnonzero(okc[first, np.arange(rej.size)])
        pick = rej[cols]
        newX[pick], newU[pick] = Xc[first[cols], cols], Uc[first[cols], cols]
        acc_alpha[pick] = cand[first[cols], cols]
        acc_dev[pick] = devc[first[cols], cols]
    return newX, newU, acc_alpha, acc_dev


def _step_control(s, idx, dX, acc_alpha, acc_dev, opts):
    """The next first trial step (module docstring, step 3): half the accepted step after a reversal that did not
    shrink the change to half, twice it otherwise (in ``[beta^3, 1]``); the secant step ``1 / (1 - rho)`` on a
    linear tail. Updates ``amax`` and the memory of the last accepted change."""
    good = acc_alpha > 0.0
    sq, sq_prev = np.einsum("btn,btn->b", dX, dX), s.dX_sq[idx]
    dot = np.einsum("btn,btn->b", dX, s.dX_prev[idx])
    rev = (dot < _REVERSAL * np.sqrt(sq * sq_prev)) & (sq > 0.25 * sq_prev)
    nxt = np.minimum(np.maximum(np.where(rev, acc_alpha * opts.ls_factor, acc_alpha / opts.ls_factor),
                                opts.ls_factor ** 3), 1.0)
    ap = s.a_prev[idx]
    par = good & (ap > 0.0) & (np.abs(dot) > _PARALLEL * np.sqrt(sq * sq_prev)) & (acc_dev <= _SECANT_LOCAL)
    if par.any():  # unit steps d = dX / alpha of the dominant mode: d = (1 + alpha_prev (rho - 1)) d_prev
        ratio = np.where(par, dot / np.where(par, sq_prev, 1.0) * ap / np.where(par, acc_alpha, 1.0), 0.0)
        rho = 1.0 - (1.0 - ratio) / np.where(par, ap, 1.0)
        sec = par & (np.abs(rho) > 0.05) & (np.abs(rho) < 0.9)
        nxt = np.where(sec, np.minimum(1.0 / (1.0 - np.where(sec, rho, 0.0)), _SECANT_MAX), nxt)
    s.amax[idx] = np.where(good, nxt, s.amax[idx])
    s.dX_prev[idx[good]], s.dX_sq[idx[good]], s.a_prev[idx[good]] = dX[good], sq[good], acc_alpha[good]


def _update_costates(s, idx, dX, Zs, zetas, near):
    """Costates at the new trajectory for the members ``near`` (indices into ``idx``) that will use the Newton
    term next: ``lam_t = 2 (zeta_t + Z_t (x_t - x_t^prev))`` from the last LQ solve's value functions."""
    if 2 * near.size >= idx.size:  # no copies of Z: all members, the near ones kept
        lam = (Zs[:, 1:] @ dX[:, 1:, None, :, None])[..., 0]
        lam += zetas[:, 1:]
        lam *= 2.0
        s.lam[idx[near]] = lam if near.size == idx.size else lam[near]
    elif near.size:
        dxn = dX[near, 1:, None, :, None]  # (b, T, 1, n, 1): new minus linearization trajectory
        s.lam[idx[near]] = 2.0 * (zetas[near, 1:] + (Zs[near, 1:] @ dxn)[..., 0])


def _iterate_chunk(game, s, idx, opts, ws, last):
    """One iteration of the members ``idx``: local game, convergence test, Newton term, LQ solve, line search,
    step control. Returns the log part ``(idx, alpha, step, residual, min-norm stages)`` of the members that took
    a step (None if none did); ``last``: only the convergence test (the iteration after ``max_iter``)."""
    tic = time.perf_counter()
    lq, finite = _local_game(game, s, idx, opts)
    # The last local game and its solution stay alive until the next ones are built: each new MB-sized buffer
    # then reuses the hole its predecessor leaves, and the allocator never returns pages to the OS to fault them
    # in again (basketball T=100: 20k minor page faults and +50% CPU per solve when they are freed earlier).
    ws.held[0] = lq
    tic = ws.clock("derivatives", tic)
    keep = _convergence_test(s, idx, lq, finite, opts, ws)
    tic = ws.clock("residual", tic)
    if last or not keep.any():
        return None
    if not keep.all():
        sel = np.flatnonzero(keep)
        idx, lq = idx[sel], LQApproximation(*(_take(a, sel) for a in lq))
    if opts.newton:
        lq = ws.held[0] = _newton_term(game, s, idx, lq, ws)
        tic = ws.clock("derivatives", tic)
    ws.held[1] = solution = _solve_local(lq, s, idx, opts, ws, game.dims)
    K, kdev, Zs, zetas, n_sing, bad = solution
    tic = ws.clock("lq_solve", tic)
    if bad.any():  # the recursion overflowed (or met NaN data) for these members: they diverged
        s.status[idx[bad]] = Status.DIVERGED
        sel = np.flatnonzero(~bad)
        idx, K, kdev, Zs, zetas = idx[sel], K[sel], kdev[sel], Zs[sel], zetas[sel]
        if idx.size == 0:
            return None
    ws.held[2] = newX, newU, acc_alpha, acc_dev = _line_search(game, s, idx, K, kdev, opts, ws)
    tic = time.perf_counter()
    ws.held[3] = dX = newX - s.X[idx]
    _step_control(s, idx, dX, acc_alpha, acc_dev, opts)
    good = acc_alpha > 0.0
    if opts.newton:
        _update_costates(s, idx, dX, Zs, zetas, np.flatnonzero(good & (acc_dev <= _SO_SWITCH)))
    upd = idx[good]
    s.X[upd], s.U[upd], s.K[upd], s.have_K[upd] = newX[good], newU[good], K[good], True
    s.iters[idx] += 1
    s.step[idx] = acc_dev
    s.status[idx[~good]] = Status.LINE_SEARCH_FAILED
    ws.clock("line_search", tic)
    return idx.copy(), acc_alpha, acc_dev, s.resid[idx].copy(), n_sing


def _chunks(active):
    """The active members in chunks of at most ``_CHUNK`` (each member's iteration is independent of the
    others': a chunk's derivatives, local game, LQ solution and costates stay in cache between the steps)."""
    return [active] if active.size <= _CHUNK else np.array_split(active, -(-active.size // _CHUNK))


def _iterate(game, s, opts, ws):
    """The iLQGames loop (arguments validated by :func:`ilqgames`): iterate every member until it stops; returns
    the iteration log."""
    log = _Log(game, opts.verbose)
    active = np.arange(s.X.shape[0])
    for it in range(1, opts.max_iter + 2):
        if active.size == 0:
            break
        ws.iteration = it
        parts, last = [], it > opts.max_iter
        chunks = _chunks(active)
        for ci, idx in enumerate(chunks):
            try:
                part = _iterate_chunk(game, s, idx, opts, ws, last)
            except _Indefinite:  # a local game with some R^{ii} not positive definite: every member still
                running = np.concatenate([p[0] for p in parts] + list(chunks[ci:]))  # iterating stops
                s.status[running[s.status[running] == _RUNNING]] = Status.DIVERGED
                last = True
                break
            if part is not None:
                parts.append(part)
        if last:
            break
        active = np.concatenate([p[0][p[1] > 0.0] for p in parts]) if parts else np.zeros(0, dtype=int)
        if parts:
            log.add(it, parts, s)
    return log.close()


class _Log:
    """The iteration records: their players' costs are evaluated in batches of iterations (one vectorized
    :meth:`Game.total_costs` call instead of one per iteration), at once when printing."""

    def __init__(self, game, verbose):
        self.game, self.verbose, self.records, self.pending, self.n_pending = game, verbose, [], [], 0

    def add(self, it, parts, s):
        act = np.concatenate([p[0] for p in parts])
        alpha, step, resid = (np.concatenate([p[j] for p in parts]) for j in (1, 2, 3))
        rec = IterationRecord(it, act, alpha, step, resid, None, sum(p[4] for p in parts))
        self.pending.append((rec, s.X[act], s.U[act]))
        self.n_pending += act.size
        if self.verbose or self.n_pending >= _LOG_CHUNK:
            self.flush()
        if self.verbose:
            rmax = f"{np.nanmax(resid):.3e}" if np.isfinite(resid).any() else "nan"
            print(f"iLQGames it {it:3d}: active {act.size:5d}  alpha min {alpha.min():.3g}  "
                  f"step max {np.max(step):.3e}  residual max {rmax}  "
                  f"costs[0] {np.array2string(self.records[-1].costs[0], precision=4)}")

    def flush(self):
        if self.pending:
            X, U = (np.concatenate([p[j] for p in self.pending]) for j in (1, 2))
            costs = self.game.total_costs(X, U)
            off = 0
            for rec, x, _ in self.pending:
                self.records.append(replace(rec, costs=costs[off:off + x.shape[0]]))
                off += x.shape[0]
        self.pending.clear()
        self.n_pending = 0

    def close(self):
        self.flush()
        return tuple(self.records)
