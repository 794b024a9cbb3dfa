"""The equilibrium protocol (gamesolve.equilibrium) and the result vocabulary (gamesolve.results)."""

import numpy as np
import pytest

from gamesolve import Info, Status, equilibrium


class _Bimatrix:
    """A two-player normal-form game with payoff tables U[i] (rewards, rows: player 0's action)."""

    def __init__(self, U):
        self.U = np.asarray(U, float)


def _value(game, profile):
    x, y = profile  # mixed strategies
    return np.array([x @ game.U[i] @ y for i in range(2)])


def _best_response(game, profile, player):
    x, y = profile
    payoff = game.U[player] @ y if player == 0 else x @ game.U[player]
    a = int(np.argmax(payoff))
    return np.eye(len(payoff))[a], float(payoff[a])


equilibrium.register(_Bimatrix, equilibrium.Family("bimatrix", _value, _best_response, maximize=True))

# A game with a unique pure Nash equilibrium (A1, B1) whose welfare optimum (A2, B1) is not Nash.
TOY = _Bimatrix([[[1, 1], [0.5, 0]], [[1, 0.5], [1.75, 2]]])


def test_gaps_by_hand():
    e = np.eye(2)
    assert equilibrium.nash_gap(TOY, (e[0], e[0])) == 0.0             # the Nash equilibrium
    np.testing.assert_allclose(equilibrium.player_gaps(TOY, (e[1], e[0])), [0.5, 0.25])  # A2,B1: 1 - 0.5, 2 - 1.75
    np.testing.assert_allclose(equilibrium.player_gaps(TOY, (e[0], e[1])), [0.0, 0.5])  # A1,B2: column gains 1-0.5
    mixed = (np.array([0.5, 0.5]), np.array([0.5, 0.5]))
    v = _value(TOY, mixed)
    br_row = max(TOY.U[0] @ mixed[1])
    br_col = max(mixed[0] @ TOY.U[1])
    assert equilibrium.nash_gap(TOY, mixed) == pytest.approx(max(br_row - v[0], br_col - v[1]))


def test_unknown_game_type():
    with pytest.raises(TypeError, match="no equilibrium protocol for games of type dict"):
        equilibrium.nash_gap({}, None)


def test_status_vocabulary():
    assert Status.CONVERGED == "converged" and Status("max_iterations") is Status.MAX_ITERATIONS
    assert Status.CONVERGED.ok and Status.SOLVED.ok
    assert not any(s.ok for s in (Status.MAX_ITERATIONS, Status.STALLED, Status.DIVERGED,
                                  Status.LINE_SEARCH_FAILED, Status.NOT_CONVEX))
    info = Info(iterations=3, residual=1e-12, residuals=np.array([1.0, 1e-6, 1e-12]), time=2e-3)
    assert repr(info) == "Info(iterations=3, residual=1e-12, time=2 ms)"
