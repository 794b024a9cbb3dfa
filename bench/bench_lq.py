"""Benchmark: finite-horizon LQ game Nash ([theory §2]) through the Python API.

Configurations (N, n, m_i, T): (3, 12, 2, 20), (3, 16, 2, 100), (6, 24, 2, 100)
and a batch of 1024 x (3, 12, 2, 20); ``..._solve_costs``: a solve then ``costs(x0)``, against
the solve plus one rollout. Baselines in the same run:
  * ``numpy-vectorized``: the recursion vectorized over players with batched
    numpy matmuls (one Python iteration per stage) — what a careful numpy user writes;
  * ``numpy-twin``: the readable loop twin of the kernel in tests/lq_twin.py.
Ratios are baseline / gamesolve. GFLOP/s use the FLOP count of bench/cpp/bench_lq_game.cpp.

Run: ``python bench/bench_lq.py`` (writes bench/out/lq_game.json).
"""

from __future__ import annotations

import sys
from pathlib import Path

from _harness import measure, write_json  # noqa: E402  (pins BLAS threads first)

import numpy as np  # noqa: E402

import gamesolve as gs  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from lq_twin import solve_lq_game_numpy  # noqa: E402

CONFIGS = [((3, 12, 2, 20), 45e-6, 1), ((3, 16, 2, 100), 0.2e-3, 1), ((6, 24, 2, 100), 2e-3, 1),
           ((3, 12, 2, 20), 25e-3, 1024)]


def flops(N, n, mi, T, batch=1):
    m = N * mi
    stage = (4 * m * n * n + 2 * m * m * n + 2 * m * n + 2 / 3 * m ** 3 + 2 * m * m * (n + 1) + 2 * m * n * n
             + N * (4 * n ** 3 + 2 * m * m * n + 2 * m * n * n))
    return stage * T * batch


def random_game(rng, N, n, mi, T):
    m = N * mi
    A = rng.normal(size=(n, n)) / np.sqrt(n)
    B = rng.normal(size=(n, m))
    X = rng.normal(size=(N, n, n))
    Q = X @ np.swapaxes(X, -1, -2) / n + np.eye(n)
    R = np.zeros((N, m, m))
    for i in range(N):
        R[i, i * mi:(i + 1) * mi, i * mi:(i + 1) * mi] = np.eye(mi) * (1 + 0.5 * i)
    return A, B, Q, R


def numpy_vectorized(A, B, Q, R, T, dims):
    """Coupled Riccati recursion, vectorized over players (time-invariant, no linear terms)."""
    N, n, m = len(dims), A.shape[0], B.shape[1]
    off = np.cumsum((0,) + tuple(dims))
    sel = np.zeros((N, m, m))  # sel[i] keeps player i's rows
    for i in range(N):
        sel[i, off[i]:off[i + 1], off[i]:off[i + 1]] = np.eye(dims[i])
    Z = Q.copy()
    Ks = np.empty((T, m, n))
    for t in range(T - 1, -1, -1):
        BtZ = B.T @ Z                                   # (N, m, n)
        S = np.einsum("iab,ibc->ac", sel, BtZ @ B + R)  # player i's rows of B'Z^iB + R^i
        Y = np.einsum("iab,ibc->ac", sel, BtZ @ A)
        K = np.linalg.solve(S, Y)
        F = A - B @ K
        Z = Q + np.swapaxes(F, -1, -2)[None] @ Z @ F + K.T @ R @ K
        Z = 0.5 * (Z + np.swapaxes(Z, -1, -2))
        Ks[t] = K
    return Ks, Z


def solve_then_costs(name, A, B, Q, R, T, dims):
    """Solve, then the players' costs from x0: no slower than the solve plus one rollout (same run)."""
    x0 = np.ones(A.shape[0])
    both = measure(lambda: gs.solve_lq_game(A, B, Q, R, horizon=T, dims=dims).costs(x0))
    sol = gs.solve_lq_game(A, B, Q, R, horizon=T, dims=dims)
    solve = measure(lambda: gs.solve_lq_game(A, B, Q, R, horizon=T, dims=dims))
    roll = measure(lambda: sol.rollout(x0))
    base = solve["median_s"] + roll["median_s"]
    print(f"{name + '_solve_costs':30s} gamesolve {both['median_s'] * 1e6:9.1f} us  solve + rollout "
          f"{base * 1e6:10.1f} us  ratio {base / both['median_s']:6.2f}x")
    return dict(config=f"{name}_solve_costs", N=len(dims), n=A.shape[0], m_i=dims[0], T=T, batch=1, threads=1,
                **both, baseline="solve + rollout (same run)", baseline_median_s=base,
                ratio=base / both["median_s"], target_s=base, meets_target=both["median_s"] <= base)


def main():
    rng = np.random.default_rng(20261122)
    records = []
    gs.set_num_threads(0)
    for (N, n, mi, T), target, batch in CONFIGS:
        dims = (mi,) * N
        name = f"{'batch1024_' if batch > 1 else ''}lq_N{N}_n{n}_m{mi}_T{T}"
        if batch == 1:
            A, B, Q, R = random_game(rng, N, n, mi, T)
            ours = measure(lambda: gs.solve_lq_game(A, B, Q, R, horizon=T, dims=dims))
            sol = gs.solve_lq_game(A, B, Q, R, horizon=T, dims=dims)
            vec = measure(lambda: numpy_vectorized(A, B, Q, R, T, dims), repeat=5)
            Kv, _ = numpy_vectorized(A, B, Q, R, T, dims)
            full = dict(A=np.broadcast_to(A, (T, n, n)), B=np.broadcast_to(B, (T, n, N * mi)),
                        Q=np.broadcast_to(Q, (T, N, n, n)), q=np.zeros((T, N, n)), R=np.broadcast_to(R, (T, N, N * mi, N * mi)),
                        r=np.zeros((T, N, N * mi)), M=np.zeros((T, N, N * mi, n)), c=np.zeros((T, n)), QT=Q,
                        qT=np.zeros((N, n)), dims=dims)
            twin = measure(lambda: solve_lq_game_numpy(**full), repeat=3, min_time=0.02)
            err = float(np.abs(Kv - sol.K).max() / np.abs(sol.K).max())
        else:
            games = [random_game(rng, N, n, mi, T) for _ in range(batch)]
            A, B, Q, R = (np.stack(x) for x in zip(*games))
            ours = measure(lambda: gs.solve_lq_games(A, B, Q, R, horizon=T, dims=dims), repeat=5)
            sol = gs.solve_lq_games(A, B, Q, R, horizon=T, dims=dims)
            vec = measure(lambda: [numpy_vectorized(A[b], B[b], Q[b], R[b], T, dims) for b in range(batch)],
                          repeat=1, warmup=0, number=1, min_time=0.0)
            twin = None
            err = float(np.abs(numpy_vectorized(A[7], B[7], Q[7], R[7], T, dims)[0] - sol.K[7]).max())
        rec = dict(config=name, N=N, n=n, m_i=mi, T=T, batch=batch, threads=gs.get_num_threads() if batch > 1 else 1,
                   **ours, gflops=flops(N, n, mi, T, batch) / ours["median_s"] * 1e-9,
                   baseline="numpy-vectorized", baseline_median_s=vec["median_s"],
                   ratio=vec["median_s"] / ours["median_s"], max_rel_diff_vs_numpy=err,
                   target_s=target, meets_target=ours["median_s"] <= target)
        if twin is not None:
            rec.update(twin_median_s=twin["median_s"], ratio_vs_twin=twin["median_s"] / ours["median_s"])
        records.append(rec)
        print(f"{name:30s} gamesolve {ours['median_s'] * 1e6:9.1f} us  numpy-vectorized "
              f"{vec['median_s'] * 1e6:10.1f} us  ratio {rec['ratio']:6.1f}x  target {target * 1e6:8.0f} us  "
              f"{'MEETS' if rec['meets_target'] else 'misses'}")
        if batch == 1 and (N, n, mi, T) == (3, 12, 2, 20):
            records.append(solve_then_costs(name, A, B, Q, R, T, dims))
    write_json("lq_game", records, title="Finite-horizon LQ game Nash through Python ([theory §2])",
               notes="gamesolve.solve_lq_game / solve_lq_games (all cores for the batch) vs numpy baselines in the "
                     "same run; ratio = baseline / gamesolve. Targets from issue 2 (Python: 45 us for the small "
                     "single solve; the others are the C++ targets, reported here for the Python path).")


if __name__ == "__main__":
    main()
