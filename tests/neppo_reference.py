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
