"""The fast path of solve_lq_game(s) (C++ ``_core.solve_lq_fast``) against the general path.

The fast path takes plain C-contiguous float64 ndarrays with B stacked, ``dims``
a list / tuple of ints and R joint; it must give bit-identical results to the
general path (lq._normalize + _core.solve_lq_games), decline (return None)
for every other form and every invalid input, so that bad input raises exactly
the general path's messages, and build the normalized game lazily for
``costs`` / ``rollout`` / ``nash_gap``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gamesolve
from conftest import random_lq_game
from gamesolve import InputError, SingularStageWarning, SolveError, solve_lq_game, solve_lq_games
from gamesolve.lq import finite as L

FIELDS = ("K", "k", "Z", "zeta", "s", "status")


@pytest.fixture
def spy(monkeypatch):
    """Records, per call, whether the fast path solved (True) or declined (False)."""
    calls = []
    real = L._core.solve_lq_fast

    def wrapped(*args):
        res = real(*args)
        calls.append(res is not None)
        return res

    monkeypatch.setattr(L._core, "solve_lq_fast", wrapped)
    return calls


def general(fn, *args, **kw):
    """``fn`` with the fast path switched off (the reference)."""
    real = L._core.solve_lq_fast
    L._core.solve_lq_fast = lambda *a: None
    try:
        return fn(*args, **kw)
    finally:
        L._core.solve_lq_fast = real


def assert_same(sol, ref, x0):
    for name in FIELDS:
        got, want = getattr(sol, name), getattr(ref, name)
        assert got.shape == want.shape and got.dtype == want.dtype, name
        np.testing.assert_array_equal(got, want, err_msg=name)
    assert sol.dims == ref.dims and type(sol.dims[0]) is int
    assert sol.min_rcond == ref.min_rcond and type(sol.min_rcond) is float
    np.testing.assert_array_equal(sol.singular_stages, ref.singular_stages)
    for a, b in zip(sol.gains, ref.gains):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(sol.costs(x0), ref.costs(x0))
    for a, b in zip(sol.rollout(x0), ref.rollout(x0)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(sol.nash_gap(x0), ref.nash_gap(x0))


def game_args(rng, variant, T=5):
    """(A, B, Q, R, kwargs) of one solve_lq_game call in the form ``variant``."""
    g = random_lq_game(rng, 3, 4, (2, 1, 1), T)
    A, B, Q, R = g["A"], g["B"], g["Q"], g["R"]
    kw = dict(dims=(2, 1, 1))
    if variant == "time-varying, all terms":
        kw.update(q=g["q"], r=g["r"], M=g["M"], c=g["c"], QT=g["QT"], qT=g["qT"])
    elif variant == "time-invariant, horizon":
        A, B, Q, R = A[0], B[0], Q[0], R[0]
        kw.update(horizon=T, q=g["q"][0], r=g["r"][0], M=g["M"][0], c=g["c"][0])
    elif variant == "mixed, terminal defaults":
        B, Q = B[0], Q[0]
        kw.update(q=g["q"], M=g["M"], c=g["c"][0])  # QT = Q, qT = q[-1]
    elif variant == "QT given, qT from the last q":
        kw.update(horizon=T, q=g["q"], QT=g["QT"], dims=[2, 1, 1])
    elif variant == "no optional terms, no horizon":
        pass
    elif variant == "one stage, no horizon":
        A, B, Q, R = A[:1], B[:1], Q[:1], R[:1]
        kw.update(q=g["q"][:1], qT=g["qT"])
    elif variant == "B and own R as lists, no dims":
        A, B, Q = A[0], [C(B[0, :, o]) for o in OWN], Q[0]
        R = [C(R[0, i, o, o]) for i, o in enumerate(OWN)]
        kw = dict(horizon=T, r=g["r"][0], c=g["c"][0])
    elif variant == "time-varying lists, joint R list":
        B, R = [C(B[..., o]) for o in OWN], [C(R[:, i]) for i in range(3)]
        kw.update(q=g["q"], qT=g["qT"], dims=[2, 1, 1])
    elif variant == "B list with dims, time-varying own R tuple":
        B = [C(B[..., o]) for o in OWN]
        R = tuple(C(R[:, i, o, o]) for i, o in enumerate(OWN))
        kw.update(M=g["M"][0])
    return A, B, Q, R, kw


C = np.ascontiguousarray
OWN = (slice(0, 2), slice(2, 3), slice(3, 4))  # dims (2, 1, 1)


VARIANTS = ["time-varying, all terms", "time-invariant, horizon", "mixed, terminal defaults",
            "QT given, qT from the last q", "no optional terms, no horizon", "one stage, no horizon",
            "B and own R as lists, no dims", "time-varying lists, joint R list",
            "B list with dims, time-varying own R tuple"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_fast_path_equals_general_path(rng, spy, variant):
    A, B, Q, R, kw = game_args(rng, variant)
    sol = solve_lq_game(A, B, Q, R, **kw)
    assert spy == [True]
    ref = general(solve_lq_game, A, B, Q, R, **kw)
    assert_same(sol, ref, rng.standard_normal(4))
    assert sol._data is not None  # built on first use, then kept
    assert repr(sol) == repr(ref)


def test_fast_path_equals_general_path_batched(rng, spy):
    T, n, dims = 4, 3, (1, 2)
    games = [random_lq_game(rng, 2, n, dims, T) for _ in range(3)]
    st = {k: np.stack([g[k] for g in games]) for k in games[0] if k != "dims"}
    C = np.ascontiguousarray
    variants = [
        dict(A=st["A"], B=st["B"], Q=st["Q"], R=st["R"], q=st["q"], r=st["r"], M=st["M"], c=st["c"], QT=st["QT"],
             qT=st["qT"]),
        # size-1 batch axes broadcast; time-invariant members; terminal defaults
        dict(A=st["A"], B=st["B"][:1, 0], Q=C(st["Q"][:, 0]), R=st["R"][:1], q=st["q"][:1], c=C(st["c"][:, 0]),
             horizon=T),
        # every batch axis of size 1: a batch of one
        dict(A=st["A"][:1], B=st["B"][:1], Q=C(st["Q"][:1, 0]), R=st["R"][:1], horizon=T),
    ]
    x0 = rng.standard_normal((3, n))
    for kw in variants:
        spy.clear()
        A, B, Q, R = (kw.pop(k) for k in ("A", "B", "Q", "R"))
        sol = solve_lq_games(A, B, Q, R, dims=dims, **kw)
        assert spy == [True]
        ref = general(solve_lq_games, A, B, Q, R, dims=dims, **kw)
        assert_same(sol, ref, x0[:sol.K.shape[0]])


def test_lazy_game_keeps_the_assembled_blocks(rng, spy):
    """B / R given as blocks are copied on assembly (both paths): later edits of the blocks change nothing."""
    A, B, Q, R, kw = game_args(rng, "B and own R as lists, no dims")
    sol = solve_lq_game(A, B, Q, R, **kw)
    ref = general(solve_lq_game, A, B, Q, R, **kw)
    assert spy == [True] and sol._data is None
    for b in B:
        b *= 2.0
    for x in R:
        x *= 3.0
    assert_same(sol, ref, np.ones(4))


def test_own_control_R_stacked_fast(rng, spy):
    g = random_lq_game(rng, 2, 3, (2, 2), 4, all_terms=False)
    own = np.stack([g["R"][:, 0, :2, :2], g["R"][:, 1, 2:, 2:]], axis=1)  # (T, N, 2, 2)
    sol = solve_lq_game(g["A"], g["B"], g["Q"], own, dims=(2, 2))
    ref = general(solve_lq_game, g["A"], g["B"], g["Q"], g["R"], dims=(2, 2))
    assert spy == [True]
    assert_same(sol, ref, np.ones(3))


def test_block_lists_batched_fast(rng, spy):
    T, n, dims = 3, 3, (1, 2)
    games = [random_lq_game(rng, 2, n, dims, T, all_terms=False) for _ in range(2)]
    st = {k: np.stack([g[k] for g in games]) for k in games[0] if k != "dims"}
    B = [C(st["B"][..., :1]), C(st["B"][..., 1:])]
    R = [C(st["R"][:, :, 0, :1, :1]), C(st["R"][:, :, 1, 1:, 1:])]
    sol = solve_lq_games(st["A"], B, st["Q"], R)
    ref = general(solve_lq_games, st["A"], st["B"], st["Q"], st["R"], dims=dims)
    assert spy == [True]
    assert_same(sol, ref, np.ones((2, n)))


def test_workspace_reuse_across_games_of_one_size(rng, spy):
    """The fast path keeps a workspace per size: solving other games in between changes nothing."""
    args = [game_args(rng, v) for v in VARIANTS[:3]]
    refs = [general(solve_lq_game, A, B, Q, R, **kw) for A, B, Q, R, kw in args]
    for _ in range(2):
        for (A, B, Q, R, kw), ref in zip(args, refs):
            sol = solve_lq_game(A, B, Q, R, **kw)
            for name in FIELDS:
                np.testing.assert_array_equal(getattr(sol, name), getattr(ref, name))
            other = random_lq_game(rng, 1, 2, (1,), 3)  # another size in between
            solve_lq_game(other["A"], other["B"], other["Q"], other["R"], dims=(1,))
    assert all(spy)


class _Sub(np.ndarray):
    pass


@pytest.mark.parametrize("form", ["B list of views", "R list of views", "R list broadcast", "B list 1-D", "float32 A", "int Q", "Fortran A", "reversed-stride B",
                                  "subclass A", "numpy dims", "numpy horizon", "bool horizon"])
def test_other_forms_decline_and_agree(rng, spy, form):
    A, B, Q, R, kw = game_args(rng, "time-invariant, horizon")
    if form == "B list of views":
        B = [B[:, :2], B[:, 2:3], B[:, 3:]]
    elif form == "R list of views":
        R = [R[0, :2, :2], R[1, 2:3, 2:3], R[2, 3:, 3:]]
    elif form == "R list broadcast":  # leading axes broadcast against each other
        R = [C(R[0, :2, :2]), np.stack([R[1, 2:3, 2:3]] * kw["horizon"]), C(R[2, 3:, 3:])]
    elif form == "B list 1-D":
        A, Q, R = A[:3, :3], Q[:, :3, :3], [C(R[0, :2, :2]), C(R[1, 2:3, 2:3]), C(R[2, 3:, 3:])]
        B = [C(B[:3, :2]), C(B[:3, 2]), C(B[:3, 3])]
        kw = dict(horizon=kw["horizon"])
    elif form == "float32 A":
        A = A.astype(np.float32)
    elif form == "int Q":
        Q = np.round(10 * Q).astype(int)
        Q = Q + np.swapaxes(Q, -1, -2) + 100 * np.eye(4, dtype=int)
    elif form == "Fortran A":
        A = np.asfortranarray(A)
    elif form == "reversed-stride B":
        B = np.ascontiguousarray(B[::-1])[::-1]
    elif form == "subclass A":
        A = A.view(_Sub)
    elif form == "numpy dims":
        kw["dims"] = np.array(kw["dims"])
    elif form == "numpy horizon":
        kw["horizon"] = np.int64(kw["horizon"])
    elif form == "bool horizon":
        kw["horizon"] = True
    sol = solve_lq_game(A, B, Q, R, **kw)
    assert spy == [False]
    assert_same(sol, general(solve_lq_game, A, B, Q, R, **kw), np.ones(A.shape[-1]))


# --------------------------------------------------------------------------- #
# Bad input through the fast path: declined, then the general path's exact error
# --------------------------------------------------------------------------- #


def base():
    """Fast-path-eligible base game (N = 2, n = 3, dims (1, 2), T = 4, every term given)."""
    rng = np.random.default_rng(7)
    N, n, m = 2, 3, 3
    return dict(A=0.5 * rng.standard_normal((n, n)), B=rng.standard_normal((n, m)),
                Q=np.stack([np.eye(n), 2 * np.eye(n)]), R=np.stack([np.eye(m), 3 * np.eye(m)]), horizon=4,
                dims=(1, 2), q=np.ones((N, n)), r=np.ones((N, m)), M=np.zeros((N, m, n)), c=np.ones(n),
                QT=np.stack([np.eye(n)] * N), qT=np.zeros((N, n)))


def _set(name, idx, value):
    def change(kw):
        kw[name] = kw[name].copy()
        kw[name][idx] = value
    return change


def _sym(name, i, j, k, value):
    def change(kw):
        kw[name] = kw[name].copy()
        kw[name][i, j, k] = kw[name][i, k, j] = value
    return change


def _replace(**changes):
    return lambda kw: kw.update(changes)


BAD = {
    **{f"non-finite {name}": _set(name, idx, bad) for name, idx in
       [("A", (1, 2)), ("B", (0, 0)), ("q", (0, 1)), ("r", (1, 1)), ("M", (0, 0, 1)), ("c", (2,)), ("qT", (1, 2))]
       for bad in [np.nan]},
    "inf Q": _sym("Q", 1, 0, 2, np.inf),
    "-inf R off own block": _sym("R", 0, 0, 2, -np.inf),
    "nan QT": _set("QT", (0, 1, 1), np.nan),
    "asymmetric Q": _set("Q", (1, 0, 1), 1e-3),
    "asymmetric QT": _set("QT", (0, 2, 1), 1e-3),
    "asymmetric R": _set("R", (1, 0, 1), 1e-3),
    "asymmetric R just above the tolerance": _set("R", (1, 0, 1), 3.0 * 1.01e-10),
    "R^00 singular": _set("R", (0, 0, 0), 0.0),
    "R^11 indefinite": _set("R", (1, 2, 2), -2.0),
    "R^11 not symmetric-definite": _sym("R", 1, 1, 2, 3.5),
    "A not square": _replace(A=np.ones((3, 2))),
    "A batched": _replace(A=np.ones((2, 4, 3, 3))),
    "B rows": _replace(B=np.ones((4, 3))),
    "B columns": _replace(B=np.ones((3, 4))),
    "Q players": _replace(Q=np.ones((3, 3, 3))),
    "R own-size stack": _replace(R=np.ones((2, 2, 2))),
    "q shape": _replace(q=np.ones((2, 4))),
    "M shape": _replace(M=np.ones((2, 3, 4))),
    "c axes": _replace(c=np.ones((2, 4, 3))),
    "QT with a time axis": _replace(QT=np.ones((4, 2, 3, 3))),
    "qT shape": _replace(qT=np.ones(3)),
    "horizon 0": _replace(horizon=0),
    "horizon 2.5": _replace(horizon=2.5),
    "horizon disagrees": _replace(A=np.stack([np.eye(3)] * 5)),
    "time axes disagree": _replace(A=np.stack([np.eye(3)] * 4), B=np.ones((5, 3, 3)), horizon=None),
    "no horizon": _replace(horizon=None),
    "empty time axis": _replace(A=np.zeros((0, 3, 3)), horizon=None),
    "dims sum": _replace(dims=(2, 2)),
    "dims zero": _replace(dims=(0, 3)),
    "dims players": _replace(dims=(1, 1, 1)),
    "no dims": _replace(dims=None),
    "empty dims": _replace(dims=()),
    "R list too long": _replace(R=[np.eye(1), np.eye(2), np.eye(1)]),
    "R list not square": _replace(R=[np.eye(1), np.ones((2, 3))]),
    "R list own shapes swapped": _replace(R=[np.eye(2), np.eye(1)]),
    "R list non-finite": _replace(R=[np.eye(1), np.array([[1.0, 0.0], [0.0, np.nan]])]),
    "R list indefinite": _replace(R=[np.eye(1), -np.eye(2)]),
    "R list asymmetric": _replace(R=[np.eye(1), np.array([[1.0, 0.1], [0.0, 1.0]])]),
    "B list inconsistent": _replace(B=[np.ones((3, 1)), np.ones((4, 2))], dims=None),
    "B list disagrees with dims": _replace(B=[np.ones((3, 1)), np.ones((3, 2))], dims=(2, 1)),
    "B list non-finite": _replace(B=[np.full((3, 1), np.inf), np.ones((3, 2))], dims=None),
    "B list empty": _replace(B=[], dims=None),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_declined_with_the_general_paths_error(spy, case):
    kw = base()
    BAD[case](kw)
    A, B, Q, R = (kw.pop(k) for k in ("A", "B", "Q", "R"))
    with pytest.raises((InputError, ValueError)) as fast:
        solve_lq_game(A, B, Q, R, **kw)
    assert spy == [False]
    with pytest.raises((InputError, ValueError)) as ref:
        general(solve_lq_game, A, B, Q, R, **kw)
    assert type(fast.value) is type(ref.value) and str(fast.value) == str(ref.value)


def test_bad_input_declined_batched(spy):
    kw = {k: (np.stack([v] * 3) if isinstance(v, np.ndarray) else v) for k, v in base().items()}
    kw["R"] = kw["R"].copy()
    kw["R"][2, 1, 1, 1] = -1.0  # game 2, player 1's own block
    A, B, Q, R = (kw.pop(k) for k in ("A", "B", "Q", "R"))
    with pytest.raises(InputError, match=r"R \(player 1's own block R\^11\)\[2, 0\] must be positive definite"):
        solve_lq_games(A, B, Q, R, **kw)
    assert spy == [False]
    kw2 = dict(kw, qT=np.zeros((2, 2, 3)))
    with pytest.raises(InputError, match=r"inconsistent batch sizes"):
        solve_lq_games(A, B, Q, np.stack([base()["R"]] * 3), **kw2)
    assert spy == [False, False]


def test_symmetry_tolerance_identical_at_the_boundary(spy):
    """The relative symmetry test uses numpy's operations: one side of 1e-10 passes, the other fails."""
    kw = base()
    A, B, Q, R = (kw.pop(k) for k in ("A", "B", "Q", "R"))
    scale = 1e8
    for rel, ok in ((0.99e-10, True), (1.01e-10, False)):
        Qs = scale * Q
        Qs[1, 0, 1] += rel * 2 * scale
        if ok:
            assert_same(solve_lq_game(A, B, Qs, R, **kw), general(solve_lq_game, A, B, Qs, R, **kw), np.ones(3))
        else:
            with pytest.raises(InputError, match=r"Q\[0, 0, 1\] must be symmetric"):
                solve_lq_game(A, B, Qs, R, **kw)
    assert spy == [True, False]


def test_nearly_singular_own_block_goes_to_the_general_path(spy):
    """R^{ii} positive definite but within the C++ test's margin: declined, then accepted and solved."""
    kw = base()
    A, B, Q, R = (kw.pop(k) for k in ("A", "B", "Q", "R"))
    for delta, fast in ((1e-6, True), (1e-13, False)):
        Rb = R.copy()
        Rb[1, 1:, 1:] = [[1.0, 1.0 - delta], [1.0 - delta, 1.0]]  # eigenvalues 2 - delta, delta
        sol = solve_lq_game(A, B, Q, Rb, **kw)
        assert spy[-1] is fast
        for name in FIELDS:
            np.testing.assert_array_equal(getattr(sol, name), getattr(general(solve_lq_game, A, B, Q, Rb, **kw),
                                                                          name))


# --------------------------------------------------------------------------- #
# Statuses through the fast path
# --------------------------------------------------------------------------- #


def test_singular_stage_warning_and_solve_error_match(spy):
    A = np.zeros((1, 1))
    B = np.ones((1, 2))
    Q = np.ones((2, 1, 1))
    R = np.stack([np.eye(2), np.eye(2)])
    r = np.array([[0.0, 0.0], [1e308, 0.0]])
    kw = dict(horizon=1, r=r, c=np.array([10.0]), dims=(1, 1))
    with pytest.raises(SolveError) as fast:
        solve_lq_game(A, B, Q, R, **kw)
    with pytest.raises(SolveError) as ref:
        general(solve_lq_game, A, B, Q, R, **kw)
    assert str(fast.value) == str(ref.value)
    with pytest.raises(SolveError, match=r"at game 1, stage t=0"):
        solve_lq_games(np.stack([A, A]), B[None], Q[None], R[None], horizon=1, dims=(1, 1),
                       r=np.stack([np.zeros((2, 2)), r]), c=np.array([[10.0]]))
    # identical input columns and costs: singular stage systems, warned from the caller's line
    B2 = np.ones((2, 2))
    Q2 = np.stack([np.eye(2)] * 2)
    R2 = np.ones((2, 2, 2))  # both pay for (u^1 + u^2)^2: own blocks 1, rows of S coincide
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        sol = solve_lq_game(np.eye(2), B2, Q2, R2, horizon=3, dims=(1, 1))
        ref = general(solve_lq_game, np.eye(2), B2, Q2, R2, horizon=3, dims=(1, 1))
    assert len(w) == 2 and all(issubclass(x.category, SingularStageWarning) for x in w)
    assert str(w[0].message) == str(w[1].message) and w[0].filename == w[1].filename == __file__
    assert sol.singular_stages.all()
    assert_same(sol, ref, np.ones(2))
    assert spy == [True, True, True]


def test_results_are_fresh_arrays_and_inputs_untouched(rng):
    A, B, Q, R, kw = game_args(rng, "time-varying, all terms")
    before = [x.copy() for x in (A, B, Q, R)]
    s1 = solve_lq_game(A, B, Q, R, **kw)
    s2 = solve_lq_game(A, B, Q, R, **kw)
    for name in FIELDS:
        a, b = getattr(s1, name), getattr(s2, name)
        assert a.flags.c_contiguous and a.flags.owndata and a.flags.writeable
        assert not np.shares_memory(a, b)
    for x, y in zip((A, B, Q, R), before):
        np.testing.assert_array_equal(x, y)
    assert gamesolve.lq.finite._core.solve_lq_fast(A, B, Q, R, None, None, None, None, None, None, None, [2, 1, 1],
                                            False, 1, 1e-12, 1e-10, 1e-10) is not None


# --------------------------------------------------------------------------- #
# Randomized: any mix of forms, axes and (sometimes) bad values, fast == general
# --------------------------------------------------------------------------- #


def random_call(rng):
    """A random solve_lq_game(s) call: (fn, A, B, Q, R, kwargs), valid or (sometimes) not."""
    N = int(rng.integers(1, 4))
    dims = tuple(int(d) for d in rng.integers(1, 3, N))
    if rng.random() < 0.3:
        dims = (dims[0],) * N
    n, m, T = int(rng.integers(1, 4)), sum(dims), int(rng.integers(1, 4))
    batched = rng.random() < 0.4
    batch = int(rng.integers(2, 4))
    off = np.concatenate([[0], np.cumsum(dims)])

    def lead(time):
        b = (batch if rng.random() < 0.7 else 1,) if batched else ()
        return b + ((T,) if time else ())

    tv = {k: rng.random() < 0.5 for k in ("A", "B", "Q", "R", "q", "r", "M", "c")}
    if not any(tv.values()) or rng.random() < 0.5:
        horizon = T
    else:
        horizon = None
    A = 0.5 * rng.standard_normal(lead(tv["A"]) + (n, n))
    B = rng.standard_normal(lead(tv["B"]) + (n, m))
    X = rng.standard_normal(lead(tv["Q"]) + (N, n, n))
    Q = X @ np.swapaxes(X, -1, -2) + 0.1 * np.eye(n)
    lr = lead(tv["R"])
    Y = rng.standard_normal(lr + (N, m, m))
    R = Y @ np.swapaxes(Y, -1, -2) + 0.5 * np.eye(m)
    kw = dict(horizon=horizon, dims=dims)
    for name, blk, p in (("q", (N, n), 0.5), ("r", (N, m), 0.5), ("M", (N, m, n), 0.3), ("c", (n,), 0.5)):
        if rng.random() < p:
            kw[name] = 0.3 * rng.standard_normal(lead(tv[name]) + blk)
    if rng.random() < 0.4:
        Z = rng.standard_normal(((batch,) if batched else ()) + (N, n, n))
        kw["QT"] = Z @ np.swapaxes(Z, -1, -2) + np.eye(n)
    if rng.random() < 0.3:
        kw["qT"] = rng.standard_normal(((batch,) if batched else ()) + (N, n))
    # forms of B and R
    if rng.random() < 0.4:
        B = [C(B[..., off[i]:off[i + 1]]) for i in range(N)]
        if rng.random() < 0.5:
            kw["dims"] = None
        elif rng.random() < 0.5:
            kw["dims"] = list(dims)
    u = rng.random()
    if u < 0.25:
        R = [C(R[..., i, off[i]:off[i + 1], off[i]:off[i + 1]]) for i in range(N)]
    elif u < 0.4:
        R = tuple(C(R[..., i, :, :]) for i in range(N))
    elif u < 0.55 and N > 1 and len(set(dims)) == 1:
        R = C(np.stack([R[..., i, off[i]:off[i + 1], off[i]:off[i + 1]] for i in range(N)], axis=-3))
    # sometimes break one thing
    v = rng.random()
    target = kw.get("q") if kw.get("q") is not None else A
    if v < 0.08:
        target.reshape(-1)[int(rng.integers(target.size))] = rng.choice([np.nan, np.inf])
    elif v < 0.16:
        Q.reshape(-1)[int(rng.integers(Q.size))] += rng.choice([1e-3, 1e-11])
    elif v < 0.22:
        R_arr = R if isinstance(R, np.ndarray) else R[0]
        R_arr[..., 0, 0] = -R_arr[..., 0, 0] * rng.choice([1.0, 1e-14, 0.0])
    elif v < 0.26:
        kw["horizon"] = T + 1 if horizon is not None else None
    # sometimes a form the fast path declines although valid
    w = rng.random()
    if w < 0.05:
        A = np.asfortranarray(A)
    elif w < 0.1:
        Q = Q.astype(np.float32).astype(np.float64) if rng.random() < 0.5 else list(Q.tolist())
    fn = solve_lq_games if batched else solve_lq_game
    return fn, A, B, Q, R, kw, (batch if batched else None, n)


def _outcome(fn, A, B, Q, R, kw):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        try:
            return fn(A, B, Q, R, **kw), [str(x.message) for x in w]
        except (InputError, SolveError, ValueError) as exc:
            return exc, [str(x.message) for x in w]


def test_random_calls_fast_equals_general(spy):
    rng = np.random.default_rng(20261201)
    fast_count = 0
    for trial in range(400):
        fn, A, B, Q, R, kw, (batch, n) = random_call(rng)
        spy.clear()
        got, w1 = _outcome(fn, A, B, Q, R, kw)
        fast_count += spy == [True]
        want, w2 = _outcome(lambda *a, **k: general(fn, *a, **k), A, B, Q, R, kw)
        assert w1 == w2, trial
        if isinstance(want, Exception):
            assert type(got) is type(want) and str(got) == str(want), (trial, got, want)
            assert spy == [False] or isinstance(want, SolveError), trial
            continue
        assert not isinstance(got, Exception), (trial, got)
        x0 = np.ones((got.K.shape[0], n) if batch else n)  # every batch axis may be of size 1
        assert_same(got, want, x0)
    assert fast_count > 150  # most calls take the fast path


def test_control_sizes_whose_sum_overflows_are_an_input_error():
    """dims summing past 2^63 must not wrap around into a "valid" game (no crash, a clear error)."""
    big = 2**63 - 1
    for dims in ((big, big, 5), (2**62,) * 4 + (3,)):
        N = len(dims)
        A, B = np.eye(2), np.ones((2, 3))
        Q, R = np.stack([np.eye(2)] * N), np.stack([np.eye(3)] * N)
        with pytest.raises(InputError):
            solve_lq_game(A, B, Q, R, horizon=3, dims=dims)
        with pytest.raises(InputError):
            gamesolve.lq_nash(A, B, Q, R, dims=dims)
