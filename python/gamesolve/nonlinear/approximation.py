"""Local LQ approximation of a nonlinear game: linearization and quadraticization ([theory §6]).

Along a trajectory ``xs (..., T+1, n)``, ``us (..., T, m)`` of a
:class:`~gamesolve.nonlinear.game.Game`, :func:`lq_approximation` returns the
local LQ game in deviation coordinates ``dx = x - xs``, ``du = u - us``::

    dx_{t+1} = A_t dx_t + B_t du_t,
    c^i(xs + dx, us + du) - c^i(xs, us) ~ dx'Q dx + 2 q'dx + du'R du + 2 r'du

with ``A = f_x``, ``B = f_u``, ``Q = H_xx/2``, ``q = g_x/2``, ``R = H_uu/2``,
``r = g_u/2`` ([theory §1] costs carry no 1/2), all stages and batch members in
one vectorized call (no Python loop over stages or batch members).

Derivatives are analytic for the built-in models of
:mod:`gamesolve.nonlinear.dynamics` and terms of :mod:`gamesolve.nonlinear.costs`;
the quadratic terms are compiled once per game into per-stage tables
(:func:`compile_tables`). Any other callable gets vectorized central
differences (:func:`fd_jacobian`, :func:`fd_hessian`): first derivatives with
step ``h = eps^(1/3) max(1, |z|)`` (truncation + round-off error about
``eps^(2/3) ~ 4e-11`` relative to the function's scale), second derivatives of
a cost from values with ``h = eps^(1/4) max(1, |z|)`` (error about
``eps^(1/2) ~ 1.5e-8`` relative); ``2 (n+m)`` and ``4 (n+m)^2`` function
evaluations per point.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..errors import InputError
from .costs import Cost

__all__ = ["LQApproximation", "linearize", "quadraticize", "lq_approximation", "fd_jacobian", "fd_hessian"]

_EPS = np.finfo(float).eps


def fd_jacobian(fun, z):
    """Central-difference Jacobian of ``fun: (..., k) -> (..., p)`` at ``z (..., k)``; returns ``(..., p, k)``.

    All ``2k`` perturbed points go through ``fun`` in one call (an extra axis
    before the last). Step ``h_j = eps^(1/3) max(1, |z_j|)``; error about
    ``eps^(2/3)`` relative.
    """
    z = np.asarray(z, dtype=float)
    k = z.shape[-1]
    h = _EPS ** (1 / 3) * np.maximum(1.0, np.abs(z))
    E = h[..., :, None] * np.eye(k)
    zz = np.concatenate([z[..., None, :] + E, z[..., None, :] - E], axis=-2)  # (..., 2k, k)
    f = fun(zz)
    J = (f[..., :k, :] - f[..., k:, :]) / (2.0 * h[..., :, None])  # (..., k, p)
    return np.swapaxes(J, -1, -2)


def fd_hessian(fun, z):
    """Gradient ``(..., k)`` and Hessian ``(..., k, k)`` of a scalar ``fun: (..., k) -> (...)`` by central differences.

    Gradient step ``eps^(1/3) max(1, |z_j|)`` (error ~ eps^(2/3)), Hessian
    4-point formula with step ``eps^(1/4) max(1, |z_j|)`` (error ~ eps^(1/2)),
    evaluated in one call on ``4 k^2`` points.
    """
    z = np.asarray(z, dtype=float)
    k = z.shape[-1]
    g = fd_jacobian(lambda y: fun(y)[..., None], z)[..., 0, :]
    h = _EPS ** 0.25 * np.maximum(1.0, np.abs(z))
    E = h[..., :, None] * np.eye(k)  # (..., k, k)
    ej, el = E[..., :, None, :], E[..., None, :, :]  # (..., k, 1, k), (..., 1, k, k)
    base = z[..., None, None, :]
    pts = np.stack(np.broadcast_arrays(base + ej + el, base + ej - el, base - ej + el, base - ej - el), axis=-4)
    f = fun(pts)  # (..., 4, k, k)
    H = (f[..., 0, :, :] - f[..., 1, :, :] - f[..., 2, :, :] + f[..., 3, :, :]) / (4.0 * h[..., :, None] * h[..., None, :])
    return g, 0.5 * (H + np.swapaxes(H, -1, -2))


def _rowdot(W, z):
    """``sum_k W[..., i, k] z[..., k]``, ``(..., I)``; an einsum with explicit subscripts when the leading
    axes agree (about twice as fast as the ellipsis form or a stacked matmul)."""
    if W.shape[:-2] == z.shape[:-1] and W.ndim <= 20:
        lead = "abcdefghjlmnopqrsuvw"[:W.ndim - 2]
        return np.einsum(f"{lead}ik,{lead}k->{lead}i", W, z)
    return np.einsum("...ik,...k->...i", W, z)


def _psd_project(H):
    """Clip the eigenvalues of symmetric ``H (..., k, k)`` at zero."""
    w, V = np.linalg.eigh(0.5 * (H + np.swapaxes(H, -1, -2)))
    return (V * np.maximum(w, 0.0)[..., None, :]) @ np.swapaxes(V, -1, -2)


class LQApproximation(NamedTuple):
    """Local LQ game along a trajectory in deviation coordinates ([theory §1] shapes, [theory §6]).

    ``A (..., T, n, n)``, ``B (..., T, n, m)``, ``Q (..., T, N, n, n)``,
    ``q (..., T, N, n)``, ``R (..., T, N, m, m)``, ``r (..., T, N, m)``,
    ``QT (..., N, n, n)``, ``qT (..., N, n)``; ``Q = H_xx/2``, ``q = g_x/2``,
    ``R = H_uu/2``, ``r = g_u/2`` (costs carry no 1/2, [theory §1]); optional
    cross term ``M (..., T, N, m, n)`` (cost ``2 du'M dx``). Arrays may be
    read-only broadcast views.
    """

    A: np.ndarray
    B: np.ndarray
    Q: np.ndarray
    q: np.ndarray
    R: np.ndarray
    r: np.ndarray
    QT: np.ndarray
    qT: np.ndarray
    M: np.ndarray | None = None


class _Tables(NamedTuple):
    """All players' quadratic cost terms compiled per stage: value ``z'H_t z/2 + o_t'z + c_t`` on
    ``z = x`` (Hx (K, N, n, n), ox (K, N, n), cx (K, N)) and on ``z = u`` (Hu, ou, cu); ``x_inv`` /
    ``u_inv``: the Hessian table is the same at every stage (then it is used once, as a stride-0
    broadcast, and products with it are one matrix multiplication); ``varying``: some nonquadratic term
    adds a trajectory-dependent Hessian. The tables hold stages ``0..last``; every later stage equals
    stage ``last`` (:meth:`stage` maps a stage index onto its row)."""

    Hx: np.ndarray
    ox: np.ndarray
    cx: np.ndarray
    Hu: np.ndarray
    ou: np.ndarray
    cu: np.ndarray
    x_inv: bool
    u_inv: bool
    varying: bool

    @property
    def last(self) -> int:
        return self.Hx.shape[0] - 1

    def stage(self, t):
        """The table row of stage(s) ``t``: ``min(t, last)``."""
        return np.minimum(t, self.last)

    @staticmethod
    def invariant(H):
        return bool((H == H[:1]).all())

    @staticmethod
    def _times(H, inv, z):
        """``H_t z`` for all players, ``(..., N, k)`` (H symmetric)."""
        if inv:  # one matrix product: z (..., k) @ [H^1; ...; H^N]' (N k, k)'
            N, k = H.shape[1:3]
            return (z @ H[0].reshape(N * k, k).T).reshape(z.shape[:-1] + (N, k))
        return None

    def grad_x(self, x, t):
        """``H_t x + o_t``, ``(..., N, n)``."""
        Hz = self._times(self.Hx, self.x_inv, x)
        if Hz is None:
            Hz = (self.Hx[t] @ x[..., None, :, None])[..., 0]
        return Hz + self.ox[t]

    def grad_u(self, u, t):
        Hz = self._times(self.Hu, self.u_inv, u)
        if Hz is None:
            Hz = (self.Hu[t] @ u[..., None, :, None])[..., 0]
        return Hz + self.ou[t]

    def hess_x(self, t, scale):
        H = self.Hx[0] if self.x_inv else self.Hx[t]
        return H * scale if scale != 1.0 else H

    def hess_u(self, t, scale):
        H = self.Hu[0] if self.u_inv else self.Hu[t]
        return H * scale if scale != 1.0 else H

    @staticmethod
    def _value(H, inv, o, c, z, t):
        Hz = _Tables._times(H, inv, z)
        if Hz is None:
            Hz = (H[t] @ z[..., None, :, None])[..., 0]
        ot = o[t]
        if np.broadcast_shapes(Hz.shape, ot.shape) == Hz.shape:  # Hz is a fresh product: update it in place
            Hz *= 0.5
            Hz += ot
        else:
            Hz = 0.5 * Hz + ot
        return _rowdot(Hz, z) + c[t]

    def value_x(self, x, t):
        """``x'H_t x/2 + o_t'x + c_t`` for all players, ``(..., N)``."""
        return self._value(self.Hx, self.x_inv, self.ox, self.cx, x, t)

    def value_u(self, u, t):
        return self._value(self.Hu, self.u_inv, self.ou, self.cu, u, t)


def _last_stage(costs) -> int:
    """The stage after which no quadratic term of ``costs`` changes (targets held, switches passed)."""
    last = 0
    for c in costs:
        for term in (c.quadratic_terms if isinstance(c, Cost) else ()):
            tgt = 0 if term.target is None or term.target.ndim == 1 else len(term.target) - 1
            last = max(last, term.t_start, term.t_stop or 0, tgt)
    return last


def compile_tables(costs, n: int, m: int) -> _Tables:
    """All players' quadratic cost terms as per-stage tables (:class:`_Tables`), stages ``0..last``.

    Computed once per game (:class:`~gamesolve.nonlinear.game.Game` does it on construction); a
    callable (non-:class:`~gamesolve.nonlinear.costs.Cost`) cost contributes nothing to the tables.
    """
    N = len(costs)
    K = _last_stage(costs) + 1
    tt = np.arange(K)
    Hx, ox, cx = np.zeros((K, N, n, n)), np.zeros((K, N, n)), np.zeros((K, N))
    Hu, ou, cu = np.zeros((K, N, m, m)), np.zeros((K, N, m)), np.zeros((K, N))
    for i, c in enumerate(costs):
        if not isinstance(c, Cost):
            continue
        for term in c.quadratic_terms:
            onx = term.on == "x"
            H, o, cc = term.table(tt, n if onx else m)
            (Hx if onx else Hu)[:, i] += H
            (ox if onx else ou)[:, i] += o
            (cx if onx else cu)[:, i] += cc
    varying = any((not isinstance(c, Cost)) or any(getattr(s, "power", 2) != 1 for s in c.other_terms)
                  for c in costs)
    return _Tables(Hx, ox, cx, Hu, ou, cu, _Tables.invariant(Hx), _Tables.invariant(Hu), varying)


def linearize(game, x, u):
    """``A = df/dx (..., n, n)``, ``B = df/du (..., n, m)`` of ``game.dynamics`` at ``x (..., n)``, ``u (..., m)``:
    the model's ``jacobians`` if it has one, else central differences (:func:`fd_jacobian`)."""
    x, u = np.asarray(x, dtype=float), np.asarray(u, dtype=float)
    jac = getattr(game.dynamics, "jacobians", None)
    if jac is not None:
        return jac(x, u)
    n = game.n
    lead = np.broadcast_shapes(x.shape[:-1], u.shape[:-1])
    x, u = np.broadcast_to(x, lead + x.shape[-1:]), np.broadcast_to(u, lead + u.shape[-1:])
    J = fd_jacobian(lambda z: game.dynamics(z[..., :n], z[..., n:]), np.concatenate([x, u], axis=-1))
    return J[..., :n], J[..., n:]


def quadraticize(game, x, u, t=0, *, scale=1.0, convex=False, terminal=False):
    """Gradients and Hessians of all players' stage costs (or terminal costs) in one vectorized call.

    Parameters
    ----------
    game : Game
    x : (..., n) array
    u : (..., m) array
    t : int or int array broadcastable against ``x.shape[:-1]``
    scale : float
        Multiplies every derivative (0.5 gives [theory §1]'s q, Q, r, R).
    convex : bool
        Project each nonquadratic term's Hessian onto the PSD cone
        (closed form for built-ins; eigenvalue clipping of the whole
        Hessian blocks for callable costs).
    terminal : bool
        Differentiate ``game.terminal_costs`` instead of the stage costs.

    Returns
    -------
    gx : (..., N, n)
    gu : (..., N, m)
    Hxx : (..., N, n, n)
    Huu : (..., N, m, m)
        The x-u cross terms are dropped ([theory §6]). Arrays may be read-only
        broadcast views.
    """
    costs, tab = (game.terminal_costs, game._terminal_tables) if terminal else (game.costs, game._tables)
    x, u = np.asarray(x, dtype=float), np.asarray(u, dtype=float)
    t = np.asarray(t, dtype=int)
    n, m, N = game.n, game.m, game.N
    lead = np.broadcast_shapes(x.shape[:-1], u.shape[:-1], t.shape)
    row = tab.stage(t)
    gx = np.broadcast_to(tab.grad_x(x, row), lead + (N, n)) * scale
    gu = np.broadcast_to(tab.grad_u(u, row), lead + (N, m)) * scale
    Hxt, Hut = tab.hess_x(row, scale), tab.hess_u(row, scale)  # (N, k, k) if time-invariant, else (.., T, N, k, k)
    if tab.varying:
        Hxx = np.empty(lead + (N, n, n))
        Hxx[...] = Hxt
    else:
        Hxx = np.broadcast_to(Hxt, lead + (N, n, n))
    Huu = np.broadcast_to(Hut, lead + (N, m, m))
    Huu = _add_nonquadratic(game, costs, x, u, t, lead, scale, convex, gx, gu, Hxx, Huu)
    return gx, gu, Hxx, Huu


def _add_nonquadratic(game, costs, x, u, t, lead, scale, convex, gx, gu, Hxx, Huu):
    """Add the derivatives of the costs' nonquadratic terms (analytic) and of callable costs (central
    differences) into ``gx, gu, Hxx`` in place; returns ``Huu`` (copied first if it has to change)."""
    n, m = game.n, game.m
    for i, c in enumerate(costs):
        if isinstance(c, Cost):
            for term in c.other_terms:
                on, idx, g, H = term.derivatives(x, u, t, scale, convex)
                ix = list(idx)
                if on == "x":
                    gx[..., i, ix] += g
                    if H is not None:
                        Hxx[..., i, np.array(ix)[:, None], np.array(ix)[None, :]] += H
                else:
                    gu[..., i, ix] += g
                    if H is not None:
                        if not Huu.flags.writeable:
                            Huu = Huu.copy()
                        Huu[..., i, np.array(ix)[:, None], np.array(ix)[None, :]] += H
        else:
            xb = np.broadcast_to(x, lead + (n,))
            ub = np.broadcast_to(u, lead + (m,))
            tb = np.broadcast_to(t, lead)
            g, H = fd_hessian(lambda z: c(z[..., :n], z[..., n:], tb.reshape(tb.shape + (1,) * (z.ndim - 1 - tb.ndim))),
                              np.concatenate([xb, ub], axis=-1))
            Hxi, Hui = H[..., :n, :n], H[..., n:, n:]
            if convex:
                Hxi, Hui = _psd_project(Hxi), _psd_project(Hui)
            gx[..., i, :] += scale * g[..., :n]
            gu[..., i, :] += scale * g[..., n:]
            Hxx[..., i, :, :] += scale * Hxi
            if not Huu.flags.writeable:
                Huu = Huu.copy()
            Huu[..., i, :, :] += scale * Hui
    return Huu


def lq_approximation(game, xs, us, *, convex=True, reg=0.0) -> LQApproximation:
    """Linearize the dynamics and quadraticize every cost along a trajectory, all stages in one call.

    Parameters
    ----------
    game : Game
    xs : (..., T+1, n) array
    us : (..., T, m) array
    convex : bool
        PSD-project the nonquadratic terms' Hessians (see :func:`quadraticize`).
    reg : float
        Added to the diagonal of every ``Q_t^i``, ``Q_T^i`` and of player
        i's own block of ``R_t^i`` (Levenberg-style Hessian regularization).

    Returns
    -------
    LQApproximation
        Deviation-coordinate LQ game: ``delta x_{t+1} = A_t delta x_t + B_t delta u_t``
        and player i's cost ``c^i(xs + dx, us + du) - c^i(xs, us)`` to second
        order, ``dx'Q dx + 2 q'dx + du'R du + 2 r'du`` ([theory §1, §6]).
    """
    xs, us = np.asarray(xs, dtype=float), np.asarray(us, dtype=float)
    T = us.shape[-2]
    if xs.shape[-2] != T + 1:
        raise InputError(f"xs must have T+1 = {T + 1} time points (us has T = {T}), got {xs.shape[-2]}")
    A, B = linearize(game, xs[..., :T, :], us)
    zeros_u = np.zeros(us.shape[:-2] + (1, game.m))
    if game.terminal_costs is None:
        gx, gu, Hxx, Huu = quadraticize(game, xs, np.concatenate([us, zeros_u], axis=-2), np.arange(T + 1),
                                        scale=0.5, convex=convex)
        q, r, Q, R = gx[..., :T, :, :], gu[..., :T, :, :], Hxx[..., :T, :, :, :], Huu[..., :T, :, :, :]
        qT, QT = gx[..., T, :, :], Hxx[..., T, :, :, :]
    else:
        q, r, Q, R = quadraticize(game, xs[..., :T, :], us, np.arange(T), scale=0.5, convex=convex)
        qT, _, QT, _ = quadraticize(game, xs[..., T, :], zeros_u[..., 0, :], T, scale=0.5, convex=convex,
                                    terminal=True)
    if reg:
        eye_n = reg * np.eye(game.n)
        Q, QT = Q + eye_n, QT + eye_n
        own = np.zeros((game.N, game.m, game.m))
        for i in range(game.N):
            s = game.control_slice(i)
            own[i, s, s] = reg * np.eye(game.dims[i])
        R = R + own
    return LQApproximation(A, B, Q, q, R, r, QT, qT)
