"""gamesolve.markov.sampled: seeded REINFORCE / Monte-Carlo estimates agree with the exact ones
within their sampling error; the sample-based learners record exact histories."""

import numpy as np
import pytest

from gamesolve import InputError
from gamesolve import markov as mk
from gamesolve.markov import exact, learners, sampled

from test_markov import random_game


def test_estimates_match_exact():
    rng = np.random.default_rng(4)
    game = random_game(rng, gamma=0.7)
    theta = rng.standard_normal((1, 2, game.n_states, 3))
    pol = learners.softmax(theta, game.joint.mask)
    pol[:, 0, :, 2] = 0.0
    pol[:, 0] /= pol[:, 0].sum(-1, keepdims=True)
    ev = exact.evaluate(game, pol)
    grad, adv, value = sampled.estimate(game, pol, np.random.default_rng(0), episodes=20000)
    scale = np.abs(game.r).max() / (1 - game.gamma)
    np.testing.assert_allclose(value, ev.value, atol=0.02 * scale)
    exact_adv = np.where(game.joint.mask[None, :, None, :], ev.advantage, 0.0)
    np.testing.assert_allclose(adv, exact_adv, atol=0.03 * scale)
    np.testing.assert_allclose(grad, ev.d[:, None, :, None] * pol * exact_adv, atol=0.05 * scale)
    again = sampled.estimate(game, pol, np.random.default_rng(0), episodes=20000)
    np.testing.assert_array_equal(again[0], grad)  # seeded


@pytest.mark.parametrize("method", ["pg", "npg", "npg-br"])
def test_sampled_learners(method):
    game = mk.coordination_game(2)
    res = mk.learn(game, method, iterations=15, step=0.1, n_inits=2, seed=3, estimator="sample", episodes=16,
                   inner_steps=2)
    np.testing.assert_allclose(res.nash_gap[:, -1], mk.nash_gap(game, res.policies), atol=1e-10)
    assert res.poa[:, -1].mean() > res.poa[:, 0].mean()
    with pytest.raises(InputError, match="estimator must be"):
        mk.learn(game, method, iterations=1, step=0.1, estimator="mc")
