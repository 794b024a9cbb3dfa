"""Bad input to the LQ game API: one InputError per failure mode, message matched.

Base game: N = 2 players, n = 3 states, dims = (1, 2), horizon T = 4, every
term given time-invariant; each test breaks exactly one thing.
"""

from __future__ import annotations

import numpy as np
import pytest

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


def test_base_game_is_valid():
    sol = call()
    assert sol.K.shape == (T, m, n)


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


def test_symmetry_tolerance_is_relative():
    Q = 1e8 * base()["Q"]
    Q[0, 0, 1] += 1e-4  # relative asymmetry 1e-12: accepted
    call(Q=Q)


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
    call(R=R)


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


def test_errors_raised_before_any_solve(monkeypatch):
    """Validation happens at the boundary: the compiled core is never reached with bad input."""
    def boom(*args, **kwargs):
        raise AssertionError("core called")
    monkeypatch.setattr(gamesolve.lq.finite._core, "solve_lq_games", boom)
    with pytest.raises(InputError):
        call(Q=np.ones((N, n, n + 1)))
