"""Independent references for the NePPO tests: closed forms of the toy game, brute-force gaps of
normal-form games, and the LQR of a potential cost by scipy's DARE / a numpy Riccati recursion.

Nothing here imports gamesolve."""

from __future__ import annotations

import itertools

import numpy as np
import scipy.linalg as sla


def toy_gaps(w: float) -> np.ndarray:
    """The toy game's gaps (gap_1, gap_2) under Phi_w = w r^1 + (1 - w) r^2, derived by hand.

    Phi_w: (A1,B1) = 1, (A1,B2) = (1 + w)/2, (A2,B1) = 1.75 - 1.25 w, (A2,B2) = 2 - 2 w. Its maximizer
    (first in row-major order on ties) is (A2,B2) for w < 1/3, (A2,B1) for 1/3 <= w < 0.6,
    (A1,B1) for 0.6 <= w <= 1 and (A1,B2) for w > 1. At (A2,B2) player 1 gains 1 by A1 while Phi
    changes by (1 + w)/2 - (2 - 2 w); at (A2,B1) player 1 gains 0.5 by A1 (Phi: 1 - (1.75 - 1.25 w)),
    player 2 gains 0.25 by B2 (Phi: (2 - 2 w) - (1.75 - 1.25 w)); at (A1,B2) player 2 gains 0.5 by B1
    (Phi: 1 - (1 + w)/2).
    """
    if w < 1 / 3:
        return np.array([1.0 - ((1 + w) / 2 - (2 - 2 * w)), 0.0])
    if w < 0.6:
        return np.array([0.5 - (1 - (1.75 - 1.25 * w)), 0.25 - ((2 - 2 * w) - (1.75 - 1.25 * w))])
    if w <= 1.0:
        return np.zeros(2)
    return np.array([0.0, 0.5 - (1 - (1 + w) / 2)])


def expected(table: np.ndarray, mixed: list) -> float:
    """E[table(a)] under independent mixed strategies (one vector per player)."""
    out = table
    for p in reversed(mixed):
        out = out @ p
    return float(out)


def brute_force_gaps(payoffs: np.ndarray, phi: np.ndarray, mixed: list) -> tuple[np.ndarray, np.ndarray]:
    """Gaps and regrets of a normal-form game (payoffs (N, A_1, ..., A_N), potential phi (A_1, ..., A_N)) at
    the mixed profile ``mixed``, best responses by enumerating pure actions (first maximizer on ties)."""
    N = payoffs.shape[0]
    gaps, regrets = np.zeros(N), np.zeros(N)
    for i in range(N):
        A_i = payoffs.shape[1 + i]
        dev_values = []
        for a in range(A_i):
            dev = list(mixed)
            dev[i] = np.eye(A_i)[a]
            dev_values.append(expected(payoffs[i], dev))
        best = int(np.argmax(dev_values))
        dev = list(mixed)
        dev[i] = np.eye(A_i)[best]
        regrets[i] = dev_values[best] - expected(payoffs[i], mixed)
        gaps[i] = regrets[i] - (expected(phi, dev) - expected(phi, mixed))
    return gaps, regrets


def argmax_joint(phi: np.ndarray) -> tuple:
    """The first (row-major) joint action maximizing phi."""
    best = max(itertools.product(*map(range, phi.shape)), key=lambda a: (phi[a], [-x for x in a]))
    return best


def dare_gain(A, B, Q, R):
    """LQR gain K = (R + B'PB)^-1 B'PA of the DARE P = Q + A'PA - A'PB (R + B'PB)^-1 B'PA (scipy)."""
    P = sla.solve_discrete_are(A, B, Q, R)
    return np.linalg.solve(R + B.T @ P @ B, B.T @ P @ A), P


def riccati_gains(A, B, Q, R, QT, T):
    """Finite-horizon LQR gains K_t (T, m, n) and the value matrices Z_t (T+1, n, n) by the backward recursion."""
    Z = [QT]
    K = []
    for _ in range(T):
        Zn = Z[0]
        Kt = np.linalg.solve(R + B.T @ Zn @ B, B.T @ Zn @ A)
        F = A - B @ Kt
        Z.insert(0, Q + Kt.T @ R @ Kt + F.T @ Zn @ F)
        K.insert(0, Kt)
    return np.array(K), np.array(Z)


def closed_loop_cost(A, B, Q, R, K, Sigma0) -> float:
    """tr(P_K Sigma0), P_K = Q + K'RK + (A - BK)'P_K(A - BK) (scipy's Stein solver)."""
    AK = A - B @ K
    P = sla.solve_discrete_lyapunov(AK.T, Q + K.T @ R @ K)
    return float(np.trace(P @ Sigma0))


# --------------------------------------------------------------------------- the alpha family in closed form

# NePPO on the alpha family written out in closed form, the way the
# authors' closed-form script does it (the test oracle and bench_neppo.py's baseline).
#
# For a 2x2 game with payoffs u1, u2 (rows A1, A2; columns B1, B2) and the potential
# Phi_(p, q)(x, y) = -(x - p)^2 - (y - q)^2 of the mixed strategies x = P(A2), y = P(B2), the
# cooperative solution is (x, y) = clip((p, q), 0, 1). Player 1's pure best response b to y
# (the first maximizer of its two action values), its regret and gap:
#
#     regret_1 = max_a u1(a, y) - u1(x, y)
#     gap_1    = regret_1 - [Phi(b, y) - Phi(x, y)] = regret_1 + (b - p)^2 - (x - p)^2
#
# and the same for player 2. The search is [NePPO] Algorithm 1 with the smooth max
# (1/beta) log mean exp(beta gap), K directions drawn as normalized standard normals from
# ``numpy.random.default_rng(seed)`` (the same stream gamesolve uses), eta_t = step / sqrt(t + 1)
# and clipping to [0, 1]^2.

def closed_form_alpha_payoffs(a: float) -> tuple[np.ndarray, np.ndarray]:
    u1 = np.array([[1.0, 1.0 - 2 * a], [(1.0 - 3 * a) / 2, a]])
    u2 = np.array([[1.0 - 2 * a, (a + 1.0) / 2], [(7.0 - 3 * a) / 4, 2.0 - 3 * a]])
    return u1, u2


def closed_form_gaps(u1, u2, theta):
    """(gaps (2,), regrets (2,)) at the cooperative solution of theta = (p, q)."""
    p, q = theta
    x, y = min(max(p, 0.0), 1.0), min(max(q, 0.0), 1.0)
    v1 = u1 @ np.array([1 - y, y])  # player 1's value of A1, A2 against y
    v2 = np.array([1 - x, x]) @ u2  # player 2's value of B1, B2 against x
    b1, b2 = int(np.argmax(v1)), int(np.argmax(v2))
    r1 = v1[b1] - ((1 - x) * v1[0] + x * v1[1])
    r2 = v2[b2] - ((1 - y) * v2[0] + y * v2[1])
    g1 = r1 + (b1 - p) ** 2 - (x - p) ** 2
    g2 = r2 + (b2 - q) ** 2 - (y - q) ** 2
    return np.array([g1, g2]), np.array([r1, r2])


def closed_form_F(u1, u2, theta, beta):
    g = closed_form_gaps(u1, u2, theta)[0]
    top = g.max()
    return top + np.log(np.mean(np.exp(beta * (g - top)))) / beta


def neppo_alpha(a, *, iterations=500, beta=1e4, step=0.05, delta=1e-2, directions=10, theta0=(0.75, 0.75), seed=0):
    """The final theta, max regret and epsilon of the closed-form search."""
    u1, u2 = closed_form_alpha_payoffs(a)
    rng = np.random.default_rng(seed)
    theta = np.clip(np.array(theta0, dtype=float), 0.0, 1.0)
    for t in range(iterations):
        z = rng.standard_normal((directions, 2))
        V = z / np.linalg.norm(z, axis=1, keepdims=True)
        g = np.zeros(2)
        for v in V:
            g += (closed_form_F(u1, u2, theta + delta * v, beta) - closed_form_F(u1, u2, theta - delta * v, beta)) * v
        g *= 2 / (2 * delta) / directions
        theta = np.clip(theta - step / np.sqrt(t + 1.0) * g, 0.0, 1.0)
    gp, rg = closed_form_gaps(u1, u2, theta)
    return theta, float(rg.max()), float(gp.max())
