"""The local LQ game of an iLQGames iteration: its C++ solve, a player's best-response fold, the
closed-loop rollout and the first-order Nash residual (see :mod:`gamesolve.nonlinear.solve`)."""

from __future__ import annotations

import numpy as np

from .. import _core
from ..lq import finite as _finite
from .approximation import LQApproximation


def _rollout(game, x0, xs, us, K, k, alpha):
    """Closed-loop rollout ``u_t = us_t - K_t (x_t - xs_t) - alpha k_t`` of B members and C candidates.

    x0 (B, n); xs (B, T+1, n); us (B, T, m); K (B, T, m, n); k (B, T, m);
    alpha (C, B). Returns new states (C, B, T+1, n) and controls (C, B, T, m).
    Built-in dynamics (those with ``kernel_blocks``) run in the C++ kernel
    ``_core.rollout_feedback`` (one sequential loop over t per trajectory, GIL
    released); any other dynamics ``f(x, u)`` are stepped here, vectorized over
    members and candidates (one call of f per stage). Both are checked against
    the plain per-trajectory loop of ``tests/rollout_reference.py``.
    """
    spec = getattr(game.dynamics, "kernel_blocks", None)
    spec = spec() if spec is not None else None
    if spec is not None:
        return _core.rollout_feedback(spec, x0, xs, us, K, k, alpha)
    C, Bn = alpha.shape
    T = us.shape[-2]
    uff = us[None] - alpha[:, :, None, None] * k[None]  # (C, B, T, m)
    X = np.empty((C, Bn, T + 1, game.n))
    U = np.empty((C, Bn, T, game.m))
    x = np.broadcast_to(x0, (C, Bn, game.n))
    X[:, :, 0] = x
    for t in range(T):
        u = uff[:, :, t] - (K[:, t] @ (x - xs[:, t])[..., None])[..., 0]
        U[:, :, t] = u
        x = game.dynamics(x, u)
        X[:, :, t + 1] = x
    return X, U


def _nash_residual(lq, K, own_rows):
    """First-order Nash residual ``max_i max_t |dJ^i/du^i_t|`` per member by one backward (adjoint) pass.

    ``lq``: LQApproximation along the current trajectory (q = g_x/2, r = g_u/2),
    every array with a leading batch axis of size B or 1; ``K (B, T, m, n)``: the
    feedback the others keep; ``own_rows (N, m)``: player i's control rows.
    All players and members at once; see the module docstring for the recursion.
    """
    Bn, T = K.shape[:2]
    N, n = lq.qT.shape[-2:]
    At = np.swapaxes(lq.A, -1, -2)[:, :, None]  # (B|1, T, 1, n, n)
    Bt = np.swapaxes(lq.B, -1, -2)[:, :, None]  # (B|1, T, 1, m, n)
    Kt = np.swapaxes(K, -1, -2)[:, :, None]  # (B, T, 1, n, m)
    gx, gu = 2.0 * lq.q[..., None], 2.0 * lq.r[..., None]  # (B|1, T, N, n|m, 1)
    others = (~own_rows)[..., None]
    G = np.empty((Bn, T, N, own_rows.shape[1], 1))
    lt = np.broadcast_to(2.0 * lq.qT[..., None], (Bn, N, n, 1))
    for t in range(T - 1, -1, -1):
        g = gu[:, t] + Bt[:, t] @ lt  # grad_u c^i + B' lam^i, (B, N, m, 1)
        G[:, t] = g
        lt = gx[:, t] + At[:, t] @ lt - Kt[:, t] @ (g * others)
    return np.max(np.abs(G[..., 0]) * own_rows, axis=(1, 2, 3))


def _core_array(a, lead):
    """``a`` as the core wants it: C-contiguous float64 ``(B|1, T|1, *block)``; a time axis of stride 0
    (time-invariant data, e.g. a double integrator's A, B) is passed once."""
    if a is None:
        return None
    if lead:
        a = a[:, None]
    elif a.shape[1] > 1 and a.strides[1] == 0:
        a = a[:, :1]
    return np.ascontiguousarray(a, dtype=float)


def _solve_lq(lq, dims, checked=None):
    """The local LQ games by the C++ core: K, k, Z, zeta (deviation coordinates), min-norm stage count, and
    a (B,) mask of the members whose recursion met non-finite numbers (overflow / NaN data). ``checked``:
    a set of the (small) R arrays already found valid, to skip re-checking them.

    Arrays carry a batch axis of size B or 1 (1 = shared, passed once). The data are well-formed by
    construction (shapes from :meth:`Game.lq_approximation`, symmetric Hessians), so the core is called
    directly, without :func:`gamesolve.solve_lq_games`' validation; the one structural requirement the
    recursion does not check itself, own-control blocks R^{ii} positive definite, is checked here
    (in C++, by the same rule as :func:`gamesolve.lq_game`; InputError otherwise). Raises nothing else:
    non-finite stages come back in the mask.
    """
    args = [_core_array(a, name in ("QT", "qT")) for name, a in zip(lq._fields, lq)]
    A, B, Q, q, R, r, QT, qT, M = args
    key = R.tobytes() if checked is not None and R.size <= 4096 else None  # R is usually the same every time
    check_R = key is None or key not in checked
    batch = max(a.shape[0] for a in lq if a is not None)
    T = lq.A.shape[1]
    out = _core.solve_lq_games(list(dims), lq.A.shape[-1], T, batch, A, B, Q, q, R, r, M, None, QT, qT,
                               _finite._num_threads, _finite.RCOND_TOL, _finite.RANK_TOL, check_R=check_R)
    if check_R and key is not None:
        checked.add(key)
    st = out.stage_status
    return out.K, out.k, out.Z, out.zeta, out.n_min_norm_stages, (st == 2).any(axis=1)


def _compact(a):
    """Keep one copy of data shared by the whole batch (a stride-0 batch axis becomes size 1)."""
    if a is None:
        return None
    a = np.asarray(a)
    return a[:1] if a.shape[0] > 1 and a.strides[0] == 0 else a


def _take(a, sel):
    """Members ``sel`` of a batch-axis array (size-1 shared axes pass through)."""
    return a if a is None or a.shape[0] == 1 else a[sel]


def _fold(lq, K, own):
    """Player i's best-response problem as a one-player LQ game (deviation coordinates): the others keep
    ``du^j = -K^j dx``, i.e. ``du = E dv + G dx`` with ``G = -K`` on their rows (0 on player i's, ``own``), so
    ``A' = A + B G``, ``B' = B E``, ``Q' = Q + G'R G + G'M + M'G``, ``q' = q + G'r``, ``R' = E'R E``,
    ``r' = E'r``, ``M' = E'(R G + M)`` (``lq`` already restricted to player i)."""
    G = -K.copy()
    G[:, :, own] = 0.0
    Gp = G[:, :, None]  # (b, T, 1, m, n)
    RG = lq.R @ Gp
    Mfull = RG if lq.M is None else RG + lq.M
    Gt = np.swapaxes(Gp, -1, -2)
    Q = lq.Q + Gt @ RG
    if lq.M is not None:
        GtM = Gt @ lq.M
        Q = Q + GtM + np.swapaxes(GtM, -1, -2)
    q = lq.q + (Gt @ lq.r[..., None])[..., 0]
    return LQApproximation(lq.A + lq.B @ G, lq.B[..., own], Q, q, lq.R[..., own, :][..., own],
                           lq.r[..., own], lq.QT, lq.qT, Mfull[..., own, :])
