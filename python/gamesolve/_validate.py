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

import operator

import numpy as np

from . import _core
from .errors import InputError

__all__ = [
    "as_float_array",
    "reject_complex",
    "check_shape",
    "check_finite",
    "check_symmetric",
    "check_scale",
    "check_top",
    "max_abs",
    "check_finite_result",
    "real_option",
    "int_option",
]

SYM_RTOL = 1e-10
#: Largest and smallest magnitude max|X| of an argument the infinite-horizon analyses, the
#: entropy-regularized solvers and iLQGames accept (``check_scale``): products of two
#: entries, squared norms and the n^2-term sums of the certificates then stay far from
#: overflow (1.8e308) and underflow (2.2e-308). Rescale data outside this range.
MAX_SCALE = 1e150
MIN_SCALE = 1e-150


def as_float_array(name: str, x, *, ndim: int | tuple[int, ...] | None = None) -> np.ndarray:
    """Return ``x`` as a float64 array (a copy only when needed), checking ndim and finiteness."""
    if x is None:
        raise InputError(f"{name} is required, got None")
    reject_complex(name, x)
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be a real array, got {type(x).__name__}: {exc}") from None
    if not arr.flags.aligned:  # an odd-offset view: the compiled core loads doubles from aligned memory only
        arr = arr.copy()
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


def check_scale(name: str, arr) -> None:
    """Raise unless ``arr`` is 0 or its largest magnitude max|X| lies in [MIN_SCALE, MAX_SCALE].

    An argument of entries ~1e154 (or all subnormal) makes every quadratic form and
    norm computed from it overflow (underflow): the answer would be meaningless, so it
    is rejected with the fix (rescale). Non-finite entries are :func:`check_finite`'s.
    """
    check_top(name, max_abs(arr))


def max_abs(arr) -> float:
    """max|X| of an argument (0 for None or an empty array); float64 data in one C++ pass without the
    temporary np.abs would allocate."""
    if arr is None:
        return 0.0
    a = np.asarray(arr)
    if a.size == 0:
        return 0.0
    return _core.max_abs(a) if a.dtype == np.float64 else float(np.max(np.abs(a)))


def check_top(name: str, top: float) -> None:
    """:func:`check_scale`'s rule on an argument's max|X| (``top``) computed elsewhere."""
    if top != 0.0 and not MIN_SCALE <= top <= MAX_SCALE:
        raise InputError(f"{name} has entries of magnitude {top:.3g}, outside the supported range "
                         f"[{MIN_SCALE:g}, {MAX_SCALE:g}] (products and norms of such entries over- or "
                         "underflow): rescale the problem")


def check_finite_result(what: str, *arrays) -> None:
    """Raise SolveError if a computed result holds NaN or infinity (an overflow the inputs' scale let through)."""
    from .errors import SolveError

    for a in arrays:
        if a is not None and not np.all(np.isfinite(a)):
            raise SolveError(f"{what}: the result overflowed (non-finite entries); rescale the problem")


def real_option(name: str, x, *, low: float = -np.inf, high: float = np.inf, low_open: bool = False,
                allow_inf: bool = False) -> float:
    """A real scalar option as a float, in [low, high] ((low, high] with ``low_open``); InputError otherwise.

    Rejects None, strings, bools, arrays of more than one element and NaN (and infinity unless
    ``allow_inf``), so no option reaches a solver as a type that fails deep inside.
    """
    if isinstance(x, (str, bytes, bool)) or x is None:
        raise InputError(f"{name} must be a real number, got {x!r}")
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a real number, got {type(x).__name__}") from None
    if v != v or (not allow_inf and not np.isfinite(v)):
        raise InputError(f"{name} must be a finite real number, got {v!r}")
    if v < low or v > high or (low_open and v == low):
        lo = "(" if low_open else "["
        raise InputError(f"{name} must be in {lo}{low:g}, {high:g}], got {v!r}")
    return v


#: Largest integer option (iteration counts, horizons, steps) the solvers take: what a C int holds.
INT_OPTION_MAX = 2**31 - 1


def int_option(name: str, x, *, low: int = 0, high: int = INT_OPTION_MAX) -> int:
    """An integer option as an int in [low, high]; InputError for anything else (None, floats with a
    fractional part, strings, bools, infinity, values a C int cannot hold)."""
    if isinstance(x, (str, bytes, bool)) or x is None:
        raise InputError(f"{name} must be an integer, got {x!r}")
    try:
        v = operator.index(x)
    except TypeError:
        try:
            f = float(x)
        except (TypeError, ValueError):
            raise InputError(f"{name} must be an integer, got {type(x).__name__}") from None
        if not np.isfinite(f) or f != int(f):
            raise InputError(f"{name} must be an integer, got {x!r}") from None
        v = int(f)
    if not low <= v <= high:
        raise InputError(f"{name} must be an integer in [{low}, {high}], got {v}")
    return v
