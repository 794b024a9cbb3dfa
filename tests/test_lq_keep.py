"""solve_lq_games(keep=...): gains only and stage 0 only are exact parts of the full solve."""

import numpy as np
import pytest

from gamesolve import InputError, lq_game, lq_games, solve_lq_game, solve_lq_games


def batch_game(make_game, batch):
    """A batch of distinct time-varying games with every term, stacked on a leading axis."""
    games = [make_game(3, 5, (2, 1, 2), 6) for _ in range(batch)]
    stacked = {k: np.stack([g[k] for g in games]) for k in games[0] if k != "dims"}
    A, B, Q, R = (stacked.pop(k) for k in ("A", "B", "Q", "R"))
    return A, B, Q, R, dict(stacked, dims=list(games[0]["dims"]))


def _solver(form):
    """solve_lq_games on raw arrays, or on a batch built by lq_games first."""
    if form == "arrays":
        return solve_lq_games
    return lambda A, B, Q, R, keep="all", **kw: solve_lq_games(lq_games(A, B, Q, R, **kw), keep=keep)


@pytest.mark.parametrize("form", ["arrays", "game"])
@pytest.mark.parametrize("batch", [1, 3])
def test_keep_equals_slices_of_full(make_game, form, batch):
    A, B, Q, R, kw = batch_game(make_game, batch)
    run = _solver(form)
    full = run(A, B, Q, R, **kw)
    gains = run(A, B, Q, R, keep="gains", **kw)
    first = run(A, B, Q, R, keep="stage0", **kw)
    assert gains.Z is None and gains.zeta is None and gains.s is None
    np.testing.assert_array_equal(gains.K, full.K)
    np.testing.assert_array_equal(gains.k, full.k)
    assert first.K.shape == (batch, 5, 5) and first.k.shape == (batch, 5)
    np.testing.assert_array_equal(first.K, full.K[:, 0])
    np.testing.assert_array_equal(first.k, full.k[:, 0])
    np.testing.assert_array_equal(first.stage_status, full.stage_status)
    x0 = np.ones((batch, 5))
    # Rollout needs the gains only; costs and the Nash gap need Z.
    for a, b in zip(gains.rollout(x0), full.rollout(x0)):
        np.testing.assert_array_equal(a, b)
    for sol in (gains, first):
        with pytest.raises(InputError, match='keep="all"'):
            sol.costs(x0)
        with pytest.raises(InputError, match='keep="all"'):
            sol.nash_gap(x0)
    with pytest.raises(InputError, match="gains of every stage"):
        first.rollout(x0)


def test_keep_bad_value(make_game):
    A, B, Q, R, kw = batch_game(make_game, 2)
    with pytest.raises(InputError, match="keep must be"):
        solve_lq_games(A, B, Q, R, keep="Z", **kw)


def test_keep_is_for_batches_only(make_game):
    from gamesolve import _core

    g = make_game(2, 3, (1, 1), 4)
    game = lq_game(g["A"], g["B"], g["Q"], g["R"], dims=g["dims"])
    assert solve_lq_game(game).keep == "all"
    with pytest.raises(InputError, match="batched solves"):
        _core.solve_lq_game_data(game, 0, 1e-12, 1e-10, "gains")
