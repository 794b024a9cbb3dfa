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
   stops with status ``"line-search-failed"`` at its last accepted trajectory
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
   reported as ``"max-iterations"``.

Statuses: ``"converged"``, ``"max-iterations"``, ``"line-search-failed"``,
``"diverged"`` (non-finite trajectory or derivatives; a local LQ game whose
recursion meets non-finite numbers -- only the members concerned stop; or a
local game whose own-control Hessian R^{ii} is not positive definite -- use
``convex=True`` / ``reg``; in a batch that one stops every member still
iterating). Nothing unconverged is labelled converged.
"""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass, field, replace

import numpy as np

from .._validate import as_float_array
from ..errors import InputError
from .game import Game, LQApproximation
from ..lq.finite import _check_own_blocks

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


@dataclass(frozen=True)
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
    status : str or (B,) str array
        ``converged`` / ``max-iterations`` / ``line-search-failed`` / ``diverged``.
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
    log: tuple = field(repr=False)
    timings: dict = field(repr=False)


# --------------------------------------------------------------------------- #


def _rollout(game, x0, xs, us, K, k, alpha):
    """Closed-loop rollout ``u_t = us_t - K_t (x_t - xs_t) - alpha k_t`` of B members and C candidates.

    x0 (B, n); xs (B, T+1, n); us (B, T, m); K (B, T, m, n); k (B, T, m);
    alpha (C, B). Returns new states (C, B, T+1, n) and controls (C, B, T, m).
    Built-in dynamics (those with ``kernel_blocks``) run in the C++ kernel
    ``_core.rollout_feedback`` (one sequential loop over t per trajectory, GIL
    released); any other dynamics use :func:`_rollout_numpy`, the test oracle.
    """
    spec = getattr(game.dynamics, "kernel_blocks", None)
    spec = spec() if spec is not None else None
    if spec is None:
        return _rollout_numpy(game, x0, xs, us, K, k, alpha)
    from .. import _core

    return _core.rollout_feedback(spec, x0, xs, us, K, k, alpha)


def _rollout_numpy(game, x0, xs, us, K, k, alpha):
    """:func:`_rollout` in numpy, vectorized over members and candidates (any dynamics ``f(x, u)``)."""
    C, Bn = alpha.shape
    T = us.shape[-2]
    uff = us[None] - alpha[:, :, None, None] * k[None]  # (C, B, T, m)
    X = np.empty((C, Bn, T + 1, game.n))
    U = np.empty((C, Bn, T, game.m))
    x = np.broadcast_to(x0, (C, Bn, game.n))
    X[:, :, 0] = x
    step = game.dynamics
    for t in range(T):
        dx = (x - xs[:, t])[..., None]
        u = uff[:, :, t] - (K[:, t] @ dx)[..., 0]
        U[:, :, t] = u
        x = step(x, u)
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


def _flush_log(game, pending, log):
    """Players' total costs for the pending iteration records (one :meth:`Game.total_costs` call for all of
    them); appends the completed records to ``log`` and empties ``pending``."""
    if not pending:
        return
    costs = game.total_costs(np.concatenate([p[1] for p in pending]), np.concatenate([p[2] for p in pending]))
    off = 0
    for rec, x, _ in pending:
        log.append(replace(rec, costs=costs[off:off + x.shape[0]]))
        off += x.shape[0]
    pending.clear()


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
    (InputError otherwise). Raises nothing else: non-finite stages come back in the mask.
    """
    from .. import _core
    from ..lq import finite as L

    args = [_core_array(a, name in ("QT", "qT")) for name, a in zip(lq._fields, lq)]
    A, B, Q, q, R, r, QT, qT, M = args
    key = R.tobytes() if checked is not None and R.size <= 4096 else None  # R is usually the same every time
    if key is None or key not in checked:
        _check_own_blocks(R, dims)
        if key is not None:
            checked.add(key)
    batch = max(a.shape[0] for a in lq if a is not None)
    T = lq.A.shape[1]
    K, k, Z, zeta, _, st, _ = _core.solve_lq_games(list(dims), lq.A.shape[-1], T, batch, A, B, Q, q, R, r, M,
                                                   None, QT, qT, L._num_threads, L.RCOND_TOL, L.RANK_TOL)
    return K, k, Z, zeta, int(np.count_nonzero(st == 1)), (st == 2).any(axis=1)


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
    game : Game
        Dynamics and per-player costs (:class:`gamesolve.Game`, e.g. from
        :mod:`gamesolve.examples`).
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
        Print one line per iteration.

    Returns
    -------
    ILQGamesResult
        ``xs, us, K, k, costs, converged, iterations, status, nash_residual,
        step, log, timings``; with batched x0 every array gains the batch axis.

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
    >>> res.status, bool(res.nash_residual < 1e-6)
    ('converged', True)
    """
    if not isinstance(game, Game):
        raise InputError(f"game must be a gamesolve.Game, got {type(game).__name__}")
    if int(horizon) != horizon or horizon < 1:
        raise InputError(f"horizon must be a positive integer, got {horizon!r}")
    T = int(horizon)
    x0 = as_float_array("x0", x0, ndim=(1, 2))
    batched = x0.ndim == 2
    if x0.shape[-1] != game.n:
        raise InputError(f"x0 must have shape ({game.n},) or (B, {game.n}), got {x0.shape}")
    X0 = x0 if batched else x0[None]
    Bn = X0.shape[0]
    if us0 is None:
        U = np.zeros((Bn, T, game.m))
    else:
        us0 = as_float_array("us0", us0, ndim=(2, 3))
        if us0.shape[-2:] != (T, game.m) or (us0.ndim == 3 and us0.shape[0] != Bn):
            want = f"({T}, {game.m})" + (f" or ({Bn}, {T}, {game.m})" if batched else "")
            raise InputError(f"us0 must have shape {want}, got {us0.shape}")
        U = np.array(np.broadcast_to(us0, (Bn, T, game.m)))
    for name, val, ok in (("max_iter", max_iter, max_iter >= 1), ("tol", tol, tol >= 0),
                          ("grad_tol", grad_tol, grad_tol >= 0), ("max_step", max_step, max_step > 0),
                          ("ls_factor", ls_factor, 0 < ls_factor < 1), ("ls_steps", ls_steps, ls_steps >= 1),
                          ("reg", reg, reg >= 0)):
        if not ok:
            raise InputError(f"{name} is out of range, got {val!r}")

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # divergence is a status, not a warning
        return _iterate(game, X0, U, T, batched, max_iter, tol, grad_tol, max_step, ls_factor, ls_steps, reg,
                        convex, second_order, verbose)


def _iterate(game, X0, U, T, batched, max_iter, tol, grad_tol, max_step, ls_factor, ls_steps, reg, convex,
             second_order, verbose):
    """The iLQGames loop of :func:`ilqgames` (arguments validated there)."""
    Bn = X0.shape[0]
    timings = dict.fromkeys(_PHASES, 0.0)
    tic = time.perf_counter()
    X = game.rollout_open_loop(X0, U)
    timings["rollout"] += time.perf_counter() - tic

    N, m, n = game.N, game.m, game.n
    own = np.zeros((N, m), dtype=bool)
    for i in range(N):
        own[i, game.control_slice(i)] = True
    Kf = np.zeros((Bn, T, m, n))
    iters = np.zeros(Bn, dtype=int)
    status = np.full(Bn, "max-iterations", dtype="<U18")
    step = np.full(Bn, np.inf)
    resid = np.full(Bn, np.nan)
    have_K = np.zeros(Bn, dtype=bool)
    active = np.arange(Bn)
    alpha_floor = ls_factor ** 3  # the step control never starts a line search below this
    log, pending, n_pending = [], [], 0

    so = second_order and getattr(game.dynamics, "second_order", None) is not None
    if so:
        so_base = "base" in inspect.signature(game.dynamics.second_order).parameters
        lam_prev = np.zeros((Bn, T, N, n))  # costates lam^i_{1..T} at the current trajectory (Newton term)
    amax = np.ones(Bn)  # first trial step of each member (step control)
    dX_prev = np.zeros_like(X)  # last accepted trajectory change
    dX_sq = np.zeros(Bn)  # and its squared norm
    a_prev = np.zeros(Bn)  # and its step size
    Q_keep = None  # (buffer, its base): the shared Q plus the Newton term, updated in place (built-in dynamics)
    checked = set()  # control Hessians R already checked (own blocks positive definite)
    for it in range(1, max_iter + 2):
        if active.size == 0:
            break
        # The members are processed in chunks of at most _CHUNK (each member's iteration is independent of the
        # others'): a chunk's derivatives, local game, LQ solution and costates stay in cache between the steps.
        chunks = [active] if active.size <= _CHUNK else np.array_split(active, -(-active.size // _CHUNK))
        nxt_active, parts, stop = [], [], False
        for ci, active in enumerate(chunks):
            xa, ua = X[active], U[active]
            tic = time.perf_counter()
            lq = LQApproximation(*(_compact(a) for a in game.lq_approximation(xa, ua, convex=convex, reg=reg)))
            timings["derivatives"] += time.perf_counter() - tic
            # non-finite trajectories or gradients (Hessians and Jacobians of finite points are finite for the
            # built-ins; a callable that returns NaN there shows up in the LQ solve as a non-finite stage)
            finite = (np.isfinite(xa).all(axis=(1, 2)) & np.isfinite(lq.q).all(axis=(1, 2, 3))
                      & np.isfinite(lq.A).all(axis=(1, 2, 3)))

            # Nash residual at the current trajectory (with the strategies that produced it), once the
            # trajectory has settled.
            tic = time.perf_counter()
            check = have_K[active] & finite & (step[active] <= tol)
            if check.any():
                sel = np.flatnonzero(check)
                r_sel = _nash_residual(LQApproximation(*(_take(a, sel) for a in lq)), Kf[active[sel]], own)
                resid[active[sel]] = r_sel
                status[active[sel[r_sel <= grad_tol]]] = "converged"
            timings["residual"] += time.perf_counter() - tic
            status[active[~finite]] = "diverged"
            keep = status[active] == "max-iterations"
            if it > max_iter:
                continue
            if not keep.all():
                sel = np.flatnonzero(keep)
                active, xa, ua = active[sel], xa[sel], ua[sel]
                if active.size == 0:
                    continue
                lq = LQApproximation(*(_take(a, sel) for a in lq))
            local = have_K[active] & (step[active] <= _SO_SWITCH)
            if so and local.any():
                # Newton (DDP) term: Q^i_t += lam^i_{t+1}' d2f_xx / 2 and M^i_t = lam^i_{t+1}' d2f_ux / 2 with the
                # costate lam^i = dV^i/dx of the last LQ solve moved to the current trajectory,
                # lam^i_t = 2 (zeta^i_t + Z^i_t (x_t - x_t^prev)) (formed right after that solve's line search);
                # exact at a fixed point (k = 0). Only the members near convergence ("local") get it.
                tic = time.perf_counter()
                dyn = game.dynamics
                if getattr(dyn, "second_order_out", False):
                    # built-ins add 0.5 * curvature into one copy of Q in place; the members that are not local
                    # get a zero costate, i.e. their Q unchanged and M = 0
                    lam = lam_prev[active]
                    if not local.all():
                        lam[~local] = 0.0
                    base = None
                    # Hessians shared by the batch: one buffer that keeps them between chunks and iterations
                    if lq.Q.shape[0] == 1 and so_base:
                        if Q_keep is None or not np.array_equal(Q_keep[1], lq.Q):
                            Q_keep = (np.empty((min(Bn, _CHUNK), T, N, n, n)), np.array(lq.Q))
                            Q_keep[0][...] = lq.Q
                        Hxx, base = Q_keep[0][:active.size], Q_keep[1]
                    else:
                        Hxx = np.empty((active.size, T, N, n, n))
                        Hxx[...] = lq.Q
                    out = dyn.second_order(xa[:, :T, None, :], ua[:, :T, None, :], lam, out=Hxx, scale=0.5,
                                           **({} if base is None else {"base": base}))
                    if out is not None:
                        lq = lq._replace(Q=out[0], M=None if out[1] is None else 0.5 * out[1])
                else:  # other dynamics: the curvature of the local members, scattered into the batch
                    li = np.flatnonzero(local)
                    whole = li.size == active.size
                    xl, ul = (xa, ua) if whole else (xa[li], ua[li])
                    lam = lam_prev[active] if whole else lam_prev[active[li]]
                    out = dyn.second_order(xl[:, :T, None, :], ul[:, :T, None, :], lam)
                    if out is not None:
                        Hxx = 0.5 * out[0] + (lq.Q if whole else _take(lq.Q, li))  # (B_local, T, N, n, n)
                        Mh = None if out[1] is None else 0.5 * out[1]
                        if not whole:  # the others keep Q, M = 0
                            Qf = np.empty((active.size,) + Hxx.shape[1:])
                            Qf[...] = lq.Q
                            Qf[li] = Hxx
                            Hxx = Qf
                            if Mh is not None:
                                Mf = np.zeros((active.size,) + Mh.shape[1:])
                                Mf[li] = Mh
                                Mh = Mf
                        lq = lq._replace(Q=Hxx, M=Mh)
                timings["derivatives"] += time.perf_counter() - tic

            tic = time.perf_counter()
            try:
                K, kdev, Zs, zetas, n_sing, bad = _solve_lq(lq, game.dims, checked)
            except InputError:  # a local game with some R^{ii} not positive definite: every member still
                # iterating stops
                for a in [active] + nxt_active + list(chunks[ci + 1:]):
                    status[a[status[a] == "max-iterations"]] = "diverged"
                stop = True
                break
            timings["lq_solve"] += time.perf_counter() - tic
            if bad.any():  # the recursion overflowed (or met NaN data) for these members: they diverged
                status[active[bad]] = "diverged"
                sel = np.flatnonzero(~bad)
                active, xa, ua, K, kdev = active[sel], xa[sel], ua[sel], K[sel], kdev[sel]
                Zs, zetas = Zs[sel], zetas[sel]
                if active.size == 0:
                    continue

            # Line search: the first trial step for every member, the smaller ones for those who reject it.
            tic = time.perf_counter()
            a0 = amax[active]
            Xn, Un = _rollout(game, X0[active], xa, ua, K, kdev, a0[None])
            timings["rollout"] += time.perf_counter() - tic
            tic = time.perf_counter()
            newX, newU = Xn[0], Un[0]
            dev = np.abs(newX - xa).max(axis=(1, 2))
            ok = np.isfinite(dev) & (dev <= max_step)
            acc_alpha = np.where(ok, a0, 0.0)
            acc_dev = np.where(ok, dev, np.inf)
            if not ok.all() and ls_steps > 1:
                rej = np.flatnonzero(~ok)
                cand = a0[rej][None] * ls_factor ** np.arange(1, ls_steps)[:, None]  # (C, R)
                Xc, Uc = _rollout(game, X0[active[rej]], xa[rej], ua[rej], K[rej], kdev[rej], cand)
                devc = np.abs(Xc - xa[rej][None]).max(axis=(2, 3))  # (C, R)
                okc = np.isfinite(devc) & (devc <= max_step)
                first = np.argmax(okc, axis=0)
                cols = np.flatnonzero(okc[first, np.arange(rej.size)])
                pick = rej[cols]
                newX[pick], newU[pick] = Xc[first[cols], cols], Uc[first[cols], cols]
                acc_alpha[pick] = cand[first[cols], cols]
                acc_dev[pick] = devc[first[cols], cols]
            good = acc_alpha > 0.0
            # Step control: if the accepted change reverses the previous one (cosine below _REVERSAL) without
            # shrinking to half its size -- a period-2 oscillation of full steps -- the next line search starts
            # at half the accepted step, otherwise at twice it (at most 1).
            dX = newX - xa
            sq, sq_prev = np.einsum("btn,btn->b", dX, dX), dX_sq[active]
            dot = np.einsum("btn,btn->b", dX, dX_prev[active])
            rev = (dot < _REVERSAL * np.sqrt(sq * sq_prev)) & (sq > 0.25 * sq_prev)
            nxt = np.minimum(np.maximum(np.where(rev, acc_alpha * ls_factor, acc_alpha / ls_factor), alpha_floor), 1.0)
            # Secant step: once the changes are small (at most _SECANT_LOCAL) and two consecutive ones point along
            # one line (|cosine| above _PARALLEL), the unit steps d = dX / alpha of a linear iteration's dominant
            # mode obey d = (1 + alpha_prev (rho - 1)) d_prev; its rate rho follows, and the step 1 / (1 - rho)
            # lands on the mode's fixed point (rho < 0, the oscillating tail of platooning: a damped step
            # 1 / (1 - rho) < 1; rho > 0: an extrapolated one, at most _SECANT_MAX).
            ap = a_prev[active]
            par = good & (ap > 0.0) & (np.abs(dot) > _PARALLEL * np.sqrt(sq * sq_prev)) & (acc_dev <= _SECANT_LOCAL)
            if par.any():
                ratio = np.where(par, dot / np.where(par, sq_prev, 1.0) * ap / np.where(par, acc_alpha, 1.0), 0.0)
                rho = 1.0 - (1.0 - ratio) / np.where(par, ap, 1.0)
                sec = par & (np.abs(rho) > 0.05) & (np.abs(rho) < 0.9)
                nxt = np.where(sec, np.minimum(1.0 / (1.0 - np.where(sec, rho, 0.0)), _SECANT_MAX), nxt)
            amax[active] = np.where(good, nxt, amax[active])
            dX_prev[active[good]], dX_sq[active[good]], a_prev[active[good]] = dX[good], sq[good], acc_alpha[good]
            timings["line_search"] += time.perf_counter() - tic

            upd = active[good]
            if so:  # costates at the new trajectory for the members that will use the Newton term next
                near = np.flatnonzero(good & (acc_dev <= _SO_SWITCH))
                if 2 * near.size >= active.size:  # no copies of Z: all members, the near ones kept
                    lam = (Zs[:, 1:] @ dX[:, 1:, None, :, None])[..., 0]
                    lam += zetas[:, 1:]
                    lam *= 2.0
                    lam_prev[active[near]] = lam if near.size == active.size else lam[near]
                elif near.size:
                    dxn = dX[near, 1:, None, :, None]  # (b, T, 1, n, 1): new minus linearization trajectory
                    lam_prev[active[near]] = 2.0 * (zetas[near, 1:] + (Zs[near, 1:] @ dxn)[..., 0])
            X[upd], U[upd], Kf[upd] = newX[good], newU[good], K[good]
            have_K[upd] = True
            iters[active] += 1
            step[active] = acc_dev
            status[active[~good]] = "line-search-failed"
            parts.append((active.copy(), acc_alpha, acc_dev, resid[active].copy(), n_sing))
            nxt_active.append(active[good])
        if stop or it > max_iter:
            break
        active = np.concatenate(nxt_active) if nxt_active else np.zeros(0, dtype=int)
        if not parts:
            continue
        act = np.concatenate([p[0] for p in parts])
        acc_alpha, acc_dev = np.concatenate([p[1] for p in parts]), np.concatenate([p[2] for p in parts])
        n_sing = sum(p[4] for p in parts)
        # the log's costs are evaluated in batches of iterations (one vectorized call instead of one per iteration)
        pending.append((IterationRecord(it, act, acc_alpha, acc_dev, np.concatenate([p[3] for p in parts]), None,
                                        n_sing), X[act], U[act]))
        n_pending += act.size
        if verbose or n_pending >= _LOG_CHUNK:
            _flush_log(game, pending, log)
            n_pending = 0
        if verbose:
            costs_now = log[-1].costs
            print(f"iLQGames it {it:3d}: active {act.size:5d}  alpha min {acc_alpha.min():.3g}  "
                  f"step max {np.max(acc_dev):.3e}  residual max {np.nanmax(resid[act], initial=0.0):.3e}  "
                  f"costs[0] {np.array2string(costs_now[0], precision=4)}")

    _flush_log(game, pending, log)
    costs = game.total_costs(X, U)
    kglob = -(U + np.einsum("btmn,btn->btm", Kf, X[:, :T]))
    conv = status == "converged"
    if batched:
        return ILQGamesResult(X, U, Kf, kglob, costs, conv, iters, status, resid, step, tuple(log), timings)
    return ILQGamesResult(X[0], U[0], Kf[0], kglob[0], costs[0], bool(conv[0]), int(iters[0]), str(status[0]),
                          float(resid[0]), float(step[0]), tuple(log), timings)
