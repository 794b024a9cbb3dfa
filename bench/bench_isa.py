"""Benchmark: the ISA levels of the compiled core, through the Python API.

A build compiles the C++ core once per x86-64 level (baseline, AVX2 = x86-64-v3,
AVX-512 = x86-64-v4) and imports the best one the CPU runs (gamesolve/_cpu.py).
This script times the same calls with the default choice and with each other
level this CPU runs (forced by GAMESOLVE_ISA, one worker subprocess per level;
the workers run in two interleaved rounds and each level keeps its faster
round, so load changes during the run hit every level alike). Ratios are
level / default, > 1 meaning the default is faster.

Configurations: ``solve_lq_game`` on a random time-invariant (N, n, m_i, T) =
(3, 12, 2, 20) game (bench_lq.py's generator) and ``lq_nash`` on paper 000's
appendix-A game.

    python bench/bench_isa.py            # writes bench/out/isa.json
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from _harness import measure, write_json  # noqa: E402  (pins BLAS threads first)

ROUNDS = 2


def worker() -> None:
    """Time the configurations with this process's level; print one JSON line."""
    import numpy as np

    import gamesolve as gs
    from bench_lq import random_game

    g = gs.examples.lq_example()
    A, B, Q, R = random_game(np.random.default_rng(0), 3, 12, 2, 20)
    calls = {
        "solve_lq_game_N3_n12_m2_T20": lambda: gs.solve_lq_game(A, B, Q, R, horizon=20, dims=(2, 2, 2)),
        "lq_nash_appendixA_N2_n2_m1": lambda: gs.lq_nash(g.A, g.B, g.Q, g.R),
    }
    times = {name: measure(fn, repeat=9)["median_s"] for name, fn in calls.items()}
    print(json.dumps({"level": gs.cpu_info().level, "times": times}))


def run_worker(level: str | None) -> dict:
    env = dict(os.environ)
    env.pop("GAMESOLVE_ISA", None)
    if level is not None:
        env["GAMESOLVE_ISA"] = level
    out = subprocess.run([sys.executable, __file__, "--worker"], env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    from gamesolve import _cpu

    info = _cpu.cpu_info()
    others = [lv for lv in ("baseline", "avx2", "avx512") if lv in info.built and lv in info.supported
              and lv != info.level]
    best: dict[str, dict[str, float]] = {}
    for _ in range(ROUNDS):
        for level in [None, *others]:
            res = run_worker(level)
            key = "default" if level is None else level
            assert level is not None or res["level"] == info.level
            for name, t in res["times"].items():
                best.setdefault(key, {})[name] = min(t, best.get(key, {}).get(name, float("inf")))
    records = []
    for name, t_default in best["default"].items():
        rec = {"config": name, "median_s": t_default, "default_level": info.level}
        for level in others:
            rec[f"{level}_median_s"] = best[level][name]
            rec[f"ratio_{level}"] = best[level][name] / t_default
        records.append(rec)
        print(f"{name:30s} default ({info.level}) {t_default * 1e6:8.1f} us  " +
              "  ".join(f"{lv} {best[lv][name] * 1e6:8.1f} us (x{best[lv][name] / t_default:.2f})"
                        for lv in others), flush=True)
    write_json("isa", records, title="ISA levels of the compiled core (portable build)",
               notes=f"Default level on this machine: {info.level} (supported: {', '.join(info.supported)}). "
                     "Median seconds per call from Python, the better of two interleaved rounds per level; "
                     "ratio_<level> = <level> / default. Shared machine: absolute times are noisy.")


if __name__ == "__main__":
    if "--worker" in sys.argv[1:]:
        worker()
    else:
        main()
