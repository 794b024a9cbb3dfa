"""Regressions of the hardening audit: extreme scales, settings, exception types, aligned data.

Each test failed before its fix (the audit's findings); the fuzz families of
``tests/fuzz/`` check the same rules over random inputs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import gamesolve as gs
from gamesolve import InputError, SolveError
from gamesolve.examples import lq_example

#: The directory holding the gamesolve under test (installed or a source tree on PYTHONPATH), for subprocesses.
PKG_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(gs.__file__)))


@pytest.fixture(scope="module")
def ex():
    g = lq_example()
    return g, gs.lq_nash(g.A, g.B, g.Q, g.R).K


# --------------------------------------------------------------------------- #
# Extreme scales: rejected (InputError) instead of silently wrong answers
# --------------------------------------------------------------------------- #


def test_lq_cost_rejects_a_covariance_whose_costs_overflow(ex):
    """Regression: Sigma0 ~ 1e160 returned [inf, inf]."""
    g, K = ex
    with pytest.raises(InputError, match=r"Sigma0 has entries of magnitude 1e\+160.*rescale"):
        gs.lq_cost(g.A, g.B, g.Q, g.R, K, 1e160 * np.eye(2))
    with pytest.raises(InputError, match=r"Sigma0 = x0 x0' has entries of magnitude 1e\+160"):
        gs.lq_cost(g.A, g.B, g.Q, g.R, K, 1e80 * np.ones(2))  # the outer product leaves the range


@pytest.mark.parametrize("fn", ["lq_cost", "pseudo_gradient", "pseudo_gradient_jacobian"])
@pytest.mark.parametrize("scale", [2.6e154, 1e-310])
def test_policy_gradient_functions_reject_meaningless_scales(ex, fn, scale):
    """Regression: Q ~ 2.6e154 (squares overflow) or subnormal Q, R gave silently wrong values."""
    g, K = ex
    with pytest.raises(InputError, match=r"Q has entries of magnitude .* outside the supported range"):
        getattr(gs, fn)(g.A, g.B, [scale * q for q in g.Q], [scale * r for r in g.R], K, g.Sigma0)


def test_scale_invariance_inside_the_range(ex):
    """Costs are homogeneous of degree 1 in (Q, R): data scaled by 1e100 give the scaled costs."""
    g, K = ex
    J = gs.lq_cost(g.A, g.B, g.Q, g.R, K, g.Sigma0)
    Js = gs.lq_cost(g.A, g.B, [1e100 * q for q in g.Q], [1e100 * r for r in g.R], K, g.Sigma0)
    np.testing.assert_allclose(Js, 1e100 * J, rtol=1e-12)


def test_entropy_rejects_costs_whose_covariance_underflows():
    """Regression: Q ~ 1e300 returned Sigma = 0 (the policy covariance underflowed)."""
    A, B = 0.9 * np.eye(2), [np.ones((2, 1))]
    with pytest.raises(InputError, match=r"Q has entries of magnitude 1e\+300"):
        gs.entropy_lq_nash(A, B, 1e300 * np.eye(2)[None], [np.eye(1)], tau=1.0, horizon=3)
    game = gs.entropy_lq_game(A, B, 1e-200 * np.eye(2)[None], [np.eye(1)], tau=1.0, horizon=3)
    with pytest.raises(InputError, match=r"Q has entries of magnitude 1e-200"):
        gs.entropy_po(game, sweeps=2)


def test_entropy_scale_rule_names_each_argument_on_the_raw_path():
    """The raw entropy_lq_nash path reads max|x| from the C++ reader: every argument is still named."""
    A, B, Q, R = 0.9 * np.eye(2), [np.ones((2, 1))], np.eye(2)[None], [np.eye(1)]
    for name, args in (("A", (1e300 * A, B, Q, R)), ("B", (A, [1e-300 * B[0]], Q, R)), ("R", (A, B, Q, [1e300 * R[0]]))):
        with pytest.raises(InputError, match=rf"^{name} has entries of magnitude"):
            gs.entropy_lq_nash(*args, tau=1.0, horizon=3)
    with pytest.raises(InputError, match=r"^noise_cov has entries of magnitude 1e\+300"):
        gs.entropy_lq_nash(A, B, Q, R, tau=1.0, horizon=3, noise_cov=1e300 * np.eye(2))


def test_max_abs_matches_numpy():
    """_core.max_abs (the scale rule's one pass): max|x| for any layout, 0 when empty, NaN propagates."""
    from gamesolve import _core

    x = np.random.default_rng(0).standard_normal((37, 5))
    assert _core.max_abs(x) == np.max(np.abs(x))
    assert _core.max_abs(x[::3, 1:]) == np.max(np.abs(x[::3, 1:]))  # a strided view
    assert _core.max_abs(np.empty((0, 3))) == 0.0
    x[36, 4] = np.nan
    assert np.isnan(_core.max_abs(x))


def test_ilqgames_rejects_initial_states_whose_costs_overflow():
    """Regression: x0 ~ 1e154 'converged' with infinite costs."""
    g = gs.examples.platooning()
    with pytest.raises(InputError, match=r"x0 has entries of magnitude 1e\+154"):
        gs.ilqgames(g, np.full(g.n, 1e154), horizon=5)


# --------------------------------------------------------------------------- #
# Settings validated when given
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("n", [2**31, -3, 1.5, "2", None])
def test_set_num_threads_validates(n):
    """Regression: set_num_threads(2**31) was accepted and every later solve raised pybind's TypeError."""
    before = gs.get_num_threads()
    with pytest.raises(InputError, match="num_threads must be an integer"):
        gs.set_num_threads(n)
    assert gs.get_num_threads() == before
    gs.solve_lq_games(np.eye(1)[None], [np.ones((1, 1, 1))], np.eye(1)[None, None], [np.eye(1)[None]], horizon=2)


@pytest.mark.parametrize("value", ["abc", "-3", "2147483648"])
def test_num_threads_environment_variable_validated(value):
    """Regression: GAMESOLVE_NUM_THREADS=abc broke the import with a bare ValueError, =-3 gave -3 threads."""
    env = dict(os.environ, GAMESOLVE_NUM_THREADS=value, PYTHONPATH=PKG_PARENT)
    out = subprocess.run([sys.executable, "-c", "import gamesolve"], env=env, capture_output=True, text=True)
    assert out.returncode != 0
    assert "InputError: the environment variable GAMESOLVE_NUM_THREADS must be an integer in [0, 4096]" in out.stderr


def test_num_threads_environment_variable_read():
    env = dict(os.environ, GAMESOLVE_NUM_THREADS=" 3 ", PYTHONPATH=PKG_PARENT)
    out = subprocess.run([sys.executable, "-c", "import gamesolve; print(gamesolve.get_num_threads())"], env=env,
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "3"


# --------------------------------------------------------------------------- #
# Documented exception types only
# --------------------------------------------------------------------------- #

A2, B2, Q2, R2 = np.eye(2), [np.ones((2, 1)), np.eye(2)[:, :1]], np.stack([np.eye(2)] * 2), [np.eye(1)] * 2


@pytest.mark.parametrize("horizon", [float("inf"), 2**31, 2**40, 2**62, 2**80, "3", 2.5])
@pytest.mark.parametrize("fn", ["solve_lq_game", "entropy_lq_nash", "evaluate_lq_strategy"])
def test_horizons_out_of_range_are_input_errors(fn, horizon):
    """Regression: horizon=inf raised OverflowError, 2**62 overflowed pybind11's int, 2**40 a MemoryError."""
    kw = dict(tau=1.0) if fn == "entropy_lq_nash" else {}
    args = (A2, B2, Q2, R2) if fn != "evaluate_lq_strategy" else (A2, B2, Q2, R2, np.zeros((3, 2, 2)))
    with pytest.raises(InputError, match=r"^horizon must be a positive integer, got"):
        getattr(gs, fn)(*args, horizon=horizon, **kw)


def test_horizon_whose_solution_exceeds_memory_is_an_input_error():
    """Regression: horizons of 1e9 raised MemoryError from the allocation of the outputs."""
    with pytest.raises(InputError, match=r"horizon 1000000000 is too long for these sizes: .* GiB"):
        gs.solve_lq_games(A2[None], [b[None] for b in B2], Q2[None], [r[None] for r in R2], horizon=10**9)
    with pytest.raises(InputError, match=r"horizon must be a positive integer, got 4611686018427387904"):
        gs.lq_game(A2, B2, Q2, R2).with_horizon(2**62)


@pytest.mark.parametrize("kw, match", [
    (dict(eta=None, steps=1), "eta must be a real number, got None"),
    (dict(eta="0.1", steps=1), "eta must be a real number, got '0.1'"),
    (dict(eta=0.1, steps=None), "steps must be an integer, got None"),
    (dict(eta=0.1, steps=2**62), r"steps must be an integer in \[0, 2147483647\]"),
    (dict(eta=0.1, steps=1, gtol="x"), "gtol must be a real number"),
])
def test_policy_gradient_options_are_input_errors(ex, kw, match):
    """Regression: None / strings for eta, steps raised TypeError from deep inside."""
    g, K = ex
    with pytest.raises(InputError, match=match):
        gs.simulate_policy_gradient(g.A, g.B, g.Q, g.R, K, g.Sigma0, **kw)


@pytest.mark.parametrize("kw, match", [
    (dict(tol=None), "tol must be a real number, got None"),
    (dict(max_iter="5"), "max_iter must be an integer, got '5'"),
    (dict(max_iter=2**31), r"max_iter must be an integer in \[1, 2147483647\]"),
    (dict(horizon=float("inf")), "horizon must be an integer, got inf"),
    (dict(horizon=None), "horizon must be an integer, got None"),
    (dict(ls_factor=float("nan")), "ls_factor must be a finite real number"),
])
def test_ilqgames_options_are_input_errors(kw, match):
    g = gs.examples.platooning()
    with pytest.raises(InputError, match=match):
        gs.ilqgames(g, g.x0, **{"horizon": 5, **kw})


@pytest.mark.parametrize("kw, match", [(dict(sweeps=None), "sweeps must be an integer, got None"),
                                       (dict(sweeps=2, tol=None), "tol must be a real number, got None"),
                                       (dict(sweeps=2, delta="0"), "delta must be a real number")])
def test_entropy_po_options_are_input_errors(kw, match):
    with pytest.raises(InputError, match=match):
        gs.entropy_po(A2, B2, Q2, R2, tau=1.0, horizon=3, **kw)


# --------------------------------------------------------------------------- #
# C++ gets aligned data
# --------------------------------------------------------------------------- #


def unaligned(a):
    """A float64 copy of ``a`` at an odd byte offset (not aligned: ``flags.aligned`` is False)."""
    raw = np.empty(a.size * 8 + 1, np.uint8)
    u = np.frombuffer(raw.data, dtype=np.float64, offset=1, count=a.size).reshape(a.shape)
    u[...] = a
    assert not u.flags.aligned
    return u


def test_unaligned_inputs_give_the_aligned_results(ex):
    """Regression: unaligned float64 arrays reached C++ (UBSan: misaligned loads in the Riccati kernel; the
    sanitizer job runs this test)."""
    ref = gs.solve_lq_game(A2, B2, Q2, R2, horizon=4)
    sol = gs.solve_lq_game(unaligned(A2), [unaligned(b) for b in B2], unaligned(Q2), [unaligned(r) for r in R2],
                           horizon=4)
    np.testing.assert_array_equal(sol.K, ref.K)
    g, K = ex
    J = gs.lq_cost(unaligned(g.A), [unaligned(b) for b in g.B], unaligned(np.asarray(g.Q)), g.R, unaligned(K),
                   unaligned(np.asarray(g.Sigma0)))
    np.testing.assert_array_equal(J, gs.lq_cost(g.A, g.B, g.Q, g.R, K, g.Sigma0))
    e = gs.entropy_lq_nash(unaligned(A2), [unaligned(b) for b in B2], unaligned(Q2), R2, tau=1.0, horizon=3)
    np.testing.assert_array_equal(e.K, gs.entropy_lq_nash(A2, B2, Q2, R2, tau=1.0, horizon=3).K)


# --------------------------------------------------------------------------- #
# Copies of games share nothing mutable (the cost tables: tests/test_games.py)
# --------------------------------------------------------------------------- #


def test_replaced_games_share_no_mutable_field():
    """Regression: ``dataclasses.replace`` copies shared the ``info`` dict (as they shared the id-keyed cost
    cache before): writing one game's metadata changed the other's."""
    import dataclasses

    control_effort, tracking = gs.costs.control_effort, gs.costs.tracking

    f = gs.dynamics.DoubleIntegrator(count=1)
    base = gs.Game(f, [control_effort([0, 1])], dims=(2,), state_dims=(4,), info={"goal": [1.0, 0.0]})
    copy = dataclasses.replace(base, costs=[tracking([0, 1], [0.0, 3.0]) + control_effort([0, 1])])
    assert copy.info == base.info and copy.info is not base.info
    copy.info["goal"] = [0.0, 3.0]
    assert base.info["goal"] == [1.0, 0.0]
    assert copy._tables is not base._tables
    with pytest.raises(InputError, match="info must be a dict"):
        gs.Game(f, [control_effort([0, 1])], dims=(2,), state_dims=(4,), info=[1])


# --------------------------------------------------------------------------- #
# Non-convex best responses: one policy (status not_convex + NotConvexWarning)
# --------------------------------------------------------------------------- #


def own_hessians_definite(sol):
    """Per stage, whether every R^ii + B^i'Z^i_{t+1}B^i is positive definite (numpy, from the game's data)."""
    g = sol.game
    B, R = g.full("B"), g.full("R")
    ok = np.ones(g.T, bool)
    for t in range(g.T):
        for i, sl in enumerate(g.slices):
            Bi = B[t][:, sl]
            H = R[t, i][sl, sl] + Bi.T @ sol.Z[t + 1, i] @ Bi
            ok[t] &= np.linalg.eigvalsh(0.5 * (H + H.T))[0] > 0
    return ok


def test_indefinite_games_are_flagged_exactly_when_a_best_response_is_unbounded():
    """Regression: with an indefinite Q, solve_lq_game returned a profile whose Nash gap is inf without a warning
    (458/500 of the audit's games). Flagged (status not_convex, NotConvexWarning, .not_convex_stages) exactly at
    the stages numpy finds a non-definite own Hessian; the gap is inf exactly when flagged."""
    rng = np.random.default_rng(11)
    flagged = 0
    for _ in range(60):
        n, dims, T = 2, (1, 2), 4
        A = rng.standard_normal((n, n))
        B = rng.standard_normal((n, 3))
        Q = rng.standard_normal((2, n, n))
        Q = Q + np.swapaxes(Q, 1, 2)  # indefinite
        R = np.stack([np.eye(3)] * 2)
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            sol = gs.solve_lq_game(A, B, Q, R, horizon=T, dims=dims)
        warned = any(issubclass(w.category, gs.NotConvexWarning) for w in rec)
        bad = ~own_hessians_definite(sol)
        np.testing.assert_array_equal(sol.not_convex_stages, bad)
        assert warned == bad.any() and (sol.status == "not_convex") == bad.any()
        gap = sol.nash_gap(rng.standard_normal(n))
        if bad.any():
            flagged += 1
            assert gap == np.inf
        else:
            assert gap < 1e-8
    assert 10 < flagged < 60


def test_convex_games_are_not_flagged(ex):
    g, _ = ex
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sol = gs.solve_lq_game(g.A, g.B, g.Q, g.R, horizon=20)
    assert sol.status == "solved" and not sol.not_convex_stages.any()


# --------------------------------------------------------------------------- #
# Singular stages: the minimum-norm rule only where the system is singular to working precision
# --------------------------------------------------------------------------- #


def identical_players_game(w, rng):
    """Two players with the same input column and own weights w on their own control: rcond(S) ~ w."""
    n = 3
    A = 0.5 * rng.standard_normal((n, n))
    b = rng.standard_normal((n, 1))
    return dict(A=A, B=np.hstack([b, b]), Q=np.stack([np.eye(n), 2 * np.eye(n)]),
                R=np.stack([np.diag([w, 0.0]), np.diag([0.0, w])]), horizon=5, dims=(1, 1))


def test_ill_conditioned_but_accurate_stages_keep_the_exact_solve(monkeypatch):
    """Regression: every stage with rcond(S) < 1e-12 was replaced by the minimum-norm solution of a truncated
    system, although the unique equilibrium was computed accurately. Now the elimination's solution is kept
    when its residual is small (status 0): it equals numpy's exact stage solves (the twin without its rcond
    rule) in the well-conditioned joint control, and its Nash gap is round-off."""
    sys.path.insert(0, os.path.dirname(__file__))
    import lq_twin

    game = identical_players_game(1e-13, np.random.default_rng(0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no SingularStageWarning
        sol = gs.solve_lq_game(**game)
    assert sol.min_rcond < 1e-12 and not sol.singular_stages.any()
    monkeypatch.setattr(lq_twin, "RCOND_TOL", 0.0)
    T, N = 5, 2
    A = np.broadcast_to(game["A"], (T, 3, 3))
    B = np.broadcast_to(game["B"], (T, 3, 2))
    Q = np.broadcast_to(game["Q"], (T, N, 3, 3))
    R = np.broadcast_to(game["R"], (T, N, 2, 2))
    K = lq_twin.solve_lq_game_numpy(A, B, Q, None, R, None, None, None, game["Q"], None, (1, 1))[0]
    # K^1, K^2 individually carry the ill-conditioning (forward error ~ cond * eps); the joint control does not
    np.testing.assert_allclose(sol.K.sum(axis=1), K.sum(axis=1), rtol=1e-8, atol=1e-10)
    x0 = np.ones(3)
    assert sol.nash_gap(x0) <= 1e-9 * max(1.0, abs(sol.costs(x0)).max())


def test_singular_stage_warning_says_what_was_returned():
    """Regression: the warning claimed 'the minimum-norm equilibrium' was returned. It now names the
    minimum-norm solution of the rank-truncated system, its relative stage residual and the profile's Nash gap
    (x0 ~ N(0, I)) -- both checked here against numpy."""
    A, B = np.eye(2), np.ones((2, 2))
    Q, R = np.stack([np.eye(2), 3 * np.eye(2)]), np.ones((2, 2, 2))  # identical columns, exactly singular S
    with pytest.warns(gs.SingularStageWarning) as rec:
        sol = gs.solve_lq_game(A, B, Q, R, horizon=3, dims=(1, 1))
    msg = str(rec[0].message)
    assert "minimum-norm solution of the rank-truncated stage system" in msg
    res = float(msg.split("up to ")[1].split(";")[0])
    gap = float(msg.split("is ")[-1].split(":")[0])
    # numpy: the relative residual of the last stage's system with the returned K, and the gap
    Z1 = sol.Z[3]
    S = np.array([[B[:, 0] @ Z1[0] @ B[:, j] + R[0][0, j] for j in range(2)],
                  [B[:, 1] @ Z1[1] @ B[:, j] + R[1][1, j] for j in range(2)]])
    Y = np.stack([B[:, 0] @ Z1[0] @ A, B[:, 1] @ Z1[1] @ A])
    K = sol.K[2]
    r = np.abs(S @ K - Y).sum(0).max() / (np.abs(S).sum(0).max() * np.abs(K).sum(0).max() + np.abs(Y).sum(0).max())
    assert res >= r * (1 - 1e-2)
    want = gs.equilibrium.nash_gap(sol.game, sol.profile, x0=np.zeros(2), x0_cov=np.eye(2))
    assert gap == pytest.approx(float(want), rel=1e-2, abs=1e-12)


@pytest.mark.parametrize("fn", ["solve_lq_game", "lq_game", "entropy_lq_nash"])
def test_an_empty_control_block_is_an_input_error(fn):
    """Found by the long fuzz profile: a B block with no column (m_i = 0) crashed the interpreter (SIGFPE: the
    blocks' row count was divided by that width before the widths were checked)."""
    kw = dict(tau=1.0) if fn == "entropy_lq_nash" else {}
    with pytest.raises(InputError, match=r"B\[0\] must have at least one column \(m_i >= 1\), got shape \(2, 0\)"):
        getattr(gs, fn)(0.5 * np.eye(2), [np.ones((2, 0)), np.ones((2, 1))], Q2, R2, horizon=3, **kw)


def test_a_failed_schur_factorization_is_a_solve_error(ex, monkeypatch):
    """Regression (audit: a subnormal closed loop raised the core's RuntimeError 'Schur factorization failed'):
    the policy-gradient functions turn the Stein solver's failure into a SolveError."""
    import gamesolve.lq.policy_gradient as pg

    g, K = ex

    def failing(*args):
        raise RuntimeError("Schur factorization failed")

    monkeypatch.setattr(pg._core, "stein_solve", failing)
    with pytest.raises(SolveError, match=r"A - B K could not be factorized \(Schur factorization failed\)"):
        gs.pseudo_gradient(g.A, g.B, g.Q, g.R, 0.9 * K, g.Sigma0)
