"""Portable builds: the ISA level of gamesolve._core (gamesolve/_cpu.py).

* choose_level's rules, and GAMESOLVE_ISA validated with errors naming it;
* the CPUID probe against the kernel's view of the CPU (/proc/cpuinfo flags);
* every level this CPU runs, forced in a subprocess, solves the appendix-A game
  (finite horizon and lq_nash) and a random (N, n, m_i, T) = (3, 12, 2, 20) game
  like the default level, to ~1e-12 relative (different vector widths change
  only the rounding);
* under ``qemu-x86_64 -cpu Nehalem`` (an x86-64 without AVX), the installed
  package picks the baseline level, refuses a forced AVX2 level with an
  ImportError (never SIGILL), and solves the same games; under ``-cpu Haswell``
  it picks AVX2. Skipped without qemu-user, except in CI (CI=true or
  GAMESOLVE_REQUIRE_QEMU=1, which .ci/run sets), where a missing qemu fails.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gamesolve
from gamesolve import _cpu

PKG_PARENT = str(Path(gamesolve.__file__).resolve().parents[1])

# Run in a subprocess: solve the games, save the results to argv[1], print the level.
SOLVE = """
import json, sys
import numpy as np
import gamesolve as gs
g = gs.examples.lq_example()
fin = gs.solve_lq_game(g.A, g.B, g.Q, g.R, horizon=50)
inf = gs.lq_nash(g.A, g.B, g.Q, g.R)
rng = np.random.default_rng(7)
N, n, mi, T = 3, 12, 2, 20
A = rng.normal(size=(n, n)) / np.sqrt(n)
B = rng.normal(size=(n, N * mi))
X = rng.normal(size=(N, n, n))
Q = X @ np.swapaxes(X, -1, -2) / n + np.eye(n)
R = [np.eye(mi) * (1 + 0.5 * i) for i in range(N)]
rnd = gs.solve_lq_game(A, B, Q, R, horizon=T, dims=(mi,) * N)
np.savez(sys.argv[1], fin_K=fin.K, fin_Z=fin.Z, inf_K=inf.K, inf_P=inf.P, rnd_K=rnd.K, rnd_Z=rnd.Z,
         costs=fin.costs(g.x0))
info = gs.cpu_info()
print(json.dumps({"level": info.level, "module": gs._core.__name__, "converged": bool(inf.converged)}))
"""


def run_python(code, *args, level=None, qemu_cpu=None, check=True):
    """Run ``python -c code args`` (this interpreter, this gamesolve), optionally under qemu-user."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([PKG_PARENT, *filter(None, [os.environ.get("PYTHONPATH")])]))
    env.pop(_cpu.ENV_VAR, None)
    if level is not None:
        env[_cpu.ENV_VAR] = level
    cmd = [sys.executable, "-c", code, *args]
    if qemu_cpu is not None:
        cmd = [qemu_binary(), "-cpu", qemu_cpu, *cmd]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    if check:
        assert res.returncode == 0, f"{cmd[:4]} failed ({res.returncode}):\n{res.stderr[-3000:]}"
    return res


def solve(tmp_path, name, **kw):
    out = tmp_path / f"{name}.npz"
    res = run_python(SOLVE, str(out), **kw)
    meta = json.loads(res.stdout.strip().splitlines()[-1])
    assert meta["converged"]
    return meta, dict(np.load(out))


def assert_same_results(got, ref, rtol=1e-12):
    for key, r in ref.items():
        err = np.max(np.abs(got[key] - r)) / np.max(np.abs(r))
        assert err <= rtol, f"{key}: relative difference {err:.2e} > {rtol:.0e}"


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The default level's results (the level this CPU would use)."""
    return solve(tmp_path_factory.mktemp("ref"), "default")


# ---- choose_level

BUILT = ("baseline", "avx2", "avx512")


@pytest.mark.parametrize("supported, level", [(("baseline",), "baseline"), (("baseline", "avx2"), "avx2"),
                                              (("baseline", "avx2", "avx512"), "avx512")])
def test_choose_level_takes_the_best_level_the_cpu_runs(supported, level):
    assert _cpu.choose_level(None, BUILT, supported) == level


def test_choose_level_takes_the_best_built_level():
    assert _cpu.choose_level(None, ("baseline",), ("baseline", "avx2", "avx512")) == "baseline"
    assert _cpu.choose_level(None, ("native",), ("baseline",)) == "native"


def test_choose_level_honours_a_valid_request():
    assert _cpu.choose_level("avx2", BUILT, ("baseline", "avx2", "avx512")) == "avx2"
    assert _cpu.choose_level("baseline", BUILT, ("baseline", "avx2")) == "baseline"


def test_unknown_level_is_refused_naming_the_variable():
    with pytest.raises(ImportError, match=r"GAMESOLVE_ISA='avx3' is not one of baseline, avx2, avx512"):
        _cpu.choose_level("avx3", BUILT, ("baseline",))


def test_level_the_cpu_lacks_is_refused():
    with pytest.raises(ImportError, match=r"GAMESOLVE_ISA='avx512' needs an x86-64-v4 CPU.*supports baseline, avx2"):
        _cpu.choose_level("avx512", BUILT, ("baseline", "avx2"))


def test_level_not_built_is_refused():
    with pytest.raises(ImportError, match=r"GAMESOLVE_ISA='avx2': this gamesolve build has no avx2 core"):
        _cpu.choose_level("avx2", ("baseline",), ("baseline", "avx2"))


def test_no_runnable_level_is_an_import_error():
    with pytest.raises(ImportError, match="no compiled core runs on this CPU"):
        _cpu.choose_level(None, ("avx512",), ("baseline",))


# ---- the probe and the choice in this process

PROC_FLAGS = {  # /proc/cpuinfo names of the features of each level (lzcnt is "abm")
    "avx2": {"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave",
             "pni", "ssse3", "sse4_1", "sse4_2", "popcnt", "cx16", "lahf_lm"},
    "avx512": {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"},
}


@pytest.mark.skipif(platform.machine() != "x86_64" or not Path("/proc/cpuinfo").exists(),
                    reason="needs Linux on x86-64")
def test_probe_agrees_with_the_kernel_cpu_flags():
    line = next(ln for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("flags"))
    flags = set(line.split(":", 1)[1].split())
    expect = ["baseline"]
    if PROC_FLAGS["avx2"] <= flags:
        expect.append("avx2")
        if PROC_FLAGS["avx512"] <= flags:
            expect.append("avx512")
    assert _cpu.supported_levels() == tuple(expect)


def test_cpu_info_reports_the_module_in_use():
    info = gamesolve.cpu_info()
    assert gamesolve._core.__name__ == info.module == f"gamesolve.{_cpu.LEVELS[info.level][0]}"
    assert info.supported == _cpu.supported_levels() and info.built == _cpu.built_levels()
    if not info.forced:
        assert info.level == _cpu.choose_level(None, info.built, info.supported)
    if platform.machine() not in ("x86_64", "AMD64"):
        assert info.built in (("baseline",), ("native",))


# ---- every level this CPU runs gives the same numbers

def runnable_levels():
    return [lv for lv in _cpu.built_levels() if lv in _cpu.supported_levels()]


@pytest.mark.parametrize("level", ["baseline", "avx2", "avx512"])
def test_forced_level_matches_the_default_level(level, reference, tmp_path):
    if level not in runnable_levels():
        pytest.skip(f"{level} not built or not supported by this CPU")
    meta, got = solve(tmp_path, level, level=level)
    assert meta["level"] == level and meta["module"] == f"gamesolve.{_cpu.LEVELS[level][0]}"
    assert_same_results(got, reference[1])


def test_invalid_environment_value_fails_the_import():
    res = run_python("import gamesolve", level="sse9", check=False)
    assert res.returncode != 0
    assert "ImportError: GAMESOLVE_ISA='sse9' is not one of" in res.stderr


# ---- an x86-64 without AVX, emulated by qemu-user

def qemu_binary():
    return shutil.which("qemu-x86_64")


def require_qemu():
    if platform.machine() != "x86_64" or not sys.platform.startswith("linux"):
        pytest.skip("qemu-user check runs on Linux x86-64 hosts")
    if qemu_binary() is None:
        if os.environ.get("CI") == "true" or os.environ.get("GAMESOLVE_REQUIRE_QEMU") == "1":
            pytest.fail("qemu-x86_64 (Debian package qemu-user) is required here (CI=true or "
                        "GAMESOLVE_REQUIRE_QEMU=1) but not installed")
        pytest.skip("qemu-x86_64 not installed (apt-get install qemu-user)")


def test_cpu_without_avx_runs_the_baseline_level(reference, tmp_path):
    require_qemu()
    if "baseline" not in _cpu.built_levels():
        pytest.skip("this build has no baseline level (GAMESOLVE_ISA_LEVELS or GAMESOLVE_NATIVE)")
    meta, got = solve(tmp_path, "nehalem", qemu_cpu="Nehalem")
    assert meta["level"] == "baseline" and meta["module"] == "gamesolve._core_v1"
    assert_same_results(got, reference[1])


def test_cpu_without_avx_refuses_a_forced_avx2_level():
    require_qemu()
    if "avx2" not in _cpu.built_levels():
        pytest.skip("this build has no avx2 level")
    res = run_python("import gamesolve", level="avx2", qemu_cpu="Nehalem", check=False)
    assert res.returncode == 1, res.stderr[-2000:]  # an ImportError, not SIGILL (-4 / 132)
    assert "GAMESOLVE_ISA='avx2' needs an x86-64-v3 CPU" in res.stderr and "supports baseline" in res.stderr


def test_cpu_with_avx2_without_avx512_runs_the_avx2_level(reference, tmp_path):
    require_qemu()
    if "avx2" not in _cpu.built_levels():
        pytest.skip("this build has no avx2 level")
    meta, got = solve(tmp_path, "haswell", qemu_cpu="Haswell")
    assert meta["level"] == "avx2"
    assert_same_results(got, reference[1])
