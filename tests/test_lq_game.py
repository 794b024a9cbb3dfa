"""Numerical tests of the finite-horizon LQ game solver ([theory §2]) against independent oracles.

Oracles: the textbook LQR Riccati recursion and scipy's DARE (N = 1); brute-force
open-loop best replies (each player's cost over its whole control sequence,
with the others on their affine feedback, condensed into one quadratic and
minimized with numpy.linalg); direct simulation of the costs; the pure-numpy
twin tests/lq_twin.py; numpy.linalg.lstsq for minimum-norm stages.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
import scipy.linalg

import gamesolve
from conftest import random_lq_game, random_pd, solver_kwargs, stage_costs, twin_args
from gamesolve import SingularStageWarning, evaluate_lq_strategy, solve_lq_game, solve_lq_games
from lq_twin import evaluate_strategy_numpy, solve_lq_game_numpy, stage_system

CONFIGS = [  # (N, n, dims, T)
    (1, 3, (2,), 6),
    (2, 3, (1, 2), 6),
    (3, 4, (2, 1, 1), 5),
]


def rel_err(a, b):
    """max |a - b| / max |b| (with a floor of 1 on the scale)."""
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1.0))


def solve(game):
    return solve_lq_game(game["A"], game["B"], game["Q"], game["R"], **solver_kwargs(game))


# --------------------------------------------------------------------------- #
# Brute-force best open-loop reply (independent of the solver)
# --------------------------------------------------------------------------- #


def condensed_cost(game, K, k, i, x0):
    """Player i's total cost as a quadratic in its open-loop controls v = (v_0, ..., v_{T-1}).

    The others play u^j_t = -K^j_t x_t - k^j_t. Every quantity is an affine
    function of w = [v; 1]: x_t = X_t w, u_t = U_t w, so the cost is w'P w.
    Returns (H, h, c0) with J(v) = v'H v + 2 h'v + c0.
    """
    A, B, Q, q, R, r, M, c = (game[s] for s in ("A", "B", "Q", "q", "R", "r", "M", "c"))
    T, n, m = B.shape
    off = np.concatenate([[0], np.cumsum(game["dims"])])
    rows = slice(off[i], off[i + 1])
    mi = off[i + 1] - off[i]
    D = T * mi + 1
    e = np.zeros(D)
    e[-1] = 1.0
    X = np.outer(x0, e)  # x_0 = x0 * 1
    P = np.zeros((D, D))
    for t in range(T):
        U = -K[t] @ X - np.outer(k[t], e)
        U[rows] = 0.0
        U[rows, t * mi:(t + 1) * mi] = np.eye(mi)
        P += X.T @ Q[t, i] @ X + np.outer(X.T @ q[t, i], e) + np.outer(e, X.T @ q[t, i])
        P += U.T @ R[t, i] @ U + np.outer(U.T @ r[t, i], e) + np.outer(e, U.T @ r[t, i])
        P += U.T @ M[t, i] @ X + X.T @ M[t, i].T @ U
        X = A[t] @ X + B[t] @ U + np.outer(c[t], e)
    P += X.T @ game["QT"][i] @ X + np.outer(X.T @ game["qT"][i], e) + np.outer(e, X.T @ game["qT"][i])
    P = 0.5 * (P + P.T)
    return P[:-1, :-1], P[:-1, -1], P[-1, -1]


def own_sequence(game, us, i):
    """Player i's open-loop control sequence (v_0, ..., v_{T-1}) flattened."""
    off = np.concatenate([[0], np.cumsum(game["dims"])])
    return us[:, off[i]:off[i + 1]].reshape(-1)


def brute_force_gains(game, K, k, x0):
    """Per player: (cost of the profile, cost of the best open-loop reply) from x0."""
    out = []
    xs, us = simulate(game, K, k, x0)
    for i in range(len(game["dims"])):
        H, h, c0 = condensed_cost(game, K, k, i, x0)
        v = own_sequence(game, us, i)
        J_profile = v @ H @ v + 2 * h @ v + c0
        v_best = np.linalg.solve(H, -h)
        J_best = c0 + h @ v_best
        out.append((J_profile, J_best))
    return np.array(out)


def simulate(game, K, k, x0):
    T, n, m = game["B"].shape
    xs = np.zeros((T + 1, n))
    us = np.zeros((T, m))
    xs[0] = x0
    for t in range(T):
        us[t] = -K[t] @ xs[t] - k[t]
        xs[t + 1] = game["A"][t] @ xs[t] + game["B"][t] @ us[t] + game["c"][t]
    return xs, us


# --------------------------------------------------------------------------- #
# N = 1: LQR
# --------------------------------------------------------------------------- #


def _library_lqr(A, B, Q, R, QT):
    sol = solve_lq_game(A, [B], Q[:, None], [R], QT=QT[None])
    assert np.all(sol.stage_status == 0)
    return sol.K, sol.k, sol.Z, sol.zeta, sol.s


def _twin_lqr(A, B, Q, R, QT):
    """The numpy twin on the same LQR problem (its own closed-form check)."""
    K, k, Z, zeta, s, status = solve_lq_game_numpy(A, B, Q[:, None], None, R[:, None], None, None, None, QT[None],
                                                   None, (B.shape[-1],), with_status=True)
    assert np.all(status == 0)
    return K, k, Z, zeta, s


@pytest.mark.parametrize("solver", [_library_lqr, _twin_lqr], ids=["library", "twin"])
def test_single_player_equals_textbook_lqr_recursion(rng, solver):
    T, n, m = 12, 4, 2
    A = rng.standard_normal((T, n, n))
    B = rng.standard_normal((T, n, m))
    Q = np.stack([random_pd(rng, n) for _ in range(T)])
    R = np.stack([random_pd(rng, m) for _ in range(T)])
    QT = random_pd(rng, n)
    K, k, Z, zeta, s = solver(A, B, Q, R, QT)

    # Textbook: P_T = Q_T; K_t = (R + B'PB)^{-1} B'PA; P_t = Q + A'PA - A'PB K_t.
    P = QT
    for t in range(T - 1, -1, -1):
        Kt = np.linalg.solve(R[t] + B[t].T @ P @ B[t], B[t].T @ P @ A[t])
        P = Q[t] + A[t].T @ P @ A[t] - A[t].T @ P @ B[t] @ Kt
        P = 0.5 * (P + P.T)
        assert rel_err(K[t], Kt) < 1e-11, t
        assert rel_err(Z[t, 0], P) < 1e-11, t
    assert np.all(k == 0) and np.all(zeta == 0) and np.all(s == 0)


def test_twin_batch_axes_equal_a_loop_over_games(rng):
    """The twin's leading batch axes (the benchmarks' batched baseline) give each game's own solution."""
    games = [random_lq_game(rng, 2, 3, (1, 2), 5) for _ in range(3)]
    games[1]["R"][2, 0] = 0.0  # player 0's weights vanish at t = 2: S there is singular (min-norm stage)
    games[1]["B"][2, :, 0] = 0.0
    loop = [solve_lq_game_numpy(*twin_args(g), with_status=True) for g in games]
    batch = solve_lq_game_numpy(*(np.stack([g[x] for g in games]) for x in
                                  ("A", "B", "Q", "q", "R", "r", "M", "c", "QT", "qT")), games[0]["dims"],
                                with_status=True)
    assert loop[1][5][2] == 1 and loop[0][5].sum() == 0
    for b, one in enumerate(loop):
        for got, want in zip(batch, one):
            np.testing.assert_array_equal(got[b], want)


def test_single_player_long_horizon_matches_scipy_dare(rng):
    n, m = 4, 2
    A = rng.standard_normal((n, n))
    A *= 1.2 / np.max(np.abs(np.linalg.eigvals(A)))  # open-loop unstable
    B = rng.standard_normal((n, m))
    Q = random_pd(rng, n)
    R = random_pd(rng, m)
    P = scipy.linalg.solve_discrete_are(A, B, Q, R)
    K = np.linalg.solve(R + B.T @ P @ B, B.T @ P @ A)
    sol = solve_lq_game(A, [B], Q[None], [R], horizon=300)
    assert rel_err(sol.Z[0, 0], P) < 1e-10
    assert rel_err(sol.K[0], K) < 1e-10
    assert np.max(np.abs(np.linalg.eigvals(A - B @ sol.K[0]))) < 1  # stabilizing


# --------------------------------------------------------------------------- #
# Nash property, costs and the Nash gap (brute force)
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("N,n,dims,T", CONFIGS)
def test_best_open_loop_reply_gains_nothing(rng, N, n, dims, T):
    game = random_lq_game(rng, N, n, dims, T, all_terms=True)
    sol = solve(game)
    x0 = rng.standard_normal(n)
    xs, us = sol.rollout(x0)
    V0 = sol.costs(x0)
    for i in range(N):
        H, h, c0 = condensed_cost(game, sol.K, sol.k, i, x0)
        assert np.linalg.eigvalsh(H)[0] > 0  # strictly convex: the reply is unique
        v_eq = own_sequence(game, us, i)
        grad = 2 * (H @ v_eq + h)
        assert np.linalg.norm(grad) < 1e-10 * max(np.linalg.norm(h), np.linalg.norm(H @ v_eq), 1.0)
        v_best = np.linalg.solve(H, -h)
        assert rel_err(v_eq, v_best) < 1e-10
        J_eq = v_eq @ H @ v_eq + 2 * h @ v_eq + c0
        J_best = c0 + h @ v_best
        assert abs(J_eq - V0[i]) < 1e-10 * max(abs(V0[i]), 1.0)
        assert abs(J_best - V0[i]) < 1e-10 * max(abs(V0[i]), 1.0)


@pytest.mark.parametrize("N,n,dims,T", CONFIGS)
def test_costs_equal_simulated_cost(rng, N, n, dims, T):
    game = random_lq_game(rng, N, n, dims, T, all_terms=True)
    sol = solve(game)
    for x0 in rng.standard_normal((3, n)):
        xs, us = sol.rollout(x0)
        J = stage_costs(game, xs, us)
        np.testing.assert_allclose(sol.costs(x0), J, rtol=1e-11, atol=1e-11)


def perturbed(sol, game, rng, scale):
    """The solution object of the perturbed profile (K + dK, k + dk), valued by evaluate_lq_strategy."""
    K = sol.K + scale * rng.standard_normal(sol.K.shape)
    k = sol.k + scale * rng.standard_normal(sol.k.shape)
    Z, zeta, s = evaluate_lq_strategy(game["A"], game["B"], game["Q"], game["R"], K, k, **solver_kwargs(game))
    return dataclasses.replace(sol, K=K, k=k, Z=Z, zeta=zeta, s=s)


@pytest.mark.parametrize("N,n,dims,T", CONFIGS)
def test_nash_gap_zero_at_equilibrium_and_matches_brute_force_when_perturbed(rng, N, n, dims, T):
    game = random_lq_game(rng, N, n, dims, T, all_terms=True)
    sol = solve(game)
    x0 = rng.standard_normal(n)
    scale = max(np.abs(sol.costs(x0)).max(), 1.0)
    assert abs(sol.nash_gap(x0)) < 1e-10 * scale

    bad = perturbed(sol, game, rng, 0.2)
    bf = brute_force_gains(game, bad.K, bad.k, x0)
    # The perturbed solution's costs are the profile's true costs ...
    np.testing.assert_allclose(bad.costs(x0), bf[:, 0], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(bad.costs(x0), stage_costs(game, *bad.rollout(x0)), rtol=1e-10, atol=1e-10)
    # ... and its Nash gap is the largest brute-force improvement, clearly positive.
    gain = bf[:, 0] - bf[:, 1]
    assert np.all(gain > -1e-9 * scale)
    assert gain.max() > 1e-3 * scale
    gap = bad.nash_gap(x0)
    assert abs(gap - gain.max()) < 1e-9 * scale


def test_nash_gap_of_one_deviating_player(rng):
    """Only player 1 deviates: the gap is player 1's gain; the others would gain something too in general."""
    game = random_lq_game(rng, 2, 3, (1, 1), 6)
    sol = solve(game)
    x0 = rng.standard_normal(3)
    K, k = sol.K.copy(), sol.k.copy()
    K[:, 1] += 0.3
    Z, zeta, s = evaluate_lq_strategy(game["A"], game["B"], game["Q"], game["R"], K, k, **solver_kwargs(game))
    dev = dataclasses.replace(sol, K=K, k=k, Z=Z, zeta=zeta, s=s)
    bf = brute_force_gains(game, K, k, x0)
    gain = bf[:, 0] - bf[:, 1]
    assert gain[1] > 1e-3
    assert abs(dev.nash_gap(x0) - gain.max()) < 1e-9 * max(abs(bf).max(), 1.0)


# --------------------------------------------------------------------------- #
# Twin, policy evaluation, rollout
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("all_terms", [True, False])
@pytest.mark.parametrize("N,n,dims,T", CONFIGS + [(3, 6, (2, 2, 2), 15)])
def test_numpy_twin_agrees(rng, N, n, dims, T, all_terms):
    game = random_lq_game(rng, N, n, dims, T, all_terms=all_terms)
    sol = solve(game)
    ref = solve_lq_game_numpy(*twin_args(game))
    for name, got, want in zip(("K", "k", "Z", "zeta", "s"), (sol.K, sol.k, sol.Z, sol.zeta, sol.s), ref):
        assert got.shape == want.shape, name
        assert rel_err(got, want) < 1e-12, name


def test_twin_agrees_when_R_patterns_vary_by_stage(rng):
    """The kernel skips R^i's zero rows and columns (found per stage): patterns that touch
    the first or last control, cover a cross-player block, or are all zero but for one
    entry give the twin's values, with r and M present (the G rows they touch)."""
    N, n, dims, T = 3, 13, (2, 3, 4), 4  # n + 1 = 14: the padded vector tail is exercised
    game = random_lq_game(rng, N, n, dims, T, all_terms=True)
    R = game["R"].copy()
    m = sum(dims)
    R[0, 0, m - 1, m - 1] = 0.7  # player 0 also weighs the last control
    R[1, 2, 0, 0] = 0.4  # player 2 also weighs the first control
    X = 0.05 * rng.standard_normal((2, 4))
    R[2, 1, 0:2, 5:9], R[2, 1, 5:9, 0:2] = X, X.T  # a cross block
    game["R"] = R
    sol = solve(game)
    ref = solve_lq_game_numpy(*twin_args(game))
    for name, got, want in zip(("K", "k", "Z", "zeta", "s"), (sol.K, sol.k, sol.Z, sol.zeta, sol.s), ref):
        assert rel_err(got, want) < 1e-12, name


def test_evaluate_equilibrium_gains_reproduces_values(rng):
    game = random_lq_game(rng, 3, 4, (2, 1, 1), 7)
    sol = solve(game)
    Z, zeta, s = evaluate_lq_strategy(game["A"], game["B"], game["Q"], game["R"], sol.K, sol.k,
                                      **solver_kwargs(game))
    assert rel_err(Z, sol.Z) < 1e-13
    assert rel_err(zeta, sol.zeta) < 1e-13
    assert rel_err(s, sol.s) < 1e-13


def test_evaluate_arbitrary_strategy_matches_twin_and_simulation(rng):
    game = random_lq_game(rng, 2, 3, (1, 2), 6)
    T, n, m = game["B"].shape
    K = 0.3 * rng.standard_normal((T, m, n))
    k = rng.standard_normal((T, m))
    Z, zeta, s = evaluate_lq_strategy(game["A"], game["B"], game["Q"], game["R"], K, k, **solver_kwargs(game))
    Zr, zr, sr = evaluate_strategy_numpy(*(game[x] for x in ("A", "B", "Q", "q", "R", "r", "M", "c", "QT", "qT")),
                                         K, k)
    assert rel_err(Z, Zr) < 1e-12 and rel_err(zeta, zr) < 1e-12 and rel_err(s, sr) < 1e-12
    x0 = rng.standard_normal(n)
    V0 = np.einsum("i,pij,j->p", x0, Z[0], x0) + 2 * zeta[0] @ x0 + s[0]
    np.testing.assert_allclose(V0, stage_costs(game, *simulate(game, K, k, x0)), rtol=1e-11)
    # k defaults to zero
    Z0, zeta0, s0 = evaluate_lq_strategy(game["A"], game["B"], game["Q"], game["R"], K, **solver_kwargs(game))
    Zr0, zr0, sr0 = evaluate_strategy_numpy(*(game[x] for x in ("A", "B", "Q", "q", "R", "r", "M", "c", "QT", "qT")),
                                            K, np.zeros((T, m)))
    assert rel_err(zeta0, zr0) < 1e-12 and rel_err(s0, sr0) < 1e-12


def test_rollout_shapes_and_dynamics(rng):
    game = random_lq_game(rng, 2, 3, (1, 2), 8)
    sol = solve(game)
    x0 = rng.standard_normal(3)
    xs, us = sol.rollout(x0)
    assert xs.shape == (9, 3) and us.shape == (8, 3)
    np.testing.assert_array_equal(xs[0], x0)
    for t in range(8):
        np.testing.assert_allclose(us[t], -sol.K[t] @ xs[t] - sol.k[t], rtol=1e-14, atol=1e-14)
        np.testing.assert_allclose(xs[t + 1], game["A"][t] @ xs[t] + game["B"][t] @ us[t] + game["c"][t],
                                   rtol=1e-14, atol=1e-14)


def test_result_shapes_and_gains(rng):
    game = random_lq_game(rng, 3, 5, (2, 1, 3), 4)
    sol = solve(game)
    assert sol.K.shape == (4, 6, 5) and sol.k.shape == (4, 6)
    assert sol.Z.shape == (5, 3, 5, 5) and sol.zeta.shape == (5, 3, 5) and sol.s.shape == (5, 3)
    assert sol.stage_status.shape == (4,) and sol.singular_stages.shape == (4,) and not sol.singular_stages.any()
    assert sol.dims == (2, 1, 3)
    assert [g.shape for g in sol.gains] == [(4, 2, 5), (4, 1, 5), (4, 3, 5)]
    np.testing.assert_array_equal(np.concatenate(sol.gains, axis=1), sol.K)
    assert sol.costs(np.ones(5)).shape == (3,)
    np.testing.assert_array_equal(sol.Z[-1], game["QT"])
    np.testing.assert_array_equal(sol.zeta[-1], game["qT"])
    np.testing.assert_array_equal(sol.s[-1], 0.0)
    assert 0 < sol.min_rcond <= 1
    assert np.all(sol.Z == np.swapaxes(sol.Z, -1, -2))  # exactly symmetric


def test_min_rcond_is_the_exact_one_norm_condition_of_the_stage_systems(rng):
    # min_rcond = min_t 1 / (||S_t||_1 ||S_t^{-1}||_1), S_t from the returned Z_{t+1} ([theory §2])
    game = random_lq_game(rng, 3, 5, (2, 1, 3), 6)
    sol = solve(game)
    want = min(1.0 / np.linalg.cond(stage_system(game["A"][t], game["B"][t], game["R"][t], game["r"][t],
                                                 game["M"][t], game["c"][t], sol.Z[t + 1], sol.zeta[t + 1],
                                                 (2, 1, 3))[0], 1)
               for t in range(6))
    assert abs(sol.min_rcond - want) <= 1e-10 * want


# --------------------------------------------------------------------------- #
# Singular stage systems: minimum-norm solution, flagged
# --------------------------------------------------------------------------- #


def singular_game(rng, T, singular_at):
    """Two scalar-control players who pay only for u^1 + u^2 (R^i = [[1,1],[1,1]]), same state costs.

    At the stages in ``singular_at`` their input columns are identical, so the
    stage system's rows coincide: S is singular (rank 1), the stage game has a
    line of equilibria, and the minimum-norm one splits the control equally.
    """
    n = 3
    game = random_lq_game(rng, 2, n, (1, 1), T, all_terms=True)
    for t in range(T):
        if t in singular_at:
            game["B"][t, :, 1] = game["B"][t, :, 0]
        game["R"][t] = 1.0
        game["Q"][t, 1] = game["Q"][t, 0]
        game["q"][t, 1] = game["q"][t, 0]
        game["r"][t] = game["r"][t, 0, 0]  # the same weight on both controls: pays for u^1 + u^2
        game["M"][t, :] = game["M"][t, 0, 0]
    game["QT"][1] = game["QT"][0]
    game["qT"][1] = game["qT"][0]
    return game


def test_singular_stage_returns_min_norm_and_flags(rng):
    T, singular_at = 6, (1, 3, 4)
    game = singular_game(rng, T, singular_at)
    with pytest.warns(SingularStageWarning, match=r"3 stage system\(s\) singular"):
        sol = solve(game)
    mask = np.isin(np.arange(T), singular_at)
    np.testing.assert_array_equal(sol.singular_stages, mask)
    np.testing.assert_array_equal(sol.stage_status, mask.astype(int))
    assert sol.min_rcond < 1e-12
    for t in range(T):
        S, Y, y = stage_system(game["A"][t], game["B"][t], game["R"][t], game["r"][t], game["M"][t], game["c"][t],
                               sol.Z[t + 1], sol.zeta[t + 1], game["dims"])
        rhs = np.column_stack([Y, y])
        if t in singular_at:
            assert np.linalg.matrix_rank(S) == 1
            # consistent system: the min-norm solution solves it exactly
            want = np.linalg.lstsq(S, rhs, rcond=1e-10)[0]
            np.testing.assert_allclose(want, np.linalg.pinv(S, rcond=1e-10) @ rhs, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(sol.K[t, 0], sol.K[t, 1], rtol=1e-10)  # equal split
        else:
            want = np.linalg.solve(S, rhs)
        got = np.column_stack([sol.K[t], sol.k[t]])
        assert rel_err(got, want) < 1e-9, t
        assert rel_err(S @ got, rhs) < 1e-10, t  # it is a stage equilibrium
    # The twin (same min-norm rule) agrees on every stage and flags the same stages.
    ref = solve_lq_game_numpy(*twin_args(game), with_status=True)
    for got, want in zip((sol.K, sol.k, sol.Z, sol.zeta, sol.s), ref[:5]):
        assert rel_err(got, want) < 1e-9
    np.testing.assert_array_equal(ref[5], sol.stage_status)
    # Still a Nash equilibrium (every solution of S [K k] = [Y y] is one).
    x0 = rng.standard_normal(3)
    assert sol.nash_gap(x0) < 1e-9 * max(abs(sol.costs(x0)).max(), 1.0)
    assert np.all(np.isfinite(sol.K)) and np.all(np.isfinite(sol.Z))


def test_zero_pivot_is_singular_even_with_rcond_tol_zero(monkeypatch):
    # An exactly singular S (a zero pivot) takes the minimum-norm path whatever the
    # threshold: with rcond_tol = 0 the half-eliminated system must not pass as a
    # solve (found by review).
    A = np.array([[1.0, 0.2], [0.0, 0.9]])
    B = [np.array([[0.0], [1.0]]), np.array([[0.0], [1.0]])]
    Q = [np.eye(2), np.eye(2)]
    R = [np.array([[3.0, 3.0], [3.0, 3.0]])] * 2
    for tol in (0.0, gamesolve.lq.finite.RCOND_TOL):
        monkeypatch.setattr(gamesolve.lq.finite, "RCOND_TOL", tol)
        with pytest.warns(SingularStageWarning):
            sol = solve_lq_game(A, B, Q, R, horizon=1)
        assert sol.stage_status.tolist() == [1] and sol.min_rcond == 0.0
        Bs = np.hstack(B)  # S, Y of [theory §2] with Z_1 = QT = Q (the default terminal weights)
        S = np.stack([Bs[:, [i]].T @ Q[i] @ Bs + R[i][[i]] for i in range(2)]).reshape(2, 2)
        Y = np.stack([Bs[:, [i]].T @ Q[i] @ A for i in range(2)]).reshape(2, 2)
        np.testing.assert_allclose(sol.K[0], np.linalg.pinv(S) @ Y, rtol=1e-10, atol=1e-12)


def test_batched_singular_flags_only_the_singular_game(rng):
    T = 5
    good = random_lq_game(rng, 2, 3, (1, 1), T)
    bad = singular_game(rng, T, (0, 2))
    stack = {key: np.stack([good[key], bad[key]]) for key in good if key != "dims"}
    with pytest.warns(SingularStageWarning):
        sol = solve_lq_games(stack["A"], stack["B"], stack["Q"], stack["R"], dims=(1, 1),
                             **{k: stack[k] for k in ("q", "r", "M", "c", "QT", "qT")})
    np.testing.assert_array_equal(sol.singular_stages, [[False] * 5, [True, False, True, False, False]])


# --------------------------------------------------------------------------- #
# Batches and threads
# --------------------------------------------------------------------------- #


def stacked(games):
    return {key: np.stack([g[key] for g in games]) for key in games[0] if key != "dims"}


def test_batched_equals_loop_and_is_thread_count_invariant(rng):
    games = [random_lq_game(rng, 3, 4, (2, 1, 1), 9) for _ in range(7)]
    st = stacked(games)
    kw = {k: st[k] for k in ("q", "r", "M", "c", "QT", "qT")}
    old = gamesolve.get_num_threads()
    try:
        results = []
        for threads in (1, 2):
            gamesolve.set_num_threads(threads)
            results.append(solve_lq_games(st["A"], st["B"], st["Q"], st["R"], dims=(2, 1, 1), **kw))
    finally:
        gamesolve.set_num_threads(old)
    assert gamesolve.get_num_threads() == old
    one, two = results
    for name in ("K", "k", "Z", "zeta", "s", "stage_status"):
        np.testing.assert_array_equal(getattr(one, name), getattr(two, name), err_msg=name)
    for b, game in enumerate(games):
        single = solve(game)
        for name in ("K", "k", "Z", "zeta", "s", "stage_status"):
            got, want = getattr(one, name)[b], getattr(single, name)
            assert rel_err(got, want) <= 1e-14, (b, name)
    x0 = rng.standard_normal((7, 4))
    assert one.costs(x0).shape == (7, 3)
    np.testing.assert_allclose(one.costs(x0)[3], solve(games[3]).costs(x0[3]), rtol=1e-13)
    xs, us = one.rollout(x0)
    assert xs.shape == (7, 10, 4) and us.shape == (7, 9, 4)
    gap = one.nash_gap(x0)
    assert gap.shape == (7,) and np.all(np.abs(gap) < 1e-9 * np.abs(one.costs(x0)).max(axis=1).clip(1))
    # a single x0 broadcasts over the batch
    np.testing.assert_allclose(one.costs(x0[0]), one.costs(np.broadcast_to(x0[0], (7, 4))), rtol=0, atol=0)


def test_set_num_threads_rejects_negative():
    with pytest.raises(gamesolve.InputError, match=r"num_threads must be an integer in \[0, 4096\], got -1"):
        gamesolve.set_num_threads(-1)


# --------------------------------------------------------------------------- #
# Broadcasting, R forms, defaults
# --------------------------------------------------------------------------- #


def test_time_invariant_and_time_varying_mix_broadcasts(rng):
    T, n, dims = 7, 4, (1, 2)
    game = random_lq_game(rng, 2, n, dims, T)
    # make A, R, M, c time-invariant; keep B, Q, q, r time-varying
    for key in ("A", "R", "M", "c"):
        game[key][:] = game[key][0]
    sol_full = solve(game)
    sol_mix = solve_lq_game(game["A"][0], game["B"], game["Q"], game["R"][0], q=game["q"], r=game["r"],
                            M=game["M"][0], c=game["c"][0], QT=game["QT"], qT=game["qT"], dims=dims)
    for name in ("K", "k", "Z", "zeta", "s"):
        assert rel_err(getattr(sol_mix, name), getattr(sol_full, name)) < 1e-14, name


def test_all_time_invariant_needs_horizon_and_broadcasts(rng):
    n, dims, T = 3, (1, 1), 5
    game = random_lq_game(rng, 2, n, dims, T)
    for key in ("A", "B", "Q", "q", "R", "r", "M", "c"):
        game[key][:] = game[key][0]
    sol_full = solve(game)
    kw = {k: game[k][0] for k in ("q", "r", "M", "c")}
    sol_ti = solve_lq_game(game["A"][0], game["B"][0], game["Q"][0], game["R"][0], horizon=T, QT=game["QT"],
                           qT=game["qT"], dims=dims, **kw)
    for name in ("K", "k", "Z", "zeta", "s"):
        assert rel_err(getattr(sol_ti, name), getattr(sol_full, name)) < 1e-14, name
    # horizon agreeing with the time axis is accepted
    sol_h = solve_lq_game(game["A"], game["B"], game["Q"], game["R"], horizon=T, **solver_kwargs(game))
    np.testing.assert_array_equal(sol_h.K, sol_full.K)


def test_batch_axis_of_size_one_broadcasts(rng):
    T, n, dims = 5, 3, (1, 2)
    games = [random_lq_game(rng, 2, n, dims, T) for _ in range(3)]
    shared = ("A", "R", "M", "QT")  # shared by every game: passed with a batch axis of size 1
    for g in games[1:]:
        for key in shared:
            g[key] = games[0][key]
    st = stacked(games)
    args = {key: (st[key][:1] if key in shared else st[key]) for key in st}
    sol = solve_lq_games(args["A"], args["B"], args["Q"], args["R"], dims=dims,
                         **{k: args[k] for k in ("q", "r", "M", "c", "QT", "qT")})
    assert sol.K.shape == (3, T, 3, n)
    for b, g in enumerate(games):
        assert rel_err(sol.K[b], solve(g).K) < 1e-14 and rel_err(sol.s[b], solve(g).s) < 1e-14
    # time-invariant and batch-shared together: A (1, n, n)
    sol2 = solve_lq_games(np.broadcast_to(games[0]["A"][0], (1, n, n)), st["B"], st["Q"], args["R"], dims=dims)
    for b, g in enumerate(games):
        A_ti = np.broadcast_to(games[0]["A"][0], (T, n, n))
        ref = solve_lq_game(A_ti, g["B"], g["Q"], games[0]["R"], dims=dims)
        assert rel_err(sol2.K[b], ref.K) < 1e-14


def test_own_control_R_list_equals_joint_block_diagonal_R(rng):
    T, n, dims = 6, 4, (2, 1, 1)
    game = random_lq_game(rng, 3, n, dims, T, all_terms=False)
    off = np.concatenate([[0], np.cumsum(dims)])
    own = [game["R"][:, i, off[i]:off[i + 1], off[i]:off[i + 1]] for i in range(3)]
    Bs = [game["B"][:, :, off[i]:off[i + 1]] for i in range(3)]
    sol_joint = solve_lq_game(game["A"], game["B"], game["Q"], game["R"], dims=dims)
    sol_list = solve_lq_game(game["A"], Bs, game["Q"], own)
    for name in ("K", "k", "Z", "zeta", "s"):
        np.testing.assert_array_equal(getattr(sol_list, name), getattr(sol_joint, name), err_msg=name)
    # time-invariant own weights as plain lists of (m_i, m_i)
    own_ti = [o[0] for o in own]
    joint_ti = np.zeros((3, 4, 4))
    for i in range(3):
        joint_ti[i, off[i]:off[i + 1], off[i]:off[i + 1]] = own_ti[i]
    a = solve_lq_game(game["A"], Bs, game["Q"], own_ti)
    b = solve_lq_game(game["A"], game["B"], game["Q"], joint_ti, dims=dims)
    np.testing.assert_array_equal(a.K, b.K)
    # scalar own weights for scalar controls
    c1 = solve_lq_game(game["A"][0], [game["B"][0][:, :1], game["B"][0][:, 1:2]], game["Q"][0, :2], [0.5, 2.0],
                       horizon=4)
    c2 = solve_lq_game(game["A"][0], game["B"][0][:, :2], game["Q"][0, :2], np.array([np.diag([0.5, 0]),
                       np.diag([0, 2.0])]), dims=(1, 1), horizon=4)
    np.testing.assert_array_equal(c1.K, c2.K)


def test_terminal_weights_default_to_stage_weights(rng):
    T, n, dims = 5, 3, (1, 1)
    game = random_lq_game(rng, 2, n, dims, T)
    kw = {k: game[k] for k in ("r", "M", "c")}
    # time-varying: QT defaults to Q[-1], qT to q[-1]
    a = solve_lq_game(game["A"], game["B"], game["Q"], game["R"], q=game["q"], dims=dims, **kw)
    b = solve_lq_game(game["A"], game["B"], game["Q"], game["R"], q=game["q"], QT=game["Q"][-1], qT=game["q"][-1],
                      dims=dims, **kw)
    np.testing.assert_array_equal(a.K, b.K)
    np.testing.assert_array_equal(a.s, b.s)
    np.testing.assert_array_equal(a.Z[-1], game["Q"][-1])
    np.testing.assert_array_equal(a.zeta[-1], game["q"][-1])
    # time-invariant: QT defaults to Q
    c = solve_lq_game(game["A"][0], game["B"][0], game["Q"][0], game["R"][0], q=game["q"][0], horizon=T, dims=dims)
    np.testing.assert_array_equal(c.Z[-1], game["Q"][0])
    np.testing.assert_array_equal(c.zeta[-1], game["q"][0])
    # no q: zeta_T = 0 and explicit zero terminal terms agree
    d = solve_lq_game(game["A"], game["B"], game["Q"], game["R"], dims=dims)
    np.testing.assert_array_equal(d.zeta, 0.0)
    e = solve_lq_game(game["A"], game["B"], game["Q"], game["R"], dims=dims, QT=game["Q"][-1],
                      qT=np.zeros((2, n)), q=np.zeros((2, n)))
    np.testing.assert_array_equal(d.K, e.K)


def test_paper_example_certified(rng):
    g = gamesolve.examples.lq_example()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sol = solve_lq_game(g.A, g.B, g.Q, g.R, horizon=60)
    for x0 in g.x0s:
        assert sol.nash_gap(x0) < 1e-10 * max(abs(sol.costs(x0)).max(), 1.0)
    assert np.max(np.abs(np.linalg.eigvals(g.A - np.hstack(g.B) @ sol.K[0]))) < 1


# --------------------------------------------------------------------------- #
# Overflow is an error, never silent infinities (regressions)
# --------------------------------------------------------------------------- #


def test_overflow_only_in_zeta_raises():
    """Regression: the kernel checked only Z and s^0 for overflow, so an infinite zeta_0 went unflagged."""
    A = np.eye(2)
    B = np.array([[1.0], [0.0]])
    Q = np.eye(2)[None]
    qT = np.array([[0.0, 1e308]])  # along the uncontrolled state: k = 0, beta = 0, s stays 0
    with pytest.raises(gamesolve.SolveError, match=r"non-finite values .* stage t=0"):
        solve_lq_game(A, [B], Q, [np.eye(1)], horizon=1, q=qT, qT=qT)


def test_overflow_only_in_second_players_s_raises():
    """Regression: s^i of players i > 0 was not checked for overflow."""
    A = np.zeros((1, 1))
    B = np.ones((1, 2))
    Q = np.ones((2, 1, 1))
    R = np.stack([np.eye(2), np.eye(2)])
    r = np.array([[0.0, 0.0], [1e308, 0.0]])  # player 2's linear weight on player 1's control
    with pytest.raises(gamesolve.SolveError, match=r"non-finite values"):
        solve_lq_game(A, B, Q, R, horizon=1, r=r, c=np.array([10.0]), dims=(1, 1))


def test_overflow_at_a_min_norm_stage_raises(rng):
    """Regression: overflow on a stage solved for the minimum-norm solution was never checked."""
    game = singular_game(rng, 1, (0,))
    game["qT"][:] = 1e307
    with pytest.raises(gamesolve.SolveError, match=r"non-finite values"):
        solve(game)


def test_non_contiguous_inputs_and_no_in_place_modification(rng):
    game = random_lq_game(rng, 2, 3, (1, 2), 5)
    before = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in game.items()}
    ref = solve(game)
    # Fortran-ordered and reversed-stride views of the same data
    A = np.asfortranarray(game["A"])
    B = np.ascontiguousarray(game["B"][::-1])[::-1]
    Q = np.swapaxes(np.swapaxes(game["Q"], -1, -2).copy(order="F"), -1, -2)
    M = np.ascontiguousarray(game["M"][..., ::-1])[..., ::-1]  # negative strides, same values
    kw = solver_kwargs(game)
    kw["M"] = M
    sol = solve_lq_game(A, B, Q, game["R"], **kw)
    for name in ("K", "k", "Z", "zeta", "s"):
        np.testing.assert_array_equal(getattr(sol, name), getattr(ref, name), err_msg=name)
    sol.nash_gap(np.ones(3))
    sol.rollout(np.ones(3))
    for key, val in before.items():
        np.testing.assert_array_equal(game[key], val, err_msg=key)


def test_evaluating_an_overflowing_strategy_raises():
    """Regression: evaluate_lq_strategy returned inf / NaN values silently (then NaN costs and Nash gap)."""
    A, Bs, Q, R = np.eye(1), [np.ones((1, 1)), np.ones((1, 1))], np.ones((2, 1, 1)), [np.eye(1), np.eye(1)]
    K = np.zeros((400, 2, 1))
    K[:, 1] = -5.0  # closed loop x+ = 6 x: the cost overflows
    with pytest.raises(gamesolve.SolveError, match=r"non-finite values in the policy evaluation at stage t=\d+"):
        evaluate_lq_strategy(A, Bs, Q, R, K, horizon=400)
    Z, zeta, s = evaluate_lq_strategy(A, Bs, Q, R, K[:50], horizon=50)  # short enough: exact, finite
    np.testing.assert_allclose(Z[0, :, 0, 0], [sum(36.0 ** t for t in range(51)), (1 + 25) * sum(
        36.0 ** t for t in range(50)) + 36.0 ** 50], rtol=1e-12)


# --------------------------------------------------------------------------- #
# The equilibrium protocol of the finite-horizon family; the LQGame type
# --------------------------------------------------------------------------- #


def _folded_best_response_numpy(game, K, k, i, x0):
    """Player i's optimal cost against the others' (K, k), by the numpy twin on the folded one-player game.

    Written out here from the definitions (not from lq/finite.py): with the others' controls
    u^j = -K^j x - k^j substituted, player i's problem is an LQ problem in (x, u^i).
    """
    A, B, Q, q, R, r, M, c, QT, qT = (game[key] for key in ("A", "B", "Q", "q", "R", "r", "M", "c", "QT", "qT"))
    T, n, m = B.shape
    off = np.concatenate([[0], np.cumsum(game["dims"])])
    mine = np.zeros(m, bool)
    mine[off[i]:off[i + 1]] = True
    E = np.eye(m)[:, mine]                      # u = E v + G x + g
    G, g = -K * ~mine[None, :, None], -k * ~mine[None, :]
    Ab = np.empty((T, n, n)); Bb = np.empty((T, n, mine.sum())); cb = np.empty((T, n))
    Qb = np.empty((T, 1, n, n)); qb = np.empty((T, 1, n)); Rb = np.empty((T, 1, mine.sum(), mine.sum()))
    rb = np.empty((T, 1, mine.sum())); Mb = np.empty((T, 1, mine.sum(), n))
    const = 0.0
    for t in range(T):
        Ab[t], Bb[t], cb[t] = A[t] + B[t] @ G[t], B[t] @ E, c[t] + B[t] @ g[t]
        W = np.block([[Q[t, i], M[t, i].T], [M[t, i], R[t, i]]])         # weight of (x, u)
        L = np.block([[np.eye(n), np.zeros((n, mine.sum()))], [G[t], E]])  # (x, u) = L (x, v) + (0, g)
        Wb = L.T @ W @ L
        lin = L.T @ (W @ np.concatenate([np.zeros(n), g[t]]) + np.concatenate([q[t, i], r[t, i]]))
        Qb[t, 0], Mb[t, 0], Rb[t, 0] = Wb[:n, :n], Wb[n:, :n], Wb[n:, n:]
        qb[t, 0], rb[t, 0] = lin[:n], lin[n:]
        const += g[t] @ R[t, i] @ g[t] + 2 * r[t, i] @ g[t]
    Kb, kb, Z, zeta, s = solve_lq_game_numpy(Ab, Bb, Qb, qb, Rb, rb, Mb, cb, QT[i:i + 1], qT[i:i + 1],
                                             (int(mine.sum()),))
    return x0 @ Z[0, 0] @ x0 + 2 * zeta[0, 0] @ x0 + s[0, 0] + const


def test_protocol_gap_of_the_equilibrium_and_of_a_perturbed_profile(rng):
    game = random_lq_game(rng, 3, 4, (2, 1, 1), 6, all_terms=True)
    sol = solve(game)
    x0 = rng.standard_normal(4)
    J = sol.costs(x0)
    assert abs(sol.nash_gap(x0)) <= 1e-11 * np.abs(J).max()
    assert np.all(np.abs(gamesolve.equilibrium.player_gaps(sol.game, sol.profile, x0=x0)) <= 1e-11 * np.abs(J).max())
    K = sol.K + 0.05 * rng.standard_normal(sol.K.shape)
    k = sol.k + 0.05 * rng.standard_normal(sol.k.shape)
    values = gamesolve.equilibrium.policy_value(sol.game, (K, k), x0=x0)
    Z, zeta, s = evaluate_strategy_numpy(*(game[key] for key in ("A", "B", "Q", "q", "R", "r", "M", "c", "QT", "qT")),
                                         K, k)
    np.testing.assert_allclose(values, np.einsum("i,pij,j->p", x0, Z[0], x0) + 2 * zeta[0] @ x0 + s[0], rtol=1e-11)
    gaps = gamesolve.equilibrium.player_gaps(sol.game, (K, k), x0=x0)
    want = np.array([values[i] - _folded_best_response_numpy(game, K, k, i, x0) for i in range(3)])
    np.testing.assert_allclose(gaps, want, rtol=1e-9, atol=1e-10 * np.abs(values).max())
    assert gaps.min() > 0 and gamesolve.equilibrium.nash_gap(sol.game, (K, k), x0=x0) == pytest.approx(gaps.max())


def test_protocol_best_response_beats_random_deviations(rng):
    game = random_lq_game(rng, 2, 3, (1, 2), 5, all_terms=True)
    sol = solve(game)
    x0 = rng.standard_normal(3)
    K = sol.K + 0.1 * rng.standard_normal(sol.K.shape)  # the others play a non-equilibrium profile
    k = sol.k + 0.1 * rng.standard_normal(sol.k.shape)
    for i, rows in enumerate((slice(0, 1), slice(1, 3))):
        (Kb, kb), best = gamesolve.equilibrium.best_response(sol.game, (K, k), i, x0=x0)
        Kd, kd = K.copy(), k.copy()
        Kd[:, rows], kd[:, rows] = Kb, kb
        assert gamesolve.equilibrium.policy_value(sol.game, (Kd, kd), x0=x0)[i] == pytest.approx(best, rel=1e-11)
        for _ in range(20):  # no perturbation of the best response does better
            Kp, kp = Kd.copy(), kd.copy()
            Kp[:, rows] += 0.05 * rng.standard_normal(Kb.shape)
            kp[:, rows] += 0.05 * rng.standard_normal(kb.shape)
            assert gamesolve.equilibrium.policy_value(sol.game, (Kp, kp), x0=x0)[i] >= best - 1e-12 * abs(best)


def test_nash_gap_is_infinite_when_a_best_response_is_unbounded():
    """Player 1's own weight on u^1 is positive, but player 0's strategy makes its problem concave: gap inf."""
    A, B = np.eye(1), np.ones((1, 2))
    Q = np.stack([np.eye(1), -10 * np.eye(1)])  # player 1 is rewarded for large states
    R = np.stack([np.eye(2), np.diag([0.0, 0.1])])
    with pytest.warns(gamesolve.NotConvexWarning, match="not convex in its control"):
        sol = solve_lq_game(A, B, Q, R, horizon=3, dims=(1, 1), QT=np.stack([np.eye(1), -10 * np.eye(1)]))
    assert sol.status == "not_convex" and sol.not_convex_stages.all()
    assert sol.nash_gap(np.ones(1)) == np.inf


def test_costs_with_a_covariance_are_the_expected_costs(rng):
    game = random_lq_game(rng, 2, 3, (1, 1), 4, all_terms=True)
    sol = solve(game)
    mean, L = rng.standard_normal(3), 0.3 * rng.standard_normal((3, 3))
    cov = L @ L.T
    xs = mean + rng.standard_normal((4000, 3)) @ L.T
    # E[x'Zx + 2 zeta'x + s] over samples, exactly: mean of the quadratic at the samples vs the formula
    # at the samples' own mean and covariance
    m_hat, c_hat = xs.mean(0), np.cov(xs.T, bias=True)
    sampled = np.mean([sol.costs(x) for x in xs], axis=0)
    np.testing.assert_allclose(sol.costs(m_hat, x0_cov=c_hat), sampled, rtol=1e-10)
    np.testing.assert_allclose(sol.costs(mean, x0_cov=cov) - sol.costs(mean), np.einsum("pij,ji->p", sol.Z[0], cov))


def test_solution_keeps_the_game_and_prints_one_line(rng):
    game = random_lq_game(rng, 2, 3, (1, 2), 4, all_terms=True)
    sol = solve(game)
    assert isinstance(sol.game, gamesolve.LQGame) and sol.game.T == 4 and sol.game.dims == (1, 2)
    assert sol.status is gamesolve.Status.SOLVED and sol.status.ok and sol.info.iterations == 0
    text = repr(sol)
    assert "\n" not in text and text.startswith("LQGameSolution(solved, N=2, n=3, T=4")
    again = solve_lq_game(sol.game)  # an LQGame as the first argument: the same answer
    np.testing.assert_array_equal(again.K, sol.K)
    with pytest.raises(gamesolve.InputError, match=r"given an LQGame, pass no other game data \(got horizon\)"):
        solve_lq_game(sol.game, horizon=4)
    Z, zeta, s = evaluate_lq_strategy(sol.game, K=sol.K, k=sol.k)
    np.testing.assert_allclose(Z, sol.Z, rtol=1e-12, atol=1e-12)


def test_lq_game_canonical_form(rng):
    n, dims = 3, (1, 2)
    A, B = rng.standard_normal((n, n)), rng.standard_normal((5, n, 3))
    Q = np.stack([np.eye(n)] * 2)
    g = gamesolve.lq_game(A, B, Q, [np.eye(1), 2 * np.eye(2)], q=np.ones((2, n)), dims=dims)
    assert (g.N, g.n, g.m, g.T, g.batch, g.offsets) == (2, 3, 3, 5, None, (0, 1, 3))
    assert g.A.shape == (1, n, n) and g.B.shape == (5, n, 3) and g.R.shape == (1, 2, 3, 3)
    assert g.QT.shape == (2, n, n) and g.qT.shape == (2, n) and g.r is None and g.c is None
    np.testing.assert_array_equal(g.R[0, 1], np.diag([0.0, 2.0, 2.0]))  # own weights embedded: joint form
    assert g.full("A").shape == (5, n, n) and not g.A.flags.writeable
    p = g.player(1)
    assert p.B.shape == (5, n, 2) and p.R_own.shape == (1, 2, 2) and p.rows == slice(1, 3)
    inf = gamesolve.lq_game(A, B[0], Q, [np.eye(1), np.eye(2)], dims=dims)
    assert inf.T is None and inf.QT is None and inf.infinite
    with pytest.raises(gamesolve.InputError, match=r"horizon is required"):
        solve_lq_game(inf)
    fin = inf.with_horizon(7)
    assert fin.T == 7 and fin.QT.shape == (2, n, n)
    np.testing.assert_array_equal(solve_lq_game(fin).K, solve_lq_game(A, B[0], Q, [np.eye(1), np.eye(2)],
                                                                         horizon=7, dims=dims).K)
    batch = gamesolve.lq_games(np.stack([A, A]), B[None], Q[None], [np.eye(1)[None], np.eye(2)[None]], dims=dims)
    assert batch.batch == 2 and batch.A.shape == (2, 1, n, n) and batch.B.shape == (1, 5, n, 3)
    assert batch.QT.shape == (1, 2, n, n)
    assert "\n" not in repr(g)


def test_evaluate_lq_strategy_takes_a_game_positionally(rng):
    game = random_lq_game(rng, 2, 3, (1, 1), 4, all_terms=True)
    sol = solve(game)
    for Z, zeta, s in (evaluate_lq_strategy(sol.game, sol.K, sol.k), evaluate_lq_strategy(sol.game, K=sol.K, k=sol.k)):
        np.testing.assert_allclose(Z, sol.Z, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(s, sol.s, rtol=1e-12, atol=1e-12)


def test_batched_terminal_defaults_are_each_games_last_stage(rng):
    Bt, T, n, N = 3, 4, 3, 2
    A = 0.5 * rng.standard_normal((Bt, T, n, n))
    B = rng.standard_normal((Bt, T, n, 2))
    X = rng.standard_normal((Bt, T, N, n, n))
    Q = X @ np.swapaxes(X, -1, -2) + np.eye(n)
    q = rng.standard_normal((Bt, T, N, n))
    R = np.stack([np.eye(2)] * N)[None]
    sol = solve_lq_games(A, B, Q, R, q=q, dims=(1, 1))
    assert sol.game.QT.shape == (Bt, N, n, n) and sol.game.QT.flags.c_contiguous
    for b in range(Bt):
        one = solve_lq_game(A[b], B[b], Q[b], R[0], q=q[b], dims=(1, 1))
        np.testing.assert_allclose(sol.K[b], one.K, rtol=1e-13, atol=1e-14)
        np.testing.assert_array_equal(sol.game.QT[b], Q[b, -1])
        np.testing.assert_array_equal(sol.game.qT[b], q[b, -1])
    x0 = rng.standard_normal((Bt, n))
    assert np.all(np.abs(sol.nash_gap(x0)) <= 1e-11 * np.abs(sol.costs(x0)).max())
