"""The parts of one iLQGames iteration and the loop over them (see :mod:`gamesolve.nonlinear.solve`).

The loop (:func:`_iterate`) is a few lines of calls to the parts of one iteration, each acting on one chunk of
members and their state (:class:`_Members`): :func:`_local_game`, :func:`_convergence_test`, :func:`_newton_term`,
:func:`_solve_local` (with :func:`~gamesolve.nonlinear.local._fold` for a best response), :func:`_line_search`
(:func:`~gamesolve.nonlinear.local._rollout`), :func:`_step_control`, :func:`_update_costates`.
"""

from __future__ import annotations

import functools
import inspect
import time
from dataclasses import dataclass, field

import numpy as np

from .._validate import int_option, real_option
from ..errors import InputError
from ..results import Status
from .approximation import LQApproximation
from .local import _compact, _fold, _nash_residual, _rollout, _solve_lq, _take
from .result import _Log

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
#: Members per chunk of an iteration (their arrays stay in cache from the derivatives to the costates).
_CHUNK = 64
_PHASES = ("rollout", "derivatives", "lq_solve", "line_search", "residual")


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
        now = time.perf_counter()
        self.timings[phase] += now - tic
        return now


class _Indefinite(Exception):
    """A local game whose own-control Hessian R^{ii} is not positive definite."""


_RUNNING = str(Status.MAX_ITERATIONS)  # the status of a member still iterating (it is its status if it stops now)


def _control_rows(game, player=None):
    """The players' control rows ``(N, m)`` bool (one row: ``player``'s, for its best response)."""
    own = np.zeros((game.N, game.m), dtype=bool)
    for i in range(game.N):
        own[i, game.control_slice(i)] = True
    return own if player is None else own[player:player + 1]


def _has_newton(game, second_order):
    return bool(second_order) and getattr(game.dynamics, "second_order", None) is not None


def _takes_base(second_order) -> bool:
    """Whether a model's ``second_order`` takes ``base`` (its signature read once per function: inspecting
    it costs about 1% of a small game's whole iLQGames call)."""
    fn = getattr(second_order, "__func__", second_order)
    try:
        return _signature_has_base(fn)
    except TypeError:  # an unhashable callable object
        return "base" in inspect.signature(second_order).parameters


@functools.lru_cache(maxsize=64)
def _signature_has_base(fn) -> bool:
    return "base" in inspect.signature(fn).parameters


def _run(game, s, opts, own):
    """Iterate (:func:`_iterate`) with a fresh workspace. Divergence is a status, not a warning: callers run
    this inside ``np.errstate(over="ignore", invalid="ignore", divide="ignore")`` (a second, nested errstate
    here would slow every numpy call of the loop by a few percent)."""
    so_base = opts.newton and _takes_base(game.dynamics.second_order)
    ws = _Workspace(own, dict.fromkeys(_PHASES, 0.0), so_base)
    return _iterate(game, s, opts, ws), ws


def _local_game(game, s, idx, opts, xa, ua):
    """The local LQ game along the members' trajectories (shared arrays kept once), restricted to the
    best-responding player in best-response mode, and the mask of members with finite trajectories and
    derivatives (Hessians and Jacobians of finite points are finite for the built-ins; a callable that returns
    NaN there shows up in the LQ solve as a non-finite stage)."""
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


def _newton_term(game, s, idx, lq, ws, xa, ua):
    """Add the dynamics' curvature weighted by the costates to the local game of the members near convergence
    (trajectory change at most ``_SO_SWITCH``): ``Q^i_t += lam^i_{t+1}' f_xx / 2``, ``M^i_t = lam^i_{t+1}' f_ux / 2``
    (module docstring, step 1). Built-in dynamics add it in place into one kept copy of a shared Q."""
    local = s.have_K[idx] & (s.step[idx] <= _SO_SWITCH)
    if not local.any():
        return lq
    dyn, T = game.dynamics, s.U.shape[1]
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


def _line_search(game, s, idx, xa, ua, K, kdev, opts, ws):
    """Backtracking on the feedforward step (module docstring, step 3): the first trial ``amax`` for every
    member, ``amax beta^j`` for those who reject it. Returns the accepted trajectories, steps (0 where none
    qualifies) and trajectory changes (inf there)."""
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
    xa, ua = s.X[idx], s.U[idx]  # the chunk's trajectory (copies; every part below reads these)
    lq, finite = _local_game(game, s, idx, opts, xa, ua)
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
        idx, xa, ua, lq = idx[sel], xa[sel], ua[sel], LQApproximation(*(_take(a, sel) for a in lq))
    if opts.newton:
        lq = ws.held[0] = _newton_term(game, s, idx, lq, ws, xa, ua)
        tic = ws.clock("derivatives", tic)
    ws.held[1] = solution = _solve_local(lq, s, idx, opts, ws, game.dims)
    K, kdev, Zs, zetas, n_sing, bad = solution
    tic = ws.clock("lq_solve", tic)
    if bad.any():  # the recursion overflowed (or met NaN data) for these members: they diverged
        s.status[idx[bad]] = Status.DIVERGED
        sel = np.flatnonzero(~bad)
        idx, xa, ua, K, kdev, Zs, zetas = idx[sel], xa[sel], ua[sel], K[sel], kdev[sel], Zs[sel], zetas[sel]
        if idx.size == 0:
            return None
    ws.held[2] = newX, newU, acc_alpha, acc_dev = _line_search(game, s, idx, xa, ua, K, kdev, opts, ws)
    tic = time.perf_counter()
    ws.held[3] = dX = newX - xa
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
        moved = [p[0][p[1] > 0.0] for p in parts]
        active = moved[0] if len(moved) == 1 else np.concatenate(moved) if moved else np.zeros(0, dtype=int)
        if parts:
            log.add(it, parts, s)
    return log.close()
