"""Benchmark: entropy-regularized LQ games (docs/entropy.md).

For each size, in the same run and interleaved (A, B, A, B, ...; min over the rounds of each
round's min, median of the rounds' medians):

* ``entropy_lq_nash`` end to end (public API: ``lq_game`` and the entropy checks, the C++ solve,
  result assembly) against the public unregularized ``solve_lq_game`` of the same size, end to end;
  issue target: entropy <= 1.5x.
* kernel against kernel: ``_core.entropy_solve`` (no value checks) against
  ``_core.solve_lq_games`` on prepared arrays (batch 1, one thread); target <= 1.5x.
* ``entropy_lq_nash`` end to end against 1.3x the unregularized *kernel* + 10 us (the budget for
  the entropy pass, the checks and the Python layer in absolute terms, independent of how fast the
  unregularized Python layer is).
* ``entropy_po`` (Zaman et al. Algorithm 1, Python loop) with L sweeps, against the exact C++ solve.

The data are time-varying (A, B, Q, R carry the time axis), with noise W for the entropy game.
``ratio`` is baseline / gamesolve as in every bench script; ``cost_x`` = gamesolve / baseline
(the "x1.2" of the issue).

Run: ``cd bench && PYTHONPATH=../python python bench_entropy.py`` -> bench/out/entropy.json.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import measure, write_json  # noqa: E402  (pins BLAS threads before numpy)

import numpy as np  # noqa: E402

import gamesolve as gs  # noqa: E402
from gamesolve import _core  # noqa: E402
try:
    from gamesolve.lq import finite as lq  # noqa: E402
except ImportError:  # a revision before gamesolve.lq (bench_vs_rev.py imports make_game from here)
    lq = None

RCOND_TOL = getattr(lq, "RCOND_TOL", 1e-12)  # the tolerances solve_lq_game passes to the core
RANK_TOL = getattr(lq, "RANK_TOL", 1e-10)


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


def paired(f_ours, f_base, rounds=4):
    """Interleaved measurements of two callables; (ours, base) dicts with min_s / median_s / max_s."""
    ours, base = [], []
    for _ in range(rounds):
        ours.append(measure(f_ours))
        base.append(measure(f_base))

    def merge(ms):
        return {"min_s": min(m["min_s"] for m in ms), "median_s": statistics.median(m["median_s"] for m in ms),
                "max_s": max(m["max_s"] for m in ms), "number": ms[0]["number"], "repeat": rounds * ms[0]["repeat"]}

    return merge(ours), merge(base)


def record(config, ours, base, baseline, target_s=None):
    """One row; ``target_s`` only for the issue's targets (rows without it are for information)."""
    rec = {"config": config, **ours, "baseline": baseline, "baseline_median_s": base["median_s"],
           "ratio": base["median_s"] / ours["median_s"], "ratio_min": base["min_s"] / ours["min_s"],
           "cost_x": ours["median_s"] / base["median_s"], "cost_x_min": ours["min_s"] / base["min_s"]}
    if target_s is not None:
        rec.update(target_s=target_s, meets_target=ours["min_s"] <= target_s)
    return rec


def main():
    records = []
    tau = 1.0
    for N, n, mi, T in [(2, 4, 1, 50), (3, 12, 2, 20), (3, 12, 2, 200), (4, 24, 4, 100)]:
        A, B, Q, R, W, dims = make_game(N, n, mi, T)
        name = f"N{N}_n{n}_m{mi}_T{T}"
        # end to end, both through the public API
        e2e, e2e_base = paired(lambda: gs.entropy_lq_nash(A, B, Q, R, tau=tau, noise_cov=W, dims=dims),
                               lambda: gs.solve_lq_game(A, B, Q, R, dims=dims))
        records.append(record(f"entropy_lq_nash_{name}", e2e, e2e_base, "solve_lq_game (same size, end to end)",
                              1.5 * e2e_base["min_s"]))
        # kernel vs kernel: prepared arrays, no value checks on either side
        core_args = gs.lq_game(A, B, Q, R, dims=dims).core_args() + (1, RCOND_TOL, RANK_TOL)
        QT = np.ascontiguousarray(Q[-1])
        kern, kern_base = paired(lambda: _core.entropy_solve(list(dims), A, B, Q, R, QT, W, tau, T),
                                 lambda: _core.solve_lq_games(*core_args))
        records.append(record(f"entropy_kernel_{name}", kern, kern_base, "_core.solve_lq_games (same size)",
                              1.5 * kern_base["min_s"]))
        checked, _ = paired(lambda: (_core.entropy_check(list(dims), A, B, Q, R, QT, W, T),
                                     _core.entropy_solve(list(dims), A, B, Q, R, QT, W, tau, T)),
                            lambda: _core.solve_lq_games(*core_args), rounds=2)
        records.append(record(f"entropy_kernel_checked_{name}", checked, kern_base,
                              "_core.solve_lq_games (same size)"))
        # an internal budget (not an issue target): 1.3x the unregularized kernel + 10 us
        budget = 1.3 * kern_base["min_s"] + 10e-6
        records.append({**record(f"entropy_lq_nash_vs_kernel_{name}", e2e, kern_base,
                                 "_core.solve_lq_games (same size)"),
                        "budget_s": budget, "within_budget": e2e["min_s"] <= budget})
        print(f"{name}: end-to-end {e2e['min_s'] * 1e6:.1f} us vs solve_lq_game {e2e_base['min_s'] * 1e6:.1f} us "
              f"(x{e2e['min_s'] / e2e_base['min_s']:.2f}); kernel {kern['min_s'] * 1e6:.1f} us vs "
              f"{kern_base['min_s'] * 1e6:.1f} us (x{kern['min_s'] / kern_base['min_s']:.2f}), with checks "
              f"{checked['min_s'] * 1e6:.1f} us; end-to-end vs 1.3 x kernel + 10 us = {budget * 1e6:.1f} us: "
              f"{'met' if e2e['min_s'] <= budget else 'NOT met'} (x{e2e['min_s'] / kern_base['min_s']:.2f} of the "
              f"kernel, Python + checks {(e2e['min_s'] - kern['min_s']) * 1e6:.1f} us)", flush=True)
        if T <= 100 and n <= 12:
            game = gs.entropy_lq_game(A, B, Q, R, tau=tau, noise_cov=W, dims=dims)
            for L in (5, 20):
                po = measure(lambda: gs.entropy_po(game, sweeps=L), repeat=3, warmup=1)
                records.append({"config": f"entropy_po_L{L}_{name}", **po, "baseline": "entropy_lq_nash (exact, C++)",
                                "baseline_median_s": e2e["median_s"], "ratio": e2e["median_s"] / po["median_s"],
                                "iterations": L})
                print(f"  entropy_po L={L}: {po['median_s'] * 1e3:.2f} ms", flush=True)
    write_json("entropy", records, title="Entropy-regularized LQ games (Zaman et al.)",
               notes="Same sizes, same run, interleaved rounds. ratio = baseline / ours (medians; ratio_min from "
                     "the minima, steadier on a loaded machine); cost_x = ours / baseline. Targets of issue 5 (on the minima): "
                     "entropy_lq_nash <= 1.5x solve_lq_game end to end, kernel <= 1.5x kernel. For information: "
                     "entropy_lq_nash_vs_kernel against an internal budget of 1.3x the unregularized kernel + 10 us "
                     "(within_budget). entropy_kernel_checked adds the C++ value checks the "
                     "end-to-end path runs. entropy_po includes its exact-Nash error and epsilon evaluation "
                     "(N+1 C++ solves).")


if __name__ == "__main__":
    main()
