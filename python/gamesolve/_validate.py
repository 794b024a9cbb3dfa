"""Input validation of the arguments that are not LQ game data.

LQ game data (A, B, Q, R, ...) are read and checked once, in C++
(``gamesolve.lq_game``; the rules in ``cpp/include/gamesolve/check.hpp``).
These helpers check everything else at the boundary, scipy-style -- initial
states, gains, covariances, and the inputs of the entry points that do not yet
take an :class:`~gamesolve.lq.game.LQGame` -- and raise
:class:`~gamesolve.errors.InputError` with a message that names the argument
and gives expected versus actual. ``SYM_RTOL`` is the relative symmetry
tolerance both sides use.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .errors import InputError

__all__ = [
    "as_float_array",
    "reject_complex",
    "check_shape",
    "check_finite",
    "check_symmetric",
    "check_positive_definite",
    "split_inputs",
    "stack_blocks",
]

SYM_RTOL = 1e-10


def as_float_array(name: str, x, *, ndim: int | tuple[int, ...] | None = None) -> np.ndarray:
    """Return ``x`` as a float64 array (a copy only when needed), checking ndim and finiteness."""
    if x is None:
        raise InputError(f"{name} is required, got None")
    reject_complex(name, x)
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be a real array, got {type(x).__name__}: {exc}") from None
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(str(d) for d in allowed)
            raise InputError(f"{name} must have {want} dimensions, got {arr.ndim} (shape {arr.shape})")
    check_finite(name, arr)
    return arr


def reject_complex(name: str, x) -> None:
    """Raise if ``x`` holds complex numbers (a float64 conversion would silently drop the imaginary part)."""
    dtype = getattr(x, "dtype", None)
    kind = getattr(dtype, "kind", None)
    if kind is None and not isinstance(x, (int, float)):
        try:
            dtype = np.asarray(x).dtype  # lists / tuples (of arrays): one look at the common dtype
        except (TypeError, ValueError):  # ragged: the float64 conversion reports it
            return
        kind = dtype.kind
    if kind == "c":
        shape = f", shape {np.shape(x)}" if np.ndim(x) else ""
        raise InputError(f"{name} must be real, got {dtype}{shape}; pass {name}.real if the imaginary part "
                         "is meant to be dropped")


def check_shape(name: str, arr: np.ndarray, shape: tuple[int, ...]) -> None:
    """Raise unless ``arr.shape == shape``."""
    if arr.shape != tuple(shape):
        raise InputError(f"{name} must have shape {tuple(shape)}, got {arr.shape}")


def check_finite(name: str, arr: np.ndarray) -> None:
    """Raise if ``arr`` holds NaN or infinity, naming the first offending index."""
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        where = "" if arr.ndim == 0 else f" (first at index {tuple(int(i) for i in bad)})"
        raise InputError(f"{name} must be finite, found NaN or inf{where}")


def check_symmetric(name: str, arr: np.ndarray, rtol: float = SYM_RTOL) -> None:
    """Raise unless the trailing two axes of ``arr`` are symmetric to relative tolerance ``rtol``.

    ``arr`` may carry leading (time, player, batch) axes; the message names the
    first offending index.
    """
    d = arr - np.swapaxes(arr, -1, -2)
    if not d.any():  # exactly symmetric: the common case, decided in one pass
        return
    diff = np.abs(d).max(axis=(-1, -2), initial=0.0)
    scale = np.abs(arr).max(axis=(-1, -2), initial=0.0)
    bad = diff > rtol * np.maximum(scale, 1e-300)
    if np.any(bad):
        idx = np.argwhere(np.atleast_1d(bad))[0] if bad.ndim else ()
        where = f"{name}[{', '.join(str(int(i)) for i in idx)}]" if len(idx) else name
        raise InputError(
            f"{where} must be symmetric: max |X - X'| = {float(np.max(diff)):.3g} "
            f"exceeds {rtol:g} * max |X| = {float(np.max(scale)):.3g}"
        )


def check_positive_definite(name: str, arr: np.ndarray) -> None:
    """Raise unless every trailing square matrix of ``arr`` is positive definite."""
    try:
        np.linalg.cholesky(0.5 * (arr + np.swapaxes(arr, -1, -2)))
    except np.linalg.LinAlgError:
        sym = 0.5 * (arr + np.swapaxes(arr, -1, -2))
        eig = np.linalg.eigvalsh(sym)
        lead = eig[..., 0]
        idx = np.unravel_index(int(np.argmin(lead)), lead.shape) if lead.ndim else ()
        where = f"{name}[{', '.join(str(int(i)) for i in idx)}]" if len(idx) else name
        raise InputError(
            f"{where} must be positive definite, smallest eigenvalue is {float(np.min(lead)):.3g}"
        ) from None


def stack_blocks(name: str, blocks: Sequence, axis: int = -1) -> tuple[np.ndarray, tuple[int, ...]]:
    """Stack per-player blocks (e.g. B^1..B^N, each n x m_i) along ``axis``; return (stacked, dims)."""
    arrs = [as_float_array(f"{name}[{i}]", b) for i, b in enumerate(blocks)]
    if not arrs:
        raise InputError(f"{name} must have at least one player block, got an empty sequence")
    arrs = [a[..., None] if a.ndim == 1 and axis == -1 else a for a in arrs]
    lead = arrs[0].shape[:-1] if axis == -1 else arrs[0].shape[1:]
    for i, a in enumerate(arrs):
        other = a.shape[:-1] if axis == -1 else a.shape[1:]
        if other != lead:
            raise InputError(f"{name}[{i}] has shape {a.shape}, inconsistent with {name}[0] shape {arrs[0].shape}")
    dims = tuple(int(a.shape[axis]) for a in arrs)
    return np.concatenate(arrs, axis=axis), dims


def split_inputs(B, dims, n: int | None = None) -> tuple[np.ndarray, tuple[int, ...]]:
    """Normalize B given as a list of N blocks (n x m_i) or stacked (..., n, m) with ``dims``.

    Returns the stacked float64 array and ``dims``. A list with ``dims`` given
    must agree with the block widths.
    """
    if isinstance(B, (list, tuple)):
        stacked, bdims = stack_blocks("B", B, axis=-1)
        if dims is not None and tuple(int(d) for d in dims) != bdims:
            raise InputError(f"dims {tuple(dims)} disagrees with the widths of the blocks of B {bdims}")
        dims = bdims
    else:
        stacked = as_float_array("B", B)
        if stacked.ndim == 1:
            stacked = stacked[:, None]
        if dims is None:
            raise InputError("dims is required when B is a stacked matrix (give dims=(m_1, ..., m_N))")
        dims = tuple(int(d) for d in np.atleast_1d(dims))
    if any(d < 1 for d in dims):
        raise InputError(f"dims must be positive integers, got {dims}")
    if stacked.ndim < 2 or stacked.shape[-1] != sum(dims):
        raise InputError(f"B must have {sum(dims)} columns (sum of dims {dims}), got shape {stacked.shape}")
    if n is not None and stacked.shape[-2] != n:
        raise InputError(f"B must have {n} rows (the state size), got shape {stacked.shape}")
    return stacked, dims
