"""The installed C++ package: `cmake --install` + `find_package(gamesolve)` from examples/cpp.

Builds gamesolve_core (no Python extension) in ``build/cpp-package-test`` (kept between
runs, so a rerun is incremental), installs it into a temporary prefix, configures and
builds the consumer examples/cpp against that prefix alone (plus Eigen's), runs it and
compares the gains it prints with the Python API:

* K_0 of the finite-horizon (T = 50) appendix-A game with ``gamesolve.solve_lq_game``;
* the stationary Nash gain with ``gamesolve.lq_nash``,

both to 1e-12. Needs cmake, ninja and Eigen 3.4 (``pip install cmeel-eigen``); skipped
without them, except under ``CI=true``, where a missing tool is a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gamesolve import lq_nash, solve_lq_game
from gamesolve.examples import lq_example

ROOT = Path(__file__).resolve().parents[1]
T = 50


def _missing(what: str):
    """Skip, or fail under CI=true (the CI environment must provide every tool)."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"C++ package test: {what} (required when CI=true)")
    pytest.skip(f"C++ package test: {what}")


def _eigen_prefix() -> str:
    """The CMake prefix of PyPI's cmeel-eigen (``python -m cmeel cmake``), or ''."""
    try:
        out = subprocess.run([sys.executable, "-m", "cmeel", "cmake"], capture_output=True, text=True,
                             check=True)
    except (OSError, subprocess.CalledProcessError):
        return ""
    prefix = out.stdout.strip()
    return prefix if (Path(prefix) / "share" / "eigen3" / "cmake").is_dir() else ""


def _run(cmd, **kw):
    res = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    assert res.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{res.stdout[-4000:]}\n{res.stderr[-4000:]}"
    return res.stdout


def _gains(out: str, label: str) -> np.ndarray:
    """The rows printed as `<label> k_1 ... k_n` (one per player)."""
    rows = [line.split()[1:] for line in out.splitlines() if line.split()[:1] == [label]]
    return np.array(rows, dtype=float)


@pytest.fixture(scope="module")
def example_output(tmp_path_factory):
    cmake, ninja = shutil.which("cmake"), shutil.which("ninja")
    if not (cmake and ninja):
        _missing("cmake and ninja not found")
    eigen = _eigen_prefix()
    if not eigen:
        _missing("Eigen (cmeel-eigen) not found")
    tmp = tmp_path_factory.mktemp("cpp_package")
    prefix, build, example = tmp / "prefix", ROOT / "build" / "cpp-package-test", tmp / "example"
    common = ["-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release", f"-DPython_EXECUTABLE={sys.executable}"]
    _run([cmake, "-S", ROOT, "-B", build, *common, "-DGAMESOLVE_BUILD_PYTHON=OFF",
          "-DGAMESOLVE_BUILD_TESTS=OFF", f"-DCMAKE_PREFIX_PATH={eigen}",
          f"-DEigen3_DIR={Path(eigen) / 'share' / 'eigen3' / 'cmake'}"])  # also over a stale cache
    _run([cmake, "--build", build, "--target", "gamesolve_core"])
    _run([cmake, "--install", build, "--prefix", prefix])
    # The consumer sees the install and Eigen only (not the source tree, not /usr).
    _run([cmake, "-S", ROOT / "examples" / "cpp", "-B", example, *common, f"-DCMAKE_PREFIX_PATH={prefix};{eigen}",
          "-DCMAKE_IGNORE_PREFIX_PATH=/usr"])
    _run([cmake, "--build", example])
    return prefix, _run([example / "lq_appendix_a"])


def test_install_layout(example_output):
    prefix, _ = example_output
    cfg = next(prefix.glob("lib*/cmake/gamesolve"))
    for f in ("gamesolveConfig.cmake", "gamesolveConfigVersion.cmake", "gamesolveTargets.cmake"):
        assert (cfg / f).is_file(), f
    headers = {p.name for p in (prefix / "include" / "gamesolve").glob("*.hpp")}
    assert {"lq_game.hpp", "lq_nash.hpp", "stein.hpp", "anderson.hpp"} <= headers
    targets = (cfg / "gamesolveTargets.cmake").read_text()
    assert "gamesolve::gamesolve_core" in targets and "gamesolve::gamesolve " in targets
    assert "-march" not in targets  # the consumer picks its own target CPU


def test_finite_horizon_K0_matches_python(example_output):
    _, out = example_output
    g = lq_example()
    K0 = solve_lq_game(g.A, g.B, g.Q, g.R, horizon=T, dims=g.dims).K[0]
    K0_cpp = _gains(out, "K0")
    assert K0_cpp.shape == (2, 2)
    np.testing.assert_allclose(K0_cpp, K0, rtol=1e-12, atol=1e-14)


def test_infinite_horizon_K_matches_python(example_output):
    _, out = example_output
    g = lq_example()
    sol = lq_nash(g.A, g.B, g.Q, g.R, dims=g.dims)
    assert "infinite horizon: converged" in out
    np.testing.assert_allclose(_gains(out, "K"), sol.K, rtol=1e-12, atol=1e-14)
