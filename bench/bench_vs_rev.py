"""Public entry points timed against an earlier revision of gamesolve, in the same run.

    python bench/bench_vs_rev.py                 # against the default base revision (BASE_REV)
    python bench/bench_vs_rev.py --rev <commit>  # against any commit

Absolute times on a shared machine drift by tens of percent between days; a refactor's cost
only shows in the same run. This script checks out ``--rev`` into a temporary git worktree,
builds its extension there (CMake, ``-march=native``, ccache if present), and then times the
same public calls (signatures that are stable across revisions) in alternating subprocesses:
``rounds`` rounds, each round one process on the base revision and one on the current tree, each
process reporting the median of its repeats. The reported time per row is the median over
rounds; ``ratio = current / base`` (< 1 is faster than the base). Rows over 1.10 are flagged.

Writes bench/out/vs_rev.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BASE_REV = "b567093"  # the last revision before the single-LQ-game / one-path refactor

WORKER = r'''
import json, sys
sys.path.insert(0, BENCH)
import numpy as np
import gamesolve as gs
from gamesolve import examples
from bench_lq import random_game
from bench_entropy import make_game
from _harness import measure


def med(fn, min_time=0.05, repeat=7):
    return measure(fn, repeat=repeat, min_time=min_time)["median_s"]


rows = {}
rng = np.random.default_rng(0)
for (N, n, mi, T), batch in [((3, 12, 2, 20), 1), ((3, 16, 2, 100), 1), ((6, 24, 2, 100), 1), ((3, 12, 2, 20), 1024)]:
    A, B, Q, R = random_game(rng, N, n, mi, T)
    dims = (mi,) * N
    if batch == 1:
        name = f"solve_lq_game_N{N}_n{n}_m{mi}_T{T}"
        rows[name] = med(lambda: gs.solve_lq_game(A, B, Q, R, horizon=T, dims=dims))
        if T == 20:
            x0 = np.ones(n)
            rows[name + "_then_costs"] = med(lambda: gs.solve_lq_game(A, B, Q, R, horizon=T, dims=dims).costs(x0))
    else:
        Ab, Bb = np.stack([A] * batch), np.stack([B] * batch)
        Qb, Rb = np.stack([Q] * batch), np.stack([R] * batch)
        rows[f"solve_lq_games_batch{batch}_N{N}_n{n}_m{mi}_T{T}"] = med(
            lambda: gs.solve_lq_games(Ab, Bb, Qb, Rb, horizon=T, dims=dims), min_time=0.2)
g = examples.lq_example()
rows["lq_nash_appendixA_N2_n2_m1"] = med(lambda: gs.lq_nash(g.A, g.B, g.Q, g.R, dims=g.dims))
sys.path.insert(0, TESTS)
import lq_nash_reference as ref
for N, n, mi in [(3, 12, 2), (6, 24, 2)]:
    A, B, Q, R, dims = ref.random_game(N, n, mi, seed=0)
    rows[f"lq_nash_N{N}_n{n}_m{mi}"] = med(lambda: gs.lq_nash(A, B, Q, R, dims=dims))
for N, n, mi, T in [(2, 4, 1, 50), (3, 12, 2, 20), (3, 12, 2, 200), (4, 24, 4, 100)]:
    A, B, Q, R, W, dims = make_game(N, n, mi, T)
    tau = 1.0
    name = f"N{N}_n{n}_m{mi}_T{T}"
    rows[f"entropy_lq_nash_{name}"] = med(lambda: gs.entropy_lq_nash(A, B, Q, R, tau=tau, noise_cov=W, dims=dims))
    if T <= 50:
        game = gs.entropy_lq_game(A, B, Q, R, tau=tau, noise_cov=W, dims=dims)
        rows[f"entropy_po_L5_{name}"] = med(lambda: gs.entropy_po(game, sweeps=5), repeat=3)
for name, ex, T in [("platooning", examples.platooning(), 20), ("basketball", examples.basketball(), 100)]:
    rows[f"ilqgames_{name}_T{T}"] = med(
        lambda: gs.ilqgames(ex, ex.x0, horizon=T), min_time=0.1, repeat=3)
print(json.dumps(rows))
'''


def build_base(rev: str, where: Path) -> Path:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-f", str(where), rev], check=True,
                   stdout=subprocess.DEVNULL)
    env = dict(os.environ, CCACHE_BASEDIR=str(where))
    if shutil.which("ccache"):
        env["CMAKE_CXX_COMPILER_LAUNCHER"] = "ccache"
    build = where / "build"
    subprocess.run(["cmake", "-S", str(where), "-B", str(build), "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release",
                    "-DGAMESOLVE_BUILD_PYTHON=ON", "-DGAMESOLVE_DEV_INPLACE=ON", "-DGAMESOLVE_NATIVE=ON",
                    f"-DPython_EXECUTABLE={sys.executable}"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", str(build), "-j2"], check=True, env=env, stdout=subprocess.DEVNULL)
    return where / "python"


def run_worker(pythonpath: str) -> dict:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONPATH=pythonpath)
    code = f"BENCH = {str(HERE)!r}\nTESTS = {str(ROOT / 'tests')!r}\n" + WORKER
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         cwd=tempfile.gettempdir())
    if out.returncode:
        raise RuntimeError(f"the benchmark worker failed on {pythonpath}:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rev", default=BASE_REV, help="the base revision (default: %(default)s)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds (default: %(default)s)")
    ap.add_argument("--current", default=os.environ.get("PYTHONPATH", str(ROOT / "python")),
                    help="PYTHONPATH of the current gamesolve (default: $PYTHONPATH or python/)")
    args = ap.parse_args()
    args.current = os.pathsep.join(os.path.abspath(p) for p in args.current.split(os.pathsep) if p)
    sys.path.insert(0, str(HERE))
    from _harness import write_json

    with tempfile.TemporaryDirectory(prefix="gamesolve-base-") as tmp:
        base_path = str(build_base(args.rev, Path(tmp) / "src"))
        try:
            base, cur = [], []
            for r in range(args.rounds):
                print(f"round {r + 1}/{args.rounds}", flush=True)
                base.append(run_worker(base_path))
                cur.append(run_worker(args.current))
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(Path(tmp) / "src")],
                           check=False)
    records = []
    for name in cur[0]:
        if name not in base[0]:
            continue
        b = statistics.median(x[name] for x in base)
        c = statistics.median(x[name] for x in cur)
        rec = dict(config=name, median_s=c, base_median_s=b, ratio=c / b, within_10pct=c <= 1.10 * b)
        records.append(rec)
        print(f"{name:45s} current {c * 1e6:10.1f} us  {args.rev} {b * 1e6:10.1f} us  ratio {c / b:5.2f}"
              + ("" if rec["within_10pct"] else "  SLOWER"), flush=True)
    write_json("vs_rev", records, title=f"Public entry points against revision {args.rev} (same run)",
               notes=f"Each row: median over {args.rounds} alternating rounds of the per-process median; ratio = "
                     f"current / {args.rev} (< 1 is faster). within_10pct: current <= 1.10 x base. The base "
                     "revision is built in a temporary worktree with the same compiler flags (-march=native).")


if __name__ == "__main__":
    main()
