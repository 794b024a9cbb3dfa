"""Plain closed-loop rollout, one trajectory at a time: the oracle for iLQGames' rollout (C++ kernel and numpy)."""

import numpy as np


def rollout_reference(f, x0, xs, us, K, k, alpha):
    """``u_t = us_t - K_t (x_t - xs_t) - alpha k_t``, ``x_{t+1} = f(x_t, u_t)`` for every member b and candidate c.

    x0 (B, n); xs (B, T+1, n); us (B, T, m); K (B, T, m, n); k (B, T, m); alpha (C, B).
    Returns states (C, B, T+1, n) and controls (C, B, T, m).
    """
    C, Bn = alpha.shape
    T, m = us.shape[1:]
    X = np.empty((C, Bn, T + 1, x0.shape[-1]))
    U = np.empty((C, Bn, T, m))
    for c in range(C):
        for b in range(Bn):
            x = x0[b]
            X[c, b, 0] = x
            for t in range(T):
                u = us[b, t] - K[b, t] @ (x - xs[b, t]) - alpha[c, b] * k[b, t]
                x = f(x, u)
                U[c, b, t], X[c, b, t + 1] = u, x
    return X, U
