"""The papers' games, as [theory §10] defines them.

All games use dt = 0.1 and per-player state blocks concatenated in player order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["LQExample", "lq_example", "platooning", "basketball", "formation", "navigation", "formation_reference"]


@dataclass(frozen=True)
class LQExample:
    """A time-invariant LQ game with a distribution of initial states.

    Attributes
    ----------
    A : (n, n) array
    B : list of N (n, m_i) arrays
    Q : (N, n, n) array
    R : list of N (m_i, m_i) arrays (own-control weights)
    dims : tuple of int
    x0s : (K, n) array, the support of the initial-state distribution
    probs : (K,) array, its probabilities
    """

    A: np.ndarray
    B: list
    Q: np.ndarray
    R: list
    dims: tuple
    x0s: np.ndarray
    probs: np.ndarray

    @property
    def x0(self) -> np.ndarray:
        """The first support point of the initial-state distribution."""
        return self.x0s[0]

    @property
    def Sigma0(self) -> np.ndarray:
        """E[x0 x0'] under the initial-state distribution, (n, n)."""
        return np.einsum("k,ki,kj->ij", self.probs, self.x0s, self.x0s)


def lq_example() -> LQExample:
    """[MA-GPS] appendix A: a two-player, two-state general-sum LQ game ([theory §10]).

    A = [[0.588, 0.028], [0.570, 0.056]], B^1 = [1, 0.1]', B^2 = [0, 1]',
    Q^1 = diag(0.01, 1), Q^2 = diag(1, 0.0147), R^1 = R^2 = 0.01,
    x0 = [1, 1] or [1, 1.1] with probability 1/2 each.
    """
    return LQExample(
        A=np.array([[0.588, 0.028], [0.570, 0.056]]),
        B=[np.array([[1.0], [0.1]]), np.array([[0.0], [1.0]])],
        Q=np.array([np.diag([0.01, 1.0]), np.diag([1.0, 0.0147])]),
        R=[np.array([[0.01]]), np.array([[0.01]])],
        dims=(1, 1),
        x0s=np.array([[1.0, 1.0], [1.0, 1.1]]),
        probs=np.array([0.5, 0.5]),
    )


# --------------------------------------------------------------------------- #
# Nonlinear games ([theory §10]): gamesolve.nonlinear.Game instances for gamesolve.ilqgames
# --------------------------------------------------------------------------- #

DT = 0.1


def _player_blocks(k_state: int, k_control: int, N: int):
    """Index lists of each player's state and control block (player order)."""
    xs = [list(range(k_state * i, k_state * (i + 1))) for i in range(N)]
    us = [list(range(k_control * i, k_control * (i + 1))) for i in range(N)]
    return xs, us


def platooning():
    """Three-vehicle platooning, [MA-GPS] appendix B, exactly as [theory §10] fixes it.

    Unicycles (``Unicycle(dt=0.1, accel_gain=2)``), player i's state
    ``(px, py, v, theta)`` at indices ``4i..4i+3``, control ``(a, omega)``. Costs
    (target lane px* = 0.5)::

        c^1 = 5 ((px^2 - 0.5)^2 + (px^3 - 0.5)^2) + (v^1 - 1)^2 + (theta^1 - pi/2)^2 + |u^1|^2
        c^i = 5 (px^i - px^1)^2 + (v^i - 1)^2 + (theta^i - pi/2)^2 + |u^i|^2,   i = 2, 3

    ``x0`` is the evaluation start ``[-1, 4, 1, pi/2, -1, 2, 1, pi/2, 2, 0.4, 1, pi/2]``;
    :meth:`~gamesolve.nonlinear.Game.sample_x0` draws i.i.d. per vehicle
    px in [-1, 3], py in [0, 20], v in [0.1, 1.9], theta in [pi/4, 3pi/4].
    ``control_bounds = (-1, 1)`` is the RL environment's action box (not
    enforced by iLQGames). Default horizon 20 ([MA-GPS] Remark 2).

    Examples
    --------
    >>> g = platooning()
    >>> g.N, g.n, g.m, g.dims
    (3, 12, 6, (2, 2, 2))
    """
    from .nonlinear.costs import control_effort, relative_position, tracking
    from .nonlinear.dynamics import Unicycle
    from .nonlinear.game import Game

    X, U = _player_blocks(4, 2, 3)
    px, v, th = (lambda i: X[i][0]), (lambda i: X[i][2]), (lambda i: X[i][3])
    own = [tracking([v(i)], [1.0]) + tracking([th(i)], [np.pi / 2]) + control_effort(U[i]) for i in range(3)]
    costs = [own[0] + tracking([px(1)], [0.5], 5.0) + tracking([px(2)], [0.5], 5.0)]
    costs += [own[i] + relative_position([px(i)], [px(0)], 5.0) for i in (1, 2)]
    lo = np.tile([-1.0, 0.0, 0.1, np.pi / 4], 3)
    hi = np.tile([3.0, 20.0, 1.9, 3 * np.pi / 4], 3)
    x0 = np.array([-1, 4, 1, np.pi / 2, -1, 2, 1, np.pi / 2, 2, 0.4, 1, np.pi / 2])
    return Game(Unicycle(dt=DT, accel_gain=2.0, count=3), costs, dims=(2, 2, 2), state_dims=(4, 4, 4),
                name="platooning", x0=x0, x0_low=lo, x0_high=hi, control_bounds=(-1.0, 1.0), horizon=20)


def basketball():
    """Six-player basketball formation, [MA-GPS] appendix C, exactly as [theory §10] fixes it.

    Double integrators (``DoubleIntegrator(dt=0.1, gain=5)``), player i's state
    ``(px, py, vx, vy)`` at ``4i..4i+3``, control ``(ux, uy)``. Players 1..6 =
    offense center, defense center, offense guard, defense guard, offense
    forward, defense forward. Costs::

        offense center (r = 1.5), guard (r = 4):
            c = (|p|^2 - r^2)^2 + |v|^2 + |u|^2 + 100 max(py, 0)
        defenders i = 2, 4, 6:  c^i = |p^i - 0.75 p^{i-1}|^2 + |u^i|^2
        offense forward:        c^5 = |p^5 - p^4|^2 + |u^5|^2   (screens the guard's defender)

    The hinge uses the subgradient ``100 * 1[py > 0]`` and zero Hessian
    ([MA-GPS]'s code); the ring's Hessian is PSD-projected in closed form when
    iLQGames regularizes. Initial states i.i.d. px in [-5, 5], py in [-12, 4],
    v in [-0.5, 0.5]; ``x0`` is the fixed draw ``sample_x0(1, seed=4)[0]``, a
    start from which neither ring player has to cross the baseline. Starts that
    make a player cross ``py = 0`` put a stage of the equilibrium on the hinge's
    kink: the subgradient then flips between iterations and iLQGames reports
    ``max_iterations`` rather than a false convergence ([MA-GPS] accepted a
    trajectory change of 0.1 as converged). Default horizon 100 ([MA-GPS] Remark 2).
    """
    from .nonlinear.costs import OneSided, Ring, control_effort, relative_position, tracking
    from .nonlinear.dynamics import DoubleIntegrator
    from .nonlinear.game import Game

    X, U = _player_blocks(4, 2, 6)
    pos, vel = (lambda i: X[i][:2]), (lambda i: X[i][2:])
    costs = []
    for i in range(6):
        if i in (0, 2):
            r = 1.5 if i == 0 else 4.0
            c = Ring(pos(i), r) + tracking(vel(i)) + control_effort(U[i]) + OneSided([X[i][1]], weight=100.0)
        elif i in (1, 3, 5):
            c = relative_position(pos(i), pos(i - 1), scale=0.75) + control_effort(U[i])
        else:
            c = relative_position(pos(4), pos(3)) + control_effort(U[i])
        costs.append(c)
    lo = np.tile([-5.0, -12.0, -0.5, -0.5], 6)
    hi = np.tile([5.0, 4.0, 0.5, 0.5], 6)
    x0 = np.random.default_rng(4).uniform(lo, hi, size=(1, 24))[0]
    return Game(DoubleIntegrator(dt=DT, gain=5.0, count=6), costs, dims=(2,) * 6, state_dims=(4,) * 6,
                name="basketball", x0=x0, x0_low=lo, x0_high=hi, control_bounds=(-1.0, 1.0), horizon=100)


#: Formation constants ([Sparse-DP] section 5.2 lost them; [theory §10] leaves them to us).
FORMATION = dict(width=2.0, height=2.0, speed=1.0, amplitude=2.0, omega=0.5, w_track=10.0, w_form=5.0,
                 w_control=1.0, horizon=100)


def formation_reference(T: int):
    """Player 1's sinusoidal reference ``p_ref(t) = (speed t dt, amplitude sin(omega t dt))`` and
    the heading ``phi(t)`` of its velocity, for ``t = 0..T``; shapes (T+1, 2) and (T+1,)."""
    c = FORMATION
    tau = DT * np.arange(T + 1)
    ref = np.stack([c["speed"] * tau, c["amplitude"] * np.sin(c["omega"] * tau)], axis=-1)
    phi = np.arctan2(c["amplitude"] * c["omega"] * np.cos(c["omega"] * tau), np.full_like(tau, c["speed"]))
    return ref, phi


def formation():
    """Three-robot formation game ([Sparse-DP] section 5.2, appendix A.5.2): an LQ game with time-varying targets.

    Planar double integrators (``DoubleIntegrator(dt=0.1, gain=1)``), state
    ``(px, py, vx, vy)``, control acceleration. Player 1 tracks a sinusoid, its
    cost independent of the others; players 2 and 3 keep an isosceles-triangle
    formation relative to the other two::

        c^1 = 10 |p^1 - p_ref(t)|^2 + |u^1|^2
        c^i = 5 sum_{j != i} |p^i - p^j - d_ij(t)|^2 + |u^i|^2,   i = 2, 3

    with ``p_ref(t) = (t dt, 2 sin(0.5 t dt))`` and the triangle (height 2,
    width 2) following the reference heading ``phi(t)``: in the frame
    ``e = (cos phi, sin phi)``, ``n = (-sin phi, cos phi)``, player 2 sits at
    ``p^1 - 2 e + n`` and player 3 at ``p^1 - 2 e - n``, so ``d_21 = -2e + n``,
    ``d_31 = -2e - n``, ``d_23 = 2n = -d_32``. The paper states the shape of
    these costs but not their constants; these reproduce its Fig. 4(a): the
    three players converge from their starts to a triangle that follows the
    sinusoid. Default horizon 100, ``x0`` players at (0, 0), (-3, 3), (-3, -3)
    at rest; the box for :meth:`~gamesolve.nonlinear.Game.sample_x0` is the
    paper's 20 m x 20 m square of positions centred at the origin, zero velocity.
    """
    from .nonlinear.costs import control_effort, relative_position, tracking
    from .nonlinear.dynamics import DoubleIntegrator
    from .nonlinear.game import Game

    c = FORMATION
    T_ref = 400
    ref, phi = formation_reference(T_ref)
    e = np.stack([np.cos(phi), np.sin(phi)], -1)
    nrm = np.stack([-np.sin(phi), np.cos(phi)], -1)
    off = {1: -c["height"] * e + 0.5 * c["width"] * nrm, 2: -c["height"] * e - 0.5 * c["width"] * nrm}
    off[0] = np.zeros_like(e)
    X, U = _player_blocks(4, 2, 3)
    pos = lambda i: X[i][:2]  # noqa: E731
    costs = [tracking(pos(0), ref, c["w_track"]) + control_effort(U[0], c["w_control"])]
    for i in (1, 2):
        ci = control_effort(U[i], c["w_control"])
        for j in (0, 1, 2):
            if j != i:
                ci = ci + relative_position(pos(i), pos(j), c["w_form"], offset=off[i] - off[j])
        costs.append(ci)
    x0 = np.array([0.0, 0.0, 0.0, 0.0, -3.0, 3.0, 0.0, 0.0, -3.0, -3.0, 0.0, 0.0])
    lo = np.tile([-10.0, -10.0, 0.0, 0.0], 3)
    hi = np.tile([10.0, 10.0, 0.0, 0.0], 3)
    return Game(DoubleIntegrator(dt=DT, gain=1.0, count=3), costs, dims=(2, 2, 2), state_dims=(4, 4, 4),
                name="formation", x0=x0, x0_low=lo, x0_high=hi, horizon=c["horizon"])


#: Navigation constants ([Sparse-DP] appendix A.5.1 lost them; [theory §10] leaves them to us).
NAVIGATION = dict(v0=1.0, goal_twist=1.0, w_goal=2.0, v_max=2.0, w_vel=10.0, d_min=1.0, w_prox=200.0, w_accel=1.0, w_turn=1.0)


def _navigation_layout(N: int):
    """Start-circle radius, horizon and goal-activation stage for N players (more room for more players)."""
    radius = 2.0 + N / 2.0
    horizon = 40 + 5 * N
    return radius, horizon, horizon - 20


def navigation(n_players: int = 4):
    """Multi-agent navigation game ([Sparse-DP] section 5.1, appendix A.5.1), 4 or 8 players (or any N >= 2).

    Unicycles (``Unicycle(dt=0.1, accel_gain=1)``), state ``(px, py, v, theta)``,
    control (longitudinal acceleration, turn rate). Players start on a circle of
    radius ``2 + N/2`` at angles ``2 pi i / N + 0.4 i / N`` (the small offsets
    break the symmetry), facing the centre at speed 1; player i's goal ``g^i`` is
    its start rotated by ``pi - 1`` about the centre, so every path crosses
    several others near the centre. Horizon ``40 + 5 N`` stages, goal cost
    active for the last 20 (``t_goal = horizon - 20``). Player i's running cost
    is the sum of [Sparse-DP]'s four terms (its constants were lost; these are ours)::

        (i)   goal reaching   2 * 1[t >= t_goal] |p^i - g^i|^2
        (ii)  velocity        10 * (max(v - 2, 0)^2 + max(-v, 0)^2)
        (iii) proximity       200 * sum_{j != i} max(1 - |p^i - p^j|, 0)^2
        (iv)  control         |a|^2 + |omega|^2

    These reproduce the described behaviour: every player drives to its goal
    (within about 0.5 m at the end) and pairwise distances stay at or above
    about d_min = 1 (collision-free), the order in which players pass each other
    being the solver's choice among the game's several local Nash equilibria.
    The constants are in :data:`NAVIGATION`; ``game.info["goals"]`` holds the goals.
    """
    from .nonlinear.costs import OneSided, Proximity, control_effort, tracking
    from .nonlinear.dynamics import Unicycle
    from .errors import InputError
    from .nonlinear.game import Game

    N = int(n_players)
    if N < 2 or N != n_players:
        raise InputError(f"n_players must be an integer >= 2, got {n_players!r}")
    c = NAVIGATION
    radius, horizon, t_goal = _navigation_layout(N)
    X, U = _player_blocks(4, 2, N)
    ang = 2 * np.pi * np.arange(N) / N + (0.4 / N) * np.arange(N)
    start = radius * np.stack([np.cos(ang), np.sin(ang)], -1)
    gang = ang + np.pi - c["goal_twist"]
    goal = radius * np.stack([np.cos(gang), np.sin(gang)], -1)
    costs = []
    for i in range(N):
        pos, vi = X[i][:2], X[i][2]
        ci = (tracking(pos, goal[i], c["w_goal"], t_start=t_goal)
              + OneSided([vi], 1.0, c["v_max"], c["w_vel"], power=2)
              + OneSided([vi], -1.0, 0.0, c["w_vel"], power=2)
              + Proximity(pos, [X[j][:2] for j in range(N) if j != i], c["d_min"], c["w_prox"])
              + control_effort([U[i][0]], c["w_accel"]) + control_effort([U[i][1]], c["w_turn"]))
        costs.append(ci)
    x0 = np.concatenate([[start[i, 0], start[i, 1], c["v0"], ang[i] + np.pi] for i in range(N)])
    return Game(Unicycle(dt=DT, accel_gain=1.0, count=N), costs, dims=(2,) * N, state_dims=(4,) * N,
                name=f"navigation{N}", x0=x0, horizon=horizon, info={"goals": goal})
