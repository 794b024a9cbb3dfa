"""Nonlinear dynamic games: the data -- dynamics, per-player costs, sizes ([theory §6]).

A :class:`Game` holds dynamics ``x_{t+1} = f(x_t, u_t)`` and one stage cost
``c^i(x, u, t)`` per player (joint control ``u = [u^1; ...; u^N]``, sizes
``dims``; the joint state is the concatenation of per-player blocks of sizes
``state_dims``). Player i's total cost over horizon T is
``sum_{t<T} c^i(x_t, u_t, t) + c^i(x_T, 0, T)`` (or ``terminal_costs[i]``).

Everything is vectorized over leading axes: ``x (..., n)``, ``u (..., m)``;
the stage index ``t`` is an int or an int array broadcastable against
``x.shape[:-1]`` (a 1-D ``t`` lines up with the time axis -2 of a trajectory
``xs (..., T+1, n)``). The local LQ approximation (linearization,
quadraticization) is :mod:`gamesolve.nonlinear.approximation`; the game's
methods of the same names call it.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

import numpy as np

from .._validate import as_float_array
from ..errors import InputError
from . import approximation
from .approximation import LQApproximation, compile_tables
from .costs import Cost, as_cost

__all__ = ["Game"]


def _with_time(fun):
    """Accept ``c(x, u)`` or ``c(x, u, t)``; return a 3-argument callable."""
    try:
        nargs = len(inspect.signature(fun).parameters)
    except (TypeError, ValueError):
        nargs = 3
    return fun if nargs >= 3 else (lambda x, u, t: fun(x, u))


@dataclass(frozen=True, eq=False)
class Game:
    """A nonlinear N-player dynamic game ([theory §6]).

    Parameters
    ----------
    dynamics : callable
        ``f(x (..., n), u (..., m)) -> (..., n)``. If it has a
        ``jacobians(x, u) -> (A, B)`` method (all of :mod:`gamesolve.dynamics`
        do) it is used; otherwise central differences.
    costs : sequence of N
        Player i's stage cost: a :class:`gamesolve.costs.Cost` (analytic
        derivatives) or a callable ``c(x, u[, t]) -> (...)`` (central differences).
    dims : sequence of int
        Control sizes ``(m_1, ..., m_N)``.
    state_dims : sequence of int, optional
        Per-player state block sizes ``(n_1, ..., n_N)`` (sum n). None: the state
        is not split by player (e.g. an LQ game); then ``dynamics.n`` gives n.
    terminal_costs : sequence of N, optional
        Terminal costs ``c_T^i(x[, u, t])`` evaluated at ``(x_T, 0, T)``;
        default: the stage costs there ([theory §6]).
    name : str
    x0 : (n,) array, optional
        A default initial state (the examples' evaluation start).
    x0_low, x0_high : (n,) arrays, optional
        Box of initial states for :meth:`sample_x0`.
    control_bounds : (low, high), optional
        Informational (the RL environments' action box); iLQGames does not
        enforce it.
    horizon : int, optional
        The horizon the game is usually solved over (informational).
    info : dict, optional
        Free-form metadata (e.g. the navigation goals).

    Examples
    --------
    >>> import numpy as np
    >>> from gamesolve.dynamics import DoubleIntegrator
    >>> from gamesolve.costs import tracking, control_effort
    >>> g = Game(DoubleIntegrator(count=2), [tracking([0, 1]) + control_effort([0, 1]),
    ...          tracking([4, 5], [1.0, 1.0]) + control_effort([2, 3])], dims=(2, 2), state_dims=(4, 4))
    >>> xs, us = np.zeros((11, 8)), np.zeros((10, 4))
    >>> lq = g.lq_approximation(xs, us)
    >>> lq.Q.shape, float(lq.q[0, 1, 4])
    ((10, 2, 8, 8), -1.0)
    """

    dynamics: object
    costs: tuple
    dims: tuple
    state_dims: tuple
    terminal_costs: tuple | None = None
    name: str = ""
    x0: np.ndarray | None = None
    x0_low: np.ndarray | None = None
    x0_high: np.ndarray | None = None
    control_bounds: tuple | None = None
    horizon: int | None = None
    info: dict = field(default_factory=dict)
    # the costs' quadratic terms compiled per stage (computed on construction, never shared between games)
    _tables: object = field(init=False, repr=False)
    _terminal_tables: object = field(init=False, repr=False)

    def __post_init__(self):
        if not callable(self.dynamics):
            raise InputError(f"dynamics must be callable f(x, u), got {type(self.dynamics).__name__}")
        dims = tuple(int(d) for d in np.atleast_1d(self.dims))
        if not dims or any(d < 1 for d in dims):
            raise InputError(f"dims must be positive integers, got {self.dims!r}")
        object.__setattr__(self, "dims", dims)
        if self.state_dims is None and not isinstance(getattr(self.dynamics, "n", None), int):
            raise InputError("state_dims must be given when the dynamics have no integer attribute n")
        if self.state_dims is not None:
            sdims = tuple(int(d) for d in np.atleast_1d(self.state_dims))
            if len(sdims) != len(dims) or any(d < 1 for d in sdims):
                raise InputError(f"state_dims must hold {len(dims)} positive integers (one per player), "
                                 f"got {self.state_dims!r}")
            object.__setattr__(self, "state_dims", sdims)
        costs = tuple(as_cost(c) for c in self.costs)
        if len(costs) != len(dims):
            raise InputError(f"costs must hold one cost per player ({len(dims)}), got {len(costs)}")
        for i, c in enumerate(costs):
            if not isinstance(c, Cost) and not callable(c):
                raise InputError(f"costs[{i}] must be a Cost or a callable c(x, u, t), got {type(c).__name__}")
        object.__setattr__(self, "costs", tuple(c if isinstance(c, Cost) else _with_time(c) for c in costs))
        if self.terminal_costs is not None:
            tc = tuple(as_cost(c) for c in self.terminal_costs)
            if len(tc) != len(dims):
                raise InputError(f"terminal_costs must hold {len(dims)} costs, got {len(tc)}")
            object.__setattr__(self, "terminal_costs",
                               tuple(c if isinstance(c, Cost) else _with_time(c) for c in tc))
        if not isinstance(self.info, dict):
            raise InputError(f"info must be a dict, got {type(self.info).__name__}")
        object.__setattr__(self, "info", dict(self.info))  # its own copy: never shared with a replace()d game
        object.__setattr__(self, "_tables", compile_tables(self.costs, self.n, self.m))
        object.__setattr__(self, "_terminal_tables", None if self.terminal_costs is None
                           else compile_tables(self.terminal_costs, self.n, self.m))
        for name in ("n", "m"):
            want = getattr(self, name)
            have = getattr(self.dynamics, name, want)
            if have != want:
                raise InputError(f"dynamics.{name} is {have} but the game's sizes give {name} = {want}")
        for name in ("x0", "x0_low", "x0_high"):
            v = getattr(self, name)
            if v is not None:
                v = as_float_array(name, v, ndim=1)
                if v.shape != (self.n,):
                    raise InputError(f"{name} must have shape ({self.n},), got {v.shape}")
                object.__setattr__(self, name, v)

    # ----------------------------------------------------------------- sizes
    @property
    def N(self) -> int:
        return len(self.dims)

    @property
    def n(self) -> int:
        return sum(self.state_dims) if self.state_dims is not None else int(self.dynamics.n)

    @property
    def m(self) -> int:
        return sum(self.dims)

    def state_slice(self, i: int) -> slice:
        """Player i's block of the joint state."""
        if self.state_dims is None:
            raise InputError(f"game {self.name!r} has no per-player state blocks (state_dims)")
        off = int(np.sum(self.state_dims[:i]))
        return slice(off, off + self.state_dims[i])

    def control_slice(self, i: int) -> slice:
        """Player i's block of the joint control."""
        off = int(np.sum(self.dims[:i]))
        return slice(off, off + self.dims[i])

    def sample_x0(self, size: int, seed=None) -> np.ndarray:
        """``size`` initial states i.i.d. uniform on ``[x0_low, x0_high]``, shape ``(size, n)``."""
        if self.x0_low is None or self.x0_high is None:
            raise InputError(f"game {self.name!r} has no initial-state box (x0_low, x0_high)")
        rng = np.random.default_rng(seed)
        return rng.uniform(self.x0_low, self.x0_high, size=(int(size), self.n))

    # -------------------------------------------------------------- dynamics
    def step(self, x, u):
        """``f(x, u)`` on arrays with leading axes."""
        return self.dynamics(x, u)

    def rollout_open_loop(self, x0, us):
        """States ``(..., T+1, n)`` from ``x0 (..., n)`` under controls ``us (..., T, m)``."""
        x0, us = np.asarray(x0, dtype=float), np.asarray(us, dtype=float)
        T = us.shape[-2]
        xs = np.empty(np.broadcast_shapes(x0.shape[:-1], us.shape[:-2]) + (T + 1, self.n))
        xs[..., 0, :] = x0
        for t in range(T):
            xs[..., t + 1, :] = self.dynamics(xs[..., t, :], us[..., t, :])
        return xs

    # ----------------------------------------------------------------- costs
    def stage_costs(self, x, u, t=0):
        """All players' stage costs ``c^i(x, u, t)``, shape ``(..., N)``."""
        x, u = np.asarray(x, dtype=float), np.asarray(u, dtype=float)
        t = np.asarray(t, dtype=int)
        tab = self._tables
        row = tab.stage(t)
        out = tab.value_x(x, row) + tab.value_u(u, row)
        if all(isinstance(c, Cost) and not c.other_terms for c in self.costs):
            return out
        extra = [self._other_value(c, x, u, t) for c in self.costs]
        return out + np.stack(np.broadcast_arrays(*extra), axis=-1)

    @staticmethod
    def _other_value(c, x, u, t):
        if isinstance(c, Cost):
            v = 0.0
            for s in c.other_terms:
                v = v + s.value(x, u, t)
            return np.asarray(v, dtype=float)
        return np.asarray(c(x, u, t), dtype=float)

    def total_costs(self, xs, us):
        """Players' total costs ``(..., N)`` of a trajectory ``xs (..., T+1, n)``, ``us (..., T, m)``."""
        xs, us = np.asarray(xs, dtype=float), np.asarray(us, dtype=float)
        T = us.shape[-2]
        if self.terminal_costs is None:
            upad = np.concatenate([us, np.zeros(us.shape[:-2] + (1, self.m))], axis=-2)
            return self.stage_costs(xs, upad, np.arange(T + 1)).sum(axis=-2)
        run = self.stage_costs(xs[..., :T, :], us, np.arange(T)).sum(axis=-2)
        xT = xs[..., T, :]
        term = np.stack(np.broadcast_arrays(*[np.asarray(c.value(xT, np.zeros(self.m), T) if isinstance(c, Cost)
                                                         else c(xT, np.zeros(self.m), T), dtype=float)
                                              for c in self.terminal_costs]), axis=-1)
        return run + term

    # ------------------------------------------------------- approximation
    def linearize(self, x, u):
        """``A = df/dx``, ``B = df/du``: :func:`gamesolve.nonlinear.approximation.linearize`."""
        return approximation.linearize(self, x, u)

    def quadraticize(self, x, u, t=0, *, scale=1.0, convex=False):
        """All players' cost gradients and Hessians: :func:`gamesolve.nonlinear.approximation.quadraticize`."""
        return approximation.quadraticize(self, x, u, t, scale=scale, convex=convex)

    def lq_approximation(self, xs, us, *, convex=True, reg=0.0) -> LQApproximation:
        """The local LQ game along ``(xs, us)``: :func:`gamesolve.nonlinear.approximation.lq_approximation`."""
        return approximation.lq_approximation(self, xs, us, convex=convex, reg=reg)


def _lq_array(game, name, ndim):
    """``game.name`` as a time-invariant array of ``ndim`` dimensions (a leading time axis of size 1 dropped)."""
    a = getattr(game, name, None)
    if a is None:
        return None
    a = np.asarray(np.hstack(a) if name == "B" and isinstance(a, (list, tuple)) else a, dtype=float)
    while a.ndim > ndim and a.shape[0] == 1:
        a = a[0]
    if a.ndim != ndim:
        raise InputError(f"iLQGames takes time-invariant, single LQ games: {name} must have {ndim} dimensions "
                         f"(or a time axis of size 1), got shape {a.shape}")
    return a


def lq_as_game(lq) -> Game:
    """An LQ game (``A, B, Q, R, dims``: :class:`gamesolve.examples.LQExample`, an ``LQGame``) as a :class:`Game`.

    Dynamics ``x+ = A x + B u`` (:class:`~gamesolve.nonlinear.dynamics.Linear`, exact Jacobians), player i's
    stage cost ``x'Q^i x + u'R^i u`` ([theory §1]: ``R^i`` joint ``(m, m)``, or own-control blocks ``R^{ii}``) as
    :class:`~gamesolve.nonlinear.costs.Quadratic` terms, terminal cost ``x'Q_T^i x`` (``Q_T = Q`` unless the
    game gives another). Linear terms q, r, cross terms M and an affine dynamics term c are not converted
    (InputError if present and non-zero).
    """
    from .costs import Quadratic
    from .dynamics import Linear

    dims = tuple(int(d) for d in lq.dims)
    for name in ("q", "r", "M", "c", "qT"):
        v = getattr(lq, name, None)
        if v is not None and np.any(np.asarray(v) != 0):
            raise InputError(f"iLQGames does not convert an LQ game's {name} term yet (got a non-zero {name})")
    A, B, Q = _lq_array(lq, "A", 2), _lq_array(lq, "B", 2), _lq_array(lq, "Q", 3)
    n, N = A.shape[0], len(dims)
    offs = np.cumsum((0,) + dims)
    R = lq.R
    joint = not isinstance(R, (list, tuple)) and np.asarray(R).shape[-1] == offs[-1] and offs[-1] != dims[0]
    R = _lq_array(lq, "R", 3) if joint else [np.asarray(Ri, dtype=float).reshape(d, d) for Ri, d in zip(R, dims)]

    def xcost(W):
        return Quadratic(tuple(range(n)), W=0.5 * (W + W.T))

    def ucost(i):
        idx = tuple(range(offs[-1])) if joint else tuple(range(offs[i], offs[i + 1]))
        return Quadratic(idx, W=0.5 * (R[i] + R[i].T), on="u")

    costs = [xcost(Q[i]) + ucost(i) for i in range(N)]
    QT = _lq_array(lq, "QT", 3)
    terminal = None if QT is None or np.array_equal(QT, Q) else [xcost(QT[i]) for i in range(N)]
    return Game(Linear(A, B), costs, dims=dims, state_dims=getattr(lq, "state_dims", None), terminal_costs=terminal,
                name=type(lq).__name__, x0=getattr(lq, "x0", None))


def as_game(game) -> Game:
    """``game`` as a :class:`Game`: a Game as is, an LQ game converted by :func:`lq_as_game`.

    Raises
    ------
    InputError
        For anything else.
    """
    if isinstance(game, Game):
        return game
    if all(hasattr(game, a) for a in ("A", "B", "Q", "R", "dims")):
        return lq_as_game(game)
    raise InputError(f"game must be a gamesolve.Game or an LQ game (A, B, Q, R, dims), got {type(game).__name__}")
