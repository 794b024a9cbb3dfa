"""iLQGames benchmarks (issue 4): [MA-GPS] Remark 2's games, timed to convergence.

Configurations (targets from the issue; [MA-GPS] Remark 2 measured 48.5 ms on
platooning T=20 and 0.64 s on basketball T=100 with its PyTorch iLQGames):

* ``platooning_T20_eval_start``  -- [theory §10]'s evaluation start, target 5 ms.
* ``platooning_T20_batch1024``   -- 1024 random starts in ONE batched call, target 1 s.
* ``basketball_T100``            -- the example's start, target 64 ms.

Baselines measured in the same run: the same iLQGames loop with the LQ solve
done by the pure-numpy [theory §2] recursion (``tests/lq_twin.py``) instead of
the C++ core; for the batch, sequential single-start calls (timed on the first
64 starts and scaled to 1024). Every record carries the iteration counts and
the time split (rollout / derivatives / LQ solve / line search / residual).

Run: ``PYTHONPATH=python python bench/bench_ilqgames.py [--quick]``.

Batch pass (issue 4, 2026-12-01; machine shared, 1-min load 3.2-5.7, so the
comparison is by CPU time with ``set_num_threads(1)``, min of 3, interleaved
with the code before the pass on the same C++ core). 1024 platooning starts:
before 1.71-1.80 s of CPU (LQ core 1.22-1.24 s = 16104 member solves x
76-77 us; Python 0.53-0.56 s); after 1.09-1.26 s (LQ core 0.76-0.87 s =
13459 x 56-65 us; Python 0.34-0.39 s). Wall time with the default 2 threads,
same load, best of 3 interleaved runs: 1.73 s before, 0.86 s after. What
changed: large batches iterate in chunks of 64 members, so a chunk's
derivatives, local game, LQ solution and costates stay in cache (the LQ core
per member solve 77 -> 56 us single-threaded); the Newton term is written
into one kept copy of the shared Q (only its curvature entries, no
per-iteration copy of Q); a secant first trial step on linear tails
(platooning's tail oscillates with rate about -0.4: alpha_0 = 1/(1-rho) ~ 0.7
removes that mode); the Newton term from a trajectory change of 0.3 (was
0.1); cheaper stage-cost values for the log; no copy of Z for the costates.
The LQ core is still the bulk. Along iLQGames trajectories it gets
time-varying A (unicycle Jacobians) and Q (Newton term) and the affine terms
q, r, qT; CPU per (3, 12, 2x3, 20) solve, unchunked, measured the same way:
80 us with all of them, 71 us with A shared, 73 us with Q shared, 64 us with
both shared, 50 us without the affine terms. Per member solve the core
reads and writes about 190 KB (Q and Z about 70 KB each).

Layout pass (2026-12-04; the loop split into small parts over one per-member
state, Game split into data and approximation, cost tables compiled on
construction): the same iterates, statuses and iteration counts (bitwise, on
platooning single / 70-start batch / max_iter and max_step variants,
basketball single and a 4-start batch, navigation 4, formation). CPU time with
``set_num_threads(1)``, min of 30 / 5 / 2 runs, two rounds interleaved with the
code before the pass on a loaded machine (load 10-13): platooning eval start
5.44 / 5.02 ms before, 5.45 / 5.56 ms after; tol 1e-3 4.04 / 3.61 ms before,
4.04 / 3.90 ms after; basketball 61.9 / 56.8 ms before, 58.7 / 55.7 ms after;
batch 1024 1.85 / 1.81 s before, 1.81 / 1.84 s after. One trap found on the
way: once the loop's parts freed their MB-sized local game and LQ solution on
return, glibc trimmed and re-faulted those pages every iteration (basketball:
20k minor faults and +50% CPU per solve); the loop now keeps the last ones
alive until the next are built, as the single-function loop did.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from _harness import measure, write_json  # noqa: E402  (pins BLAS threads before numpy)

import numpy as np  # noqa: E402

import gamesolve  # noqa: E402
from gamesolve.nonlinear import iteration as ilq  # noqa: E402  (the iteration calls its LQ solve by this name)
from gamesolve import examples  # noqa: E402
from lq_twin import solve_lq_game_numpy  # noqa: E402


def _numpy_solve_lq(lq, dims, checked=None):
    """Drop-in for ilqgames._solve_lq using the numpy oracle (the baseline; it has no M term, so it is
    used on games whose dynamics have no control-state curvature)."""
    batch = max(a.shape[0] for a in lq if a is not None)
    full = [np.broadcast_to(a, (batch,) + a.shape[1:]) for a in lq[:8]]
    A, B, Q, q, R, r, QT, qT = full
    K, k, Z, zeta, s = solve_lq_game_numpy(A, B, Q, q, R, r, None, None, QT, qT, dims)
    return K, k, Z, zeta, 0, ~np.isfinite(K).all(axis=(1, 2, 3))


def _with_numpy_lq(fn):
    def run():
        saved = ilq._solve_lq
        ilq._solve_lq = _numpy_solve_lq
        try:
            return fn()
        finally:
            ilq._solve_lq = saved
    return run


def _split(res):
    tot = sum(res.timings.values())
    return {f"t_{k}_s": v for k, v in res.timings.items()} | {"t_phases_total_s": tot}


def _single(game, T, name, target, paper, rep, **kw):
    """One start (the example's x0) to convergence, against the numpy-LQ baseline."""
    run = lambda: gamesolve.ilqgames(game, game.x0, horizon=T, **kw)  # noqa: E731
    res = run()
    m = measure(run, repeat=rep, warmup=1, min_time=0.0)
    base = measure(_with_numpy_lq(run), repeat=2, warmup=0, min_time=0.0)
    rec = dict(config=name, **m, baseline="same loop, numpy LQ recursion", baseline_median_s=base["median_s"],
               ratio=base["median_s"] / m["median_s"], target_s=target, meets_target=m["median_s"] <= target,
               paper000_s=paper, status=res.status, iterations=int(res.iterations),
               nash_residual=res.nash_residual, options={k: float(v) for k, v in kw.items()}, **_split(res))
    print(f"{name}: {m['median_s'] * 1e3:.2f} ms ({res.iterations} it, {res.status}); "
          f"numpy-LQ {base['median_s'] * 1e3:.2f} ms; [MA-GPS]: {paper * 1e3:.1f} ms; target {target * 1e3:.0f} ms")
    return rec


def main(quick: bool = False):
    records = []
    rep = 3 if quick else 7

    # -- platooning, evaluation start
    g = examples.platooning()
    records.append(_single(g, 20, "platooning_T20_eval_start", 5e-3, 0.0485, rep))
    # [MA-GPS]'s iLQGames stopped at a trajectory change of 0.1; a looser stop than our default 1e-6:
    records.append(_single(g, 20, "platooning_T20_eval_start_tol1e-3", 5e-3, 0.0485, rep, tol=1e-3, grad_tol=1e-3))

    # -- platooning, 1024 random starts in one batched call
    X0 = g.sample_x0(1024, seed=0)
    runb = lambda: gamesolve.ilqgames(g, X0, horizon=20)  # noqa: E731
    t0 = time.perf_counter()
    resb = runb()
    print(f"batch warm-up {time.perf_counter() - t0:.2f} s")
    mb = measure(runb, repeat=max(rep // 2, 2), warmup=0, min_time=0.0)
    sub = 16 if quick else 64
    t0 = time.perf_counter()
    for b in range(sub):
        gamesolve.ilqgames(g, X0[b], horizon=20)
    seq = (time.perf_counter() - t0) * 1024 / sub
    st, cnt = np.unique(resb.status, return_counts=True)
    rec = dict(config="platooning_T20_batch1024", **mb, baseline=f"1024 sequential single calls (timed {sub}, scaled)",
               baseline_median_s=seq, ratio=seq / mb["median_s"], target_s=1.0, meets_target=mb["median_s"] <= 1.0,
               statuses={str(s): int(c) for s, c in zip(st, cnt)}, iterations_max=int(resb.iterations.max()),
               member_solves=int(resb.iterations.sum()),
               iterations_median=float(np.median(resb.iterations)), **_split(resb))
    records.append(rec)
    print(f"{rec['config']}: {mb['median_s']:.3f} s (iterations median {rec['iterations_median']}, max "
          f"{rec['iterations_max']}, {rec['member_solves']} member LQ solves, {rec['statuses']}); "
          f"sequential {seq:.2f} s")

    # -- basketball
    records.append(_single(examples.basketball(), 100, "basketball_T100", 64e-3, 0.64, max(rep // 2, 2)))
    for r in records:
        split = ", ".join(f"{k[2:-2]} {1e3 * v:.1f} ms" for k, v in r.items() if k.startswith("t_") and k != "t_phases_total_s")
        print(f"  {r['config']} split (last run): {split}")

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    write_json("ilqgames", records, title="iLQGames to convergence ([MA-GPS] Remark 2 games)",
               notes=f"2-core machine (1-min load average {load:.1f} at the end of the run). The time split is from one run (phases summed over iterations).")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
