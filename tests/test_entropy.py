"""Tests of the entropy-regularized LQ games (Zaman et al., docs/entropy.md): gamesolve.lq.entropy.

Oracles: a pure-numpy twin of the C++ recursion written from the equations of docs/entropy.md
(the stacked linear system for K and the trace / log-det form of p); for N = 1
the soft-min derivation V(x) = -tau log E_{u~N(0,I)} exp(-c(x, u)/tau); the
unregularized finite-horizon solve (tau -> 0); Monte Carlo rollouts with the sampled
log-likelihood ratio as the KL term; brute-force perturbations of a player's
policy against its exact best response.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gamesolve as gs
from gamesolve import InputError, SolveError

# --------------------------------------------------------------------------- oracles


def twin_entropy_nash(A, B, Q, R, QT, W, tau, dims):
    """The equations of docs/entropy.md literally, time-varying arrays A (T,n,n), B (T,n,m), Q (T,N,n,n), R (T,N,m,m) joint, W (T,n,n)."""
    T, n, m = B.shape
    N = len(dims)
    off = np.concatenate([[0], np.cumsum(dims)]).astype(int)
    sl = [slice(off[i], off[i + 1]) for i in range(N)]
    P = np.zeros((T + 1, N, n, n))
    p = np.zeros((T + 1, N))
    K = np.zeros((T, m, n))
    Sig = np.zeros((T, m, m))
    P[T] = QT
    for t in range(T - 1, -1, -1):
        At, Bt = A[t], B[t]
        Phi = np.zeros((m, m))
        rhs = np.zeros((m, n))
        for i in range(N):
            Bi, Pi = Bt[:, sl[i]], P[t + 1, i]
            Phi[sl[i]] = Bi.T @ Pi @ Bt
            Phi[sl[i], sl[i]] += tau / 2 * np.eye(dims[i]) + R[t, i][sl[i], sl[i]]
            rhs[sl[i]] = Bi.T @ Pi @ At
        K[t] = np.linalg.solve(Phi, rhs)
        F = At - Bt @ K[t]
        for i in range(N):
            Bi, Pi = Bt[:, sl[i]], P[t + 1, i]
            Sig[t][sl[i], sl[i]] = np.linalg.inv(np.eye(dims[i]) + 2 * (R[t, i][sl[i], sl[i]] + Bi.T @ Pi @ Bi) / tau)
        noise = W[t] + sum(Bt[:, sl[j]] @ Sig[t][sl[j], sl[j]] @ Bt[:, sl[j]].T for j in range(N))
        for i in range(N):
            Ri = R[t, i].copy()
            Ri[sl[i], sl[i]] += tau / 2 * np.eye(dims[i])
            P[t, i] = Q[t, i] + K[t].T @ Ri @ K[t] + F.T @ P[t + 1, i] @ F
            Si = Sig[t][sl[i], sl[i]]
            # tr(R^i Sigma) over all blocks (R^i may weigh others' controls) + tau/2 tr(Sigma^i) + ...
            p[t, i] = (p[t + 1, i] + np.trace(R[t, i] @ Sig[t]) + tau / 2 * np.trace(Si)
                       - tau / 2 * (dims[i] + np.linalg.slogdet(Si)[1]) + np.trace(noise @ P[t + 1, i]))
    return K, Sig, P, p


def softmin_lqr(A, B, Q, R, QT, W, tau, T):
    """N = 1 by the soft-min (log-partition) derivation, independent of the trace / log-det form of p."""
    n, m = B.shape
    P, p = QT.copy(), 0.0
    Ps, ps, Ks = [P], [p], []
    for _ in range(T):
        M = R + B.T @ P @ B
        b = B.T @ P @ A  # stage cost u'Mu + 2u'b x + x'(Q + A'PA)x + tr(WP) + p
        G = np.linalg.inv(tau / 2 * np.eye(m) + M)
        Ks.append(G @ b)
        P_new = Q + A.T @ P @ A - b.T @ G @ b
        p = p + np.trace(W @ P) + tau / 2 * np.linalg.slogdet(np.eye(m) + 2 * M / tau)[1]
        P = 0.5 * (P_new + P_new.T)
        Ps.append(P)
        ps.append(p)
    return np.array(Ks[::-1]), np.array(Ps[::-1]), np.array(ps[::-1])


def monte_carlo_costs(game, K, Sigma, x0, n_samples, rng):
    """Sampled total cost (KL term as the log-likelihood ratio of the sampled action), (n_samples, N)."""
    T, N, n = game.T, game.N, game.n
    x = np.tile(x0, (n_samples, 1))
    total = np.zeros((n_samples, N))
    for t in range(T):
        eps = []
        for sl in game.slices:
            L = np.linalg.cholesky(Sigma[t][sl, sl])
            eps.append(rng.standard_normal((n_samples, sl.stop - sl.start)) @ L.T)
        u = -x @ K[t].T + np.concatenate(eps, axis=1)
        for i, sl in enumerate(game.slices):
            S = Sigma[t][sl, sl]
            e = eps[i]
            logpi = -0.5 * np.einsum("ka,ab,kb->k", e, np.linalg.inv(S), e) - 0.5 * np.linalg.slogdet(S)[1]
            logmu = -0.5 * np.einsum("ka,ka->k", u[:, sl], u[:, sl])
            total[:, i] += (np.einsum("ka,ab,kb->k", x, game.Q[t, i], x)
                            + np.einsum("ka,ab,kb->k", u, game.R[t, i], u) + game.tau * (logpi - logmu))
        w = rng.multivariate_normal(np.zeros(n), game.W[t], size=n_samples) if game.W[t].any() else 0.0
        x = x @ game.A[t].T + u @ game.B[t].T + w
    for i in range(N):
        total[:, i] += np.einsum("ka,ab,kb->k", x, game.QT[i], x)
    return total


def random_game(rng, n=3, dims=(1, 2), T=5, time_varying=True, scale=0.4):
    N, m = len(dims), sum(dims)
    lead = (T,) if time_varying else ()
    A = np.eye(n) + scale * rng.standard_normal(lead + (n, n))
    B = scale * rng.standard_normal(lead + (n, m))
    Lq = rng.standard_normal(lead + (N, n, n))
    Q = Lq @ np.swapaxes(Lq, -1, -2) / n + 0.1 * np.eye(n)
    R = np.zeros(lead + (N, m, m))
    off = np.concatenate([[0], np.cumsum(dims)]).astype(int)
    for i in range(N):
        for j in range(N):  # block-diagonal joint weights: own block PD, others' blocks PSD
            Lr = rng.standard_normal(lead + (dims[j], dims[j]))
            blk = Lr @ np.swapaxes(Lr, -1, -2) / dims[j] + (0.5 if i == j else 0.0) * np.eye(dims[j])
            R[..., i, off[j]:off[j + 1], off[j]:off[j + 1]] = blk if (i == j or j == (i + 1) % N) else 0.0
    Lw = 0.3 * rng.standard_normal(lead + (n, n))
    W = Lw @ np.swapaxes(Lw, -1, -2)
    return A, B, Q, R, W, dims


# Contracting game (Assumption III.3 holds for tau >= 1).
A_C = np.array([[1.0, 0.2], [0.0, 0.95]])
B_C = [np.array([[0.3], [0.1]]), np.array([[0.0], [0.3]])]
Q_C = np.array([np.diag([1.0, 0.2]), np.diag([0.3, 1.0])])
R_C = [0.5 * np.eye(1), 0.5 * np.eye(1)]
W_C = 0.05 * np.eye(2)

# Three players pushing along almost the same direction: at tau = 0.1 the sweep map of Algorithm 1
# diverges. The game is the one examples/entropy_po.py draws (one definition, loaded from there).
_spec = importlib.util.spec_from_file_location(
    "entropy_po_example", Path(__file__).resolve().parents[1] / "examples" / "entropy_po.py")
_example = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_example)
A_D, B_D, Q_D, R_D, TAU_D, T_D = (_example.A_D, _example.B_D, _example.Q_D, _example.R_D, _example.TAU_D,
                                  _example.T_D)


# --------------------------------------------------------------------------- exact Nash


@pytest.mark.parametrize("time_varying", [True, False])
def test_nash_matches_numpy_twin(time_varying):
    rng = np.random.default_rng(1)
    A, B, Q, R, W, dims = random_game(rng, time_varying=time_varying)
    T = 5
    tau = 0.7
    sol = gs.entropy_lq_nash(A, B, Q, R, tau=tau, noise_cov=W, horizon=T, dims=dims)
    g = sol.game
    K, Sig, P, p = twin_entropy_nash(np.asarray(g.A), np.asarray(g.B), np.asarray(g.Q), np.asarray(g.R), g.QT,
                                     np.asarray(g.W), tau, dims)
    assert sol.K.shape == (T, 3, 3) and sol.Sigma.shape == (T, 3, 3)
    assert sol.P.shape == (T + 1, 2, 3, 3) and sol.p.shape == (T + 1, 2)
    np.testing.assert_allclose(sol.K, K, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(sol.Sigma, Sig, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(sol.P, P, rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(sol.p, p, rtol=1e-11, atol=1e-11)
    assert sol.Sigma[:, 0, 1:].max() == 0.0 and sol.Sigma[:, 1:, 0].max() == 0.0  # block-diagonal
    assert sol.status == "solved" and np.all(sol.stage_status == 0)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), N=st.integers(1, 3), n=st.integers(1, 4), T=st.integers(1, 4),
       mmax=st.integers(1, 2), tau=st.floats(0.05, 5.0), noisy=st.booleans())
def test_property_twin_and_zero_epsilon(seed, N, n, T, mmax, tau, noisy):
    rng = np.random.default_rng(seed)
    dims = tuple(int(d) for d in rng.integers(1, mmax + 1, size=N))
    A, B, Q, R, W, dims = random_game(rng, n=n, dims=dims, T=T)
    sol = gs.entropy_lq_nash(A, B, Q, R, tau=tau, noise_cov=W if noisy else None, dims=dims)
    g = sol.game
    K, Sig, P, p = twin_entropy_nash(np.asarray(g.A), np.asarray(g.B), np.asarray(g.Q), np.asarray(g.R), g.QT,
                                     np.asarray(g.W), tau, dims)
    scale = 1.0 + np.abs(P).max()
    np.testing.assert_allclose(sol.K, K, atol=1e-9 * (1 + np.abs(K).max()))
    np.testing.assert_allclose(sol.Sigma, Sig, atol=1e-10)
    np.testing.assert_allclose(sol.P, P, atol=1e-9 * scale)
    np.testing.assert_allclose(sol.p, p, atol=1e-9 * (1 + np.abs(p).max()))
    rep = gs.entropy_epsilon(g, sol.K, sol.Sigma)
    assert abs(rep.epsilon) <= 1e-9 * (1 + np.abs(rep.costs).max())


def test_time_invariant_equals_tiled():
    rng = np.random.default_rng(2)
    A, B, Q, R, W, dims = random_game(rng, time_varying=False, dims=(2, 1, 1), n=4)
    T = 4
    a = gs.entropy_lq_nash(A, B, Q, R, tau=0.5, noise_cov=W, horizon=T, dims=dims)
    tile = lambda x: np.repeat(x[None], T, axis=0)  # noqa: E731
    b = gs.entropy_lq_nash(tile(A), tile(B), tile(Q), tile(R), tau=0.5, noise_cov=tile(W), dims=dims, QT=Q)
    for f in ("K", "Sigma", "P", "p"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))


def test_single_player_is_entropy_regularized_lqr():
    rng = np.random.default_rng(3)
    n, m, T, tau = 3, 2, 6, 0.9
    A = np.eye(n) + 0.3 * rng.standard_normal((n, n))
    B = rng.standard_normal((n, m))
    Q = np.diag([1.0, 0.5, 2.0])
    R = np.array([[1.0, 0.2], [0.2, 0.5]])
    QT = 3 * np.eye(n)
    W = 0.1 * np.eye(n)
    sol = gs.entropy_lq_nash(A, [B], Q[None], [R], tau=tau, noise_cov=W, horizon=T, QT=QT[None])
    K, P, p = softmin_lqr(A, B, Q, R, QT, W, tau, T)
    np.testing.assert_allclose(sol.K, K, rtol=1e-11)
    np.testing.assert_allclose(sol.P[:, 0], P, rtol=1e-11)
    np.testing.assert_allclose(sol.p[:, 0], p, rtol=1e-11)
    # Sigma = (I + 2 (R + B'P B)/tau)^{-1} (Lemma III.2)
    for t in range(T):
        np.testing.assert_allclose(sol.Sigma[t], np.linalg.inv(np.eye(m) + 2 * (R + B.T @ P[t + 1] @ B) / tau),
                                   rtol=1e-11)


def test_tau_to_zero_recovers_unregularized_nash():
    rng = np.random.default_rng(4)
    A, B, Q, R, W, dims = random_game(rng, time_varying=False)
    ref = gs.solve_lq_game(A, B, Q, R, horizon=5, dims=dims)
    dK = []
    for tau in (1e-3, 1e-4, 1e-5):
        sol = gs.entropy_lq_nash(A, B, Q, R, tau=tau, horizon=5, dims=dims)
        dK.append(np.abs(sol.K - ref.K).max())
        np.testing.assert_allclose(sol.P, ref.Z, rtol=20 * tau, atol=20 * tau)
    dK = np.array(dK)
    assert dK[-1] < 1e-4
    np.testing.assert_allclose(dK[1:] / dK[:-1], 0.1, rtol=0.05)  # the means converge linearly in tau


def test_nash_is_certified_by_exact_best_responses():
    rng = np.random.default_rng(5)
    A, B, Q, R, W, dims = random_game(rng, dims=(1, 1, 2), n=3)
    sol = gs.entropy_lq_nash(A, B, Q, R, tau=0.8, noise_cov=W, dims=dims)
    rep = gs.entropy_epsilon(sol.game, sol.K, sol.Sigma, x0=np.array([1.0, -0.5, 0.3]))
    assert rep.epsilon <= 1e-10 * np.abs(rep.costs).max()
    # every player's best response is its Nash policy
    for i, sl in enumerate(sol.game.slices):
        br = gs.entropy_best_response(sol.game, sol.K, sol.Sigma, i)
        np.testing.assert_allclose(br.K, sol.K[:, sl], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(br.Sigma, sol.Sigma[:, sl, sl], rtol=1e-9)
        np.testing.assert_allclose(br.P[:, 0], sol.P[:, i], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(br.p[:, 0], sol.p[:, i], rtol=1e-9, atol=1e-12)
    # a perturbed profile is not Nash, and no perturbation of player 0 beats its best response
    K2 = sol.K + 0.05 * rng.standard_normal(sol.K.shape)
    rep2 = gs.entropy_epsilon(sol.game, K2, sol.Sigma)
    assert rep2.epsilon > 1e-4 and np.all(rep2.gains >= -1e-10)
    br = gs.entropy_best_response(sol.game, K2, sol.Sigma, 0)
    best = br.P[0, 0].trace() + br.p[0, 0]
    for _ in range(20):
        Ki, Si = K2.copy(), sol.Sigma.copy()
        Ki[:, 0] = br.K[:, 0] + 0.1 * rng.standard_normal(Ki[:, 0].shape)
        Si[:, 0, 0] = br.Sigma[:, 0, 0] * np.exp(0.3 * rng.standard_normal(sol.game.T))
        P, p = gs.entropy_policy_value(sol.game, Ki, Si)
        assert P[0, 0].trace() + p[0, 0] >= best - 1e-12


def test_policy_value_matches_nash_value():
    rng = np.random.default_rng(6)
    A, B, Q, R, W, dims = random_game(rng)
    sol = gs.entropy_lq_nash(A, B, Q, R, tau=1.3, noise_cov=W, dims=dims)
    P, p = gs.entropy_policy_value(sol.game, sol.K, sol.Sigma)
    np.testing.assert_allclose(P, sol.P, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(p, sol.p, rtol=1e-12, atol=1e-12)


def test_monte_carlo_rollout_agrees_with_value():
    rng = np.random.default_rng(7)
    A, B, Q, R, W, dims = random_game(rng, T=4, scale=0.3)
    sol = gs.entropy_lq_nash(A, B, Q, R, tau=0.6, noise_cov=W, dims=dims)
    x0 = np.array([0.5, -1.0, 0.8])
    samples = monte_carlo_costs(sol.game, sol.K, sol.Sigma, x0, 40_000, rng)
    mean, se = samples.mean(axis=0), samples.std(axis=0, ddof=1) / np.sqrt(len(samples))
    exact = sol.costs(x0)
    assert np.all(np.abs(mean - exact) < 4 * se), (mean, exact, se)
    # the test has power: dropping the KL term's constant would be detected
    assert np.all(np.abs(mean - (exact - (sol.p[0] - sol.p[1]))) > 4 * se)


# --------------------------------------------------------------------------- Algorithm 1


def test_po_error_falls_linearly_in_L_when_contracting():
    tau = 1.0
    sol = gs.entropy_lq_nash(A_C, B_C, Q_C, R_C, tau=tau, horizon=8, noise_cov=W_C)
    assert sol.assumption_holds and sol.contraction.max() < 1
    res = [gs.entropy_po(A_C, B_C, Q_C, R_C, tau=tau, horizon=8, noise_cov=W_C, sweeps=L) for L in range(1, 9)]
    err = np.array([r.error_total for r in res])
    ratios = err[1:] / err[:-1]
    assert np.all(ratios < res[-1].contraction.max())           # Lemma IV.1 bound
    assert np.all(ratios < 1.2 * res[-1].rate.max())            # the actual rate of the sweep map
    slope = np.polyfit(np.arange(1, 9), np.log(err), 1)[0]
    assert slope < np.log(0.1)                                  # linear convergence, rate ~ 0.065
    assert np.all(res[-1].rate <= res[-1].contraction + 1e-12)
    # the reported per-stage factor is 2 gamma_B^2 max_i ||P_{t+1}^i||_F (N-1) / tau, gamma_B = max_i ||B^i||_F,
    # P the values Algorithm 1 computed; Assumption III.3 uses gamma_P of the exact equilibrium
    gB = max(np.linalg.norm(b) for b in B_C)
    r8 = res[-1]
    want = 2 * gB**2 * np.array([max(np.linalg.norm(r8.P[t + 1, i]) for i in range(2)) for t in range(8)]) / tau
    np.testing.assert_allclose(r8.contraction, want, rtol=1e-12)
    gP = max(np.linalg.norm(sol.P[t, i]) for t in range(9) for i in range(2))
    assert r8.assumption_holds == (tau > 2 * gB**2 * gP) and r8.assumption_holds
    big = gs.entropy_po(A_C, B_C, Q_C, R_C, tau=tau, horizon=8, noise_cov=W_C, sweeps=40)
    assert big.converged and big.error_total < 1e-12
    np.testing.assert_allclose(big.P, sol.P, rtol=1e-10)
    np.testing.assert_allclose(big.p, sol.p, rtol=1e-10)
    assert big.epsilon < 1e-10
    assert res[0].epsilon > 1e-3 and not res[0].converged


def test_po_warm_start_and_progress(capsys):
    r = gs.entropy_po(A_C, B_C, Q_C, R_C, tau=1.0, horizon=3, sweeps=30, warm_start=True, progress=True)
    assert r.converged and r.iterations == 30
    assert "stage" in capsys.readouterr().out


def test_delta_augmentation_gives_epsilon_O_delta():
    kw = dict(horizon=T_D, tau=TAU_D)
    exact = gs.entropy_lq_nash(A_D, B_D, Q_D, R_D, **kw)
    assert not exact.assumption_holds and exact.contraction.max() > 1
    po = gs.entropy_po(A_D, B_D, Q_D, R_D, sweeps=30, **kw)
    assert po.rate.max() > 1 and po.status == "max_iterations" and po.residual.max() > 1e3  # diverges at tau
    # augmented: Assumption III.3 holds for tau + 64; Algorithm 1 converges; epsilon measured at tau
    aug = gs.entropy_po(A_D, B_D, Q_D, R_D, sweeps=30, delta=64.0, **kw)
    assert aug.assumption_holds and aug.converged
    ex64 = gs.entropy_lq_nash(A_D, B_D, Q_D, R_D, horizon=T_D, tau=TAU_D + 64.0)
    ref = gs.entropy_epsilon(exact.game, ex64.K, ex64.Sigma)
    assert aug.epsilon == pytest.approx(ref.epsilon, rel=1e-9)
    assert 0 < aug.epsilon
    # epsilon of the exact augmented equilibrium is O(delta): eps/delta bounded, eps -> 0
    deltas = np.array([1e-3, 4e-3, 1.6e-2, 6.4e-2])
    eps = []
    for d in deltas:
        s = gs.entropy_lq_nash(A_D, B_D, Q_D, R_D, horizon=T_D, tau=TAU_D + d)
        eps.append(gs.entropy_epsilon(exact.game, s.K, s.Sigma).epsilon)
    eps = np.array(eps)
    assert np.all(eps > 0) and np.all(np.diff(eps) > 0)
    assert np.all(eps / deltas < 2 * eps[-1] / deltas[-1])
    slope = np.polyfit(np.log(deltas), np.log(eps), 1)[0]
    assert slope > 0.9
    # Measured: eps ~ delta^2 for small delta (the gain of a best response is quadratic in the
    # O(delta) policy shift), well inside the O(delta) bound.
    assert 1.7 < slope < 2.3, slope



# --------------------------------------------------------------------------- bad input


GOOD = dict(A=A_C, B=B_C, Q=Q_C, R=R_C)


@pytest.mark.parametrize("tau", [0.0, -1.0, np.nan, np.inf])
def test_bad_tau(tau):
    with pytest.raises(InputError, match="tau must be positive"):
        gs.entropy_lq_nash(**GOOD, tau=tau, horizon=3)


def test_tau_not_a_number():
    with pytest.raises(InputError, match="tau must be a positive real number"):
        gs.entropy_lq_nash(**GOOD, tau="big", horizon=3)


def test_indefinite_noise_cov():
    with pytest.raises(InputError, match=r"noise_cov must be positive semidefinite, smallest eigenvalue is -1"):
        gs.entropy_lq_nash(**GOOD, tau=1.0, horizon=3, noise_cov=np.diag([1.0, -1.0]))


def test_indefinite_noise_cov_time_varying_names_stage():
    W = np.stack([np.eye(2), np.eye(2), np.diag([1.0, -0.5])])
    with pytest.raises(InputError, match=r"noise_cov\[2\] must be positive semidefinite"):
        gs.entropy_lq_nash(**GOOD, tau=1.0, noise_cov=W, horizon=3)


def test_asymmetric_noise_cov():
    with pytest.raises(InputError, match="noise_cov must be symmetric"):
        gs.entropy_lq_nash(**GOOD, tau=1.0, horizon=3, noise_cov=np.array([[1.0, 0.5], [0.0, 1.0]]))


def test_noise_cov_bad_shape():
    with pytest.raises(InputError, match=r"noise_cov must have shape \(2, 2\) or \(3, 2, 2\)"):
        gs.entropy_lq_nash(**GOOD, tau=1.0, horizon=3, noise_cov=np.eye(3))


def test_bad_A_shape():
    with pytest.raises(InputError, match="A must be square"):
        gs.entropy_lq_nash(np.ones((2, 3)), B_C, Q_C, R_C, tau=1.0, horizon=3)


def test_bad_B_rows():
    with pytest.raises(InputError, match="B must have 2 rows"):
        gs.entropy_lq_nash(A_C, [np.ones((3, 1)), np.ones((3, 1))], Q_C, R_C, tau=1.0, horizon=3)


def test_bad_Q_shape():
    with pytest.raises(InputError, match=r"Q must have shape \(\.\.\., 2, 2, 2\)"):
        gs.entropy_lq_nash(A_C, B_C, Q_C[:1], R_C, tau=1.0, horizon=3)


def test_missing_horizon():
    with pytest.raises(InputError, match="horizon is required"):
        gs.entropy_lq_nash(**GOOD, tau=1.0)


def test_R_with_cross_player_products():
    R = np.array([[[1.0, 0.3], [0.3, 1.0]], [[1.0, 0.0], [0.0, 1.0]]])
    with pytest.raises(InputError, match=r"R\[0\] must be block-diagonal"):
        gs.entropy_lq_nash(A_C, B_C, Q_C, R, tau=1.0, horizon=3)


def test_R_own_block_not_positive_definite():
    with pytest.raises(InputError, match="must be positive definite"):
        gs.entropy_lq_nash(A_C, B_C, Q_C, [np.eye(1), -np.eye(1)], tau=1.0, horizon=3)


def test_unbounded_stage_is_flagged_not_convex():
    """The finite-horizon solvers' one policy for a stage where a player's problem is unbounded below: status
    not_convex and a NotConvexWarning (was SolveError here, silent in solve_lq_game)."""
    with pytest.warns(gs.NotConvexWarning, match=r"stage t=2 player 0's regularized problem is unbounded below"):
        sol = gs.entropy_lq_nash(**GOOD, tau=1.0, horizon=3, QT=np.array([-100 * np.eye(2), np.eye(2)]))
    assert sol.status == "not_convex" and not sol.converged and np.isnan(sol.Sigma).all()
    with pytest.warns(gs.NotConvexWarning, match=r"stage t=2 player 0's regularized problem is unbounded below"):
        po = gs.entropy_po(**GOOD, tau=1.0, horizon=3, QT=np.array([-100 * np.eye(2), np.eye(2)]), sweeps=3)
    assert po.status == "not_convex" and not po.converged


@pytest.mark.parametrize("sweeps", [0, -2, 1.5])
def test_po_bad_sweeps(sweeps):
    with pytest.raises(InputError, match="sweeps must be an integer"):
        gs.entropy_po(**GOOD, tau=1.0, horizon=3, sweeps=sweeps)


def test_po_bad_delta():
    with pytest.raises(InputError, match=r"delta must be in \[0, inf\]"):
        gs.entropy_po(**GOOD, tau=1.0, horizon=3, sweeps=2, delta=-0.1)


def test_best_response_bad_player_and_profile_shape():
    sol = gs.entropy_lq_nash(**GOOD, tau=1.0, horizon=3)
    with pytest.raises(InputError, match=r"player must be in \[0, 2\)"):
        gs.entropy_best_response(sol.game, sol.K, sol.Sigma, 2)
    with pytest.raises(InputError, match=r"K must have shape \(3, 2, 2\)"):
        gs.entropy_epsilon(sol.game, sol.K[:2], sol.Sigma)
    bad = sol.Sigma.copy()
    bad[0, 0, 0] = -1.0
    with pytest.raises(InputError, match=r"Sigma\[0\]: player 0's covariance block must be positive definite"):
        gs.entropy_policy_value(sol.game, sol.K, bad)


def test_po_reports_divergence_instead_of_garbage():
    r = gs.entropy_po(A_D, B_D, Q_D, R_D, tau=TAU_D, horizon=T_D, sweeps=2000)
    assert r.status == "diverged" and not r.converged
    assert r.epsilon == np.inf and np.isnan(r.K[0]).all()
    ok = gs.entropy_po(A_D, B_D, Q_D, R_D, tau=TAU_D, horizon=T_D, sweeps=2000, delta=50.0)
    assert ok.status == "converged"
    short = gs.entropy_po(A_D, B_D, Q_D, R_D, tau=TAU_D, horizon=T_D, sweeps=3, delta=50.0)
    assert short.status == "max_iterations" and not short.converged


def test_game_and_arrays_together_rejected():
    game = gs.entropy_lq_game(**GOOD, tau=1.0, horizon=3)
    with pytest.raises(InputError, match="pass either an EntropyLQGame or the game's arrays, not both"):
        gs.entropy_lq_nash(game, tau=2.0)


def test_docstring_examples():
    import doctest

    from gamesolve.lq.entropy import evaluation, game, nash, po

    results = [doctest.testmod(mod) for mod in (game, nash, evaluation, po)]
    assert sum(r.attempted for r in results) >= 10 and sum(r.failed for r in results) == 0


# --------------------------------------------------------------------------- input forms and value checks


def test_default_QT_and_no_noise():
    rng = np.random.default_rng(12)
    A, B, Q, R, W, dims = random_game(rng, n=3, dims=(1, 2), T=5)
    sol = gs.entropy_lq_nash(A, B, Q, R, tau=0.4, dims=dims)
    np.testing.assert_array_equal(sol.game.QT, Q[-1])
    np.testing.assert_array_equal(sol.P[-1], Q[-1])
    assert not sol.game.W.any() and sol.game.W.shape == (5, 3, 3)
    K, Sig, P, p = twin_entropy_nash(A, B, Q, R, Q[-1], np.zeros((5, 3, 3)), 0.4, dims)
    np.testing.assert_allclose(sol.p, p, rtol=1e-11, atol=1e-12)


def test_tolerance_level_asymmetry_is_accepted():
    rng = np.random.default_rng(13)
    A, B, Q, R, W, dims = random_game(rng, n=3, dims=(1, 1), T=4)
    Qa, Wa = Q.copy(), W.copy()
    Qa[1, 0, 0, 1] *= 1 + 1e-13  # within the relative tolerance 1e-10
    Wa[2, 1, 0] *= 1 + 1e-13
    sol = gs.entropy_lq_nash(A, B, Qa, R, tau=1.0, noise_cov=Wa, dims=dims)
    ref = gs.entropy_lq_nash(A, B, Q, R, tau=1.0, noise_cov=W, dims=dims)
    np.testing.assert_allclose(sol.p, ref.p, rtol=1e-11)


def _bad(**changes):
    kw = dict(A=A_C.copy(), B=np.hstack(B_C), Q=Q_C.copy(), R=np.array([np.diag([0.5, 0.0]), np.diag([0.0, 0.5])]),
              tau=1.0, horizon=3, dims=(1, 1), noise_cov=W_C.copy())
    kw.update(changes)
    return kw


@pytest.mark.parametrize("changes, match", [
    (dict(Q=np.array([[[1.0, 0.5], [0.0, 1.0]], np.eye(2)])), r"Q.* must be symmetric"),
    (dict(QT=np.array([np.eye(2), [[1.0, 0.0], [0.3, 1.0]]])), r"QT.* must be symmetric"),
    (dict(R=np.array([[[0.5, 0.1], [0.2, 0.0]], np.diag([0.0, 0.5])])), r"R.* must be symmetric"),
    (dict(R=np.array([[[0.5, 0.1], [0.1, 0.0]], np.diag([0.0, 0.5])])), r"R\[0\] must be block-diagonal"),
    (dict(R=np.array([np.diag([0.5, 0.0]), np.diag([0.0, -0.5])])), r"positive definite"),
    (dict(noise_cov=np.array([[1.0, 0.2], [0.0, 1.0]])), r"noise_cov must be symmetric"),
    (dict(noise_cov=np.diag([1.0, -1e-3])), r"noise_cov must be positive semidefinite, smallest eigenvalue is -0.001"),
    (dict(A=np.array([[1.0, np.nan], [0.0, 1.0]])), r"A must be finite"),
    (dict(B=np.array([[0.3, 0.0], [np.inf, 0.3]])), r"B must be finite"),
    (dict(Q=np.array([np.diag([1.0, np.nan]), np.eye(2)])), r"Q must be finite"),
    (dict(QT=np.array([np.eye(2), np.diag([np.inf, 1.0])])), r"QT must be finite"),
    (dict(R=np.array([np.diag([0.5, 0.0]), np.diag([0.0, np.nan])])), r"R must be finite"),
    (dict(noise_cov=np.diag([np.nan, 1.0])), r"noise_cov must be finite"),
    (dict(noise_cov=np.array([[1.0, np.inf], [np.inf, 1.0]])), r"noise_cov must be finite"),
    (dict(tau=np.inf), r"tau must be positive and finite"),
    (dict(horizon=0), r"horizon must be a positive integer"),
    (dict(horizon=2.5), r"horizon must be a positive integer"),
    (dict(dims=(1, 2)), r"B must have 3 columns"),
])
def test_bad_data_messages(changes, match):
    with pytest.raises(InputError, match=match):
        gs.entropy_lq_nash(**_bad(**changes))


def test_linear_terms_rejected_and_lq_game_accepted():
    lq = gs.lq_game(A_C, B_C, Q_C, R_C, horizon=3)
    a = gs.entropy_lq_nash(lq, tau=1.0, noise_cov=W_C)
    b = gs.entropy_lq_nash(A_C, B_C, Q_C, R_C, tau=1.0, noise_cov=W_C, horizon=3)
    np.testing.assert_array_equal(a.p, b.p)
    assert a.game.lq is lq
    with pytest.raises(InputError, match="no linear or cross terms, got q"):
        gs.entropy_lq_nash(gs.lq_game(A_C, B_C, Q_C, R_C, horizon=3, q=np.ones((2, 2))), tau=1.0)
    with pytest.raises(InputError, match="pass either an LQGame or the game's arrays, not both"):
        gs.entropy_lq_nash(lq, B_C, tau=1.0)


def test_psd_noise_with_zero_eigenvalue_is_accepted():
    W = np.array([[1.0, 1.0], [1.0, 1.0]])  # PSD and singular: the eigenvalue test passes
    sol = gs.entropy_lq_nash(**_bad(noise_cov=W))
    kw = _bad()
    T = 3
    tile = lambda x: np.repeat(x[None], T, axis=0)  # noqa: E731
    K, Sig, P, p = twin_entropy_nash(tile(kw["A"]), tile(kw["B"]), tile(kw["Q"]), tile(kw["R"]), kw["Q"], tile(W),
                                     1.0, (1, 1))
    np.testing.assert_allclose(sol.p, p, rtol=1e-12)


def test_core_value_check_codes():
    from gamesolve import _core

    kw = _bad()
    E = _core.EntropyCheckCode
    base = dict(dims=[1, 1], A=kw["A"], B=kw["B"], Q=kw["Q"], R=kw["R"], QT=kw["Q"], W=kw["noise_cov"], T=1)

    def check(**changes):
        c = _core.entropy_check(**dict(base, **changes))
        return c.code, c.t, c.i

    assert check() == (E.ok, -1, -1)
    cases = [
        ("Q", np.array([[[1.0, 0.5], [0.0, 1.0]], np.eye(2)]), (E.Q_asymmetric, 0, 0)),
        ("QT", np.array([np.eye(2), [[1.0, 0.0], [0.3, 1.0]]]), (E.QT_asymmetric, -1, 1)),
        ("R", np.array([np.diag([0.5, 0.0]), [[0.0, 0.0], [1e-3, 0.5]]]), (E.R_not_block_diagonal, 0, 1)),
        ("R", np.array([[[0.5, 0.0], [0.0, 2.0]], np.diag([0.0, 0.5])]), (E.ok, -1, -1)),  # R^0 weighs u^1: allowed
        ("R", np.array([np.diag([0.5, 0.0]), np.diag([0.0, -0.5])]), (E.R_own_not_pd, 0, 1)),
        ("W", np.array([[1.0, 0.2], [0.0, 1.0]]), (E.W_asymmetric, 0, -1)),
        ("W", np.diag([1.0, -1e-3]), (E.W_not_psd, 0, -1)),
        ("W", np.diag([1.0, -1e-14]), (E.ok, -1, -1)),  # within the relative tolerance 1e-12
    ]
    for name, val, code in cases:
        assert check(**{name: np.asarray(val)}) == code, (name, val)
    R = kw["R"].copy()
    R[0] = [[0.5, 0.0], [0.0, 0.0]]
    assert check(R=R)[0] == E.ok
    with pytest.raises(ValueError, match="W: unexpected shape"):
        check(W=np.eye(3))


def test_other_array_forms_give_the_same_game():
    kw = _bad()
    ref = gs.entropy_lq_nash(**kw)
    for change in (dict(A=np.asfortranarray(kw["A"])), dict(Q=Q_C.tolist()),
                   dict(B=[b.tolist() for b in B_C], dims=None), dict(tau=np.float32(1.0))):
        sol = gs.entropy_lq_nash(**dict(kw, **change))
        np.testing.assert_allclose(sol.p, ref.p, rtol=1e-14)
        np.testing.assert_allclose(sol.K, ref.K, rtol=1e-14)


def test_dims_forms():
    kw = _bad()
    ref = gs.entropy_lq_nash(**kw)
    for dims in ([1, 1], np.array([1, 1]), (np.int64(1), np.int64(1))):
        for B in (kw["B"], [kw["B"][:, :1].copy(), kw["B"][:, 1:].copy()]):
            sol = gs.entropy_lq_nash(**dict(kw, B=B, dims=dims))
            assert sol.game.dims == (1, 1) and all(type(d) is int for d in sol.game.dims)
            assert sol.game.slices == (slice(0, 1), slice(1, 2))
            np.testing.assert_array_equal(sol.p, ref.p)


def test_game_is_immutable_and_lazy():
    sol = gs.entropy_lq_nash(**_bad())
    g = sol.game
    with pytest.raises(AttributeError):
        g.tau = 2.0
    assert g.A.shape == (3, 2, 2) and g.A.strides[0] == 0  # broadcast view of the time-invariant input
    g2 = g.with_tau(3.0)
    assert g2.tau == 3.0 and g.tau == 1.0 and g2.gamma_B == g.gamma_B and g2.lq is g.lq
    np.testing.assert_array_equal(g2.shifted_R()[0, 0], np.diag([2.0, 0.0]))
    np.testing.assert_array_equal(g.shifted_R()[0, 0], np.diag([1.0, 0.0]))
    assert "EntropyLQGame(N=2" in repr(g)
    import copy
    import pickle

    for h in (pickle.loads(pickle.dumps(g)), copy.deepcopy(g), copy.copy(g)):
        for f in ("A", "B", "Q", "R", "QT", "W"):
            np.testing.assert_array_equal(getattr(h, f), getattr(g, f))
        assert (h.T, h.dims, h.tau) == (g.T, g.dims, g.tau)
        np.testing.assert_array_equal(gs.entropy_lq_nash(h).p, sol.p)


def test_control_sizes_whose_sum_overflows_are_an_input_error():
    big = 2**63 - 1
    A, B = np.eye(2), np.ones((2, 3))
    Q, R = np.stack([np.eye(2)] * 3), np.stack([np.eye(3)] * 3)
    with pytest.raises(InputError):
        gs.entropy_lq_nash(A, B, Q, R, tau=1.0, horizon=3, dims=(big, big, 5))


def test_noise_cov_time_axis_alone_does_not_set_the_horizon():
    """Time-invariant game arrays need horizon=, whatever noise_cov carries."""
    n, dims = 2, (1, 1)
    A, B = np.eye(n), np.ones((n, 2))
    Q, R = np.stack([np.eye(n)] * 2), np.stack([np.eye(2)] * 2)
    W = np.stack([0.1 * np.eye(n)] * 4)
    with pytest.raises(InputError, match="horizon is required"):
        gs.entropy_lq_nash(A, B, Q, R, tau=1.0, noise_cov=W, dims=dims)
    sol = gs.entropy_lq_nash(A, B, Q, R, tau=1.0, noise_cov=W, dims=dims, horizon=4)
    assert sol.K.shape == (4, 2, 2)


def test_unaligned_and_subclassed_inputs_give_the_same_result():
    rng = np.random.default_rng(3)
    n, dims, T = 3, (1, 2), 4
    A = np.eye(n) + 0.1 * rng.standard_normal((n, n))
    B = rng.standard_normal((n, 3))
    Q = np.stack([np.eye(n), 2 * np.eye(n)])
    R = np.stack([np.eye(3), np.eye(3)])
    ref = gs.entropy_lq_nash(A, B, Q, R, tau=0.5, horizon=T, dims=dims)
    raw = np.zeros(A.size * 8 + 1, np.uint8)
    unaligned = np.frombuffer(raw.data, dtype=np.float64, count=A.size, offset=1).reshape(n, n)
    unaligned[...] = A
    assert not unaligned.flags.aligned
    for a in (unaligned, np.ma.masked_array(A)):
        sol = gs.entropy_lq_nash(a, B, Q, R, tau=0.5, horizon=T, dims=dims)
        np.testing.assert_allclose(sol.K, ref.K, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(sol.p, ref.p, rtol=1e-13, atol=1e-15)


# --------------------------------------------------------------------------- results and the protocol


def test_result_vocabulary_and_costs():
    rng = np.random.default_rng(21)
    A, B, Q, R, W, dims = random_game(rng)
    sol = gs.entropy_lq_nash(A, B, Q, R, tau=0.8, noise_cov=W, dims=dims)
    assert sol.status is gs.Status.SOLVED and sol.converged and sol.info.iterations == 0
    assert repr(sol).startswith("EntropyLQSolution(solved, T=5")
    x0, C = np.array([0.2, -0.4, 1.0]), 0.3 * np.eye(3)
    want = [x0 @ sol.P[0, i] @ x0 + np.trace(sol.P[0, i] @ C) + sol.p[0, i] for i in range(2)]
    np.testing.assert_allclose(sol.costs(x0, x0_cov=C), want, rtol=1e-13)
    np.testing.assert_allclose(sol.costs(), np.trace(sol.P[0], axis1=1, axis2=2) + sol.p[0], rtol=1e-13)
    po = gs.entropy_po(sol.game, sweeps=3)
    assert po.status is gs.Status.MAX_ITERATIONS and po.info.iterations == 3
    assert po.info.residual == po.residual.max() and po.nash_gap() == pytest.approx(po.epsilon, rel=1e-12)
    rep = gs.entropy_epsilon(sol.game, po.K, po.Sigma)
    assert rep.status is gs.Status.SOLVED and repr(rep).startswith("EpsilonReport(solved, epsilon=")


def test_epsilon_is_the_protocols_nash_gap():
    rng = np.random.default_rng(22)
    A, B, Q, R, W, dims = random_game(rng, dims=(1, 1, 2), n=3)
    sol = gs.entropy_lq_nash(A, B, Q, R, tau=0.8, noise_cov=W, dims=dims)
    K2 = sol.K + 0.05 * rng.standard_normal(sol.K.shape)
    x0 = np.array([1.0, 0.0, -1.0])
    rep = gs.entropy_epsilon(sol.game, K2, sol.Sigma, x0=x0)
    assert rep.epsilon == gs.equilibrium.nash_gap(sol.game, (K2, sol.Sigma), x0=x0) > 1e-4
    np.testing.assert_allclose(rep.gains, gs.equilibrium.player_gaps(sol.game, (K2, sol.Sigma), x0=x0), rtol=1e-14)
    # the report's best costs are the protocol's best-response values
    for i in range(3):
        (Ki, Si), best = gs.equilibrium.best_response(sol.game, (K2, sol.Sigma), i, x0=x0)
        assert rep.best_costs[i] == pytest.approx(best, rel=1e-12)
