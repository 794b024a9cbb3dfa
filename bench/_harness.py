"""Shared timing harness for the Python benchmarks in bench/.

Each benchmark script calls :func:`measure` for every configuration (warm-up,
then ``repeat`` timed runs of ``number`` calls each, reporting min / median /
max seconds per call) and :func:`write_json` once, into ``bench/out/<name>.json``.
``python bench/run.py`` runs every benchmark and regenerates ``bench/RESULTS.md``.

BLAS threads are pinned to one before numpy is imported so numpy/scipy
baselines are not distorted by competing thread pools.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

OUT_DIR = Path(__file__).resolve().parent / "out"


def cpu_time(fn, repeat: int = 3) -> float:
    """Min over ``repeat`` calls of this process's CPU time (steadier than wall time on a loaded machine)."""
    out = []
    for _ in range(repeat):
        c0 = time.process_time()
        fn()
        out.append(time.process_time() - c0)
    return min(out)


def measure(fn, *, number: int = 1, repeat: int = 7, warmup: int = 2, min_time: float = 0.05) -> dict:
    """Time ``fn()``; ``number`` grows until one repeat takes at least ``min_time`` seconds."""
    for _ in range(warmup):
        fn()
    while True:
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        if time.perf_counter() - t0 >= min_time or number >= 1 << 20:
            break
        number *= 2
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - t0) / number)
    return {"min_s": min(samples), "median_s": statistics.median(samples), "max_s": max(samples),
            "number": number, "repeat": repeat}


def cpu_model() -> str:
    """The CPU's model name (Linux: /proc/cpuinfo), else what ``platform`` knows: absolute times depend on it."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    return {"python": platform.python_version(), "machine": platform.machine(), "processor": cpu_model(),
            "cpus": os.cpu_count()}


def write_json(name: str, records: list[dict], *, title: str, notes: str = "") -> Path:
    """Write ``records`` (one dict per configuration) to bench/out/<name>.json."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"{name}.json"
    path.write_text(json.dumps({"name": name, "title": title, "notes": notes, "machine": machine(),
                                "records": records}, indent=2))
    print(f"wrote {path}")
    return path
