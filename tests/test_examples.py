"""gamesolve.examples: [theory §10] constants, converged solutions and numerical local-Nash checks;
the example scripts (examples/*.py), ``python -m gamesolve`` and every ```python snippet of
README.md and docs/*.md run as a user runs them.

The scripts and snippets run in a subprocess with the current directory a fresh tmp dir and
the same interpreter and environment as pytest, without the source tree's ``python/`` put
in front: they exercise the gamesolve this pytest imports (the installed package, or a dev
build on PYTHONPATH) and must write their files into the current directory only.
"""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gamesolve
from gamesolve import examples as ex
from gamesolve.errors import InputError

RNG = np.random.default_rng(11)


def local_nash_violation(game, res, T, *, eps=(1e-3, 1e-2), samples=40, seed=0):
    """Largest cost decrease any player gets from small unilateral open-loop deviations.

    Player i replaces its controls by ``us^i + d`` (open loop) while the others keep
    their feedback strategies ``u^j = -K^j x - k^j``; ``d`` are random directions of
    inf-norm ``eps`` plus single-stage coordinate pulses. Returns
    ``max_i (J^i - min_d J^i(d)) / max(1, |J^i|)`` (negative: every deviation costs more).
    """
    rng = np.random.default_rng(seed)
    worst = -np.inf
    for i in range(game.N):
        s = game.control_slice(i)
        D = []
        for e in eps:
            D.append(e * rng.uniform(-1, 1, size=(samples, T, game.dims[i])))
            pulses = np.zeros((2 * T * game.dims[i], T, game.dims[i]))
            for t in range(T):
                for a in range(game.dims[i]):
                    pulses[2 * (t * game.dims[i] + a), t, a] = e
                    pulses[2 * (t * game.dims[i] + a) + 1, t, a] = -e
            D.append(pulses)
        D = np.concatenate(D)
        x = np.broadcast_to(res.xs[0], (len(D), game.n)).copy()
        X, U = [x], []
        for t in range(T):
            u = -(x @ res.K[t].T) - res.k[t]
            u[:, s] = res.us[t, s] + D[:, t]
            U.append(u)
            x = game.step(x, u)
            X.append(x)
        Ji = game.total_costs(np.stack(X, 1), np.stack(U, 1))[:, i]
        worst = max(worst, (res.costs[i] - Ji.min()) / max(1.0, abs(res.costs[i])))
    return worst


def test_lq_example_unchanged():
    g = ex.lq_example()
    np.testing.assert_array_equal(g.A, [[0.588, 0.028], [0.570, 0.056]])
    assert g.dims == (1, 1) and g.x0.tolist() == [1.0, 1.0]
    np.testing.assert_allclose(g.Sigma0, 0.5 * np.outer([1, 1], [1, 1]) + 0.5 * np.outer([1, 1.1], [1, 1.1]))


def test_platooning_is_spec10():
    g = ex.platooning()
    x = RNG.normal(size=12)
    u = RNG.normal(size=6)
    c = g.stage_costs(x, u)
    px = x[0::4]
    v, th = x[2::4], x[3::4]
    own = (v - 1) ** 2 + (th - np.pi / 2) ** 2 + (u.reshape(3, 2) ** 2).sum(1)
    want = own + np.array([5 * ((px[1] - 0.5) ** 2 + (px[2] - 0.5) ** 2), 5 * (px[1] - px[0]) ** 2,
                           5 * (px[2] - px[0]) ** 2])
    np.testing.assert_allclose(c, want, rtol=1e-13)
    xn = g.step(x, u).reshape(3, 4)
    X, Uu = x.reshape(3, 4), u.reshape(3, 2)
    np.testing.assert_allclose(xn[:, 0], X[:, 0] + 0.1 * X[:, 2] * np.cos(X[:, 3]))
    np.testing.assert_allclose(xn[:, 2], X[:, 2] + 2 * 0.1 * Uu[:, 0])
    np.testing.assert_allclose(g.x0, [-1, 4, 1, np.pi / 2, -1, 2, 1, np.pi / 2, 2, 0.4, 1, np.pi / 2])
    np.testing.assert_allclose(g.x0_low[:4], [-1, 0, 0.1, np.pi / 4])
    np.testing.assert_allclose(g.x0_high[:4], [3, 20, 1.9, 3 * np.pi / 4])


def test_basketball_is_spec10():
    g = ex.basketball()
    x = RNG.normal(size=24) * 3
    u = RNG.normal(size=12)
    P, V, Uu = x.reshape(6, 4)[:, :2], x.reshape(6, 4)[:, 2:], u.reshape(6, 2)
    ring = lambda i, r: ((P[i] ** 2).sum() - r ** 2) ** 2 + (V[i] ** 2).sum() + (Uu[i] ** 2).sum() \
        + 100 * max(P[i, 1], 0.0)  # noqa: E731
    want = [ring(0, 1.5), ((P[1] - 0.75 * P[0]) ** 2).sum() + (Uu[1] ** 2).sum(), ring(2, 4.0),
            ((P[3] - 0.75 * P[2]) ** 2).sum() + (Uu[3] ** 2).sum(), ((P[4] - P[3]) ** 2).sum() + (Uu[4] ** 2).sum(),
            ((P[5] - 0.75 * P[4]) ** 2).sum() + (Uu[5] ** 2).sum()]
    np.testing.assert_allclose(g.stage_costs(x, u), want, rtol=1e-13)
    xn = g.step(x, u).reshape(6, 4)
    np.testing.assert_allclose(xn[:, :2], P + 0.1 * V)
    np.testing.assert_allclose(xn[:, 2:], V + 5 * 0.1 * Uu)


def _solve(game, T, **kw):
    res = gamesolve.ilqgames(game, game.x0, horizon=T, **kw)
    assert res.status == "converged", (res.status, res.iterations, res.step, res.nash_residual)
    assert res.nash_residual <= 1e-6
    return res


def test_platooning_local_nash_and_behaviour():
    g = ex.platooning()
    res = _solve(g, 20)
    assert local_nash_violation(g, res, 20) < 1e-10
    px = res.xs[:, 0::4]
    # the followers close in on the leader's lane, the leader steers them towards px* = 0.5
    assert np.abs(px[-1, 1:] - px[-1, 0]).max() < np.abs(px[0, 1:] - px[0, 0]).max()


def test_basketball_local_nash_and_behaviour():
    g = ex.basketball()
    res = _solve(g, 100)
    assert local_nash_violation(g, res, 100, samples=20) < 1e-10
    P = res.xs[-1].reshape(6, 4)[:, :2]
    assert abs(np.linalg.norm(P[0]) - 1.5) < 0.1 and abs(np.linalg.norm(P[2]) - 4.0) < 0.2
    assert P[0, 1] <= 1e-6 and P[2, 1] <= 1e-6  # below the baseline


def test_formation_local_nash_and_triangle():
    g = ex.formation()
    T = 100
    res = _solve(g, T, max_step=np.inf)
    assert res.iterations == 2  # an LQ game
    assert local_nash_violation(g, res, T, samples=10, eps=(1e-2,)) < 1e-10
    ref, phi = ex.formation_reference(T)
    P = res.xs[-1].reshape(3, 4)[:, :2]
    e = np.array([np.cos(phi[T]), np.sin(phi[T])])
    n = np.array([-np.sin(phi[T]), np.cos(phi[T])])
    np.testing.assert_allclose(P[1] - P[0], -2 * e + n, atol=0.3)
    np.testing.assert_allclose(P[2] - P[0], -2 * e - n, atol=0.3)
    assert np.linalg.norm(P[0] - ref[T]) < 0.3


@pytest.mark.parametrize("N", [4, 8])
def test_navigation_local_nash_collision_free(N):
    g = ex.navigation(N)
    T = g.horizon
    res = _solve(g, T)
    assert local_nash_violation(g, res, T, samples=10, eps=(1e-3,)) < 1e-10
    P = res.xs.reshape(T + 1, N, 4)[..., :2]
    d = np.linalg.norm(P[:, :, None] - P[:, None], axis=-1) + 1e9 * np.eye(N)
    assert d.min() > 0.7 * ex.NAVIGATION["d_min"]
    assert np.linalg.norm(P[-1] - g.info["goals"], axis=-1).max() < 1.0


def test_navigation_bad_players():
    with pytest.raises(InputError, match="n_players must be an integer >= 2"):
        ex.navigation(1)


# ---------------------------------------------------------------------------------------------
# Example scripts, the command line and the documentation snippets, run as a user would

ROOT = Path(__file__).resolve().parents[1]
HAVE_MPL = bool(__import__("importlib").util.find_spec("matplotlib"))

#: script -> (arguments of a quick run, the files it must write into the current directory)
SCRIPTS = {
    "fig1_policy_gradient.py": (["--quick"], ["fig1_policy_gradient.png"]),
    "ilqgames_gallery.py": (["--quick"], ["ilqgames_gallery.png"]),
    "entropy_po.py": (["--quick"], ["entropy_po.png"]),
    "markov_coordination.py": (["--quick"], ["markov_fig1_tabular.png", "markov_fig4_lambda.png",
                                             "markov_npg_br_K.png"]
                               + (["markov_fig2_neural.png"] if importlib.util.find_spec("torch") else [])),
    "neppo_games.py": (["--quick"], ["neppo_games.png"]),
    "neppo_ppo.py": (["--quick"], ["neppo_ppo.png"]),
}


def _user_env():
    """The test's environment for a child python, with relative PYTHONPATH entries made absolute
    (a dev build runs ``PYTHONPATH=python pytest``; the child's cwd is elsewhere). Nothing is added."""
    env = dict(os.environ, MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1")
    if env.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.pathsep.join(str(Path(p).resolve()) for p in env["PYTHONPATH"].split(os.pathsep) if p)
    return env


def _run(args, cwd, timeout=120):
    """Run ``python args...`` in ``cwd``; fail with its output unless it exits 0. Returns stdout."""
    proc = subprocess.run([sys.executable, *args], cwd=cwd, env=_user_env(), capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f"{args} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc.stdout


def test_child_python_imports_the_same_gamesolve(tmp_path):
    """The subprocesses below test this gamesolve, not the source tree next to the scripts."""
    out = _run(["-c", "import gamesolve, sys; print(gamesolve.__file__); print(sys.path)"], tmp_path)
    child_file = out.splitlines()[0]
    assert Path(child_file).resolve() == Path(gamesolve.__file__).resolve()
    if not os.environ.get("PYTHONPATH"):  # an installed package: the source tree is not on the path
        assert str(ROOT / "python") not in out


def test_every_example_script_is_covered():
    assert sorted(p.name for p in (ROOT / "examples").glob("*.py")) == sorted(SCRIPTS)


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_example_script_runs_and_writes_its_files(script, tmp_path):
    args, files = SCRIPTS[script]
    out = _run([str(ROOT / "examples" / script), *args], tmp_path)
    written = sorted(p.name for p in tmp_path.iterdir())
    if HAVE_MPL:
        assert written == sorted(files), out
        for f in files:
            assert (tmp_path / f).stat().st_size > 10_000
            assert f"wrote {f}" in out  # tells the user where the file is
    else:
        assert written == []


def test_out_dir(tmp_path):
    """``--out DIR`` (the same option in every script) writes there, creating it, and nowhere else."""
    pytest.importorskip("matplotlib")
    out = _run(["-m", "gamesolve", "demo", "--horizon", "5", "--out", "figs/new"], tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.*")] == ["figs/new/gamesolve_demo.png"]
    assert f"wrote {Path('figs/new/gamesolve_demo.png')}" in out
    for script in SCRIPTS:
        assert '"--out", type=Path, default=Path(".")' in (ROOT / "examples" / script).read_text()


def test_demo_command(tmp_path):
    out = _run(["-m", "gamesolve", "demo"], tmp_path)
    assert "Nash gap" in out
    gaps = [float(x) for x in re.findall(r"Nash gap = (\S+)", out)]
    assert len(gaps) == 2 and max(gaps) < 1e-12
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == (["gamesolve_demo.png"] if HAVE_MPL else [])
    if HAVE_MPL:
        assert "wrote gamesolve_demo.png" in out


def test_demo_command_no_plot_and_version(tmp_path):
    _run(["-m", "gamesolve", "demo", "--no-plot", "--horizon", "5"], tmp_path)
    assert list(tmp_path.iterdir()) == []
    assert _run(["-m", "gamesolve", "--version"], tmp_path).strip() == f"gamesolve {gamesolve.__version__}"
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", gamesolve.__version__)


def _python_snippets():
    """(file:line, code) of every ```python block in README.md and docs/*.md."""
    out = []
    for md in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = md.read_text(encoding="utf-8")
        for m in re.finditer(r"^```python\n(.*?)^```", text, flags=re.S | re.M):
            line = text.count("\n", 0, m.start()) + 1
            out.append(pytest.param(m.group(1), id=f"{md.relative_to(ROOT).as_posix()}:{line}"))
    return out


SNIPPETS = _python_snippets()


def test_documentation_has_snippets():
    assert len(SNIPPETS) >= 4


@pytest.mark.parametrize("code", SNIPPETS)
def test_documentation_snippet_runs(code, tmp_path):
    (tmp_path / "snippet.py").write_text(code, encoding="utf-8")
    _run(["snippet.py"], tmp_path)
