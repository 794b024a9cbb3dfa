"""Bad input to the LQ game API: one InputError per failure mode, message matched.

Base game: N = 2 players, n = 3 states, dims = (1, 2), horizon T = 4, every
term given time-invariant; each test breaks exactly one thing.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import assert_solution_equals, random_lq_game, twin_of_time_invariant
from lq_twin import solve_lq_game_numpy

import gamesolve
from gamesolve import InputError, evaluate_lq_strategy, solve_lq_game, solve_lq_games

N, n, m, T = 2, 3, 3, 4
DIMS = (1, 2)


def base():
    rng = np.random.default_rng(7)
    A = 0.5 * rng.standard_normal((n, n))
    B = rng.standard_normal((n, m))
    Q = np.stack([np.eye(n), 2 * np.eye(n)])
    R = np.stack([np.eye(m), 3 * np.eye(m)])
    return dict(A=A, B=B, Q=Q, R=R, horizon=T, dims=DIMS, q=np.ones((N, n)), r=np.ones((N, m)),
                M=np.zeros((N, m, n)), c=np.ones(n), QT=np.stack([np.eye(n)] * N), qT=np.zeros((N, n)))


def call(fn=solve_lq_game, **changes):
    kw = base()
    kw.update(changes)
    kw = {k: v for k, v in kw.items() if v is not _DROP}
    A, B, Q, R = (kw.pop(k) for k in ("A", "B", "Q", "R"))
    return fn(A, B, Q, R, **kw)


_DROP = object()


def assert_equals_twin(sol, rtol=1e-10, **changes):
    """``sol`` is the numpy twin's solution of the base game with ``changes``: an accepted input was
    read as the game it denotes."""
    kw = base()
    kw.update(changes)
    assert_solution_equals(sol, twin_of_time_invariant(kw, T, DIMS), rtol)


def test_base_game_is_valid():
    sol = call()
    assert sol.K.shape == (T, m, n)
    assert_equals_twin(sol)


def test_input_error_is_value_error():
    assert issubclass(InputError, ValueError)
    with pytest.raises(ValueError):
        call(A=np.ones((3, 2)))


# --------------------------------------------------------------------------- #
# shapes, one per argument
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("changes,match", [
    (dict(A=np.ones((3, 2))), r"A must be square \(n, n\), got shape \(3, 2\)"),
    (dict(A=np.ones(3)), r"A must be square"),
    (dict(A=np.ones((2, 4, 3, 3))), r"A must have 2 or 3 dimensions \(\[T\], \.\.\.\), got shape \(2, 4, 3, 3\)"),
    (dict(B=np.ones((4, m))), r"B must have 3 rows \(the state size\), got shape \(4, 3\)"),
    (dict(B=np.ones((n, 4))), r"B must have 3 columns \(sum of dims \(1, 2\)\), got shape \(3, 4\)"),
    (dict(Q=np.ones((N, n, n + 1))), r"Q must have shape \(\.\.\., 2, 3, 3\) .*got \(2, 3, 4\)"),
    (dict(Q=np.ones((3, n, n))), r"Q must have shape \(\.\.\., 2, 3, 3\) .*got \(3, 3, 3\)"),
    (dict(R=np.ones((N, 2, 2))), r"R must hold N=2 joint weights \(\.\.\., 2, 3, 3\) .*got shape \(2, 2, 2\)"),
    (dict(R=[np.eye(1), np.eye(2), np.eye(1)]), r"R must have one weight per player \(2\), got 3"),
    (dict(R=[np.eye(1), np.ones((2, 3))]), r"R\[1\] must be square, got shape \(2, 3\)"),
    (dict(R=[np.eye(2), np.eye(1)]), r"R\[0\] must have shape \(1, 1\) \(own-control weight\), got \(2, 2\)"),
    (dict(q=np.ones((N, n + 1))), r"q must have shape \(\.\.\., 2, 3\), got \(2, 4\)"),
    (dict(r=np.ones((N, m - 1))), r"r must have shape \(\.\.\., 2, 3\), got \(2, 2\)"),
    (dict(M=np.ones((N, n, m + 1))), r"M must have shape \(\.\.\., 2, 3, 3\), got \(2, 3, 4\)"),
    (dict(c=np.ones(n + 1)), r"c must have shape \(\.\.\., 3\), got \(4,\)"),
    (dict(c=np.ones((2, T, n))), r"c must have 1 or 2 dimensions"),
    (dict(QT=np.ones((n, n))), r"QT must have shape \(2, 3, 3\), got \(3, 3\)"),
    (dict(QT=np.ones((T, N, n, n))), r"QT must have shape \(2, 3, 3\), got \(4, 2, 3, 3\)"),
    (dict(qT=np.ones(n)), r"qT must have shape \(2, 3\), got \(3,\)"),
])
def test_wrong_shape(changes, match):
    with pytest.raises(InputError, match=match):
        call(**changes)


def test_not_an_array():
    with pytest.raises(InputError, match=r"A must be a real array, got str"):
        call(A="not a matrix")
    with pytest.raises(InputError, match=r"Q must be a real array"):
        call(Q=[[1, 2], [3]])


# --------------------------------------------------------------------------- #
# B, R and dims consistency
# --------------------------------------------------------------------------- #


def test_B_list_disagrees_with_dims():
    B = base()["B"]
    with pytest.raises(InputError, match=r"dims \(2, 1\) disagrees with the widths of the blocks of B \(1, 2\)"):
        call(B=[B[:, :1], B[:, 1:]], dims=(2, 1))


def test_B_list_blocks_inconsistent():
    with pytest.raises(InputError, match=r"B\[1\] has shape \(4, 2\), inconsistent with B\[0\] shape \(3, 1\)"):
        call(B=[np.ones((n, 1)), np.ones((n + 1, 2))], dims=_DROP)


def test_B_list_empty():
    with pytest.raises(InputError, match=r"B must have at least one player block"):
        call(B=[], dims=_DROP)


def test_stacked_B_needs_dims():
    with pytest.raises(InputError, match=r"dims is required when B is a stacked matrix"):
        call(dims=_DROP)


def test_stacked_B_and_list_R_with_joint_weights_need_dims():
    B = base()["B"]
    with pytest.raises(InputError, match=r"dims is required"):
        call(B=B, R=[np.eye(m), np.eye(m)], dims=_DROP)


def test_dims_not_positive():
    with pytest.raises(InputError, match=r"dims must be positive integers, got \(0, 3\)"):
        call(dims=(0, 3))


def test_dims_sum_disagrees_with_B():
    with pytest.raises(InputError, match=r"B must have 4 columns \(sum of dims \(2, 2\)\)"):
        call(dims=(2, 2))


def test_dims_players_disagree_with_Q():
    with pytest.raises(InputError, match=r"R must hold N=3 joint weights"):
        call(dims=(1, 1, 1))


def test_R_list_with_B_list():
    B = base()["B"]
    sol = call(B=[B[:, :1], B[:, 1:]], R=[np.eye(1), np.eye(2)], dims=_DROP)
    with pytest.raises(InputError, match=r"R must have one weight per player \(2\), got 1"):
        call(B=[B[:, :1], B[:, 1:]], R=[np.eye(1)], dims=_DROP)
    assert sol.K.shape == (T, m, n)


# --------------------------------------------------------------------------- #
# values: finiteness, symmetry, definiteness
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("name,shape,idx,match", [
    ("A", (n, n), (1, 2), r"A must be finite, found NaN or inf \(first at index \(1, 2\)\)"),
    ("B", (n, m), (0, 0), r"B must be finite, found NaN or inf \(first at index \(0, 0\)\)"),
    ("Q", (N, n, n), (1, 0, 0), r"Q must be finite"),
    ("R", (N, m, m), (0, 2, 2), r"R must be finite"),
    ("q", (N, n), (0, 1), r"q must be finite"),
    ("r", (N, m), (1, 1), r"r must be finite"),
    ("M", (N, m, n), (0, 0, 1), r"M must be finite"),
    ("c", (n,), (2,), r"c must be finite, found NaN or inf \(first at index \(2,\)\)"),
    ("QT", (N, n, n), (0, 1, 1), r"QT must be finite"),
    ("qT", (N, n), (1, 2), r"qT must be finite"),
])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_entries(name, shape, idx, match, bad):
    arr = np.array(base()[name], dtype=float).reshape(shape)
    arr[idx] = bad
    if name in ("Q", "R", "QT") and idx[-1] != idx[-2]:
        arr[idx[:-2] + (idx[-1], idx[-2])] = bad
    with pytest.raises(InputError, match=match):
        call(**{name: arr})


def test_non_finite_own_R_list_entry():
    with pytest.raises(InputError, match=r"R\[1\] must be finite"):
        call(R=[np.eye(1), np.array([[1.0, 0.0], [0.0, np.nan]])])


def test_non_finite_B_block():
    with pytest.raises(InputError, match=r"B\[0\] must be finite"):
        call(B=[np.full((n, 1), np.inf), np.ones((n, 2))], dims=_DROP)


@pytest.mark.parametrize("name", ["Q", "R", "QT"])
def test_asymmetric_weights(name):
    arr = base()[name].copy()
    arr[1, 0, 1] += 1e-3
    with pytest.raises(InputError, match=rf"{name}\[0, 0, 1\] must be symmetric: max \|X - X'\| = 0\.001"):
        call(**{name: arr})


def test_asymmetric_time_varying_Q_names_the_stage():
    Q = np.stack([base()["Q"]] * T)
    Q[2, 1, 0, 2] = 5.0
    with pytest.raises(InputError, match=r"Q\[0, 2, 1\] must be symmetric"):
        call(Q=Q)


@pytest.mark.parametrize("n", [1, 2, 5, 8, 9, 12, 13, 17])
def test_every_asymmetric_entry_is_found(n):
    # One changed entry anywhere, in any size, is an asymmetry (the exact pass sees it).
    rng = np.random.default_rng(n)
    A, B = 0.3 * rng.normal(size=(n, n)), rng.normal(size=(n, 2))
    X = rng.normal(size=(n, n))
    Q = np.stack([X @ X.T + np.eye(n), np.eye(n)])
    R = np.stack([np.diag([1.0, 0.0]), np.diag([0.0, 1.0])])
    gamesolve.lq_game(A, B, Q, R, horizon=2, dims=(1, 1))  # symmetric: accepted
    for i in range(n):
        for j in range(n):
            if i != j:
                P = Q.copy()
                P[0, i, j] += 1e-3
                with pytest.raises(InputError, match=r"Q\[0, 0, 0\] must be symmetric"):
                    gamesolve.lq_game(A, B, P, R, horizon=2, dims=(1, 1))


def test_symmetry_tolerance_is_relative():
    Q = 1e8 * base()["Q"]
    Q[0, 0, 1] += 1e-4  # relative asymmetry 1e-12: accepted
    assert_equals_twin(call(Q=Q), Q=Q)


@pytest.mark.parametrize("R,match", [
    (np.stack([np.diag([0.0, 1.0, 1.0]), np.eye(m)]),
     r"R \(player 0's own block R\^00\)\[0, 0\] must be positive definite, smallest eigenvalue is 0"),
    (np.stack([np.eye(m), np.diag([1.0, 1.0, -2.0])]),
     r"R \(player 1's own block R\^11\)\[0, 0\] must be positive definite, smallest eigenvalue is -2"),
    ([np.eye(1), -np.eye(2)], r"R \(player 1's own block R\^11\).* must be positive definite"),
])
def test_own_block_of_R_not_positive_definite(R, match):
    with pytest.raises(InputError, match=match):
        call(R=R)


def test_only_own_block_of_R_must_be_definite():
    R = np.stack([np.diag([1.0, -1.0, 0.0]), np.diag([0.0, 1.0, 1.0])])  # off-own parts indefinite: fine
    assert_equals_twin(call(R=R), R=R)


# --------------------------------------------------------------------------- #
# horizons and time axes
# --------------------------------------------------------------------------- #


def test_missing_horizon():
    with pytest.raises(InputError, match=r"horizon is required when every array is time-invariant"):
        call(horizon=None)


@pytest.mark.parametrize("h", [0, -3, 2.5])
def test_bad_horizon(h):
    with pytest.raises(InputError, match=r"horizon must be a positive integer"):
        call(horizon=h)


def test_time_axis_mismatch():
    A = np.stack([base()["A"]] * T)
    B = np.stack([base()["B"]] * (T + 1))
    with pytest.raises(InputError, match=r"B has 5 time steps but A has 4"):
        call(A=A, B=B, horizon=None)


def test_time_axis_mismatch_in_optional_term():
    with pytest.raises(InputError, match=r"q has 3 time steps but A has 4"):
        call(A=np.stack([base()["A"]] * T), q=np.ones((3, N, n)), horizon=None)


def test_horizon_mismatch():
    with pytest.raises(InputError, match=r"A has 5 time steps but horizon has 4"):
        call(A=np.stack([base()["A"]] * 5))


def test_empty_time_axis():
    with pytest.raises(InputError, match=r"A has an empty time axis"):
        call(A=np.zeros((0, n, n)), horizon=None)


# --------------------------------------------------------------------------- #
# batches
# --------------------------------------------------------------------------- #


def batched(k, **changes):
    kw = base()
    for key in ("A", "B", "Q", "R", "q", "r", "M", "c", "QT", "qT"):
        kw[key] = np.stack([kw[key]] * k)
    kw.update(changes)
    return kw


def test_batch_sizes_inconsistent():
    kw = batched(3, B=np.stack([base()["B"]] * 2))
    A, B, Q, R = (kw.pop(k) for k in ("A", "B", "Q", "R"))
    with pytest.raises(InputError, match=r"inconsistent batch sizes: .*'A': 3.*'B': 2"):
        solve_lq_games(A, B, Q, R, **kw)


def test_batched_QT_needs_batch_axis():
    kw = batched(3, QT=base()["QT"])
    A, B, Q, R = (kw.pop(k) for k in ("A", "B", "Q", "R"))
    with pytest.raises(InputError, match=r"QT must have shape \(batch, 2, 3, 3\), got \(2, 3, 3\)"):
        solve_lq_games(A, B, Q, R, **kw)


def test_unbatched_A_in_batched_solve():
    kw = batched(3, A=base()["A"])
    A, B, Q, R = (kw.pop(k) for k in ("A", "B", "Q", "R"))
    with pytest.raises(InputError, match=r"A must have 3 or 4 dimensions \(batch, \[T\], \.\.\.\)"):
        solve_lq_games(A, B, Q, R, **kw)


# --------------------------------------------------------------------------- #
# x0 of costs / rollout / nash_gap; evaluate_lq_strategy gains
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("method", ["costs", "rollout", "nash_gap"])
@pytest.mark.parametrize("x0,match", [
    (np.ones(n + 1), r"x0 must have shape \(3,\), got \(4,\)"),
    (np.ones((1, n)), r"x0 must have shape \(3,\), got \(1, 3\)"),
    (np.array([1.0, np.nan, 0.0]), r"x0 must be finite"),
    (None, r"x0 is required"),
])
def test_bad_x0(method, x0, match):
    sol = call()
    with pytest.raises(InputError, match=match):
        getattr(sol, method)(x0)


@pytest.mark.parametrize("method", ["costs", "rollout", "nash_gap"])
def test_bad_x0_batched(method):
    kw = batched(3)
    A, B, Q, R = (kw.pop(k) for k in ("A", "B", "Q", "R"))
    sol = solve_lq_games(A, B, Q, R, **kw)
    with pytest.raises(InputError, match=r"x0 must have shape \(3, 3\), got \(2, 3\)"):
        getattr(sol, method)(np.ones((2, n)))


def test_evaluate_strategy_bad_gain_shapes():
    with pytest.raises(InputError, match=r"K must have shape \(4, 3, 3\), got \(3, 3\)"):
        _evaluate(K=np.zeros((m, n)))
    with pytest.raises(InputError, match=r"k must have shape \(4, 3\), got \(3,\)"):
        _evaluate(K=np.zeros((T, m, n)), k=np.zeros(m))
    with pytest.raises(InputError, match=r"K must be finite"):
        _evaluate(K=np.full((T, m, n), np.nan))


def _evaluate(K, k=None):
    kw = base()
    A, B, Q, R = (kw.pop(key) for key in ("A", "B", "Q", "R"))
    return evaluate_lq_strategy(A, B, Q, R, K, k, **kw)


def test_lq_game_raises_what_the_solvers_raise():
    """One reader: building the game and solving from the arrays fail alike, before any solve."""
    kw = base()
    kw["Q"] = np.ones((N, n, n + 1))
    A, B, Q, R = (kw.pop(k) for k in ("A", "B", "Q", "R"))
    for fn in (gamesolve.lq_game, solve_lq_game):
        with pytest.raises(InputError, match=r"Q must have shape \(\.\.\., 2, 3, 3\)"):
            fn(A, B, Q, R, **kw)


# --------------------------------------------------------------------------- #
# Every accepted form, against the numpy twin on the equivalent full arrays
# --------------------------------------------------------------------------- #

C = np.ascontiguousarray
OWN = (slice(0, 2), slice(2, 3), slice(3, 4))  # dims (2, 1, 1)


def _twin_of(g, T):
    """The twin's answer for a random_lq_game dict ``g`` restricted to horizon T (zeros for absent terms)."""
    full = {k: g[k] for k in ("A", "B", "Q", "q", "R", "r", "M", "c", "QT", "qT")}
    return solve_lq_game_numpy(*(full[k] for k in ("A", "B", "Q", "q", "R", "r", "M", "c", "QT", "qT")), g["dims"])


def _forms(rng, T=5):
    """(name, call kwargs, full twin arrays) for every form of the inputs."""
    g = random_lq_game(rng, 3, 4, (2, 1, 1), T)
    A, B, Q, R = g["A"][0], g["B"][0], g["Q"][0], g["R"][0]
    own = [C(R[i, o, o]) for i, o in enumerate(OWN)]
    Rown = np.zeros_like(R)
    for i, o in enumerate(OWN):
        Rown[i, o, o] = R[i, o, o]
    zeros = dict(q=np.zeros((T, 3, 4)), r=np.zeros((T, 3, 4)), M=np.zeros((T, 3, 4, 4)), c=np.zeros((T, 4)),
                 qT=np.zeros((3, 4)))

    def tv(x):
        return np.broadcast_to(x, (T,) + x.shape)

    def full(**kw):
        out = dict(zeros, A=tv(A), B=tv(B), Q=tv(Q), R=tv(R), QT=Q, dims=(2, 1, 1))
        out.update(kw)
        return out

    yield "time-varying, all terms", dict(A=g["A"], B=g["B"], Q=g["Q"], R=g["R"], dims=(2, 1, 1), q=g["q"],
                                          r=g["r"], M=g["M"], c=g["c"], QT=g["QT"], qT=g["qT"]), g
    yield "time-invariant, horizon", dict(A=A, B=B, Q=Q, R=R, horizon=T, dims=(2, 1, 1), q=g["q"][0]), \
        full(q=tv(g["q"][0]), qT=g["q"][0])
    yield "mixed, terminal defaults", dict(A=g["A"], B=B, Q=Q, R=R, dims=(2, 1, 1), q=g["q"], c=g["c"][0]), \
        full(A=g["A"], q=g["q"], c=tv(g["c"][0]), qT=g["q"][-1])
    yield "B and own R as lists, no dims", dict(A=A, B=[C(B[:, o]) for o in OWN], Q=Q, R=own, horizon=T), \
        full(R=tv(Rown))
    yield "B list of views, R list of views", dict(A=A, B=[B[:, o] for o in OWN], Q=Q,
                                                   R=[R[i, o, o] for i, o in enumerate(OWN)], horizon=T), \
        full(R=tv(Rown))
    yield "joint R tuple, dims list", dict(A=A, B=B, Q=Q, R=tuple(R), horizon=T, dims=[2, 1, 1]), full()
    yield "R list broadcast", dict(A=A, B=B, Q=Q, R=[own[0], np.stack([own[1]] * T), own[2]], horizon=T,
                                   dims=(2, 1, 1)), full(R=tv(Rown))
    yield "Q as a list", dict(A=A, B=B, Q=list(Q), R=R, horizon=T, dims=(2, 1, 1)), full()
    yield "float32 A, Fortran B, int-valued QT", dict(A=A.astype(np.float32), B=np.asfortranarray(B), Q=Q, R=R,
                                                      QT=np.stack([2 * np.eye(4, dtype=int)] * 3), horizon=T,
                                                      dims=(2, 1, 1)), \
        full(A=tv(A.astype(np.float32).astype(float)), QT=np.stack([2 * np.eye(4)] * 3))
    yield "subclass A, numpy dims, numpy horizon", dict(A=A.view(_Sub), B=B, Q=Q,
                                                        R=R, horizon=np.int64(T), dims=np.array([2, 1, 1])), full()
    yield "nested lists (B stacked)", dict(A=A.tolist(), B=B, Q=Q.tolist(), R=R.tolist(), horizon=T, dims=(2, 1, 1)), \
        full()


class _Sub(np.ndarray):
    pass


def test_every_form_matches_the_twin(rng):
    for name, kw, ref in _forms(rng):
        kw = dict(kw)
        A, B, Q, R = (kw.pop(k) for k in ("A", "B", "Q", "R"))
        sol = solve_lq_game(A, B, Q, R, **kw)
        K, k, Z, zeta, s = _twin_of(ref, 5)
        for got, want in ((sol.K, K), (sol.k, k), (sol.Z, Z), (sol.zeta, zeta), (sol.s, s)):
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-11, err_msg=name)
        game = gamesolve.lq_game(A, B, Q, R, **kw)
        np.testing.assert_array_equal(solve_lq_game(game).K, sol.K, err_msg=name)


# --------------------------------------------------------------------------- #
# Bad input, one case per rule: InputError naming the argument
# --------------------------------------------------------------------------- #


def _set(name, idx, value):
    def change(kw):
        kw[name] = np.array(kw[name], dtype=float)
        kw[name][idx] = value
    return change


def _replace(**changes):
    return lambda kw: kw.update(changes)


BAD = {
    "non-finite A": (_set("A", (1, 2), np.nan), r"^A must be finite, found NaN or inf \(first at index \(1, 2\)\)"),
    "non-finite qT": (_set("qT", (1, 2), np.inf), r"^qT must be finite"),
    "asymmetric R just above the tolerance": (_set("R", (1, 0, 1), 3.0 * 1.01e-10), r"^R\[0, 0, 1\] must be symmetric"),
    "R^11 not symmetric-definite": (_set("R", (1, 1, 2), 3.5), r"^R\[0, 0, 1\] must be symmetric"),
    "complex A": (_replace(A=np.eye(3) + 0j), r"^A must be real, got complex values"),
    "complex R list": (_replace(R=[np.eye(1), np.eye(2) * (1 + 1j)]), r"^R\[1\] must be real"),
    "string dims": (_replace(dims="ab"), r"^dims must be positive integers"),
    "empty dims": (_replace(dims=()), r"^dims must be positive integers"),
    "bool horizon": (_replace(horizon=True), r"^horizon must be a positive integer, got True"),
    "R list indefinite": (_replace(R=[np.eye(1), -np.eye(2)]),
                          r"^R \(player 1's own block R\^11\)\[0, 0\] must be positive definite, smallest eigenvalue is -1"),
    "R list asymmetric": (_replace(R=[np.eye(1), np.array([[1.0, 0.1], [0.0, 1.0]])]), r"^R\[0, 0, 1\] must be symmetric"),
    "Q list wrong block": (_replace(Q=[np.eye(3), np.eye(2)]), r"^Q\[1\] must have shape"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_named(case):
    kw = base()
    change, match = BAD[case]
    change(kw)
    A, B, Q, R = (kw.pop(k) for k in ("A", "B", "Q", "R"))
    with pytest.raises(InputError, match=match):
        solve_lq_game(A, B, Q, R, **kw)
    with pytest.raises(InputError, match=match):
        gamesolve.lq_game(A, B, Q, R, **kw)


def test_bad_input_batched_names_the_game():
    kw = {k: (np.stack([v] * 3) if isinstance(v, np.ndarray) else v) for k, v in base().items()}
    kw["R"] = kw["R"].copy()
    kw["R"][2, 1, 1, 1] = -1.0  # game 2, player 1's own block
    A, B, Q, R = (kw.pop(k) for k in ("A", "B", "Q", "R"))
    with pytest.raises(InputError, match=r"R \(player 1's own block R\^11\)\[2, 0\] must be positive definite"):
        solve_lq_games(A, B, Q, R, **kw)
    with pytest.raises(InputError, match=r"inconsistent batch sizes: \{.*'qT': 2"):
        solve_lq_games(A, B, Q, np.stack([base()["R"]] * 3), **dict(kw, qT=np.zeros((2, 2, 3))))


def test_symmetry_tolerance_is_relative_at_the_boundary():
    kw = base()
    A, B, Q, R = (kw.pop(k) for k in ("A", "B", "Q", "R"))
    scale = 1e8
    for rel, ok in ((0.99e-10, True), (1.01e-10, False)):
        Qs = scale * Q
        Qs[1, 0, 1] += rel * 2 * scale
        if ok:
            assert_equals_twin(solve_lq_game(A, B, Qs, R, **kw), Q=Qs)
        else:
            with pytest.raises(InputError, match=r"Q\[0, 0, 1\] must be symmetric"):
                solve_lq_game(A, B, Qs, R, **kw)


def test_definiteness_is_the_cholesky_rule():
    """R^{ii} positive definite however close to singular is accepted (a Cholesky succeeds); below, not."""
    kw = base()
    A, B, Q, R = (kw.pop(k) for k in ("A", "B", "Q", "R"))
    for delta, ok in ((1e-6, True), (1e-13, True), (-1e-13, False)):
        Rb = R.copy()
        Rb[1, 1:, 1:] = [[1.0, 1.0 - delta], [1.0 - delta, 1.0]]  # eigenvalues 2 - delta, delta
        if ok:
            assert_equals_twin(solve_lq_game(A, B, Q, Rb, **kw), rtol=1e-6, R=Rb)
        else:
            with pytest.raises(InputError, match=r"R \(player 1's own block R\^11\)\[0, 0\] must be positive definite"):
                solve_lq_game(A, B, Q, Rb, **kw)


def test_singular_stage_warning_and_solve_error():
    A = np.zeros((1, 1))
    B = np.ones((1, 2))
    Q = np.ones((2, 1, 1))
    R = np.stack([np.eye(2), np.eye(2)])
    r = np.array([[0.0, 0.0], [1e308, 0.0]])
    with pytest.raises(gamesolve.SolveError, match=r"non-finite values in the coupled Riccati recursion at stage t=0"):
        solve_lq_game(A, B, Q, R, horizon=1, r=r, c=np.array([10.0]), dims=(1, 1))
    with pytest.raises(gamesolve.SolveError, match=r"at game 1, stage t=0"):
        solve_lq_games(np.stack([A, A]), B[None], Q[None], R[None], horizon=1, dims=(1, 1),
                       r=np.stack([np.zeros((2, 2)), r]), c=np.array([[10.0]]))
    # identical input columns and costs: singular stage systems, warned from the caller's line
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        sol = solve_lq_game(np.eye(2), np.ones((2, 2)), np.stack([np.eye(2)] * 2), np.ones((2, 2, 2)), horizon=3,
                            dims=(1, 1))
    assert len(w) == 1 and issubclass(w[0].category, gamesolve.SingularStageWarning) and w[0].filename == __file__
    assert sol.singular_stages.all()


def test_results_are_fresh_arrays_and_inputs_untouched(rng):
    kw = base()
    before = {k: np.array(v, copy=True) for k, v in kw.items() if isinstance(v, np.ndarray)}
    A, B, Q, R = (kw.pop(k) for k in ("A", "B", "Q", "R"))
    s1, s2 = solve_lq_game(A, B, Q, R, **kw), solve_lq_game(A, B, Q, R, **kw)
    for name in ("K", "k", "Z", "zeta", "s", "stage_status"):
        a, b = getattr(s1, name), getattr(s2, name)
        assert a.flags.c_contiguous and a.flags.owndata and a.flags.writeable
        assert not np.shares_memory(a, b)
    for k, v in dict(kw, A=A, B=B, Q=Q, R=R).items():
        if k in before:
            np.testing.assert_array_equal(v, before[k])
    assert not s1.game.A.flags.writeable  # the game's arrays are read-only


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
