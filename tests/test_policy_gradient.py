"""Tests of the policy-gradient tools (MA-GPS sections III-IV) and the Fig. 1 trends."""

import numpy as np
import pytest

from gamesolve import (InputError, guided_lq_nash, lq_cost, lq_nash, pseudo_gradient,
                       pseudo_gradient_jacobian, simulate_policy_gradient)
from gamesolve.examples import lq_example

import lq_nash_reference as ref

G = lq_example()
S0 = G.Sigma0
K_STAR = lq_nash(G.A, G.B, G.Q, G.R).K
BIAS = np.array([[0.1, 0.05], [-0.1, 0.05]])
K_GUIDE = K_STAR + BIAS                       # a deliberately biased guide
K_START = K_STAR + np.array([[-0.05, 0.02], [0.05, -0.02]])
ETA = 2.0


def _J(K, rho=0.0, Kg=None):
    """Guided costs by brute-force simulation of the two initial states (independent oracle)."""
    B = np.hstack(G.B)
    out = np.zeros(2)
    for x0, p in zip(G.x0s, G.probs):
        x = x0.copy()
        for _ in range(3000):
            u = -K @ x
            for i in range(2):
                ui = u[i:i + 1]
                out[i] += p * (x @ G.Q[i] @ x + ui @ G.R[i] @ ui)
                if rho:
                    d = (K[i:i + 1] - Kg[i:i + 1]) @ x
                    out[i] += p * rho * d @ G.R[i] @ d
            x = G.A @ x + B @ u
    return out


def test_lq_cost_equals_simulated_cost():
    K = K_STAR + 0.03
    np.testing.assert_allclose(lq_cost(G.A, G.B, G.Q, G.R, K, S0), _J(K), rtol=1e-10)
    # an initial state instead of Sigma0
    np.testing.assert_allclose(lq_cost(G.A, G.B, G.Q, G.R, K, G.x0)[0],
                               lq_cost(G.A, G.B, G.Q, G.R, K, np.outer(G.x0, G.x0))[0])


@pytest.mark.parametrize("rho", [0.0, 0.5])
def test_pseudo_gradient_equals_finite_differences(rho):
    K = K_STAR + np.array([[0.02, -0.01], [0.03, 0.01]])
    Kg = K_GUIDE if rho else None
    w = pseudo_gradient(G.A, G.B, G.Q, G.R, K, S0, K_guide=Kg, rho=rho)
    h = 1e-6
    for i in range(2):                      # player i's own gradient of its own cost
        for b in range(2):
            E = np.zeros((2, 2))
            E[i, b] = h
            if rho:
                Jp = guided_cost(K + E, rho, Kg)[i]
                Jm = guided_cost(K - E, rho, Kg)[i]
            else:
                Jp = lq_cost(G.A, G.B, G.Q, G.R, K + E, S0)[i]
                Jm = lq_cost(G.A, G.B, G.Q, G.R, K - E, S0)[i]
            assert abs((Jp - Jm) / (2 * h) - w[i, b]) <= 1e-6 * max(1, abs(w[i, b]))


def guided_cost(K, rho, Kg):
    """J-hat^i = tr(P-hat^i Sigma0), P-hat by scipy Stein on the guided stage cost (eq. 13)."""
    P_hat = ref.guided_value(G.A, np.hstack(G.B), G.Q, G.R, K, Kg, rho, (1, 1))
    return np.array([np.trace(P @ S0) for P in P_hat])


def test_guided_cost_oracle_matches_simulation():
    K = K_STAR + 0.01
    np.testing.assert_allclose(guided_cost(K, 0.7, K_GUIDE), _J(K, 0.7, K_GUIDE), rtol=1e-10)


def test_gradient_vanishes_at_nash_and_guided_nash():
    assert np.abs(pseudo_gradient(G.A, G.B, G.Q, G.R, K_STAR, S0)).max() < 1e-13
    Kh = guided_lq_nash(G.A, G.B, G.Q, G.R, K_GUIDE, 0.3).K
    assert np.abs(pseudo_gradient(G.A, G.B, G.Q, G.R, Kh, S0, K_guide=K_GUIDE, rho=0.3)).max() < 1e-13
    assert np.abs(pseudo_gradient(G.A, G.B, G.Q, G.R, Kh, S0)).max() > 1e-4


@pytest.mark.parametrize("rho", [0.0, 0.2])
def test_jacobian_equals_finite_differences(rho):
    Kg = K_GUIDE if rho else None
    K = K_STAR + np.array([[0.04, -0.02], [0.01, 0.03]])      # away from the equilibrium (F != 0)
    J = pseudo_gradient_jacobian(G.A, G.B, G.Q, G.R, K, S0, K_guide=Kg, rho=rho)
    h = 1e-6
    Jfd = np.zeros((4, 4))
    for c in range(4):
        E = np.zeros(4)
        E[c] = h
        E = E.reshape(2, 2)
        Jfd[:, c] = ((pseudo_gradient(G.A, G.B, G.Q, G.R, K + E, S0, K_guide=Kg, rho=rho)
                      - pseudo_gradient(G.A, G.B, G.Q, G.R, K - E, S0, K_guide=Kg, rho=rho)) / (2 * h)).ravel()
    np.testing.assert_allclose(J, Jfd, atol=h ** (2 / 3) * np.abs(J).max())


def test_random_game_jacobian_equals_finite_differences():
    A, B, Q, R, dims = ref.random_game(3, 4, 1, 2, radius=0.9)
    rng = np.random.default_rng(1)
    K = lq_nash(A, B, Q, R, dims=dims).K + 0.02 * rng.standard_normal((3, 4))
    L = rng.standard_normal((4, 4))
    Sig = L @ L.T + np.eye(4)
    J = pseudo_gradient_jacobian(A, B, Q, R, K, Sig, dims=dims)
    h = 1e-6
    for c in (0, 5, 11):
        E = np.zeros(12)
        E[c] = h
        E = E.reshape(3, 4)
        d = (pseudo_gradient(A, B, Q, R, K + E, Sig, dims=dims) - pseudo_gradient(A, B, Q, R, K - E, Sig, dims=dims))
        np.testing.assert_allclose(J[:, c], d.ravel() / (2 * h), atol=h ** (2 / 3) * np.abs(J).max())


# ------------------------------------------------------------ Fig. 1 trends
def test_rho_zero_does_not_settle_small_rho_converges():
    free = simulate_policy_gradient(G.A, G.B, G.Q, G.R, K_START, S0, eta=ETA, steps=3000)
    assert free.status == "max_iterations" and not free.converged
    assert free.grad_norm[-1] > 1e-4                     # still circling, far from stationary
    # the step is locally unstable at K*: an eigenvalue of I - eta J lies outside the unit circle
    J = pseudo_gradient_jacobian(G.A, G.B, G.Q, G.R, K_STAR, S0)
    assert np.max(np.abs(1 - ETA * np.linalg.eigvals(J))) > 1
    rho = 0.1
    Kh = guided_lq_nash(G.A, G.B, G.Q, G.R, K_GUIDE, rho).K
    guided = simulate_policy_gradient(G.A, G.B, G.Q, G.R, K_START, S0, eta=ETA, steps=5000,
                                      K_guide=K_GUIDE, rho=rho, gtol=1e-9)
    assert guided.converged
    np.testing.assert_allclose(guided.K[-1], Kh, atol=1e-6)
    Jg = pseudo_gradient_jacobian(G.A, G.B, G.Q, G.R, Kh, S0, K_guide=K_GUIDE, rho=rho)
    assert np.max(np.abs(1 - ETA * np.linalg.eigvals(Jg))) < 1


def test_bias_grows_with_rho_and_eq14_bound_holds():
    B = np.hstack(G.B)
    Ps = lq_nash(G.A, G.B, G.Q, G.R).P
    AKs = G.A - B @ K_STAR
    biases, re_min = [], []
    for rho in [0.01, 0.03, 0.1, 0.3, 1.0, 3.0]:
        sol = guided_lq_nash(G.A, G.B, G.Q, G.R, K_GUIDE, rho)
        Kh = sol.K
        biases.append(np.linalg.norm(Kh - K_STAR))
        AKh = G.A - B @ Kh
        for i in range(2):
            Ri = G.R[i]
            mix = rho / (1 + rho) * K_GUIDE[i:i + 1] + K_STAR[i:i + 1] / (1 + rho)
            lhs = np.linalg.norm(Kh[i:i + 1] - mix, 2)
            rhs = (np.linalg.norm(np.linalg.inv(Ri), 2) * np.linalg.norm(B[:, i:i + 1].T, 2)
                   * np.linalg.norm(sol.P[i] @ AKh - Ps[i] @ AKs, 2) / (1 + rho))
            assert lhs <= rhs * (1 + 1e-10) + 1e-15
        ev = np.linalg.eigvals(pseudo_gradient_jacobian(G.A, G.B, G.Q, G.R, Kh, S0, K_guide=K_GUIDE, rho=rho))
        re_min.append(ev.real.min())
    assert np.all(np.diff(biases) > 0)
    # rho -> infinity: the guided equilibrium approaches the guide
    assert np.linalg.norm(guided_lq_nash(G.A, G.B, G.Q, G.R, K_GUIDE, 1e4).K - K_GUIDE) < 1e-3
    # guidance pushes the least-stable eigenvalue to the right
    assert re_min[-1] > re_min[0] > 0


# -------------------------------------------------------------- bad input
def test_bad_input():
    with pytest.raises(InputError, match="K is not stabilizing"):
        lq_cost(G.A, G.B, G.Q, G.R, np.full((2, 2), 10.0), S0)
    with pytest.raises(InputError, match=r"Sigma0 must have shape \(2, 2\)"):
        pseudo_gradient(G.A, G.B, G.Q, G.R, K_STAR, np.eye(3))
    with pytest.raises(InputError, match=r"K must have shape \(2, 2\)"):
        pseudo_gradient_jacobian(G.A, G.B, G.Q, G.R, np.zeros((1, 2)), S0)
    with pytest.raises(InputError, match="needs K_guide"):
        pseudo_gradient(G.A, G.B, G.Q, G.R, K_STAR, S0, rho=0.1)
    with pytest.raises(InputError, match=r"eta must be in \(0, inf\]"):
        simulate_policy_gradient(G.A, G.B, G.Q, G.R, K_STAR, S0, eta=0.0, steps=3)
    with pytest.raises(InputError, match="steps must be"):
        simulate_policy_gradient(G.A, G.B, G.Q, G.R, K_STAR, S0, eta=0.1, steps=-1)


def test_lost_stability_is_reported():
    tr = simulate_policy_gradient(G.A, G.B, G.Q, G.R, np.zeros((2, 2)), S0, eta=2.0, steps=50)
    assert tr.status == "diverged" and not tr.converged


def test_game_object_in_place_of_the_arrays():
    from gamesolve import Status, lq_game

    game = lq_game(G.A, G.B, G.Q, G.R)
    K = K_STAR + 0.01
    np.testing.assert_array_equal(lq_cost(game, K, S0), lq_cost(G.A, G.B, G.Q, G.R, K, S0))
    np.testing.assert_array_equal(pseudo_gradient(game, K, S0, K_guide=K_GUIDE, rho=0.3),
                                  pseudo_gradient(G.A, G.B, G.Q, G.R, K, S0, K_guide=K_GUIDE, rho=0.3))
    np.testing.assert_array_equal(pseudo_gradient_jacobian(game, K, S0),
                                  pseudo_gradient_jacobian(G.A, G.B, G.Q, G.R, K, S0))
    a = simulate_policy_gradient(game, K, S0, eta=0.5, steps=5)
    b = simulate_policy_gradient(G.A, G.B, G.Q, G.R, K, S0, eta=0.5, steps=5)
    np.testing.assert_array_equal(a.K, b.K)
    assert a.status is Status.MAX_ITERATIONS and a.info.iterations == 5 and a.info.residual == a.grad_norm[-1]
    with pytest.raises(InputError, match=r"with an LQGame, pass \(game, K, Sigma0\)"):
        lq_cost(game, K, S0, G.R)
    with pytest.raises(InputError, match="symmetric"):
        lq_cost(G.A, G.B, np.array([[[1.0, 1.0], [0.0, 1.0]], G.Q[1]]), G.R, K, S0)
