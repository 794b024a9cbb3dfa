"""The one-call paths: batch value checks on the solve's threads, entropy_lq_nash and lq_nash on raw arrays.

A batch's per-game value checks run on the threads that solve it; the error names the lowest
failing game whatever the thread count. entropy_lq_nash and lq_nash on raw arrays read, check
and solve in one C++ call: the numbers are those of the same solvers on the game built first.
"""

import numpy as np
import pytest

import gamesolve
from gamesolve import InputError, entropy_lq_game, entropy_lq_nash, lq_game, lq_games, lq_nash, solve_lq_games


@pytest.fixture
def threads():
    """Run with set_num_threads(k), restoring the setting afterwards."""
    old = gamesolve.get_num_threads()
    yield gamesolve.set_num_threads
    gamesolve.set_num_threads(old)


def tv_batch(batch, T=4, N=2, n=3, mi=2, seed=0):
    """Distinct time-varying games (every array with batch and time axes), all valid."""
    rng = np.random.default_rng(seed)
    m = N * mi
    A = np.eye(n) + 0.1 * rng.standard_normal((batch, T, n, n))
    B = rng.standard_normal((batch, T, n, m))
    L = rng.standard_normal((batch, T, N, n, n))
    Q = L @ np.swapaxes(L, -1, -2) + np.eye(n)
    R = np.broadcast_to(np.eye(m), (batch, T, N, m, m)).copy()
    q = rng.standard_normal((batch, T, N, n))
    return A, B, Q, R, dict(q=q, dims=(mi,) * N, QT=Q[:, -1].copy())


def break_games(Q, R):
    """Three invalid games: 5 (R^00 indefinite at t=2), 9 (Q^1 asymmetric at t=1), 13 (R^11 at t=0)."""
    Q, R = Q.copy(), R.copy()
    R[5, 2, 0, 0, 0] = -3.0
    Q[9, 1, 1, 0, 2] += 1.0
    R[13, 0, 1, 3, 3] = -1.0
    return Q, R


FIRST = r"R \(player 0's own block R\^00\)\[5, 2\] must be positive definite, smallest eigenvalue is -3"


@pytest.mark.parametrize("n_threads", [1, 2, 4])
@pytest.mark.parametrize("keep", ["all", "gains", "stage0"])
def test_batch_error_names_lowest_failing_game(threads, n_threads, keep):
    A, B, Q, R, kw = tv_batch(40)
    Q, R = break_games(Q, R)
    threads(n_threads)
    for _ in range(5):  # any timing of the threads
        with pytest.raises(InputError, match=FIRST):
            solve_lq_games(A, B, Q, R, keep=keep, **kw)
    with pytest.raises(InputError, match=FIRST):
        lq_games(A, B, Q, R, **kw)


def test_batch_error_later_games_and_kinds(threads):
    A, B, Q, R, kw = tv_batch(40)
    Q, R = break_games(Q, R)
    R[5] = np.eye(4)  # game 5 valid again: game 9's asymmetric Q^1 at t=1 comes first
    threads(2)
    with pytest.raises(InputError, match=r"Q\[9, 1, 1\] must be symmetric: max \|X - X'\| = 1 exceeds"):
        solve_lq_games(A, B, Q, R, **kw)
    Q[9] = 0.5 * (Q[9] + np.swapaxes(Q[9], -1, -2))
    with pytest.raises(InputError, match=r"R \(player 1's own block R\^11\)\[13, 0\]"):
        solve_lq_games(A, B, Q, R, **kw)
    R[13] = np.eye(4)
    sol = solve_lq_games(A, B, Q, R, **kw)  # all valid now: solved, equal to one game at a time
    one = gamesolve.solve_lq_game(A[13], B[13], Q[13], R[13], q=kw["q"][13], QT=kw["QT"][13], dims=kw["dims"])
    np.testing.assert_array_equal(sol.K[13], one.K)


def test_batch_shared_array_checked_once_before_the_games(threads):
    A, B, Q, R, kw = tv_batch(16)
    Q, _ = break_games(Q, R)  # game 9 invalid ...
    R_shared = np.eye(4)[None].repeat(2, 0)
    R_shared[1, 2, 2] = -1.0  # ... but the weights shared by every game fail first (game index 0)
    threads(2)
    R_batch = np.broadcast_to(R_shared, (1, 4, 2, 4, 4))  # batch axis 1: shared by every game
    with pytest.raises(InputError, match=r"R \(player 1's own block R\^11\)\[0, 0\]"):
        solve_lq_games(A, B, Q, R_batch, **kw)


def test_batch_nonfinite_input_still_named(threads):
    A, B, Q, R, kw = tv_batch(8)
    A = A.copy()
    A[6, 1, 0, 2] = np.nan
    threads(2)
    with pytest.raises(InputError, match=r"A must be finite, found NaN or inf \(first in game 6, stage 1, entry \(0, 2\)\)"):
        solve_lq_games(A, B, Q, R, **kw)


@pytest.mark.parametrize("name", ["A", "B", "Q", "q", "R", "r", "M", "c", "QT", "qT"])
def test_batch_nonfinite_found_anywhere_in_a_games_span(name, threads):
    """The check tests each array's stages of a game as one span and locates a failure block by block:
    an infinity in the very last entry of the last stage (of the last game), and one in the first entry of
    the first stage of an earlier game, are both named, and the lowest failing game wins."""
    batch, T, N, n, mi = 8, 4, 2, 3, 2
    A, B, Q, R, kw = tv_batch(batch, T=T, N=N, n=n, mi=mi)
    m = N * mi
    rng = np.random.default_rng(5)
    arrays = dict(A=A, B=B, Q=Q, R=R, q=kw["q"], QT=kw["QT"], r=rng.standard_normal((batch, T, N, m)),
                  M=0.01 * rng.standard_normal((batch, T, N, m, n)), c=rng.standard_normal((batch, T, n)),
                  qT=rng.standard_normal((batch, N, n)))
    arrays = {k: v.copy() for k, v in arrays.items()}
    x = arrays[name]
    terminal = name in ("QT", "qT")
    block = x.shape[1:] if terminal else x.shape[2:]
    last = tuple(d - 1 for d in block)
    args = lambda: dict(q=arrays["q"], r=arrays["r"], M=arrays["M"], c=arrays["c"], QT=arrays["QT"],
                        qT=arrays["qT"], dims=(mi,) * N)
    threads(2)
    solve_lq_games(arrays["A"], arrays["B"], arrays["Q"], arrays["R"], keep="gains", **args())  # valid as built

    def where(b, t, entry):
        stage = 0 if terminal else t
        ent = ", ".join(map(str, entry)) + ("," if len(entry) == 1 else "")
        return rf"{name} must be finite, found NaN or inf \(first in game {b}, stage {stage}, entry \({ent}\)\)"

    x[(batch - 1,) + (() if terminal else (T - 1,)) + last] = np.inf  # the last double of the array
    with pytest.raises(InputError, match=where(batch - 1, T - 1, last)):
        solve_lq_games(arrays["A"], arrays["B"], arrays["Q"], arrays["R"], keep="gains", **args())
    first = (0,) * len(block)
    x[(3,) + (() if terminal else (0,)) + first] = -np.inf
    with pytest.raises(InputError, match=where(3, 0, first)):
        solve_lq_games(arrays["A"], arrays["B"], arrays["Q"], arrays["R"], keep="gains", **args())


def entropy_data(N=2, n=3, mi=1, T=6, seed=1):
    rng = np.random.default_rng(seed)
    m = N * mi
    A = np.eye(n) + 0.1 * rng.standard_normal((T, n, n))
    B = 0.3 * rng.standard_normal((T, n, m))
    L = rng.standard_normal((T, N, n, n))
    Q = L @ np.swapaxes(L, -1, -2) / n + 0.1 * np.eye(n)
    R = [np.eye(mi) * (1 + i) for i in range(N)]
    return A, B, Q, R, dict(dims=(mi,) * N)


def test_entropy_raw_arrays_equal_the_game_path():
    A, B, Q, R, kw = entropy_data()
    W = 0.01 * np.eye(3)
    raw = entropy_lq_nash(A, B, Q, R, tau=0.7, noise_cov=W, **kw)
    game = entropy_lq_game(A, B, Q, R, tau=0.7, noise_cov=W, **kw)
    ref = entropy_lq_nash(game)
    for name in ("K", "Sigma", "P", "p", "contraction"):
        np.testing.assert_array_equal(getattr(raw, name), getattr(ref, name))
    np.testing.assert_array_equal(raw.game.noise_cov, W)
    assert not raw.game.noise_cov.flags.writeable and raw.game.tau == 0.7
    np.testing.assert_array_equal(raw.game.lq.R, game.lq.R)
    assert raw.nash_gap() < 1e-10


@pytest.mark.parametrize("W, match", [
    (np.eye(2), r"noise_cov must have shape \(3, 3\) or \(6, 3, 3\), got \(2, 2\)"),
    (np.diag([1.0, np.nan, 1.0]), r"noise_cov must be finite"),
    (np.diag([1.0, -1.0, 1.0]), r"noise_cov must be positive semidefinite, smallest eigenvalue is -1"),
    (np.array([[1.0, 0.5, 0], [0, 1, 0], [0, 0, 1]]), r"noise_cov must be symmetric"),
])
def test_entropy_raw_arrays_noise_cov_errors(W, match):
    A, B, Q, R, kw = entropy_data()
    with pytest.raises(InputError, match=match):
        entropy_lq_nash(A, B, Q, R, tau=1.0, noise_cov=W, **kw)


def test_entropy_raw_arrays_rules_after_the_lq_checks():
    A, B, Q, R, kw = entropy_data()
    Rj = np.ones((2, 2, 2)) + np.eye(2)  # joint weights with products of both players' controls
    with pytest.raises(InputError, match=r"R\[0\] must be block-diagonal"):
        entropy_lq_nash(A, B, Q, Rj, tau=1.0, **kw)
    with pytest.raises(InputError, match=r"R \(player 1's own block R\^11\)"):  # the LQ reader's check first
        entropy_lq_nash(A, B, Q, [np.eye(1), -np.eye(1)], tau=1.0, **kw)
    with pytest.raises(InputError, match="horizon is required"):
        entropy_lq_nash(A[0], B[0], Q[0], R, tau=1.0, **kw)


def nash_data():
    A = np.array([[1.0, 0.2], [0.0, 0.9]])
    B = [np.array([[0.0], [1.0]]), np.array([[1.0], [0.3]])]
    Q = np.stack([np.eye(2), 2 * np.eye(2)])
    R = [np.eye(1), np.eye(1)]
    return A, B, Q, R


@pytest.mark.parametrize("discount", [1.0, 0.9])
def test_lq_nash_raw_arrays_equal_the_game_path(discount):
    A, B, Q, R = nash_data()
    raw = lq_nash(A, B, Q, R, discount=discount)
    ref = lq_nash(lq_game(A, B, Q, R), discount=discount)
    np.testing.assert_array_equal(raw.K, ref.K)
    np.testing.assert_array_equal(raw.P, ref.P)
    np.testing.assert_array_equal(raw.game.A, ref.game.A)  # the discounted game: sqrt(beta) A
    np.testing.assert_array_equal(raw.game.A[0], np.sqrt(discount) * A if discount != 1.0 else A)
    K0 = raw.K + 0.01
    np.testing.assert_array_equal(lq_nash(A, B, Q, R, K0=K0, method="lyapunov").K,
                                  lq_nash(lq_game(A, B, Q, R), K0=K0, method="lyapunov").K)


def test_lq_nash_raw_arrays_errors():
    A, B, Q, R = nash_data()
    with pytest.raises(InputError, match=r"K0 must have shape \(2, 2\), got \(2,\)"):
        lq_nash(A, B, Q, R, K0=np.zeros(2))
    with pytest.raises(InputError, match=r"K0 must be finite"):
        lq_nash(A, B, Q, R, K0=np.full((2, 2), np.nan))
    with pytest.raises(InputError, match=r"K0 is not stabilizing"):
        lq_nash(A, B, Q, R, K0=-10 * np.ones((2, 2)))
    with pytest.raises(InputError, match=r"got a game with T=3"):
        lq_nash(np.stack([A] * 3), B, Q, R)
    with pytest.raises(InputError, match=r"discount must be in \(0, 1\]"):
        lq_nash(A, B, Q, R, discount=1.5)
