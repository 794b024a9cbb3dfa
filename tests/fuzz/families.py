"""Hypothesis families of hostile inputs, one per public entry point, and the checks every case must pass.

A case is a valid random game (small sizes) that one mutation may corrupt: a scale
(entries up to 1e300 or subnormal), a value (NaN, inf, 1e308, 5e-324), a dtype
(int, float32, complex, bool, object), a layout (Fortran order, negative strides,
an unaligned buffer), a shape (an axis dropped, added, transposed or emptied), a
type (None, a string, a nested list, a scalar) or an option (horizon, tolerances,
counts out of range or of the wrong type). Every case must

* end in a result, an InputError or a SolveError (the documented types; warnings allowed);
* leave its inputs unchanged;
* never report ``converged`` / an ok status without a finite certificate, never return
  silent NaN or infinity in an ok result;
* agree with the independent numpy oracles of ``tests/`` (``lq_twin``, ``lq_nash_reference``)
  where the case is well posed (well-conditioned stages, values far from overflow).
"""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import strategies as st

import gamesolve as gs
import lq_nash_reference as ref
import lq_twin
from .conftest import OUTCOMES
from gamesolve import InputError, SolveError

SCALES = [-320, -200, -160, -100, -10, 0, 10, 100, 149, 155, 160, 200, 300]
BAD_VALUES = [np.nan, np.inf, -np.inf, 1e308, -1e308, 5e-324]
DTYPES = ["int64", "float32", "complex128", "bool", "object", "float16"]
TYPES = [None, "abc", 3, (), [[1.0, 2.0], [3.0]]]


# --------------------------------------------------------------------------- #
# Mutations
# --------------------------------------------------------------------------- #


def unaligned(a):
    raw = np.empty(a.size * 8 + 1, np.uint8)
    u = np.frombuffer(raw.data, dtype=np.float64, offset=1, count=a.size).reshape(a.shape)
    u[...] = a
    return u


@st.composite
def mutation(draw, names):
    """(kind, target name, detail) -- kind "none" leaves the case valid."""
    kind = draw(st.sampled_from(["none", "none", "scale", "value", "dtype", "layout", "shape", "type"]))
    target = draw(st.sampled_from(names))
    if kind == "scale":
        return kind, target, draw(st.sampled_from(SCALES))
    if kind == "value":
        return kind, target, (draw(st.sampled_from(BAD_VALUES)), draw(st.integers(0, 10**6)))
    if kind == "dtype":
        return kind, target, draw(st.sampled_from(DTYPES))
    if kind == "layout":
        return kind, target, draw(st.sampled_from(["F", "reversed", "unaligned", "list"]))
    if kind == "shape":
        return kind, target, draw(st.sampled_from(["drop", "add", "transpose", "empty", "extra"]))
    if kind == "type":
        return kind, target, draw(st.sampled_from(range(len(TYPES))))
    return kind, target, None


def apply(args: dict, mut) -> dict:
    """The arguments with the mutation applied to ``args[target]`` (a copy; other arrays shared)."""
    kind, name, detail = mut
    out = dict(args)
    a = out.get(name)
    if kind == "none" or a is None:
        return out
    if isinstance(a, (list, tuple)) and kind != "type":
        if not len(a):
            return out
        parts = list(a)
        parts[0] = apply({"x": np.asarray(parts[0], dtype=float)}, (kind, "x", detail))["x"]
        out[name] = parts
        return out
    if kind == "type":
        out[name] = TYPES[detail]
        return out
    a = np.array(a, dtype=float)
    if kind == "scale":
        out[name] = a * 10.0 ** detail if abs(detail) < 300 else a * 1e300 * 10.0 ** (detail - 300) \
            if detail > 0 else a * 1e-300 * 10.0 ** (detail + 300)
    elif kind == "value":
        v, where = detail
        if a.size:
            a.flat[where % a.size] = v
        out[name] = a
    elif kind == "dtype":
        out[name] = a.astype(detail) if detail != "object" else a.astype(object)
    elif kind == "layout":
        out[name] = {"F": np.asfortranarray, "reversed": lambda x: np.ascontiguousarray(x[::-1])[::-1],
                     "unaligned": unaligned, "list": lambda x: x.tolist()}[detail](a)
    elif kind == "shape":
        if detail == "drop":
            out[name] = a[0] if a.ndim else a
        elif detail == "add":
            out[name] = a[None]
        elif detail == "transpose":
            out[name] = np.swapaxes(a, 0, -1).copy() if a.ndim > 1 else a[:-1]
        elif detail == "empty":
            out[name] = a[..., :0]
        else:
            out[name] = np.concatenate([a, a[..., :1]], axis=-1) if a.ndim else a
    return out


# --------------------------------------------------------------------------- #
# Running a case
# --------------------------------------------------------------------------- #


def _snapshot(v):
    if isinstance(v, np.ndarray):
        return v.copy()
    if isinstance(v, (list, tuple)):
        return type(v)(_snapshot(x) for x in v)
    return v


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray):
        if a.dtype == object:
            return a.shape == b.shape and all(x is y or x == y or (x != x and y != y) for x, y in zip(a.flat, b.flat))
        return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a is b or a == b or (a != a and b != b)


def run(family: str, fn, *args, **kwargs):
    """Call ``fn``; return the result or None for a documented exception. Anything else fails the case."""
    counts = OUTCOMES[family]
    counts["cases"] += 1
    before = [_snapshot(a) for a in args], {k: _snapshot(v) for k, v in kwargs.items()}
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
        warnings.simplefilter("always")
        try:
            out = fn(*args, **kwargs)
        except (InputError, SolveError) as exc:
            counts[type(exc).__name__] += 1
            assert str(exc), "an error without a message"
            out = None
        except Exception as exc:  # an undocumented exception type: the case fails
            raise AssertionError(f"{family}: undocumented exception {type(exc).__module__}."
                                 f"{type(exc).__name__}: {exc}") from exc
    if caught:
        counts["warned"] += 1
    for a, b in zip(args, before[0]):
        assert _same(a, b), f"{family}: an input was modified"
    for k, v in kwargs.items():
        assert _same(v, before[1][k]), f"{family}: input {k} was modified"
    if out is not None:
        counts["result"] += 1
    return out


def compared(family):
    OUTCOMES[family]["compared"] += 1


def rel_err(got, want):
    scale = np.abs(want).max(initial=0.0)
    return float(np.abs(np.asarray(got) - want).max(initial=0.0) / scale) if scale > 0 else \
        float(np.abs(got).max(initial=0.0))


# --------------------------------------------------------------------------- #
# Random games
# --------------------------------------------------------------------------- #


@st.composite
def finite_game(draw):
    """A valid finite-horizon game: (args dict, dims, T) with stacked B and joint R."""
    seed = draw(st.integers(0, 2**32 - 1))
    N = draw(st.integers(1, 3))
    n = draw(st.integers(1, 4))
    dims = tuple(draw(st.lists(st.integers(1, 2), min_size=N, max_size=N)))
    T = draw(st.integers(1, 6))
    rng = np.random.default_rng(seed)
    m = sum(dims)
    Q = rng.standard_normal((N, n, n))
    Q = Q @ np.swapaxes(Q, 1, 2) + 0.1 * np.eye(n)
    if draw(st.booleans()):
        Q = Q - draw(st.sampled_from([0.0, 0.5, 3.0])) * np.eye(n)  # possibly indefinite
    R = np.zeros((N, m, m))
    off = np.concatenate([[0], np.cumsum(dims)])
    for i in range(N):
        L = rng.standard_normal((dims[i], dims[i]))
        R[i, off[i]:off[i + 1], off[i]:off[i + 1]] = L @ L.T + 0.5 * np.eye(dims[i])
    args = dict(A=0.6 * rng.standard_normal((n, n)), B=rng.standard_normal((n, m)), Q=Q, R=R)
    if draw(st.booleans()):
        args["q"] = rng.standard_normal((N, n))
        args["c"] = rng.standard_normal(n)
    return args, dims, T


@st.composite
def infinite_game(draw):
    """A valid infinite-horizon game with a stabilizing K (args, dims, K, Sigma0)."""
    seed = draw(st.integers(0, 2**32 - 1))
    N = draw(st.integers(1, 3))
    n = draw(st.integers(1, 4))
    mi = draw(st.integers(1, 2))
    A, B, Q, R, dims = ref.random_game(N, n, mi, seed, radius=draw(st.sampled_from([0.5, 0.9, 1.05])))
    rng = np.random.default_rng(seed + 1)
    Rj = ref.joint_R(R, dims)
    K = ref.default_start(A, B, Q, Rj) if np.max(np.abs(np.linalg.eigvals(A))) >= 1 else \
        0.05 * rng.standard_normal((B.shape[1], n))
    L = rng.standard_normal((n, n))
    return dict(A=A, B=B, Q=Q, R=Rj), dims, K, L @ L.T + np.eye(n)


# --------------------------------------------------------------------------- #
# Oracle checks of results
# --------------------------------------------------------------------------- #


def full_time(a, T):
    return np.broadcast_to(a, (T,) + np.shape(a))


def check_finite_solution(family, sol, args, dims, T):
    """solve_lq_game's result: flagged or finite; equal to the numpy twin where the case is well posed."""
    for name in ("K", "k", "Z", "zeta", "s"):
        assert np.all(np.isfinite(getattr(sol, name))), f"{family}: silent non-finite {name}"
    try:
        A, B, Q, R = (np.asarray(args[k], dtype=np.float64) for k in ("A", "B", "Q", "R"))
    except (TypeError, ValueError):
        return
    if not all(a.ndim == d for a, d in ((A, 2), (B, 2), (Q, 3), (R, 3))):
        return
    q = args.get("q")
    c = args.get("c")
    q = None if q is None else np.asarray(q, dtype=float)
    c = None if c is None else np.asarray(c, dtype=float)
    if (q is not None and q.shape != Q.shape[:2]) or (c is not None and c.shape != A.shape[:1]):
        return
    with np.errstate(all="ignore"):
        K, k, Z, zeta, s, status = lq_twin.solve_lq_game_numpy(
            full_time(A, T), full_time(B, T), full_time(Q, T), None if q is None else full_time(q, T),
            full_time(R, T), None, None, None if c is None else full_time(c, T), Q, q, dims, with_status=True)
    big = max(np.abs(Z).max(initial=0), np.abs(K).max(initial=0), np.abs(zeta).max(initial=0))
    if (status != 0).any() or not np.isfinite(big) or big > 1e100 or sol.min_rcond < 1e-6:
        return
    for name, got, want in (("Z", sol.Z, Z), ("K", sol.K, K), ("zeta", sol.zeta, zeta)):
        err = rel_err(got, want)
        assert err <= 1e-6, f"{family}: {name} differs from the numpy twin (rel {err:.3g})"
    compared(family)


def check_policy_value(family, J, args, K, S0):
    A, B, Q, R = (np.asarray(args[k], dtype=np.float64) for k in ("A", "B", "Q", "R"))
    assert np.all(np.isfinite(J)), f"{family}: silent non-finite cost"
    rho = np.max(np.abs(np.linalg.eigvals(A - B @ K)))
    if rho > 0.99 or np.abs(J).max() > 1e100:
        return
    P = ref.policy_value(A, B, Q, R, K)
    want = np.einsum("kij,ji->k", P, S0)
    assert rel_err(J, want) <= 1e-6, f"{family}: cost differs from scipy (rel {rel_err(J, want):.3g})"
    compared(family)


def oracle_gradient(A, B, Q, R, K, S0, dims, *, with_scale=False):
    """w(K) by scipy's Lyapunov solver; with ``with_scale`` also the magnitude of its terms
    2 (|R^i K| + |B^i'P^i A_K|) |Sigma_K|, the scale its round-off error is relative to."""
    import scipy.linalg as sla

    P = ref.policy_value(A, B, Q, R, K)
    AK = A - B @ K
    Sig = sla.solve_discrete_lyapunov(AK, S0)
    off = ref.offsets(dims)
    w = np.empty_like(K)
    for i in range(len(dims)):
        s = slice(off[i], off[i + 1])
        w[s] = 2 * (R[i][s] @ K - B[:, s].T @ P[i] @ AK) @ Sig
    if with_scale:
        terms = 0.0
        for i in range(len(dims)):
            s = slice(off[i], off[i + 1])
            t = 2 * (np.abs(R[i][s]) @ np.abs(K) + np.abs(B[:, s].T) @ np.abs(P[i]) @ np.abs(AK)) @ np.abs(Sig)
            terms = max(terms, float(t.max()))
        return w, terms
    return w
