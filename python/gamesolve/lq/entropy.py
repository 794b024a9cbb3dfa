"""Entropy-regularized general-sum LQ games and policy optimization ([theory §4], [Reg-LQ]).

Notation ([theory §1, §4]). N players, state x in R^n, player i's control u^i in
R^{m_i}, joint control u in R^m. Dynamics

    x_{t+1} = A_t x_t + B_t u_t + w_t,        w_t ~ N(0, W_t)   (W = ``noise_cov``)

and player i pays, with **no 1/2** on the quadratic terms,

    sum_t [ x_t'Q_t^i x_t + u_t'R_t^i u_t + tau KL(pi_t^i(.|x_t) || N(0, I)) ] + x_T'Q_T^i x_T.

R^i is player i's weight on the joint control; it must be block-diagonal
(player i may weigh the other players' controls, R^{ij}, but not products of
two players' controls), and its own block R^{ii} must be positive definite.
Own-control weights (a list of N (m_i, m_i) matrices) are the R^{ii} of an
otherwise-zero R^i, exactly as in [theory §1].

Policies are linear Gaussian with gamesolve's sign: u^i ~ N(-K_t^i x, Sigma_t^i)
([Reg-LQ] writes N(K x, Sigma): its K is our -K). The value of player i under
a linear-Gaussian profile is x'P_t^i x + p_t^i.

Derivation of the Nash recursion ([Reg-LQ] Thm. III.1 in gamesolve's units). At stage
t, with the others playing N(-K^j x, Sigma^j), player i minimizes over pi

    E_pi[u'(R^{ii} + B^i'P^i B^i) u + 2 u'B^i'P^i (A - B^{-i}K^{-i}) x] + tau KL(pi || N(0, I)) + const.

Lemma III.2 gives the Gaussian minimizer with mean -K^i x and covariance
Sigma^i = (I + 2 (R^{ii} + B^i'P^i B^i) / tau)^{-1} = tau/2 S_ii^{-1},
S_ii = tau/2 I + R^{ii} + B^i'P^i B^i. Since tau KL(N(mu, Sigma) || N(0, I)) =
tau/2 mu'mu + tau/2 (tr Sigma - m_i - log det Sigma), the means are the feedback
Nash equilibrium of the [theory §2] game with R^i -> R~^i = R^i + tau/2 E_ii
(tau/2 added to player i's own block; [Reg-LQ] eq. 20), and P^i is that game's
Z^i. The constants follow from taking expectations over the Gaussian controls
and the noise ([Reg-LQ] eq. 24):

    p_t^i = p_{t+1}^i + <R~^i, Sigma_t> - tau/2 (m_i + log det Sigma_t^i)
            + <W_t + B_t Sigma_t B_t', P_{t+1}^i>,

Sigma_t the block-diagonal joint covariance and <X, Y> = tr(X'Y). For the
Nash covariances <R~^i, Sigma> reduces to [theory §4]'s tr(Sigma^i(tau/2 I + R^i))
when R^i weighs own controls only.

The best response of player i to linear-Gaussian opponents is the N = 1 game
obtained by folding the others into the data: A -> A - B^{-i}K^{-i},
Q^i -> Q^i + K^{-i}'R^i_{[-i,-i]}K^{-i}, W -> W + B^{-i}Sigma^{-i}B^{-i}' and the
constant tr(R^i_{[-i,-i]} Sigma^{-i}) per stage; it is solved by the same C++
recursion (:func:`entropy_lq_nash` with one player).
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np

from .._validate import as_float_array, check_shape, check_symmetric
from ..errors import InputError, SingularStageWarning, SolveError
from .finite import _normalize

__all__ = [
    "EntropyLQGame",
    "EntropyLQSolution",
    "EntropyPOResult",
    "EpsilonReport",
    "entropy_lq_game",
    "entropy_lq_nash",
    "entropy_po",
    "entropy_policy_value",
    "entropy_best_response",
    "entropy_epsilon",
]


# --------------------------------------------------------------------------- game data

_F64 = np.dtype(np.float64)
_BLOCK_NDIM = {"A": 2, "B": 2, "Q": 3, "R": 3, "W": 2}


class EntropyLQGame:
    """A validated entropy-regularized LQ game ([theory §4]).

    Every time-indexed attribute has a leading axis of length T; time-invariant
    data are read-only broadcast views (stride 0), made on first access, so
    nothing is copied T times. The game is immutable.

    Attributes
    ----------
    A : (T, n, n) array
    B : (T, n, m) array, stacked player blocks
    Q : (T, N, n, n) array
    R : (T, N, m, m) array, joint, block-diagonal weights
    QT : (N, n, n) array
    W : (T, n, n) array, process-noise covariance (zeros when none was given)
    tau : float, entropy weight > 0
    dims : tuple of int, (m_1, ..., m_N)
    T, N, n, m : int
    """

    # Each of _A, _B, _Q, _R, _W is stored either compact (no time axis) or with
    # its time axis of length T; _W None means no noise, _QT None means Q's last stage.
    __slots__ = ("_A", "_B", "_Q", "_R", "_W", "_QT", "_tau", "_dims", "_T", "_cache")

    def __init__(self, A, B, Q, R, QT, W, tau, dims, T=None):
        arrs = {}
        for name, a in (("A", A), ("B", B), ("Q", Q), ("R", R), ("W", W)):
            if a is None:
                arrs[name] = None
                continue
            a = np.asarray(a, dtype=np.float64)
            if a.ndim == _BLOCK_NDIM[name] + 1:
                if a.shape[0] == 1 or a.strides[0] == 0:
                    if T is None and a.shape[0] > 1:
                        T = a.shape[0]
                    a = a[0]  # compact
                elif T is None:
                    T = a.shape[0]
                elif a.shape[0] != T:
                    raise InputError(f"{name} has {a.shape[0]} time steps, expected {T}")
            arrs[name] = a
        if T is None:
            T = 1
        self._init(arrs["A"], arrs["B"], arrs["Q"], arrs["R"], None if QT is None else np.asarray(QT, np.float64),
                   arrs["W"], float(tau), tuple(int(d) for d in dims), int(T), {})

    def _init(self, A, B, Q, R, QT, W, tau, dims, T, cache):
        _set = object.__setattr__
        _set(self, "_A", A)
        _set(self, "_B", B)
        _set(self, "_Q", Q)
        _set(self, "_R", R)
        _set(self, "_QT", QT)
        _set(self, "_W", W)
        _set(self, "_tau", tau)
        _set(self, "_dims", dims)
        _set(self, "_T", T)
        _set(self, "_cache", cache)

    @classmethod
    def _make(cls, A, B, Q, R, QT, W, tau, dims, T, cache):
        """Trusted constructor: arrays compact or with a time axis of length T (no checks, no copies)."""
        self = object.__new__(cls)
        self._init(A, B, Q, R, QT, W, tau, dims, T, cache)
        return self

    def __setattr__(self, name, value):
        raise AttributeError(f"EntropyLQGame is immutable (cannot set {name!r}); use with_tau or entropy_lq_game")

    def __reduce__(self):  # pickle / copy without going through __setattr__
        return (EntropyLQGame._make, (self._A, self._B, self._Q, self._R, self._QT, self._W, self._tau, self._dims,
                                      self._T, {}))

    def __repr__(self) -> str:
        return f"EntropyLQGame(N={self.N}, n={self.n}, dims={self.dims}, T={self.T}, tau={self.tau:g})"

    def _full(self, name: str) -> np.ndarray:
        a = self._cache.get(name)
        if a is None:
            a = getattr(self, "_" + name)
            if a is None:  # no noise
                a = np.zeros((self.n, self.n))
            if a.ndim == _BLOCK_NDIM[name]:
                a = np.broadcast_to(a, (self._T,) + a.shape)
            self._cache[name] = a
        return a

    A = property(lambda self: self._full("A"), doc="(T, n, n) dynamics")
    B = property(lambda self: self._full("B"), doc="(T, n, m) stacked input matrices")
    Q = property(lambda self: self._full("Q"), doc="(T, N, n, n) state weights")
    R = property(lambda self: self._full("R"), doc="(T, N, m, m) joint block-diagonal control weights")
    W = property(lambda self: self._full("W"), doc="(T, n, n) process-noise covariance")
    tau = property(lambda self: self._tau, doc="entropy weight > 0")
    dims = property(lambda self: self._dims, doc="(m_1, ..., m_N)")
    T = property(lambda self: self._T, doc="horizon")

    @property
    def QT(self) -> np.ndarray:
        """(N, n, n) terminal weights."""
        if self._QT is not None:
            return self._QT
        return self._Q if self._Q.ndim == 3 else self._Q[-1]

    @property
    def N(self) -> int:
        return len(self._dims)

    @property
    def n(self) -> int:
        return int(self._A.shape[-1])

    @property
    def m(self) -> int:
        return int(sum(self._dims))

    @property
    def slices(self) -> tuple[slice, ...]:
        """Rows of each player's control in the joint control."""
        return _slices(self._dims)

    def with_tau(self, tau: float) -> "EntropyLQGame":
        """The same game with another entropy weight (e.g. tau + delta, [Reg-LQ] IV-A)."""
        cache = {k: v for k, v in self._cache.items() if k != "shifted_R"}
        return EntropyLQGame._make(self._A, self._B, self._Q, self._R, self._QT, self._W, _check_tau(tau), self._dims,
                                   self._T, cache)

    def shifted_R(self) -> np.ndarray:
        """R~^i = R^i + tau/2 on player i's own block, shape (T, N, m, m) (a broadcast view if R is constant)."""
        R = self._cache.get("shifted_R")
        if R is None:
            R = np.array(self._R)
            for i, sl in enumerate(self.slices):
                idx = np.arange(sl.start, sl.stop)
                R[..., i, idx, idx] += 0.5 * self._tau
            if R.ndim == 3:
                R = np.broadcast_to(R, (self._T,) + R.shape)
            self._cache["shifted_R"] = R
        return R

    @property
    def gamma_B(self) -> float:
        """gamma_B = max_{i,t} ||B_t^i||_F ([Reg-LQ] Assumption III.3)."""
        g = self._cache.get("gamma_B")
        if g is None:
            Bc = self._B if self._B.ndim == 3 else self._B[None]
            col2 = np.einsum("tkj,tkj->tj", Bc, Bc)  # squared column norms
            g = float(np.sqrt(np.add.reduceat(col2, [sl.start for sl in self.slices], axis=1).max()))
            self._cache["gamma_B"] = g
        return g


@functools.lru_cache(maxsize=64)
def _slices(dims: tuple) -> tuple[slice, ...]:
    off = np.concatenate([[0], np.cumsum(dims)]).astype(int)
    return tuple(slice(int(off[i]), int(off[i + 1])) for i in range(len(dims)))


def _check_tau(tau) -> float:
    try:
        val = float(tau)
    except (TypeError, ValueError):
        raise InputError(f"tau must be a positive real number, got {tau!r}") from None
    if not np.isfinite(val) or val <= 0.0:
        raise InputError(f"tau must be positive and finite, got {val!r}")
    return val


def entropy_lq_game(A, B, Q, R, *, tau, noise_cov=None, horizon=None, QT=None, dims=None) -> EntropyLQGame:
    """Validate and normalize the data of an entropy-regularized LQ game ([theory §4]).

    A, B, Q, R, horizon, QT, dims are read exactly as by
    :func:`gamesolve.solve_lq_game` (the stable public API; the same normalization code).

    Parameters
    ----------
    A : (n, n) or (T, n, n) array_like
    B : list of N (n, m_i) / (T, n, m_i) blocks, or stacked (n, m) / (T, n, m) with ``dims``
    Q : (N, n, n) or (T, N, n, n) array_like, state weights
    R : list of N own-control weights (m_i, m_i) [or (T, m_i, m_i)], or joint (N, m, m) / (T, N, m, m)
        block-diagonal weights whose own blocks are positive definite
    tau : float > 0, entropy weight
    noise_cov : (n, n) or (T, n, n) array_like, positive semidefinite; default no noise
    horizon : int, required when every array is time-invariant
    QT : (N, n, n) array_like; defaults to Q (its last stage when Q is time-varying)
    dims : tuple of int, required when B is stacked

    Returns
    -------
    EntropyLQGame

    Raises
    ------
    InputError
        On non-finite or mis-shaped data, tau <= 0, an asymmetric Q, QT, R or
        noise_cov, an own block R^{ii} that is not positive definite, a joint R^i
        with products of two players' controls, or an indefinite noise_cov.
    """
    tau = _check_tau(tau)
    g = _normalize(A, B, Q, R, horizon=horizon, q=None, r=None, M=None, c=None, QT=QT, qT=None, dims=dims,
                   batched=False)
    T, n, m = g.T, g.n, g.m
    sl = _slices(g.dims)
    off_block = np.ones((m, m), bool)
    for sj in sl:
        off_block[sj, sj] = False
    nonzero = np.any(g.R[0][..., off_block] != 0.0, axis=(0, 2))  # (N,)
    if nonzero.any():
        i = int(np.argmax(nonzero))
        raise InputError(
                f"R[{i}] must be block-diagonal in the players' controls (no products u^j'u^k, j != k) "
                "for the entropy-regularized game"
            )
    if noise_cov is None:
        W = None
    else:
        W = as_float_array("noise_cov", noise_cov, ndim=(2, 3))
        if W.shape[-2:] != (n, n) or (W.ndim == 3 and W.shape[0] != T):
            raise InputError(f"noise_cov must have shape ({n}, {n}) or ({T}, {n}, {n}), got {W.shape}")
        check_symmetric("noise_cov", W)
        W3 = W if W.ndim == 3 else W[None]
        lam = np.linalg.eigvalsh(0.5 * (W3 + np.swapaxes(W3, -1, -2)))
        bad = lam[:, 0] < -1e-12 * np.maximum(np.abs(lam).max(axis=-1), 1e-300)
        if np.any(bad):
            t = int(np.argmax(bad))
            where = f"noise_cov[{t}]" if W.ndim == 3 else "noise_cov"
            raise InputError(f"{where} must be positive semidefinite, smallest eigenvalue is {lam[t, 0]:.3g}")
        W = np.ascontiguousarray(W)

    def tv(a):  # (Tt, ...) with Tt in {1, T} -> compact (no time axis) or (T, ...)
        return a[0] if a.shape[0] == 1 and T > 1 else a

    return EntropyLQGame._make(tv(g.A[0]), tv(g.B[0]), tv(g.Q[0]), tv(g.R[0]), g.QT[0, 0], W, tau, g.dims, T, {})


def _as_game(game_or_A, B, Q, R, kw) -> EntropyLQGame:
    if isinstance(game_or_A, EntropyLQGame):
        extra = [k for k, v in dict(B=B, Q=Q, R=R, **kw).items() if v is not None]
        if extra:
            raise InputError(f"pass either an EntropyLQGame or the game's arrays, not both (got {', '.join(extra)})")
        return game_or_A
    return entropy_lq_game(game_or_A, B, Q, R, **kw)


# --------------------------------------------------------------------------- exact Nash (C++)


@dataclass(frozen=True)
class EntropyLQSolution:
    """Linear-Gaussian Nash equilibrium of an entropy-regularized LQ game ([theory §4]).

    Attributes
    ----------
    K : (T, m, n) array, stacked mean gains, u^i ~ N(-K_t^i x, Sigma_t^i)
    Sigma : (T, m, m) array, block-diagonal joint covariance
    P : (T+1, N, n, n) array, value matrices
    p : (T+1, N) array, value constants (x'P_t^i x + p_t^i is player i's expected cost-to-go)
    status : (T,) int array, the core's stage status (0 ok, 1 minimum-norm solve of the mean stage)
    contraction : (T,) array, 2 gamma_B^2 max_i ||P_{t+1}^i||_F (N-1) / tau ([Reg-LQ] Lemma IV.1)
    assumption_holds : bool, [Reg-LQ] Assumption III.3 (tau > 2 gamma_B^2 gamma_P^* (N-1)), which
        makes this equilibrium unique
    game : EntropyLQGame
    """

    K: np.ndarray
    Sigma: np.ndarray
    P: np.ndarray
    p: np.ndarray
    status: np.ndarray
    contraction: np.ndarray
    assumption_holds: bool
    game: EntropyLQGame

    def costs(self, x0=None, x0_cov=None) -> np.ndarray:
        """Expected total cost of each player, (N,), for x0 ~ N(x0, x0_cov) (see :func:`entropy_epsilon`)."""
        return _expected(self.P[0], self.p[0], *_initial(self.game.n, x0, x0_cov))


def _contraction(game: EntropyLQGame, P: np.ndarray) -> tuple[np.ndarray, bool]:
    """Per-stage Lemma IV.1 factor from P (T+1, N, n, n) and Assumption III.3 with gamma_P = max_t,i ||P_t^i||_F."""
    gB2 = game.gamma_B ** 2
    normP = np.sqrt(np.einsum("tikl,tikl->ti", P, P))  # (T+1, N) Frobenius norms
    factor = 2.0 * gB2 * normP[1:].max(axis=1) * (game.N - 1) / game.tau
    holds = bool(game.tau > 2.0 * gB2 * normP.max() * (game.N - 1))
    return factor, holds


def entropy_lq_nash(A, B=None, Q=None, R=None, *, tau=None, noise_cov=None, horizon=None, QT=None,
                    dims=None) -> EntropyLQSolution:
    """Linear-Gaussian Nash equilibrium of an entropy-regularized LQ game ([theory §4], [Reg-LQ] Thm. III.1).

    Parameters
    ----------
    A, B, Q, R, tau, noise_cov, horizon, QT, dims
        The game, as in :func:`entropy_lq_game`. ``A`` may instead be an
        :class:`EntropyLQGame` (then the other arguments must be left out).

    Returns
    -------
    EntropyLQSolution
        ``K (T, m, n)``, ``Sigma (T, m, m)``, ``P (T+1, N, n, n)``, ``p (T+1, N)``.

    Raises
    ------
    InputError
        Bad data (see :func:`entropy_lq_game`).
    SolveError
        Non-finite numbers in the recursion, or a stage where a player's
        regularized problem is unbounded below (S_ii not positive definite,
        possible only with an indefinite Q^i).

    Notes
    -----
    The means are the [theory §2] feedback Nash equilibrium of the game with R^i
    shifted by tau/2 on player i's own block:

        (tau/2 I + R^{ii} + B^i'P^i B^i) K^i + B^i'P^i sum_{j!=i} B^j K^j = B^i'P^i A,

    solved by the C++ core (``gamesolve::solve_lq_game``) whose Z^i is P^i;
    then one backward pass computes

        Sigma_t^i = (I + 2 (R^{ii} + B^i'P_{t+1}^i B^i) / tau)^{-1},
        p_t^i = p_{t+1}^i + tr(R^i Sigma_t) + tau/2 (tr Sigma_t^i - m_i - log det Sigma_t^i)
                + tr((W + sum_j B^j Sigma_t^j B^j') P_{t+1}^i).

    When the stage system is singular (no unique Nash mean) the core returns
    the minimum-norm solution and flags the stage (``status == 1``) with a
    :class:`SingularStageWarning`. [Reg-LQ] writes u ~ N(K x, Sigma); its K is
    our -K.

    Float64 C-contiguous arrays (B stacked or a list of blocks, R joint or a
    list of own blocks) take a fast path: one C++ call reads them in place and
    checks their values (symmetry, definiteness, block structure) itself. Any
    other input, and any input whose checks or solve do not pass cleanly, goes
    through :func:`entropy_lq_game`, which raises the precise error.

    Examples
    --------
    >>> import numpy as np, gamesolve as gs
    >>> A = np.array([[1.0, 0.1], [0.0, 1.0]]); B = [np.array([[0.0], [0.1]])] * 2
    >>> sol = gs.entropy_lq_nash(A, B, [np.eye(2), 2 * np.eye(2)], [np.eye(1)] * 2, tau=1.0, horizon=5)
    >>> br = gs.entropy_epsilon(sol.game, sol.K, sol.Sigma)   # best responses gain nothing
    >>> bool(br.epsilon < 1e-10)
    True
    """
    if not isinstance(A, EntropyLQGame):
        sol = _fast_nash(A, B, Q, R, tau, noise_cov, horizon, QT, dims)
        if sol is not None:
            return sol
    game = _as_game(A, B, Q, R, dict(tau=tau, noise_cov=noise_cov, horizon=horizon, QT=QT, dims=dims))
    return _solve(game)


def _fast_nash(A, B, Q, R, tau, W, horizon, QT, dims):
    """The whole solve in one C++ call when the inputs can be read in place; None to take the general path.

    None is returned (and the general path then validates, raising the precise
    error, or solves) for any input form other than float64 C-contiguous arrays
    with B stacked or a list of (n, m_i) blocks and R joint or a list of
    (m_i, m_i) blocks, for data failing a value check, and for solves with
    non-finite values, an unbounded stage or a singular stage (so that every
    error and warning comes from the one general code path).
    """
    tB = type(B)
    if tB is list or tB is tuple:
        try:
            widths = tuple([b.shape[-1] for b in B])
            B = np.concatenate(B, axis=-1)
        except (AttributeError, IndexError, ValueError, TypeError):
            return None
        if dims is not None and tuple(dims) != widths:
            return None
        dims = widths
    elif dims is None or tB is not np.ndarray:
        return None
    else:
        try:
            dims = tuple(map(int, dims))  # as the general path reads dims
        except (TypeError, ValueError):
            return None
    tR = type(R)
    if tR is list or tR is tuple:
        N = len(dims)
        if len(R) != N:
            return None
        m = sum(dims)
        Rj = np.zeros((N, m, m))
        off = 0
        for i, d in enumerate(dims):
            r = R[i]
            if type(r) is not np.ndarray or r.dtype is not _F64 or r.shape != (d, d):
                return None
            Rj[i, off:off + d, off:off + d] = r
            off += d
        R = Rj
    if type(tau) is not float:
        try:
            tau = float(tau)
        except (TypeError, ValueError):
            return None
    if horizon is None:
        h = 0
    elif type(horizon) is int and horizon >= 1:
        h = horizon
    else:
        return None
    from .. import _core

    try:
        res = _core.entropy_solve(dims, A, B, Q, R, QT, W, tau, h, True)
    except TypeError:  # e.g. dims not integers
        return None
    if type(res) is int:
        return None
    if not res[0]:  # a warning or an error to report
        return None
    _, K, Sig, P, p, status, contraction, holds, gB, _, _, _, _, _, T = res
    game = EntropyLQGame._make(A, B, Q, R, QT, W, tau, dims, T, {"gamma_B": gB})
    return EntropyLQSolution(K, Sig, P, p, status, contraction, holds, game)


def _solve(game: EntropyLQGame) -> EntropyLQSolution:
    from .. import _core

    def c(a):  # the plain form the core reads in place: float64, C-contiguous, aligned, a base ndarray
        return np.require(a, np.float64, ("C", "A"))

    W = game._W
    res = _core.entropy_solve(game.dims, c(game._A), c(game._B), c(game._Q), c(game._R), c(game.QT),
                              None if W is None else c(W), game.tau, game.T, False)
    if type(res) is int:  # cannot happen for a validated game
        raise SolveError(f"entropy_lq_nash: the core rejected the game's arrays (code {res})")
    _, K, Sig, P, p, status, contraction, holds, gB, n_min_norm, n_nonfinite, min_rcond, bad_stage, bad_player, _ = res
    if n_nonfinite > 0:
        raise SolveError(
            f"entropy_lq_nash: non-finite numbers in {n_nonfinite} stage(s) of the recursion "
            "(overflow: check the scale of A, B, Q)"
        )
    if bad_stage >= 0:
        raise SolveError(
            f"entropy_lq_nash: at stage t={bad_stage} player {bad_player}'s regularized "
            "problem is unbounded below (tau/2 I + R^ii + B^i'P^i B^i is not positive definite; "
            "is Q or QT indefinite?)"
        )
    if n_min_norm > 0:
        import warnings

        warnings.warn(
            f"entropy_lq_nash: {n_min_norm} stage(s) with a singular mean system "
            f"(min rcond {min_rcond:.2e}); minimum-norm solution returned (stages "
            f"{np.flatnonzero(status == 1).tolist()})",
            SingularStageWarning,
            stacklevel=3,
        )
    game._cache.setdefault("gamma_B", gB)
    return EntropyLQSolution(K, Sig, P, p, status, contraction, holds, game)


# --------------------------------------------------------------------------- policy value, best response, epsilon


def _initial(n: int, x0, x0_cov) -> tuple[np.ndarray, np.ndarray]:
    if x0 is None:
        mean = np.zeros(n)
        cov = np.eye(n) if x0_cov is None else as_float_array("x0_cov", x0_cov, ndim=2)
    else:
        mean = as_float_array("x0", x0, ndim=1)
        check_shape("x0", mean, (n,))
        cov = np.zeros((n, n)) if x0_cov is None else as_float_array("x0_cov", x0_cov, ndim=2)
    check_shape("x0_cov", cov, (n, n))
    return mean, cov


def _expected(P0: np.ndarray, p0: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """E[x'P x] + p for x ~ N(mean, cov); P0 (..., n, n), p0 (...)."""
    return np.einsum("i,...ij,j->...", mean, P0, mean) + np.einsum("...ij,ij->...", P0, cov) + p0


def _logdet_blocks(game: EntropyLQGame, Sig_t: np.ndarray, what: str) -> np.ndarray:
    out = np.empty(game.N)
    for i, sl in enumerate(game.slices):
        sign, ld = np.linalg.slogdet(Sig_t[sl, sl])
        if sign <= 0:
            raise InputError(f"{what}: player {i}'s covariance block must be positive definite")
        out[i] = ld
    return out


def _evaluate_stage(game, t, Rs_t, K_t, Sig_t, P_next, p_next):
    """One step of the policy-value recursion ([Reg-LQ] eq. 24, gamesolve's sign):

    P_t^i = Q_t^i + K'R~^i K + F'P_{t+1}^i F,  F = A - B K,
    p_t^i = p_{t+1}^i + <R~^i, Sigma> - tau/2 (m_i + log det Sigma^i) + <W + B Sigma B', P_{t+1}^i>.
    """
    A, B = game.A[t], game.B[t]
    F = A - B @ K_t
    P = game.Q[t] + np.einsum("ak,iab,bl->ikl", K_t, Rs_t, K_t) + F.T @ P_next @ F
    P = 0.5 * (P + np.swapaxes(P, -1, -2))
    Om = game.W[t] + B @ Sig_t @ B.T
    ld = _logdet_blocks(game, Sig_t, f"Sigma[{t}]")
    p = (p_next + np.einsum("iab,ab->i", Rs_t, Sig_t)
         - 0.5 * game.tau * (np.asarray(game.dims) + ld) + np.einsum("ab,iab->i", Om, P_next))
    return P, p


def entropy_policy_value(game: EntropyLQGame, K, Sigma) -> tuple[np.ndarray, np.ndarray]:
    """Value of a linear-Gaussian profile u^i ~ N(-K_t^i x, Sigma_t^i) ([Reg-LQ] eq. 24, [theory §4]).

    Parameters
    ----------
    game : EntropyLQGame
    K : (T, m, n) array_like
    Sigma : (T, m, m) array_like, block-diagonal (off-diagonal blocks are ignored), PD blocks

    Returns
    -------
    P : (T+1, N, n, n) array
    p : (T+1, N) array
        x'P_t^i x + p_t^i is player i's expected cost-to-go from x at stage t,
        KL term included.
    """
    T, N, n, m = game.T, game.N, game.n, game.m
    K = as_float_array("K", K, ndim=3)
    check_shape("K", K, (T, m, n))
    Sigma = as_float_array("Sigma", Sigma, ndim=3)
    check_shape("Sigma", Sigma, (T, m, m))
    Sig = np.zeros_like(Sigma)
    for sl in game.slices:
        Sig[:, sl, sl] = Sigma[:, sl, sl]
    Rs = game.shifted_R()
    P = np.empty((T + 1, N, n, n))
    p = np.empty((T + 1, N))
    P[T], p[T] = game.QT, 0.0
    for t in range(T - 1, -1, -1):
        P[t], p[t] = _evaluate_stage(game, t, Rs[t], K[t], Sig[t], P[t + 1], p[t + 1])
    return P, p


def entropy_best_response(game: EntropyLQGame, K, Sigma, player: int) -> EntropyLQSolution:
    """Exact best response of ``player`` to the others' linear-Gaussian policies ([theory §4]).

    Against u^j ~ N(-K^j x, Sigma^j), j != i, the best response is linear
    Gaussian; it is the N = 1 entropy-regularized game with folded data

        A_t -> A_t - B^{-i}K^{-i},   Q^i -> Q^i + K^{-i}'R^i_{[-i,-i]}K^{-i},
        W_t -> W_t + B^{-i}Sigma^{-i}B^{-i}',

    plus the constant tr(R^i_{[-i,-i]} Sigma_t^{-i}) per stage, solved by
    :func:`entropy_lq_nash`. Returns an :class:`EntropyLQSolution` of that
    one-player game whose ``P``, ``p`` (shape (T+1, 1, n, n), (T+1, 1)) are
    player i's optimal expected cost-to-go in the original game.
    """
    T, n, m = game.T, game.n, game.m
    if not 0 <= int(player) < game.N:
        raise InputError(f"player must be in [0, {game.N}), got {player}")
    i = int(player)
    K = as_float_array("K", K, ndim=3)
    check_shape("K", K, (T, m, n))
    Sigma = as_float_array("Sigma", Sigma, ndim=3)
    check_shape("Sigma", Sigma, (T, m, m))
    sl = game.slices[i]
    mask = np.ones(m, bool)
    mask[sl] = False
    Bo, Ko = game.B[:, :, mask], K[:, mask, :]
    So = np.zeros((T, int(mask.sum()), int(mask.sum())))
    offo = 0
    for j, sj in enumerate(game.slices):
        if j == i:
            continue
        w = sj.stop - sj.start
        So[:, offo:offo + w, offo:offo + w] = Sigma[:, sj, sj]
        offo += w
    Ro = game.R[:, i][:, mask][:, :, mask]
    A_hat = game.A - Bo @ Ko
    Q_hat = game.Q[:, i] + np.swapaxes(Ko, 1, 2) @ Ro @ Ko
    W_hat = game.W + Bo @ So @ np.swapaxes(Bo, 1, 2)
    W_hat = 0.5 * (W_hat + np.swapaxes(W_hat, 1, 2))
    const = np.einsum("tab,tab->t", Ro, So)
    sub = EntropyLQGame(A_hat, game.B[:, :, sl], Q_hat[:, None], game.R[:, i:i + 1, sl, sl],
                        game.QT[i:i + 1], W_hat, game.tau, (sl.stop - sl.start,))
    sol = _solve(sub)
    tail = np.concatenate([np.cumsum(const[::-1])[::-1], [0.0]])
    return dataclasses.replace(sol, p=sol.p + tail[:, None])


@dataclass(frozen=True)
class EpsilonReport:
    """How far a linear-Gaussian profile is from Nash in a given game.

    Attributes
    ----------
    epsilon : float, max_i gains[i] (the profile is an epsilon-Nash equilibrium)
    gains : (N,) array, expected-cost reduction of each player's exact best response
    costs : (N,) array, expected costs of the profile
    best_costs : (N,) array, expected costs after each player's unilateral best response
    """

    epsilon: float
    gains: np.ndarray
    costs: np.ndarray
    best_costs: np.ndarray


def entropy_epsilon(game: EntropyLQGame, K, Sigma, *, x0=None, x0_cov=None) -> EpsilonReport:
    """Epsilon of a linear-Gaussian profile in ``game`` ([Reg-LQ] Thm. IV.3, [theory §2] Nash gap).

    gain_i = J^i(profile) - J^i(best response of i, others fixed), with
    J = E[x0'P_0 x0] + p_0 for x0 ~ N(x0, x0_cov); ``x0=None`` with
    ``x0_cov=None`` means x0 ~ N(0, I); ``x0`` given without ``x0_cov`` is a
    fixed initial state. Best responses are exact (:func:`entropy_best_response`),
    so the gains are >= 0 up to round-off and zero at a Nash equilibrium.
    """
    mean, cov = _initial(game.n, x0, x0_cov)
    P, p = entropy_policy_value(game, K, Sigma)
    costs = _expected(P[0], p[0], mean, cov)
    best = np.array([_expected(br.P[0, 0], br.p[0, 0], mean, cov)
                     for br in (entropy_best_response(game, K, Sigma, i) for i in range(game.N))])
    gains = costs - best
    return EpsilonReport(float(gains.max()), gains, costs, best)


# --------------------------------------------------------------------------- Algorithm 1


@dataclass(frozen=True)
class EntropyPOResult:
    """Output of [Reg-LQ] Algorithm 1 (receding-horizon best-response sweeps).

    Attributes
    ----------
    K : (T, m, n) array, mean gains (u^i ~ N(-K^i x, Sigma^i))
    Sigma : (T, m, m) array, block-diagonal covariances
    P : (T+1, N, n, n) array, value of the output profile in the original tau game
    p : (T+1, N) array
    contraction : (T,) array, per-stage factor 2 gamma_B^2 max_i ||P_{t+1}^i||_F (N-1) / tau_solved,
        P_{t+1} as the algorithm computed it (Lemma IV.1: the sweep map contracts when < 1)
    rate : (T,) array, the sweep map's actual asymptotic rate at each stage: the spectral radius of
        K -> D K (Psi_t is affine in K), <= contraction; the error falls like rate**L
    assumption_holds : bool, Assumption III.3 for the solved game (tau + delta), gamma_P^* from its
        exact Nash equilibrium
    residual : (T,) array, fixed-point residual ||Psi_t(S_t) - S_t|| in the paper's norm
        sum_i ||K^i||_F + ||Sigma^i||_F after the last sweep
    error : (T,) array, ||S_t - S_t^*|| to the exact Nash of the solved game
    error_total : float, sum of ``error`` ([Reg-LQ] Thm. IV.2)
    epsilon : float, max gain of an exact unilateral best response in the original tau game
    gains : (N,) array, those gains per player
    converged : bool, every stage's residual <= tol
    status : str, "converged", "max_iterations" (L sweeps did not reach tol) or "diverged" (the sweeps
        overflowed at some stage; that stage and all earlier ones are NaN, epsilon is inf)
    iterations : int, sweeps per stage (L)
    tau, delta : floats; the algorithm solved the game with tau + delta
    """

    K: np.ndarray
    Sigma: np.ndarray
    P: np.ndarray
    p: np.ndarray
    contraction: np.ndarray
    rate: np.ndarray
    assumption_holds: bool
    residual: np.ndarray
    error: np.ndarray
    error_total: float
    epsilon: float
    gains: np.ndarray
    converged: bool
    status: str
    iterations: int
    tau: float
    delta: float


def entropy_po(A, B=None, Q=None, R=None, *, tau=None, noise_cov=None, horizon=None, sweeps, QT=None,
               dims=None, delta=0.0, warm_start=False, tol=1e-10, x0=None, x0_cov=None,
               progress=False) -> EntropyPOResult:
    """[Reg-LQ] Algorithm 1: receding-horizon policy optimization with ``sweeps`` best-response sweeps.

    For t = T-1, ..., 0: given the policies of stages t+1..T-1 (and their
    values P_{t+1}^i from the Lyapunov recursion, [Reg-LQ] eq. 24), apply the
    composite best-response map Psi_t ``sweeps`` times to the stage-t profile,
    starting from zero (or from stage t+1's gains with ``warm_start``):

        K^i <- (tau/2 I + R^{ii} + B^i'P^i B^i)^{-1} B^i'P^i (A - sum_{j!=i} B^j K^j)   (all i at once)
        Sigma^i = (I + 2 (R^{ii} + B^i'P^i B^i) / tau)^{-1}

    then evaluate stage t (eq. 24). With ``delta > 0`` the algorithm runs on
    the augmented game tau + delta ([Reg-LQ] IV-A) and the result's epsilon is
    measured in the original tau game.

    Parameters
    ----------
    A, B, Q, R, tau, noise_cov, horizon, QT, dims
        The game (see :func:`entropy_lq_game`); ``A`` may be an :class:`EntropyLQGame`.
    sweeps : int >= 1
        L, best-response sweeps per stage.
    delta : float >= 0
        Entropy augmentation.
    warm_start : bool
        Start each stage from the next stage's gains instead of zero (paper: zero).
    tol : float
        ``converged`` is True when every stage's fixed-point residual is <= tol.
    x0, x0_cov
        Initial-state distribution for epsilon (see :func:`entropy_epsilon`).
    progress : bool
        Print one line per stage.

    Returns
    -------
    EntropyPOResult

    Notes
    -----
    Lemma IV.1: Psi_t contracts (in sum_i ||K^i||_F + ||Sigma^i||_F) with factor
    2 gamma_B^2 gamma_{P,t} (N-1) / tau, gamma_B = max_{i,t} ||B_t^i||_F,
    gamma_{P,t} = max_i ||P_{t+1}^i||_F; then the error falls linearly in L
    (Thm. IV.2). The exact Nash equilibrium used for ``error`` comes from
    :func:`entropy_lq_nash`.

    Examples
    --------
    >>> import numpy as np, gamesolve as gs
    >>> A = np.array([[1.0, 0.2], [0.0, 0.95]])
    >>> B = [np.array([[0.3], [0.1]]), np.array([[0.0], [0.3]])]
    >>> game = gs.entropy_lq_game(A, B, [np.eye(2), np.eye(2)], [np.eye(1)] * 2, tau=1.0, horizon=8)
    >>> res = gs.entropy_po(game, sweeps=25)
    >>> res.status, bool(res.error_total < 1e-12), bool(res.epsilon < 1e-12)
    ('converged', True, True)
    """
    game = _as_game(A, B, Q, R, dict(tau=tau, noise_cov=noise_cov, horizon=horizon, QT=QT, dims=dims))
    L = int(sweeps)
    if L != sweeps or L < 1:
        raise InputError(f"sweeps must be a positive integer, got {sweeps!r}")
    delta = float(delta)
    if not np.isfinite(delta) or delta < 0:
        raise InputError(f"delta must be finite and >= 0, got {delta!r}")
    solved = game.with_tau(game.tau + delta) if delta > 0 else game
    T, N, n, m = game.T, game.N, game.n, game.m
    sl = game.slices
    Rs = solved.shifted_R()
    half = 0.5 * solved.tau
    K = np.zeros((T, m, n))
    Sig = np.zeros((T, m, m))
    P = np.empty((T + 1, N, n, n))
    p = np.empty((T + 1, N))
    P[T], p[T] = game.QT, 0.0
    residual = np.full(T, np.nan)
    rate = np.full(T, np.nan)
    diverged_at = None
    for t in range(T - 1, -1, -1):
        if not np.all(np.isfinite(P[t + 1])):
            diverged_at = t + 1
            break
        A_t, B_t = solved.A[t], solved.B[t]
        # Psi_t as an affine map of K: K <- E - D K (D has zero diagonal blocks); Sigma from P_{t+1} alone.
        E = np.empty((m, n))
        D = np.zeros((m, m))
        Sig_new = np.zeros((m, m))
        for i, si in enumerate(sl):
            G = B_t[:, si].T @ P[t + 1, i]
            H = Rs[t, i, si, si] + G @ B_t[:, si]
            H = 0.5 * (H + H.T)
            try:
                c = np.linalg.cholesky(H)
            except np.linalg.LinAlgError:
                raise SolveError(f"entropy_po: at stage t={t} player {i}'s regularized problem is "
                                 "unbounded below (is Q or QT indefinite?)") from None
            Hinv = np.linalg.inv(c).T @ np.linalg.inv(c)
            E[si] = Hinv @ G @ A_t
            D[si] = Hinv @ G @ B_t
            D[si, si] = 0.0
            Sig_new[si, si] = half * Hinv
        rate[t] = np.abs(np.linalg.eigvals(D)).max()
        Kt = K[t + 1].copy() if (warm_start and t < T - 1) else np.zeros((m, n))
        with np.errstate(over="ignore", invalid="ignore"):
            for _ in range(L):
                Kt = E - D @ Kt
            nxt = E - D @ Kt
            K[t], Sig[t] = Kt, Sig_new
            residual[t] = sum(np.linalg.norm(nxt[si] - Kt[si]) for si in sl)  # Sigma is already a fixed point
            if not np.isfinite(residual[t]):
                diverged_at = t
                break
            P[t], p[t] = _evaluate_stage(solved, t, Rs[t], K[t], Sig[t], P[t + 1], p[t + 1])
        if progress:
            print(f"entropy_po: stage {t:4d}  residual {residual[t]:.3e}  rate {rate[t]:.3f}")
    exact = _solve(solved)
    if diverged_at is not None:  # the sweeps overflowed: no policy for stages 0..diverged_at
        K[:diverged_at + 1] = Sig[:diverged_at + 1] = np.nan
        P[:diverged_at + 1] = p[:diverged_at + 1] = np.nan
        with np.errstate(invalid="ignore"):
            contraction, _ = _contraction(solved, P)
        nan_N = np.full(N, np.nan)
        return EntropyPOResult(K, Sig, P, p, contraction, rate, exact.assumption_holds, residual, np.full(T, np.nan),
                               np.nan, np.inf, nan_N, False, "diverged", L, game.tau, delta)
    contraction, _ = _contraction(solved, P)
    err = np.array([sum(np.linalg.norm(K[t, si] - exact.K[t, si])
                        + np.linalg.norm(Sig[t, si, si] - exact.Sigma[t, si, si]) for si in sl) for t in range(T)])
    eps = entropy_epsilon(game, K, Sig, x0=x0, x0_cov=x0_cov)
    if delta > 0:
        P, p = entropy_policy_value(game, K, Sig)
    converged = bool(np.all(residual <= tol))
    return EntropyPOResult(K, Sig, P, p, contraction, rate, exact.assumption_holds, residual, err, float(err.sum()),
                           eps.epsilon, eps.gains, converged, "converged" if converged else "max_iterations", L,
                           game.tau, delta)
