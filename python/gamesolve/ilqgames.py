"""iLQGames: approximate feedback Nash equilibria of nonlinear games (SPEC 6).

Notation (SPEC 1, 6): joint state x (n), joint control u = [u^1; ...; u^N]
(m, sizes ``game.dims``), dynamics ``x_{t+1} = f(x_t, u_t)``, player i's total
cost ``J^i = sum_{t<T} c^i(x_t, u_t, t) + c^i(x_T, 0, T)``. Strategies are affine
feedback laws around a nominal trajectory (xs, us)::

    u_t = us_t - K_t (x_t - xs_t) - alpha k_t

Each iteration (Fridovich-Keil et al. 2020; paper 000 section V; paper 003
section 4.2):

1. **Derivatives** -- linearize f and quadraticize every c^i along (xs, us),
   all stages and batch members in one vectorized call
   (:meth:`gamesolve.games.Game.lq_approximation`); nonconvex cost terms
   contribute the PSD projection of their Hessians, plus ``reg`` on the
   diagonals (Hessian regularization). Once a member's last trajectory change
   is below 0.1 the dynamics' curvature enters too (Newton / DDP term, for
   models with ``second_order``): ``Q^i_t += lam^i_{t+1}' f_xx / 2``,
   ``M^i_t = lam^i_{t+1}' f_ux / 2``, with player i's costate taken from the
   previous LQ solve's value function, ``lam^i_t = 2 (zeta^i_t + Z^i_t (x_t - x_t^prev))``
   (exact at a fixed point). Without it iLQGames is a Gauss-Newton method
   (linear convergence on unicycles).
2. **LQ solve** -- the local LQ game in deviation coordinates by the C++ core
   (:func:`gamesolve.solve_lq_game`; a batch of initial states is ONE
   :func:`gamesolve.solve_lq_games` call), giving K_t and the feedforward step k_t.
3. **Line search** on the feedforward step: trial steps
   ``alpha_0, alpha_0 beta, alpha_0 beta^2, ...`` (``beta = ls_factor``,
   ``ls_steps`` of them). **Acceptance rule**: the first trial whose
   closed-loop rollout is finite and whose trajectory change
   ``max_t |x_t(alpha) - xs_t|_inf`` is at most ``max_step`` (a trust region
   on the state trajectory; default unlimited). If none qualifies the member
   stops with status ``"line-search-failed"`` at its last accepted trajectory
   and strategies. The first trial is rolled out for every member; the others
   only for the members that rejected it, all of them in one vectorized
   rollout. **Step control**: ``alpha_0`` starts at 1; after an accepted step
   whose trajectory change reverses the previous one (cosine < -0.3) without
   shrinking below half its norm -- the period-2 oscillation full iLQGames
   steps fall into, e.g. on platooning -- the next ``alpha_0`` is half the
   accepted step, otherwise twice it (at most 1, at least ``beta^3``).
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
``"diverged"`` (non-finite trajectory or derivatives, an overflowing LQ solve,
or a local game whose own-control Hessian R^{ii} is not positive definite --
use ``convex=True`` / ``reg``; in a batch such an LQ failure stops every
member still iterating). Nothing unconverged is
labelled converged.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from ._validate import as_float_array
from .errors import InputError, SingularStageWarning, SolveError
from .games import Game, LQApproximation

__all__ = ["ilqgames", "ILQGamesResult", "IterationRecord"]

#: The second-order (Newton) dynamics terms are used once a member's last trajectory change is below this:
#: far from a solution the lagged costates can make the local game's Hessians indefinite.
_SO_SWITCH = 0.1
#: Step control: a trajectory change whose cosine with the previous one is below this counts as a reversal.
_REVERSAL = -0.3
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
        Feedforward terms of the strategies in the global SPEC 1 form
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
    """
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


def _solve_lq(lq, dims, batched):
    """The local LQ games by the C++ core: K, k, Z, zeta (deviation coordinates), number of min-norm stages.

    Arrays carry a batch axis of size B or 1 (1 = shared, passed once).
    """
    from .lq import solve_lq_game, solve_lq_games

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SingularStageWarning)  # counted in the log instead
        if batched:
            sol = solve_lq_games(lq.A, lq.B, lq.Q, lq.R, q=lq.q, r=lq.r, M=lq.M, QT=lq.QT, qT=lq.qT, dims=dims)
            K, k, Z, zeta = sol.K, sol.k, sol.Z, sol.zeta
        else:
            sol = solve_lq_game(lq.A[0], lq.B[0], lq.Q[0], lq.R[0], q=lq.q[0], r=lq.r[0], QT=lq.QT[0], qT=lq.qT[0],
                                dims=dims)
            K, k, Z, zeta = sol.K[None], sol.k[None], sol.Z[None], sol.zeta[None]
    return K, k, Z, zeta, int(np.count_nonzero(sol.status == 1))


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
    """Approximate feedback Nash equilibrium of a nonlinear game by iterated LQ games (SPEC 6).

    Parameters
    ----------
    game : Game
        Dynamics and per-player costs (:class:`gamesolve.games.Game`, e.g. from
        :mod:`gamesolve.examples`).
    x0 : (n,) or (B, n) array_like
        Initial state, or a batch of initial states solved together (each
        member iterates until its own convergence; all active members share
        one vectorized rollout, one derivative call and one C++ LQ call per
        iteration).
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
    ``R = H_uu/2``, ``r = g_u/2`` (SPEC 1 has no 1/2). Its feedback Nash
    solution ``du = -K dx - k`` (SPEC 2) gives the new strategy
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
        raise InputError(f"game must be a gamesolve.games.Game, got {type(game).__name__}")
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
    log = []

    so = second_order and getattr(game.dynamics, "second_order", None) is not None
    if so:
        Xprev, Z_prev, zeta_prev = np.empty_like(X), np.empty((Bn, T + 1, N, n, n)), np.empty((Bn, T + 1, N, n))
    amax = np.ones(Bn)  # first trial step of each member (step control)
    dX_prev = np.zeros_like(X)  # last accepted trajectory change
    for it in range(1, max_iter + 2):
        if active.size == 0:
            break
        xa, ua = X[active], U[active]
        tic = time.perf_counter()
        lq = LQApproximation(*(_compact(a) for a in game.lq_approximation(xa, ua, convex=convex, reg=reg)))
        timings["derivatives"] += time.perf_counter() - tic
        # non-finite trajectories or gradients (Hessians and Jacobians of finite points are finite for the
        # built-ins; a callable that returns NaN there shows up in the LQ solve as a SolveError)
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
            break
        if not keep.all():
            sel = np.flatnonzero(keep)
            active, xa, ua = active[sel], xa[sel], ua[sel]
            if active.size == 0:
                break
            lq = LQApproximation(*(_take(a, sel) for a in lq))
        local = have_K[active] & (step[active] <= _SO_SWITCH)
        if so and local.any():
            # Newton (DDP) term: Q^i_t += lam^i_{t+1}' d2f_xx / 2 and M^i_t = lam^i_{t+1}' d2f_ux / 2 with the
            # costate lam^i = dV^i/dx of the last LQ solve moved to the current trajectory,
            # lam^i_t = 2 (zeta^i_t + Z^i_t (x_t - x_t^prev)); exact at a fixed point (k = 0).
            tic = time.perf_counter()
            dxp = (xa - Xprev[active])[:, 1:, None, :, None]  # (B, T, 1, n, 1)
            lam = 2.0 * (zeta_prev[active][:, 1:] + (Z_prev[active][:, 1:] @ dxp)[..., 0])
            lam[~local] = 0.0
            out = game.dynamics.second_order(xa[:, :T, None, :], ua[:, :T, None, :], lam)
            if out is not None:
                Hxx, Hux = out
                lq = lq._replace(Q=lq.Q + 0.5 * Hxx, M=None if Hux is None else 0.5 * Hux)
            timings["derivatives"] += time.perf_counter() - tic

        tic = time.perf_counter()
        try:
            K, kdev, Zs, zetas, n_sing = _solve_lq(lq, game.dims, batched)
        except (SolveError, InputError):  # overflow, or a local game with R^{ii} not positive definite
            status[active] = "diverged"
            break
        timings["lq_solve"] += time.perf_counter() - tic

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
        dot = np.einsum("btn,btn->b", dX, dX_prev[active])
        nrm = np.sqrt(np.einsum("btn,btn->b", dX, dX) * np.einsum("btn,btn->b", dX_prev[active], dX_prev[active]))
        slow = np.einsum("btn,btn->b", dX, dX) > 0.25 * np.einsum("btn,btn->b", dX_prev[active], dX_prev[active])
        rev = (dot < _REVERSAL * nrm) & slow
        nxt = np.where(rev, acc_alpha * ls_factor, acc_alpha / ls_factor)
        amax[active] = np.where(good, np.clip(nxt, alpha_floor, 1.0), amax[active])
        dX_prev[active[good]] = dX[good]
        timings["line_search"] += time.perf_counter() - tic

        upd = active[good]
        if so:
            Xprev[upd], Z_prev[upd], zeta_prev[upd] = X[upd], Zs[good], zetas[good]
        X[upd], U[upd], Kf[upd] = newX[good], newU[good], K[good]
        have_K[upd] = True
        iters[active] += 1
        step[active] = acc_dev
        status[active[~good]] = "line-search-failed"
        costs_now = game.total_costs(X[active], U[active])
        log.append(IterationRecord(it, active.copy(), acc_alpha, acc_dev, resid[active].copy(), costs_now, n_sing))
        if verbose:
            print(f"iLQGames it {it:3d}: active {active.size:5d}  alpha min {acc_alpha.min():.3g}  "
                  f"step max {np.max(acc_dev):.3e}  residual max {np.nanmax(resid[active], initial=0.0):.3e}  "
                  f"costs[0] {np.array2string(costs_now[0], precision=4)}")
        active = active[good]

    costs = game.total_costs(X, U)
    kglob = -(U + np.einsum("btmn,btn->btm", Kf, X[:, :T]))
    conv = status == "converged"
    if batched:
        return ILQGamesResult(X, U, Kf, kglob, costs, conv, iters, status, resid, step, tuple(log), timings)
    return ILQGamesResult(X[0], U[0], Kf[0], kglob[0], costs[0], bool(conv[0]), int(iters[0]), str(status[0]),
                          float(resid[0]), float(step[0]), tuple(log), timings)
