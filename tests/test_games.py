"""Game definition, built-in models and their derivatives (gamesolve.games / dynamics / costs)."""

import numpy as np
import pytest

from gamesolve.nonlinear.costs import (Cost, OneSided, Proximity, Quadratic, Ring, control_effort, relative_position,
                             tracking)
from gamesolve.nonlinear.dynamics import Bicycle, DoubleIntegrator, Product, Unicycle, product
from gamesolve.errors import InputError
from gamesolve.nonlinear.approximation import _psd_project, fd_hessian, fd_jacobian
from gamesolve.nonlinear.game import Game

RNG = np.random.default_rng(20241122)
MODELS = [Unicycle(dt=0.1, accel_gain=2.0, count=3), DoubleIntegrator(gain=5.0, count=2),
          DoubleIntegrator(dim=3), Bicycle(wheelbase=2.5, count=2),
          product(Unicycle(), DoubleIntegrator(), Bicycle())]


def _rand_xu(f, lead=(4, 3)):
    x = RNG.normal(size=lead + (f.n,))
    u = 0.3 * RNG.normal(size=lead + (f.m,))
    return x, u


@pytest.mark.parametrize("f", MODELS, ids=lambda f: type(f).__name__)
def test_dynamics_jacobians_match_central_differences(f):
    x, u = _rand_xu(f)
    A, B = f.jacobians(x, u)
    J = fd_jacobian(lambda z: f(z[..., :f.n], z[..., f.n:]), np.concatenate([x, u], -1))
    assert A.shape == x.shape[:-1] + (f.n, f.n) and B.shape == x.shape[:-1] + (f.n, f.m)
    np.testing.assert_allclose(A, J[..., :f.n], atol=1e-8)
    np.testing.assert_allclose(B, J[..., f.n:], atol=1e-8)


@pytest.mark.parametrize("f", MODELS, ids=lambda f: type(f).__name__)
def test_dynamics_second_order_matches_differences_of_jacobians(f):
    x, u = _rand_xu(f, (5,))
    lam = RNG.normal(size=(5, f.n))

    def grad(z):  # d/dz of lam' f(z)
        A, B = f.jacobians(z[..., :f.n], z[..., f.n:])
        l = lam[:, None, :]
        return np.concatenate([np.einsum("...kn,...k->...n", A, l), np.einsum("...km,...k->...m", B, l)], -1)

    J = fd_jacobian(grad, np.concatenate([x, u], -1))
    out = f.second_order(x, u, lam)
    Hxx, Hux = (np.zeros((5, f.n, f.n)), None) if out is None else out
    np.testing.assert_allclose(Hxx, J[..., :f.n, :f.n], atol=1e-7)
    if Hux is not None:
        np.testing.assert_allclose(Hux, J[..., f.n:, :f.n], atol=1e-7)
    else:
        np.testing.assert_allclose(J[..., f.n:, :f.n], 0.0, atol=1e-7)


@pytest.mark.parametrize("f", MODELS, ids=lambda f: type(f).__name__)
def test_dynamics_second_order_accumulates_in_place(f):
    """``second_order(..., out=Q, scale=s)`` adds ``s`` times the curvature to Q (iLQGames' Newton term)."""
    x, u = _rand_xu(f, (5,))
    lam = RNG.normal(size=(5, f.n))
    out = f.second_order(x, u, lam)
    if not getattr(f, "second_order_out", False):
        return
    Q = RNG.normal(size=(5, f.n, f.n))
    buf = Q.copy()
    res = f.second_order(x, u, lam, out=buf, scale=0.5)
    if out is None:
        assert res is None
        np.testing.assert_array_equal(buf, Q)
        return
    assert res[0] is buf
    np.testing.assert_allclose(buf, Q + 0.5 * out[0], rtol=1e-15, atol=1e-15)
    if out[1] is not None:
        np.testing.assert_array_equal(res[1], out[1])


class _PlainCurved:
    """A user-defined model with ``second_order`` but no ``out``/``base`` support (a Bicycle underneath)."""

    def __init__(self):
        self._f = Bicycle(wheelbase=2.0)
        self.n, self.m, self.dims, self.state_dims = 4, 2, (2,), (4,)

    def __call__(self, x, u):
        return self._f(x, u)

    def jacobians(self, x, u):
        return self._f.jacobians(x, u)

    def second_order(self, x, u, lam):
        return self._f.second_order(x, u, lam)


@pytest.mark.parametrize("f", MODELS + [Product((Unicycle(count=2), _PlainCurved()))],
                         ids=lambda f: type(f).__name__)
def test_dynamics_second_order_base_sets_instead_of_adding(f):
    """``second_order(..., out=buf, scale=s, base=Q)`` on a buffer holding Q sets the curvature entries to
    ``Q + s * curvature``: repeated calls (iLQGames' kept Newton-term buffer) do not accumulate."""
    if not getattr(f, "second_order_out", False):
        return
    x, u = _rand_xu(f, (5,))
    base = RNG.normal(size=(1, f.n, f.n))
    buf = np.empty((5, f.n, f.n))
    buf[...] = base
    for _ in range(2):  # a first call with another costate, then the one checked
        lam = RNG.normal(size=(5, f.n))
        res = f.second_order(x, u, lam, out=buf, scale=0.5, base=base)
    ref = base + 0.5 * f.second_order(x, u, lam)[0]
    assert res[0] is buf
    np.testing.assert_allclose(buf, ref, rtol=1e-15, atol=1e-15)
    added = np.broadcast_to(base, buf.shape).copy()
    f.second_order(x, u, lam, out=added, scale=0.5)
    np.testing.assert_array_equal(buf, added)  # the same floating-point operations as the adding mode


def test_unicycle_and_double_integrator_formulas():
    f = Unicycle(dt=0.1, accel_gain=2.0)
    x, u = np.array([1.0, 2.0, 0.5, 0.3]), np.array([0.2, -0.4])
    want = [1 + 0.1 * 0.5 * np.cos(0.3), 2 + 0.1 * 0.5 * np.sin(0.3), 0.5 + 2 * 0.1 * 0.2, 0.3 - 0.1 * 0.4]
    np.testing.assert_allclose(f(x, u), want, rtol=1e-15)
    d = DoubleIntegrator(dt=0.1, gain=5.0)
    np.testing.assert_allclose(d([1.0, 2.0, 3.0, 4.0], [0.5, -1.0]), [1.3, 2.4, 3.25, 3.5], rtol=1e-15)
    b = Bicycle(dt=0.1, wheelbase=2.0)
    np.testing.assert_allclose(b([0.0, 0.0, 0.0, 2.0], [1.0, 0.2]), [0.2, 0.0, 0.1 * 2 * np.tan(0.2) / 2, 2.1])


def test_product_merges_identical_models_and_keeps_others():
    f = product(Unicycle(accel_gain=2.0), Unicycle(accel_gain=2.0), Unicycle(accel_gain=2.0))
    assert f == Unicycle(accel_gain=2.0, count=3)
    g = product(Unicycle(), DoubleIntegrator(), DoubleIntegrator())
    assert isinstance(g, Product) and len(g.parts) == 2 and g.parts[1].count == 2
    x, u = _rand_xu(g, (2,))
    np.testing.assert_allclose(g(x, u)[:, 4:], DoubleIntegrator(count=2)(x[:, 4:], u[:, 2:]))
    with pytest.raises(InputError, match="at least one model"):
        product()


def _cost_game(costs, f=DoubleIntegrator(count=3)):
    return Game(f, costs, dims=f.dims, state_dims=f.state_dims)


def _all_terms_game():
    ref = RNG.normal(size=(7, 2))
    c0 = (Ring([0, 1], 1.5) + tracking([2, 3]) + control_effort([0, 1]) + OneSided([1], weight=100.0)
          + tracking([4, 5], ref, 2.0, t_start=2))
    c1 = (relative_position([4, 5], [0, 1], scale=0.75) + control_effort([2, 3], [1.0, 2.0])
          + Proximity([4, 5], [[0, 1], [8, 9]], 3.0, 5.0) + OneSided([6], 1.0, 0.2, 3.0, power=2))
    c2 = (Quadratic([8, 9, 10], L=RNG.normal(size=(2, 3)), W=[[2.0, 0.3], [0.3, 1.0]], target=[0.1, 0.2])
          + OneSided([4, 5], [1.0, -1.0], 0.1, 2.0, power=2, on="u") + control_effort([4, 5]))
    return _cost_game([c0, c1, c2])


def test_cost_derivatives_match_central_differences():
    g = _all_terms_game()
    fd = _cost_game([lambda x, u, t, c=c: c.value(x, u, t) for c in g.costs])
    x = 2.0 * RNG.normal(size=(3, 6, g.n))
    u = RNG.normal(size=(3, 6, g.m))
    t = np.arange(6)
    gx, gu, Hxx, Huu = g.quadraticize(x, u, t)
    fx, fu, Fxx, Fuu = fd.quadraticize(x, u, t)
    np.testing.assert_allclose(g.stage_costs(x, u, t), fd.stage_costs(x, u, t), rtol=1e-13)
    scale = np.abs(Fxx).max()
    np.testing.assert_allclose(gx, fx, atol=1e-7 * np.abs(fx).max())
    np.testing.assert_allclose(gu, fu, atol=1e-7 * np.abs(fu).max())
    np.testing.assert_allclose(Hxx, Fxx, atol=1e-6 * scale)
    np.testing.assert_allclose(Huu, Fuu, atol=1e-6 * np.abs(Fuu).max())


def test_hinge_uses_paper_subgradient():
    g = _cost_game([OneSided([1], weight=100.0) + control_effort([0, 1]),
                    control_effort([2, 3]), control_effort([4, 5])])
    x = np.zeros((3, g.n))
    x[:, 1] = [-1e-3, 0.0, 1e-3]
    gx, _, Hxx, _ = g.quadraticize(x, np.zeros((3, g.m)))
    np.testing.assert_array_equal(gx[:, 0, 1], [0.0, 0.0, 100.0])
    assert np.all(Hxx == 0.0)


def test_convex_projections_are_psd_and_exact_for_ring():
    g = _all_terms_game()
    x = RNG.normal(size=(50, g.n))  # many points inside the ring / inside d_min
    u = RNG.normal(size=(50, g.m))
    _, _, Hc, Uc = g.quadraticize(x, u, 0, convex=True)
    assert np.linalg.eigvalsh(Hc).min() > -1e-9 * np.abs(Hc).max()
    assert np.linalg.eigvalsh(Uc).min() > -1e-12
    ring = _cost_game([Ring([0, 1], 1.5), control_effort([2, 3]), control_effort([4, 5])])
    _, _, H, _ = ring.quadraticize(x, u, 0, convex=False)
    _, _, Hp, _ = ring.quadraticize(x, u, 0, convex=True)
    np.testing.assert_allclose(Hp[:, 0, :2, :2], _psd_project(H[:, 0, :2, :2]), atol=1e-10)


def test_lq_approximation_is_one_vectorized_call_equal_to_per_member_calls():
    g = _all_terms_game()
    T = 6
    xs = RNG.normal(size=(4, T + 1, g.n))
    us = RNG.normal(size=(4, T, g.m))
    full = g.lq_approximation(xs, us, reg=0.1)
    for b in range(4):
        one = g.lq_approximation(xs[b], us[b], reg=0.1)
        for name, a, o in zip(full._fields, full, one):
            if a is not None:
                np.testing.assert_allclose(np.broadcast_to(a, full[0].shape[:1] + np.shape(o))[b], o,
                                           rtol=1e-13, atol=1e-13, err_msg=name)


def test_lq_approximation_is_a_second_order_model_of_each_player_cost():
    """J^i along (xs + dx, us + du) - J^i(xs, us) = stage sums of the quadratic model + O(|d|^3)."""
    g = _all_terms_game()
    T = 5
    xs, us = RNG.normal(size=(T + 1, g.n)), RNG.normal(size=(T, g.m))
    dx, du = RNG.normal(size=(T + 1, g.n)), RNG.normal(size=(T, g.m))
    lq = g.lq_approximation(xs, us, convex=False)
    errs = []
    for eps in (1e-2, 5e-3):
        ex, eu = eps * dx, eps * du
        model = (np.einsum("tn,tinm,tm->i", ex[:T], lq.Q, ex[:T]) + 2 * np.einsum("tin,tn->i", lq.q, ex[:T])
                 + np.einsum("tn,tinm,tm->i", eu, lq.R, eu) + 2 * np.einsum("tin,tn->i", lq.r, eu)
                 + np.einsum("n,inm,m->i", ex[T], lq.QT, ex[T]) + 2 * lq.qT @ ex[T])
        errs.append(np.abs(g.total_costs(xs + ex, us + eu) - g.total_costs(xs, us) - model).max())
    assert errs[1] < errs[0] / 5  # third order (ratio 8; the hinge's kink is not crossed at these sizes)


def test_fd_accuracy_as_documented():
    fun = lambda z: np.stack([np.sin(z[..., 0]) * z[..., 1] ** 2, np.exp(0.3 * z[..., 1])], -1)  # noqa: E731
    z = np.array([[0.3, -1.2], [2.0, 0.5]])
    J = fd_jacobian(fun, z)
    Jx = np.array([[[np.cos(a) * b ** 2, 2 * np.sin(a) * b], [0.0, 0.3 * np.exp(0.3 * b)]] for a, b in z])
    np.testing.assert_allclose(J, Jx, atol=1e-9)
    g, H = fd_hessian(lambda y: np.sin(y[..., 0]) * y[..., 1] ** 2, z)
    Hx = np.array([[[-np.sin(a) * b ** 2, 2 * np.cos(a) * b], [2 * np.cos(a) * b, 2 * np.sin(a)]] for a, b in z])
    np.testing.assert_allclose(H, Hx, atol=1e-6)
    np.testing.assert_allclose(g, Jx[:, 0], atol=1e-9)


def test_callable_dynamics_fall_back_to_differences():
    f = Unicycle(count=2)
    g = Game(lambda x, u: f(x, u), [control_effort([0, 1]), control_effort([2, 3])], dims=(2, 2),
             state_dims=(4, 4))
    x, u = _rand_xu(f)
    A, B = g.linearize(x, u)
    A0, B0 = f.jacobians(x, u)
    np.testing.assert_allclose(A, A0, atol=1e-8)
    np.testing.assert_allclose(B, B0, atol=1e-8)


def test_time_varying_target_and_activation_window():
    ref = np.arange(10.0)[:, None] * [1.0, 0.0]
    c = tracking([0, 1], ref, 2.0, t_start=3, t_stop=6)
    x = np.zeros((10, 2))
    v = c.value(x, None, np.arange(10))
    want = np.where((np.arange(10) >= 3) & (np.arange(10) < 6), 2.0 * np.arange(10.0) ** 2, 0.0)
    np.testing.assert_allclose(v, want)
    np.testing.assert_allclose(c.value(np.zeros(2), None, 40), 0.0)  # beyond t_stop
    c2 = tracking([0, 1], ref)
    np.testing.assert_allclose(c2.value(np.zeros(2), None, 40), 81.0)  # held at the last row


def test_cost_composition():
    a, b = control_effort([0]), Ring([0, 1], 1.0)
    c = a + b
    assert isinstance(c, Cost) and c.terms == (a, b)
    assert (c + a).terms == (a, b, a)
    x, u = np.array([2.0, 0.0]), np.array([3.0])
    assert float(c.value(x, u)) == 9.0 + 9.0


def test_sample_x0_in_box():
    from gamesolve.examples import platooning
    g = platooning()
    X = g.sample_x0(500, seed=1)
    assert X.shape == (500, 12)
    assert np.all(X >= g.x0_low) and np.all(X <= g.x0_high)
    np.testing.assert_array_equal(X, g.sample_x0(500, seed=1))


# ----------------------------------------------------------------- bad input
def test_bad_game_inputs():
    f = DoubleIntegrator(count=2)
    c = [control_effort([0, 1]), control_effort([2, 3])]
    with pytest.raises(InputError, match="costs must hold one cost per player"):
        Game(f, c[:1], dims=(2, 2), state_dims=(4, 4))
    with pytest.raises(InputError, match="state_dims must hold 2"):
        Game(f, c, dims=(2, 2), state_dims=(8,))
    with pytest.raises(InputError, match="dims must be positive"):
        Game(f, c, dims=(2, 0), state_dims=(4, 4))
    with pytest.raises(InputError, match="dynamics.n is 8 but"):
        Game(f, c, dims=(2, 2), state_dims=(4, 5))
    with pytest.raises(InputError, match="dynamics must be callable"):
        Game(3, c, dims=(2, 2), state_dims=(4, 4))
    with pytest.raises(InputError, match=r"costs\[1\] must be a Cost or a callable"):
        Game(f, [c[0], 5], dims=(2, 2), state_dims=(4, 4))
    with pytest.raises(InputError, match=r"x0 must have shape \(8,\)"):
        Game(f, c, dims=(2, 2), state_dims=(4, 4), x0=np.zeros(7))
    with pytest.raises(InputError, match="no initial-state box"):
        Game(f, c, dims=(2, 2), state_dims=(4, 4)).sample_x0(3)
    with pytest.raises(InputError, match="xs must have T\\+1 = 4 time points"):
        Game(f, c, dims=(2, 2), state_dims=(4, 4)).lq_approximation(np.zeros((3, 8)), np.zeros((3, 4)))


def test_bad_term_inputs():
    with pytest.raises(InputError, match="idx must be a non-empty"):
        tracking([])
    with pytest.raises(InputError, match="L must have 2 columns"):
        Quadratic([0, 1], L=np.eye(3))
    with pytest.raises(InputError, match="W must be a scalar"):
        Quadratic([0, 1], W=np.ones((3, 3)))
    with pytest.raises(InputError, match="target must have shape"):
        tracking([0, 1], np.ones(3))
    with pytest.raises(InputError, match="on must be 'x' or 'u'"):
        Quadratic([0], on="z")
    with pytest.raises(InputError, match="power must be 1 or 2"):
        OneSided([0], power=3)
    with pytest.raises(InputError, match="every entry of others must have 2"):
        Proximity([0, 1], [[2]], 1.0)
    with pytest.raises(InputError, match="idx and other must have the same length"):
        relative_position([0, 1], [2])
    with pytest.raises(InputError, match="Unicycle expects x"):
        Unicycle()(np.zeros(3), np.zeros(2))


def test_replaced_games_never_share_cost_tables():
    """``dataclasses.replace(game, costs=...)`` builds a game with its own compiled cost tables: replace-and-solve
    rounds give the costs of freshly built games (a cache keyed by ``id(costs)`` and shared between copies
    handed out another game's tables once an id was reused), and memory does not grow with the rounds."""
    import dataclasses
    import gc
    import tracemalloc

    import gamesolve

    f = DoubleIntegrator(count=1)
    base = Game(f, [control_effort([0, 1])], dims=(2,), state_dims=(4,))
    targets = [np.array([1.0, 0.0]), np.array([0.0, 3.0])]
    fresh = [gamesolve.ilqgames(Game(f, [tracking([0, 1], b) + control_effort([0, 1])], dims=(2,), state_dims=(4,)),
                                np.zeros(4), horizon=5).costs for b in targets]
    assert abs(fresh[0][0] - fresh[1][0]) > 1.0
    def rounds(k):
        for r in range(k):
            g = dataclasses.replace(base, costs=[tracking([0, 1], targets[r % 2]) + control_effort([0, 1])])
            np.testing.assert_allclose(gamesolve.ilqgames(g, np.zeros(4), horizon=5).costs, fresh[r % 2],
                                       rtol=1e-12)

    rounds(300)
    tracemalloc.start()
    try:
        rounds(10)
        gc.collect()
        start = tracemalloc.get_traced_memory()[0]
        rounds(40)
        gc.collect()
        growth = tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
    assert growth < 20_000


def test_cost_tables_hold_every_stage():
    """The compiled tables stop at the last stage where a quadratic term changes; later stages read that row."""
    ref = RNG.normal(size=(7, 2))
    g = Game(DoubleIntegrator(), [tracking([0, 1], ref) + control_effort([0, 1], 2.0, ) + tracking([2], [1.0], 3.0, t_start=9)],
             dims=(2,), state_dims=(4,))
    x, u = RNG.normal(size=(30, 4)), RNG.normal(size=(30, 2))
    t = np.arange(30)
    want = (((x[:, :2] - ref[np.minimum(t, 6)]) ** 2).sum(-1) + 2.0 * (u ** 2).sum(-1)
            + 3.0 * (t >= 9) * (x[:, 2] - 1.0) ** 2)
    assert g._tables.last == 9
    np.testing.assert_allclose(g.stage_costs(x, u, t)[:, 0], want, rtol=1e-13)
