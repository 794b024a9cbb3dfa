"""Benchmark: entropy-regularized LQ games (SPEC 4).

* ``entropy_lq_nash`` vs ``solve_lq_game`` of the same size, in the same run
  (target: entropy <= 1.5x the unregularized solve), end to end through the
  public API and kernel only (the ``_core`` calls with prepared arrays).
* ``entropy_po`` (paper 001 Algorithm 1, Python loop) with L sweeps, against
  the exact C++ solve of the same game.

Run: ``PYTHONPATH=python python bench/bench_entropy.py`` -> bench/out/entropy.json.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import measure, write_json  # noqa: E402  (pins BLAS threads before numpy)

import numpy as np  # noqa: E402

import gamesolve as gs  # noqa: E402
from gamesolve import _core  # noqa: E402
from gamesolve.entropy import _compact  # noqa: E402
from gamesolve.lq import RANK_TOL, RCOND_TOL, _normalize  # noqa: E402


def make_game(N, n, mi, T, seed=0):
    rng = np.random.default_rng(seed)
    dims = (mi,) * N
    m = N * mi
    A = np.eye(n) + 0.1 * rng.standard_normal((T, n, n))
    B = 0.3 * rng.standard_normal((T, n, m))
    L = rng.standard_normal((T, N, n, n))
    Q = L @ np.swapaxes(L, -1, -2) / n + 0.1 * np.eye(n)
    R = np.zeros((T, N, m, m))
    for i in range(N):
        R[:, i, i * mi:(i + 1) * mi, i * mi:(i + 1) * mi] = np.eye(mi)
    W = 0.01 * np.eye(n)
    return A, B, Q, R, W, dims


def main():
    records = []
    for N, n, mi, T in [(2, 4, 1, 50), (3, 12, 2, 20), (3, 12, 2, 200), (4, 24, 4, 100)]:
        A, B, Q, R, W, dims = make_game(N, n, mi, T)
        name = f"N{N}_n{n}_m{mi}_T{T}"
        tau = 1.0
        # end to end (validation + C++ + result assembly)
        ours = measure(lambda: gs.entropy_lq_nash(A, B, Q, R, tau=tau, noise_cov=W, dims=dims))
        base = measure(lambda: gs.solve_lq_game(A, B, Q, R, dims=dims))
        records.append({"config": f"entropy_lq_nash_{name}", **ours, "baseline": "solve_lq_game (same size)",
                        "baseline_median_s": base["median_s"], "ratio": base["median_s"] / ours["median_s"],
                        "ratio_min": base["min_s"] / ours["min_s"],
                        "target_s": 1.5 * base["median_s"], "meets_target": ours["median_s"] <= 1.5 * base["median_s"]})
        # kernel only: the two _core calls with prepared arrays
        game = gs.entropy_lq_game(A, B, Q, R, tau=tau, noise_cov=W, dims=dims)
        lead = lambda a: np.ascontiguousarray(_compact(a)[None])  # noqa: E731
        args = (list(dims), n, T, lead(game.A), lead(game.B), lead(game.Q), lead(game.R),
                np.ascontiguousarray(game.QT[None, None]), lead(game.W), tau)
        g = _normalize(A, B, Q, R, horizon=None, q=None, r=None, M=None, c=None, QT=None, qT=None, dims=dims,
                       batched=False)
        k_ours = measure(lambda: _core.entropy_lq_nash(*args))
        k_base = measure(lambda: _core.solve_lq_games(*g.core_args(), 1, RCOND_TOL, RANK_TOL))
        records.append({"config": f"entropy_kernel_{name}", **k_ours, "baseline": "_core.solve_lq_games (same size)",
                        "baseline_median_s": k_base["median_s"], "ratio": k_base["median_s"] / k_ours["median_s"],
                        "ratio_min": k_base["min_s"] / k_ours["min_s"],
                        "target_s": 1.5 * k_base["median_s"],
                        "meets_target": k_ours["median_s"] <= 1.5 * k_base["median_s"]})
        print(f"{name}: end-to-end {ours['median_s'] * 1e3:.3f} ms vs {base['median_s'] * 1e3:.3f} ms "
              f"(x{ours['median_s'] / base['median_s']:.2f}, min x{ours['min_s'] / base['min_s']:.2f}); "
              f"kernel {k_ours['median_s'] * 1e3:.3f} ms vs {k_base['median_s'] * 1e3:.3f} ms "
              f"(x{k_ours['median_s'] / k_base['median_s']:.2f}, min x{k_ours['min_s'] / k_base['min_s']:.2f})",
              flush=True)
        if T <= 100 and n <= 12:
            for L in (5, 20):
                po = measure(lambda: gs.entropy_po(game, sweeps=L), repeat=3, warmup=1)
                records.append({"config": f"entropy_po_L{L}_{name}", **po, "baseline": "entropy_lq_nash (exact, C++)",
                                "baseline_median_s": ours["median_s"], "ratio": ours["median_s"] / po["median_s"],
                                "iterations": L})
                print(f"  entropy_po L={L}: {po['median_s'] * 1e3:.2f} ms", flush=True)
    write_json("entropy", records, title="Entropy-regularized LQ games (SPEC 4, paper 001)",
               notes="ratio = baseline / ours (medians; ratio_min from the minima, steadier on a loaded machine); entropy target: <= 1.5x the unregularized solve of the same size. "
                     "entropy_po includes its exact-Nash error and epsilon evaluation (N+1 C++ solves).")


if __name__ == "__main__":
    main()
