"""Pure-numpy twins of the infinite-horizon LQ Nash kernels (test oracles and the
benchmark baseline): Li & Gajic Lyapunov iteration with scipy's Stein solver,
best responses by scipy's DARE. Joint weights R (N, m, m), stacked B (n, m)."""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla


def offsets(dims):
    return np.concatenate(([0], np.cumsum(dims)))


def policy_value(A, B, Q, Rj, K):
    """P^i(K) = Q^i + K'R^iK + A_K'P^iA_K by scipy.linalg.solve_discrete_lyapunov."""
    AK = A - B @ K
    return np.array([sla.solve_discrete_lyapunov(AK.T, Q[i] + K.T @ Rj[i] @ K) for i in range(len(Q))])


def guided_value(A, B, Q, R, K, K_guide, rho, dims):
    """P-hat^i of the guided stage cost Q^i + K_i'R^{ii}K_i + rho (K_i - Kg_i)'R^{ii}(K_i - Kg_i)
    under A_K = A - B K (scipy.linalg.solve_discrete_lyapunov); R is the list of own blocks R^{ii}."""
    off = offsets(dims)
    AK = A - B @ K
    out = []
    for i in range(len(dims)):
        own = slice(off[i], off[i + 1])
        D = K[own] - K_guide[own]
        C = Q[i] + K[own].T @ R[i] @ K[own] + rho * D.T @ R[i] @ D
        out.append(sla.solve_discrete_lyapunov(AK.T, C))
    return np.array(out)


def stacked_system(A, B, P, Rj, dims):
    off = offsets(dims)
    m = B.shape[1]
    S, Y = np.zeros((m, m)), np.zeros((m, A.shape[0]))
    for i in range(len(dims)):
        s = slice(off[i], off[i + 1])
        S[s] = B[:, s].T @ P[i] @ B + Rj[i][s]
        Y[s] = B[:, s].T @ P[i] @ A
    return S, Y


def lyapunov_iteration(A, B, Q, Rj, dims, K0, tol=1e-10, max_iter=1000):
    """Li & Gajic: K <- S(P(K))^{-1} Y(P(K)); returns (K, P, iterations)."""
    K = K0
    for it in range(1, max_iter + 1):
        P = policy_value(A, B, Q, Rj, K)
        S, Y = stacked_system(A, B, P, Rj, dims)
        Kn = np.linalg.solve(S, Y)
        if np.linalg.norm(Kn - K) <= tol * max(1.0, np.linalg.norm(Kn)):
            return Kn, policy_value(A, B, Q, Rj, Kn), it
        K = Kn
    return K, policy_value(A, B, Q, Rj, K), max_iter


def default_start(A, B, Q, Rj):
    """The default K0: 0 if A is Schur stable, else the summed-cost LQR gain."""
    if np.max(np.abs(np.linalg.eigvals(A))) < 1:
        return np.zeros((B.shape[1], A.shape[0]))
    Qs, Rs = Q.sum(0), Rj.sum(0)
    P = sla.solve_discrete_are(A, B, Qs, Rs)
    return np.linalg.solve(Rs + B.T @ P @ B, B.T @ P @ A)


def best_response(A, B, Q, Rj, dims, K, i):
    """Player i's optimal gain and value against the others' fixed gains (scipy DARE)."""
    off = offsets(dims)
    s = slice(off[i], off[i + 1])
    others = np.ones(B.shape[1], bool)
    others[s] = False
    Ai = A - B[:, others] @ K[others]
    Rii = Rj[i][s, s]
    Ko = K[others]
    Qi = Q[i] + Ko.T @ Rj[i][np.ix_(others, others)] @ Ko
    Pi = sla.solve_discrete_are(Ai, B[:, s], Qi, Rii)
    Ki = np.linalg.solve(Rii + B[:, s].T @ Pi @ B[:, s], B[:, s].T @ Pi @ Ai)
    return Ki, Pi


def random_game(N, n, mi, seed, radius=1.05):
    """A random stabilizable game: A scaled to spectral radius `radius`, Q^i > 0, R^ii = I."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n)) / np.sqrt(n)
    A *= radius / np.max(np.abs(np.linalg.eigvals(A)))
    B = rng.standard_normal((n, N * mi)) / np.sqrt(n)
    Q = []
    for _ in range(N):
        L = rng.standard_normal((n, n)) / np.sqrt(n)
        Q.append(L @ L.T + 0.1 * np.eye(n))
    R = [np.eye(mi) for _ in range(N)]
    return A, B, np.array(Q), R, (mi,) * N


def joint_R(R, dims):
    off = offsets(dims)
    m = off[-1]
    Rj = np.zeros((len(dims), m, m))
    for i, r in enumerate(R):
        Rj[i, off[i]:off[i + 1], off[i]:off[i + 1]] = r
    return Rj


def nash_residual_map(A, B, Q, Rj, dims, K):
    """F(K) = S(P(K)) K - Y(P(K)) with P(K) by scipy's Lyapunov solver (row-major vec)."""
    P = policy_value(A, B, Q, Rj, K)
    S, Y = stacked_system(A, B, P, Rj, dims)
    return (S @ K - Y).ravel()


def newton_solve(A, B, Q, Rj, dims, K0, tol=1e-13, max_iter=50, h=1e-7):
    """An independent Newton solve of the coupled AREs: F(K) = 0 with a central-difference
    Jacobian of nash_residual_map (no line search; K0 must be close). Returns K."""
    K = np.array(K0, dtype=float)
    for _ in range(max_iter):
        F = nash_residual_map(A, B, Q, Rj, dims, K)
        if np.linalg.norm(F) <= tol * max(1.0, np.linalg.norm(K)):
            break
        J = np.empty((F.size, K.size))
        for j in range(K.size):
            E = np.zeros(K.size)
            E[j] = h
            E = E.reshape(K.shape)
            J[:, j] = (nash_residual_map(A, B, Q, Rj, dims, K + E) - nash_residual_map(A, B, Q, Rj, dims, K - E)) / (2 * h)
        K = K - np.linalg.solve(J, F).reshape(K.shape)
    return K
