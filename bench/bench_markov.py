"""Benchmark: exact softmax learners in the Coordination Game (gamesolve.markov.learn).

400 iterations of each learner (pg, log-barrier lambda = 0.1, npg, npg-br K = 5), each
iteration including the exact Nash gap (policy iteration for every player) and POA, for
N = 2, 3, 5 agents, one initialization and 10 initializations batched. Baselines in the same
run (bench/markov_baselines.py), on the same initial parameters:

* torch (CPU, float64): the same vectorized exact updates (400 iterations, timed);
* straightforward numpy with loops over initializations, players and states: timed on 40
  iterations and scaled x10 (its cost per iteration is flat), single initialization; the
  10-initialization row scales that by 10 (the loops run inits one after another).

Histories are checked against gamesolve before timing (torch: all 400 iterations; loops: 40).
Times are process CPU time (min of 3), the wall time is recorded too: this machine is shared.
Issue target: N = 5 npg-br, one initialization, 400 iterations <= 0.2 s (the paper reports
~200 s per 400-iteration run on a V100 GPU with its PyTorch code).

Run: ``cd bench && PYTHONPATH=../python python bench_markov.py`` -> bench/out/markov.json.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import cpu_time, measure, write_json  # noqa: E402  (pins BLAS threads before numpy)

import numpy as np  # noqa: E402

from gamesolve import markov as mk  # noqa: E402
from markov_baselines import learn_loops, learn_torch  # noqa: E402

ITERATIONS, LOOP_ITERATIONS, STEP, K, LAM = 400, 40, 0.1, 5, 0.1
METHODS = {"pg": {}, "log-barrier": {"lam": LAM}, "npg": {}, "npg-br": {"inner_steps": K}}
TARGET_S = 0.2



def main():
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        torch = None
        print("torch not installed: the torch baseline is skipped")
    records, loops_single = [], {}
    for N in (2, 3, 5):
        game = mk.coordination_game(N)
        for B in (1, 10):
            theta0 = np.random.default_rng(0).standard_normal((B, N, 2 ** N, 2))
            th_list = [theta0[:, i] for i in range(N)]
            for method, kw in METHODS.items():
                extra = {"K": K} if method == "npg-br" else {"lam": kw.get("lam", 0.0)}

                def ours(it=ITERATIONS):
                    return mk.learn(game, method, iterations=it, step=STEP, theta0=th_list, **kw)

                ref = ours()
                rec = {"config": f"markov_N{N}_{method}_B{B}_T{ITERATIONS}"}
                rec.update(measure(ours, repeat=3, warmup=0, min_time=0.0))
                rec["cpu_min_s"] = cpu_time(ours)
                if torch is not None:
                    def base():
                        return learn_torch(game, method, theta0, iterations=ITERATIONS, step=STEP, **extra)

                    poa_t, gap_t = base()
                    np.testing.assert_allclose(poa_t, ref.poa, atol=1e-8)
                    np.testing.assert_allclose(gap_t, ref.nash_gap, atol=1e-7)
                    rec["torch_cpu_min_s"] = cpu_time(base)
                    rec["ratio_torch"] = rec["torch_cpu_min_s"] / rec["cpu_min_s"]
                if B == 1:
                    c0 = time.process_time()
                    poa_l, gap_l = learn_loops(game, method, theta0, iterations=LOOP_ITERATIONS, step=STEP, **extra)
                    loops_single[method] = (time.process_time() - c0) * ITERATIONS / LOOP_ITERATIONS
                    short = ours(LOOP_ITERATIONS)
                    np.testing.assert_allclose(poa_l, short.poa, atol=1e-8)
                    np.testing.assert_allclose(gap_l, short.nash_gap, atol=1e-7)
                rec.update(loops_cpu_est_s=loops_single[method] * B,
                           ratio_loops=loops_single[method] * B / rec["cpu_min_s"])
                if N == 5 and method == "npg-br" and B == 1:
                    rec.update(target_s=TARGET_S, meets_target=rec["min_s"] <= TARGET_S,
                               meets_target_cpu=rec["cpu_min_s"] <= TARGET_S)
                records.append(rec)
                torch_txt = (f"  torch {rec['torch_cpu_min_s']:.3f} s (x{rec['ratio_torch']:.1f})"
                             if "torch_cpu_min_s" in rec else "")
                print(f"N={N} B={B:2d} {method:12s} gamesolve cpu {rec['cpu_min_s'] * 1e3:.3g} ms "
                      f"(wall {rec['min_s'] * 1e3:.3g} ms)" + torch_txt
                      + f"  loops ~{rec['loops_cpu_est_s']:.2f} s (x{rec['ratio_loops']:.0f})", flush=True)
    write_json("markov", records, title="Markov potential games: exact softmax PG / NPG / NPG-BR, 400 iterations",
               notes="Coordination Game, 400 iterations with the exact Nash gap and POA every iteration. Times are "
                     "process CPU time (cpu_min_s, min of 3; wall min_s/median_s also given): on a shared, saturated "
                     "machine wall time mostly measures waiting. ratio_torch = torch / gamesolve CPU time (same "
                     "vectorized updates, CPU float64, one thread); "
                     "ratio_loops = numpy loops over inits/players/states / gamesolve, loops timed on 40 iterations "
                     "x10 (x10 more for 10 inits). Target: N = 5 npg-br (K = 5), one init, <= 0.2 s (paper: ~200 s "
                     "per run on a V100).")


if __name__ == "__main__":
    main()
