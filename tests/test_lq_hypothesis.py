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

from gamesolve import InputError, NotConvexWarning, SingularStageWarning, SolveError, solve_lq_game, solve_lq_games
from lq_twin import solve_lq_game_numpy

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
            return "InputError"
        except SolveError:
            return "SolveError"
    warned = any(issubclass(w.category, SingularStageWarning) for w in caught)
    check_clean(sol, warned, any(issubclass(w.category, NotConvexWarning) for w in caught))
    return sol


def check_clean(sol, warned, warned_not_convex=False):
    for name in ("K", "k", "Z", "zeta", "s"):
        assert np.all(np.isfinite(getattr(sol, name))), f"unflagged non-finite values in {name}"
    assert set(np.unique(sol.stage_status)) <= {0, 1, 4, 5}
    assert warned == bool(sol.singular_stages.any()), "singular stages must be warned about"
    nc = bool(sol.not_convex_stages.any())
    assert warned_not_convex == nc and (sol.status == "not_convex") == nc, "non-convex stages must be flagged"
    assert np.all(np.isfinite(sol.Z)) and np.array_equal(sol.Z, np.swapaxes(sol.Z, -1, -2))


# --------------------------------------------------------------------------- #
# The expected outcome, decided without the library: own blocks and the numpy twin
# --------------------------------------------------------------------------- #

BLOCKS = dict(A=lambda N, n, m: (n, n), B=lambda N, n, m: (n, m), Q=lambda N, n, m: (N, n, n),
              R=lambda N, n, m: (N, m, m), q=lambda N, n, m: (N, n), r=lambda N, n, m: (N, m),
              M=lambda N, n, m: (N, m, n), c=lambda N, n, m: (n,))
#: own blocks with |smallest eigenvalue| below this times their largest |eigenvalue| may go either way
PD_MARGIN = 1e-8
#: twin values above this may overflow in the library's different operation order
OVERFLOW_MARGIN = 1e300


def twin_layout(args, N, n, dims, T, lead0):
    """The game in the twin's layout: every array with the batch axes ``lead0`` and a time axis
    (time-invariant arrays repeated), QT / qT defaulting to the last stage's Q / q."""
    m = sum(dims)
    full = {}
    for name, block in BLOCKS.items():
        a = args.get(name)
        if a is None:
            continue
        block = block(N, n, m)
        if a.ndim == len(lead0) + len(block):  # time-invariant
            a = np.expand_dims(a, len(lead0))
        full[name] = np.broadcast_to(a, a.shape[:len(lead0)][:0] + lead0 + (T,) + block)
    QT = args.get("QT")
    full["QT"] = full["Q"][..., -1, :, :, :] if QT is None else np.broadcast_to(QT, lead0 + (N, n, n))
    qT = args.get("qT")
    if qT is None:
        full["qT"] = None if "q" not in full else full["q"][..., -1, :, :]
    else:
        full["qT"] = np.broadcast_to(qT, lead0 + (N, n))
    return full


def own_blocks_definite(R, dims):
    """True / False when every own block R^{ii} is clearly positive definite / one is clearly not; None between."""
    off = np.concatenate([[0], np.cumsum(dims)])
    verdict = True
    for i in range(len(dims)):
        eig = np.linalg.eigvalsh(R[..., i, off[i]:off[i + 1], off[i]:off[i + 1]])
        lo, top = eig[..., 0], np.abs(eig).max(axis=-1)
        if np.any(lo < -PD_MARGIN * top):
            return False
        if np.any(lo <= PD_MARGIN * top):
            verdict = None
    return verdict


def twin_solution(full, dims):
    return solve_lq_game_numpy(full["A"], full["B"], full["Q"], full.get("q"), full["R"], full.get("r"),
                               full.get("M"), full.get("c"), full["QT"], full["qT"], dims, with_status=True)


def rel_err(got, want):
    scale = np.abs(want).max() if want.size else 0.0
    return np.abs(got - want).max() / scale if scale > 0 else np.abs(got).max(initial=0.0)


def check_against_twin(res, ref, tol=1e-6):
    """The library's solution equals the twin's, unless a stage is near the min-norm threshold."""
    K, k, Z, zeta, s, status = ref
    lib_status = np.asarray(res.stage_status) & 3  # without the not-convex flag
    if not np.array_equal(lib_status, status):  # the twin's 2-norm and the library's 1-norm rcond differ
        return "stage status differs near the rcond threshold"
    if status.any():
        return "min-norm stages"
    for name, want in zip(("K", "k", "Z", "zeta", "s"), (K, k, Z, zeta, s)):
        assert rel_err(getattr(res, name), want) < tol, f"{name} differs from the numpy twin"
    return "compared with the twin"


#: at larger scales A ~ sqrt(scale) dominates B and the closed loop F = A - B K cancels
#: catastrophically: the twin and the library may then differ in every digit, and in
#: whether the values overflow
COMPARED_SCALES = (-150, -8, 0, 2)


def expected_and_check(res, args, N, n, dims, T, lead0, log10_scale):
    """Assert that ``res`` (a solution or an exception name) is what the game's own data call for.

    Returns a label for ``hypothesis.event`` and the deterministic coverage test.
    """
    full = twin_layout(args, N, n, dims, T, lead0)
    definite = own_blocks_definite(full["R"], dims)
    if definite is None:
        return "own block near semidefinite: either outcome"
    if not definite:
        assert res == "InputError", f"an own block R^ii is indefinite, expected InputError, got {res!r}"
        return "rejected (indefinite own block)"
    if log10_scale not in COMPARED_SCALES:  # where and whether values overflow is not reproducible
        assert res != "InputError", "a valid game with definite own blocks was rejected"
        return "badly scaled: " + ("SolveError" if res == "SolveError" else "solved")
    ref = twin_solution(full, dims)
    values = ref[:5]
    overflow = not all(np.isfinite(v).all() for v in values)
    huge = overflow or max(np.abs(v).max(initial=0.0) for v in values) > OVERFLOW_MARGIN
    if overflow and res == "SolveError":
        return "overflow (SolveError, as the twin)"
    if huge and isinstance(res, str):
        assert res == "SolveError", f"a valid game near overflow raised {res}"
        return "near overflow: SolveError"
    assert not isinstance(res, str), f"a valid game with definite own blocks raised {res}"
    assert not overflow, "the twin overflowed, the library did not raise SolveError"
    if huge:
        return "near overflow: solved"
    return check_against_twin(res, ref)


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


def run_single(p):
    """Solve one generated game, check it against its expected outcome; return (label, solution or error name)."""
    rng = np.random.default_rng(p["seed"])
    N, scale = len(p["dims"]), 10.0 ** p["log10_scale"]
    A, B, Q, R, kw = make_game(rng, N, p["n"], p["dims"], p["T"], scale, p["time_varying"], p["present"],
                               p["definite"])
    res = outcome(solve_lq_game, A, B, Q, R, **kw)
    label = expected_and_check(res, dict(A=A, B=B, Q=Q, R=R, **kw), N, p["n"], p["dims"], p["T"], (), p["log10_scale"])
    if isinstance(res, str):
        return label, res
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
    return label, res


def run_batched(p, batch, shared):
    """As :func:`run_single` for a batch (arrays in ``shared`` cut to a broadcasting batch axis of size 1)."""
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
    given_args = dict(args)
    pos = [args.pop(k) for k in ("A", "B", "Q", "R")]
    res = outcome(solve_lq_games, *pos, **args)
    label = expected_and_check(res, given_args, N, p["n"], p["dims"], p["T"], (expected,),
                               p["log10_scale"])
    if isinstance(res, str):
        return label, res
    assert res.K.shape == (expected, p["T"], sum(p["dims"]), p["n"])
    assert res.stage_status.shape == (expected, p["T"])
    x0 = rng.standard_normal((expected, p["n"]))
    if p["log10_scale"] <= 8:
        assert np.all(np.isfinite(res.costs(x0)))
        assert not np.any(np.isnan(res.nash_gap(x0)))
    return label, res


@FUZZ
@given(p=game_params)
def test_values_match_the_twin_or_the_expected_error(p):
    label, _ = run_single(p)
    event(label)


@FUZZ
@given(p=game_params, batch=st.integers(1, 3), shared=st.sets(st.sampled_from(["A", "B", "Q", "R", "c"])))
def test_batched_values_match_the_twin_or_the_expected_error(p, batch, shared):
    label, _ = run_batched(p, batch, shared)
    event(label)


def fixed_params(seed):
    """A deterministic draw of the same parameter space as ``game_params``."""
    rng = np.random.default_rng(seed)
    keys = ("A", "B", "Q", "R", "q", "r", "M", "c")
    return dict(seed=seed, dims=tuple(int(d) for d in rng.integers(1, 3, size=rng.integers(1, 4))),
                n=int(rng.integers(1, 5)), T=int(rng.integers(1, 6)),
                log10_scale=int(rng.choice([-150, -8, 0, 0, 0, 2, 8, 60, 150])),
                time_varying={k: bool(rng.integers(2)) for k in keys},
                present={k: bool(rng.integers(2)) for k in OPTIONAL}, definite=bool(rng.integers(2)))


def test_most_fixed_seed_cases_are_solved_and_compared():
    """Coverage of the property tests: on a fixed seed set most games are valid, solved and
    compared with the twin, and the rejected ones are exactly the indefinite ones."""
    labels = []
    for seed in range(40):
        p = fixed_params(seed)
        labels.append(run_single(p)[0])
        labels.append(run_batched(p, 1 + seed % 3, {"A", "c"} if seed % 2 else set())[0])
    compared = labels.count("compared with the twin")
    rejected = labels.count("rejected (indefinite own block)")
    assert compared >= 0.4 * len(labels), labels
    assert rejected >= 0.1 * len(labels), labels


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


STAGE_ARRAYS = ("A", "B", "Q", "R", "q", "r", "M", "c")


def corrupted_horizon(p, target, how):
    """The horizon of the game after the corruption when it is still a valid game, else None.

    A leading axis is the time axis exactly when the array has one more axis than its block;
    every stage array present, so the horizon is given only when nothing is time-varying.
    """
    tv = target in STAGE_ARRAYS and p["time_varying"][target]
    others_tv = any(p["time_varying"][k] for k in STAGE_ARRAYS if k != target)
    if how == "grow_first" and tv and not others_tv:
        return p["T"] + 1  # the only time axis, one stage longer
    if how == "add_axis" and target in STAGE_ARRAYS and not tv and p["T"] == 2:
        return 2  # two copies: a time axis of the right length
    if how == "drop_axis" and tv and others_tv:
        return p["T"]  # stage 0 only: time-invariant, the others keep the horizon
    return None


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
        arr = np.concatenate([arr, arr[:1]], axis=0)
    elif how == "add_axis":
        arr = np.stack([arr, arr])
    elif how == "drop_axis":
        arr = arr[0]
    elif how == "add_time":
        arr = np.stack([arr] * (p["T"] + 1))
    args[target] = arr
    given_args = dict(args)
    pos = [args.pop(k) for k in ("A", "B", "Q", "R")]
    res = outcome(solve_lq_game, *pos, **args)
    T = corrupted_horizon(p, target, how)
    if T is None:
        assert res == "InputError", f"{how} of {target} must be an InputError, got {res!r}"
        event("InputError (invalid shape)")
        return
    event(expected_and_check(res, given_args, N, p["n"], p["dims"], T, (), 0))
