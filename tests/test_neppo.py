"""NePPO (gamesolve.neppo, gamesolve.potential): gaps, objective, zeroth-order gradient, exact
cooperative solvers, the papers' games, pluggable solvers and bad input.

References are independent (tests/neppo_reference.py): hand-derived toy-game gaps, brute-force
normal-form gaps, scipy's DARE and a numpy Riccati recursion for the LQ potentials."""

from __future__ import annotations

import numpy as np
import pytest
from neppo_reference import (argmax_joint, brute_force_gaps, closed_form_gaps, closed_loop_cost, dare_gain,
                             neppo_alpha, riccati_gains, toy_gaps)

import gamesolve
from gamesolve import markov as mk
from gamesolve.errors import InputError
from gamesolve.potential import (CostPotential, MixedQuadraticPotential, RewardPotential, games, objective,
                                 potential_gaps, smooth_max, team_policy, unit_directions, weighted_costs,
                                 zeroth_order_gradient)

RNG = np.random.default_rng(14)


def toy():
    return games.toy_game(), games.toy_potential()


# --------------------------------------------------------------------------- the toy game

@pytest.mark.parametrize("w", [0.0, 0.2, 1 / 3, 0.4, 0.5, 0.59, 0.6, 0.75, 1.0, 1.1])
def test_toy_gaps_hand_computed(w):
    g, pot = toy()
    profile = pot.cooperative(g, [w])
    gaps, regrets = potential_gaps(g, pot, [w], profile)
    np.testing.assert_allclose(gaps, toy_gaps(w), atol=1e-14)
    assert np.all(regrets >= 0) and np.all(gaps >= regrets - 1e-14)  # Theorem 3.1, player by player
    phi = w * games.TOY_PAYOFFS[0] + (1 - w) * games.TOY_PAYOFFS[1]
    assert tuple(int(p[0].argmax()) for p in profile) == argmax_joint(phi)


def test_toy_objective_zero_exactly_on_interval():
    g, pot = toy()
    inside = np.linspace(0.6, 1.0, 41)
    assert all(objective(g, pot, [w]) == 0.0 for w in inside)
    outside = np.r_[np.linspace(0.0, 0.599, 30), np.linspace(1.001, 1.3, 10)]
    F = np.array([objective(g, pot, [w]) for w in outside])
    assert np.all(F > 0.01)
    want = np.array([smooth_max(toy_gaps(w), 1e4) for w in outside])
    np.testing.assert_allclose(F, want, rtol=1e-12)


def test_toy_neppo_from_half_finds_the_nash_equilibrium():
    g, pot = toy()
    # The cooperative learner's choice (max of r^1 + r^2, here w = 0.5) is (A2, B1): not Nash.
    coop = pot.cooperative(g, [0.5])
    assert [int(p[0].argmax()) for p in coop] == [1, 0]
    assert mk.nash_gap(g, coop) == pytest.approx(0.5)
    res = gamesolve.neppo(g, pot, [0.5], iterations=60, directions=1, temperature=0.05, projection=(0.0, 1.0))
    assert 0.6 <= res.theta[0] <= 1.0
    assert [int(p[0].argmax()) for p in res.policies] == [0, 0]  # (A1, B1), the unique Nash equilibrium
    assert res.epsilon == 0.0 and res.nash_gap == 0.0 and mk.nash_gap(g, res.policies) == 0.0
    assert res.status == "converged" and res.status.ok and res.exact
    assert res.history.theta.shape == (61, 1) and res.history.objective.shape == (61,)
    assert res.info.iterations == 60 and res.info.residual == 0.0
    assert res.history.objective[-1] < res.history.objective[0]


def test_returned_profile_is_the_exact_solution_at_the_final_theta():
    g, pot = toy()
    res = gamesolve.neppo(g, pot, [0.3], iterations=5, directions=2, temperature=0.5, projection=(0.0, 1.0))
    want = pot.cooperative(g, res.theta, temperature=0.0)
    for p, q in zip(res.policies, want):
        np.testing.assert_array_equal(p, q)
    gaps, regrets = potential_gaps(g, pot, res.theta, want)
    np.testing.assert_array_equal(res.gaps, gaps)
    np.testing.assert_array_equal(res.regrets, regrets)
    assert res.epsilon == gaps.max()


def test_seed_reproducible_and_directions_change_the_path():
    g, pot = games.alpha_game(0.6), MixedQuadraticPotential(2)
    kw = dict(iterations=8, projection=(0.0, 1.0), directions=3)
    a = gamesolve.neppo(g, pot, [0.7, 0.7], seed=3, **kw)
    b = gamesolve.neppo(g, pot, [0.7, 0.7], seed=3, **kw)
    np.testing.assert_array_equal(a.history.theta, b.history.theta)
    c = gamesolve.neppo(g, pot, [0.7, 0.7], seed=4, **kw)
    assert not np.array_equal(a.history.theta, c.history.theta)
    # in one dimension every direction is +-1 and the two-point estimate is the same for both
    g, pot = toy()
    one = [gamesolve.neppo(g, pot, [0.4], seed=s, iterations=4, temperature=0.1, directions=k).history.theta
           for s, k in ((0, 1), (5, 3))]
    np.testing.assert_allclose(one[0], one[1], rtol=1e-12)


# --------------------------------------------------------------------------- smooth max, zeroth-order gradient

def test_smooth_max_bounds_and_limits():
    gaps = np.array([0.3, 0.1, 0.25])
    for beta in (1.0, 10.0, 1e4):
        F = smooth_max(gaps, beta)
        assert gaps.max() - np.log(3) / beta - 1e-15 <= F <= gaps.max() + 1e-15
        if beta < 1e3:  # the naive formula overflows beyond
            np.testing.assert_allclose(F, np.log(np.mean(np.exp(beta * gaps))) / beta, rtol=1e-12)
    assert smooth_max([0.0, 0.0, 0.0], 5.0) == 0.0
    assert smooth_max([1e3, 0.0], 1e4) == pytest.approx(1e3 - np.log(2) / 1e4)  # no overflow
    assert smooth_max([np.inf, 0.0], 10.0) == np.inf


def smooth_f(theta):
    return float(np.sin(theta).sum() + 0.5 * theta @ np.diag([1.0, 2.0, 3.0]) @ theta + np.exp(0.3 * theta[0]))


def fd_grad(f, theta, h=1e-6):
    E = np.eye(theta.size)
    return np.array([(f(theta + h * e) - f(theta - h * e)) / (2 * h) for e in E])


def test_zeroth_order_gradient_against_finite_differences():
    theta = np.array([0.3, -0.7, 1.1])
    g_fd = fd_grad(smooth_f, theta)
    # Per direction, the two-point quotient is the directional derivative up to O(delta^2).
    V = unit_directions(np.random.default_rng(0), 7, 3)
    delta = 1e-3
    est = zeroth_order_gradient(smooth_f, theta, delta=delta, directions=V)
    want = 3 * (V * (V @ g_fd)[:, None]).mean(0)
    np.testing.assert_allclose(est, want, atol=1e-5)
    # Averaged over many directions it is the gradient (E[d v v'] = I), to the Monte-Carlo error.
    est = zeroth_order_gradient(smooth_f, theta, delta=1e-2, directions=40000, rng=1)
    np.testing.assert_allclose(est, g_fd, atol=4 * 3 * np.linalg.norm(g_fd) / np.sqrt(40000))
    # The batched call gives the same numbers.
    batched = zeroth_order_gradient(lambda P: np.array([smooth_f(p) for p in P]), theta, delta=1e-2,
                                    directions=V, batched=True)
    np.testing.assert_allclose(batched, zeroth_order_gradient(smooth_f, theta, delta=1e-2, directions=V), rtol=1e-15)


def test_zeroth_order_gradient_exact_for_quadratics_and_sphere():
    H = np.array([[2.0, 0.5], [0.5, 1.0]])
    f = lambda th: 0.5 * th @ H @ th + th[0]  # noqa: E731
    theta = np.array([0.2, -0.4])
    V = unit_directions(np.random.default_rng(5), 4, 2)
    np.testing.assert_allclose(np.linalg.norm(V, axis=1), 1.0, rtol=1e-15)
    grad = H @ theta + np.array([1.0, 0.0])
    est = zeroth_order_gradient(f, theta, delta=0.3, directions=V)  # exact for any delta
    np.testing.assert_allclose(est, 2 * (V * (V @ grad)[:, None]).mean(0), rtol=1e-12)


# --------------------------------------------------------------------------- tabular cooperative solver

def test_team_policy_temperature_limit_and_marginals():
    g, pot = toy()
    table = pot.table(g, [0.5])
    exact = team_policy(g, table, 0.0)
    # Phi_0.5 = (1, 0.75, 1.125, 1): the soft solution leaves the maximizer with weight ~ 2 exp(-0.125 / tau)
    for tau in (1e-1, 1e-2, 1e-3):
        soft = team_policy(g, table, tau)
        for p, q in zip(soft, exact):
            np.testing.assert_allclose(p, q, atol=2 * np.exp(-0.125 / tau), rtol=0)
        assert abs(soft[0][0, 0] - exact[0][0, 0]) > 0.1 * np.exp(-0.125 / tau)
    # tau > 0, one state: the marginals of softmax(Phi / tau) over joint actions
    tau = 0.3
    joint = np.exp(table[0] / tau)
    joint = (joint / joint.sum()).reshape(2, 2)
    soft = team_policy(g, table, tau)
    np.testing.assert_allclose(soft[0][0], joint.sum(1), rtol=1e-13)
    np.testing.assert_allclose(soft[1][0], joint.sum(0), rtol=1e-13)


def test_team_policy_markov_exact_and_soft_bellman():
    game = mk.coordination_game(2, gamma=0.9)
    reward = game.r[0].reshape(game.n_states, -1)
    exact = team_policy(game, reward, 0.0)
    assert mk.values(game, exact)[0] == pytest.approx(mk.optimal_welfare(game) / 2, rel=1e-12)
    soft = team_policy(game, reward, 1e-4)
    assert mk.values(game, soft)[0] == pytest.approx(mk.values(game, exact)[0], rel=1e-5)
    for p in soft:
        np.testing.assert_allclose(p.sum(-1), 1.0, rtol=1e-14)


# --------------------------------------------------------------------------- exact potential games: epsilon = 0

def test_exact_potential_normal_form_game_has_zero_gaps():
    shape = (2, 3, 2)
    phi = RNG.normal(size=shape)
    # r^i = Phi + h_i(a^{-i}): unilateral deviations change r^i and Phi equally (an exact potential game)
    h = [RNG.normal(size=tuple(1 if j == i else a for j, a in enumerate(shape))) for i in range(3)]
    payoffs = np.stack([phi + np.broadcast_to(h[i], shape) for i in range(3)])
    g = games.matrix_game(payoffs)
    pot = RewardPotential(lambda th: phi, dim=1)
    res = gamesolve.neppo(g, pot, [0.0], iterations=3, directions=1)
    assert res.epsilon == pytest.approx(0.0, abs=1e-14) and res.nash_gap == pytest.approx(0.0, abs=1e-14)
    assert res.status == "converged"
    # against brute force at a mixed profile (the gaps vanish everywhere in a potential game)
    mixed = [RNG.dirichlet(np.ones(a)) for a in shape]
    gaps, regrets = potential_gaps(g, pot, [0.0], [m[None] for m in mixed])
    ref_gaps, ref_regrets = brute_force_gaps(payoffs, phi, mixed)
    np.testing.assert_allclose(gaps, ref_gaps, atol=1e-13)
    np.testing.assert_allclose(regrets, ref_regrets, atol=1e-13)
    np.testing.assert_allclose(gaps, 0.0, atol=1e-13)


def test_markov_team_game_epsilon_zero():
    game = mk.coordination_game(3)
    pot = gamesolve.potential.weighted_rewards(game)  # all rewards equal: every theta is the true potential
    res = gamesolve.neppo(game, pot, [0.3, -0.2, 0.1], iterations=2, directions=1, temperature=0.1)
    assert res.epsilon == pytest.approx(0.0, abs=1e-9) and mk.nash_gap(game, res.policies) < 1e-9
    # the potential's value is the discounted return of the common reward
    profile = [RNG.dirichlet(np.ones(2), size=game.n_states) for _ in range(3)]
    np.testing.assert_allclose(pot.value(game, np.zeros(3), [profile, res.policies]),
                               [mk.values(game, profile)[0], mk.values(game, res.policies)[0]], rtol=1e-12)


def test_random_normal_form_gaps_against_brute_force():
    payoffs = RNG.normal(size=(2, 3, 4))
    g = games.matrix_game(payoffs)
    pot = gamesolve.potential.weighted_rewards(g)
    theta = np.array([0.4, -0.3])
    w = np.exp(theta) / np.exp(theta).sum()
    phi = np.tensordot(w, payoffs, axes=1)
    for tau in (0.0, 0.2):
        profile = pot.cooperative(g, theta, temperature=tau)
        gaps, regrets = potential_gaps(g, pot, theta, profile)
        ref = brute_force_gaps(payoffs, phi, [p[0] for p in profile])
        np.testing.assert_allclose(gaps, ref[0], atol=1e-13)
        np.testing.assert_allclose(regrets, ref[1], atol=1e-13)


# --------------------------------------------------------------------------- the alpha family

#: alpha -> (max regret, epsilon) of NePPO's profile with the authors' closed-form settings, and the
#: interior equilibrium (x, y) = (P(A2), P(B2)) from the indifference conditions by hand:
#: x = 2 (1 - 5a) / (3 - 19a), y = (1 + 3a) / (9a - 1) (in (0, 1) for a > 1/3).
ALPHA = {0.0: (0.0, 0.0), 0.2: (0.0, 0.0013), 0.4: (0.0380, 0.0679), 0.6: (0.0456, 0.1898),
         0.8: (0.0229, 0.2367), 1.0: (0.0, 0.25)}


@pytest.mark.parametrize("alpha", sorted(ALPHA))
def test_alpha_family_table(alpha):
    g = games.alpha_game(alpha)
    res = gamesolve.neppo(g, MixedQuadraticPotential(2), [0.75, 0.75], iterations=500, beta=1e4, delta=1e-2,
                          step=0.05, directions=10, projection=(0.0, 1.0), seed=0)
    regret, eps = ALPHA[alpha]
    assert res.nash_gap == pytest.approx(regret, abs=6e-5)
    assert res.epsilon == pytest.approx(eps, abs=6e-5)
    assert res.nash_gap <= res.epsilon + 1e-15
    eq = games.interior_equilibrium(games.alpha_payoffs(alpha))
    if alpha > 1 / 3:
        np.testing.assert_allclose(eq, (2 * (1 - 5 * alpha) / (3 - 19 * alpha), (1 + 3 * alpha) / (9 * alpha - 1)),
                                   rtol=1e-13)
        assert mk.nash_gap(g, games.mixed_profile(eq)) < 1e-14
    else:
        assert eq is None


@pytest.mark.parametrize("alpha", [0.2, 0.6])
def test_alpha_search_against_the_closed_form(alpha):
    """The whole search path equals the closed-form twin's (same direction stream), not just the end."""
    g, pot = games.alpha_game(alpha), MixedQuadraticPotential(2)
    kw = dict(iterations=60, beta=1e4, step=0.05, delta=1e-2, directions=10, seed=7)
    res = gamesolve.neppo(g, pot, [0.75, 0.75], projection=(0.0, 1.0), **kw)
    theta, regret, eps = neppo_alpha(alpha, **kw)
    np.testing.assert_allclose(res.theta, theta, atol=1e-13)
    assert res.nash_gap == pytest.approx(regret, abs=1e-13) and res.epsilon == pytest.approx(eps, abs=1e-13)
    u1, u2 = games.alpha_payoffs(alpha)
    for p in RNG.uniform(-0.2, 1.2, size=(5, 2)):  # also outside the box: the solution is the clipped p
        gaps, regrets = potential_gaps(g, pot, p, pot.cooperative(g, p))
        ref = closed_form_gaps(u1, u2, p)
        np.testing.assert_allclose(gaps, ref[0], atol=1e-14)
        np.testing.assert_allclose(regrets, ref[1], atol=1e-14)


def test_alpha_zero_is_the_toy_game_and_one_is_matching_pennies():
    np.testing.assert_array_equal(games.alpha_payoffs(0.0), games.TOY_PAYOFFS)
    mp = games.alpha_payoffs(1.0)
    np.testing.assert_array_equal(mp[0], -mp[1])
    np.testing.assert_array_equal(mp[0], [[1, -1], [-1, 1]])


def test_mixed_quadratic_potential_gaps():
    g = games.alpha_game(0.6)
    pot = MixedQuadraticPotential(2)
    p = np.array([0.3, 0.8])
    profile = pot.cooperative(g, p)
    gaps, regrets = potential_gaps(g, pot, p, profile)
    # gap_i = regret_i + (x_i' - p_i)^2 with x_i' the pure best response (Phi is maximal at x = p)
    payoffs = games.alpha_payoffs(0.6)
    phi_zero = np.zeros((2, 2))
    _, ref_regrets = brute_force_gaps(payoffs, phi_zero, [np.array([0.7, 0.3]), np.array([0.2, 0.8])])
    np.testing.assert_allclose(regrets, ref_regrets, atol=1e-14)
    u1 = payoffs[0] @ np.array([0.2, 0.8])
    u2 = np.array([0.7, 0.3]) @ payoffs[1]
    br = np.array([u1.argmax(), u2.argmax()], float)
    np.testing.assert_allclose(gaps, regrets + (br - p) ** 2, atol=1e-14)


# --------------------------------------------------------------------------- LQ potentials

def lq_data():
    d = games.lq_demo()
    A, B = d.game.A[0], d.game.B[0]
    return d, A, B


def test_lq_cooperative_is_the_lqr_of_the_potential_cost():
    d, A, B = lq_data()
    pot = d.potential
    theta = np.array([0.3, -0.2, 1.0, 0.1])
    Q, R = pot.cost(theta)
    K_ref, P = dare_gain(A, B, Q, R)
    K = pot.cooperative(d.game, theta)
    np.testing.assert_allclose(K, K_ref, rtol=1e-9, atol=1e-12)
    Sigma0 = d.context["x0_cov"]
    phi = pot.value(d.game, theta, [K, d.K_nash], **d.context)
    np.testing.assert_allclose(phi, [np.trace(P @ Sigma0), closed_loop_cost(A, B, Q, R, d.K_nash, Sigma0)],
                               rtol=1e-9)
    assert phi[0] < phi[1]  # the LQR minimizes the potential cost


def test_lq_gaps_at_the_nash_equilibrium_and_theorem_bound():
    d, A, B = lq_data()
    pot = d.potential
    theta = np.zeros(4)
    _, regrets = potential_gaps(d.game, pot, theta, d.K_nash, **d.context)
    np.testing.assert_allclose(regrets, 0.0, atol=1e-12)  # lq_nash's K: no player gains by deviating
    for theta in (np.zeros(4), RNG.normal(size=4)):
        K = pot.cooperative(d.game, theta)
        gaps, regrets = potential_gaps(d.game, pot, theta, K, **d.context)
        nash = gamesolve.equilibrium.nash_gap(d.game, K, **d.context)
        assert regrets.max() == pytest.approx(nash, rel=1e-9)
        assert np.all(gaps >= regrets - 1e-12) and np.all(regrets >= -1e-12)  # [NePPO] Theorem 3.1


def test_lq_finite_horizon_cooperative_and_team_game():
    rng = np.random.default_rng(2)
    n, dims, T = 3, (1, 2), 6
    A = rng.normal(size=(n, n)) * 0.5
    B = rng.normal(size=(n, 3))
    Qc = rng.normal(size=(n, n))
    Qc = Qc @ Qc.T + np.eye(n)
    Rc = rng.normal(size=(3, 3))
    Rc = Rc @ Rc.T + np.eye(3)
    x0 = rng.normal(size=n)
    # a team game: every player pays the same cost (an exact potential game with Phi = that cost)
    team = gamesolve.lq_game(A, B, np.stack([Qc, Qc]), np.stack([Rc, Rc]), horizon=T, dims=dims)
    pot = CostPotential(lambda th: (Qc, Rc), dim=1)
    K, k = pot.cooperative(team, [0.0])
    K_ref, _ = riccati_gains(A, B, Qc, Rc, Qc, T)
    np.testing.assert_allclose(K, K_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(K, gamesolve.solve_lq_game(team).K, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(k, 0.0)
    res = gamesolve.neppo(team, pot, [0.0], iterations=1, directions=1, context={"x0": x0})
    assert abs(res.epsilon) < 1e-10 and res.nash_gap < 1e-10
    # time-varying dynamics: the potential's weights are given the game's time axis
    At = A[None] * np.linspace(0.8, 1.2, T)[:, None, None]
    team_tv = gamesolve.lq_game(At, B, np.stack([Qc, Qc]), np.stack([Rc, Rc]), horizon=T, dims=dims)
    K, _ = pot.cooperative(team_tv, [0.0])
    np.testing.assert_allclose(K, gamesolve.solve_lq_game(team_tv).K, rtol=1e-10, atol=1e-12)
    res = gamesolve.neppo(team_tv, pot, [0.0], iterations=1, directions=1, context={"x0": x0})
    assert abs(res.epsilon) < 1e-10
    # a general-sum finite game: the weighted potential's gaps bound the true gaps
    Q2 = np.eye(n) * 2.0
    game = gamesolve.lq_game(A, B, np.stack([Qc, Q2]), [np.eye(1), 0.5 * np.eye(2)], horizon=T, dims=dims)
    wp = weighted_costs(game)
    K, k = wp.cooperative(game, np.zeros(4))
    Qw, Rw, QTw = wp.cost(np.zeros(4))
    np.testing.assert_allclose(K, riccati_gains(A, B, Qw, Rw, QTw, T)[0], rtol=1e-10, atol=1e-12)
    gaps, regrets = potential_gaps(game, wp, np.zeros(4), (K, k), x0=x0)
    assert np.all(gaps >= regrets - 1e-10) and regrets.max() > 1e-6
    assert regrets.max() == pytest.approx(gamesolve.equilibrium.nash_gap(game, (K, k), x0=x0), rel=1e-9)


def test_lq_team_infinite_horizon_epsilon_zero():
    d, A, B = lq_data()
    Qc, Rc = np.diag([1.0, 0.5]), np.diag([0.2, 0.3])
    team = gamesolve.lq_game(A, B, np.stack([Qc, Qc]), np.stack([Rc, Rc]), dims=(1, 1))
    res = gamesolve.neppo(team, lambda th: (Qc, Rc), [0.0], iterations=1, directions=1, context=d.context)
    assert abs(res.epsilon) < 1e-10 and res.nash_gap < 1e-10
    np.testing.assert_allclose(res.policies, dare_gain(A, B, Qc, Rc)[0], rtol=1e-9)


def test_lq_demo_neppo_reduces_epsilon_above_the_true_gap():
    d = games.lq_demo()
    res = gamesolve.neppo(d.game, d.potential, d.theta0, context=d.context, **d.settings)
    start_gaps, start_regrets = potential_gaps(d.game, d.potential, d.theta0,
                                               d.potential.cooperative(d.game, d.theta0), **d.context)
    assert start_gaps.max() == pytest.approx(2.70e-2, abs=5e-5)
    assert start_regrets.max() == pytest.approx(1.24e-3, abs=5e-6)
    assert res.epsilon < 0.2 * start_gaps.max()
    assert res.nash_gap <= res.epsilon
    assert res.nash_gap == pytest.approx(gamesolve.equilibrium.nash_gap(d.game, res.policies, **d.context), rel=1e-9)


# --------------------------------------------------------------------------- pluggable solvers

def test_plugged_solvers_are_used_and_final_gaps_stay_exact():
    g, pot = toy()
    calls = {"coop": 0, "br": 0, "values": 0}

    def coop(game, theta, temperature):
        calls["coop"] += 1
        return pot.cooperative(game, theta, temperature=temperature)

    def br(game, profile, player):
        calls["br"] += 1
        return mk.best_response(game, profile, player)

    def values(game, profile):
        calls["values"] += 1
        return mk.values(game, profile)

    kw = dict(iterations=6, directions=2, temperature=0.05, projection=(0.0, 1.0), seed=1)
    ref = gamesolve.neppo(g, pot, [0.5], **kw)
    res = gamesolve.neppo(g, pot, [0.5], cooperative=coop, best_response=br, values=values, **kw)
    np.testing.assert_allclose(res.history.theta, ref.history.theta, rtol=1e-12)
    assert calls["coop"] == 7 + 6 * 4 + 1 and calls["br"] == 2 * (7 + 6 * 4) and calls["values"] == 7 + 6 * 4
    # a best response that is wrong on purpose during the search: the reported gaps are still exact
    lazy = lambda game, profile, player, **ctx: (profile[player], mk.values(game, profile)[player])  # noqa: E731
    res = gamesolve.neppo(g, pot, [0.5], best_response=lazy, **kw)
    np.testing.assert_array_equal(res.gaps, potential_gaps(g, pot, res.theta, res.policies)[0])


class Env:
    """A game type with no equilibrium family: only the plugged solvers know it."""

    def __init__(self, game):
        self.game = game


def test_environment_without_exact_solvers():
    g, pot = toy()
    env = Env(g)
    table = lambda th: th[0] * games.TOY_PAYOFFS[0] + (1 - th[0]) * games.TOY_PAYOFFS[1]  # noqa: E731

    class EnvPotential(gamesolve.potential.PotentialFamily):
        dim = 1

        def value(self, e, theta, profiles, **ctx):
            return pot.value(e.game, theta, profiles)

        def cooperative(self, e, theta, *, temperature=0.0, **ctx):
            return RewardPotential(table).cooperative(e.game, theta, temperature=temperature)

    res = gamesolve.neppo(env, EnvPotential(), [0.5], iterations=30, directions=1, temperature=0.05,
                          projection=(0.0, 1.0), best_response=lambda e, p, i: mk.best_response(e.game, p, i),
                          values=lambda e, p: mk.values(e.game, p))
    assert not res.exact and 0.6 <= res.theta[0] <= 1.0 and res.epsilon == 0.0


# --------------------------------------------------------------------------- bad input

def test_bad_input():
    g, pot = toy()
    with pytest.raises(InputError, match=r"potential\(theta\) must return the reward table of shape .*\(1, 2, 2\), "
                                         r"got \(3, 2\)"):
        gamesolve.neppo(g, RewardPotential(lambda th: np.zeros((3, 2)), dim=1), [0.5])
    with pytest.raises(InputError, match=r"potential\(theta\) must be finite"):
        gamesolve.neppo(g, lambda th: np.full((2, 2), np.nan), [0.5])
    with pytest.raises(InputError, match=r"theta0 must have shape \(1,\) .* got \(2,\)"):
        gamesolve.neppo(g, pot, [0.5, 0.5])
    with pytest.raises(InputError, match=r"theta0 must be finite"):
        gamesolve.neppo(g, pot, [np.nan])
    for name in ("beta", "delta", "step"):
        for bad in (0.0, -1.0, np.inf):
            with pytest.raises(InputError, match=rf"{name} must be a positive finite number"):
                gamesolve.neppo(g, pot, [0.5], **{name: bad})
    with pytest.raises(InputError, match=r"directions must be an integer >= 1, got 0"):
        gamesolve.neppo(g, pot, [0.5], directions=0)
    with pytest.raises(InputError, match=r"temperature must be a finite number >= 0"):
        gamesolve.neppo(g, pot, [0.5], temperature=-0.1)
    with pytest.raises(InputError, match=r"potential must be a PotentialFamily or a callable"):
        gamesolve.neppo(g, 3.0, [0.5])
    d = games.lq_demo()
    with pytest.raises(InputError, match=r"potential\(theta\): R must have shape \(2, 2\), got \(1, 1\)"):
        gamesolve.neppo(d.game, lambda th: (np.eye(2), np.eye(1)), [0.0], context=d.context)
    with pytest.raises(InputError, match=r"potential\(theta\): Q must be finite"):
        gamesolve.neppo(d.game, lambda th: (np.full((2, 2), np.nan), np.eye(2)), [0.0], context=d.context)
    with pytest.raises(InputError, match=r"potential\(theta\) must return \(Q, R\) or \(Q, R, QT\)"):
        gamesolve.neppo(d.game, lambda th: np.eye(2), [0.0], context=d.context)
    with pytest.raises(InputError, match=r"game: the mixed quadratic potential needs a one-state game of 2 players"):
        gamesolve.neppo(mk.coordination_game(2), MixedQuadraticPotential(2), [0.5, 0.5])
    with pytest.raises(InputError, match=r"alpha must lie in \[0, 1\]"):
        games.alpha_game(1.5)


def test_public_names():
    assert gamesolve.neppo is gamesolve.potential.neppo
    assert "neppo" in gamesolve.__all__ and "potential" in gamesolve.__all__
    assert set(gamesolve.potential.__all__) <= set(dir(gamesolve.potential))


def test_docstring_examples():
    import doctest

    for mod in (gamesolve.potential.search, gamesolve.potential.tabular, gamesolve.potential.games):
        assert doctest.testmod(mod).failed == 0, mod.__name__
