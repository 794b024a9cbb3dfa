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

Modules: this one (the entry point and its result), :mod:`.iteration` (the loop and the
parts of one iteration), :mod:`.local` (the local LQ game's solve, rollout and Nash
residual), :mod:`.result` (:class:`ILQGamesResult`, the log).
"""

from __future__ import annotations

import time

import numpy as np

from .._validate import as_float_array, check_scale, int_option
from ..errors import InputError
from ..results import Info, Status
from .game import Game, as_game
from .iteration import _control_rows, _has_newton, _Members, _run, _Settings
from .result import ILQGamesResult, IterationRecord

__all__ = ["ilqgames", "ILQGamesResult", "IterationRecord"]


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
