"""Finite-horizon feedback Nash equilibria of LQ games, solved in C++.

Notation (``docs/theory.md``, section 1): N players; joint state x (n); player i's control u^i (m_i),
joint control u (m = sum m_i, ``dims = (m_1, ..., m_N)``). Policies
``u_t = -K_t x_t - k_t``. Player i's stage cost (no 1/2)::

    x'Q^i x + 2 q^i'x + u'R^i u + 2 r^i'u + 2 u'M^i x,

dynamics ``x_{t+1} = A_t x_t + B_t u_t + c_t`` and terminal cost
``x_T'Q_T^i x_T + 2 q_T^i'x_T``. Time-varying arrays carry a leading T axis:
A (T,n,n), B (T,n,m), Q (T,N,n,n), q (T,N,n), R (T,N,m,m), r (T,N,m),
M (T,N,m,n), c (T,n); terminal QT (N,n,n), qT (N,n). Batched solves add one
more leading axis to every array.
"""

from __future__ import annotations

import os
from time import perf_counter
import warnings
from dataclasses import dataclass, field

import numpy as np

from .. import _core, equilibrium
from .._validate import SYM_RTOL, as_float_array, check_symmetric, int_option
from ..equilibrium import Family
from ..errors import InputError, NotConvexWarning, SingularStageWarning, SolveError
from ..results import Info, Status, summary
from .game import LQGame, register_horizon_family

__all__ = [
    "LQGameSolution",
    "solve_lq_game",
    "solve_lq_games",
    "evaluate_lq_strategy",
    "set_num_threads",
    "get_num_threads",
]

#: Stage systems whose reciprocal 1-norm condition number 1 / (||S||_1 ||S^-1||_1) is
#: below this are solved for the minimum-norm solution (rank-revealing factorization).
RCOND_TOL = 1e-12
#: Relative pivot threshold of that rank-revealing factorization.
RANK_TOL = 1e-10

#: Largest thread count set_num_threads / GAMESOLVE_NUM_THREADS accept.
MAX_THREADS = 4096


def _env_num_threads() -> int:
    """GAMESOLVE_NUM_THREADS (0 if unset or empty), validated: InputError naming the variable otherwise."""
    raw = os.environ.get("GAMESOLVE_NUM_THREADS", "").strip()
    if not raw:
        return 0
    try:
        n = int(raw)
    except ValueError:
        n = -1
    if not 0 <= n <= MAX_THREADS:
        raise InputError(f"the environment variable GAMESOLVE_NUM_THREADS must be an integer in [0, {MAX_THREADS}] "
                         f"(0: one thread per hardware thread), got {raw!r}")
    return n


_num_threads = _env_num_threads()


def set_num_threads(n: int) -> None:
    """Set the threads used by batched solves (0: one per hardware thread), at most ``MAX_THREADS``.

    Results are bit-identical for any thread count: each game of a batch is
    solved start to finish by one thread. The default comes from the
    environment variable ``GAMESOLVE_NUM_THREADS`` (0 if unset).

    Raises
    ------
    InputError
        ``n`` is not an integer in [0, MAX_THREADS].
    """
    global _num_threads
    _num_threads = int_option("num_threads", n, low=0, high=MAX_THREADS)


def get_num_threads() -> int:
    """Threads used by batched solves (resolving 0 to the hardware count)."""
    return _num_threads or max(int(_core.hardware_threads), 1)


_NAN = float("nan")
_NO_RESIDUALS = np.empty(0)
_NO_RESIDUALS.flags.writeable = False

# --------------------------------------------------------------------------- #
# The game of a call: an LQGame as first argument, or the raw arrays
# --------------------------------------------------------------------------- #


def _require(B, Q, R, what: str) -> None:
    if B is None or Q is None or R is None:
        missing = ", ".join(k for k, v in (("B", B), ("Q", Q), ("R", R)) if v is None)
        raise InputError(f"{what}: {missing} is required, got None")


def _as_game(A, B, Q, R, horizon, q, r, M, c, QT, qT, dims, batched: bool, what: str) -> LQGame:
    """The LQGame of a public call: ``A`` itself, or read and checked (in C++) from the arrays."""
    if not isinstance(A, LQGame):
        _require(B, Q, R, what)
        fields = _core.read_lq_game(A, B, Q, R, horizon, q, r, M, c, QT, qT, dims, batched, SYM_RTOL)
        if fields["T"] is None:
            raise InputError("horizon is required when every array is time-invariant")
        return LQGame._from_core(fields)
    given = [k for k, v in zip(("B", "Q", "R", "horizon", "q", "r", "M", "c", "QT", "qT", "dims"),
                               (B, Q, R, horizon, q, r, M, c, QT, qT, dims)) if v is not None]
    if given:
        raise InputError(f"{what}: given an LQGame, pass no other game data (got {', '.join(given)})")
    if (A.batch is not None) != batched:
        raise InputError(f"{what} takes {'a batch of games (lq_games)' if batched else 'a single game'}, "
                         f"got {'a batch of ' + str(A.batch) if A.batch is not None else 'a single game'}")
    if A.T is None:
        raise InputError("horizon is required when every array is time-invariant "
                         "(the game has no horizon: use game.with_horizon(T))")
    return A


# --------------------------------------------------------------------------- #
# Results
# --------------------------------------------------------------------------- #


@dataclass(frozen=True, repr=False)
class LQGameSolution:
    """Feedback Nash equilibrium of a finite-horizon LQ game (coupled Riccati recursion).

    Attributes
    ----------
    K : ([batch,] T, m, n) array
        Stacked feedback gains, u_t = -K_t x_t - k_t (player i's rows = K^i).
    k : ([batch,] T, m) array
        Feedforward terms.
    Z, zeta, s : ([batch,] T+1, N, n, n), ([batch,] T+1, N, n), ([batch,] T+1, N) arrays
        Value functions V_t^i(x) = x'Z_t^i x + 2 zeta_t^i'x + s_t^i (exact cost-to-go).
    stage_status : ([batch,] T) int array
        Per stage: 0 solved by LU, 1 singular / ill-conditioned stage system
        solved for the minimum-norm equilibrium (Remark 1 of Mazumdar et al.,
        "Policy-gradient algorithms have no guarantees of convergence in linear
        quadratic games"); plus 4 (a flag: 4 or 5) when some player's own
        cost-to-go is not convex in its control there (R^ii + B^i'Z^i_{t+1}B^i
        not positive definite).
    dims : tuple of int
        Control sizes (m_1, ..., m_N).
    min_rcond : float
        Smallest reciprocal 1-norm condition number 1 / (||S||_1 ||S^{-1}||_1) of
        the stage systems (from the inverse the elimination computes alongside).
    game : LQGame
        The game solved.
    status : Status
        :attr:`Status.SOLVED` (a direct method), or :attr:`Status.NOT_CONVEX`
        (with a :class:`~gamesolve.errors.NotConvexWarning`) when at some stage
        some player's own cost-to-go is not convex in its control: its best
        response is then unbounded below, the profile is no equilibrium and
        :meth:`nash_gap` is ``inf``.
    info : Info
        iterations 0, residual NaN (not computed), the wall time of the solve.
    keep : {"all", "gains", "stage0"}
        Outputs kept by :func:`solve_lq_games` (``keep=``): with "gains", Z, zeta,
        s are None; with "stage0", also K (batch, m, n) and k (batch, m) hold
        stage 0 only.
    """

    K: np.ndarray
    k: np.ndarray
    Z: np.ndarray
    zeta: np.ndarray
    s: np.ndarray
    stage_status: np.ndarray
    dims: tuple
    min_rcond: float
    game: LQGame
    status: Status = Status.SOLVED
    info: Info = field(default_factory=Info)
    keep: str = "all"

    @classmethod
    def _from_core(cls, out, game, time_s, keep="all") -> LQGameSolution:
        """The solution of a kernel call (``out``, a ``_core.RiccatiArrays``): one dict update instead of the
        frozen dataclass's per-field ``object.__setattr__`` (about 1.5 us of a 25 us solve, bench/bench_lq.py);
        its Info is built on first access (:meth:`__getattr__`)."""
        obj = object.__new__(cls)
        obj.__dict__.update({"K": out.K, "k": out.k, "Z": out.Z, "zeta": out.zeta, "s": out.s,
                             "stage_status": out.stage_status, "dims": game.dims, "min_rcond": out.min_rcond,
                             "game": game, "status": Status.SOLVED, "keep": keep, "_time": time_s})
        return obj

    def __getattr__(self, name: str):
        """``info`` of a solution made by :meth:`_from_core`, built when first read (most solves never read it)."""
        d = self.__dict__
        if name != "info" or "_time" not in d:
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")
        info = object.__new__(Info)
        info.__dict__.update({"iterations": 0, "residual": _NAN, "residuals": _NO_RESIDUALS, "time": d["_time"]})
        d["info"] = info
        return info

    def _require(self, what: str, kept: tuple) -> None:
        """Raise InputError unless this solve kept the outputs ``what`` needs."""
        if self.keep not in kept:
            needs = "the value functions Z, zeta, s" if kept == ("all",) else "the gains of every stage"
            raise InputError(f"{what} needs {needs}, which this solution does not hold (solved with "
                             f"keep={self.keep!r}): solve with keep=\"all\"")

    def __repr__(self) -> str:
        g = self.game
        parts = dict(N=g.N, n=g.n, T=g.T)
        if g.batch is not None:
            parts["batch"] = g.batch
        parts.update(singular_stages=int(np.count_nonzero(self.singular_stages)), min_rcond=self.min_rcond,
                     K=self.K)
        return summary("LQGameSolution", self.status, parts)

    @property
    def singular_stages(self) -> np.ndarray:
        """Boolean mask ([batch,] T) of stages solved for the minimum-norm solution."""
        return (self.stage_status & 3) == 1

    @property
    def not_convex_stages(self) -> np.ndarray:
        """Boolean mask ([batch,] T) of stages where some player's own cost-to-go R^ii + B^i'Z^i_{t+1}B^i is
        not positive definite (its best response is unbounded below: status not_convex)."""
        return (self.stage_status & 4) != 0

    @property
    def gains(self) -> list:
        """Per-player views K^i, each ([batch,] T, m_i, n)."""
        return [self.K[..., sl, :] for sl in self.game.slices]

    @property
    def profile(self) -> tuple:
        """The strategy profile (K, k) (the equilibrium protocol's profile of this family)."""
        return (self.K, self.k)

    def costs(self, x0, *, x0_cov=None) -> np.ndarray:
        """Each player's exact cost from x0, shape ([batch,] N).

        V_0^i(x0) = x0'Z_0^i x0 + 2 zeta_0^i'x0 + s_0^i; with ``x0_cov`` (the
        covariance of a random x0 of mean ``x0``), the expected cost
        E[V_0^i] = V_0^i(x0) + tr(Z_0^i x0_cov).
        """
        self._require("costs", ("all",))
        return _value(self.game, self.Z[..., 0, :, :, :], self.zeta[..., 0, :, :], self.s[..., 0, :], x0, x0_cov)

    def rollout(self, x0) -> tuple[np.ndarray, np.ndarray]:
        """Simulate the equilibrium strategies from x0: (xs ([batch,] T+1, n), us ([batch,] T, m))."""
        self._require("rollout", ("all", "gains"))
        return simulate(self.game, self.K, self.k, x0)

    def nash_gap(self, x0, *, x0_cov=None) -> np.ndarray | float:
        """Largest cost reduction a single player gets by a unilateral deviation from x0.

        max_i [J^i(K, k) - min_{pi^i} J^i(pi^i, (K, k)^{-i})], through the
        equilibrium protocol (:func:`gamesolve.equilibrium.nash_gap`): the best
        response is the single-player LQ problem obtained by folding the others'
        affine feedback into dynamics and costs, solved exactly by the same
        recursion. ``inf`` if some player's best-response problem is unbounded
        below (not convex). Round-off level at a Nash equilibrium.
        """
        self._require("nash_gap", ("all",))
        return equilibrium.nash_gap(self.game, (self.K, self.k), x0=x0, x0_cov=x0_cov)


# --------------------------------------------------------------------------- #
# Values, rollouts, best responses (the equilibrium protocol of this family)
# --------------------------------------------------------------------------- #


def _x0(g: LQGame, x0) -> np.ndarray:
    """x0 as (batch or 1, n)."""
    x0 = as_float_array("x0", x0)
    want = (g.n,) if g.batch is None else (g.batch, g.n)
    if x0.shape != want and not (g.batch is not None and x0.shape == (g.n,)):
        raise InputError(f"x0 must have shape {want}, got {x0.shape}")
    return x0[None] if x0.ndim == 1 else x0


def _cov(g: LQGame, cov) -> np.ndarray | None:
    if cov is None:
        return None
    cov = as_float_array("x0_cov", cov)
    want = (g.n, g.n) if g.batch is None else (g.batch, g.n, g.n)
    if cov.shape != want and not (g.batch is not None and cov.shape == (g.n, g.n)):
        raise InputError(f"x0_cov must have shape {want}, got {cov.shape}")
    check_symmetric("x0_cov", cov)
    return cov[None] if cov.ndim == 2 else cov


def _value(g: LQGame, Z0, zeta0, s0, x0, x0_cov) -> np.ndarray:
    """x0'Z0 x0 + 2 zeta0'x0 + s0 (+ tr(Z0 cov)) per player; Z0 ([batch,] P, n, n) -> ([batch,] P)."""
    x = _x0(g, x0)
    cov = _cov(g, x0_cov)
    one = g.batch is None
    Z0, zeta0, s0 = (a[None] if one else a for a in (Z0, zeta0, s0))
    v = np.einsum("bi,bpij,bj->bp", x, Z0, x) + 2 * np.einsum("bpi,bi->bp", zeta0, x) + s0
    if cov is not None:
        v = v + np.einsum("bpij,bji->bp", Z0, cov)
    return v[0] if one else v


def simulate(g: LQGame, K, k, x0) -> tuple[np.ndarray, np.ndarray]:
    """Roll the affine strategies u_t = -K_t x_t - k_t out from x0: (xs ([batch,] T+1, n), us ([batch,] T, m))."""
    x = _x0(g, x0)
    one = g.batch is None
    K, k = (a[None] if one else a for a in (K, k))
    batch = max(x.shape[0], K.shape[0])
    xs = np.empty((batch, g.T + 1, g.n))
    us = np.empty((batch, g.T, g.m))
    A, B, c = (None if a is None else (a[None] if one else a) for a in (g.A, g.B, g.c))
    tA, tB = A.shape[1] > 1, B.shape[1] > 1
    tc = c is not None and c.shape[1] > 1
    xs[:, 0] = x
    for t in range(g.T):
        u = -np.einsum("bij,bj->bi", K[:, t], xs[:, t]) - k[:, t]
        us[:, t] = u
        nxt = np.einsum("bij,bj->bi", A[:, t if tA else 0], xs[:, t]) + np.einsum("bij,bj->bi", B[:, t if tB else 0], u)
        xs[:, t + 1] = nxt if c is None else nxt + c[:, t if tc else 0]
    return (xs[0], us[0]) if one else (xs, us)


def _profile(g: LQGame, profile) -> tuple[np.ndarray, np.ndarray]:
    """(K, k) of a profile, checked against the game: K ([batch,] T, m, n), k ([batch,] T, m) or None."""
    if isinstance(profile, LQGameSolution):
        return profile.K, profile.k
    try:
        K, k = profile
    except (TypeError, ValueError):
        raise InputError("a strategy profile of an LQ game is a pair (K, k)") from None
    lead = () if g.batch is None else (g.batch,)
    K = as_float_array("K", K)
    if K.shape != lead + (g.T, g.m, g.n):
        raise InputError(f"K must have shape {lead + (g.T, g.m, g.n)}, got {K.shape}")
    k = np.zeros(lead + (g.T, g.m)) if k is None else as_float_array("k", k)
    if k.shape != lead + (g.T, g.m):
        raise InputError(f"k must have shape {lead + (g.T, g.m)}, got {k.shape}")
    return K, k


def _evaluate(g: LQGame, K, k):
    """Value functions (Z, zeta, s) of the profile (K, k): the policy-evaluation recursion, in C++."""
    one = g.batch is None
    K, k = (np.ascontiguousarray(a[None] if one else a) for a in (K, k))
    out = _core.evaluate_strategies(*g.core_args(), K, k)
    Z, zeta, s = out.Z, out.zeta, out.s
    finite = np.isfinite(Z).all(axis=(2, 3, 4)) & np.isfinite(zeta).all(axis=(2, 3)) & np.isfinite(s).all(axis=2)
    if not finite.all():
        b, t = np.argwhere(~finite)[-1]
        where = f"game {b}, " if not one else ""
        raise SolveError(
            f"non-finite values in the policy evaluation at {where}stage t={t} (the value functions overflowed: "
            f"the strategy is too unstable for this horizon, or the data are badly scaled)")
    return (Z[0], zeta[0], s[0]) if one else (Z, zeta, s)


def policy_value(g: LQGame, profile, *, x0, x0_cov=None) -> np.ndarray:
    """Every player's cost of the profile (K, k) from x0 (mean; ``x0_cov`` its covariance), ([batch,] N)."""
    K, k = _profile(g, profile)
    Z, zeta, s = _evaluate(g, K, k)
    return _value(g, Z[..., 0, :, :, :], zeta[..., 0, :, :], s[..., 0, :], x0, x0_cov)


def best_response(g: LQGame, profile, player: int, *, x0, x0_cov=None):
    """Player ``player``'s best response to the others' affine feedback in (K, k): ((K_i, k_i), cost).

    The others' strategies u^j = -K^j x - k^j are folded into the dynamics and
    costs: with u = E v + G x + g (E selects the player's rows, G = -K and g = -k
    on the others' rows, zero on the player's), its stage cost becomes
    x'Q'x + 2q''x + v'R'v + 2r''v + 2v'M'x + const with R' = E'RE,
    M' = E'(RG + M), r' = E'(Rg + r), Q' = Q + G'RG + G'M + M'G,
    q' = q + G'(Rg + r) + M'g, const = g'Rg + 2r'g, and the dynamics become
    x+ = (A + BG)x + B E v + (c + Bg). This one-player problem is solved by the
    same recursion; its minimum exists iff every stage's R' + B_i'Z_{t+1}B_i is
    positive definite (else the cost is ``-inf``). K_i ([batch,] T, m_i, n),
    k_i ([batch,] T, m_i) act on the joint state; cost ([batch,]).
    """
    K, k = _profile(g, profile)
    one = g.batch is None
    K, k = (a[None] if one else a for a in (K, k))
    batch = max(K.shape[0], g.batch or 1)
    if not 0 <= player < g.N:
        raise InputError(f"player must be in [0, {g.N}), got {player}")
    sl = g.slices[player]
    lo, hi = sl.start, sl.stop
    own = np.zeros(g.m, bool)
    own[sl] = True

    def full(name, i=None):
        a = g.full(name)
        if a is None:
            return None
        a = a[None] if one else a
        a = np.broadcast_to(a, (batch,) + a.shape[1:])
        return a if i is None else a[:, :, i]

    A, B, Q, R = full("A"), full("B"), full("Q", player), full("R", player)
    zeros = lambda *shape: np.zeros((batch, g.T) + shape)  # noqa: E731
    r = full("r", player) if g.r is not None else zeros(g.m)
    M = full("M", player) if g.M is not None else zeros(g.m, g.n)
    q = full("q", player) if g.q is not None else zeros(g.n)
    c = full("c") if g.c is not None else zeros(g.n)
    G = -K.copy()
    G[:, :, own] = 0.0
    gg = -k.copy()
    gg[:, :, own] = 0.0
    RG = R @ G
    Rg = np.einsum("btij,btj->bti", R, gg)
    Gt = np.swapaxes(G, -1, -2)
    GtM = Gt @ M
    Qb = Q + Gt @ RG + GtM + np.swapaxes(GtM, -1, -2)
    qb = q + np.einsum("btji,btj->bti", G, Rg + r) + np.einsum("btji,btj->bti", M, gg)
    Rb = R[:, :, lo:hi, lo:hi]
    Mb = (RG + M)[:, :, lo:hi]
    rb = (Rg + r)[:, :, lo:hi]
    const = np.einsum("bti,bti->b", gg, Rg + 2 * r)
    Ab = A + B @ G
    cb = c + np.einsum("btij,btj->bti", B, gg)
    Bi = np.ascontiguousarray(B[:, :, :, lo:hi])
    QT = np.broadcast_to((g.QT[None] if one else g.QT)[:, player:player + 1], (batch, 1, g.n, g.n))[:, None]
    qT = None
    if g.qT is not None:
        qT = np.broadcast_to((g.qT[None] if one else g.qT)[:, player:player + 1], (batch, 1, g.n))[:, None]
    C = np.ascontiguousarray
    out = _core.solve_lq_games(
        [hi - lo], g.n, g.T, batch, C(Ab), Bi, C(Qb[:, :, None]), C(qb[:, :, None]), C(Rb[:, :, None]),
        C(rb[:, :, None]), C(Mb[:, :, None]), C(cb), C(QT), None if qT is None else C(qT), _num_threads,
        RCOND_TOL, RANK_TOL)
    Kb, kb, Z, zeta, s = out.K, out.k, out.Z, out.zeta, out.s
    # Convexity of each stage's minimization: R' + B_i'Z_{t+1}B_i > 0 (a Cholesky factorization succeeds).
    H = Rb + np.swapaxes(Bi, -1, -2) @ Z[:, 1:, 0] @ Bi
    H = 0.5 * (H + np.swapaxes(H, -1, -2))
    convex = np.array([_all_definite(H[b]) for b in range(batch)])
    val = _value(g, Z[:, 0, 0][:, None] if not one else Z[0, 0, 0][None], zeta[:, 0, 0][:, None] if not one
                 else zeta[0, 0, 0][None], s[:, 0, 0][:, None] if not one else s[0, 0, 0][None], x0, x0_cov)
    val = val[..., 0] + (const if not one else const[0])
    val = np.where(convex if not one else convex[0], val, -np.inf)
    strategy = (Kb[0], kb[0]) if one else (Kb, kb)
    return strategy, (float(val) if one else val)


def _all_definite(H) -> bool:
    try:
        np.linalg.cholesky(H)
        return True
    except np.linalg.LinAlgError:
        return False


register_horizon_family("finite", Family("finite-horizon LQ game", policy_value, best_response))


# --------------------------------------------------------------------------- #
# Public solvers
# --------------------------------------------------------------------------- #


def _check_status(status, n_bad: int, n_sing: int, min_rcond: float, batched: bool, stacklevel: int,
                  n_not_convex: int = 0, residual: float = float("nan"), gap=None) -> None:
    """Raise SolveError on a non-finite stage (status 2); warn on min-norm (status 1) and non-convex (3) stages.

    ``status`` has shape (batch, T) (a batch of one for a single game); ``stacklevel``
    is counted from this function, so the warning points at the caller's line.
    """
    if n_bad:
        b, t = np.argwhere(status == 2)[0]
        where = f"game {b}, " if batched else ""
        raise SolveError(
            f"non-finite values in the coupled Riccati recursion at {where}stage t={t} "
            f"(the value functions overflowed: the horizon is too long for unstable dynamics, "
            f"or the data are badly scaled)")
    if n_not_convex:
        b, t = np.argwhere((status & 4) != 0)[-1]
        where = f"game {b}, " if batched else ""
        warnings.warn(
            f"{n_not_convex} stage(s) where some player's own cost-to-go is not convex in its control (first from "
            f"the end: {where}stage t={t}; R^ii + B^i'Z^i_(t+1) B^i is not positive definite): that player's best "
            f"response is unbounded below and the profile returned is no Nash equilibrium (status not_convex, "
            f"see .not_convex_stages)", NotConvexWarning, stacklevel=stacklevel)
    if n_sing:
        gap_s = "" if gap is None else (f"; the profile's Nash gap (x0 ~ N(0, I)) is {gap:.3g}"
                                        + (": not an equilibrium" if not gap <= 1e-8 else ""))
        warnings.warn(
            f"{n_sing} stage system(s) singular to working precision, or ill-conditioned with an inaccurate "
            f"elimination (min rcond {min_rcond:.2e}): the minimum-norm solution of the rank-truncated stage "
            f"system was returned there (see .singular_stages), with relative stage residual "
            f"||S K - Y|| / (||S|| ||K|| + ||Y||) up to {residual:.3g}{gap_s}", SingularStageWarning,
            stacklevel=stacklevel)


def _unit_gap(sol) -> float:
    """The largest Nash gap of the solution's profile over the batch for x0 ~ N(0, I) (reported with min-norm stages)."""
    g = sol.game
    x0 = np.zeros(g.n if g.batch is None else (g.batch, g.n))
    with np.errstate(all="ignore"):
        gap = equilibrium.nash_gap(g, (sol.K, sol.k), x0=x0, x0_cov=np.eye(g.n))
    return float(np.max(gap))


def _solve(A, B, Q, R, horizon, q, r, M, c, QT, qT, dims, batched: bool, what: str,
           keep: str = "all") -> LQGameSolution:
    """solve_lq_game(s): the game (``A`` itself, or read and checked in C++ from the arrays), then the
    coupled Riccati recursion in C++, in the same call for raw arrays. The solution keeps the game."""
    t0 = perf_counter()
    if not isinstance(A, LQGame):
        if B is None or Q is None or R is None:
            _require(B, Q, R, what)
        out = _core.read_and_solve_lq_game(A, B, Q, R, horizon, q, r, M, c, QT, qT, dims, batched, SYM_RTOL,
                                           _num_threads, RCOND_TOL, RANK_TOL, keep)
        g = LQGame._from_core(out.game_fields)
    else:
        g = _as_game(A, B, Q, R, horizon, q, r, M, c, QT, qT, dims, batched, what)
        out = _core.solve_lq_game_data(g, _num_threads, RCOND_TOL, RANK_TOL, keep)
    n_nc = out.n_not_convex_stages
    sol = LQGameSolution._from_core(out, g, perf_counter() - t0, keep)
    if out.n_nonfinite_stages or out.n_min_norm_stages or n_nc:
        st = out.stage_status
        gap = None
        if out.n_min_norm_stages and not out.n_nonfinite_stages and keep == "all":
            gap = _unit_gap(sol)
        _check_status(st if batched else st[None], out.n_nonfinite_stages, out.n_min_norm_stages, out.min_rcond,
                      batched, stacklevel=4, n_not_convex=n_nc, residual=out.max_min_norm_residual, gap=gap)
    if n_nc:
        sol.__dict__["status"] = Status.NOT_CONVEX
    return sol


def solve_lq_game(A, B=None, Q=None, R=None, *, horizon=None, q=None, r=None, M=None, c=None, QT=None, qT=None,
                  dims=None) -> LQGameSolution:
    """Feedback Nash equilibrium of a finite-horizon LQ game (coupled Riccati recursion).

    Parameters
    ----------
    A : (n, n) or (T, n, n) array_like, or LQGame
        Dynamics x_{t+1} = A_t x_t + B_t u_t + c_t; or a game built by
        :func:`gamesolve.lq_game` (then pass nothing else).
    B : list of N (n, m_i) arrays, or (n, m) / (T, n, m) array with ``dims``
        Input matrices, stacked column-wise in player order.
    Q : (N, n, n) or (T, N, n, n) array_like
        State weights, symmetric.
    R : list of N (m_i, m_i) own-control weights, or (N, m, m) / (T, N, m, m) joint weights
        R^i weighs the joint control; its own block R^{ii} must be positive definite.
    horizon : int, optional
        T; required when every array is time-invariant.
    q, r, M, c, QT, qT, dims
        As in :func:`gamesolve.lq_game` (QT defaults to Q, qT to q).

    Returns
    -------
    LQGameSolution
        K (T, m, n), k (T, m), Z (T+1, N, n, n), zeta (T+1, N, n), s (T+1, N),
        stage_status (T,), status, info, game; methods ``costs(x0)``,
        ``rollout(x0)``, ``nash_gap(x0)``.

    Raises
    ------
    InputError
        Wrong shapes, non-finite entries, asymmetric Q/R/QT, R^{ii} not
        positive definite, inconsistent dims or horizons.
    SolveError
        The recursion overflowed.

    Warns
    -----
    SingularStageWarning
        Some stage system was singular or ill-conditioned; the minimum-norm
        solution was used there (``.singular_stages``).
    NotConvexWarning
        At some stage some player's own cost-to-go is not convex in its
        control (``.not_convex_stages``); the status is ``not_convex``.

    Notes
    -----
    Backward from Z_T = Q_T, zeta_T = q_T, s_T = 0, at each stage
    (``docs/theory.md``, section 2)::

        S  = [B^i'Z^i B + R^i_[i,:]]_i,   Y = [B^i'Z^i A + M^i_[i]]_i,
        y  = [B^i'(zeta^i + Z^i c) + r^i_[i]]_i,     S [K k] = [Y y]
        F  = A - B K,  beta = c - B k
        Z^i    = Q^i + F'Z^i F + K'R^i K - K'M^i - M^i'K
        zeta^i = q^i + F'(zeta^i + Z^i beta) + K'(R^i k - r^i) - M^i'k
        s^i   += beta'Z^i beta + 2 zeta^i'beta + k'R^i k - 2 r^i'k

    One elimination of S (LU with partial pivoting, which also yields S^{-1} and
    so the exact 1-norm rcond) serves K and k. A stage with rcond(S) < 1e-12
    keeps that solution when S is not singular to working precision
    (rcond >= 1e-15) and the solution is accurate (relative residual
    ||S X - Y||_1 / (||S||_1 ||X||_1 + ||Y||_1) <= 1e-12): a unique but
    ill-conditioned equilibrium. Otherwise it is solved by a complete
    orthogonal decomposition (the minimum-norm solution of the rank-truncated
    system) and flagged; the warning gives that solution's stage residual and
    the profile's Nash gap for x0 ~ N(0, I).

    Examples
    --------
    >>> import numpy as np, gamesolve
    >>> g = gamesolve.examples.lq_example()
    >>> sol = gamesolve.solve_lq_game(g.A, g.B, g.Q, g.R, horizon=50)
    >>> bool(sol.nash_gap(g.x0) < 1e-10)
    True
    """
    return _solve(A, B, Q, R, horizon, q, r, M, c, QT, qT, dims, False, "solve_lq_game")


def solve_lq_games(A, B=None, Q=None, R=None, *, horizon=None, q=None, r=None, M=None, c=None, QT=None, qT=None,
                   dims=None, keep="all") -> LQGameSolution:
    """Solve a batch of equal-size LQ games in parallel in C++ (threads, GIL released).

    Same arguments as :func:`solve_lq_game` with one more leading batch axis on
    every array (a batch axis of size 1 broadcasts), or a batch built by
    :func:`gamesolve.lq_games`. Own-control weights R may be a list of N
    (batch, [T,] m_i, m_i) arrays. All result arrays gain the batch axis;
    ``costs``/``rollout``/``nash_gap`` take x0 of shape (batch, n). The thread
    count is :func:`set_num_threads`; results are bit-identical for any thread
    count.

    ``keep`` chooses the outputs computed and allocated: ``"all"`` (default);
    ``"gains"``: K (batch, T, m, n) and k (batch, T, m) only (Z, zeta, s are
    None; ``rollout`` works, ``costs``/``nash_gap`` raise); ``"stage0"``: the
    first stage's K_0 (batch, m, n) and k_0 (batch, m) only (what a guidance
    controller needs). The kept arrays equal the corresponding parts of a
    ``keep="all"`` solve bit for bit; the value functions, most of the output
    for n >> m, are then never written.

    Examples
    --------
    >>> import numpy as np, gamesolve
    >>> g = gamesolve.examples.lq_example()
    >>> A = np.stack([g.A, 0.9 * g.A])
    >>> Bs = [np.stack([b, b]) for b in g.B]
    >>> sol = gamesolve.solve_lq_games(A, Bs, np.stack([g.Q, g.Q]), [np.stack([r, r]) for r in g.R], horizon=30)
    >>> sol.K.shape
    (2, 30, 2, 2)
    """
    if keep not in ("all", "gains", "stage0"):
        raise InputError(f'keep must be "all", "gains" or "stage0", got {keep!r}')
    return _solve(A, B, Q, R, horizon, q, r, M, c, QT, qT, dims, True, "solve_lq_games", keep)


def evaluate_lq_strategy(A, B=None, Q=None, R=None, K=None, k=None, *, horizon=None, q=None, r=None, M=None,
                         c=None, QT=None, qT=None, dims=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Value functions of a given affine strategy profile u_t = -K_t x_t - k_t (policy evaluation).

    Game arguments as in :func:`solve_lq_game` (or an LQGame as ``A``, then
    ``evaluate_lq_strategy(game, K=K, k=k)``); K (T, m, n), k (T, m) (default 0).
    Returns (Z (T+1, N, n, n), zeta (T+1, N, n), s (T+1, N)): player i's cost
    from x0 is x0'Z_0^i x0 + 2 zeta_0^i'x0 + s_0^i. Uses the value update of
    :func:`solve_lq_game` with the given gains in place of the equilibrium ones.
    """
    if isinstance(A, LQGame) and K is None and R is None:  # evaluate_lq_strategy(game, K[, k])
        B, Q, K, k = None, None, B, (Q if k is None else k)
    g = _as_game(A, B, Q, R, horizon, q, r, M, c, QT, qT, dims, False, "evaluate_lq_strategy")
    if K is None:
        raise InputError("K is required, got None")
    K, k = _profile(g, (K, k))
    return _evaluate(g, K, k)
