"""Property-based fuzzing of the LQ game API (hypothesis): shapes and values.

Whatever the input, a call ends in exactly one of three ways: a clean result
(every array finite, every singular stage flagged and warned about), an
InputError, or a SolveError. Never another exception, never an unflagged NaN.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gamesolve import InputError, SingularStageWarning, SolveError, solve_lq_game, solve_lq_games

# A longer hunt: GAMESOLVE_FUZZ_EXAMPLES=3000 pytest tests/test_lq_hypothesis.py
FUZZ = settings(max_examples=int(os.environ.get("GAMESOLVE_FUZZ_EXAMPLES", "60")), deadline=None, suppress_health_check=[HealthCheck.too_slow])
OPTIONAL = ("q", "r", "M", "c", "QT", "qT")


def symmetric(rng, lead, k, scale):
    X = rng.standard_normal(lead + (k, k))
    return scale * (X + np.swapaxes(X, -1, -2)) / 2


def make_game(rng, N, n, dims, T, scale, time_varying, present, definite, batch=None):
    """A random game in the API's own layout (time axis only where ``time_varying``).

    ``definite``: own blocks R^{ii} and Q, QT positive definite (else random symmetric,
    which may be rejected or produce a non-convex game).
    """
    m = sum(dims)
    lead0 = () if batch is None else (batch,)

    def lead(name):
        return lead0 + ((T,) if time_varying.get(name, False) else ())

    def pd(ld, k):
        X = rng.standard_normal(ld + (k, k))
        return scale * (X @ np.swapaxes(X, -1, -2) / k + 0.1 * np.eye(k))

    A = scale ** 0.5 * rng.standard_normal(lead("A") + (n, n))
    B = rng.standard_normal(lead("B") + (n, m))
    Q = pd(lead("Q") + (N,), n) if definite else symmetric(rng, lead("Q") + (N,), n, scale)
    R = symmetric(rng, lead("R") + (N,), m, scale)
    off = np.concatenate([[0], np.cumsum(dims)])
    for i in range(N):
        a, b = off[i], off[i + 1]
        R[..., i, a:b, a:b] = pd(lead("R"), dims[i]) if definite else symmetric(rng, lead("R"), dims[i], scale)
    kw = dict(dims=dims)
    if not any(time_varying[k] for k in ("A", "B", "Q", "R")) and not any(
            time_varying[k] and present[k] for k in ("q", "r", "M", "c")):
        kw["horizon"] = T
    shapes = dict(q=(N, n), r=(N, m), M=(N, m, n), c=(n,))
    for name, block in shapes.items():
        if present[name]:
            kw[name] = scale * rng.standard_normal(lead(name) + block)
    if present["QT"]:
        kw["QT"] = pd(lead0 + (N,), n) if definite else symmetric(rng, lead0 + (N,), n, scale)
    if present["qT"]:
        kw["qT"] = scale * rng.standard_normal(lead0 + (N, n))
    return A, B, Q, R, kw


def outcome(fn, *args, **kwargs):
    """Run a solve; return the solution or the name of the allowed exception. Other exceptions propagate."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            sol = fn(*args, **kwargs)
        except InputError:
            event("InputError")
            return "InputError"
        except SolveError:
            event("SolveError")
            return "SolveError"
    warned = any(issubclass(w.category, SingularStageWarning) for w in caught)
    event("clean, min-norm stages" if warned else "clean")
    check_clean(sol, warned)
    return sol


def check_clean(sol, warned):
    for name in ("K", "k", "Z", "zeta", "s"):
        assert np.all(np.isfinite(getattr(sol, name))), f"unflagged non-finite values in {name}"
    assert set(np.unique(sol.stage_status)) <= {0, 1}
    assert warned == bool(sol.singular_stages.any()), "singular stages must be warned about"
    assert np.all(np.isfinite(sol.Z)) and np.array_equal(sol.Z, np.swapaxes(sol.Z, -1, -2))


game_params = st.fixed_dictionaries({
    "seed": st.integers(0, 2**32 - 1),
    "dims": st.lists(st.integers(1, 2), min_size=1, max_size=3).map(tuple),
    "n": st.integers(1, 4),
    "T": st.integers(1, 5),
    "log10_scale": st.sampled_from([-150, -8, 0, 0, 0, 2, 8, 60, 150]),
    "time_varying": st.fixed_dictionaries({k: st.booleans() for k in ("A", "B", "Q", "R", "q", "r", "M", "c")}),
    "present": st.fixed_dictionaries({k: st.booleans() for k in OPTIONAL}),
    "definite": st.booleans(),
})


@FUZZ
@given(p=game_params)
def test_values_never_crash_never_unflagged_nan(p):
    rng = np.random.default_rng(p["seed"])
    N, scale = len(p["dims"]), 10.0 ** p["log10_scale"]
    A, B, Q, R, kw = make_game(rng, N, p["n"], p["dims"], p["T"], scale, p["time_varying"], p["present"],
                               p["definite"])
    res = outcome(solve_lq_game, A, B, Q, R, **kw)
    if isinstance(res, str):
        if p["definite"] and res == "InputError":
            pytest.fail("a well-formed game with definite weights was rejected")
        return
    assert res.K.shape == (p["T"], sum(p["dims"]), p["n"])
    x0 = rng.standard_normal(p["n"])
    if p["log10_scale"] <= 8:  # cost values stay far from overflow
        assert np.all(np.isfinite(res.costs(x0)))
        xs, us = res.rollout(x0)
        assert np.all(np.isfinite(xs)) and np.all(np.isfinite(us))
        gap = res.nash_gap(x0)
        assert not np.isnan(gap)
        if p["definite"] and not res.singular_stages.any() and p["log10_scale"] == 0:
            assert gap >= -1e-8 * max(np.abs(res.costs(x0)).max(), 1.0)


@FUZZ
@given(p=game_params, batch=st.integers(1, 3), shared=st.sets(st.sampled_from(["A", "B", "Q", "R", "c"])))
def test_batched_values_never_crash(p, batch, shared):
    rng = np.random.default_rng(p["seed"])
    N, scale = len(p["dims"]), 10.0 ** p["log10_scale"]
    A, B, Q, R, kw = make_game(rng, N, p["n"], p["dims"], p["T"], scale, p["time_varying"], p["present"],
                               p["definite"], batch=batch)
    args = dict(A=A, B=B, Q=Q, R=R, **kw)
    for name in shared:  # a batch axis of size 1 broadcasts
        if args.get(name) is not None:
            args[name] = args[name][:1]
    # the batch is 1 when every array was cut to a batch axis of size 1
    expected = batch if any(isinstance(v, np.ndarray) and v.shape[0] == batch for v in args.values()) else 1
    pos = [args.pop(k) for k in ("A", "B", "Q", "R")]
    res = outcome(solve_lq_games, *pos, **args)
    if isinstance(res, str):
        return
    assert res.K.shape == (expected, p["T"], sum(p["dims"]), p["n"])
    assert res.stage_status.shape == (expected, p["T"])
    x0 = rng.standard_normal((expected, p["n"]))
    if p["log10_scale"] <= 8:
        assert np.all(np.isfinite(res.costs(x0)))
        assert not np.any(np.isnan(res.nash_gap(x0)))


@FUZZ
@given(p=game_params, target=st.sampled_from(["A", "B", "Q", "R"] + list(OPTIONAL)),
       bad=st.sampled_from([np.nan, np.inf, -np.inf]), where=st.integers(0, 10**6))
def test_non_finite_entry_is_an_input_error(p, target, bad, where):
    rng = np.random.default_rng(p["seed"])
    N = len(p["dims"])
    A, B, Q, R, kw = make_game(rng, N, p["n"], p["dims"], p["T"], 1.0, p["time_varying"],
                               dict.fromkeys(OPTIONAL, True), True)
    args = dict(A=A, B=B, Q=Q, R=R, **kw)
    arr = args[target].copy()
    arr.flat[where % arr.size] = bad
    args[target] = arr
    pos = [args.pop(k) for k in ("A", "B", "Q", "R")]
    with pytest.raises(InputError, match=rf"{target}(\[.*\])? must be finite"):
        solve_lq_game(*pos, **args)


@FUZZ
@given(p=game_params, target=st.sampled_from(["A", "B", "Q", "R"] + list(OPTIONAL)),
       how=st.sampled_from(["grow_last", "shrink_last", "grow_first", "add_axis", "drop_axis", "add_time"]))
def test_shape_corruption_is_an_input_error_or_a_valid_game(p, target, how):
    rng = np.random.default_rng(p["seed"])
    N = len(p["dims"])
    A, B, Q, R, kw = make_game(rng, N, p["n"], p["dims"], p["T"], 1.0, p["time_varying"],
                               dict.fromkeys(OPTIONAL, True), True)
    args = dict(A=A, B=B, Q=Q, R=R, **kw)
    arr = args[target]
    if how == "grow_last":
        arr = np.concatenate([arr, arr[..., :1]], axis=-1)
    elif how == "shrink_last":
        arr = arr[..., :-1]
    elif how == "grow_first":
        arr = np.concatenate([arr, arr[:1]], axis=0) if arr.ndim else arr
    elif how == "add_axis":
        arr = np.stack([arr, arr])
    elif how == "drop_axis":
        arr = arr[0] if arr.ndim else arr
    elif how == "add_time":
        arr = np.stack([arr] * (p["T"] + 1))
    args[target] = arr
    pos = [args.pop(k) for k in ("A", "B", "Q", "R")]
    res = outcome(solve_lq_game, *pos, **args)
    if not isinstance(res, str):
        assert res.K.shape[1:] == (sum(p["dims"]), p["n"])
