"""Run every benchmark and regenerate bench/RESULTS.md.

    python bench/run.py            # build + run C++ bench, run bench/bench_*.py, write RESULTS.md
    python bench/run.py --render   # only re-render RESULTS.md from bench/out/*.json

gamesolve must be importable (installed, or PYTHONPATH=python after a dev build).
BLAS threads are pinned to 1 for the numpy/scipy baselines.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from _harness import machine  # (bench/ is sys.path[0] when run as a script)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"


def run_cpp() -> None:
    build = ROOT / "build" / "bench"
    subprocess.run(["cmake", "-S", str(ROOT), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                    "-DGAMESOLVE_BUILD_BENCH=ON", "-DGAMESOLVE_NATIVE=ON", f"-DPython_EXECUTABLE={sys.executable}"], check=True)
    subprocess.run(["cmake", "--build", str(build), "-j2"], check=True)
    OUT.mkdir(exist_ok=True)
    for exe in sorted((build / "bench" / "cpp").glob("bench_*")):
        if exe.is_file() and os.access(exe, os.X_OK):
            out = OUT / f"cpp_{exe.name.removeprefix('bench_')}.json"
            subprocess.run([str(exe), str(out)], check=True)
            data = json.loads(out.read_text())  # the machine it ran on, as the Python benchmarks record it
            data.setdefault("machine", machine())
            out.write_text(json.dumps(data, indent=2))


def run_python() -> None:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    if env.get("PYTHONPATH"):  # the scripts run from bench/: make relative entries absolute
        env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in env["PYTHONPATH"].split(os.pathsep) if p)
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"== {script.name}", flush=True)
        subprocess.run([sys.executable, str(script)], check=True, cwd=HERE, env=env)


def _fmt_time(s: float) -> str:
    if s is None:
        return ""
    return f"{s * 1e6:.1f} us" if s < 1e-3 else (f"{s * 1e3:.2f} ms" if s < 1 else f"{s:.2f} s")


SKIP = {"min_s", "max_s", "number", "repeat", "config", "median_s"}


def _cell(key: str, v) -> str:
    if isinstance(v, bool):  # a missed target is bold; other flags are plain
        return "yes" if v else ("**no**" if key.startswith("meets") else "no")
    if key.endswith("_s") and isinstance(v, (int, float)):
        return _fmt_time(v)
    if isinstance(v, float):
        return f"{v:.3g}"
    if isinstance(v, (list, dict)):
        return json.dumps(v)[:60]
    return str(v)


def render() -> Path:
    lines = ["# Benchmark results", "",
             "Regenerate with `python bench/run.py` (see bench/README.md). Times are medians of repeated "
             "runs after warm-up; `ratio` is baseline / gamesolve measured in the same run.", ""]
    for path in sorted(OUT.glob("*.json")):
        data = json.loads(path.read_text())
        recs = data.get("records", [])
        lines += [f"## {data.get('title', path.stem)}", ""]
        if data.get("notes"):
            lines += [data["notes"], ""]
        m = data.get("machine")
        if m:
            lines += [f"Machine: {m.get('processor')}, {m.get('cpus')} CPUs, Python {m.get('python')}.", ""]
        if not recs:
            continue
        keys = [k for k in recs[0] if k not in SKIP]
        for r in recs[1:]:
            keys += [k for k in r if k not in SKIP and k not in keys]
        header = ["config", "median", "min"] + keys
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
        for r in recs:
            row = [str(r.get("config", "")), _fmt_time(r.get("median_s")), _fmt_time(r.get("min_s"))]
            row += [_cell(k, r[k]) if k in r else "" for k in keys]
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    dest = HERE / "RESULTS.md"
    dest.write_text("\n".join(lines))
    print(f"wrote {dest}")
    return dest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--render", action="store_true", help="only re-render RESULTS.md from bench/out")
    ap.add_argument("--no-cpp", action="store_true", help="skip the C++ benchmarks")
    args = ap.parse_args()
    if not args.render:
        if not args.no_cpp:
            run_cpp()
        run_python()
    render()


if __name__ == "__main__":
    main()
