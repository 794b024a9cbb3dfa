"""Nonlinear dynamic games: definition, linearization and quadraticization ([theory §6]).

A :class:`Game` holds dynamics ``x_{t+1} = f(x_t, u_t)`` and one stage cost
``c^i(x, u, t)`` per player (joint control ``u = [u^1; ...; u^N]``, sizes
``dims``; the joint state is the concatenation of per-player blocks of sizes
``state_dims``). Player i's total cost over horizon T is
``sum_{t<T} c^i(x_t, u_t, t) + c^i(x_T, 0, T)`` (or ``terminal_costs[i]``).

Everything is vectorized over leading axes: ``x (..., n)``, ``u (..., m)``;
the stage index ``t`` is an int or an int array broadcastable against
``x.shape[:-1]`` (a 1-D ``t`` lines up with the time axis -2 of a trajectory
``xs (..., T+1, n)``). :meth:`Game.lq_approximation` linearizes the dynamics
and quadraticizes every player's cost at all T+1 stages in one call (no Python
loop over stages or batch members).

Derivatives are analytic for the built-in models of :mod:`gamesolve.dynamics`
and terms of :mod:`gamesolve.costs`. Any other callable gets vectorized central
differences (:func:`fd_jacobian`, :func:`fd_hessian`): first derivatives with
step ``h = eps^(1/3) max(1, |z|)`` (truncation + round-off error about
``eps^(2/3) ~ 4e-11`` relative to the function's scale), second derivatives of
a cost from values with ``h = eps^(1/4) max(1, |z|)`` (error about
``eps^(1/2) ~ 1.5e-8`` relative); ``2 (n+m)`` and ``4 (n+m)^2`` function
evaluations per point.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from .._validate import as_float_array
from .costs import Cost, as_cost
from ..errors import InputError

__all__ = ["Game", "LQApproximation", "fd_jacobian", "fd_hessian"]

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


def _with_time(fun):
    """Accept ``c(x, u)`` or ``c(x, u, t)``; return a 3-argument callable."""
    try:
        nargs = len(inspect.signature(fun).parameters)
    except (TypeError, ValueError):
        nargs = 3
    return fun if nargs >= 3 else (lambda x, u, t: fun(x, u))


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
    adds a trajectory-dependent Hessian."""

    Hx: np.ndarray
    ox: np.ndarray
    cx: np.ndarray
    Hu: np.ndarray
    ou: np.ndarray
    cu: np.ndarray
    x_inv: bool
    u_inv: bool
    varying: bool

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


@dataclass(frozen=True, eq=False)
class Game:
    """A nonlinear N-player dynamic game ([theory §6]).

    Parameters
    ----------
    dynamics : callable
        ``f(x (..., n), u (..., m)) -> (..., n)``. If it has a
        ``jacobians(x, u) -> (A, B)`` method (all of :mod:`gamesolve.dynamics`
        do) it is used; otherwise central differences.
    costs : sequence of N
        Player i's stage cost: a :class:`gamesolve.costs.Cost` (analytic
        derivatives) or a callable ``c(x, u[, t]) -> (...)`` (central differences).
    dims : sequence of int
        Control sizes ``(m_1, ..., m_N)``.
    state_dims : sequence of int
        Per-player state block sizes ``(n_1, ..., n_N)`` (sum n).
    terminal_costs : sequence of N, optional
        Terminal costs ``c_T^i(x[, u, t])`` evaluated at ``(x_T, 0, T)``;
        default: the stage costs there ([theory §6]).
    name : str
    x0 : (n,) array, optional
        A default initial state (the examples' evaluation start).
    x0_low, x0_high : (n,) arrays, optional
        Box of initial states for :meth:`sample_x0`.
    control_bounds : (low, high), optional
        Informational (the RL environments' action box); iLQGames does not
        enforce it.
    horizon : int, optional
        The horizon the game is usually solved over (informational).
    info : dict, optional
        Free-form metadata (e.g. the navigation goals).

    Examples
    --------
    >>> import numpy as np
    >>> from gamesolve.dynamics import DoubleIntegrator
    >>> from gamesolve.costs import tracking, control_effort
    >>> g = Game(DoubleIntegrator(count=2), [tracking([0, 1]) + control_effort([0, 1]),
    ...          tracking([4, 5], [1.0, 1.0]) + control_effort([2, 3])], dims=(2, 2), state_dims=(4, 4))
    >>> xs, us = np.zeros((11, 8)), np.zeros((10, 4))
    >>> lq = g.lq_approximation(xs, us)
    >>> lq.Q.shape, float(lq.q[0, 1, 4])
    ((10, 2, 8, 8), -1.0)
    """

    dynamics: object
    costs: tuple
    dims: tuple
    state_dims: tuple
    terminal_costs: tuple | None = None
    name: str = ""
    x0: np.ndarray | None = None
    x0_low: np.ndarray | None = None
    x0_high: np.ndarray | None = None
    control_bounds: tuple | None = None
    horizon: int | None = None
    info: dict = field(default_factory=dict)
    _cache: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        if not callable(self.dynamics):
            raise InputError(f"dynamics must be callable f(x, u), got {type(self.dynamics).__name__}")
        dims = tuple(int(d) for d in np.atleast_1d(self.dims))
        sdims = tuple(int(d) for d in np.atleast_1d(self.state_dims))
        if not dims or any(d < 1 for d in dims):
            raise InputError(f"dims must be positive integers, got {self.dims!r}")
        if len(sdims) != len(dims) or any(d < 1 for d in sdims):
            raise InputError(f"state_dims must hold {len(dims)} positive integers (one per player), "
                             f"got {self.state_dims!r}")
        object.__setattr__(self, "dims", dims)
        object.__setattr__(self, "state_dims", sdims)
        costs = tuple(as_cost(c) for c in self.costs)
        if len(costs) != len(dims):
            raise InputError(f"costs must hold one cost per player ({len(dims)}), got {len(costs)}")
        for i, c in enumerate(costs):
            if not isinstance(c, Cost) and not callable(c):
                raise InputError(f"costs[{i}] must be a Cost or a callable c(x, u, t), got {type(c).__name__}")
        object.__setattr__(self, "costs", tuple(c if isinstance(c, Cost) else _with_time(c) for c in costs))
        if self.terminal_costs is not None:
            tc = tuple(as_cost(c) for c in self.terminal_costs)
            if len(tc) != len(dims):
                raise InputError(f"terminal_costs must hold {len(dims)} costs, got {len(tc)}")
            object.__setattr__(self, "terminal_costs",
                               tuple(c if isinstance(c, Cost) else _with_time(c) for c in tc))
        for name in ("n", "m"):
            want = getattr(self, name)
            have = getattr(self.dynamics, name, want)
            if have != want:
                raise InputError(f"dynamics.{name} is {have} but the game's sizes give {name} = {want}")
        for name in ("x0", "x0_low", "x0_high"):
            v = getattr(self, name)
            if v is not None:
                v = as_float_array(name, v, ndim=1)
                if v.shape != (self.n,):
                    raise InputError(f"{name} must have shape ({self.n},), got {v.shape}")
                object.__setattr__(self, name, v)

    # ----------------------------------------------------------------- sizes
    @property
    def N(self) -> int:
        return len(self.dims)

    @property
    def n(self) -> int:
        return sum(self.state_dims)

    @property
    def m(self) -> int:
        return sum(self.dims)

    def state_slice(self, i: int) -> slice:
        """Player i's block of the joint state."""
        off = int(np.sum(self.state_dims[:i]))
        return slice(off, off + self.state_dims[i])

    def control_slice(self, i: int) -> slice:
        """Player i's block of the joint control."""
        off = int(np.sum(self.dims[:i]))
        return slice(off, off + self.dims[i])

    def sample_x0(self, size: int, seed=None) -> np.ndarray:
        """``size`` initial states i.i.d. uniform on ``[x0_low, x0_high]``, shape ``(size, n)``."""
        if self.x0_low is None or self.x0_high is None:
            raise InputError(f"game {self.name!r} has no initial-state box (x0_low, x0_high)")
        rng = np.random.default_rng(seed)
        return rng.uniform(self.x0_low, self.x0_high, size=(int(size), self.n))

    # -------------------------------------------------------------- dynamics
    def step(self, x, u):
        """``f(x, u)`` on arrays with leading axes."""
        return self.dynamics(x, u)

    def rollout_open_loop(self, x0, us):
        """States ``(..., T+1, n)`` from ``x0 (..., n)`` under controls ``us (..., T, m)``."""
        x0, us = np.asarray(x0, dtype=float), np.asarray(us, dtype=float)
        T = us.shape[-2]
        xs = np.empty(np.broadcast_shapes(x0.shape[:-1], us.shape[:-2]) + (T + 1, self.n))
        xs[..., 0, :] = x0
        for t in range(T):
            xs[..., t + 1, :] = self.dynamics(xs[..., t, :], us[..., t, :])
        return xs

    def linearize(self, x, u):
        """``A = df/dx (..., n, n)``, ``B = df/du (..., n, m)``: analytic if available, else central differences."""
        x, u = np.asarray(x, dtype=float), np.asarray(u, dtype=float)
        jac = getattr(self.dynamics, "jacobians", None)
        if jac is not None:
            return jac(x, u)
        n = self.n
        lead = np.broadcast_shapes(x.shape[:-1], u.shape[:-1])
        x, u = np.broadcast_to(x, lead + x.shape[-1:]), np.broadcast_to(u, lead + u.shape[-1:])
        J = fd_jacobian(lambda z: self.dynamics(z[..., :n], z[..., n:]), np.concatenate([x, u], axis=-1))
        return J[..., :n], J[..., n:]

    # ----------------------------------------------------------------- costs
    def _tables(self, t, costs=None):
        """Compiled quadratic terms of ``costs`` (default: the stage costs) at stages ``0..max(t)``:
        a :class:`_Tables` (cached per cost list; rebuilt, doubled, when a later stage is asked for)."""
        costs = self.costs if costs is None else costs
        key = ("tables", id(costs))
        K = (int(t[-1]) if t.ndim == 1 and t.size else int(np.max(t))) + 1 if np.size(t) else 1
        tab = self._cache.get(key)
        if tab is None or tab.Hx.shape[0] < K:
            K = max(K, 2 * (tab.Hx.shape[0] if tab is not None else 0))
            tt = np.arange(K)
            n, m, N = self.n, self.m, self.N
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
            tab = _Tables(Hx, ox, cx, Hu, ou, cu, _Tables.invariant(Hx), _Tables.invariant(Hu),
                          self._varying(costs))
            self._cache[key] = tab
        return tab

    def _varying(self, costs):
        """Whether any cost has a term whose Hessian changes along the trajectory."""
        return any((not isinstance(c, Cost)) or any(
            not (getattr(s, "power", 2) == 1) for s in c.other_terms) for c in costs)

    def stage_costs(self, x, u, t=0):
        """All players' stage costs ``c^i(x, u, t)``, shape ``(..., N)``."""
        x, u = np.asarray(x, dtype=float), np.asarray(u, dtype=float)
        t = np.asarray(t, dtype=int)
        tab = self._tables(t)
        out = tab.value_x(x, t) + tab.value_u(u, t)
        if all(isinstance(c, Cost) and not c.other_terms for c in self.costs):
            return out
        extra = [self._other_value(c, x, u, t) for c in self.costs]
        return out + np.stack(np.broadcast_arrays(*extra), axis=-1)

    @staticmethod
    def _other_value(c, x, u, t):
        if isinstance(c, Cost):
            v = 0.0
            for s in c.other_terms:
                v = v + s.value(x, u, t)
            return np.asarray(v, dtype=float)
        return np.asarray(c(x, u, t), dtype=float)

    def total_costs(self, xs, us):
        """Players' total costs ``(..., N)`` of a trajectory ``xs (..., T+1, n)``, ``us (..., T, m)``."""
        xs, us = np.asarray(xs, dtype=float), np.asarray(us, dtype=float)
        T = us.shape[-2]
        if self.terminal_costs is None:
            upad = np.concatenate([us, np.zeros(us.shape[:-2] + (1, self.m))], axis=-2)
            return self.stage_costs(xs, upad, np.arange(T + 1)).sum(axis=-2)
        run = self.stage_costs(xs[..., :T, :], us, np.arange(T)).sum(axis=-2)
        xT = xs[..., T, :]
        term = np.stack(np.broadcast_arrays(*[np.asarray(c.value(xT, np.zeros(self.m), T) if isinstance(c, Cost)
                                                         else c(xT, np.zeros(self.m), T), dtype=float)
                                              for c in self.terminal_costs]), axis=-1)
        return run + term

    def quadraticize(self, x, u, t=0, *, scale=1.0, convex=False):
        """Gradients and Hessians of all players' stage costs in one vectorized call.

        Parameters
        ----------
        x : (..., n) array
        u : (..., m) array
        t : int or int array broadcastable against ``x.shape[:-1]``
        scale : float
            Multiplies every derivative (0.5 gives [theory §1]'s q, Q, r, R).
        convex : bool
            Project each nonquadratic term's Hessian onto the PSD cone
            (closed form for built-ins; eigenvalue clipping of the whole
            Hessian blocks for callable costs).

        Returns
        -------
        gx : (..., N, n)
        gu : (..., N, m)
        Hxx : (..., N, n, n)
        Huu : (..., N, m, m)
            The x-u cross terms are dropped ([theory §6]). Arrays may be read-only
            broadcast views.
        """
        return self._quadraticize(self.costs, x, u, t, scale, convex)

    def _quadraticize(self, costs, x, u, t, scale, convex):
        x, u = np.asarray(x, dtype=float), np.asarray(u, dtype=float)
        t = np.asarray(t, dtype=int)
        n, m, N = self.n, self.m, self.N
        lead = np.broadcast_shapes(x.shape[:-1], u.shape[:-1], t.shape)
        tab = self._tables(t, costs)
        gx = np.broadcast_to(tab.grad_x(x, t), lead + (N, n)) * scale
        gu = np.broadcast_to(tab.grad_u(u, t), lead + (N, m)) * scale
        Hxt, Hut = tab.hess_x(t, scale), tab.hess_u(t, scale)  # (N, k, k) if time-invariant, else (.., T, N, k, k)
        if tab.varying:
            Hxx = np.empty(lead + (N, n, n))
            Hxx[...] = Hxt
        else:
            Hxx = np.broadcast_to(Hxt, lead + (N, n, n))
        Huu = np.broadcast_to(Hut, lead + (N, m, m))
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
        return gx, gu, Hxx, Huu

    def lq_approximation(self, xs, us, *, convex=True, reg=0.0) -> LQApproximation:
        """Linearize the dynamics and quadraticize every cost along a trajectory, all stages in one call.

        Parameters
        ----------
        xs : (..., T+1, n) array
        us : (..., T, m) array
        convex : bool
            PSD-project the nonquadratic terms' Hessians (see :meth:`quadraticize`).
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
        A, B = self.linearize(xs[..., :T, :], us)
        zeros_u = np.zeros(us.shape[:-2] + (1, self.m))
        if self.terminal_costs is None:
            gx, gu, Hxx, Huu = self._quadraticize(self.costs, xs, np.concatenate([us, zeros_u], axis=-2),
                                                  np.arange(T + 1), 0.5, convex)
            q, r, Q, R = gx[..., :T, :, :], gu[..., :T, :, :], Hxx[..., :T, :, :, :], Huu[..., :T, :, :, :]
            qT, QT = gx[..., T, :, :], Hxx[..., T, :, :, :]
        else:
            q, r, Q, R = self._quadraticize(self.costs, xs[..., :T, :], us, np.arange(T), 0.5, convex)
            qT, _, QT, _ = self._quadraticize(self.terminal_costs, xs[..., T, :], zeros_u[..., 0, :], T, 0.5, convex)
        if reg:
            eye_n = reg * np.eye(self.n)
            Q, QT = Q + eye_n, QT + eye_n
            own = np.zeros((self.N, self.m, self.m))
            for i in range(self.N):
                s = self.control_slice(i)
                own[i, s, s] = reg * np.eye(self.dims[i])
            R = R + own
        return LQApproximation(A, B, Q, q, R, r, QT, qT)
