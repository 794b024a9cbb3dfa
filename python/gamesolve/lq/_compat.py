"""Compatibility shims for the modules being rewritten on other branches (entropy, infinite, nonlinear), and
the pure-Python reader used until the C++ ``_core.read_lq_game`` exists. Remove after the merge."""

from __future__ import annotations

import numpy as np

from .._validate import as_float_array, check_positive_definite, check_symmetric, split_inputs
from ..errors import InputError

def _canon(name, arr, block_ndim, batched, T_seen):
    """Split leading axes of ``arr`` into (batch, time); return (array with both axes, T or None)."""
    extra = arr.ndim - block_ndim
    want = 1 + int(batched)
    if extra not in (want - 1, want):
        lead = "(batch, [T], ...)" if batched else "([T], ...)"
        raise InputError(
            f"{name} must have {block_ndim + want - 1} or {block_ndim + want} dimensions {lead}, "
            f"got shape {arr.shape}")
    has_t = extra == want
    if not batched:
        arr = arr[None]
    if has_t:
        T = arr.shape[1]
        if T < 1:
            raise InputError(f"{name} has an empty time axis (shape {arr.shape})")
        if T_seen[0] is not None and T != T_seen[0][0]:
            raise InputError(f"{name} has {T} time steps but {T_seen[0][1]} has {T_seen[0][0]}")
        if T_seen[0] is None:
            T_seen[0] = (T, name)
    else:
        arr = arr[:, None]
    return arr


def _own_to_joint(name, blocks, dims):
    """Embed own-control weights R^{ii} (list, (m_i, m_i) trailing) into joint (…, N, m, m)."""
    N, m = len(dims), sum(dims)
    lead = np.broadcast_shapes(*(b.shape[:-2] for b in blocks))
    out = np.zeros(lead + (N, m, m))
    off = 0
    for i, (b, mi) in enumerate(zip(blocks, dims)):
        if b.shape[-2:] != (mi, mi):
            raise InputError(f"{name}[{i}] must have shape ({mi}, {mi}) (own-control weight), got {b.shape}")
        out[..., i, off:off + mi, off:off + mi] = b
        off += mi
    return out


def _normalize_R(R, dims, m_total):
    """Return (R array with joint blocks (…, N, m, m), dims)."""
    if isinstance(R, (list, tuple)):
        blocks = []
        for i, Ri in enumerate(R):
            a = as_float_array(f"R[{i}]", Ri)
            if a.ndim == 0:
                a = a.reshape(1, 1)
            if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
                raise InputError(f"R[{i}] must be square, got shape {a.shape}")
            blocks.append(a)
        sizes = [b.shape[-1] for b in blocks]
        if dims is None:
            if m_total is not None and sum(sizes) == m_total:
                dims = tuple(sizes)
            else:
                raise InputError("dims is required when B is stacked and R holds joint (m x m) weights")
        if len(blocks) != len(dims):
            raise InputError(f"R must have one weight per player ({len(dims)}), got {len(blocks)}")
        m = sum(dims)
        if all(s == m for s in sizes) and not (len(dims) > 1 and all(s == d for s, d in zip(sizes, dims))):
            return np.stack(np.broadcast_arrays(*blocks), axis=-3), dims
        return _own_to_joint("R", blocks, dims), dims
    a = as_float_array("R", R)
    if dims is None:
        raise InputError("dims is required when B is stacked (give dims=(m_1, ..., m_N))")
    N, m = len(dims), sum(dims)
    if a.ndim >= 3 and a.shape[-2:] == (m, m) and a.shape[-3] == N:
        return a, dims
    if N > 1 and len(set(dims)) == 1 and a.ndim >= 3 and a.shape[-2:] == (dims[0],) * 2 and a.shape[-3] == N:
        return _own_to_joint("R", [a[..., i, :, :] for i in range(N)], dims), dims
    raise InputError(
        f"R must hold N={N} joint weights (..., {N}, {m}, {m}) or own-control weights "
        f"(a list of (m_i, m_i)), got shape {a.shape}")


def _check_own_blocks(R, dims):
    """Raise unless every own block R^{ii} (all times, all batch members) is positive definite."""
    N = len(dims)
    if len(set(dims)) == 1:  # one stacked Cholesky for all players
        mi = dims[0]
        own = np.stack([R[..., i, i * mi:(i + 1) * mi, i * mi:(i + 1) * mi] for i in range(N)], axis=-3)
        try:
            np.linalg.cholesky(own)
            return
        except np.linalg.LinAlgError:
            pass  # find and name the offending player below
    off = 0
    for i, mi in enumerate(dims):
        check_positive_definite(f"R (player {i}'s own block R^{i}{i})", R[..., i, off:off + mi, off:off + mi])
        off += mi


def read_lq_game(A, B, Q, R, horizon, q, r, M, c, QT, qT, dims, batched, sym_rtol):
    A = as_float_array("A", A)
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise InputError(f"A must be square (n, n), got shape {A.shape}")
    n = A.shape[-1]
    B, dims = split_inputs(B, dims, n)
    N, m = len(dims), sum(dims)
    R, dims = _normalize_R(R, dims, m)
    Q = as_float_array("Q", Q)
    if Q.ndim < 3 or Q.shape[-3:] != (N, n, n):
        raise InputError(f"Q must have shape (..., {N}, {n}, {n}) (one (n, n) weight per player), got {Q.shape}")
    T_seen = [None]
    if horizon is not None:
        if int(horizon) != horizon or int(horizon) < 1:
            raise InputError(f"horizon must be a positive integer, got {horizon!r}")
        T_seen[0] = (int(horizon), "horizon")

    A = _canon("A", A, 2, batched, T_seen)
    B = _canon("B", B, 2, batched, T_seen)
    Q = _canon("Q", Q, 3, batched, T_seen)
    R = _canon("R", R, 3, batched, T_seen)
    opt = {}
    for name, val, block in (("q", q, (N, n)), ("r", r, (N, m)), ("M", M, (N, m, n)), ("c", c, (n,))):
        if val is None:
            opt[name] = None
            continue
        a = as_float_array(name, val)
        if a.shape[a.ndim - len(block):] != block or a.ndim < len(block):
            raise InputError(f"{name} must have shape (..., {', '.join(map(str, block))}), got {a.shape}")
        opt[name] = _canon(name, a, len(block), batched, T_seen)
    T = None if T_seen[0] is None else T_seen[0][0]

    # Terminal data: default to the (last) stage weights.
    if QT is None:
        QT = None if T is None else Q[:, -1:]
    else:
        QT = as_float_array("QT", QT)
        if QT.shape[-3:] != (N, n, n) or QT.ndim != 3 + int(batched):
            raise InputError(f"QT must have shape ({'batch, ' if batched else ''}{N}, {n}, {n}), got {QT.shape}")
        QT = (QT if batched else QT[None])[:, None]
    if qT is None:
        qT = None if opt["q"] is None else opt["q"][:, -1:]
    else:
        qT = as_float_array("qT", qT)
        if qT.shape[-2:] != (N, n) or qT.ndim != 2 + int(batched):
            raise InputError(f"qT must have shape ({'batch, ' if batched else ''}{N}, {n}), got {qT.shape}")
        qT = (qT if batched else qT[None])[:, None]

    arrays = dict(A=A, B=B, Q=Q, R=R, QT=QT, qT=qT, **opt)
    batch = 1
    if batched:
        sizes = {k: v.shape[0] for k, v in arrays.items() if v is not None and v.shape[0] != 1}
        if len(set(sizes.values())) > 1:
            raise InputError(f"inconsistent batch sizes: {sizes}")
        batch = next(iter(sizes.values()), 1)

    # Structural checks (relative symmetry; own blocks of R positive definite).
    check_symmetric("Q", Q)
    if QT is not None:
        check_symmetric("QT", QT)
    check_symmetric("R", R)
    _check_own_blocks(R, dims)
    out = {}
    for k, v in arrays.items():
        if v is not None:
            if k in ("QT", "qT"):
                v = v[:, 0]
            if not batched:
                v = v[0]
            v = np.ascontiguousarray(v)
        out[k] = v
    return (tuple(int(d) for d in dims), n, T, batch if batched else None,
            *(out[k] for k in ("A", "B", "Q", "q", "R", "r", "M", "c", "QT", "qT")))




class _GameData:
    """The old normalized game: arrays (Bb, Tt, *block), QT / qT (Bb, 1, *block); T, batch ints."""

    def __init__(self, g):
        self.dims, self.n, self.T, self.batch = g.dims, g.n, g.T, g.batch or 1
        args = g.core_args()
        (self.A, self.B, self.Q, self.q, self.R, self.r, self.M, self.c, self.QT, self.qT) = args[4:]
        self._args = args

    @property
    def N(self):
        return len(self.dims)

    @property
    def m(self):
        return sum(self.dims)

    def core_args(self):
        return self._args

    def full(self, name):
        a = getattr(self, name)
        if a is None:
            return None
        lead = (self.batch, self.T) if name not in ("QT", "qT") else (self.batch, 1)
        return np.broadcast_to(a, lead + a.shape[2:])


def _normalize(A, B, Q, R, *, horizon, q, r, M, c, QT, qT, dims, batched):
    """Shim of the old lq.finite._normalize (used by lq/entropy.py until it takes an LQGame)."""
    from .game import lq_game, lq_games

    g = (lq_games if batched else lq_game)(A, B, Q, R, horizon=horizon, q=q, r=r, M=M, c=c, QT=QT, qT=qT,
                                           dims=dims)
    if g.T is None:
        raise InputError("horizon is required when every array is time-invariant")
    return _GameData(g)
