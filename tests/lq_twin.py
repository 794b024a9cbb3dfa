"""Pure-numpy twin of the C++ coupled-Riccati kernel ([theory §2]): the one numpy LQ oracle.

Written from [theory §2], not from the C++ source: a loop over stages and
players, one equation per line. Every function takes optional leading batch
axes ``...`` (batched matmuls), so the same code is the single-game oracle of
the tests and the batched numpy baseline of the benchmarks. Full time-varying
arrays in (no broadcasting over time); the linear / cross / affine terms
q, r, M, c, qT may be ``None`` (zero).

Shapes ([theory §1]): A (..., T,n,n), B (..., T,n,m), Q (..., T,N,n,n), q (..., T,N,n),
R (..., T,N,m,m), r (..., T,N,m), M (..., T,N,m,n), c (..., T,n), QT (..., N,n,n),
qT (..., N,n); dims = (m_1..m_N). Policy u_t = -K_t x_t - k_t; player i's stage
cost (no 1/2) x'Q^i x + 2 q^i'x + u'R^i u + 2 r^i'u + 2 u'M^i x.
"""

from __future__ import annotations

import numpy as np

#: Stage systems with 1 / cond_2(S) below this are solved for the minimum-norm
#: solution (same thresholds as gamesolve.lq.finite.RCOND_TOL / RANK_TOL).
RCOND_TOL = 1e-12
RANK_TOL = 1e-10

#: stage status codes, as the library's ``stage_status``
REGULAR, MIN_NORM, NON_FINITE = 0, 1, 2


def offsets(dims):
    """First joint-control row of each player, plus the total m at the end."""
    off = [0]
    for d in dims:
        off.append(off[-1] + int(d))
    return off


def _t(X):
    return np.swapaxes(X, -1, -2)


def _mv(X, v):
    """Batched matrix-vector product X v."""
    return (X @ v[..., None])[..., 0]


def _dot(u, v):
    """Batched inner product u'v."""
    return np.einsum("...a,...a->...", u, v)


def stage_system(A, B, R, r, M, c, Z_next, zeta_next, dims):
    """Stage system of [theory §2] at one stage: S (..., m,m), Y (..., m,n), y (..., m).

    Row block i: S_i = B^i'Z^i B + R^i_[i,:],  Y_i = B^i'Z^i A + M^i_[i],
    y_i = B^i'(zeta^i + Z^i c) + r^i_[i]  (Z^i, zeta^i of stage t+1).
    """
    off = offsets(dims)
    n, m = B.shape[-2:]
    lead = B.shape[:-2]
    S = np.zeros(lead + (m, m))
    Y = np.zeros(lead + (m, n))
    y = np.zeros(lead + (m,))
    for i in range(len(dims)):
        rows = slice(off[i], off[i + 1])
        BiZ = _t(B[..., :, rows]) @ Z_next[..., i, :, :]
        S[..., rows, :] = BiZ @ B + R[..., i, rows, :]
        Y[..., rows, :] = BiZ @ A + M[..., i, rows, :]
        y[..., rows] = _mv(BiZ, c) + _mv(_t(B[..., :, rows]), zeta_next[..., i, :]) + r[..., i, rows]
    return S, Y, y


def solve_stage(S, Y, y):
    """Solve S [K k] = [Y y]; minimum-norm (lstsq) where S is singular or ill-conditioned.

    Returns (K, k, status) with status REGULAR, MIN_NORM or NON_FINITE (then K, k are NaN)
    per batch member.
    """
    rhs = np.concatenate([Y, y[..., None]], axis=-1)
    finite = np.isfinite(S).all(axis=(-1, -2)) & np.isfinite(rhs).all(axis=(-1, -2))
    sigma = np.linalg.svd(np.where(finite[..., None, None], S, 0.0), compute_uv=False)
    regular = finite & (sigma[..., -1] >= RCOND_TOL * sigma[..., 0])  # 1 / cond_2(S) = sigma_min / sigma_max
    status = np.where(finite, np.where(regular, REGULAR, MIN_NORM), NON_FINITE)
    sol = np.full(rhs.shape, np.nan)
    if regular.any():
        sol[regular] = np.linalg.solve(S[regular], rhs[regular])
    for idx in np.argwhere(status == MIN_NORM):  # the rare singular members, one by one
        idx = tuple(idx)
        sol[idx] = np.linalg.lstsq(S[idx], rhs[idx], rcond=RANK_TOL)[0]
    return sol[..., :-1], sol[..., -1], status


def value_update(A, B, Q, q, R, r, M, c, Z_next, zeta_next, s_next, K, k):
    """Value functions of stage t given the stage's gains K, k ([theory §2]).

    F = A - B K,  beta = c - B k, and for every player i
    Z^i    = Q^i + F'Z^i F + K'R^i K - K'M^i - M^i'K     (symmetrized)
    zeta^i = q^i + F'(zeta^i + Z^i beta) + K'(R^i k - r^i) - M^i'k
    s^i    = s^i + beta'Z^i beta + 2 zeta^i'beta + k'R^i k - 2 r^i'k
    """
    N = Q.shape[-3]
    F = A - B @ K
    beta = c - _mv(B, k)
    Z = np.zeros_like(Z_next)
    zeta = np.zeros_like(zeta_next)
    s = np.zeros_like(s_next)
    for i in range(N):
        Zn, zn, Ri, ri, Mi = Z_next[..., i, :, :], zeta_next[..., i, :], R[..., i, :, :], r[..., i, :], M[..., i, :, :]
        Zi = Q[..., i, :, :] + _t(F) @ Zn @ F + _t(K) @ Ri @ K - _t(K) @ Mi - _t(Mi) @ K
        Z[..., i, :, :] = 0.5 * (Zi + _t(Zi))
        zeta[..., i, :] = q[..., i, :] + _mv(_t(F), zn + _mv(Zn, beta)) + _mv(_t(K), _mv(Ri, k) - ri) - _mv(_t(Mi), k)
        s[..., i] = (s_next[..., i] + _dot(beta, _mv(Zn, beta)) + 2 * _dot(zn, beta) + _dot(k, _mv(Ri, k))
                     - 2 * _dot(ri, k))
    return Z, zeta, s


def _zeros_for_none(A, B, Q, q, r, M, c, qT):
    """The optional terms, zero where None."""
    lead_t, n, m = B.shape[:-2], B.shape[-2], B.shape[-1]
    N = Q.shape[-3]
    q = np.zeros(lead_t + (N, n)) if q is None else q
    r = np.zeros(lead_t + (N, m)) if r is None else r
    M = np.zeros(lead_t + (N, m, n)) if M is None else M
    c = np.zeros(lead_t + (n,)) if c is None else c
    qT = np.zeros(lead_t[:-1] + (N, n)) if qT is None else qT
    return q, r, M, c, qT


def _terminal(QT, qT, T):
    lead = qT.shape[:-2]
    N, n = qT.shape[-2:]
    Z = np.zeros(lead + (T + 1, N, n, n))
    zeta = np.zeros(lead + (T + 1, N, n))
    s = np.zeros(lead + (T + 1, N))
    Z[..., T, :, :, :] = QT
    zeta[..., T, :, :] = qT
    return Z, zeta, s


def solve_lq_game_numpy(A, B, Q, q, R, r, M, c, QT, qT, dims, *, with_status=False):
    """Feedback Nash equilibrium of a finite-horizon LQ game ([theory §2]), pure numpy.

    Returns K (..., T,m,n), k (..., T,m), Z (..., T+1,N,n,n), zeta (..., T+1,N,n),
    s (..., T+1,N), and with ``with_status`` also status (..., T) (REGULAR, MIN_NORM,
    NON_FINITE). Stages whose system is singular / ill-conditioned get the
    minimum-norm solution (``solve_stage``); once a stage is non-finite, it and
    every earlier stage are NaN.
    """
    A, B, Q, R, QT = (np.asarray(a, dtype=float) for a in (A, B, Q, R, QT))
    q, r, M, c, qT = _zeros_for_none(A, B, Q, q, r, M, c, qT)
    T, n, m = B.shape[-3:]
    lead = B.shape[:-3]
    K = np.zeros(lead + (T, m, n))
    k = np.zeros(lead + (T, m))
    status = np.zeros(lead + (T,), dtype=int)
    Z, zeta, s = _terminal(QT, qT, T)
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(T - 1, -1, -1):
            At, Bt, ct = A[..., t, :, :], B[..., t, :, :], c[..., t, :]
            S, Y, y = stage_system(At, Bt, R[..., t, :, :, :], r[..., t, :, :], M[..., t, :, :, :], ct,
                                   Z[..., t + 1, :, :, :], zeta[..., t + 1, :, :], dims)
            K[..., t, :, :], k[..., t, :], status[..., t] = solve_stage(S, Y, y)
            Z[..., t, :, :, :], zeta[..., t, :, :], s[..., t, :] = value_update(
                At, Bt, Q[..., t, :, :, :], q[..., t, :, :], R[..., t, :, :, :], r[..., t, :, :],
                M[..., t, :, :, :], ct, Z[..., t + 1, :, :, :], zeta[..., t + 1, :, :], s[..., t + 1, :],
                K[..., t, :, :], k[..., t, :])
    out = (K, k, Z, zeta, s)
    return out + (status,) if with_status else out


def evaluate_strategy_numpy(A, B, Q, q, R, r, M, c, QT, qT, K, k):
    """Value functions (Z, zeta, s) of the given strategy u_t = -K_t x_t - k_t ([theory §2] policy evaluation)."""
    q, r, M, c, qT = _zeros_for_none(A, B, Q, q, r, M, c, qT)
    T = B.shape[-3]
    Z, zeta, s = _terminal(QT, qT, T)
    for t in range(T - 1, -1, -1):
        Z[..., t, :, :, :], zeta[..., t, :, :], s[..., t, :] = value_update(
            A[..., t, :, :], B[..., t, :, :], Q[..., t, :, :, :], q[..., t, :, :], R[..., t, :, :, :],
            r[..., t, :, :], M[..., t, :, :, :], c[..., t, :], Z[..., t + 1, :, :, :], zeta[..., t + 1, :, :],
            s[..., t + 1, :], K[..., t, :, :], k[..., t, :])
    return Z, zeta, s
