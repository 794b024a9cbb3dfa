"""gamesolve.markov.neural (needs torch; skipped without it): the autograd gradient of the exact
values equals the tabular policy gradient d_mu pi A, and the learner's history is exact."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from gamesolve import markov as mk  # noqa: E402
from gamesolve.markov import exact, learners, neural  # noqa: E402

from test_markov import random_game  # noqa: E402


def team(game):
    """The same game with every player's reward replaced by player 1's."""
    return mk.MarkovGame(game.P, np.broadcast_to(game.r[:1], game.r.shape), gamma=game.gamma, mu=game.mu)


@pytest.mark.parametrize("shared", [False, True])
def test_autograd_gradient_is_lemma_3_1(shared):
    rng = np.random.default_rng(8)
    game = random_game(rng, actions=(2, 3))
    game = team(game) if shared else game
    assert game.joint.team == shared
    theta = rng.standard_normal((1, 2, game.n_states, 3))
    theta[:, 0, :, 2] = 0.0
    pol = learners.softmax(theta, game.joint.mask)
    ev = exact.evaluate(game, pol)
    expected = ev.d[:, None, :, None] * pol * ev.advantage
    logits = torch.tensor(theta, requires_grad=True)
    mask = torch.as_tensor(game.joint.mask)
    p = torch.softmax(logits.masked_fill(~mask[:, None, :], float("-inf")), -1)
    objective, v = neural._own_values(torch, game, p)
    np.testing.assert_allclose(v.detach().numpy(), ev.value, rtol=1e-12)
    (g,) = torch.autograd.grad(objective.sum(), logits)
    np.testing.assert_allclose(g.numpy()[:, 0, :, :2], expected[:, 0, :, :2], atol=1e-10)
    np.testing.assert_allclose(g.numpy()[:, 1], expected[:, 1], atol=1e-10)


@pytest.mark.parametrize("optimizer, lam", [("sgd", 0.0), ("adam", 0.1)])
def test_neural_history_exact(optimizer, lam):
    game = mk.coordination_game(2)
    res = neural.learn_neural(game, iterations=40, step=0.05, n_inits=3, seed=1, optimizer=optimizer, lam=lam)
    assert res.nash_gap.shape == res.poa.shape == (3, 41)
    np.testing.assert_allclose(res.nash_gap[:, -1], mk.nash_gap(game, res.policies), atol=1e-10)
    np.testing.assert_allclose(res.poa[:, -1], mk.price_of_anarchy(game, res.policies), rtol=1e-12)
    assert res.poa[:, -1].mean() > res.poa[:, 0].mean()
