"""gamesolve.ilqgames: LQ exactness, oracle agreement, batching, residual, statuses, bad input."""

import numpy as np
import pytest

import gamesolve
from gamesolve import examples as ex
from gamesolve.nonlinear.costs import Ring, control_effort, relative_position, tracking
from gamesolve import _core
from gamesolve.nonlinear.dynamics import Bicycle, DoubleIntegrator, Unicycle, product
from gamesolve.errors import InputError
from gamesolve.nonlinear.game import Game
from gamesolve.nonlinear.local import _nash_residual, _rollout

from lq_twin import solve_lq_game_numpy
from rollout_reference import rollout_reference

RNG = np.random.default_rng(7)


def _random_lq_game(seed=0):
    """Three double integrators with random quadratic couplings and targets: an LQ game."""
    rng = np.random.default_rng(seed)
    f = DoubleIntegrator(dt=0.1, gain=1.0, count=3)
    costs = []
    for i in range(3):
        j = (i + 1) % 3
        p, pj = [4 * i, 4 * i + 1], [4 * j, 4 * j + 1]
        costs.append(tracking(p, rng.normal(size=(31, 2)), 2.0) + relative_position(p, pj, 1.0, scale=0.5)
                     + control_effort([2 * i, 2 * i + 1], rng.uniform(0.5, 2.0)))
    return Game(f, costs, dims=f.dims, state_dims=f.state_dims)


def test_lq_game_is_solved_exactly_in_one_iteration():
    g = _random_lq_game()
    T = 30
    x0 = RNG.normal(size=g.n)
    res = gamesolve.ilqgames(g, x0, horizon=T, max_step=np.inf)
    assert res.status == "converged" and res.converged and res.iterations == 2
    assert res.log[0].alpha[0] == 1.0 and res.log[1].step[0] < 1e-10
    # the same LQ game written out directly (zero nominal: deviations are absolute)
    lq = g.lq_approximation(np.zeros((T + 1, g.n)), np.zeros((T, g.m)))
    sol = gamesolve.solve_lq_game(lq.A, lq.B, lq.Q, lq.R, q=lq.q, r=lq.r, QT=lq.QT, qT=lq.qT, dims=g.dims)
    np.testing.assert_allclose(res.K, sol.K, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(res.k, sol.k, rtol=1e-10, atol=1e-10)
    xs, us = sol.rollout(x0)
    np.testing.assert_allclose(res.xs, xs, atol=1e-10)
    np.testing.assert_allclose(res.us, us, atol=1e-10)
    # total costs: V_0 of the LQ game plus the constant terms the LQ form leaves out
    const = g.total_costs(np.zeros((T + 1, g.n)), np.zeros((T, g.m)))
    np.testing.assert_allclose(res.costs, sol.costs(x0) + const, rtol=1e-10)
    assert res.nash_residual < 1e-9
    assert sol.nash_gap(x0) < 1e-8


def test_core_agrees_with_numpy_oracle_along_a_nonlinear_trajectory():
    g = ex.platooning()
    T = 20
    xs = g.rollout_open_loop(g.x0, 0.3 * RNG.normal(size=(T, g.m)))
    us = 0.3 * RNG.normal(size=(T, g.m))
    lq = g.lq_approximation(xs, us)
    sol = gamesolve.solve_lq_game(lq.A, lq.B, lq.Q, lq.R, q=lq.q, r=lq.r, QT=lq.QT, qT=lq.qT, dims=g.dims)
    K, k, Z, zeta, s = solve_lq_game_numpy(lq.A, lq.B, lq.Q, lq.q, lq.R, lq.r, None, None, lq.QT, lq.qT, g.dims)
    np.testing.assert_allclose(sol.K, K, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(sol.k, k, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(sol.zeta, zeta, rtol=1e-9, atol=1e-9)


def test_platooning_converges_from_the_evaluation_start():
    g = ex.platooning()
    res = gamesolve.ilqgames(g, g.x0, horizon=20)
    assert res.status == "converged" and res.converged
    assert res.nash_residual <= 1e-6 and res.step <= 1e-6
    assert res.iterations < 30
    assert len(res.log) == res.iterations
    # the strategies reproduce the trajectory in the global [theory §1] form u = -K x - k
    x = g.x0
    for t in range(20):
        u = -res.K[t] @ x - res.k[t]
        np.testing.assert_allclose(u, res.us[t], atol=1e-12)
        x = g.step(x, u)
    np.testing.assert_allclose(x, res.xs[-1], atol=1e-12)
    np.testing.assert_allclose(res.costs, g.total_costs(res.xs, res.us), rtol=1e-14)
    assert set(res.timings) == {"rollout", "derivatives", "lq_solve", "line_search", "residual"}


def test_nash_residual_equals_finite_difference_gradient():
    """The adjoint's dJ^i/du^i_t (others on feedback) against central differences of rollouts."""
    g = ex.platooning()
    T = 8
    res = gamesolve.ilqgames(g, g.x0, horizon=T, max_iter=2)  # not converged: a non-zero residual
    xs, us, K = res.xs, res.us, res.K
    lq = g.lq_approximation(xs[None], us[None])
    own = np.zeros((g.N, g.m), bool)
    for i in range(g.N):
        own[i, g.control_slice(i)] = True

    def J(i, dv):  # player i's cost with open-loop own controls us^i + dv, others on feedback
        x = g.x0
        X, U = [x], []
        for t in range(T):
            u = us[t] - K[t] @ (x - xs[t])
            u[own[i]] = us[t, own[i]] + dv[t]
            U.append(u)
            x = g.step(x, u)
            X.append(x)
        return g.total_costs(np.array(X), np.array(U))[i]

    grads = []
    h = 1e-6
    for i in range(g.N):
        G = np.zeros((T, 2))
        for t in range(T):
            for a in range(2):
                d = np.zeros((T, 2))
                d[t, a] = h
                G[t, a] = (J(i, d) - J(i, -d)) / (2 * h)
        grads.append(np.abs(G).max())
    r = _nash_residual(type(lq)(*(np.asarray(a) for a in lq)), K[None], own)[0]
    assert r > 1e-3
    np.testing.assert_allclose(r, max(grads), rtol=1e-6)


def test_batched_equals_single():
    g = ex.platooning()
    X0 = g.sample_x0(4, seed=3)
    batch = gamesolve.ilqgames(g, X0, horizon=20)
    assert batch.xs.shape == (4, 21, 12) and batch.K.shape == (4, 20, 6, 12) and batch.costs.shape == (4, 3)
    assert batch.converged.shape == (4,) and batch.status.shape == (4,)
    for b in range(4):
        one = gamesolve.ilqgames(g, X0[b], horizon=20)
        assert one.status == batch.status[b] and one.iterations == batch.iterations[b]
        np.testing.assert_allclose(batch.xs[b], one.xs, atol=1e-9)
        np.testing.assert_allclose(batch.K[b], one.K, atol=1e-8)
        np.testing.assert_allclose(batch.costs[b], one.costs, rtol=1e-10)


def test_non_convergence_is_reported():
    g = ex.platooning()
    res = gamesolve.ilqgames(g, g.x0, horizon=20, max_iter=3)
    assert res.status == "max_iterations" and not res.converged and res.iterations == 3
    res = gamesolve.ilqgames(g, g.x0, horizon=20, max_step=1e-9, ls_steps=3)
    assert res.status == "line_search_failed" and not res.converged
    assert res.log[0].alpha[0] == 0.0
    np.testing.assert_allclose(res.xs, g.rollout_open_loop(g.x0, np.zeros((20, 6))))  # last accepted
    batch = gamesolve.ilqgames(g, np.stack([g.x0, g.x0]), horizon=20, max_iter=3)
    assert list(batch.status) == ["max_iterations"] * 2 and not batch.converged.any()


def test_diverging_dynamics_are_reported():
    f = Unicycle(count=1)
    game = Game(lambda x, u: np.where(np.abs(x) > 1e3, np.inf, f(x, u)),
                [control_effort([0, 1]) + tracking([0, 1], [5.0, 5.0])], dims=(2,), state_dims=(4,))
    res = gamesolve.ilqgames(game, np.full(4, 2e3), horizon=10)
    assert res.status == "diverged" and not res.converged and res.iterations == 0
    batch = gamesolve.ilqgames(game, np.stack([np.full(4, 2e3), np.zeros(4)]), horizon=10)
    assert list(batch.status) == ["diverged", "converged"]


def test_nonconvex_cost_needs_the_projection():
    """A ring cost from inside the ring: the PSD projection keeps R^{ii} and the iteration well-posed."""
    f = DoubleIntegrator(count=2)
    g = Game(f, [Ring([0, 1], 2.0) + control_effort([0, 1]), tracking([4, 5], [1.0, 0.0]) + control_effort([2, 3])],
             dims=(2, 2), state_dims=(4, 4))
    res = gamesolve.ilqgames(g, np.array([0.3, -0.2, 0, 0, 0, 0, 0, 0]), horizon=30, max_iter=200)
    assert res.converged
    r = np.linalg.norm(res.xs[-1, :2])
    assert abs(r - 2.0) < 0.2


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("kw, match", [
    (dict(horizon=0), "horizon must be an integer in"),
    (dict(horizon=2.5), "horizon must be an integer, got 2.5"),
    (dict(max_iter=0), "^max_iter must be"),
    (dict(tol=-1.0), "^tol must be"),
    (dict(grad_tol=-1.0), "^grad_tol must be"),
    (dict(max_step=0.0), "^max_step must be"),
    (dict(ls_factor=1.0), "^ls_factor must be"),
    (dict(ls_steps=0), "^ls_steps must be"),
    (dict(reg=-1.0), "^reg must be"),
])
def test_bad_options(kw, match):
    g = ex.platooning()
    kw = {"horizon": 5, **kw}
    with pytest.raises(InputError, match=match):
        gamesolve.ilqgames(g, g.x0, **kw)


def test_bad_arrays():
    g = ex.platooning()
    with pytest.raises(InputError, match=r"x0 must have shape \(12,\) or \(B, 12\)"):
        gamesolve.ilqgames(g, np.zeros(11), horizon=5)
    with pytest.raises(InputError, match="x0 must have 1 or 2 dimensions"):
        gamesolve.ilqgames(g, np.zeros((2, 2, 12)), horizon=5)
    with pytest.raises(InputError, match="x0 must be finite"):
        gamesolve.ilqgames(g, np.full(12, np.nan), horizon=5)
    with pytest.raises(InputError, match=r"us0 must have shape \(5, 6\)"):
        gamesolve.ilqgames(g, g.x0, horizon=5, us0=np.zeros((4, 6)))
    with pytest.raises(InputError, match=r"game must be a gamesolve.Game or an LQ game \(A, B, Q, R, dims\), got str"):
        gamesolve.ilqgames("platooning", g.x0, horizon=5)


def test_bicycles_use_the_cross_curvature_term_and_converge():
    """Kinematic bicycles: second-order terms include M (state-control) blocks passed to the core."""
    from gamesolve.nonlinear.costs import Proximity
    from gamesolve.nonlinear.dynamics import Bicycle
    f = Bicycle(dt=0.1, wheelbase=1.0, count=2)
    costs = [tracking([0, 1], [4.0, 1.0], 1.0) + tracking([3], [1.0]) + control_effort([0, 1])
             + Proximity([0, 1], [[4, 5]], 1.0, 20.0),
             tracking([4, 5], [4.0, -1.0], 1.0) + tracking([7], [1.0]) + control_effort([2, 3])
             + Proximity([4, 5], [[0, 1]], 1.0, 20.0)]
    g = Game(f, costs, dims=(2, 2), state_dims=(4, 4))
    x0 = np.array([0.0, -0.5, 0.2, 1.0, 0.0, 0.5, -0.2, 1.0])
    res = gamesolve.ilqgames(g, x0, horizon=30)
    assert res.converged and res.nash_residual < 1e-6
    assert np.linalg.norm(res.xs[-1, :2] - [4.0, 1.0]) < 1.0


def test_separate_terminal_costs():
    f = DoubleIntegrator(count=2)
    stage = [control_effort([0, 1]), control_effort([2, 3])]
    term = [tracking([0, 1], [1.0, 2.0], 10.0), tracking([4, 5], [-1.0, 0.0], 10.0)]
    g = Game(f, stage, dims=(2, 2), state_dims=(4, 4), terminal_costs=term)
    res = gamesolve.ilqgames(g, np.zeros(8), horizon=15)
    assert res.converged and res.iterations == 2
    xT = res.xs[-1]
    want = res.costs - np.array([(res.us[:, :2] ** 2).sum(), (res.us[:, 2:] ** 2).sum()])
    np.testing.assert_allclose(want, [10 * ((xT[:2] - [1, 2]) ** 2).sum(), 10 * ((xT[4:6] - [-1, 0]) ** 2).sum()])
    lq = g.lq_approximation(res.xs, res.us)
    np.testing.assert_allclose(lq.qT[0, :2], 10 * (xT[:2] - [1, 2]))
    # the same LQ game written out: no stage state cost, terminal 10 |p - target|^2, R = I
    QT = np.zeros((2, 8, 8))
    QT[0, :2, :2] = QT[1, 4:6, 4:6] = 10 * np.eye(2)
    qT = np.zeros((2, 8))
    qT[0, :2], qT[1, 4:6] = -10 * np.array([1.0, 2.0]), -10 * np.array([-1.0, 0.0])
    A, B = f.jacobians(np.zeros(8), np.zeros(4))
    sol = gamesolve.solve_lq_game(A, B, np.zeros((2, 8, 8)), [np.eye(2), np.eye(2)], horizon=15, QT=QT, qT=qT,
                                  q=np.zeros((2, 8)), dims=(2, 2))
    np.testing.assert_allclose(res.K, sol.K, atol=1e-12)
    np.testing.assert_allclose(res.xs, sol.rollout(np.zeros(8))[0], atol=1e-12)


def test_finite_difference_game_reaches_the_analytic_solution():
    """Platooning with callable dynamics and costs (central differences everywhere) vs the analytic game."""
    g = ex.platooning()
    fd = Game(lambda x, u: g.dynamics(x, u), [lambda x, u, t, c=c: c.value(x, u, t) for c in g.costs],
              dims=g.dims, state_dims=g.state_dims)
    a = gamesolve.ilqgames(g, g.x0, horizon=10, second_order=False)
    b = gamesolve.ilqgames(fd, g.x0, horizon=10)
    assert a.converged and b.converged
    np.testing.assert_allclose(b.xs, a.xs, atol=1e-6)
    np.testing.assert_allclose(b.K, a.K, atol=1e-5)


# ------------------------------------------------------------ rollout kernel
def _random_closed_loop(f, rng, B=3, C=2, T=7):
    x0 = rng.normal(size=(B, f.n))
    us = rng.normal(size=(B, T, f.m))
    xs = np.stack([np.concatenate([x0[b:b + 1], rng.normal(size=(T, f.n))]) for b in range(B)])
    K = 0.3 * rng.normal(size=(B, T, f.m, f.n))
    k = rng.normal(size=(B, T, f.m))
    alpha = rng.uniform(0.1, 1.0, size=(C, B))
    return x0, xs, us, K, k, alpha


@pytest.mark.parametrize("f", [
    Unicycle(dt=0.1, accel_gain=2.0, count=3),
    DoubleIntegrator(dt=0.1, gain=5.0, dim=2, count=2),
    DoubleIntegrator(dt=0.2, gain=1.5, dim=3, count=1),
    Bicycle(dt=0.1, wheelbase=2.5, count=2),
    product(Unicycle(accel_gain=2.0), DoubleIntegrator(gain=3.0), Bicycle(wheelbase=1.5), Unicycle()),
])
def test_cpp_rollout_matches_the_numpy_oracle(f):
    """The C++ rollout of the built-in models equals the numpy closed-loop rollout to round-off."""
    g = Game(f, [control_effort(list(range(f.m)))] * len(f.dims), dims=f.dims, state_dims=f.state_dims)
    assert f.kernel_blocks() is not None
    args = _random_closed_loop(f, np.random.default_rng(3))
    X, U = _rollout(g, *args)
    Xr, Ur = rollout_reference(f, *args)
    assert X.shape == Xr.shape and U.shape == Ur.shape
    np.testing.assert_allclose(X, Xr, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(U, Ur, rtol=1e-13, atol=1e-13)
    # candidate c of member b: its own step alpha[c, b]
    x0, xs, us, K, k, alpha = args
    X1, _ = _rollout(g, x0[1:2], xs[1:2], us[1:2], K[1:2], k[1:2], alpha[1:2, 1:2])
    np.testing.assert_array_equal(X1[0, 0], X[1, 1])


def test_user_dynamics_and_subclasses_use_the_numpy_rollout():
    class Slower(Unicycle):
        def __call__(self, x, u):
            return super().__call__(x, 0.5 * u)

    assert Slower(count=2).kernel_blocks() is None
    assert product(Slower(), DoubleIntegrator()).kernel_blocks() is None
    f = Slower(count=1)
    g = Game(f, [control_effort([0, 1])], dims=(2,), state_dims=(4,))
    x0, xs, us, K, k, alpha = _random_closed_loop(f, np.random.default_rng(4), B=1, C=1, T=3)
    X, U = _rollout(g, x0, xs, us, K, k, alpha)
    Xr, Ur = rollout_reference(f, x0, xs, us, K, k, alpha)
    np.testing.assert_allclose(X, Xr, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(U, Ur, rtol=1e-14, atol=1e-14)
    x = x0[0]
    for t in range(3):  # the subclass's own step, not the built-in unicycle's
        np.testing.assert_allclose(X[0, 0, t], x, atol=1e-14)
        x = f(x, U[0, 0, t])
    np.testing.assert_allclose(X[0, 0, 3], x, atol=1e-14)


def test_rollout_kernel_rejects_bad_shapes():
    f = Unicycle(count=1)
    x0, xs, us, K, k, alpha = _random_closed_loop(f, np.random.default_rng(5), B=2, C=1, T=3)
    with pytest.raises(ValueError, match=r"K must have shape \(2, 3, 2, 4\)"):
        _core.rollout_feedback(f.kernel_blocks(), x0, xs, us, K[:, :2], k, alpha)
    with pytest.raises(ValueError, match="model count must be >= 1"):
        _core.rollout_feedback([(0, 0, 2, 0.1, 1.0)], x0, xs, us, K, k, alpha)


def test_a_nonfinite_local_game_stops_only_its_member():
    """A member whose local LQ game is non-finite (here: NaN curvature once it is near convergence) is
    reported diverged; the rest of the batch goes on and converges."""
    base = Unicycle(dt=0.1, accel_gain=2.0, count=1)

    class NaNCurvature:
        n, m = 4, 2

        def __call__(self, x, u):
            return base(x, u)

        def jacobians(self, x, u):
            return base.jacobians(x, u)

        def second_order(self, x, u, lam):
            H, M = base.second_order(x, u, lam)
            return np.where(x[..., :1, None] > 50.0, np.nan, H), M

    g = Game(NaNCurvature(), [control_effort([0, 1]) + tracking([1, 2], [1.0, 1.0])], dims=(2,),
             state_dims=(4,))
    x0 = np.array([[100.0, 0.0, 0.5, 1.0], [0.0, 0.0, 0.5, 1.0]])
    res = gamesolve.ilqgames(g, x0, horizon=10)
    assert list(res.status) == ["diverged", "converged"]
    assert res.iterations[0] >= 1 and np.isfinite(res.xs[0]).all()
    single = gamesolve.ilqgames(g, x0[1], horizon=10)
    np.testing.assert_allclose(res.xs[1], single.xs, atol=1e-12)


class _UnicycleNoBase(Unicycle):
    """A Unicycle subclass whose ``second_order`` has no ``base``: iLQGames copies Q each iteration
    (and, as a subclass, rolls out in numpy)."""

    def second_order(self, x, u, lam, out=None, scale=1.0):
        return Unicycle.second_order(self, x, u, lam, out=out, scale=scale)


def test_kept_newton_buffer_equals_the_copying_path():
    """Built-in dynamics keep one Q buffer and rewrite only the curvature entries; a model without
    ``base`` support gets a fresh copy of Q per iteration. Same iterations, same solution."""
    g = ex.platooning()
    g2 = Game(_UnicycleNoBase(dt=0.1, accel_gain=2.0, count=3), g.costs, dims=g.dims, state_dims=g.state_dims)
    X0 = g.sample_x0(6, seed=11)
    a = gamesolve.ilqgames(g, X0, horizon=20)
    b = gamesolve.ilqgames(g2, X0, horizon=20)
    assert a.converged.all() and b.converged.all()
    np.testing.assert_array_equal(a.iterations, b.iterations)
    np.testing.assert_allclose(a.xs, b.xs, atol=1e-9)
    np.testing.assert_allclose(a.K, b.K, atol=1e-8)


def test_secant_step_damps_the_oscillating_tail():
    """Platooning's tail oscillates (consecutive changes reverse, rate about -0.4): the secant rule's first
    trial steps 1 / (1 - rho) are damped steps that are not powers of the backtracking factor, and the
    member converges in fewer iterations than with halving/doubling alone would (16 before the rule)."""
    g = ex.platooning()
    res = gamesolve.ilqgames(g, g.x0, horizon=20)
    alphas = np.array([rec.alpha[0] for rec in res.log])
    secant = alphas[(alphas > 0.5) & (alphas < 1.0)]
    assert secant.size >= 1 and np.all(np.abs(np.log2(secant) - np.round(np.log2(secant))) > 1e-3)
    assert res.converged and res.nash_residual <= 1e-6 and res.iterations <= 14


def test_batched_equals_single_with_mixed_statuses():
    """Basketball starts that put a stage on the hinge's kink chatter (max_iterations) next to ones that
    converge: in one batch each member keeps its own status, iterations and trajectory."""
    g = ex.basketball()
    X0 = np.stack([g.x0, g.sample_x0(3, seed=1)[0], g.sample_x0(3, seed=1)[2]])
    batch = gamesolve.ilqgames(g, X0, horizon=60, max_iter=25)
    assert "converged" in batch.status and len(set(batch.status)) > 1
    for b in range(len(X0)):
        one = gamesolve.ilqgames(g, X0[b], horizon=60, max_iter=25)
        assert one.status == batch.status[b] and one.iterations == batch.iterations[b]
        assert one.converged == batch.converged[b]
        np.testing.assert_allclose(batch.xs[b], one.xs, atol=1e-9)


def test_chunked_iteration_equals_one_chunk(monkeypatch):
    """Large batches iterate in chunks of members (cache locality); the chunking changes nothing but the
    grouping: the same statuses, iterations, log and solution as one chunk."""
    import sys

    ilq = sys.modules["gamesolve.nonlinear.iteration"]
    g = ex.platooning()
    X0 = g.sample_x0(13, seed=21)
    monkeypatch.setattr(ilq, "_CHUNK", 10_000)
    one = gamesolve.ilqgames(g, X0, horizon=20)
    monkeypatch.setattr(ilq, "_CHUNK", 4)
    many = gamesolve.ilqgames(g, X0, horizon=20, max_iter=100)
    assert one.converged.all()
    np.testing.assert_array_equal(many.status, one.status)
    np.testing.assert_array_equal(many.iterations, one.iterations)
    np.testing.assert_allclose(many.xs, one.xs, rtol=0, atol=1e-12)
    np.testing.assert_allclose(many.K, one.K, rtol=0, atol=1e-10)
    assert len(many.log) == len(one.log)
    for a, b in zip(many.log, one.log):
        np.testing.assert_array_equal(a.active, b.active)
        np.testing.assert_allclose(a.alpha, b.alpha, rtol=1e-12)
        np.testing.assert_allclose(a.costs, b.costs, rtol=1e-12)
    # a chunk whose members all converge, and a batch of max_iterations members across chunks
    cut = gamesolve.ilqgames(g, X0, horizon=20, max_iter=5)
    assert list(cut.status) == ["max_iterations"] * 13 and (cut.iterations == 5).all()


def test_indefinite_control_hessian_stops_every_member(monkeypatch):
    """A local game whose R^{ii} is not positive definite (nonconvex control cost, convex=False) stops every
    member still iterating with status diverged -- also when the batch is iterated in chunks."""
    import sys

    ilq = sys.modules["gamesolve.nonlinear.iteration"]
    f = DoubleIntegrator(count=1)
    g = Game(f, [lambda x, u: (x[..., 0] - 1.0) ** 2 - 0.1 * np.sum(u ** 2, axis=-1) + np.sum(u ** 4, axis=-1)],
             dims=(2,), state_dims=(4,))
    X0 = np.zeros((3, 4))
    for chunk in (10_000, 1):
        monkeypatch.setattr(ilq, "_CHUNK", chunk)
        res = gamesolve.ilqgames(g, X0, horizon=5, convex=False)
        assert list(res.status) == ["diverged"] * 3 and not res.converged.any()
        assert (res.iterations == 0).all()
    ok = gamesolve.ilqgames(g, X0[0], horizon=5, reg=0.1, max_iter=300)  # projection + regularization: well-posed
    assert ok.status != "diverged"


# ------------------------------------------------------------- LQ games, results
def test_lq_example_is_a_game_solved_in_one_iteration():
    """examples.lq_example() goes straight into ilqgames: one iteration is solve_lq_game's equilibrium (the
    approximation of an LQ game is exact) and the second confirms it."""
    ex_ = ex.lq_example()
    T = 15
    sol = gamesolve.solve_lq_game(ex_.A, ex_.B, ex_.Q, ex_.R, horizon=T, dims=ex_.dims)
    for x0 in ex_.x0s:
        one = gamesolve.ilqgames(ex_, x0, horizon=T, max_iter=1)
        assert one.status == "max_iterations" and one.iterations == 1
        np.testing.assert_allclose(one.K, sol.K, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(one.k, sol.k, atol=1e-12)
        np.testing.assert_allclose(one.costs, sol.costs(x0), rtol=1e-12)
        np.testing.assert_allclose(one.xs, sol.rollout(x0)[0], atol=1e-13)
        full = gamesolve.ilqgames(ex_, x0, horizon=T)
        assert full.status is gamesolve.Status.CONVERGED and full.iterations <= 2 and full.nash_residual < 1e-12
    batch = gamesolve.ilqgames(ex_, ex_.x0s, horizon=T)
    assert batch.converged.all()
    np.testing.assert_allclose(batch.costs, np.stack([sol.costs(x) for x in ex_.x0s]), rtol=1e-12)


def test_lq_conversion():
    """The converted LQ game: linear dynamics with exact Jacobians, costs x'Q^i x + u^i'R^ii u^i, and the
    LQ terms it cannot express yet are refused."""
    from gamesolve.nonlinear.dynamics import Linear
    from gamesolve.nonlinear.game import as_game

    ex_ = ex.lq_example()
    g = as_game(ex_)
    assert isinstance(g.dynamics, Linear) and g.dims == (1, 1) and g.n == 2 and g.state_dims is None
    x, u = RNG.normal(size=(5, 2)), RNG.normal(size=(5, 2))
    np.testing.assert_allclose(g.step(x, u), x @ ex_.A.T + u @ np.hstack(ex_.B).T, rtol=1e-15)
    A, B = g.linearize(x, u)
    np.testing.assert_array_equal(A[3], ex_.A)
    want = np.stack([np.einsum("bi,ij,bj->b", x, ex_.Q[i], x) + ex_.R[i][0, 0] * u[:, i] ** 2 for i in range(2)], -1)
    np.testing.assert_allclose(g.stage_costs(x, u), want, rtol=1e-14)
    assert as_game(g) is g
    with pytest.raises(InputError, match="does not convert an LQ game's q term"):
        from dataclasses import dataclass

        @dataclass
        class WithLinear:
            A: object
            B: object
            Q: object
            R: object
            dims: tuple
            q: object

        as_game(WithLinear(ex_.A, ex_.B, ex_.Q, ex_.R, ex_.dims, np.ones((2, 2))))
    with pytest.raises(InputError, match=r"B must have shape \(2, m\)"):
        Linear(np.eye(2), np.ones((3, 1)))


def test_result_status_info_and_repr():
    g = ex.platooning()
    res = gamesolve.ilqgames(g, g.x0, horizon=20)
    assert res.status is gamesolve.Status.CONVERGED and res.status.ok and res.converged
    info = res.info
    assert info.iterations == res.iterations and info.residual == res.nash_residual and info.time > 0
    assert info.residuals.shape == (res.iterations,)
    assert info.residuals[-1] == res.nash_residual  # the test that certified the last trajectory
    # the history holds what the iteration records hold: the residual at iteration j+1's start = after iteration j
    logged = np.array([rec.nash_residual[0] for rec in res.log[1:]])
    np.testing.assert_array_equal(info.residuals[:-1], logged)
    assert repr(res).startswith("ILQGamesResult(converged, iterations=") and "K=<20x6x12 array>" in repr(res)
    cut = gamesolve.ilqgames(g, np.stack([g.x0, g.x0]), horizon=20, max_iter=3)
    assert list(cut.status) == [gamesolve.Status.MAX_ITERATIONS] * 2 and not any(s.ok for s in cut.status)
    assert cut.info.residuals.shape == (2, 3) and repr(cut).startswith("ILQGamesResult(0/2 converged")


def test_verbose_prints_what_the_log_holds(capsys):
    g = ex.platooning()
    res = gamesolve.ilqgames(g, g.x0, horizon=20, tol=1e-2, grad_tol=1e-9, verbose=True)  # residuals logged early
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == len(res.log)
    for line, rec in zip(lines, res.log):
        shown = line.split("residual max ")[1].split()[0]
        if np.isnan(rec.nash_residual[0]):
            assert shown == "nan"
        else:
            assert float(shown) == pytest.approx(rec.nash_residual[0], rel=1e-3)
    assert any(s == "nan" for s in (ln.split("residual max ")[1].split()[0] for ln in lines))
    assert any(np.isfinite(rec.nash_residual[0]) for rec in res.log)


def test_lq_game_type_is_a_game():
    """An ``LQGame`` (``gamesolve.lq_game``) goes into ilqgames like the example (skipped before that type exists)."""
    if not hasattr(gamesolve, "lq_game"):
        pytest.skip("gamesolve.lq_game is not available on this branch")
    e = ex.lq_example()
    T = 12
    sol = gamesolve.solve_lq_game(e.A, e.B, e.Q, e.R, horizon=T, dims=e.dims)
    res = gamesolve.ilqgames(gamesolve.lq_game(e.A, e.B, e.Q, e.R, horizon=T, dims=e.dims), e.x0, horizon=T)
    assert res.converged and res.iterations <= 2
    np.testing.assert_allclose(res.K, sol.K, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(res.costs, sol.costs(e.x0), rtol=1e-12)


def test_step_control_rules():
    """The first trial step of the next line search (module docstring, step 3), member by member: the secant
    step 1 / (1 - rho) on a linear tail, half the step after a reversal, twice it (at most 1) otherwise."""
    from gamesolve.nonlinear.iteration import _Members, _Settings, _step_control

    rng = np.random.default_rng(2)
    T, n = 4, 3
    v = 0.01 * rng.normal(size=(T + 1, n))
    w = 0.01 * rng.normal(size=(T + 1, n))
    w -= (w * v).sum() / (v * v).sum() * v  # orthogonal to v
    s = _Members.start(np.zeros((4, n)), np.zeros((4, T + 1, n)), np.zeros((4, T, 1)), np.zeros((4, T, 1, n)), 1,
                       False)
    s.dX_prev[:], s.dX_sq[:], s.a_prev[:] = v, (v * v).sum(), 1.0
    rho = -0.4
    # member 0: linear tail with rate rho (unit steps); 1: a reversal of a large change (no secant: too big);
    # 2: an unrelated direction; 3: the line search failed
    dX = np.stack([rho * v, -200.0 * v, w, np.zeros_like(v)])
    s.dX_prev[1], s.dX_sq[1] = 100.0 * v, 1e4 * (v * v).sum()
    alpha = np.array([1.0, 0.5, 0.25, 0.0])
    dev = np.abs(dX).max(axis=(1, 2))
    opts = _Settings(10, 1e-6, 1e-6, np.inf, 0.5, 12, 0.0, True, False)
    _step_control(s, np.arange(4), dX, alpha, np.where(alpha > 0, dev, np.inf), opts)
    np.testing.assert_allclose(s.amax, [1.0 / (1.0 - rho), 0.25, 0.5, 1.0], rtol=1e-12)
    np.testing.assert_array_equal(s.a_prev, [1.0, 0.5, 0.25, 1.0])  # the failed member keeps its memory
    np.testing.assert_array_equal(s.dX_prev[2], w)


def test_second_order_base_support_is_read_per_function():
    """Whether a model's ``second_order`` takes ``base`` is read once per function and cached; the cache keys
    on the function, so a subclass without ``base`` is never taken for its parent (or the other way round),
    and an unhashable callable object is still read (from its signature, uncached)."""
    from gamesolve.nonlinear.iteration import _takes_base

    class Unhashable:
        __hash__ = None  # an object with __eq__ and no hash, as dataclass(eq=True) makes

        def __init__(self, with_base):
            self.with_base = with_base

        def __eq__(self, other):
            return self is other

    class WithBase(Unhashable):
        def __call__(self, x, u, lam, out=None, scale=1.0, base=None):
            return None

    class WithoutBase(Unhashable):
        def __call__(self, x, u, lam, out=None, scale=1.0):
            return None

    for _ in range(2):  # the second round reads the cache
        assert _takes_base(Unicycle(count=1).second_order) is True
        assert _takes_base(_UnicycleNoBase(count=1).second_order) is False
        assert _takes_base(WithBase(True)) is True
        assert _takes_base(WithoutBase(False)) is False


def test_divergence_is_a_status_not_a_warning():
    """Overflow and NaN in a diverging member are a status: ilqgames and the nonlinear best response run
    their loop inside one np.errstate, so no RuntimeWarning escapes (warnings are errors here)."""
    import warnings

    f = Unicycle(count=1)
    game = Game(lambda x, u: np.where(np.abs(x) > 1e3, np.inf, f(x, u)),
                [control_effort([0, 1]) + tracking([0, 1], [5.0, 5.0])], dims=(2,), state_dims=(4,))
    X0 = np.stack([np.full(4, 2e3), np.zeros(4)])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        res = gamesolve.ilqgames(game, X0, horizon=10)
        assert list(res.status) == ["diverged", "converged"]
        good = gamesolve.ilqgames(game, X0[1], horizon=10)
        br, value = gamesolve.nonlinear.nash.best_response(game, good, 0, x0=np.full(4, 2e3))
    # from a start where every strategy diverges, the reply is the profile's own (and so is its value)
    own = gamesolve.nonlinear.nash.policy_value(game, good, x0=np.full(4, 2e3))[0]
    np.testing.assert_array_equal(br.K, good.K)
    assert value == own or (np.isnan(value) and np.isnan(own))
