"""gamesolve.markov: exact values, gradients, Nash gap, price of anarchy and the learners, against
independent derivations (loops over states and joint actions, finite differences, brute force
over deterministic deviations, Monte Carlo simulation)."""

import itertools

import numpy as np
import pytest

from gamesolve import InputError, Status, equilibrium
from gamesolve import markov as mk
from gamesolve.markov import exact, learners


def random_game(rng, S=3, actions=(2, 3), gamma=0.8):
    N = len(actions)
    P = rng.random((S, *actions, S)) + 0.05
    P /= P.sum(-1, keepdims=True)
    r = rng.standard_normal((N, S, *actions))
    mu = rng.random(S) + 0.1
    return mk.MarkovGame(P, r, gamma=gamma, mu=mu / mu.sum())


def random_profile(rng, game, scale=1.0):
    out = []
    for a in game.n_actions:
        p = np.exp(scale * rng.standard_normal((game.n_states, a)))
        out.append(p / p.sum(-1, keepdims=True))
    return out


def loop_values(game, policies):
    """V^i(mu) by building P_pi and r_pi with explicit loops and one linear solve per player."""
    S, N = game.n_states, game.n_players
    P_pi, r_pi = np.zeros((S, S)), np.zeros((N, S))
    for s in range(S):
        for a in itertools.product(*(range(k) for k in game.n_actions)):
            w = np.prod([policies[i][s, a[i]] for i in range(N)])
            P_pi[s] += w * game.P[(s, *a)]
            r_pi[:, s] += w * game.r[(slice(None), s, *a)]
    V = np.linalg.solve(np.eye(S) - game.gamma * P_pi, r_pi.T)
    return game.mu @ V


def softmax_profile(game, theta):
    return [np.exp(t - t.max(-1, keepdims=True)) / np.exp(t - t.max(-1, keepdims=True)).sum(-1, keepdims=True)
            for t in theta]


def deterministic_policies(S, A):
    for choice in itertools.product(range(A), repeat=S):
        yield np.eye(A)[list(choice)]


def test_values_linear_solve(rng):
    game = random_game(rng)
    pols = random_profile(rng, game)
    np.testing.assert_allclose(mk.values(game, pols), loop_values(game, pols), rtol=1e-12, atol=1e-12)
    batch = [np.stack([p, q]) for p, q in zip(pols, random_profile(rng, game))]
    v = mk.values(game, batch)
    assert v.shape == (2, 2)
    np.testing.assert_allclose(v[0], loop_values(game, pols), rtol=1e-12)


def test_values_monte_carlo():
    """Seeded simulation of 20000 episodes (truncated at gamma^40 ~ 1e-9), loose tolerance."""
    rng = np.random.default_rng(3)
    game = random_game(rng, gamma=0.6)
    pols = random_profile(rng, game)
    N, H, E = game.n_players, 40, 20000

    def draw(probs):  # one categorical draw per row of probs (E, K)
        return np.minimum((probs.cumsum(-1) < rng.random((len(probs), 1))).sum(-1), probs.shape[-1] - 1)

    s = draw(np.tile(game.mu, (E, 1)))
    total, disc = np.zeros((E, N)), 1.0
    for _ in range(H):
        a = tuple(draw(p[s]) for p in pols)
        total += disc * game.r[(slice(None), s, *a)].T
        s = draw(game.P[(s, *a)])
        disc *= game.gamma
    est, se = total.mean(0), total.std(0) / np.sqrt(E)
    np.testing.assert_allclose(est, mk.values(game, pols), atol=5 * se.max())


def test_visitation_and_q(rng):
    game = random_game(rng)
    pols = random_profile(rng, game)
    d = mk.visitation(game, pols)
    assert d.sum() == pytest.approx(1 / (1 - game.gamma))
    # V^i(mu) = sum_s d(s) r_pi^i(s)
    Q = mk.q_values(game, pols)
    joint = np.einsum("sa,sb->sab", *pols)
    r_pi = np.einsum("sab,isab->is", joint, game.r)
    np.testing.assert_allclose(r_pi @ d, mk.values(game, pols), rtol=1e-12)
    # V^i(s) = sum_a pi(a|s) Q^i(s, a), so the marginal advantages average to zero under pi^i
    for i, A in enumerate(mk.advantages(game, pols)):
        np.testing.assert_allclose(np.sum(pols[i] * A, -1), 0, atol=1e-12)
    V_s = np.einsum("sab,isab->is", joint, Q)
    np.testing.assert_allclose(game.mu @ V_s.T, mk.values(game, pols), rtol=1e-12)


def test_policy_gradient_finite_differences(rng):
    game = random_game(rng)
    theta = [rng.standard_normal((game.n_states, a)) for a in game.n_actions]
    pol, _ = exact.as_profile(game, softmax_profile(game, theta))
    ev = exact.evaluate(game, pol)
    grad = exact.unpad(game, ev.d[:, None, :, None] * pol * ev.advantage, (1,))
    h = 1e-5
    for i in range(game.n_players):
        fd = np.zeros_like(theta[i])
        for idx in np.ndindex(theta[i].shape):
            vals = []
            for sgn in (1, -1):
                th = [t.copy() for t in theta]
                th[i][idx] += sgn * h
                vals.append(mk.values(game, softmax_profile(game, th))[i])
            fd[idx] = (vals[0] - vals[1]) / (2 * h)
        np.testing.assert_allclose(grad[i][0], fd, atol=1e-7)


def test_log_barrier_gradient_finite_differences(rng):
    game = random_game(rng)
    lam = 0.7
    theta = [rng.standard_normal((game.n_states, a)) for a in game.n_actions]

    def barrier(th):
        return sum(lam * np.log(p).sum() / p.size for p in softmax_profile(game, th))

    pol, _ = exact.as_profile(game, softmax_profile(game, theta))
    g = exact.unpad(game, learners.barrier_gradient(pol, lam, game.joint.mask), (1,))
    h = 1e-6
    for i in range(game.n_players):
        for idx in np.ndindex(theta[i].shape):
            th_p = [t.copy() for t in theta]
            th_m = [t.copy() for t in theta]
            th_p[i][idx] += h
            th_m[i][idx] -= h
            assert g[i][0][idx] == pytest.approx((barrier(th_p) - barrier(th_m)) / (2 * h), abs=1e-7)


def test_npg_closed_form_fisher(rng):
    """One NPG step equals theta + eta F^+ grad V with the Fisher matrix under the normalized visitation."""
    game = random_game(rng)
    theta = [rng.standard_normal((game.n_states, a)) for a in game.n_actions]
    eta = 0.3
    res = mk.learn(game, "npg", iterations=1, step=eta, theta0=theta)
    pols = softmax_profile(game, theta)
    d_norm = (1 - game.gamma) * mk.visitation(game, pols)
    pol, _ = exact.as_profile(game, pols)
    ev = exact.evaluate(game, pol)
    for i, p in enumerate(pols):
        S, A = p.shape
        F = np.zeros((S * A, S * A))
        for s in range(S):
            block = np.diag(p[s]) - np.outer(p[s], p[s])  # E[grad log pi grad log pi'] at s
            F[s * A:(s + 1) * A, s * A:(s + 1) * A] = d_norm[s] * block
        grad = (ev.d[0][:, None] * p * ev.advantage[0, i, :, :A]).ravel()
        new = theta[i] + eta * (np.linalg.pinv(F) @ grad).reshape(S, A)
        np.testing.assert_allclose(res.policies[i], softmax_profile(game, [new])[0], rtol=1e-9)
        # and the closed form theta + eta / (1 - gamma) A
        np.testing.assert_allclose(res.theta[i], theta[i] + eta / (1 - game.gamma) * mk.advantages(game, pols)[i],
                                   rtol=1e-12)


def brute_force_gaps(game, pols):
    v = mk.values(game, pols)
    gaps = []
    for i in range(game.n_players):
        best = max(mk.values(game, pols[:i] + [dev] + pols[i + 1:])[i]
                   for dev in deterministic_policies(game.n_states, game.n_actions[i]))
        gaps.append(best - v[i])
    return np.array(gaps)


def test_nash_gap_brute_force(rng):
    game = random_game(rng)
    for scale in (0.5, 3.0):
        pols = random_profile(rng, game, scale)
        np.testing.assert_allclose(mk.player_gaps(game, pols), brute_force_gaps(game, pols), atol=1e-10)
        assert mk.nash_gap(game, pols) == pytest.approx(brute_force_gaps(game, pols).max(), abs=1e-10)
        assert mk.nash_gap(game, pols) == equilibrium.nash_gap(game, pols)


def test_coordination_pure_nash_and_perturbed():
    game = mk.coordination_game(2)
    zeros = [np.tile([1.0, 0.0], (4, 1))] * 2
    ones = [np.tile([0.0, 1.0], (4, 1))] * 2
    assert mk.nash_gap(game, zeros) == pytest.approx(0, abs=1e-10)
    assert mk.nash_gap(game, ones) == pytest.approx(0, abs=1e-10)
    assert mk.price_of_anarchy(game, zeros) == pytest.approx(1.0, abs=1e-12)
    assert mk.price_of_anarchy(game, ones) < 0.9
    bent = [np.tile([0.8, 0.2], (4, 1)), zeros[1]]
    np.testing.assert_allclose(mk.player_gaps(game, bent), brute_force_gaps(game, bent), atol=1e-10)
    assert mk.nash_gap(game, bent) > 0.1


def test_social_optimum_brute_force():
    """The optimal welfare over product policies: brute force over deterministic joint policies."""
    rng = np.random.default_rng(5)
    game = random_game(rng, S=2, actions=(2, 2), gamma=0.7)
    best, arg = -np.inf, None
    for a0 in deterministic_policies(2, 2):
        for a1 in deterministic_policies(2, 2):
            w = mk.values(game, [a0, a1]).sum()
            if w > best:
                best, arg = w, [a0, a1]
    assert mk.optimal_welfare(game) == pytest.approx(best, rel=1e-12)
    if best > 0:
        assert mk.price_of_anarchy(game, arg) == pytest.approx(1.0, rel=1e-12)


def test_normal_form_game():
    """S = 1, gamma = 0: values are pi_1' U_i pi_2 and best responses are best pure replies."""
    U = np.array([[[3.0, 0.0], [5.0, 1.0]], [[3.0, 5.0], [0.0, 1.0]]])  # prisoner's dilemma
    game = mk.MarkovGame(np.ones((1, 2, 2, 1)), U[:, None], gamma=0.0)
    x, y = np.array([[0.3, 0.7]]), np.array([[0.6, 0.4]])
    np.testing.assert_allclose(mk.values(game, [x, y]), [x[0] @ U[0] @ y[0], x[0] @ U[1] @ y[0]])
    defect = [np.array([[0.0, 1.0]])] * 2
    assert mk.nash_gap(game, defect) == 0.0
    assert mk.price_of_anarchy(game, defect) == pytest.approx(2 / 6)
    br, v = mk.best_response(game, [x, y], 0)
    np.testing.assert_array_equal(br, [[0.0, 1.0]])
    assert v == pytest.approx(max(U[0] @ y[0]))


def test_coordination_game_layout():
    game = mk.coordination_game(3, eps=0.2)
    assert game.P.shape == (8, 2, 2, 2, 8) and game.r.shape == (3, 8, 2, 2, 2)
    # all act 0: next state 000 with prob 0.8^3; state 6 = bits 110 (player 1 most significant)
    assert game.P[5, 0, 0, 0, 0] == pytest.approx(0.8 ** 3)
    assert game.P[5, 1, 1, 0, 6] == pytest.approx(0.8 * 0.8 * 0.8)
    assert game.P[5, 0, 1, 0, 6] == pytest.approx(0.2 * 0.8 * 0.8)
    np.testing.assert_array_equal(game.r[0, :, 0, 0, 0], [3, 0, 0, 1, 0, 1, 1, 2])
    five = mk.coordination_game(5)
    counts = np.array([bin(s).count("1") for s in range(32)])  # ones per state
    expect = np.select([counts == 0, counts == 1, counts == 2, counts == 3, counts == 4, counts == 5],
                       [3, 3, 0, 1, 2, 2])
    np.testing.assert_array_equal(five.r[2, :, 1, 0, 1, 0, 1], expect)


METHOD_KW = {"pg": {}, "log-barrier": {"lam": 0.1}, "npg": {}, "npg-br": {"inner_steps": 3},
             "npg-lam": {"lam": 0.1}}


@pytest.mark.parametrize("method", list(METHOD_KW))
def test_history_ends_at_nash_gap(method):
    game = mk.coordination_game(3)
    m = "npg" if method == "npg-lam" else method
    res = mk.learn(game, m, iterations=30, step=0.1, n_inits=4, seed=2, **METHOD_KW[method])
    assert res.nash_gap.shape == res.poa.shape == (4, 31)
    np.testing.assert_allclose(res.nash_gap[:, -1], mk.nash_gap(game, res.policies), atol=1e-10)
    np.testing.assert_allclose(res.poa[:, -1], mk.price_of_anarchy(game, res.policies), rtol=1e-12)
    single = mk.learn(game, m, iterations=30, step=0.1, theta0=[t[1] for t in res_theta0(game, 4, 2)],
                      **METHOD_KW[method])
    assert single.nash_gap.shape == (31,)
    np.testing.assert_allclose(single.nash_gap, res.nash_gap[1], atol=1e-10)
    assert single.info.iterations == 30 and single.status in (Status.CONVERGED, Status.MAX_ITERATIONS)


def res_theta0(game, n, seed):
    """The initial parameters learn draws for n_inits=n, seed=seed (standard normal)."""
    th = np.random.default_rng(seed).standard_normal((n, game.n_players, game.n_states, game.joint.A_max))
    return [th[:, i, :, :a] for i, a in enumerate(game.n_actions)]


def test_npg_br_moves_one_player_by_max_gain(rng):
    game = random_game(rng, actions=(2, 2, 2))
    theta = [rng.standard_normal((game.n_states, a)) for a in game.n_actions]
    K, eta = 4, 0.2
    res = mk.learn(game, "npg-br", iterations=1, step=eta, theta0=theta, inner_steps=K)
    pols = softmax_profile(game, theta)
    v0 = mk.values(game, pols)
    gains, candidates = [], []
    for i in range(game.n_players):
        th = theta[i].copy()
        for _ in range(K):  # NPG on player i's problem with the others frozen
            prof = pols[:i] + softmax_profile(game, [th]) + pols[i + 1:]
            th = th + eta / (1 - game.gamma) * mk.advantages(game, prof)[i]
        candidates.append(th)
        gains.append(mk.values(game, pols[:i] + softmax_profile(game, [th]) + pols[i + 1:])[i] - v0[i])
    best = int(np.argmax(gains))
    for i in range(game.n_players):
        np.testing.assert_allclose(res.theta[i], candidates[i] if i == best else theta[i], rtol=1e-10, atol=1e-12)


def test_npg_converges_on_coordination():
    game = mk.coordination_game(2)
    res = mk.learn(game, "npg", iterations=300, step=0.1, n_inits=3, seed=0)
    assert res.status is Status.CONVERGED and res.status.ok
    assert res.info.residual == pytest.approx(res.nash_gap[:, -1].max())
    assert np.all(res.poa <= 1 + 1e-12)


def test_bad_inputs():
    P = np.full((2, 2, 2), 0.5)
    r = np.zeros((1, 2, 2))
    with pytest.raises(InputError, match="P rows must sum to 1"):
        mk.MarkovGame(P * 1.1, r, gamma=0.9)
    neg = P.copy()
    neg[0, 0] = [1.5, -0.5]
    with pytest.raises(InputError, match="P must be non-negative"):
        mk.MarkovGame(neg, r, gamma=0.9)
    with pytest.raises(InputError, match=r"gamma must lie in \[0, 1\)"):
        mk.MarkovGame(P, r, gamma=1.0)
    with pytest.raises(InputError, match="r must have shape"):
        mk.MarkovGame(P, np.zeros((1, 2, 3)), gamma=0.9)
    with pytest.raises(InputError, match="mu rows must sum to 1"):
        mk.MarkovGame(P, r, gamma=0.9, mu=[0.5, 0.6])
    with pytest.raises(InputError, match="P must be finite"):
        mk.MarkovGame(np.full((2, 2, 2), np.nan), r, gamma=0.9)
    game = mk.coordination_game(2)
    good = np.tile([0.5, 0.5], (4, 1))
    with pytest.raises(InputError, match=r"policies\[1\] rows must lie on the simplex"):
        mk.values(game, [good, np.tile([0.7, 0.7], (4, 1))])
    with pytest.raises(InputError, match=r"policies\[0\] must have shape"):
        mk.nash_gap(game, [np.tile([1 / 3] * 3, (4, 1)), good])
    with pytest.raises(InputError, match="one policy per player"):
        mk.price_of_anarchy(game, [good])
    with pytest.raises(InputError, match="method must be one of"):
        mk.learn(game, "sgd", iterations=1, step=0.1)
    with pytest.raises(InputError, match="lam must be positive"):
        mk.learn(game, "log-barrier", iterations=1, step=0.1)
    with pytest.raises(InputError, match=r"theta0\[1\] must have shape"):
        mk.learn(game, "pg", iterations=1, step=0.1, theta0=[np.zeros((4, 2)), np.zeros((4, 3))])
    with pytest.raises(InputError, match="step must be positive"):
        mk.learn(game, "pg", iterations=1, step=0.0)


# ---- the compiled learner loop against a plain numpy reference ------------------------------
def numpy_learn(game, method, theta, iterations, step, lam=0.0, K=5):
    """The exact learners written with the numpy kernels of gamesolve.markov.exact (a reference
    independent of the compiled loop): returns theta and the Nash-gap and POA histories."""
    mask, opt = game.joint.mask, exact.welfare_optimum(game)
    gaps, poa = [], []
    scale = 1.0 / (1.0 - game.gamma)
    for t in range(iterations + 1):
        pol = learners.softmax(theta, mask)
        ev = exact.evaluate(game, pol)
        _, br = exact.best_responses(game, ev)
        gaps.append((br - ev.value).max(-1))
        poa.append(ev.value.sum(-1) / opt)
        if t == iterations:
            break
        adv = np.where(mask[:, None, :], ev.advantage, 0.0)
        bar = learners.barrier_gradient(pol, lam, mask)
        if method in ("pg", "log-barrier"):
            theta = theta + step * (ev.d[:, None, :, None] * pol * adv + bar)
        elif method == "npg":
            theta = theta + step * (adv * scale + bar)
        else:
            P_i, r_i = exact.induced_mdps(game, ev.pi_minus)
            th, pk, a = theta.copy(), pol, adv
            for k in range(K):
                if k:
                    V, Q = exact.evaluate_mdp(P_i, r_i, pk, game.gamma)
                    a = np.where(mask[:, None, :], Q - V[..., None], 0.0)
                th = th + step * (a * scale + learners.barrier_gradient(pk, lam, mask))
                pk = learners.softmax(th, mask)
            V, _ = exact.evaluate_mdp(P_i, r_i, pk, game.gamma)
            best = (V @ game.mu - ev.value).argmax(-1)
            rows = np.arange(theta.shape[0])
            theta = theta.copy()
            theta[rows, best] = th[rows, best]
    return theta, np.stack(gaps, -1), np.stack(poa, -1)


@pytest.mark.parametrize("method, lam", [("pg", 0.0), ("log-barrier", 0.3), ("npg", 0.0), ("npg", 0.2),
                                         ("npg-br", 0.0), ("npg-br", 0.1)])
def test_compiled_loop_matches_numpy(method, lam):
    """Padded action counts (2, 2, 3), three inits, every method: histories and parameters to ~1e-12."""
    rng = np.random.default_rng(11)
    game = random_game(rng, S=4, actions=(2, 2, 3), gamma=0.85)
    theta0 = [rng.standard_normal((3, game.n_states, a)) for a in game.n_actions]
    res = mk.learn(game, method, iterations=6, step=0.2, theta0=theta0, lam=lam, inner_steps=3)
    theta, _ = exact.as_profile(game, softmax_profile(game, theta0))  # the padded stack's shape
    theta = np.zeros(theta.shape)
    for i, t in enumerate(theta0):
        theta[:, i, :, :t.shape[-1]] = t
    th, gaps, poa = numpy_learn(game, method, theta, 6, 0.2, lam, 3)
    np.testing.assert_allclose(res.nash_gap, gaps, rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.poa, poa, rtol=1e-12)
    for i, t in enumerate(res.theta):
        np.testing.assert_allclose(t, th[:, i, :, :t.shape[-1]], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(res.policies[2], learners.softmax(th, game.joint.mask)[:, 2], rtol=1e-12)


def test_compiled_evaluation_matches_numpy(rng):
    game = random_game(rng, S=5, actions=(3, 2), gamma=0.9)
    pols = [np.stack([p, q]) for p, q in zip(random_profile(rng, game), random_profile(rng, game, 4.0))]
    pol, _ = exact.as_profile(game, pols)
    ev = exact.evaluate(game, pol)
    V, value, adv, d = game.joint.kernel.evaluate(pol)
    np.testing.assert_allclose(V, ev.V, rtol=1e-12)
    np.testing.assert_allclose(value, ev.value, rtol=1e-12)
    np.testing.assert_allclose(adv, np.where(game.joint.mask[:, None, :], ev.advantage, 0.0), atol=1e-12)
    np.testing.assert_allclose(d, ev.d, rtol=1e-12)
    gains, values = game.joint.kernel.player_gains(pol)
    np.testing.assert_allclose(gains, mk.player_gaps(game, pols), atol=1e-12)
    np.testing.assert_allclose(values, mk.values(game, pols), rtol=1e-12)
    # the kernel flushes denormals during its calls only: the caller's mode is restored
    assert np.finfo(float).tiny / 4 > 0


def test_game_pickles_after_learning():
    import copy
    import pickle

    game = mk.coordination_game(2)
    res = mk.learn(game, "npg-br", iterations=5, step=0.1, n_inits=2, seed=1)  # builds the compiled kernel
    for other in (pickle.loads(pickle.dumps(game)), copy.deepcopy(game)):
        again = mk.learn(other, "npg-br", iterations=5, step=0.1, n_inits=2, seed=1)
        np.testing.assert_array_equal(again.nash_gap, res.nash_gap)


def test_divergence_stops_the_run():
    """A step that overflows theta: status DIVERGED, history NaN from the first non-finite iterate."""
    game = mk.coordination_game(2)
    res = mk.learn(game, "npg", iterations=5, step=1e308, n_inits=2, seed=0)
    assert res.status is Status.DIVERGED
    assert np.all(np.isfinite(res.nash_gap[:, 0])) and np.all(np.isnan(res.nash_gap[:, 1:]))
    assert np.all(np.isnan(res.poa[:, 1:]))
