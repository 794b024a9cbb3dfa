"""Complex input is rejected, never cut to its real part.

A float64 conversion of a complex array silently drops the imaginary part (numpy
only warns), so a complex game would be solved as a different, real game and come
back "converged". Every public entry point must raise InputError naming the
argument instead. Each case below takes a valid call and makes exactly one
argument complex -- as an ndarray (which must not reach the C++ fast path), as a
list of blocks, and as a nested Python list.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gamesolve as gs
from gamesolve import InputError
from gamesolve.examples import lq_example
from conftest import assert_solution_equals, twin_of_time_invariant

N, n, m, T = 2, 3, 3, 4
DIMS = (1, 2)


def _lq_kwargs():
    rng = np.random.default_rng(3)
    return dict(A=0.5 * rng.standard_normal((n, n)), B=rng.standard_normal((n, m)),
                Q=np.stack([np.eye(n), 2 * np.eye(n)]), R=np.stack([np.eye(m), 3 * np.eye(m)]),
                q=np.ones((N, n)), r=np.ones((N, m)), M=np.zeros((N, m, n)), c=np.ones(n),
                QT=np.stack([np.eye(n)] * N), qT=np.zeros((N, n)))


def _complexify(a):
    """``a`` with a non-zero imaginary part (same shape, complex128)."""
    return np.asarray(a, dtype=float) + 1e-3j


def _raises_naming(name, fn, *args, **kwargs):
    """fn(...) raises InputError whose message starts with ``name`` and says it must be real; no
    ComplexWarning on the way (the conversion must not have been attempted)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", np.exceptions.ComplexWarning)
        with pytest.raises(InputError, match=rf"^{name}\b.* must be real, got complex"):
            fn(*args, **kwargs)


def _lq_call(fn, name, value, *, batch=False):
    kw = _lq_kwargs()
    kw[name] = value(kw[name])
    if batch:
        kw = {k: np.stack([v, v]) for k, v in kw.items()}
    A, B, Q, R = (kw.pop(k) for k in ("A", "B", "Q", "R"))
    return fn(A, B, Q, R, horizon=T, dims=DIMS, **kw)


LQ_ARGS = ["A", "B", "Q", "R", "q", "r", "M", "c", "QT", "qT"]


def test_valid_base_calls_succeed():
    """The unmodified calls below are valid (so each failure is the complex argument's) and solve
    the game they denote (the numpy twin on the arrays repeated over the T stages)."""
    one = _lq_call(gs.solve_lq_game, "A", lambda a: a)
    two = _lq_call(gs.solve_lq_games, "A", lambda a: a, batch=True)
    assert one.K.shape == (T, m, n) and two.K.shape == (2, T, m, n)
    assert_solution_equals(one, twin_of_time_invariant(_lq_kwargs(), T, DIMS))
    for name in ("K", "k", "Z", "zeta", "s"):
        np.testing.assert_array_equal(getattr(two, name), np.stack([getattr(one, name)] * 2), err_msg=name)


@pytest.mark.parametrize("name", LQ_ARGS)
def test_solve_lq_game_rejects_complex(name):
    _raises_naming(name, _lq_call, gs.solve_lq_game, name, _complexify)


@pytest.mark.parametrize("name", LQ_ARGS)
def test_solve_lq_games_rejects_complex(name):
    _raises_naming(name, _lq_call, gs.solve_lq_games, name, _complexify, batch=True)


@pytest.mark.parametrize("name", ["A", "Q"])
def test_solve_lq_game_rejects_complex_nested_lists(name):
    _raises_naming(name, _lq_call, gs.solve_lq_game, name, lambda a: _complexify(a).tolist())


def test_solve_lq_game_rejects_a_complex_block_in_a_list():
    g = lq_example()
    B = [g.B[0], g.B[1].astype(complex)]  # zero imaginary part: still rejected, the dtype is complex
    _raises_naming("B", gs.solve_lq_game, g.A, B, g.Q, g.R, horizon=5)
    R = [g.R[0], _complexify(g.R[1])]
    _raises_naming("R", gs.solve_lq_game, g.A, g.B, g.Q, R, horizon=5)


def test_evaluate_lq_strategy_rejects_complex_gain():
    g = lq_example()
    K = np.zeros((5, 2, 2), dtype=complex)
    _raises_naming("K", gs.evaluate_lq_strategy, g.A, g.B, g.Q, g.R, K, horizon=5)


def _lq_example_args():
    g = lq_example()
    return dict(A=g.A, B=np.hstack(g.B), Q=np.stack(g.Q), R=[np.atleast_2d(r) for r in g.R])


@pytest.mark.parametrize("name", ["A", "B", "Q"])
def test_lq_nash_rejects_complex(name):
    kw = _lq_example_args()
    kw[name] = _complexify(kw[name])
    _raises_naming(name, gs.lq_nash, kw["A"], kw["B"], kw["Q"], kw["R"], dims=(1, 1))


def test_lq_nash_rejects_complex_R_and_K0():
    kw = _lq_example_args()
    R = [kw["R"][0], _complexify(kw["R"][1])]
    _raises_naming("R", gs.lq_nash, kw["A"], kw["B"], kw["Q"], R, dims=(1, 1))
    K0 = np.zeros((2, 2), dtype=complex)
    _raises_naming("K0", gs.lq_nash, kw["A"], kw["B"], kw["Q"], kw["R"], dims=(1, 1), K0=K0)


def test_scipy_complex_dare_case_is_rejected():
    """A complex DARE (scipy's solve_discrete_are handles these) is not an LQ game over the reals."""
    A = np.array([[0.5 + 0.1j, 0.2], [0.0, 0.4j]])
    B = np.array([[1.0], [1.0j]])
    _raises_naming("A", gs.lq_nash, A, [B], [np.eye(2)], [np.eye(1)])


def test_guided_lq_nash_rejects_complex_guide():
    g = lq_example()
    sol = gs.lq_nash(g.A, g.B, g.Q, g.R)
    _raises_naming("K_guide", gs.guided_lq_nash, g.A, g.B, g.Q, g.R, _complexify(sol.K), 0.3)
    _raises_naming("A", gs.guided_lq_nash, _complexify(g.A), g.B, g.Q, g.R, sol.K, 0.3)


@pytest.mark.parametrize("fn", [gs.lq_cost, gs.pseudo_gradient, gs.pseudo_gradient_jacobian])
@pytest.mark.parametrize("name", ["A", "K", "Sigma0"])
def test_policy_gradient_tools_reject_complex(fn, name):
    g = lq_example()
    kw = dict(A=g.A, K=gs.lq_nash(g.A, g.B, g.Q, g.R).K, Sigma0=g.Sigma0)
    kw[name] = _complexify(kw[name])
    _raises_naming(name, fn, kw["A"], g.B, g.Q, g.R, kw["K"], kw["Sigma0"])


def test_lq_nash_solution_costs_rejects_complex_covariance():
    g = lq_example()
    sol = gs.lq_nash(g.A, g.B, g.Q, g.R)
    _raises_naming("x0_cov", lambda S: sol.costs(x0_cov=S), _complexify(g.Sigma0))


@pytest.mark.parametrize("name", ["A", "B", "Q", "R", "noise_cov", "QT"])
def test_entropy_lq_nash_rejects_complex(name):
    rng = np.random.default_rng(5)
    kw = dict(A=0.5 * rng.standard_normal((2, 2)), B=[rng.standard_normal((2, 1))] * 2,
              Q=np.stack([np.eye(2)] * 2), R=[np.eye(1)] * 2, noise_cov=0.1 * np.eye(2),
              QT=np.stack([np.eye(2)] * 2))
    assert gs.entropy_lq_nash(**kw, tau=1.0, horizon=3).K.shape == (3, 2, 2)
    kw[name] = [_complexify(b) for b in kw[name]] if name in ("B", "R") else _complexify(kw[name])
    _raises_naming(name, gs.entropy_lq_nash, **kw, tau=1.0, horizon=3)
    _raises_naming(name, gs.entropy_po, **kw, tau=1.0, horizon=3, sweeps=2)


def test_ilqgames_rejects_complex_x0():
    g = gs.examples.platooning()
    _raises_naming("x0", gs.ilqgames, g, _complexify(g.x0), horizon=5)
    _raises_naming("x0", gs.ilqgames, g, _complexify(np.stack([g.x0, g.x0])), horizon=5)
    us0 = np.zeros((5, g.m), dtype=complex)
    _raises_naming("us0", gs.ilqgames, g, g.x0, horizon=5, us0=us0)


def test_real_inputs_of_other_dtypes_still_convert():
    """Integer and float32 inputs are real: they convert (only complex ones are rejected)."""
    g = lq_example()
    A = g.A.astype(np.float32)
    Q = [np.eye(2, dtype=int), (2 * np.eye(2)).astype(np.int64)]
    want = gs.solve_lq_game(A.astype(float), g.B, [np.eye(2), 2 * np.eye(2)], g.R, horizon=3).K
    np.testing.assert_array_equal(gs.solve_lq_game(A, g.B, Q, g.R, horizon=3).K, want)
