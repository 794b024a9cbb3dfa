"""Finite-horizon feedback Nash equilibria of LQ games ([theory §2]), solved in C++.

Notation ([theory §1]): N players; joint state x (n); player i's control u^i (m_i),
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
import warnings
from dataclasses import dataclass, field

import numpy as np

from .. import _core
from .._validate import SYM_RTOL, as_float_array, check_positive_definite, check_symmetric, split_inputs
from ..errors import InputError, SingularStageWarning, SolveError

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

_num_threads = int(os.environ.get("GAMESOLVE_NUM_THREADS", "0") or 0)


def set_num_threads(n: int) -> None:
    """Set the threads used by batched solves (0: one per hardware thread).

    Results are bit-identical for any thread count: each game of a batch is
    solved start to finish by one thread. The default comes from the
    environment variable ``GAMESOLVE_NUM_THREADS`` (0 if unset).
    """
    global _num_threads
    n = int(n)
    if n < 0:
        raise InputError(f"num_threads must be >= 0, got {n}")
    _num_threads = n


def get_num_threads() -> int:
    """Threads used by batched solves (resolving 0 to the hardware count)."""
    return _num_threads or max(int(_core.hardware_threads), 1)


# --------------------------------------------------------------------------- #
# Normalization: every array becomes (Bb, Tt, *block) with Bb in {1, batch}
# and Tt in {1, T}; size-1 axes broadcast (C++ uses stride 0 for them).
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class _GameData:
    dims: tuple
    n: int
    T: int
    batch: int
    A: np.ndarray
    B: np.ndarray
    Q: np.ndarray
    q: np.ndarray | None
    R: np.ndarray
    r: np.ndarray | None
    M: np.ndarray | None
    c: np.ndarray | None
    QT: np.ndarray
    qT: np.ndarray | None

    @property
    def N(self) -> int:
        return len(self.dims)

    @property
    def m(self) -> int:
        return sum(self.dims)

    def core_args(self) -> tuple:
        return (list(self.dims), self.n, self.T, self.batch, self.A, self.B, self.Q, self.q, self.R, self.r,
                self.M, self.c, self.QT, self.qT)

    def full(self, name: str) -> np.ndarray | None:
        """The array ``name`` broadcast to (batch, T, *block) (a view, no copy)."""
        a = getattr(self, name)
        if a is None:
            return None
        lead = (self.batch, self.T) if name not in ("QT", "qT") else (self.batch, 1)
        return np.broadcast_to(a, lead + a.shape[2:])


def _canon(name, arr, block_ndim, batched, T_seen):
    """Split leading axes of ``arr`` into (batch, time); return (array with both axes, T or None)."""
    extra = arr.ndim - block_ndim
    want = 1 + int(batched)
    if extra not in (want - 1, want):
        lead = "(batch, [T], ...)" if batched else "([T], ...)"
        raise InputError(
            f"{name} must have {block_ndim + want - 1} or {block_ndim + want} dimensions {lead}, "
            f"got shape {arr.shape}")
    has_t = extra == want
    if not batched:
        arr = arr[None]
    if has_t:
        T = arr.shape[1]
        if T < 1:
            raise InputError(f"{name} has an empty time axis (shape {arr.shape})")
        if T_seen[0] is not None and T != T_seen[0][0]:
            raise InputError(f"{name} has {T} time steps but {T_seen[0][1]} has {T_seen[0][0]}")
        if T_seen[0] is None:
            T_seen[0] = (T, name)
    else:
        arr = arr[:, None]
    return arr


def _own_to_joint(name, blocks, dims):
    """Embed own-control weights R^{ii} (list, (m_i, m_i) trailing) into joint (…, N, m, m)."""
    N, m = len(dims), sum(dims)
    lead = np.broadcast_shapes(*(b.shape[:-2] for b in blocks))
    out = np.zeros(lead + (N, m, m))
    off = 0
    for i, (b, mi) in enumerate(zip(blocks, dims)):
        if b.shape[-2:] != (mi, mi):
            raise InputError(f"{name}[{i}] must have shape ({mi}, {mi}) (own-control weight), got {b.shape}")
        out[..., i, off:off + mi, off:off + mi] = b
        off += mi
    return out


def _normalize_R(R, dims, m_total):
    """Return (R array with joint blocks (…, N, m, m), dims)."""
    if isinstance(R, (list, tuple)):
        blocks = []
        for i, Ri in enumerate(R):
            a = as_float_array(f"R[{i}]", Ri)
            if a.ndim == 0:
                a = a.reshape(1, 1)
            if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
                raise InputError(f"R[{i}] must be square, got shape {a.shape}")
            blocks.append(a)
        sizes = [b.shape[-1] for b in blocks]
        if dims is None:
            if m_total is not None and sum(sizes) == m_total:
                dims = tuple(sizes)
            else:
                raise InputError("dims is required when B is stacked and R holds joint (m x m) weights")
        if len(blocks) != len(dims):
            raise InputError(f"R must have one weight per player ({len(dims)}), got {len(blocks)}")
        m = sum(dims)
        if all(s == m for s in sizes) and not (len(dims) > 1 and all(s == d for s, d in zip(sizes, dims))):
            return np.stack(np.broadcast_arrays(*blocks), axis=-3), dims
        return _own_to_joint("R", blocks, dims), dims
    a = as_float_array("R", R)
    if dims is None:
        raise InputError("dims is required when B is stacked (give dims=(m_1, ..., m_N))")
    N, m = len(dims), sum(dims)
    if a.ndim >= 3 and a.shape[-2:] == (m, m) and a.shape[-3] == N:
        return a, dims
    if N > 1 and len(set(dims)) == 1 and a.ndim >= 3 and a.shape[-2:] == (dims[0],) * 2 and a.shape[-3] == N:
        return _own_to_joint("R", [a[..., i, :, :] for i in range(N)], dims), dims
    raise InputError(
        f"R must hold N={N} joint weights (..., {N}, {m}, {m}) or own-control weights "
        f"(a list of (m_i, m_i)), got shape {a.shape}")


def _check_own_blocks(R, dims):
    """Raise unless every own block R^{ii} (all times, all batch members) is positive definite."""
    N = len(dims)
    if len(set(dims)) == 1:  # one stacked Cholesky for all players
        mi = dims[0]
        own = np.stack([R[..., i, i * mi:(i + 1) * mi, i * mi:(i + 1) * mi] for i in range(N)], axis=-3)
        try:
            np.linalg.cholesky(own)
            return
        except np.linalg.LinAlgError:
            pass  # find and name the offending player below
    off = 0
    for i, mi in enumerate(dims):
        check_positive_definite(f"R (player {i}'s own block R^{i}{i})", R[..., i, off:off + mi, off:off + mi])
        off += mi


def _normalize(A, B, Q, R, *, horizon, q, r, M, c, QT, qT, dims, batched) -> _GameData:
    A = as_float_array("A", A)
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise InputError(f"A must be square (n, n), got shape {A.shape}")
    n = A.shape[-1]
    B, dims = split_inputs(B, dims, n)
    N, m = len(dims), sum(dims)
    R, dims = _normalize_R(R, dims, m)
    Q = as_float_array("Q", Q)
    if Q.ndim < 3 or Q.shape[-3:] != (N, n, n):
        raise InputError(f"Q must have shape (..., {N}, {n}, {n}) (one (n, n) weight per player), got {Q.shape}")
    T_seen = [None]
    if horizon is not None:
        if int(horizon) != horizon or int(horizon) < 1:
            raise InputError(f"horizon must be a positive integer, got {horizon!r}")
        T_seen[0] = (int(horizon), "horizon")

    A = _canon("A", A, 2, batched, T_seen)
    B = _canon("B", B, 2, batched, T_seen)
    Q = _canon("Q", Q, 3, batched, T_seen)
    R = _canon("R", R, 3, batched, T_seen)
    opt = {}
    for name, val, block in (("q", q, (N, n)), ("r", r, (N, m)), ("M", M, (N, m, n)), ("c", c, (n,))):
        if val is None:
            opt[name] = None
            continue
        a = as_float_array(name, val)
        if a.shape[a.ndim - len(block):] != block or a.ndim < len(block):
            raise InputError(f"{name} must have shape (..., {', '.join(map(str, block))}), got {a.shape}")
        opt[name] = _canon(name, a, len(block), batched, T_seen)
    if T_seen[0] is None:
        raise InputError("horizon is required when every array is time-invariant")
    T = T_seen[0][0]

    # Terminal data: default to the (last) stage weights.
    if QT is None:
        QT = Q[:, -1:]
    else:
        QT = as_float_array("QT", QT)
        if QT.shape[-3:] != (N, n, n) or QT.ndim != 3 + int(batched):
            raise InputError(f"QT must have shape ({'batch, ' if batched else ''}{N}, {n}, {n}), got {QT.shape}")
        QT = (QT if batched else QT[None])[:, None]
    if qT is None:
        qT = None if opt["q"] is None else opt["q"][:, -1:]
    else:
        qT = as_float_array("qT", qT)
        if qT.shape[-2:] != (N, n) or qT.ndim != 2 + int(batched):
            raise InputError(f"qT must have shape ({'batch, ' if batched else ''}{N}, {n}), got {qT.shape}")
        qT = (qT if batched else qT[None])[:, None]

    arrays = dict(A=A, B=B, Q=Q, R=R, QT=QT, qT=qT, **opt)
    batch = 1
    if batched:
        sizes = {k: v.shape[0] for k, v in arrays.items() if v is not None and v.shape[0] != 1}
        if len(set(sizes.values())) > 1:
            raise InputError(f"inconsistent batch sizes: {sizes}")
        batch = next(iter(sizes.values()), 1)

    # Structural checks (relative symmetry; own blocks of R positive definite).
    check_symmetric("Q", Q)
    check_symmetric("QT", QT)
    check_symmetric("R", R)
    _check_own_blocks(R, dims)
    arrays = {k: (None if v is None else np.ascontiguousarray(v)) for k, v in arrays.items()}
    return _GameData(dims=tuple(int(d) for d in dims), n=n, T=T, batch=batch, **arrays)


# --------------------------------------------------------------------------- #
# Results
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class LQGameSolution:
    """Feedback Nash equilibrium of a finite-horizon LQ game ([theory §2]).

    Attributes
    ----------
    K : ([batch,] T, m, n) array
        Stacked feedback gains, u_t = -K_t x_t - k_t (player i's rows = K^i).
    k : ([batch,] T, m) array
        Feedforward terms.
    Z, zeta, s : ([batch,] T+1, N, n, n), ([batch,] T+1, N, n), ([batch,] T+1, N) arrays
        Value functions V_t^i(x) = x'Z_t^i x + 2 zeta_t^i'x + s_t^i (exact cost-to-go).
    status : ([batch,] T) int array
        Per stage: 0 solved by LU, 1 singular / ill-conditioned stage system
        solved for the minimum-norm equilibrium ([MA-GPS] Remark 1).
    dims : tuple of int
        Control sizes (m_1, ..., m_N).
    min_rcond : float
        Smallest reciprocal 1-norm condition number 1 / (||S||_1 ||S^{-1}||_1) of
        the stage systems (from the inverse the elimination computes alongside).
    """

    K: np.ndarray
    k: np.ndarray
    Z: np.ndarray
    zeta: np.ndarray
    s: np.ndarray
    status: np.ndarray
    dims: tuple
    min_rcond: float
    _data: _GameData | None = field(default=None, repr=False, compare=False)
    _batched: bool = field(default=False, repr=False, compare=False)
    #: Arguments of a fast-path solve, normalized into ``_data`` on first use of ``_game``.
    _args: tuple | None = field(default=None, repr=False, compare=False)

    @property
    def _game(self) -> _GameData:
        """The normalized game (computed on first use after a fast-path solve, then kept)."""
        g = self._data
        if g is None:
            (A, B, Q, R, kw) = self._args
            g = _normalize(A, B, Q, R, batched=self._batched, **kw)
            object.__setattr__(self, "_data", g)
        return g

    @property
    def singular_stages(self) -> np.ndarray:
        """Boolean mask ([batch,] T) of stages solved for the minimum-norm solution."""
        return self.status == 1

    @property
    def gains(self) -> list:
        """Per-player views K^i, each ([batch,] T, m_i, n)."""
        offs = np.cumsum((0,) + self.dims)
        return [self.K[..., a:b, :] for a, b in zip(offs[:-1], offs[1:])]

    def _x0(self, x0) -> np.ndarray:
        x0 = as_float_array("x0", x0)
        g = self._game
        want = (g.batch, g.n) if self._batched else (g.n,)
        if x0.shape != want and not (self._batched and x0.shape == (g.n,)):
            raise InputError(f"x0 must have shape {want}, got {x0.shape}")
        return np.broadcast_to(x0, (g.batch, g.n)) if self._batched else x0[None]

    def _out(self, arr):
        return arr if self._batched else arr[0]

    def costs(self, x0) -> np.ndarray:
        """Each player's exact cost V_0^i(x0) = x0'Z_0^i x0 + 2 zeta_0^i'x0 + s_0^i, shape ([batch,] N)."""
        x = self._x0(x0)
        Z, zeta, s = (a if self._batched else a[None] for a in (self.Z, self.zeta, self.s))
        return self._out(np.einsum("bi,bpij,bj->bp", x, Z[:, 0], x) + 2 * np.einsum("bpi,bi->bp", zeta[:, 0], x)
                         + s[:, 0])

    def rollout(self, x0) -> tuple[np.ndarray, np.ndarray]:
        """Simulate the equilibrium strategies from x0: (xs ([batch,] T+1, n), us ([batch,] T, m))."""
        x = self._x0(x0)
        g = self._game
        K, k = (a if self._batched else a[None] for a in (self.K, self.k))
        return tuple(self._out(a) for a in _simulate(g, K, k, x))

    def nash_gap(self, x0) -> np.ndarray | float:
        """Largest cost reduction a single player gets by a unilateral deviation from x0.

        max_i [J^i(profile) - min_{pi^i} J^i(pi^i, profile^{-i})] ([theory §2]), where
        the best response is the single-player LQ problem obtained by folding
        the others' affine feedback into dynamics and costs, solved exactly by
        the same recursion. ``inf`` if some player's best-response problem is
        unbounded below (non-convex). Round-off level at a Nash equilibrium.
        """
        x = self._x0(x0)
        K, k = (a if self._batched else a[None] for a in (self.K, self.k))
        J = self.costs(x0)
        J = J if self._batched else J[None]
        gaps = np.stack([J[:, i] - _best_response_cost(self._game, K, k, i, x) for i in range(len(self.dims))], 1)
        gap = gaps.max(axis=1)
        return gap if self._batched else float(gap[0])


def _simulate(g: _GameData, K, k, x):
    xs = np.empty((g.batch, g.T + 1, g.n))
    us = np.empty((g.batch, g.T, g.m))
    A, B, c = g.full("A"), g.full("B"), g.full("c")
    xs[:, 0] = x
    for t in range(g.T):
        u = -np.einsum("bij,bj->bi", K[:, t], xs[:, t]) - k[:, t]
        us[:, t] = u
        nxt = np.einsum("bij,bj->bi", A[:, t], xs[:, t]) + np.einsum("bij,bj->bi", B[:, t], u)
        xs[:, t + 1] = nxt if c is None else nxt + c[:, t]
    return xs, us


def _best_response_cost(g: _GameData, K, k, i: int, x0) -> np.ndarray:
    """Optimal cost of player i against the others' fixed affine feedback, shape (batch,).

    Derivation: with u = E v + G x + g (E selects player i's rows, G = -K and
    g = -k on the others' rows, zero on player i's), player i's stage cost
    becomes  x'Q'x + 2q''x + v'R'v + 2r''v + 2v'M'x + const  with
    R' = E'RE, M' = E'(RG + M), r' = E'(Rg + r), Q' = Q + G'RG + G'M + M'G,
    q' = q + G'(Rg + r) + M'g, const = g'Rg + 2r'g, and the dynamics
    x+ = (A + BG)x + B E v + (c + Bg). This N = 1 problem is solved by the
    core; its minimum exists iff every stage's R' + B_i'Z B_i is positive definite.
    """
    dims = g.dims
    offs = np.cumsum((0,) + dims)
    lo, hi = offs[i], offs[i + 1]
    own = np.zeros(g.m, bool)
    own[lo:hi] = True
    A, B, Q, R = g.full("A"), g.full("B"), g.full("Q")[:, :, i], g.full("R")[:, :, i]
    G = -K.copy()
    G[:, :, own] = 0.0
    gg = -k.copy()
    gg[:, :, own] = 0.0
    RG = R @ G
    Rg = np.einsum("btij,btj->bti", R, gg)
    r = g.full("r")
    r = r[:, :, i] if r is not None else np.zeros((g.batch, g.T, g.m))
    M = g.full("M")
    M = M[:, :, i] if M is not None else np.zeros((g.batch, g.T, g.m, g.n))
    q = g.full("q")
    q = q[:, :, i] if q is not None else np.zeros((g.batch, g.T, g.n))
    c = g.full("c")
    c = c if c is not None else np.zeros((g.batch, g.T, g.n))
    GtM = np.swapaxes(G, -1, -2) @ M
    Qb = Q + np.swapaxes(G, -1, -2) @ RG + GtM + np.swapaxes(GtM, -1, -2)
    qb = q + np.einsum("btji,btj->bti", G, Rg + r) + np.einsum("btji,btj->bti", M, gg)
    Rb = R[:, :, lo:hi, lo:hi]
    Mb = (RG + M)[:, :, lo:hi]
    rb = (Rg + r)[:, :, lo:hi]
    const = np.einsum("bti,bti->b", gg, Rg + 2 * r)
    Ab = A + B @ G
    cb = c + np.einsum("btij,btj->bti", B, gg)
    Bi = np.ascontiguousarray(B[:, :, :, lo:hi])
    QT = g.QT[:, :, i:i + 1]
    qT = None if g.qT is None else g.qT[:, :, i:i + 1]
    C = np.ascontiguousarray
    Kb, kb, Z, zeta, s, status, _ = _core.solve_lq_games(
        [hi - lo], g.n, g.T, g.batch, C(Ab), Bi, C(Qb[:, :, None]), C(qb[:, :, None]), C(Rb[:, :, None]),
        C(rb[:, :, None]), C(Mb[:, :, None]), C(cb), C(QT), None if qT is None else C(qT), _num_threads,
        RCOND_TOL, RANK_TOL)
    # Convexity of each stage's minimization: R' + B_i'Z_{t+1}B_i > 0.
    H = Rb + np.swapaxes(Bi, -1, -2) @ Z[:, 1:, 0] @ Bi
    lam = np.linalg.eigvalsh(0.5 * (H + np.swapaxes(H, -1, -2)))[..., 0]
    scale = np.abs(H).max(axis=(-1, -2))
    val = (np.einsum("bi,bij,bj->b", x0, Z[:, 0, 0], x0) + 2 * np.einsum("bi,bi->b", zeta[:, 0, 0], x0)
           + s[:, 0, 0] + const)
    unbounded = np.any(lam <= 1e-12 * np.maximum(scale, 1e-300), axis=1)
    return np.where(unbounded, -np.inf, val)


# --------------------------------------------------------------------------- #
# Public solvers
# --------------------------------------------------------------------------- #


def _check_status(status, n_bad: int, n_sing: int, min_rcond: float, batched: bool, stacklevel: int) -> None:
    """Raise SolveError on a non-finite stage (status 2); warn on min-norm stages (status 1).

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
    if n_sing:
        warnings.warn(
            f"{n_sing} stage system(s) singular or ill-conditioned (min rcond {min_rcond:.2e}); the "
            f"minimum-norm equilibrium was returned there (see .singular_stages)", SingularStageWarning,
            stacklevel=stacklevel)


def _run(g: _GameData, batched: bool) -> LQGameSolution:
    K, k, Z, zeta, s, status, min_rcond = _core.solve_lq_games(*g.core_args(), _num_threads, RCOND_TOL, RANK_TOL)
    _check_status(status, int((status == 2).sum()), int((status == 1).sum()), min_rcond, batched, stacklevel=5)
    sl = (lambda a: a) if batched else (lambda a: a[0])
    return LQGameSolution(K=sl(K), k=sl(k), Z=sl(Z), zeta=sl(zeta), s=sl(s), status=sl(status), dims=g.dims,
                          min_rcond=float(min_rcond), _data=g, _batched=batched)


def _solve(A, B, Q, R, horizon, q, r, M, c, QT, qT, dims, batched: bool) -> LQGameSolution:
    """solve_lq_game(s): the C++ fast path (``_core.solve_lq_fast``), else the general path.

    The fast path takes the common forms as given -- plain C-contiguous float64
    ndarrays (lists of them for B and R), ``dims`` a list / tuple of ints --
    checks shapes with the rules of :func:`_normalize` and every value (finite;
    symmetric Q, QT, R; R^{ii} positive definite) in one C++ pass, and solves
    into the result arrays directly. It declines (returns None, having done
    nothing) for anything else, including every invalid input, which then goes
    through :func:`_normalize` and gets its message from there. The normalized
    game that ``costs`` / ``rollout`` / ``nash_gap`` need is built lazily.
    """
    res = _core.solve_lq_fast(A, B, Q, R, horizon, q, r, M, c, QT, qT, dims, batched, _num_threads, RCOND_TOL,
                              RANK_TOL, SYM_RTOL)
    if res is None:
        return _run(_normalize(A, B, Q, R, horizon=horizon, q=q, r=r, M=M, c=c, QT=QT, qT=qT, dims=dims,
                               batched=batched), batched)
    K, k, Z, zeta, s, status, min_rcond, n_sing, n_bad, dims_used, B_used, R_used = res
    _check_status(status if batched else status[None], n_bad, n_sing, min_rcond, batched, stacklevel=4)
    # Blocks of B / R were assembled (copied) in C++: keep those arrays, as the general path keeps its copies.
    args = (A, B if B_used is None else B_used, Q, R if R_used is None else R_used,
            dict(horizon=horizon, q=q, r=r, M=M, c=c, QT=QT, qT=qT, dims=dims_used))
    sol = object.__new__(LQGameSolution)  # the frozen dataclass's fields, without its per-field __setattr__
    sol.__dict__.update(K=K, k=k, Z=Z, zeta=zeta, s=s, status=status, dims=dims_used, min_rcond=min_rcond,
                        _data=None, _batched=batched, _args=args)
    return sol


def solve_lq_game(A, B, Q, R, *, horizon=None, q=None, r=None, M=None, c=None, QT=None, qT=None,
                  dims=None) -> LQGameSolution:
    """Feedback Nash equilibrium of a finite-horizon LQ game (coupled Riccati recursion, [theory §2]).

    Parameters
    ----------
    A : (n, n) or (T, n, n) array_like
        Dynamics x_{t+1} = A_t x_t + B_t u_t + c_t.
    B : list of N (n, m_i) arrays, or (n, m) / (T, n, m) array with ``dims``
        Input matrices, stacked column-wise in player order.
    Q : (N, n, n) or (T, N, n, n) array_like
        State weights, symmetric.
    R : list of N (m_i, m_i) own-control weights, or (N, m, m) / (T, N, m, m) joint weights
        R^i weighs the joint control; its own block R^{ii} must be positive definite.
    horizon : int, optional
        T; required when every array is time-invariant.
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
        (m_1, ..., m_N); required when B is stacked and R is joint.

    Returns
    -------
    LQGameSolution
        K (T, m, n), k (T, m), Z (T+1, N, n, n), zeta (T+1, N, n), s (T+1, N),
        status (T,); methods ``costs(x0)``, ``rollout(x0)``, ``nash_gap(x0)``.

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

    Notes
    -----
    Backward from Z_T = Q_T, zeta_T = q_T, s_T = 0, at each stage ([theory §2])::

        S  = [B^i'Z^i B + R^i_[i,:]]_i,   Y = [B^i'Z^i A + M^i_[i]]_i,
        y  = [B^i'(zeta^i + Z^i c) + r^i_[i]]_i,     S [K k] = [Y y]
        F  = A - B K,  beta = c - B k
        Z^i    = Q^i + F'Z^i F + K'R^i K - K'M^i - M^i'K
        zeta^i = q^i + F'(zeta^i + Z^i beta) + K'(R^i k - r^i) - M^i'k
        s^i   += beta'Z^i beta + 2 zeta^i'beta + k'R^i k - 2 r^i'k

    One elimination of S (LU with partial pivoting, which also yields S^{-1} and
    so the exact 1-norm rcond) serves K and k; a stage with
    rcond(S) < 1e-12 is solved by a complete orthogonal decomposition instead
    (minimum-norm solution, [MA-GPS] Remark 1) and flagged.

    Examples
    --------
    >>> import numpy as np, gamesolve
    >>> g = gamesolve.examples.lq_example()
    >>> sol = gamesolve.solve_lq_game(g.A, g.B, g.Q, g.R, horizon=50)
    >>> bool(sol.nash_gap(g.x0) < 1e-10)
    True
    """
    return _solve(A, B, Q, R, horizon, q, r, M, c, QT, qT, dims, False)


def solve_lq_games(A, B, Q, R, *, horizon=None, q=None, r=None, M=None, c=None, QT=None, qT=None,
                   dims=None) -> LQGameSolution:
    """Solve a batch of equal-size LQ games in parallel in C++ (threads, GIL released).

    Same arguments as :func:`solve_lq_game` with one more leading batch axis on
    every array (a batch axis of size 1 broadcasts). Own-control weights R may
    be a list of N (batch, [T,] m_i, m_i) arrays. All result arrays gain the
    batch axis; ``costs``/``rollout``/``nash_gap`` take x0 of shape (batch, n).
    The thread count is :func:`set_num_threads`; results are bit-identical for
    any thread count.

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
    return _solve(A, B, Q, R, horizon, q, r, M, c, QT, qT, dims, True)


def evaluate_lq_strategy(A, B, Q, R, K, k=None, *, horizon=None, q=None, r=None, M=None, c=None, QT=None,
                         qT=None, dims=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Value functions of a given affine strategy profile u_t = -K_t x_t - k_t ([theory §2], policy evaluation).

    Game arguments as in :func:`solve_lq_game`; K (T, m, n), k (T, m) (default 0).
    Returns (Z (T+1, N, n, n), zeta (T+1, N, n), s (T+1, N)): player i's cost
    from x0 is x0'Z_0^i x0 + 2 zeta_0^i'x0 + s_0^i. Uses the value update of
    :func:`solve_lq_game` with the given gains in place of the equilibrium ones.
    """
    g = _normalize(A, B, Q, R, horizon=horizon, q=q, r=r, M=M, c=c, QT=QT, qT=qT, dims=dims, batched=False)
    K = as_float_array("K", K)
    if K.shape != (g.T, g.m, g.n):
        raise InputError(f"K must have shape {(g.T, g.m, g.n)}, got {K.shape}")
    k = np.zeros((g.T, g.m)) if k is None else as_float_array("k", k)
    if k.shape != (g.T, g.m):
        raise InputError(f"k must have shape {(g.T, g.m)}, got {k.shape}")
    Z, zeta, s = _core.evaluate_strategies(*g.core_args(), np.ascontiguousarray(K[None]),
                                           np.ascontiguousarray(k[None]))
    Z, zeta, s = Z[0], zeta[0], s[0]
    finite = np.isfinite(Z).all(axis=(1, 2, 3)) & np.isfinite(zeta).all(axis=(1, 2)) & np.isfinite(s).all(axis=1)
    if not finite.all():
        t = int(np.flatnonzero(~finite)[-1])
        raise SolveError(
            f"non-finite values in the policy evaluation at stage t={t} (the value functions overflowed: "
            f"the strategy is too unstable for this horizon, or the data are badly scaled)")
    return Z, zeta, s
