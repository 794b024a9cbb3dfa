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


import numpy as np

from .errors import InputError

__all__ = [
    "as_float_array",
    "reject_complex",
    "check_shape",
    "check_finite",
    "check_symmetric",
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
