"""The entropy-regularized LQ game: an LQ game validated once, plus tau and the noise covariance."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from ... import _core
from ..._validate import as_float_array, check_finite, check_top, max_abs
from ...errors import InputError
from ..game import LQGame, lq_game

__all__ = ["EntropyLQGame", "entropy_lq_game"]


@dataclass(frozen=True, eq=False, repr=False)
class EntropyLQGame:
    """An entropy-regularized LQ game: a validated finite-horizon LQ game, tau and the noise covariance.

    Build it with :func:`entropy_lq_game` (the constructor checks nothing).
    Time-indexed attributes have a leading axis of length T; time-invariant
    data are read-only broadcast views (stride 0), so nothing is copied T times.

    Attributes
    ----------
    lq : LQGame
        The game without the entropy terms (horizon T, no linear or cross terms).
    tau : float
        Entropy weight > 0.
    noise_cov : (n, n) or (T, n, n) array or None
        Process-noise covariance as given (None: no noise).
    A : (T, n, n), B : (T, n, m), Q : (T, N, n, n), R : (T, N, m, m) arrays
        Views of ``lq``'s data (R joint and block-diagonal).
    QT : (N, n, n) array
    W : (T, n, n) array
        The noise covariance (zeros when none was given).
    dims, T, N, n, m, slices
        Sizes and each player's rows of the joint control.
    """

    lq: LQGame
    tau: float
    noise_cov: np.ndarray | None = None

    def __repr__(self) -> str:
        return f"EntropyLQGame(N={self.N}, n={self.n}, dims={self.dims}, T={self.T}, tau={self.tau:g})"

    @cached_property
    def A(self) -> np.ndarray:
        """(T, n, n) dynamics (a broadcast view)."""
        return self.lq.full("A")

    @cached_property
    def B(self) -> np.ndarray:
        """(T, n, m) stacked input matrices (a broadcast view)."""
        return self.lq.full("B")

    @cached_property
    def Q(self) -> np.ndarray:
        """(T, N, n, n) state weights (a broadcast view)."""
        return self.lq.full("Q")

    @cached_property
    def R(self) -> np.ndarray:
        """(T, N, m, m) joint block-diagonal control weights (a broadcast view)."""
        return self.lq.full("R")

    QT = property(lambda self: self.lq.QT, doc="(N, n, n) terminal weights")
    dims = property(lambda self: self.lq.dims, doc="(m_1, ..., m_N)")
    T = property(lambda self: self.lq.T, doc="horizon")
    N = property(lambda self: self.lq.N, doc="number of players")
    n = property(lambda self: self.lq.n, doc="state size")
    m = property(lambda self: self.lq.m, doc="joint control size")

    @cached_property
    def slices(self) -> tuple[slice, ...]:
        """Rows of each player's control in the joint control."""
        return tuple(self.lq.slices)

    @cached_property
    def W(self) -> np.ndarray:
        """(T, n, n) process-noise covariance (a broadcast view)."""
        W = np.zeros((self.n, self.n)) if self.noise_cov is None else self.noise_cov
        return W if W.ndim == 3 else np.broadcast_to(W, (self.T, self.n, self.n))

    def with_tau(self, tau: float) -> EntropyLQGame:
        """The same game with another entropy weight (e.g. tau + delta, Zaman et al. IV-A)."""
        return replace(self, tau=_check_tau(tau))

    @cached_property
    def _shifted_R(self) -> np.ndarray:
        R = np.array(self.lq.R)  # (Tt, N, m, m)
        for i, sl in enumerate(self.slices):
            idx = np.arange(sl.start, sl.stop)
            R[..., i, idx, idx] += 0.5 * self.tau
        return np.broadcast_to(R, (self.T,) + R.shape[1:])

    def shifted_R(self) -> np.ndarray:
        """R~^i = R^i + tau/2 on player i's own block, shape (T, N, m, m) (a broadcast view if R is constant)."""
        return self._shifted_R

    @cached_property
    def gamma_B(self) -> float:
        """gamma_B = max_{i,t} ||B_t^i||_F (Zaman et al. Assumption III.3)."""
        B = self.lq.B
        col2 = np.einsum("tkj,tkj->tj", B, B)  # squared column norms
        return float(np.sqrt(np.add.reduceat(col2, [sl.start for sl in self.slices], axis=1).max()))


def _check_tau(tau) -> float:
    try:
        val = float(tau)
    except (TypeError, ValueError):
        raise InputError(f"tau must be a positive real number, got {tau!r}") from None
    if not np.isfinite(val) or val <= 0.0:
        raise InputError(f"tau must be positive and finite, got {val!r}")
    return val


def _noise_cov(noise_cov, T: int, n: int) -> np.ndarray | None:
    """noise_cov as a read-only C-contiguous float64 (n, n) or (T, n, n) array (values checked in C++)."""
    if noise_cov is None:
        return None
    W = np.ascontiguousarray(as_float_array("noise_cov", noise_cov))
    if W.ndim not in (2, 3) or W.shape[-2:] != (n, n) or (W.ndim == 3 and W.shape[0] != T):
        raise InputError(f"noise_cov must have shape ({n}, {n}) or ({T}, {n}, {n}), got {W.shape}")
    W = W.view()
    W.flags.writeable = False
    return W


def _check_entropy_rules(lq: LQGame, W) -> None:
    """The entropy-specific rules (block-diagonal R, W symmetric PSD), checked in C++; InputError naming the failure."""
    c = _core.entropy_check(list(lq.dims), lq.A, lq.B, lq.Q, lq.R, lq.QT, W, lq.T, True)
    if int(c.code) != 0:  # EntropyCheckCode.ok
        _raise_rule(c, W)


def _raise_rule(c, W) -> None:
    """The InputError of a failed entropy rule (a ``_core.EntropyCheck``); ``W`` the noise covariance read."""
    code = c.code
    E, t, i = _core.EntropyCheckCode, c.t, c.i
    where = "noise_cov" if W is None or W.ndim == 2 else f"noise_cov[{t}]"
    if code == E.R_not_block_diagonal:
        raise InputError(f"R[{i}] must be block-diagonal in the players' controls (no products u^j'u^k, j != k) "
                         "for the entropy-regularized game")
    if code == E.R_own_not_pd:
        raise InputError(f"R (player {i}'s own block R^{i}{i}) must be positive definite with a relative margin "
                         "for the entropy-regularized game")
    if code == E.W_asymmetric:
        check_finite("noise_cov", W)
        raise InputError(f"{where} must be symmetric")
    if code == E.W_not_psd:
        lam = np.linalg.eigvalsh(W if W.ndim == 2 else W[t])[0]
        raise InputError(f"{where} must be positive semidefinite, smallest eigenvalue is {lam:.3g}")
    name = {E.Q_asymmetric: "Q", E.QT_asymmetric: "QT", E.R_asymmetric: "R"}[code]
    raise InputError(f"{name} must be symmetric")


def _entropy_game(lq: LQGame, tau, noise_cov) -> EntropyLQGame:
    """Add tau and the noise covariance to a validated LQ game, checking the entropy-specific rules."""
    tau = tau if type(tau) is float and 0.0 < tau < np.inf else _check_tau(tau)
    if lq.batch is not None:
        raise InputError(f"an entropy-regularized game is one game, got a batch of {lq.batch}")
    if lq.T is None:
        raise InputError("horizon is required when every array is time-invariant")
    if not (lq.q is None and lq.r is None and lq.M is None and lq.c is None and lq.qT is None):
        terms = [k for k in ("q", "r", "M", "c", "qT") if getattr(lq, k) is not None]
        raise InputError(f"the entropy-regularized game has no linear or cross terms, got {', '.join(terms)}")
    W = _noise_cov(noise_cov, lq.T, lq.n)
    _check_entropy_rules(lq, W)
    game = object.__new__(EntropyLQGame)  # the frozen dataclass's fields, without its per-field __setattr__
    game.__dict__.update(lq=lq, tau=tau, noise_cov=W)
    return game


def _check_entropy_scale(game: EntropyLQGame, tops=None) -> None:
    """InputError for data of a magnitude whose products over- or underflow (``_validate.check_scale``): an
    answer computed from them (e.g. Sigma = 0 for Q ~ 1e300) would be meaningless. ``tops``: the max|x| of
    A, B, Q, R, QT, noise_cov when the reader already computed them (``read_and_solve_entropy``)."""
    lq = game.lq
    if tops is None:
        tops = [max_abs(a) for a in (lq.A, lq.B, lq.Q, lq.R, lq.QT, game.noise_cov)]
    for name, top in zip(("A", "B", "Q", "R", "QT", "noise_cov"), tops):
        check_top(name, top)


def entropy_lq_game(A, B, Q, R, *, tau, noise_cov=None, horizon=None, QT=None, dims=None) -> EntropyLQGame:
    """Validate the data of an entropy-regularized LQ game.

    A, B, Q, R, horizon, QT, dims are read exactly as by :func:`gamesolve.lq_game`
    (one validation, in C++); the entropy-specific rules follow.

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
    tau = _check_tau(tau)  # before the arrays, as its own error
    return _entropy_game(lq_game(A, B, Q, R, horizon=horizon, QT=QT, dims=dims), tau, noise_cov)


def _as_game(A, B, Q, R, tau, noise_cov, horizon, QT, dims) -> EntropyLQGame:
    """The game of a call: an EntropyLQGame given as ``A``, an LQGame plus tau and noise_cov, or the arrays."""
    if isinstance(A, (EntropyLQGame, LQGame)):
        extra = dict(B=B, Q=Q, R=R, horizon=horizon, QT=QT, dims=dims)
        if isinstance(A, EntropyLQGame):
            extra.update(tau=tau, noise_cov=noise_cov)
        given = [k for k, v in extra.items() if v is not None]
        if given:
            raise InputError(f"pass either an {type(A).__name__} or the game's arrays, not both "
                             f"(got {', '.join(given)})")
        return A if isinstance(A, EntropyLQGame) else _entropy_game(A, tau, noise_cov)
    return entropy_lq_game(A, B, Q, R, tau=tau, noise_cov=noise_cov, horizon=horizon, QT=QT, dims=dims)
