"""Built-in stage-cost terms with analytic derivatives ([theory §6], [theory §10]).

A player's stage cost ``c^i(x, u, t)`` is a :class:`Cost`: a sum of terms,
composed with ``+``. Every term reads a few state components ``x[..., idx]``
or control components ``u[..., idx]`` and is evaluated on arrays with any
leading axes; ``t`` is the stage index (an int, or a 1-D int array aligned
with axis -2 of ``x``, i.e. with the time axis of a trajectory).

Two kinds of terms:

* :class:`Quadratic` ``(L z - b_t)' W (L z - b_t)`` (weight switched on for
  ``t_start <= t < t_stop``), with ``z = x[idx]`` or ``u[idx]``. It covers
  tracking (time-varying targets), relative position, quadratic state
  penalties and control effort. Games compile all quadratic terms of all
  players into per-stage tables (Hessian, linear term, constant), so their
  derivatives cost one batched mat-vec per iteration.
* Smooth or piecewise-smooth nonquadratic terms :class:`Ring`,
  :class:`OneSided` and :class:`Proximity`, which return their gradient and
  Hessian on the components they touch. With ``convex=True`` they return the
  projection of their Hessian onto the positive semidefinite cone, computed in
  closed form (the regularization iLQGames uses, [theory §6]).

Derivatives are true derivatives scaled by ``scale`` (iLQGames passes 0.5:
[theory §1] costs carry no 1/2, so ``c(z + d) ~ c + g'd + d'(H/2)d`` gives
``q = g/2``, ``Q = H/2``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError

__all__ = [
    "Cost", "Quadratic", "Ring", "OneSided", "Proximity",
    "tracking", "relative_position", "control_effort",
]


def _idx(name, idx) -> tuple:
    out = tuple(int(i) for i in np.atleast_1d(idx))
    if not out or any(i < 0 for i in out):
        raise InputError(f"{name} must be a non-empty sequence of non-negative indices, got {idx!r}")
    return out


def _time_mask(t, t_start, t_stop):
    t = np.asarray(t)
    on = t >= t_start
    if t_stop is not None:
        on &= t < t_stop
    return on.astype(float)


@dataclass(frozen=True, eq=False)
class Quadratic:
    """``(L z - b_t)' W (L z - b_t)`` on ``z = x[idx]`` (``on="x"``) or ``u[idx]`` (``on="u"``).

    Parameters
    ----------
    idx : sequence of int
        Components of the state (or joint control) the term reads.
    L : (k, len(idx)) array, optional
        Linear map; default the identity.
    W : float, (k,) or (k, k) array
        Weight (scalar, diagonal or symmetric PSD matrix).
    target : (k,) or (T_ref, k) array, optional
        ``b``; a 2-D target is a reference trajectory indexed by ``t`` (held at
        its last row beyond its end). Default zero.
    on : {"x", "u"}
    t_start, t_stop : int, optional
        The term is active for ``t_start <= t < t_stop``.

    Notes
    -----
    Gradient ``2 L'W(Lz - b)``, Hessian ``2 L'WL`` (constant).
    """

    idx: tuple
    L: np.ndarray | None = None
    W: object = 1.0
    target: np.ndarray | None = None
    on: str = "x"
    t_start: int = 0
    t_stop: int | None = None

    def __post_init__(self):
        idx = _idx("idx", self.idx)
        object.__setattr__(self, "idx", idx)
        L = np.eye(len(idx)) if self.L is None else np.atleast_2d(np.asarray(self.L, dtype=float))
        if L.shape[1] != len(idx):
            raise InputError(f"L must have {len(idx)} columns (one per idx), got shape {L.shape}")
        object.__setattr__(self, "L", L)
        k = L.shape[0]
        W = np.asarray(self.W, dtype=float)
        W = W * np.eye(k) if W.ndim == 0 else (np.diag(W) if W.ndim == 1 else W)
        if W.shape != (k, k):
            raise InputError(f"W must be a scalar, ({k},) or ({k}, {k}), got shape {W.shape}")
        object.__setattr__(self, "W", W)
        if self.target is not None:
            b = np.asarray(self.target, dtype=float)
            if b.shape[-1:] != (k,) or b.ndim > 2:
                raise InputError(f"target must have shape ({k},) or (T_ref, {k}), got {b.shape}")
            object.__setattr__(self, "target", b)
        if self.on not in ("x", "u"):
            raise InputError(f"on must be 'x' or 'u', got {self.on!r}")

    def target_at(self, t):
        """``b_t``, shape ``t.shape + (k,)``."""
        k = self.L.shape[0]
        t = np.asarray(t)
        if self.target is None:
            return np.zeros(t.shape + (k,))
        if self.target.ndim == 1:
            return np.broadcast_to(self.target, t.shape + (k,))
        return self.target[np.minimum(t, len(self.target) - 1)]

    def value(self, x, u, t=0):
        z = (x if self.on == "x" else u)[..., list(self.idx)]
        t = np.asarray(t)
        e = z @ self.L.T - self.target_at(t)
        w = _time_mask(t, self.t_start, self.t_stop)
        return w * np.einsum("...a,ab,...b->...", e, self.W, e)

    def table(self, t, size):
        """Per-stage ``H (K, size, size)``, ``o (K, size)``, ``c (K,)`` with value ``z'Hz/2 + o'z + c``."""
        t = np.asarray(t)
        w = _time_mask(t, self.t_start, self.t_stop)
        E = np.zeros((self.L.shape[0], size))
        np.add.at(E.T, list(self.idx), self.L.T)
        LW = E.T @ self.W
        b = self.target_at(t)
        H = 2.0 * w[:, None, None] * (LW @ E)[None]
        o = -2.0 * w[:, None] * (b @ LW.T)
        c = w * np.einsum("ka,ab,kb->k", b, self.W, b)
        return H, o, c


@dataclass(frozen=True, eq=False)
class Ring:
    """``weight * (|p|^2 - radius^2)^2`` on ``p = x[idx]`` ([MA-GPS] eq. 22, squared as in [theory §10]).

    Notes
    -----
    With ``s = |p|^2 - r^2``: gradient ``4 w s p``, Hessian ``4 w s I + 8 w p p'``.
    Its eigenvalues are ``4 w s`` (orthogonal to p) and ``4 w s + 8 w |p|^2``
    (along p); ``convex=True`` clips both at zero (the PSD projection).
    """

    idx: tuple
    radius: float
    weight: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "idx", _idx("idx", self.idx))

    def value(self, x, u, t=0):
        p = x[..., list(self.idx)]
        return self.weight * (np.einsum("...a,...a->...", p, p) - self.radius ** 2) ** 2

    def derivatives(self, x, u, t, scale, convex):
        p = x[..., list(self.idx)]
        w = self.weight * scale
        pp = np.einsum("...a,...a->...", p, p)
        s = pp - self.radius ** 2
        g = (4.0 * w * s)[..., None] * p
        outer = p[..., :, None] * p[..., None, :]
        eye = np.eye(len(self.idx))
        if convex:
            lam_perp = np.maximum(4.0 * w * s, 0.0)
            lam_par = np.maximum(4.0 * w * s + 8.0 * w * pp, 0.0)
            inv = np.where(pp > 0, 1.0 / np.where(pp > 0, pp, 1.0), 0.0)
            P = outer * inv[..., None, None]
            H = lam_perp[..., None, None] * (eye - P) + lam_par[..., None, None] * P
        else:
            H = (4.0 * w * s)[..., None, None] * eye + 8.0 * w * outer
        return ("x", self.idx, g, H)


@dataclass(frozen=True, eq=False)
class OneSided:
    """One-sided penalty ``weight * max(a'z - b, 0)**power`` on ``z = x[idx]`` or ``u[idx]``.

    ``power=1`` is the hinge of [MA-GPS]'s basketball (``100 max(p_y, 0)``):
    its gradient is the subgradient [MA-GPS]'s code uses,
    ``weight * 1[a'z - b > 0] * a`` (zero at the kink), and its Hessian is
    zero. ``power=2`` is the smooth squared hinge: gradient
    ``2 w max(a'z - b, 0) a``, Hessian ``2 w 1[a'z - b > 0] a a'`` (PSD).
    """

    idx: tuple
    a: np.ndarray | float = 1.0
    b: float = 0.0
    weight: float = 1.0
    power: int = 1
    on: str = "x"

    def __post_init__(self):
        idx = _idx("idx", self.idx)
        object.__setattr__(self, "idx", idx)
        a = np.broadcast_to(np.asarray(self.a, dtype=float), (len(idx),)).copy()
        object.__setattr__(self, "a", a)
        if self.power not in (1, 2):
            raise InputError(f"power must be 1 or 2, got {self.power!r}")
        if self.on not in ("x", "u"):
            raise InputError(f"on must be 'x' or 'u', got {self.on!r}")

    def value(self, x, u, t=0):
        z = (x if self.on == "x" else u)[..., list(self.idx)]
        return self.weight * np.maximum(z @ self.a - self.b, 0.0) ** self.power

    def derivatives(self, x, u, t, scale, convex):
        z = (x if self.on == "x" else u)[..., list(self.idx)]
        h = z @ self.a - self.b
        w = self.weight * scale
        if self.power == 1:
            g = (w * (h > 0))[..., None] * self.a
            H = None
        else:
            g = (2.0 * w * np.maximum(h, 0.0))[..., None] * self.a
            H = (2.0 * w * (h > 0))[..., None, None] * np.outer(self.a, self.a)
        return (self.on, self.idx, g, H)


@dataclass(frozen=True, eq=False)
class Proximity:
    """Collision avoidance ``weight * sum_j max(d_min - |p - p_j|, 0)^2``.

    Parameters
    ----------
    idx : sequence of int
        The position ``p = x[idx]`` of the player who pays.
    others : sequence of sequences of int
        Positions ``p_j = x[others[j]]`` of the players to keep away from.
    d_min : float
        Distance below which the penalty is active ([Sparse-DP] appendix A.5.1).
    weight : float

    Notes
    -----
    With ``e = (p - p_j)/d`` and ``h = d_min - d > 0``: gradient in ``p``
    ``-2 w h e`` (and the opposite in ``p_j``); Hessian in ``delta = p - p_j``
    ``2 w e e' - 2 w (h / d)(I - e e')``. ``convex=True`` keeps the PSD part
    ``2 w e e'``. Both map to ``(p, p_j)`` through ``[I, -I]``.
    """

    idx: tuple
    others: tuple
    d_min: float
    weight: float = 1.0

    def __post_init__(self):
        idx = _idx("idx", self.idx)
        others = tuple(_idx(f"others[{j}]", o) for j, o in enumerate(self.others))
        if any(len(o) != len(idx) for o in others):
            raise InputError(f"every entry of others must have {len(idx)} indices like idx, got {others}")
        object.__setattr__(self, "idx", idx)
        object.__setattr__(self, "others", others)

    def _deltas(self, x):
        p = x[..., list(self.idx)]
        P = x[..., np.array(self.others)]  # (..., J, d)
        delta = p[..., None, :] - P
        d = np.sqrt(np.einsum("...jd,...jd->...j", delta, delta))
        return delta, d

    def value(self, x, u, t=0):
        _, d = self._deltas(x)
        return self.weight * np.sum(np.maximum(self.d_min - d, 0.0) ** 2, axis=-1)

    def derivatives(self, x, u, t, scale, convex):
        delta, d = self._deltas(x)
        w = self.weight * scale
        dim, J = len(self.idx), len(self.others)
        h = np.maximum(self.d_min - d, 0.0)
        active = h > 0
        safe = np.where(d > 0, d, 1.0)
        e = delta / safe[..., None]
        ee = e[..., :, None] * e[..., None, :]
        gd = (-2.0 * w * h)[..., None] * e  # gradient in delta, (..., J, d)
        Hd = (2.0 * w * active)[..., None, None] * ee
        if not convex:
            Hd = Hd - (2.0 * w * h / safe)[..., None, None] * (np.eye(dim) - ee)
        # map to z = (p, p_1, ..., p_J): d delta_j / dz = [I, 0.., -I (slot j), ..]
        idx = self.idx + tuple(i for o in self.others for i in o)
        lead = gd.shape[:-2]
        g = np.zeros(lead + ((J + 1) * dim,))
        g[..., :dim] = gd.sum(axis=-2)
        g[..., dim:] = -gd.reshape(lead + (J * dim,))
        H = np.zeros(lead + (J + 1, dim, J + 1, dim))
        H[..., 0, :, 0, :] = Hd.sum(axis=-3)
        for j in range(J):
            H[..., 0, :, j + 1, :] = -Hd[..., j, :, :]
            H[..., j + 1, :, 0, :] = -Hd[..., j, :, :]
            H[..., j + 1, :, j + 1, :] = Hd[..., j, :, :]
        return ("x", idx, g, H.reshape(lead + ((J + 1) * dim, (J + 1) * dim)))


@dataclass(frozen=True, eq=False)
class Cost:
    """A player's stage cost: the sum of its terms. ``Cost(a) + b`` appends terms.

    Examples
    --------
    >>> import numpy as np
    >>> c = control_effort([0, 1]) + Ring([0, 1], radius=1.0)
    >>> float(c.value(np.array([2.0, 0.0]), np.array([1.0, 1.0])))
    11.0
    """

    terms: tuple = field(default_factory=tuple)

    def __post_init__(self):
        object.__setattr__(self, "terms", tuple(self.terms))

    def __add__(self, other):
        if isinstance(other, Cost):
            return Cost(self.terms + other.terms)
        return Cost(self.terms + (other,))

    __radd__ = __add__

    @property
    def quadratic_terms(self):
        return tuple(s for s in self.terms if isinstance(s, Quadratic))

    @property
    def other_terms(self):
        return tuple(s for s in self.terms if not isinstance(s, Quadratic))

    def value(self, x, u, t=0):
        """Stage cost ``c(x, u, t)`` on arrays with leading axes; returns ``x.shape[:-1]`` (broadcast with u)."""
        x, u = np.asarray(x, dtype=float), np.asarray(u, dtype=float)
        out = np.zeros(np.broadcast_shapes(x.shape[:-1], u.shape[:-1]))
        for s in self.terms:
            out = out + s.value(x, u, t)
        return out


TERMS = (Quadratic, Ring, OneSided, Proximity)


def as_cost(c):
    """A single term becomes a one-term :class:`Cost`; anything else is returned unchanged."""
    return Cost((c,)) if isinstance(c, TERMS) else c


# Make every term a one-term Cost when added to another term.
for _cls in TERMS:
    _cls.__add__ = lambda self, other: Cost((self,)) + other
    _cls.__radd__ = lambda self, other: (other if isinstance(other, Cost) else Cost((other,))) + self


def tracking(idx, target=None, weight=1.0, *, t_start=0, t_stop=None) -> Quadratic:
    """``weight * |x[idx] - target_t|^2`` (target fixed or a (T_ref, k) reference)."""
    return Quadratic(idx, W=weight, target=target, t_start=t_start, t_stop=t_stop)


def relative_position(idx, other, weight=1.0, *, scale=1.0, offset=None) -> Quadratic:
    """``weight * |x[idx] - scale * x[other] - offset_t|^2`` (defenders, screens, formations)."""
    idx, other = _idx("idx", idx), _idx("other", other)
    if len(idx) != len(other):
        raise InputError(f"idx and other must have the same length, got {len(idx)} and {len(other)}")
    k = len(idx)
    L = np.hstack([np.eye(k), -scale * np.eye(k)])
    return Quadratic(idx + other, L=L, W=weight, target=offset)


def control_effort(idx, weight=1.0) -> Quadratic:
    """``weight * |u[idx]|^2`` ([theory §10] ``|u^i|^2``)."""
    return Quadratic(idx, W=weight, on="u")
