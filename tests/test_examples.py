"""gamesolve.examples: SPEC 10 constants, converged solutions and numerical local-Nash checks."""

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


def test_gallery_script_solves_every_example(tmp_path, monkeypatch, capsys):
    """examples/ilqgames_gallery.py: every SPEC 10 nonlinear example converges (and the figure is written
    when matplotlib is available)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "examples" / "ilqgames_gallery.py"
    spec = importlib.util.spec_from_file_location("ilqgames_gallery", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    solved = mod.solve_all()
    assert [g.name for g, _ in solved] == ["platooning", "basketball", "formation", "navigation4", "navigation8"]
    assert all(res.converged and res.nash_residual <= 1e-6 for _, res in solved)
    pytest.importorskip("matplotlib")
    out = tmp_path / "gallery.png"
    mod.plot(solved, out)
    assert out.stat().st_size > 0
