"""Pure-numpy coupled Riccati recursion ([theory §2]): the oracle for the C++ core in iLQGames tests.

Vectorized over any leading batch axes, a Python loop over the T stages only.
Shapes (batch axes ``...`` optional): A (..., T, n, n), B (..., T, n, m),
Q (..., T, N, n, n), q (..., T, N, n), R (..., T, N, m, m), r (..., T, N, m),
QT (..., N, n, n), qT (..., N, n); returns K (..., T, m, n), k (..., T, m),
Z (..., T+1, N, n, n), zeta (..., T+1, N, n), s (..., T+1, N).
"""

from __future__ import annotations

import numpy as np


def lq_reference(A, B, Q, q, R, r, QT, qT, dims, c=None):
    A, B, Q, q, R, r, QT, qT = (np.asarray(a, dtype=float) for a in (A, B, Q, q, R, r, QT, qT))
    T, n, m = A.shape[-3], A.shape[-1], B.shape[-1]
    N = len(dims)
    lead = A.shape[:-3]
    off = np.concatenate([[0], np.cumsum(dims)])
    rows = np.zeros((N, m), dtype=bool)  # rows[i] marks player i's control rows
    for i in range(N):
        rows[i, off[i]:off[i + 1]] = True
    if c is None:
        c = np.zeros(lead + (T, n))
    K = np.zeros(lead + (T, m, n))
    k = np.zeros(lead + (T, m))
    Z = np.zeros(lead + (T + 1, N, n, n))
    zeta = np.zeros(lead + (T + 1, N, n))
    s = np.zeros(lead + (T + 1, N))
    Z[..., T, :, :, :] = QT
    zeta[..., T, :, :] = qT
    for t in range(T - 1, -1, -1):
        At, Bt, ct = A[..., t, :, :], B[..., t, :, :], c[..., t, :]
        Zn, zn, sn = Z[..., t + 1, :, :, :], zeta[..., t + 1, :, :], s[..., t + 1, :]
        BtZ = np.einsum("...na,...inb->...iab", Bt, Zn)  # (..., N, m, n): B' Z^i
        S_all = np.einsum("...iab,...bc->...iac", BtZ, Bt) + R[..., t, :, :, :]
        Y_all = np.einsum("...iab,...bc->...iac", BtZ, At)
        y_all = np.einsum("...na,...in->...ia", Bt, zn + np.einsum("...inb,...b->...in", Zn, ct)) + r[..., t, :, :]
        if True:  # player i's rows of the per-player systems
            S = np.einsum("im,...imc->...mc", rows, S_all)
            Y = np.einsum("im,...imc->...mc", rows, Y_all)
            y = np.einsum("im,...im->...m", rows, y_all)
        sol = np.linalg.solve(S, np.concatenate([Y, y[..., None]], axis=-1))
        Kt, kt = sol[..., :n], sol[..., n]
        F = At - Bt @ Kt
        beta = ct - np.einsum("...nm,...m->...n", Bt, kt)
        Rt, rt = R[..., t, :, :, :], r[..., t, :, :]
        KRK = np.einsum("...ma,...imb,...bc->...iac", Kt, Rt, Kt)
        FZF = np.einsum("...ba,...ibc,...cd->...iad", F, Zn, F)
        Znew = Q[..., t, :, :, :] + FZF + KRK
        Z[..., t, :, :, :] = 0.5 * (Znew + np.swapaxes(Znew, -1, -2))
        Rk = np.einsum("...iab,...b->...ia", Rt, kt)
        zeta[..., t, :, :] = (q[..., t, :, :]
                              + np.einsum("...ba,...ib->...ia", F, zn + np.einsum("...iab,...b->...ia", Zn, beta))
                              + np.einsum("...ma,...im->...ia", Kt, Rk - rt))
        s[..., t, :] = (sn + np.einsum("...a,...iab,...b->...i", beta, Zn, beta)
                        + 2 * np.einsum("...ia,...a->...i", zn, beta)
                        + np.einsum("...a,...ia->...i", kt, Rk) - 2 * np.einsum("...ia,...a->...i", rt, kt))
        K[..., t, :, :], k[..., t, :] = Kt, kt
    return K, k, Z, zeta, s
