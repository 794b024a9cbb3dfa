"""The LQ game: one validated, immutable description of a linear-quadratic game.

Notation (``docs/theory.md``, section 1): N players; joint state x (n); player
i's control u^i (m_i), joint control u (m = sum m_i, ``dims = (m_1, ..., m_N)``).
Dynamics and player i's stage cost (no 1/2)::

    x_{t+1} = A_t x_t + B_t u_t + c_t,
    x'Q^i x + 2 q^i'x + u'R^i u + 2 r^i'u + 2 u'M^i x,

terminal cost ``x_T'Q_T^i x_T + 2 q_T^i'x_T`` (finite horizon T). Without a
horizon and with time-invariant data the same object is the infinite-horizon
game (``lq_nash``).

:func:`lq_game` (one game) and :func:`lq_games` (a batch of equal-size games)
are the only constructors; every public LQ entry point builds or receives an
:class:`LQGame` first and never re-checks it. The checks -- shapes, finiteness,
symmetry to a relative tolerance, positive definiteness of every own block
R^{ii} (a Cholesky factorization succeeds) -- run once, in C++.

Canonical form of the arrays (``Tt`` in {1, T}: 1 means time-invariant and
broadcasts; with ``batch`` set, every array has one more leading axis ``Bb`` in
{1, batch}, 1 meaning shared by every game)::

    A  ([Bb,] Tt, n, n)        B  ([Bb,] Tt, n, m)
    Q  ([Bb,] Tt, N, n, n)     q  ([Bb,] Tt, N, n)     or None
    R  ([Bb,] Tt, N, m, m)     r  ([Bb,] Tt, N, m)     or None   (R always joint)
    M  ([Bb,] Tt, N, m, n)     or None                  c  ([Bb,] Tt, n) or None
    QT ([Bb,] N, n, n)         qT ([Bb,] N, n)          or None

Every array is C-contiguous float64 and read-only. ``QT`` is ``Q``'s last
stage unless given (None only for a game without horizon), ``qT`` is ``q``'s
last stage unless given. Stable attributes: ``dims, state_dims, N, n, m, T,
batch, offsets, A, B, Q, q, R, r, M, c, QT, qT``, :meth:`LQGame.full`,
:meth:`LQGame.player`, :meth:`LQGame.with_horizon`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .. import _core
from .._validate import INT_OPTION_MAX, SYM_RTOL
from ..equilibrium import Family, register
from ..errors import InputError

__all__ = ["LQGame", "lq_game", "lq_games"]

_ARRAYS = ("A", "B", "Q", "q", "R", "r", "M", "c", "QT", "qT")
_TERMINAL = ("QT", "qT")


@dataclass(frozen=True, eq=False, repr=False)
class PlayerView:
    """Player i's data of an :class:`LQGame` (views, no copies; shapes without the batch axis shown).

    Attributes
    ----------
    i : int
    rows : slice
        Player i's rows of the joint control (``u[rows] = u^i``, ``K[rows] = K^i``).
    B : ([Bb,] Tt, n, m_i)   Player i's input matrix B^i.
    Q : ([Bb,] Tt, n, n)     Q^i.
    R : ([Bb,] Tt, m, m)     R^i (on the joint control).
    R_own : ([Bb,] Tt, m_i, m_i)   The own block R^{ii}.
    q, r, M, QT, qT : arrays or None   q^i (n), r^i (m), M^i (m, n), Q_T^i, q_T^i.
    """

    i: int
    rows: slice
    B: np.ndarray
    Q: np.ndarray
    R: np.ndarray
    R_own: np.ndarray
    q: np.ndarray | None
    r: np.ndarray | None
    M: np.ndarray | None
    QT: np.ndarray | None
    qT: np.ndarray | None


@dataclass(frozen=True, eq=False)
class LQGame:
    """A validated LQ game (or a batch of equal-size games) in canonical form.

    Build it with :func:`lq_game` / :func:`lq_games`, not directly: the
    constructor of the dataclass does not check anything. The module
    docstring gives the canonical shape of every array.

    Attributes
    ----------
    dims : tuple of int
        Control sizes (m_1, ..., m_N).
    n : int
        State size.
    T : int or None
        Horizon; None for the infinite-horizon game (time-invariant data).
    batch : int or None
        Number of games; None for a single game (arrays without batch axis).
    A, B, Q, q, R, r, M, c, QT, qT : ndarray or None
        The data (module docstring); optional terms None when absent (zero).
    state_dims : tuple of int or None
        Per-player partition of the state (sums to n), when the game has one.
    """

    dims: tuple
    n: int
    T: int | None
    batch: int | None
    A: np.ndarray
    B: np.ndarray
    Q: np.ndarray
    q: np.ndarray | None
    R: np.ndarray
    r: np.ndarray | None
    M: np.ndarray | None
    c: np.ndarray | None
    QT: np.ndarray | None
    qT: np.ndarray | None
    state_dims: tuple | None = None

    @classmethod
    def _from_core(cls, fields: dict) -> LQGame:
        """The game of ``_core.read_lq_game``'s output, a dict of every field.

        Takes the dict as the instance dict instead of the frozen dataclass's
        one ``object.__setattr__`` per field: about 1.5 us of a 25 us solve
        (bench/bench_lq.py, lq_N3_n12_m2_T20). For checked data only.
        """
        obj = object.__new__(cls)
        obj.__dict__.update(fields)
        return obj

    def __repr__(self) -> str:
        lead = f"batch={self.batch}, " if self.batch is not None else ""
        tv = [k for k in ("A", "B", "Q", "R", "q", "r", "M", "c")
              if getattr(self, k) is not None and getattr(self, k).shape[self._t_axis] != 1]
        terms = [k for k in ("q", "r", "M", "c") if getattr(self, k) is not None]
        return (f"LQGame({lead}N={self.N}, n={self.n}, dims={self.dims}, T={self.T}, "
                f"time-varying={tv or 'none'}, terms={terms or 'none'})")

    # ------------------------------------------------------------------ sizes

    @property
    def N(self) -> int:
        """Number of players."""
        return len(self.dims)

    @property
    def m(self) -> int:
        """Joint control size sum(dims)."""
        return sum(self.dims)

    @cached_property
    def offsets(self) -> tuple:
        """Player row offsets (0, m_1, m_1 + m_2, ..., m): player i's rows are offsets[i]:offsets[i+1]."""
        off = [0]
        for d in self.dims:
            off.append(off[-1] + d)
        return tuple(off)

    @property
    def slices(self) -> list:
        """Player i's rows of the joint control as a slice, for every i."""
        o = self.offsets
        return [slice(o[i], o[i + 1]) for i in range(self.N)]

    @property
    def infinite(self) -> bool:
        """True for the infinite-horizon game (no horizon)."""
        return self.T is None

    @property
    def _t_axis(self) -> int:
        return 0 if self.batch is None else 1

    @property
    def time_varying(self) -> bool:
        """True if some stage array has a time axis of length T > 1."""
        return any(getattr(self, k) is not None and getattr(self, k).shape[self._t_axis] != 1
                   for k in ("A", "B", "Q", "q", "R", "r", "M", "c"))

    # ------------------------------------------------------------------ views

    def full(self, name: str) -> np.ndarray | None:
        """The array ``name`` broadcast to ([batch,] T, *block) (QT, qT: ([batch,] *block)); a view.

        Without a horizon, T counts as 1. None for an absent optional term.
        """
        a = getattr(self, name)
        if a is None:
            return None
        lead = () if self.batch is None else (self.batch,)
        if name not in _TERMINAL:
            lead = lead + (self.T or 1,)
        return np.broadcast_to(a, lead + a.shape[len(lead):])

    def player(self, i: int) -> PlayerView:
        """Player i's blocks (views): B^i, Q^i, R^i, R^{ii}, q^i, r^i, M^i, Q_T^i, q_T^i."""
        if not 0 <= i < self.N:
            raise InputError(f"player must be in [0, {self.N}), got {i}")
        rows = self.slices[i]

        def pl(a, axis_from_end):
            return None if a is None else np.take(a, i, axis=a.ndim - axis_from_end)

        return PlayerView(i=i, rows=rows, B=self.B[..., rows], Q=pl(self.Q, 3), R=pl(self.R, 3),
                          R_own=pl(self.R, 3)[..., rows, rows], q=pl(self.q, 2), r=pl(self.r, 2),
                          M=pl(self.M, 3), QT=pl(self.QT, 3), qT=pl(self.qT, 2))

    def with_horizon(self, horizon: int) -> LQGame:
        """The finite-horizon game over ``horizon`` stages with this game's (time-invariant) data.

        QT and qT default to Q and q as in :func:`lq_game`.
        """
        if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or not 1 <= horizon <= INT_OPTION_MAX:
            raise InputError(f"horizon must be a positive integer, got {horizon!r} (at most {INT_OPTION_MAX})")
        horizon = int(horizon)
        if self.T is not None and self.time_varying and horizon != self.T:
            raise InputError(f"the game has {self.T} time steps, cannot set horizon {horizon}")
        QT = self.QT if self.QT is not None else _last_stage(self.Q, self._t_axis)
        qT = self.qT if self.qT is not None or self.q is None else _last_stage(self.q, self._t_axis)
        return dataclasses.replace(self, T=horizon, QT=QT, qT=qT)

    def core_args(self) -> tuple:
        """Arguments of the private kernels ``_core.solve_lq_games`` / ``evaluate_strategies``.

        (dims, n, T, batch, A, B, Q, q, R, r, M, c, QT, qT), each array with
        both leading axes (Bb, Tt); requires a horizon.
        """
        if self.T is None:
            raise InputError("horizon is required when every array is time-invariant")
        lead = (lambda a: a[None]) if self.batch is None else (lambda a: a)
        arrs = {}
        for k in _ARRAYS:
            a = getattr(self, k)
            if a is not None:
                a = lead(a)
                if k in _TERMINAL:
                    a = a[:, None]
            arrs[k] = a
        return (list(self.dims), self.n, self.T, self.batch or 1, arrs["A"], arrs["B"], arrs["Q"], arrs["q"],
                arrs["R"], arrs["r"], arrs["M"], arrs["c"], arrs["QT"], arrs["qT"])


def _last_stage(a, t_axis):
    return np.ascontiguousarray(np.take(a, -1, axis=t_axis))


def _freeze(a):
    if a is not None:
        a.flags.writeable = False
    return a


def _build(A, B, Q, R, horizon, q, r, M, c, QT, qT, dims, state_dims, batched) -> LQGame:
    """Read and check the raw arrays (in C++, ``_core.read_lq_game``); wrap them in an LQGame."""
    if isinstance(A, LQGame):
        raise InputError("A is an LQGame: pass it alone, as the only argument")
    fields = _core.read_lq_game(A, B, Q, R, horizon, q, r, M, c, QT, qT, dims, batched, SYM_RTOL)
    if state_dims is not None:
        fields["state_dims"] = _state_dims(state_dims, len(fields["dims"]), fields["n"])
    return LQGame._from_core(fields)


def _state_dims(state_dims, N, n):
    try:
        sd = tuple(int(d) for d in np.atleast_1d(state_dims))
    except (TypeError, ValueError):
        raise InputError(f"state_dims must be a sequence of positive integers, got {state_dims!r}") from None
    if len(sd) != N or any(d < 1 for d in sd) or sum(sd) != n:
        raise InputError(f"state_dims must hold {N} positive integers (one per player) summing to n = {n}, "
                         f"got {sd}")
    return sd


def lq_game(A, B, Q, R, *, horizon=None, q=None, r=None, M=None, c=None, QT=None, qT=None, dims=None,
            state_dims=None) -> LQGame:
    """Check and wrap the data of one LQ game (validated once, in C++).

    Parameters
    ----------
    A : (n, n) or (T, n, n) array_like
        Dynamics x_{t+1} = A_t x_t + B_t u_t + c_t.
    B : list of N (n, m_i) arrays, or (n, m) / (T, n, m) array with ``dims``
        Input matrices, stacked column-wise in player order.
    Q : (N, n, n) or (T, N, n, n) array_like
        State weights, symmetric.
    R : list of N (m_i, m_i) own-control weights, list of N joint (m, m) weights,
        (N, m, m) / (T, N, m, m) joint weights, or (N, m_i, m_i) / (T, N, m_i, m_i)
        own-control weights (equal m_i, N > 1)
        R^i weighs the joint control; its own block R^{ii} must be positive
        definite (a Cholesky factorization of its symmetric part succeeds).
    horizon : int, optional
        T. Without it and without any time axis the game is the
        infinite-horizon game.
    q : (N, n) or (T, N, n), optional
        Linear state terms (cost 2 q^i'x).
    r : (N, m) or (T, N, m), optional
        Linear control terms (cost 2 r^i'u).
    M : (N, m, n) or (T, N, m, n), optional
        State-control cross terms (cost 2 u'M^i x).
    c : (n,) or (T, n), optional
        Affine dynamics term.
    QT : (N, n, n), optional
        Terminal weights; default Q (its last stage if time-varying).
    qT : (N, n), optional
        Terminal linear terms; default q (its last stage).
    dims : sequence of int, optional
        (m_1, ..., m_N); required when B is stacked.
    state_dims : sequence of int, optional
        Per-player partition of the state (sums to n).

    Returns
    -------
    LQGame
        Arrays in the canonical form of the module docstring.

    Raises
    ------
    InputError
        Wrong shapes, complex or non-finite entries, asymmetric Q / QT / R
        (relative tolerance 1e-10), an R^{ii} that is not positive definite,
        inconsistent dims or horizons. The message names the argument.

    Examples
    --------
    >>> import numpy as np, gamesolve
    >>> g = gamesolve.lq_game(np.eye(2), [np.ones((2, 1)), np.eye(2)[:, :1]], np.stack([np.eye(2)] * 2),
    ...                       [np.eye(1), np.eye(1)], horizon=10)
    >>> g.N, g.n, g.m, g.T, g.offsets, g.R.shape
    (2, 2, 2, 10, (0, 1, 2), (1, 2, 2, 2))
    """
    return _build(A, B, Q, R, horizon, q, r, M, c, QT, qT, dims, state_dims, False)


def lq_games(A, B, Q, R, *, horizon=None, q=None, r=None, M=None, c=None, QT=None, qT=None, dims=None,
             state_dims=None) -> LQGame:
    """A batch of equal-size LQ games: :func:`lq_game` with one more leading batch axis on every array.

    A batch axis of size 1 is shared by every game; QT and qT, when given,
    must have the batch axis. Own-control weights R may be a list of N
    (batch, [T,] m_i, m_i) arrays. ``game.batch`` is the number of games.
    """
    return _build(A, B, Q, R, horizon, q, r, M, c, QT, qT, dims, state_dims, True)


# --------------------------------------------------------------------------- #
# The equilibrium protocol: one registration for LQGame, by horizon
# --------------------------------------------------------------------------- #

#: The protocol implementation of each kind of LQ game ("finite": a horizon T;
#: "infinite": none), set by gamesolve.lq.finite and gamesolve.lq.infinite.
_HORIZON_FAMILIES: dict = {}


def register_horizon_family(kind: str, family: Family) -> None:
    """Set the protocol implementation of finite- (``kind="finite"``) or infinite-horizon LQ games.

    :mod:`gamesolve.equilibrium` dispatches on the game's type; both kinds are
    an :class:`LQGame`, so the one registered family dispatches on ``game.T``.
    """
    if kind not in ("finite", "infinite"):
        raise ValueError(f"kind must be 'finite' or 'infinite', got {kind!r}")
    _HORIZON_FAMILIES[kind] = family


def _family(game: LQGame) -> Family:
    kind = "infinite" if game.T is None else "finite"
    fam = _HORIZON_FAMILIES.get(kind)
    if fam is None:
        raise TypeError(f"no equilibrium protocol for {kind}-horizon LQ games")
    return fam


register(LQGame, Family(
    "LQ game",
    policy_value=lambda game, profile, **ctx: _family(game).policy_value(game, profile, **ctx),
    best_response=lambda game, profile, player, **ctx: _family(game).best_response(game, profile, player, **ctx)))
