"""Readable pure-numpy twin of the C++ coupled-Riccati kernel ([theory §2]).

Written from [theory §2], not from the C++ source: plain loops over stages and
players, one equation per line, full time-varying arrays in (no broadcasting,
no optional terms — pass zeros). It is the oracle the tests compare the
compiled kernel against (to ~1e-12 relative) and the numpy baseline of the
benchmarks.

Shapes ([theory §1]): A (T,n,n), B (T,n,m), Q (T,N,n,n), q (T,N,n), R (T,N,m,m),
r (T,N,m), M (T,N,m,n), c (T,n), QT (N,n,n), qT (N,n); dims = (m_1..m_N).
Policy u_t = -K_t x_t - k_t; player i's stage cost (no 1/2)
x'Q^i x + 2 q^i'x + u'R^i u + 2 r^i'u + 2 u'M^i x.
"""

from __future__ import annotations

import numpy as np

#: Stage systems with 1 / cond_2(S) below this are solved for the minimum-norm
#: solution (same thresholds as gamesolve.lq.finite.RCOND_TOL / RANK_TOL).
RCOND_TOL = 1e-12
RANK_TOL = 1e-10


def offsets(dims):
    """First joint-control row of each player, plus the total m at the end."""
    off = [0]
    for d in dims:
        off.append(off[-1] + int(d))
    return off


def stage_system(A, B, R, r, M, c, Z_next, zeta_next, dims):
    """Stage system of [theory §2] at one stage: S (m,m), Y (m,n), y (m).

    Row block i: S_i = B^i'Z^i B + R^i_[i,:],  Y_i = B^i'Z^i A + M^i_[i],
    y_i = B^i'(zeta^i + Z^i c) + r^i_[i]  (Z^i, zeta^i of stage t+1).
    """
    off = offsets(dims)
    n, m = B.shape
    S = np.zeros((m, m))
    Y = np.zeros((m, n))
    y = np.zeros(m)
    for i in range(len(dims)):
        rows = slice(off[i], off[i + 1])
        Bi = B[:, rows]
        S[rows] = Bi.T @ Z_next[i] @ B + R[i][rows, :]
        Y[rows] = Bi.T @ Z_next[i] @ A + M[i][rows, :]
        y[rows] = Bi.T @ (zeta_next[i] + Z_next[i] @ c) + r[i][rows]
    return S, Y, y


def solve_stage(S, Y, y):
    """Solve S [K k] = [Y y]; minimum-norm (lstsq) when S is singular or ill-conditioned.

    Returns (K, k, min_norm: bool).
    """
    rhs = np.column_stack([Y, y])
    sigma = np.linalg.svd(S, compute_uv=False)  # 1 / cond_2(S) = sigma_min / sigma_max
    if not sigma[-1] >= RCOND_TOL * sigma[0]:
        sol = np.linalg.lstsq(S, rhs, rcond=RANK_TOL)[0]
        return sol[:, :-1], sol[:, -1], True
    sol = np.linalg.solve(S, rhs)
    return sol[:, :-1], sol[:, -1], False


def value_update(A, B, Q, q, R, r, M, c, Z_next, zeta_next, s_next, K, k):
    """Value functions of stage t given the stage's gains K, k ([theory §2]).

    F = A - B K,  beta = c - B k, and for every player i
    Z^i    = Q^i + F'Z^i F + K'R^i K - K'M^i - M^i'K     (symmetrized)
    zeta^i = q^i + F'(zeta^i + Z^i beta) + K'(R^i k - r^i) - M^i'k
    s^i    = s^i + beta'Z^i beta + 2 zeta^i'beta + k'R^i k - 2 r^i'k
    """
    N = Q.shape[0]
    F = A - B @ K
    beta = c - B @ k
    Z = np.zeros_like(Z_next)
    zeta = np.zeros_like(zeta_next)
    s = np.zeros_like(s_next)
    for i in range(N):
        Zi = Q[i] + F.T @ Z_next[i] @ F + K.T @ R[i] @ K - K.T @ M[i] - M[i].T @ K
        Z[i] = 0.5 * (Zi + Zi.T)
        zeta[i] = q[i] + F.T @ (zeta_next[i] + Z_next[i] @ beta) + K.T @ (R[i] @ k - r[i]) - M[i].T @ k
        s[i] = s_next[i] + beta @ Z_next[i] @ beta + 2 * zeta_next[i] @ beta + k @ R[i] @ k - 2 * r[i] @ k
    return Z, zeta, s


def _terminal(QT, qT, T):
    N, n = qT.shape
    Z = np.zeros((T + 1, N, n, n))
    zeta = np.zeros((T + 1, N, n))
    s = np.zeros((T + 1, N))
    Z[T] = QT
    zeta[T] = qT
    return Z, zeta, s


def solve_lq_game_numpy(A, B, Q, q, R, r, M, c, QT, qT, dims):
    """Feedback Nash equilibrium of a finite-horizon LQ game ([theory §2]), pure numpy.

    Returns K (T,m,n), k (T,m), Z (T+1,N,n,n), zeta (T+1,N,n), s (T+1,N).
    Stages whose system is singular / ill-conditioned get the minimum-norm
    solution (``solve_stage``); use ``solve_lq_game_numpy_status`` to see which.
    """
    return solve_lq_game_numpy_status(A, B, Q, q, R, r, M, c, QT, qT, dims)[:5]


def solve_lq_game_numpy_status(A, B, Q, q, R, r, M, c, QT, qT, dims):
    """As :func:`solve_lq_game_numpy`, plus status (T,) int (1 = min-norm stage)."""
    T, n, m = B.shape
    K = np.zeros((T, m, n))
    k = np.zeros((T, m))
    status = np.zeros(T, dtype=int)
    Z, zeta, s = _terminal(QT, qT, T)
    for t in range(T - 1, -1, -1):
        S, Y, y = stage_system(A[t], B[t], R[t], r[t], M[t], c[t], Z[t + 1], zeta[t + 1], dims)
        K[t], k[t], min_norm = solve_stage(S, Y, y)
        status[t] = int(min_norm)
        Z[t], zeta[t], s[t] = value_update(A[t], B[t], Q[t], q[t], R[t], r[t], M[t], c[t],
                                           Z[t + 1], zeta[t + 1], s[t + 1], K[t], k[t])
    return K, k, Z, zeta, s, status


def evaluate_strategy_numpy(A, B, Q, q, R, r, M, c, QT, qT, K, k):
    """Value functions (Z, zeta, s) of the given strategy u_t = -K_t x_t - k_t ([theory §2] policy evaluation)."""
    T = A.shape[0]
    Z, zeta, s = _terminal(QT, qT, T)
    for t in range(T - 1, -1, -1):
        Z[t], zeta[t], s[t] = value_update(A[t], B[t], Q[t], q[t], R[t], r[t], M[t], c[t],
                                           Z[t + 1], zeta[t + 1], s[t + 1], K[t], k[t])
    return Z, zeta, s
