"""Shared seeded fixtures and factories for the LQ game tests.

``random_lq_game(rng, N, n, dims, T, all_terms=True)`` returns a dict of FULL
time-varying arrays in the [theory §1] layout (what tests/lq_twin.py takes):
A (T,n,n), B (T,n,m), Q (T,N,n,n), q (T,N,n), R (T,N,m,m), r (T,N,m),
M (T,N,m,n), c (T,n), QT (N,n,n), qT (N,n), dims. Without ``all_terms`` the
linear / cross / affine terms are zero and each R^i weighs only player i's own
control (block diagonal), i.e. the game of [MA-GPS] eq. 8.

Well-posedness by construction: every player's joint stage weight
[[Q^i, M^i'], [M^i, R^i]] is positive definite (R^i a full, dense PD matrix
whose off-diagonal blocks are the cross-player weights), so every player's
best-response problem is strictly convex and the equilibrium is unique.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

OPTIONAL = ("q", "r", "M", "c", "qT")


def random_pd(rng, k, *, scale=1.0, floor=0.5):
    """A random symmetric positive definite (k, k) matrix with eigenvalues >= floor * scale."""
    X = rng.standard_normal((k, k))
    return scale * (X @ X.T / k + floor * np.eye(k))


def random_lq_game(rng, N, n, dims, T, all_terms=True):
    """A random time-varying LQ game (dict of full arrays, see module docstring)."""
    dims = tuple(int(d) for d in dims)
    assert len(dims) == N
    m = sum(dims)
    off = np.concatenate([[0], np.cumsum(dims)])
    A = np.empty((T, n, n))
    B = rng.standard_normal((T, n, m)) / np.sqrt(n)
    Q = np.empty((T, N, n, n))
    R = np.zeros((T, N, m, m))
    M = np.zeros((T, N, m, n))
    for t in range(T):
        X = rng.standard_normal((n, n))
        A[t] = 1.05 * X / np.max(np.abs(np.linalg.eigvals(X)))  # mildly unstable
        for i in range(N):
            if all_terms:
                # [[Q, M'], [M, R]] = L L' + 0.3 I: PD, with dense cross blocks.
                L = rng.standard_normal((n + m, n + m)) / np.sqrt(n + m)
                W = L @ L.T + 0.3 * np.eye(n + m)
                Q[t, i] = W[:n, :n]
                M[t, i] = W[n:, :n]
                R[t, i] = W[n:, n:]
            else:
                Q[t, i] = random_pd(rng, n, floor=0.3)
                a, b = off[i], off[i + 1]
                R[t, i, a:b, a:b] = random_pd(rng, dims[i])
    QT = np.stack([random_pd(rng, n, floor=0.3) for _ in range(N)])
    if all_terms:
        q = 0.5 * rng.standard_normal((T, N, n))
        r = 0.5 * rng.standard_normal((T, N, m))
        c = 0.3 * rng.standard_normal((T, n))
        qT = 0.5 * rng.standard_normal((N, n))
    else:
        q, r, c, qT = np.zeros((T, N, n)), np.zeros((T, N, m)), np.zeros((T, n)), np.zeros((N, n))
    return dict(A=A, B=B, Q=Q, q=q, R=R, r=r, M=M, c=c, QT=QT, qT=qT, dims=dims)


def solver_kwargs(game):
    """Keyword arguments of gamesolve.solve_lq_game for a random_lq_game dict (all terms passed)."""
    return {k: v for k, v in game.items() if k not in ("A", "B", "Q", "R")}


def twin_args(game):
    """Positional arguments of lq_twin.solve_lq_game_numpy for a random_lq_game dict."""
    return tuple(game[k] for k in ("A", "B", "Q", "q", "R", "r", "M", "c", "QT", "qT", "dims"))


def twin_of_time_invariant(arrays, T, dims):
    """The numpy twin's (K, k, Z, zeta, s) of the game whose time-invariant arrays (dict with A, B, Q, q,
    R, r, M, c, QT, qT in the solvers' layout) are repeated over T stages."""
    from lq_twin import solve_lq_game_numpy

    stage = ("A", "B", "Q", "q", "R", "r", "M", "c")
    tiled = {k: np.broadcast_to(arrays[k], (T,) + np.shape(arrays[k])) for k in stage}
    return solve_lq_game_numpy(*(tiled[k] for k in stage), arrays["QT"], arrays["qT"], dims)


def assert_solution_equals(sol, want, rtol=1e-10):
    """sol.K, k, Z, zeta, s equal ``want`` (a twin's tuple) to ``rtol`` relative to each array's scale."""
    for name, w in zip(("K", "k", "Z", "zeta", "s"), want):
        np.testing.assert_allclose(getattr(sol, name), w, rtol=rtol, atol=rtol * np.abs(w).max(), err_msg=name)


def stage_costs(game, xs, us):
    """Each player's total cost of a trajectory, computed directly from [theory §1] (shape (N,))."""
    T = us.shape[0]
    N = game["Q"].shape[1]
    J = np.zeros(N)
    for i in range(N):
        for t in range(T):
            x, u = xs[t], us[t]
            J[i] += (x @ game["Q"][t, i] @ x + 2 * game["q"][t, i] @ x + u @ game["R"][t, i] @ u
                     + 2 * game["r"][t, i] @ u + 2 * u @ game["M"][t, i] @ x)
        J[i] += xs[T] @ game["QT"][i] @ xs[T] + 2 * game["qT"][i] @ xs[T]
    return J


@pytest.fixture
def rng():
    """A fresh seeded generator per test."""
    return np.random.default_rng(20261122)


@pytest.fixture
def make_game(rng):
    """Factory fixture: ``make_game(N, n, dims, T, all_terms=True)`` with the test's seeded rng."""

    def factory(N, n, dims, T, all_terms=True):
        return random_lq_game(rng, N, n, dims, T, all_terms=all_terms)

    return factory
