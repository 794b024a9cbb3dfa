"""The equilibrium protocol for nonlinear games (gamesolve.nonlinear.nash): policy value, local best response
by iLQR, Nash gap -- against the LQ family's exact best responses and on platooning."""

import numpy as np
import pytest

import gamesolve
from gamesolve import equilibrium
from gamesolve import examples as ex
from gamesolve.errors import InputError
from gamesolve.nonlinear import nash
from gamesolve.nonlinear.game import as_game

T = 15


def _lq_exact_gaps(e, K, x0):
    """Exact player gaps of the feedback profile u = -K x in the LQ example: J^i by simulation; player i's best
    response is the LQR of A_t - B^j K^j_t (its own cost x'Q^i x + u^i'R^ii u^i: R^i has no cross blocks)."""
    A, B = e.A, np.hstack(e.B)
    x, J = x0, np.zeros(2)
    for t in range(T):
        u = -K[t] @ x
        J += [x @ e.Q[i] @ x + e.R[i][0, 0] * u[i] ** 2 for i in range(2)]
        x = A @ x + B @ u
    J += [x @ e.Q[i] @ x for i in range(2)]
    gaps = []
    for i in range(2):
        j = 1 - i
        Af = A[None] - B[:, j][None, :, None] * K[:, j][:, None, :]  # (T, n, n)
        br = gamesolve.solve_lq_game(Af, B[:, i:i + 1][None].repeat(T, 0), e.Q[i][None], [e.R[i]], dims=(1,))
        gaps.append(J[i] - br.costs(x0)[0])
    return J, np.array(gaps)


def test_lq_example_gap_is_the_exact_gap():
    e = ex.lq_example()
    g = as_game(e)
    res = gamesolve.ilqgames(e, e.x0, horizon=T)
    sol = gamesolve.solve_lq_game(e.A, e.B, e.Q, e.R, horizon=T, dims=e.dims)
    assert abs(res.nash_gap()) < 1e-10 and abs(sol.nash_gap(e.x0)) < 1e-10
    rng = np.random.default_rng(5)
    for _ in range(3):
        Kp = sol.K + 0.2 * rng.normal(size=sol.K.shape)
        prof = nash.FeedbackProfile(res.xs, res.us, Kp, np.zeros((T, 2)))
        J, want = _lq_exact_gaps(e, Kp, e.x0)
        np.testing.assert_allclose(equilibrium.policy_value(g, prof, x0=e.x0), J, rtol=1e-12)
        gaps = equilibrium.player_gaps(g, prof, x0=e.x0)
        assert (want > 1e-4).all()
        np.testing.assert_allclose(gaps, want, rtol=1e-9, atol=1e-12)
        strategy, value = nash.best_response(g, prof, 0, x0=e.x0)
        assert strategy.status == "converged" and value == pytest.approx(J[0] - want[0], rel=1e-10)
        np.testing.assert_array_equal(strategy.K[:, 1], Kp[:, 1])  # the other player's gains are kept


def test_platooning_gap_small_at_the_solution_larger_when_perturbed():
    g = ex.platooning()
    res = gamesolve.ilqgames(g, g.x0, horizon=20)
    assert res.converged
    np.testing.assert_allclose(equilibrium.policy_value(g, res, x0=g.x0), res.costs, rtol=1e-12)
    gap = res.nash_gap()
    assert abs(gap) < 1e-8
    for scale in (1.2, 0.7):
        Kp = res.K * scale  # every player's gains; the feedforward keeps the nominal trajectory from x0
        kp = -(res.us + np.einsum("tmn,tn->tm", Kp, res.xs[:-1]))
        prof = nash.FeedbackProfile(res.xs, res.us, Kp, kp)
        np.testing.assert_allclose(equilibrium.policy_value(g, prof, x0=g.x0), res.costs, rtol=1e-10)
        gaps = equilibrium.player_gaps(g, prof, x0=g.x0)
        assert gaps.min() > -1e-10 and gaps.max() > 1e3 * max(gap, 1e-12) and gaps.max() > 1e-4
    # a batch: one gap per member, each equal to its single solve's
    X0 = g.sample_x0(2, seed=2)
    batch = gamesolve.ilqgames(g, X0, horizon=20)
    gaps = batch.nash_gap()
    assert gaps.shape == (2,) and (np.abs(gaps) < 1e-8).all()


def test_bad_profiles():
    g = ex.platooning()
    res = gamesolve.ilqgames(g, g.x0, horizon=5, max_iter=2)
    with pytest.raises(InputError, match="horizon is 6 but the profile has T = 5 stages"):
        nash.policy_value(g, res, x0=g.x0, horizon=6)
    with pytest.raises(InputError, match=r"the profile's K must have shape"):
        nash.policy_value(g, nash.FeedbackProfile(res.xs, res.us, res.K[:, :4], res.k), x0=g.x0)
    with pytest.raises(InputError, match=r"x0 must have shape \(12,\) or \(1, 12\)"):
        nash.policy_value(g, res, x0=np.zeros(3))
    with pytest.raises(InputError, match=r"player must be an integer in \[0, 3\)"):
        nash.best_response(g, res, 3, x0=g.x0)
