"""Built-in discrete-time dynamics with analytic Jacobians ([theory §6], [theory §10]).

Every model maps ``x_{t+1} = f(x_t, u_t)`` on arrays with any leading axes
(time, batch, line-search candidates): ``x (..., n)``, ``u (..., m)`` ->
``(..., n)``. ``jacobians(x, u)`` returns ``A = df/dx (..., n, n)`` and
``B = df/du (..., n, m)`` in one vectorized call. The returned arrays may be
read-only broadcast views when they do not depend on the state (copy them
before writing).

``second_order(x, u, lam)`` returns the costate-weighted curvature
``sum_k lam_k d^2 f_k`` as ``(H_xx (..., n, n), H_ux (..., m, n))`` (None for
linear models); iLQGames adds it to the players' quadratic models (the
Newton / DDP term a Gauss-Newton iLQGames drops). The control-control part is
not returned (every built-in has none except :class:`Bicycle`, whose is left out).
Models with ``second_order_out = True`` also take ``out=`` (add ``scale`` times
the state curvature into that array in place) and ``base=`` (set the touched
entries to ``base + scale * curvature`` instead: iLQGames keeps one buffer of
the shared cost Hessians and rewrites only those entries each iteration).

``kernel_blocks()`` describes a built-in model (and products of them) to the
C++ rollout kernel iLQGames uses (``_core.rollout_feedback``, the same
equations as ``__call__``, equal to round-off); it returns None for subclasses
and user-defined parts, which then go through the numpy rollout.

``count`` stacks that many identical, independent copies (one per player,
state blocks concatenated in player order, [theory §10]); the copies are evaluated
together through a reshape, so three unicycles cost the same number of numpy
calls as one. :func:`product` composes heterogeneous per-player models and
merges consecutive identical ones into a single ``count`` model.

Conventions (dt = 0.1 in every paper game):

* :class:`Unicycle` state ``(px, py, v, theta)``, control ``(a, omega)``:
  ``px+ = px + dt v cos theta``, ``py+ = py + dt v sin theta``,
  ``v+ = v + accel_gain dt a``, ``theta+ = theta + dt omega``
  ([MA-GPS] appendix B uses ``accel_gain = 2``).
* :class:`DoubleIntegrator` state ``(p (d), v (d))``, control ``a (d)``:
  ``p+ = p + dt v``, ``v+ = v + gain dt a`` ([MA-GPS] appendix C: ``gain = 5``).
* :class:`Bicycle` (kinematic, rear-axle reference) state ``(px, py, theta, v)``,
  control ``(a, delta)``: ``px+ = px + dt v cos theta``, ``py+ = py + dt v sin theta``,
  ``theta+ = theta + dt v tan(delta) / wheelbase``, ``v+ = v + dt a``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..errors import InputError

__all__ = ["Linear", "Unicycle", "DoubleIntegrator", "Bicycle", "Product", "product"]

_HALF_PI_SHIFT = np.array([0.0, np.pi / 2])


def _split(x, count, k):
    """View ``x (..., count*k)`` as ``(..., count, k)``."""
    return x.reshape(x.shape[:-1] + (count, k))


def _diag_blocks(A, count: int, k: int):
    """Writable view ``(..., count, k, k)`` of the ``count`` diagonal (k, k) blocks of ``A (..., count*k, count*k)``
    (any strides: also a slice of a larger matrix)."""
    sr, sc = A.strides[-2:]
    return np.lib.stride_tricks.as_strided(A, A.shape[:-2] + (count, k, k), A.strides[:-2] + (k * (sr + sc), sr, sc),
                                           writeable=True)


def _add_curvature(out, base, count, scale, entries):
    """Add ``scale * h`` to the entries ``(r, c, h)`` of every diagonal (4, 4) block of ``out`` in place.

    With ``base`` (an array broadcastable to ``out``) the entries are instead *set* to
    ``base + scale * h``: a buffer that already holds ``base`` everywhere else is then
    updated without copying ``base`` into it again (iLQGames keeps one such copy of its
    shared cost Hessians across iterations).
    """
    D = _diag_blocks(out, count, 4)
    Db = None if base is None else _diag_blocks(base, count, 4)
    for r, c, h in entries:
        if Db is None:
            D[..., r, c] += scale * h
        else:
            np.add(Db[..., r, c], scale * h, out=D[..., r, c])


def _block_diag_indices(count: int, k_row: int, k_col: int, rows, cols):
    """Row/column indices of entries (rows[j], cols[j]) of every diagonal block."""
    rows, cols = np.asarray(rows), np.asarray(cols)
    base_r = np.arange(count)[:, None] * k_row
    base_c = np.arange(count)[:, None] * k_col
    return (base_r + rows).ravel(), (base_c + cols).ravel()


class _Model:
    """Shared plumbing of the built-in models (state size ``k`` and control size ``l`` per copy)."""

    k: int
    l: int
    count: int

    @property
    def n(self) -> int:
        return self.k * self.count

    @property
    def m(self) -> int:
        return self.l * self.count

    @property
    def state_dims(self) -> tuple:
        return (self.k,) * self.count

    @property
    def dims(self) -> tuple:
        return (self.l,) * self.count

    def _check(self, x, u):
        x, u = np.asarray(x, dtype=float), np.asarray(u, dtype=float)
        if x.shape[-1] != self.n or u.shape[-1] != self.m:
            raise InputError(
                f"{type(self).__name__} expects x (..., {self.n}) and u (..., {self.m}), "
                f"got x {x.shape} and u {u.shape}")
        return x, u

    def _const_jac(self, lead, A0, B0):
        return np.broadcast_to(A0, lead + A0.shape), np.broadcast_to(B0, lead + B0.shape)


class _Vehicle(_Model):
    """Planar vehicles (:class:`Unicycle`, :class:`Bicycle`): four states and two controls per copy."""

    k = 4
    l = 2

    def _blocks(self, x, u):
        """Checked ``x``, ``u`` and their per-copy views ``X (..., count, 4)``, ``U (..., count, 2)``."""
        x, u = self._check(x, u)
        return x, u, _split(x, self.count, 4), _split(u, self.count, 2)


@dataclass(frozen=True)
class Unicycle(_Vehicle):
    """Unicycle ([theory §10] platooning model), ``count`` independent copies.

    Parameters
    ----------
    dt : float
        Time step.
    accel_gain : float
        ``v+ = v + accel_gain * dt * a`` (2 in [MA-GPS]'s platooning).
    count : int
        Number of stacked copies (one per player).

    Notes
    -----
    Jacobian entries per copy: ``dpx+/dv = dt cos theta``,
    ``dpx+/dtheta = -dt v sin theta``, ``dpy+/dv = dt sin theta``,
    ``dpy+/dtheta = dt v cos theta``, ``dv+/da = accel_gain dt``,
    ``dtheta+/domega = dt``; all others are the identity.

    Examples
    --------
    >>> import numpy as np
    >>> f = Unicycle(dt=0.1, accel_gain=2.0)
    >>> x, u = np.array([0.0, 0.0, 1.0, np.pi / 2]), np.array([0.5, 0.0])
    >>> bool(np.allclose(f(x, u), [0.0, 0.1, 1.1, np.pi / 2]))
    True
    """

    dt: float = 0.1
    accel_gain: float = 1.0
    count: int = 1

    def __call__(self, x, u):
        # x+ = x + B u + dt v [cos th, sin th] on the position rows (few numpy calls: this runs T times per rollout)
        x, u, X, _ = self._blocks(x, u)
        cs = np.cos(X[..., 3:4] - _HALF_PI_SHIFT)  # (..., count, 2): cos th, sin th
        cs *= self.dt * X[..., 2:3]
        out = x + u @ self._B0.T
        _split(out, self.count, 4)[..., :2] += cs
        return out

    def jacobians(self, x, u):
        x, u, X, _ = self._blocks(x, u)
        lead = x.shape[:-1] if x.shape[:-1] == u.shape[:-1] else np.broadcast_shapes(x.shape[:-1], u.shape[:-1])
        th, v = np.broadcast_to(X[..., 3], lead + (self.count,)), np.broadcast_to(X[..., 2], lead + (self.count,))
        c, s = np.cos(th), np.cos(th - _HALF_PI_SHIFT[1])  # cos th, sin th (as the step computes them)
        dt = self.dt
        A = np.empty(lead + (self.n, self.n))
        A.reshape(-1, self.n * self.n)[:] = self._A0.ravel()  # (a flat broadcast copy is faster than A[...] = A0)
        D = _diag_blocks(A, self.count, 4)  # the copies' (4, 4) diagonal blocks
        np.multiply(c, dt, out=D[..., 0, 2])  # dpx/dv
        np.multiply(s, dt, out=D[..., 1, 2])  # dpy/dv
        dv = dt * v
        np.multiply(s, dv, out=D[..., 0, 3])
        np.negative(D[..., 0, 3], out=D[..., 0, 3])  # dpx/dth = -dt v sin th
        np.multiply(c, dv, out=D[..., 1, 3])  # dpy/dth
        return A, np.broadcast_to(self._B0, lead + self._B0.shape)

    def kernel_blocks(self):
        """This model for the C++ rollout kernel (``_core.rollout_feedback``); None for subclasses."""
        return [(0, self.count, 2, float(self.dt), float(self.accel_gain))] if type(self) is Unicycle else None

    def second_order(self, x, u, lam, out=None, scale=1.0, base=None):
        """``sum_k lam_k d^2 f_k``: only ``(v, theta)`` and ``(theta, theta)`` entries per copy.

        ``d2 px+/dv dtheta = -dt sin theta``, ``d2 px+/dtheta^2 = -dt v cos theta``,
        ``d2 py+/dv dtheta = dt cos theta``, ``d2 py+/dtheta^2 = -dt v sin theta``.
        With ``out`` (an ``(..., n, n)`` array of the full broadcast shape) ``scale`` times
        the curvature is added to it in place and ``(out, None)`` returned (see :func:`_add_curvature`
        for ``base``).
        """
        X, L = _split(x, self.count, 4), _split(lam, self.count, 4)
        c, s = np.cos(X[..., 3]), np.sin(X[..., 3])
        a, b = L[..., 0], L[..., 1]
        hvt = self.dt * (b * c - a * s)
        htt = -self.dt * X[..., 2] * (a * c + b * s)
        if out is not None:
            _add_curvature(out, base, self.count, scale, ((2, 3, hvt), (3, 2, hvt), (3, 3, htt)))
            return out, None
        iv = 4 * np.arange(self.count) + 2
        lead = np.broadcast_shapes(x.shape[:-1], lam.shape[:-1])
        H = np.zeros(lead + (self.n, self.n))
        H[..., iv, iv + 1] = hvt
        H[..., iv + 1, iv] = hvt
        H[..., iv + 1, iv + 1] = htt
        return H, None

    second_order_out = True  # second_order accepts out= / scale= (used by iLQGames)

    @cached_property
    def _A0(self):
        return np.eye(self.n)

    @cached_property
    def _ai(self):
        return _block_diag_indices(self.count, 4, 4, [0, 0, 1, 1], [2, 3, 2, 3])

    @cached_property
    def _B0(self):
        B = np.zeros((self.n, self.m))
        r, c = _block_diag_indices(self.count, 4, 2, [2, 3], [0, 1])
        B[r, c] = np.tile([self.accel_gain * self.dt, self.dt], self.count)
        return B


@dataclass(frozen=True)
class DoubleIntegrator(_Model):
    """Double integrator in ``dim`` dimensions ([theory §10] basketball / formation model), ``count`` copies.

    Parameters
    ----------
    dt : float
    gain : float
        ``v+ = v + gain * dt * a`` (5 in [MA-GPS]'s basketball).
    dim : int
        Spatial dimension; per copy the state is ``(p (dim), v (dim))``, the control ``a (dim)``.
    count : int

    Notes
    -----
    Linear: ``A = [[I, dt I], [0, I]]``, ``B = [[0], [gain dt I]]`` per copy,
    returned as read-only broadcast views.
    """

    dt: float = 0.1
    gain: float = 1.0
    dim: int = 2
    count: int = 1

    @property
    def k(self):
        return 2 * self.dim

    @property
    def l(self):
        return self.dim

    @cached_property
    def _A0(self):
        d, I = self.dim, np.eye(self.dim)
        return np.kron(np.eye(self.count), np.block([[I, self.dt * I], [np.zeros((d, d)), I]]))

    @cached_property
    def _B0(self):
        I = np.eye(self.dim)
        return np.kron(np.eye(self.count), np.vstack([np.zeros((self.dim, self.dim)), self.gain * self.dt * I]))

    def __call__(self, x, u):
        x, u = self._check(x, u)
        return x @ self._A0.T + u @ self._B0.T

    def second_order(self, x, u, lam):
        """Linear model: no curvature."""
        return None

    def kernel_blocks(self):
        """This model for the C++ rollout kernel (``_core.rollout_feedback``); None for subclasses."""
        return ([(1, self.count, self.dim, float(self.dt), float(self.gain))]
                if type(self) is DoubleIntegrator else None)

    def jacobians(self, x, u):
        x, u = self._check(x, u)
        lead = np.broadcast_shapes(x.shape[:-1], u.shape[:-1])
        return self._const_jac(lead, self._A0, self._B0)


@dataclass(frozen=True)
class Bicycle(_Vehicle):
    """Kinematic bicycle, ``count`` copies; state ``(px, py, theta, v)``, control ``(a, delta)``.

    Notes
    -----
    ``theta+ = theta + dt v tan(delta) / L``, so ``dtheta+/dv = dt tan(delta)/L`` and
    ``dtheta+/ddelta = dt v / (L cos^2 delta)``; the position rows are those of
    :class:`Unicycle` with theta and v swapped.
    """

    dt: float = 0.1
    wheelbase: float = 1.0
    count: int = 1

    def __call__(self, x, u):
        x, u, X, U = self._blocks(x, u)
        th, v = X[..., 2], X[..., 3]
        dv = self.dt * v
        out = np.empty(np.broadcast_shapes(X.shape, U.shape[:-1] + (4,)))
        np.add(X[..., 0], dv * np.cos(th), out=out[..., 0])
        np.add(X[..., 1], dv * np.sin(th), out=out[..., 1])
        np.add(th, dv * np.tan(U[..., 1]) / self.wheelbase, out=out[..., 2])
        np.add(v, self.dt * U[..., 0], out=out[..., 3])
        return out.reshape(out.shape[:-2] + (self.n,))

    def jacobians(self, x, u):
        x, u, X, U = self._blocks(x, u)
        lead = np.broadcast_shapes(x.shape[:-1], u.shape[:-1])
        th, v, de = X[..., 2], X[..., 3], U[..., 1]
        c, s, tn = np.cos(th), np.sin(th), np.tan(de)
        dt, L = self.dt, self.wheelbase
        A = np.empty(lead + (self.n, self.n))
        A[...] = np.eye(self.n)
        ar, ac = _block_diag_indices(self.count, 4, 4, [0, 0, 1, 1, 2], [2, 3, 2, 3, 3])
        vals = np.stack(np.broadcast_arrays(-dt * v * s, dt * c, dt * v * c, dt * s, dt * tn / L), axis=-1)
        A[..., ar, ac] = np.broadcast_to(vals, lead + vals.shape[-2:]).reshape(lead + (-1,))
        B = np.zeros(lead + (self.n, self.m))
        br, bc = _block_diag_indices(self.count, 4, 2, [3, 2], [0, 1])
        bvals = np.stack(np.broadcast_arrays(np.full_like(de, dt), dt * v / (L * np.cos(de) ** 2)), axis=-1)
        B[..., br, bc] = np.broadcast_to(bvals, lead + bvals.shape[-2:]).reshape(lead + (-1,))
        return A, B

    def kernel_blocks(self):
        """This model for the C++ rollout kernel (``_core.rollout_feedback``); None for subclasses."""
        return [(2, self.count, 2, float(self.dt), float(self.wheelbase))] if type(self) is Bicycle else None


def _bicycle_second_order(self, x, u, lam, out=None, scale=1.0, base=None):
    """``sum_k lam_k d^2 f_k`` of :class:`Bicycle`: ``(theta, theta)``, ``(theta, v)`` and ``(delta, v)`` entries.

    ``d2 px+/dtheta^2 = -dt v cos theta``, ``d2 px+/dtheta dv = -dt sin theta``,
    ``d2 py+/dtheta^2 = -dt v sin theta``, ``d2 py+/dtheta dv = dt cos theta``,
    ``d2 theta+/dv ddelta = dt / (L cos^2 delta)``. With ``out``: ``scale`` times the
    state part is added to ``out`` in place (see :meth:`Unicycle.second_order`).
    """
    X, U, Lm = _split(x, self.count, 4), _split(u, self.count, 2), _split(lam, self.count, 4)
    th, v = X[..., 2], X[..., 3]
    c, s = np.cos(th), np.sin(th)
    a, b, g = Lm[..., 0], Lm[..., 1], Lm[..., 2]
    lead = np.broadcast_shapes(x.shape[:-1], u.shape[:-1], lam.shape[:-1])
    it = 4 * np.arange(self.count) + 2
    htt = -self.dt * v * (a * c + b * s)
    htv = self.dt * (b * c - a * s)
    if out is not None:
        H = out
        _add_curvature(out, base, self.count, scale, ((2, 2, htt), (2, 3, htv), (3, 2, htv)))
    else:
        H = np.zeros(lead + (self.n, self.n))
        H[..., it, it] = htt
        H[..., it, it + 1] = htv
        H[..., it + 1, it] = htv
    M = np.zeros(lead + (self.m, self.n))
    M[..., 2 * np.arange(self.count) + 1, it + 1] = g * self.dt / (self.wheelbase * np.cos(U[..., 1]) ** 2)
    return H, M


Bicycle.second_order = _bicycle_second_order
Bicycle.second_order_out = True


@dataclass(frozen=True, eq=False)
class Linear:
    """Linear dynamics ``x+ = A x + B u`` (an LQ game's, [theory §1]), exact Jacobians ``(A, B)``.

    Parameters
    ----------
    A : (n, n) array
    B : (n, m) array
        The joint input matrix (player blocks side by side).

    Notes
    -----
    No curvature (no ``second_order``) and no C++ rollout kernel: iLQGames
    steps it in numpy.
    """

    A: np.ndarray
    B: np.ndarray

    def __post_init__(self):
        A, B = np.array(self.A, dtype=float), np.array(self.B, dtype=float)
        if A.ndim != 2 or A.shape[0] != A.shape[1]:
            raise InputError(f"A must be a square (n, n) matrix, got shape {A.shape}")
        if B.ndim != 2 or B.shape[0] != A.shape[0]:
            raise InputError(f"B must have shape ({A.shape[0]}, m), got {B.shape}")
        A.flags.writeable = B.flags.writeable = False
        object.__setattr__(self, "A", A)
        object.__setattr__(self, "B", B)

    @property
    def n(self) -> int:
        return self.A.shape[0]

    @property
    def m(self) -> int:
        return self.B.shape[1]

    def __call__(self, x, u):
        return np.asarray(x, dtype=float) @ self.A.T + np.asarray(u, dtype=float) @ self.B.T

    def jacobians(self, x, u):
        lead = np.broadcast_shapes(np.shape(x)[:-1], np.shape(u)[:-1])
        return np.broadcast_to(self.A, lead + self.A.shape), np.broadcast_to(self.B, lead + self.B.shape)


@dataclass(frozen=True)
class Product:
    """Independent per-player models side by side (block-diagonal Jacobians).

    Build it with :func:`product`, which merges consecutive identical models.
    """

    parts: tuple

    @property
    def n(self) -> int:
        return sum(p.n for p in self.parts)

    @property
    def m(self) -> int:
        return sum(p.m for p in self.parts)

    @property
    def state_dims(self) -> tuple:
        return tuple(d for p in self.parts for d in p.state_dims)

    @property
    def dims(self) -> tuple:
        return tuple(d for p in self.parts for d in p.dims)

    def _slices(self):
        xo = np.cumsum([0] + [p.n for p in self.parts])
        uo = np.cumsum([0] + [p.m for p in self.parts])
        return [(slice(xo[i], xo[i + 1]), slice(uo[i], uo[i + 1])) for i in range(len(self.parts))]

    def __call__(self, x, u):
        return np.concatenate([p(x[..., sx], u[..., su]) for p, (sx, su) in zip(self.parts, self._slices())], axis=-1)

    def jacobians(self, x, u):
        lead = np.broadcast_shapes(x.shape[:-1], u.shape[:-1])
        A = np.zeros(lead + (self.n, self.n))
        B = np.zeros(lead + (self.n, self.m))
        for p, (sx, su) in zip(self.parts, self._slices()):
            a, b = p.jacobians(x[..., sx], u[..., su])
            A[..., sx, sx] = a
            B[..., sx, su] = b
        return A, B

    def kernel_blocks(self):
        """The parts' blocks for the C++ rollout kernel, or None if some part is not a built-in model."""
        out = []
        for p in self.parts:
            spec = getattr(p, "kernel_blocks", lambda: None)() if type(self) is Product else None
            if spec is None:
                return None
            out += spec
        return out


def _product_second_order(self, x, u, lam, out=None, scale=1.0, base=None):
    """The parts' curvatures on their diagonal blocks (``out``, ``scale``, ``base``: see
    :meth:`Unicycle.second_order`; with ``base`` a part without ``out`` support sets its whole block)."""
    lead = np.broadcast_shapes(x.shape[:-1], u.shape[:-1], lam.shape[:-1])
    H = np.zeros(lead + (self.n, self.n)) if out is None else out
    M = np.zeros(lead + (self.m, self.n))
    any_ = False
    for p, (sx, su) in zip(self.parts, self._slices()):
        if not hasattr(p, "second_order"):
            continue
        if out is not None and getattr(p, "second_order_out", False):
            res = p.second_order(x[..., sx], u[..., su], lam[..., sx], out=H[..., sx, sx], scale=scale,
                                 base=None if base is None else base[..., sx, sx])
        else:
            res = p.second_order(x[..., sx], u[..., su], lam[..., sx])
            if res is not None:
                if out is None:
                    H[..., sx, sx] += res[0]
                elif base is None:
                    H[..., sx, sx] += scale * res[0]
                else:
                    H[..., sx, sx] = base[..., sx, sx] + scale * res[0]
        if res is None:
            continue
        any_ = True
        if res[1] is not None:
            M[..., su, sx] = res[1]
    return (H, M) if any_ else None


Product.second_order = _product_second_order
Product.second_order_out = True


def product(*models):
    """Compose per-player models into one joint model (players in the given order).

    Consecutive models that differ only in ``count`` are merged into one model
    with the summed count (evaluated through one reshape); a single resulting
    model is returned as is.

    Examples
    --------
    >>> f = product(Unicycle(accel_gain=2.0), Unicycle(accel_gain=2.0), DoubleIntegrator())
    >>> f.n, f.m, f.dims
    (12, 6, (2, 2, 2))
    """
    if not models:
        raise InputError("product needs at least one model, got none")
    merged = []
    for mdl in models:
        prev = merged[-1] if merged else None
        if (prev is not None and type(prev) is type(mdl) and hasattr(mdl, "count")
                and dataclasses.replace(prev, count=1) == dataclasses.replace(mdl, count=1)):
            merged[-1] = dataclasses.replace(prev, count=prev.count + mdl.count)
        else:
            merged.append(mdl)
    return merged[0] if len(merged) == 1 else Product(tuple(merged))
