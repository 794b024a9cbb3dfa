"""Benchmark: the ISA levels of the compiled core, through the Python API.

A build compiles the C++ core once per x86-64 level (baseline, AVX2 = x86-64-v3,
AVX-512 = x86-64-v4) and imports the best one the CPU runs (gamesolve/_cpu.py).
This script times the same calls with the default choice and with each other
level this CPU runs: one worker subprocess per level (forced by GAMESOLVE_ISA),
all alive at once and timed in interleaved short blocks (default, baseline,
avx2, ... then again, ``ROUNDS`` times), so load changes on a shared machine
hit every level alike. Per level: the median time per call over the rounds, and
``ratio_<level>`` = the median over rounds of (level / default) in the same
round, > 1 meaning the default is faster.

Configurations: ``solve_lq_game`` on a random time-invariant (N, n, m_i, T) =
(3, 12, 2, 20) game (bench_lq.py's generator) and ``lq_nash`` on the MA-GPS paper's
appendix-A game.

    python bench/bench_isa.py            # writes bench/out/isa.json
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

from _harness import write_json  # noqa: E402  (pins BLAS threads first)

ROUNDS = 15
BLOCK_S = 0.02  # seconds per timed block


def calls():
    import numpy as np

    import gamesolve as gs
    from bench_lq import random_game

    g = gs.examples.lq_example()
    A, B, Q, R = random_game(np.random.default_rng(0), 3, 12, 2, 20)
    return {
        "solve_lq_game_N3_n12_m2_T20": lambda: gs.solve_lq_game(A, B, Q, R, horizon=20, dims=(2, 2, 2)),
        "lq_nash_appendixA_N2_n2_m1": lambda: gs.lq_nash(g.A, g.B, g.Q, g.R),
    }


def worker() -> None:
    """Serve timing requests on stdin: a line ``name number`` -> seconds per call of ``number`` calls."""
    import gamesolve as gs

    fns = calls()
    for fn in fns.values():  # warm-up
        for _ in range(20):
            fn()
    print(json.dumps({"level": gs.cpu_info().level}), flush=True)
    for line in sys.stdin:
        name, number = line.split()
        fn, number = fns[name], int(number)
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        print((time.perf_counter() - t0) / number, flush=True)


class Worker:
    def __init__(self, level: str | None):
        env = dict(os.environ)
        env.pop("GAMESOLVE_ISA", None)
        if level is not None:
            env["GAMESOLVE_ISA"] = level
        self.proc = subprocess.Popen([sys.executable, __file__, "--worker"], env=env, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.level = json.loads(self.proc.stdout.readline())["level"]

    def time(self, name: str, number: int) -> float:
        self.proc.stdin.write(f"{name} {number}\n")
        self.proc.stdin.flush()
        return float(self.proc.stdout.readline())

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def main() -> None:
    from gamesolve import _cpu

    info = _cpu.cpu_info()
    others = [lv for lv in ("baseline", "avx2", "avx512") if lv in info.supported and lv in info.built
              and lv != info.level]
    workers = {"default": Worker(None), **{lv: Worker(lv) for lv in others}}
    assert workers["default"].level == info.level
    records = []
    try:
        for name in calls():
            number = max(1, int(BLOCK_S / workers["default"].time(name, 10)))
            times = {key: [] for key in workers}
            for _ in range(ROUNDS):
                for key, w in workers.items():
                    times[key].append(w.time(name, number))
            t_default = statistics.median(times["default"])
            rec = {"config": name, "median_s": t_default, "min_s": min(times["default"]),
                   "default_level": info.level}
            for lv in others:
                rec[f"{lv}_median_s"] = statistics.median(times[lv])
                rec[f"ratio_{lv}"] = statistics.median(a / b for a, b in zip(times[lv], times["default"]))
            records.append(rec)
            print(f"{name:30s} default ({info.level}) {t_default * 1e6:8.1f} us  " +
                  "  ".join(f"{lv} {rec[f'{lv}_median_s'] * 1e6:8.1f} us (x{rec[f'ratio_{lv}']:.2f})"
                            for lv in others), flush=True)
    finally:
        for w in workers.values():
            w.close()
    write_json("isa", records, title="ISA levels of the compiled core (portable build)",
               notes=f"Default level on this machine: {info.level} (supported: {', '.join(info.supported)}). "
                     f"Median seconds per call from Python over {ROUNDS} interleaved rounds; ratio_<level> = "
                     "median over rounds of <level> / default. Shared machine: absolute times are noisy.")


if __name__ == "__main__":
    if "--worker" in sys.argv[1:]:
        worker()
    else:
        main()
