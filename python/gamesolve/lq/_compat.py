"""Compatibility shims for the modules being rewritten on other branches (lq/entropy.py, lq/infinite.py,
nonlinear/solve.py): the old lq.finite helpers ``_normalize``, ``_normalize_R``, ``_check_own_blocks``.
Remove once no module imports them (they read through :func:`gamesolve.lq_game` or numpy)."""

from __future__ import annotations

import numpy as np

from .._validate import as_float_array, check_positive_definite
from ..errors import InputError


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
