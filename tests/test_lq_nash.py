"""Tests of gamesolve.lq_nash / guided_lq_nash against independent oracles, and of the
infinite-horizon family of the equilibrium protocol (best response, Nash gap)."""

import numpy as np
import pytest
import scipy.linalg as sla

import gamesolve
from gamesolve import ConvergenceError, InputError, Status, equilibrium, guided_lq_nash, lq_game, lq_nash
from gamesolve.lq import infinite
from gamesolve.examples import lq_example

import lq_nash_reference as ref

METHODS = ["auto", "lyapunov", "riccati", "newton"]


# ---------------------------------------------------------------- one player
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_one_player_equals_scipy_dare(method, seed):
    rng = np.random.default_rng(seed)
    n, m = 5, 2
    A = rng.standard_normal((n, n)) * 0.6
    B = rng.standard_normal((n, m))
    L = rng.standard_normal((n, n))
    Q = L @ L.T + 0.1 * np.eye(n)
    R = np.diag([1.0, 2.0])
    P = sla.solve_discrete_are(A, B, Q, R)
    K = np.linalg.solve(R + B.T @ P @ B, B.T @ P @ A)
    sol = lq_nash(A, [B], [Q], [R], method=method)
    assert sol.converged and sol.status == "converged"
    np.testing.assert_allclose(sol.K, K, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(sol.P[0], P, rtol=1e-9, atol=1e-10)
    assert sol.spectral_radius < 1


# ------------------------------------------------------------ appendix A game
def test_appendix_a_default_start_to_roundoff():
    g = lq_example()
    sol = lq_nash(g.A, g.B, g.Q, g.R)
    assert sol.converged and sol.residual <= 1e-12
    assert sol.residual_K <= 1e-12 and sol.residual_P <= 1e-12
    # the same equilibrium as the numpy Li-Gajic iteration (MA-GPS uses it) from K0 = 0
    Rj = ref.joint_R(g.R, g.dims)
    B = np.hstack(g.B)
    K, P, _ = ref.lyapunov_iteration(g.A, B, g.Q, Rj, g.dims, np.zeros((2, 2)), tol=1e-14)
    np.testing.assert_allclose(sol.K, K, atol=1e-11)
    np.testing.assert_allclose(sol.P, P, rtol=1e-10)
    assert [g_.shape for g_ in sol.gains] == [(1, 2), (1, 2)]
    np.testing.assert_allclose(sol.costs(x0_cov=g.Sigma0), np.einsum("kij,ji->k", P, g.Sigma0), rtol=1e-10)


@pytest.mark.parametrize("method", ["lyapunov", "newton"])
def test_appendix_a_explicit_methods_agree(method):
    g = lq_example()
    ref_sol = lq_nash(g.A, g.B, g.Q, g.R)
    sol = lq_nash(g.A, g.B, g.Q, g.R, method=method)
    assert sol.converged and sol.method == method
    np.testing.assert_allclose(sol.K, ref_sol.K, atol=1e-9)


def test_appendix_a_finite_horizon_recursion_does_not_settle():
    """From P = Q the Riccati (finite-horizon) recursion oscillates: reported, not answered."""
    g = lq_example()
    sol = lq_nash(g.A, g.B, g.Q, g.R, method="riccati", max_iter=400)
    assert not sol.converged
    assert sol.status in ("stalled", "max_iterations")
    assert sol.residual > 1e-3
    # the long-horizon finite solve also keeps oscillating: K_0 differs between T and T+1
    s1 = gamesolve.solve_lq_game(g.A, g.B, g.Q, g.R, horizon=400)
    s2 = gamesolve.solve_lq_game(g.A, g.B, g.Q, g.R, horizon=401)
    assert np.abs(s1.K[0] - s2.K[0]).max() > 1e-2


def test_slow_iteration_reported_as_unconverged():
    g = lq_example()
    sol = lq_nash(g.A, g.B, g.Q, g.R, method="lyapunov", max_iter=20)
    assert not sol.converged and sol.status == "max_iterations" and sol.iterations == 20
    assert sol.residual > 1e-10


def test_auto_failure_raises():
    g = lq_example()
    with pytest.raises(ConvergenceError, match="no stabilizing Nash equilibrium"):
        lq_nash(g.A, g.B, g.Q, g.R, max_iter=2, polish=False)


def test_user_start_is_honoured():
    g = lq_example()
    sol = lq_nash(g.A, g.B, g.Q, g.R, method="lyapunov", K0=np.array([[0.5, 0.0], [0.0, 0.0]]))
    assert sol.converged
    np.testing.assert_allclose(sol.K, lq_nash(g.A, g.B, g.Q, g.R).K, atol=1e-9)


# ------------------------------------------------------------- random games
def _certify(A, B, Q, R, dims, sol):
    Rj = ref.joint_R(R, dims)
    assert sol.converged and sol.residual <= 1e-10
    assert sol.spectral_radius < 1
    np.testing.assert_allclose(sol.P, ref.policy_value(A, B, Q, Rj, sol.K), rtol=1e-8, atol=1e-10)
    for i in range(len(dims)):
        Ki, Pi = ref.best_response(A, B, Q, Rj, dims, sol.K, i)
        np.testing.assert_allclose(sol.gains[i], Ki, atol=1e-8)
        # the unilateral best response gains nothing
        assert np.trace(sol.P[i]) <= np.trace(Pi) * (1 + 1e-9)


@pytest.mark.parametrize("N,n,mi,seed", [(2, 4, 1, 0), (3, 6, 2, 1), (4, 8, 1, 2), (5, 6, 1, 3), (6, 12, 2, 4)])
def test_random_games_certified(N, n, mi, seed):
    A, B, Q, R, dims = ref.random_game(N, n, mi, seed)
    sol = lq_nash(A, B, Q, R, dims=dims)
    _certify(A, B, Q, R, dims, sol)


@pytest.mark.parametrize("method", ["lyapunov", "riccati", "newton"])
def test_random_game_every_method(method):
    A, B, Q, R, dims = ref.random_game(3, 6, 2, 11)
    sol = lq_nash(A, B, Q, R, dims=dims, method=method)
    _certify(A, B, Q, R, dims, sol)
    np.testing.assert_allclose(sol.K, lq_nash(A, B, Q, R, dims=dims).K, atol=1e-8)


def test_long_horizon_finite_solve_agrees():
    A, B, Q, R, dims = ref.random_game(3, 6, 2, 5)
    sol = lq_nash(A, B, Q, R, dims=dims)
    fin = gamesolve.solve_lq_game(A, B, Q, R, dims=dims, horizon=300)
    np.testing.assert_allclose(fin.K[0], sol.K, atol=1e-9)
    np.testing.assert_allclose(fin.Z[0], sol.P, rtol=1e-8)


def test_joint_weights_and_stacked_input_agree():
    A, B, Q, R, dims = ref.random_game(2, 4, 2, 8)
    a = lq_nash(A, B, Q, R, dims=dims)
    b = lq_nash(A, [B[:, :2], B[:, 2:]], list(Q), list(ref.joint_R(R, dims)))
    np.testing.assert_allclose(a.K, b.K, atol=1e-12)


def test_cpp_newton_jacobian_matches_finite_differences():
    A, B, Q, R, dims = ref.random_game(2, 3, 1, 3, radius=0.8)
    Rj = ref.joint_R(R, dims)
    K = np.random.default_rng(0).standard_normal((2, 3)) * 0.1
    J, F = gamesolve._core.lq_nash_jacobian(A, B, Q, Rj, None, list(dims), K)
    h = 1e-6
    Jfd = np.zeros_like(J)
    for c in range(6):
        E = np.zeros(6)
        E[c] = h
        Fp = gamesolve._core.lq_nash_jacobian(A, B, Q, Rj, None, list(dims), K + E.reshape(2, 3))[1]
        Fm = gamesolve._core.lq_nash_jacobian(A, B, Q, Rj, None, list(dims), K - E.reshape(2, 3))[1]
        Jfd[:, c] = ((Fp - Fm) / (2 * h)).ravel()
    np.testing.assert_allclose(J, Jfd, atol=h ** (2 / 3) * max(1, np.abs(J).max()))


# ------------------------------------------------------------------ guided
@pytest.mark.parametrize("rho", [0.0, 0.01, 0.3, 3.0])
def test_guided_equilibrium_satisfies_lemma2(rho):
    g = lq_example()
    Ks = lq_nash(g.A, g.B, g.Q, g.R).K
    Kg = Ks + np.array([[0.1, 0.05], [-0.1, 0.05]])
    sol = guided_lq_nash(g.A, g.B, g.Q, g.R, Kg, rho)
    assert sol.converged and sol.residual <= 1e-12
    B = np.hstack(g.B)
    K = sol.K
    AK = g.A - B @ K
    P_hat = ref.guided_value(g.A, B, g.Q, g.R, K, Kg, rho, (1, 1))  # the guided cost's value (scipy Stein)
    for i in range(2):
        Ri, Ph = g.R[i], P_hat[i]
        np.testing.assert_allclose(sol.P[i], Ph, rtol=1e-11)
        lhs = Ri @ K[i:i + 1]
        rhs = (B[:, i:i + 1].T @ Ph @ AK + rho * Ri @ Kg[i:i + 1]) / (1 + rho)
        np.testing.assert_allclose(lhs, rhs, atol=1e-14)
    if rho == 0:
        np.testing.assert_allclose(K, Ks, atol=1e-13)


# -------------------------------------------------------------- bad input
def _game():
    g = lq_example()
    return g.A, g.B, g.Q, g.R


@pytest.mark.parametrize("mutate,match", [
    (lambda A, B, Q, R: (np.ones((2, 3)), B, Q, R), r"A must be square \(n, n\), got shape \(2, 3\)"),
    (lambda A, B, Q, R: (np.array([[np.nan, 0], [0, 0]]), B, Q, R), "A must be finite"),
    (lambda A, B, Q, R: (A, [np.ones((3, 1)), np.ones((3, 1))], Q, R), "B must have 2 rows"),
    (lambda A, B, Q, R: (A, np.hstack(B), Q, R), "dims is required"),
    (lambda A, B, Q, R: (A, B, Q[:1], R), r"Q must have shape \(\.\.\., 2, 2, 2\)"),
    (lambda A, B, Q, R: (A[None], B, Q, R), "no horizon and time-invariant data, got a game with T=1"),
    (lambda A, B, Q, R: (A, B, np.array([[[1, 1], [0, 1]], Q[1]]), R), "Q.* must be symmetric"),
    (lambda A, B, Q, R: (A, B, Q, [np.array([[-1.0]]), R[1]]), "positive definite"),
    (lambda A, B, Q, R: (A, B, Q, [R[0]]), "R must have one weight per player"),
    (lambda A, B, Q, R: (A, B, Q, [np.ones((3, 3)), R[1]]), r"R\[0\] must have shape"),
])
def test_bad_input(mutate, match):
    with pytest.raises(InputError, match=match):
        lq_nash(*mutate(*_game()))


def test_bad_options():
    A, B, Q, R = _game()
    with pytest.raises(InputError, match="method must be one of"):
        lq_nash(A, B, Q, R, method="bogus")
    with pytest.raises(InputError, match="tol must be a positive"):
        lq_nash(A, B, Q, R, tol=-1)
    with pytest.raises(InputError, match="max_iter must be"):
        lq_nash(A, B, Q, R, max_iter=0)
    with pytest.raises(InputError, match=r"K0 must have shape \(2, 2\)"):
        lq_nash(A, B, Q, R, K0=np.zeros((2, 3)))
    for depth in (-1, 101, 2**31 - 1):  # through the fast path (plain arrays) and the general one (lists)
        for args in ((A, B, Q, R), (A.tolist(), B, Q, R)):
            with pytest.raises(InputError, match="anderson_depth must be between 0 and 100"):
                lq_nash(*args, anderson_depth=depth)


def test_non_stabilizing_start():
    A, B, Q, R = _game()
    with pytest.raises(InputError, match="K0 is not stabilizing"):
        lq_nash(A, B, Q, R, K0=np.full((2, 2), 10.0))


def test_not_stabilizable():
    A = np.diag([1.5, 0.5])
    B = [np.array([[0.0], [1.0]])]
    with pytest.raises(InputError, match="not stabilizable"):
        lq_nash(A, B, [np.eye(2)], [np.eye(1)])


def test_guided_bad_input():
    A, B, Q, R = _game()
    with pytest.raises(InputError, match="rho must be"):
        guided_lq_nash(A, B, Q, R, np.zeros((2, 2)), -1.0)
    with pytest.raises(InputError, match=r"K_guide must have shape \(2, 2\)"):
        guided_lq_nash(A, B, Q, R, np.zeros((3, 2)), 0.1)


# ------------------------------------------------------- auto's fallbacks
def test_auto_falls_back_when_accelerated_iterations_stall():
    """A hard random game (A with spectral radius 1.3): the accelerated iterations stall,
    auto falls back to Newton, and the answer is certified by independent oracles."""
    A, B, Q, R, dims = ref.random_game(4, 6, 1, 24, radius=1.3)
    sol = lq_nash(A, B, Q, R, dims=dims)
    assert [s.status for s in sol.stages[:2]] == ["stalled", "stalled"]
    assert "newton" in sol.method
    _certify(A, B, Q, R, dims, sol)


def test_auto_slow_fallback_plain_lyapunov():
    """Accelerated Riccati/Lyapunov and Newton stall; the plain Lyapunov iteration
    from K0 (about 190 iterations) is what converges."""
    A, B, Q, R, dims = ref.random_game(3, 4, 1, 5, radius=1.3)
    sol = lq_nash(A, B, Q, R, dims=dims)
    assert len(sol.stages) > 3
    _certify(A, B, Q, R, dims, sol)


def test_hard_game_without_certified_answer_is_reported():
    A, B, Q, R, dims = ref.random_game(2, 3, 1, 14, radius=1.3)
    for method in ["lyapunov", "riccati", "newton"]:
        sol = lq_nash(A, B, Q, R, dims=dims, method=method)
        assert not sol.converged and sol.status != "converged" and sol.residual > 1e-6
    with pytest.raises(ConvergenceError, match="stalled"):
        lq_nash(A, B, Q, R, dims=dims)


# ------------------------------------------------------ the Riccati fast path
def test_riccati_iteration_with_cross_terms_matches_newton():
    """The Riccati iteration (one finite-horizon stage per step, here with the guided game's
    cross terms M) and Newton reach the same certified guided equilibrium."""
    A, B, Q, R, dims = ref.random_game(3, 6, 2, 11)
    K = lq_nash(A, B, Q, R, dims=dims).K
    Kg = 0.8 * K
    a = guided_lq_nash(A, B, Q, R, Kg, 0.3, dims=dims, method="newton", K0=K)
    b = guided_lq_nash(A, B, Q, R, Kg, 0.3, dims=dims, method="riccati", K0=K)
    assert a.converged and b.converged and b.method == "riccati"
    assert b.residual_K <= 1e-12 and b.residual_P <= 1e-12
    np.testing.assert_allclose(b.K, a.K, atol=1e-10)
    np.testing.assert_allclose(b.P, a.P, rtol=1e-10)


@pytest.mark.parametrize("N,n,mi", [(3, 12, 2), (6, 24, 2)])
def test_bench_games_solved_by_the_first_stage(N, n, mi):
    """The benchmark games: auto's first attempt (accelerated Riccati from P(K0)) certifies,
    with the residual of both equations at round-off and the closed loop stable."""
    A, B, Q, R, dims = ref.random_game(N, n, mi, seed=0)
    sol = lq_nash(A, B, Q, R, dims=dims)
    assert len(sol.stages) == 1 and sol.stages[0].method == "riccati" and sol.stages[0].accelerated
    assert sol.stages[0].status == "converged" and sol.iterations <= 50
    assert sol.residual_K <= 1e-12 and sol.residual_P <= 1e-12 and sol.spectral_radius < 1
    np.testing.assert_allclose(sol.closed_loop, A - B @ sol.K, atol=1e-14)


def test_nearly_symmetric_weights_are_accepted_and_solved():
    """Q and joint R symmetric only to round-off (within the validation tolerance): the
    Riccati stage map uses sym(Q) and R's rows as the K-equation does, so the answer is
    certified and equals the one for the symmetrized data."""
    A, B, Q, R, dims = ref.random_game(3, 6, 2, 1)
    Rj = ref.joint_R(R, dims)
    rng = np.random.default_rng(3)
    Qa = Q + 1e-13 * rng.standard_normal(Q.shape)
    Ra = Rj + 1e-13 * rng.standard_normal(Rj.shape)
    a = lq_nash(A, B, Qa, Ra, dims=dims, method="riccati", K0=lq_nash(A, B, Q, R, dims=dims).K)
    b = lq_nash(A, B, Q, Rj, dims=dims, method="riccati", K0=a.K)
    assert a.converged and a.residual_K <= 1e-11 and a.residual_P <= 1e-11
    np.testing.assert_allclose(a.K, b.K, atol=1e-10)


def test_bad_option_values():
    A, B, Q, R = _game()
    for kw, match in [(dict(K0=np.full((2, 2), np.nan)), "K0 must be finite"), (dict(tol=float("nan")), "tol must be"),
                      (dict(tol=float("inf")), "tol must be"), (dict(method=None), "method must be one of"),
                      (dict(method="auto\x00"), "method must be one of"), (dict(discount=0.0), r"discount must be in \(0, 1\]"),
                      (dict(discount=1.5), r"discount must be in \(0, 1\]")]:
        with pytest.raises(InputError, match=match):
            lq_nash(A, B, Q, R, **kw)


def test_symmetry_tolerance_at_the_boundary():
    """The relative symmetry test: 0.99e-10 max|Q| of asymmetry passes, 1.01e-10 fails."""
    A, B, Q, R, dims = ref.random_game(3, 4, 1, 0)
    for rel, ok in ((0.99e-10, True), (1.01e-10, False)):
        Qs = 1e8 * Q
        Qs[1, 0, 1] += rel * np.abs(Qs[1]).max()
        if ok:
            assert lq_nash(A, B, Qs, R, dims=dims).converged
        else:
            with pytest.raises(InputError, match=r"Q\[.*1\] must be symmetric"):
                lq_nash(A, B, Qs, R, dims=dims)


def test_game_object_and_forms():
    """An LQGame in place of the arrays gives the same answer; arrays and game together are refused;
    games with a horizon or linear terms are not infinite-horizon games."""
    g = lq_example()
    game = lq_game(g.A, g.B, g.Q, g.R)
    a, b = lq_nash(g.A, g.B, g.Q, g.R), lq_nash(game)
    np.testing.assert_array_equal(a.K, b.K)
    assert b.game is game and a.game.T is None
    with pytest.raises(InputError, match="pass either an LQGame or the game's arrays, not both"):
        lq_nash(game, g.B)
    Kg = a.K + 0.1
    np.testing.assert_array_equal(guided_lq_nash(game, Kg, 0.3).K, guided_lq_nash(g.A, g.B, g.Q, g.R, Kg, 0.3).K)
    with pytest.raises(InputError, match=r"with an LQGame, pass \(game, K_guide, rho\)"):
        guided_lq_nash(game, Kg, 0.3, g.R)
    with pytest.raises(InputError, match="no horizon"):
        lq_nash(lq_game(g.A, g.B, g.Q, g.R, horizon=5))
    with pytest.raises(InputError, match="no linear terms, got q"):
        lq_nash(lq_game(g.A, g.B, g.Q, g.R, q=np.ones((2, 2))))


def test_result_vocabulary():
    g = lq_example()
    sol = lq_nash(g.A, g.B, g.Q, g.R)
    assert sol.status is Status.CONVERGED and sol.converged == sol.status.ok
    assert sol.info.iterations == sol.iterations and sol.info.residual == sol.residual
    assert sol.info.residuals is sol.history and len(sol.history) == sol.iterations and sol.info.time > 0
    assert repr(sol).startswith("LQNashSolution(converged, method='riccati+anderson")
    assert all(isinstance(s.status, Status) for s in sol.stages)
    slow = lq_nash(g.A, g.B, g.Q, g.R, method="lyapunov", max_iter=20)
    assert slow.status is Status.MAX_ITERATIONS and not slow.converged
    # costs(x0, *, x0_cov): x0'P x0 + tr(P x0_cov); x0_cov alone is the second moment; neither: N(0, I)
    x0, C = np.array([0.3, -1.0]), np.array([[0.5, 0.1], [0.1, 0.2]])
    np.testing.assert_allclose(sol.costs(x0, x0_cov=C), [x0 @ P @ x0 + np.trace(P @ C) for P in sol.P], rtol=1e-14)
    np.testing.assert_allclose(sol.costs(x0_cov=g.Sigma0), np.einsum("kij,ji->k", sol.P, g.Sigma0), rtol=1e-14)
    np.testing.assert_allclose(sol.costs(), np.trace(sol.P, axis1=1, axis2=2), rtol=1e-14)
    with pytest.raises(InputError, match=r"pass a second moment E\[x0 x0'\] as x0_cov="):
        sol.costs(g.Sigma0)
    import pickle

    back = pickle.loads(pickle.dumps(sol))
    np.testing.assert_array_equal(back.K, sol.K)
    assert back.stages == sol.stages and back.info.iterations == sol.iterations and back.nash_gap(x0) <= 1e-12


def test_results_are_fresh_and_inputs_untouched():
    A, B, Q, R, dims = ref.random_game(3, 4, 1, 3)
    before = [x.copy() for x in (A, B, Q)]
    s1, s2 = lq_nash(A, B, Q, R, dims=dims), lq_nash(A, B, Q, R, dims=dims)
    for name in ("K", "P", "history"):
        a, b = getattr(s1, name), getattr(s2, name)
        assert a.flags.c_contiguous and a.flags.owndata and a.flags.writeable and not np.shares_memory(a, b)
    for x, y in zip((A, B, Q), before):
        np.testing.assert_array_equal(x, y)


def test_explicit_method_gets_the_long_stall_window():
    """An explicit method stalls only after 200 iterations without halving the best residual
    (auto: 40); this guided Lyapunov run needs ~150 iterations (found by review)."""
    A = np.array([[1.0798390816876877, 0.07786881524437383], [0.0, 0.809926980282172]])
    B = [np.array([[-0.940687676855235], [-0.5238812418239173]]),
         np.array([[-1.6246639751852945], [0.27896950362257267]])]
    Q = [0.04182354175190823 * np.eye(2), 1.518322494689292 * np.eye(2)]
    R = [np.array([[5.176311360294573]]), np.array([[9.29813178589036]])]
    Kg = np.array([[-0.7583697508984092, 1.4209820223119163], [0.726093788947765, 0.843732662303268]])
    sol = guided_lq_nash(A, B, Q, R, Kg, 0.5, method="lyapunov")
    assert sol.converged and sol.iterations > 41


def test_guided_game_is_the_substitution():
    """R^ii -> (1 + rho) R^ii, Q^i -> Q^i + rho Kg^i'R^ii Kg^i, M^i_[i] = rho R^ii Kg^i."""
    A, B, Q, R, dims = ref.random_game(3, 4, 2, 9)
    Rj = ref.joint_R(R, dims)
    off = ref.offsets(dims)
    Kg = np.random.default_rng(5).standard_normal((sum(dims), 4))
    rho = 0.7
    g = infinite.guided_game(lq_game(A, B, Q, R, dims=dims), Kg, rho)
    for i in range(3):
        s = slice(off[i], off[i + 1])
        np.testing.assert_allclose(g.Q[0, i], Q[i] + rho * Kg[s].T @ Rj[i, s, s] @ Kg[s], rtol=1e-14, atol=1e-14)
        want_R = Rj[i].copy()
        want_R[s, s] *= 1 + rho
        np.testing.assert_allclose(g.R[0, i], want_R, rtol=1e-15)
        want_M = np.zeros((sum(dims), 4))
        want_M[s] = rho * Rj[i, s, s] @ Kg[s]
        np.testing.assert_allclose(g.M[0, i], want_M, rtol=1e-14, atol=1e-15)


def test_discounted_game_solves_the_discounted_equations():
    """beta: P^i = Q^i + K'R^i K + beta A_K'P^i A_K and (R^ii + beta B^i'P^i B^i) K^i + beta B^i'P^i B^-i K^-i
    = beta B^i'P^i A, checked directly."""
    A, B, Q, R, dims = ref.random_game(2, 4, 1, 4, radius=1.1)
    beta = 0.8
    sol = lq_nash(A, B, Q, R, dims=dims, discount=beta)
    assert sol.converged
    K, P, Rj = sol.K, sol.P, ref.joint_R(R, dims)
    AK = A - B @ K
    for i in range(2):
        np.testing.assert_allclose(P[i], Q[i] + K.T @ Rj[i] @ K + beta * AK.T @ P[i] @ AK, rtol=1e-10, atol=1e-12)
        lhs = Rj[i][i:i + 1] @ K + beta * B[:, i:i + 1].T @ P[i] @ B @ K
        np.testing.assert_allclose(lhs, beta * B[:, i:i + 1].T @ P[i] @ A, atol=1e-11)


# ------------------------------------------------------ the equilibrium protocol
def _oracle_gaps(A, B, Q, Rj, dims, K, Sigma):
    """gap_i = tr(P_K^i Sigma) - tr(P_br^i Sigma): Stein values and best responses by scipy's DARE."""
    P = ref.policy_value(A, B, Q, Rj, K)
    return np.array([np.trace(P[i] @ Sigma) - np.trace(ref.best_response(A, B, Q, Rj, dims, K, i)[1] @ Sigma)
                     for i in range(len(dims))])


@pytest.mark.parametrize("N,n,mi,seed", [(2, 4, 1, 0), (3, 5, 2, 1)])
def test_nash_gap_of_the_equilibrium_and_of_a_perturbation(N, n, mi, seed):
    A, B, Q, R, dims = ref.random_game(N, n, mi, seed)
    Rj = ref.joint_R(R, dims)
    sol = lq_nash(A, B, Q, R, dims=dims)
    rng = np.random.default_rng(seed)
    x0 = rng.standard_normal(n)
    scale = np.abs(sol.costs(x0)).max()
    assert abs(sol.nash_gap(x0)) <= 1e-12 * scale
    assert abs(sol.nash_gap()) <= 1e-12 * np.abs(sol.costs()).max()
    K = sol.K + 0.02 * rng.standard_normal(sol.K.shape)
    Sigma = np.outer(x0, x0) + 0.1 * np.eye(n)
    want = _oracle_gaps(A, B, Q, Rj, dims, K, Sigma)
    got = equilibrium.player_gaps(sol.game, K, x0_cov=Sigma)
    assert want.max() > 1e-6
    np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-12 * np.abs(sol.costs(x0_cov=Sigma)).max())
    assert equilibrium.nash_gap(sol.game, K, x0_cov=Sigma) == pytest.approx(want.max(), rel=1e-8)


def test_best_response_beats_every_perturbation():
    """Joint weights with cross-player blocks R^{ij} and cross terms M (the folded game has its own
    cross term): no random perturbation of the best response K^i does better (brute force)."""
    A, B, Q, R, dims = ref.random_game(3, 4, 1, 7)
    rng = np.random.default_rng(2)
    m, n = 3, 4
    Rj = ref.joint_R(R, dims)
    for i in range(3):
        X = 0.3 * rng.standard_normal((m, m))
        Rj[i] += 0.5 * (X + X.T) * (1 - np.eye(m))  # R^{ij} != 0, own blocks untouched
        Rj[i] += 2 * np.eye(m)                      # keep R^i positive definite
    M = 0.05 * rng.standard_normal((3, m, n))
    game = lq_game(A, B, Q, Rj, dims=dims, M=M)
    K = lq_nash(game).K + 0.05 * rng.standard_normal((m, n))
    x0 = rng.standard_normal(n)
    J = equilibrium.policy_value(game, K, x0=x0)
    for i in range(3):
        Ki, best = equilibrium.best_response(game, K, i, x0=x0)
        assert best <= J[i] + 1e-12
        for _ in range(25):
            Kp = K.copy()
            Kp[i] = Ki + 0.05 * rng.standard_normal(n)
            assert equilibrium.policy_value(game, Kp, x0=x0)[i] >= best - 1e-12 * abs(best)
        Kp = K.copy()
        Kp[i] = Ki
        assert equilibrium.policy_value(game, Kp, x0=x0)[i] == pytest.approx(best, rel=1e-10)


def test_policy_value_of_a_destabilizing_profile_is_infinite():
    g = lq_example()
    game = lq_game(g.A, g.B, g.Q, g.R)
    assert np.all(np.isinf(equilibrium.policy_value(game, np.full((2, 2), 10.0), x0=g.x0)))
    assert equilibrium.nash_gap(game, np.full((2, 2), 10.0), x0=g.x0) == np.inf
