"""Policy-gradient analysis of infinite-horizon LQ games (MA-GPS, sections III-IV).

MA-GPS: J. Li, G. Qu, J. J. Choi, S. Sojoudi, C. Tomlin, "Multi-Agent Guided
Policy Search for Non-Cooperative Dynamic Games".

Notation as in :mod:`gamesolve.lq.infinite`: u = -K x, K (m x n) stacks the
players' gains, A_K = A - B K, Sigma0 = E[x0 x0'] (n x n). For a stabilizing K

    P_K^i   = Q^i + K'R^i K + A_K' P_K^i A_K            (value, Stein equation)
    Sigma_K = Sigma0 + A_K Sigma_K A_K'                 (state second moment)
    J^i(K)  = tr(P_K^i Sigma0)
    w_i(K)  = grad_{K^i} J^i = 2 (R^i_[i,:] K - B^i' P_K^i A_K) Sigma_K   (MA-GPS eq. 12)

(with own-control weights R^i_[i,:] K = R^{ii} K^i). The guided pseudo-
gradient (MA-GPS eq. 13, Lemma 2 proof) adds 2 rho R^{ii} (K^i - Kg^i) Sigma_K
to w_i, with P_K^i the guided value; it is the pseudo-gradient of the LQ game
with the substitution of :func:`gamesolve.lq.infinite.guided_game`, which is
how it is computed here.

Every function takes the game's arrays ``(A, B, Q, R, ...)`` or an
:class:`~gamesolve.lq.game.LQGame` without horizon in their place
(``lq_cost(game, K, Sigma0)``); the game is validated once, by ``lq_game``.

Simultaneous policy gradient (MA-GPS eq. 7): K <- K - eta w(K).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .. import _core
from .._validate import (as_float_array, check_finite_result, check_scale, check_shape, check_symmetric,
                         int_option, real_option)
from ..errors import InputError, SolveError
from ..results import Info, Status, summary
from .game import LQGame
from .infinite import _arrays, _as_game, guided_game

__all__ = ["lq_cost", "pseudo_gradient", "pseudo_gradient_jacobian", "PGTrajectory", "simulate_policy_gradient"]


def _game_and_rest(A, B, Q, R, rest, dims):
    """(game, the arguments after the game's): ``f(A, B, Q, R, *rest)`` or ``f(game, *rest)``.

    With an LQGame first, the positional arguments shift: ``B, Q`` are the first
    two of ``rest`` and R and ``rest`` itself must be left out.
    """
    if isinstance(A, LQGame):
        if R is not None or any(x is not None for x in rest) or dims is not None:
            raise InputError("with an LQGame, pass (game, K, Sigma0)")
        return _as_game(A, None, None, None, None), (B, Q)
    return _as_game(A, B, Q, R, dims), rest


def _check_game_scale(game):
    """The game's arrays within the supported magnitudes (``_validate.check_scale``): an entry ~1e154
    overflows the value and its certificate's norms, and the answer would be silently wrong."""
    for name in ("A", "B", "Q", "R", "M"):
        check_scale(name, getattr(game, name))


def _game(game, K_guide, rho):
    """The game the gradient is of: ``game`` itself, or its guided game when ``rho`` or ``K_guide`` is given."""
    _check_game_scale(game)
    if K_guide is None:
        if rho != 0:
            raise InputError(f"rho = {rho!r} needs K_guide (the guiding policy), got None")
        return game
    check_scale("K_guide", as_float_array("K_guide", K_guide))
    g = guided_game(game, K_guide, rho)
    _check_game_scale(g)
    return g


def _check_K(K, m, n, name="K"):
    K = as_float_array(name, K, ndim=2)
    check_shape(name, K, (m, n))
    check_scale(name, K)
    return K


def _check_sigma(Sigma0, n):
    S = as_float_array("Sigma0", Sigma0, ndim=(1, 2))
    check_scale("Sigma0", S)
    if S.ndim == 1:
        check_shape("Sigma0", S, (n,))
        if np.abs(S).max(initial=0.0) > 1e75:  # x0 x0' would leave the supported range
            check_scale("Sigma0 = x0 x0'", np.abs(S).max() ** 2)
        S = np.outer(S, S)
    check_shape("Sigma0", S, (n, n))
    check_symmetric("Sigma0", S)
    return S


def _value(game, K):
    P, _ = _core.lq_policy_value(*_arrays(game), K)
    if P is None:
        rho = float(np.max(np.abs(np.linalg.eigvals(game.A[0] - game.B[0] @ K))))
        raise InputError(f"K is not stabilizing: spectral radius of A - B K is {rho:.6g} >= 1")
    return P


def _stein(AK, C):
    """X = A_K X A_K' + C (C one (n, n) or a stack), by the core's Schur solver; SolveError if the Schur
    factorization of A_K fails (e.g. subnormal entries), instead of the core's RuntimeError."""
    try:
        X, _, _ = _core.stein_solve(np.ascontiguousarray(AK.T), C)
    except RuntimeError as exc:
        raise SolveError(f"the closed loop A - B K could not be factorized ({exc}): its entries are too "
                         "badly scaled (subnormal?)") from None
    return X


def _sigma_K(AK, Sigma0):
    return _stein(AK, Sigma0)  # X = A_K X A_K' + Sigma0


def _F(game, K, P, AK):
    """F(K) row block i = R^i_[i,:] K - M^i_[i] - B^i' P^i A_K  (w = 2 F Sigma_K)."""
    _, B, _, R, M, _ = _arrays(game)
    F = np.empty_like(K)
    for i, s in enumerate(game.slices):
        F[s] = R[i, s] @ K - B[:, s].T @ P[i] @ AK
        if M is not None:
            F[s] -= M[i, s]
    return F


def _gradient(game, K, S0, P):
    AK = game.A[0] - game.B[0] @ K
    return 2.0 * _F(game, K, P, AK) @ _sigma_K(AK, S0)


def lq_cost(A, B, Q=None, R=None, K=None, Sigma0=None, *, dims=None) -> np.ndarray:
    """Players' costs J^i(K) = tr(P_K^i Sigma0) of a stabilizing K, shape (N,).

    Parameters
    ----------
    A, B, Q, R, dims : as in :func:`gamesolve.lq_nash`
        Or ``lq_cost(game, K, Sigma0)`` with an LQGame.
    K : (m, n) array_like, stabilizing
    Sigma0 : (n, n) array_like E[x0 x0'], or an (n,) initial state

    Raises
    ------
    InputError
        Bad shapes, or K not stabilizing.

    Examples
    --------
    One player, x' = 0.5 x + u, cost x^2 + u^2, u = -0.25 x from x0 = 1: the
    closed loop is 0.25, so J = (1 + 0.25^2) / (1 - 0.25^2).

    >>> import numpy as np
    >>> from gamesolve import lq_cost
    >>> A, B, Q, R = np.array([[0.5]]), [np.array([[1.0]])], [np.eye(1)], [np.eye(1)]
    >>> J = lq_cost(A, B, Q, R, np.array([[0.25]]), np.ones(1))
    >>> bool(abs(J[0] - 1.0625 / 0.9375) < 1e-14)
    True
    """
    game, (K, Sigma0) = _game_and_rest(A, B, Q, R, (K, Sigma0), dims)
    _check_game_scale(game)
    K = _check_K(K, game.m, game.n)
    S0 = _check_sigma(Sigma0, game.n)
    J = np.einsum("kij,ji->k", _value(game, K), S0)
    check_finite_result("lq_cost", J)
    return J


def pseudo_gradient(A, B, Q=None, R=None, K=None, Sigma0=None, *, dims=None, K_guide=None,
                    rho=0.0) -> np.ndarray:
    """Pseudo-gradient w(K) of MA-GPS eq. 12 (guided if ``rho > 0``), shape (m, n) like K.

    w_i = 2 (R^{ii} K^i - B^i' P_K^i A_K) Sigma_K; with guidance weight rho and
    guide Kg the gradient of the guided cost eq. 13,
    w_i = 2 ((1 + rho) R^{ii} K^i - rho R^{ii} Kg^i - B^i' P-hat_K^i A_K) Sigma_K
    (proof of Lemma 2), P-hat the guided value.

    Parameters
    ----------
    A, B, Q, R, dims : as in :func:`gamesolve.lq_nash`
        Or ``pseudo_gradient(game, K, Sigma0)`` with an LQGame.
    K : (m, n) stabilizing gain
    Sigma0 : (n, n) E[x0 x0'] (or an (n,) initial state)
    K_guide : (m, n), optional; rho : float >= 0

    Examples
    --------
    >>> import numpy as np
    >>> from gamesolve import lq_nash, pseudo_gradient
    >>> from gamesolve.examples import lq_example
    >>> g = lq_example()
    >>> K = lq_nash(g.A, g.B, g.Q, g.R).K
    >>> bool(np.abs(pseudo_gradient(g.A, g.B, g.Q, g.R, K, g.Sigma0)).max() < 1e-12)
    True
    """
    game, (K, Sigma0) = _game_and_rest(A, B, Q, R, (K, Sigma0), dims)
    game = _game(game, K_guide, rho)
    K = _check_K(K, game.m, game.n)
    S0 = _check_sigma(Sigma0, game.n)
    w = _gradient(game, K, S0, _value(game, K))
    check_finite_result("pseudo_gradient", w)
    return w


def pseudo_gradient_jacobian(A, B, Q=None, R=None, K=None, Sigma0=None, *, dims=None, K_guide=None,
                             rho=0.0) -> np.ndarray:
    """Exact Jacobian of w(K) with respect to vec(K) (row-major), shape (m n, m n).

    With w = 2 F(K) Sigma_K (row blocks F_i = R^i_[i,:] K - M^i_[i] - B^i'P^i A_K),

        dw = 2 dF Sigma_K + 2 F dSigma_K,
        dF = S dK - [B^i' dP^i A_K]_i,  dP^i = A_K'dP^i A_K + dK'G^i + G^i'dK   (C++, Newton's Jacobian)
        dSigma_K = A_K dSigma_K A_K' - B dK Sigma_K A_K' - A_K Sigma_K dK'B'.

    At a Nash equilibrium F = 0 and only the first term remains. Simultaneous
    policy gradient (MA-GPS eq. 7) is locally stable at a stationary point
    iff every eigenvalue has positive real part (for small enough steps).
    Guided if ``rho > 0`` (the Jacobian of the guided pseudo-gradient).

    Examples
    --------
    >>> from gamesolve import lq_nash, pseudo_gradient_jacobian
    >>> from gamesolve.examples import lq_example
    >>> g = lq_example()
    >>> J = pseudo_gradient_jacobian(g.A, g.B, g.Q, g.R, lq_nash(g.A, g.B, g.Q, g.R).K, g.Sigma0)
    >>> J.shape
    (4, 4)
    """
    game, (K, Sigma0) = _game_and_rest(A, B, Q, R, (K, Sigma0), dims)
    game = _game(game, K_guide, rho)
    n, m = game.n, game.m
    K = _check_K(K, m, n)
    S0 = _check_sigma(Sigma0, n)
    out = _core.lq_nash_jacobian(*_arrays(game), K)
    if out is None:
        _value(game, K)  # raises the "not stabilizing" error
    JF, F = out
    B = game.B[0]
    AK = game.A[0] - B @ K
    Sig = _sigma_K(AK, S0)
    mn = m * n
    dF = JF.reshape(m, n, mn)                        # dF[a, b, col]
    J = 2.0 * np.einsum("akc,kb->abc", dF, Sig)      # 2 dF Sigma_K
    if np.abs(F).max() > 0:
        # dSigma for each direction dK = e_a e_b': C = -B dK Sig A_K' - A_K Sig dK'B'
        E = np.zeros((mn, n, n))
        SA = Sig @ AK.T                              # (n, n)
        for a in range(m):
            for b in range(n):
                Cm = -np.outer(B[:, a], SA[b])
                E[a * n + b] = Cm + Cm.T
        dSig = _stein(AK, E)
        J += 2.0 * np.einsum("ak,ckb->abc", F, dSig)
    check_finite_result("pseudo_gradient_jacobian", J)
    return J.reshape(mn, mn)


@dataclass(frozen=True, repr=False)
class PGTrajectory:
    """Trajectory of simultaneous policy gradient (MA-GPS eq. 7).

    Attributes
    ----------
    K : (k+1, m, n) array
        The iterates, K[0] the start.
    grad_norm : (k+1,) array
        ||w(K_t)||_F (nan after instability).
    converged : bool
        ``status.ok``: ||w|| <= gtol was reached (then iteration stopped).
    iterations : int
        Steps taken.
    status : Status
        converged, max_iterations, or diverged (an iterate stopped stabilizing the system).
    info : Info
        Iterations, the last gradient norm (``residual``), ``grad_norm`` (``residuals``), wall time.
    """

    K: np.ndarray
    grad_norm: np.ndarray
    converged: bool
    iterations: int
    status: Status
    info: Info

    def __repr__(self) -> str:
        return summary("PGTrajectory", self.status, dict(iterations=self.iterations, grad_norm=self.info.residual))


def simulate_policy_gradient(A, B, Q=None, R=None, K0=None, Sigma0=None, *, eta, steps, dims=None, K_guide=None,
                             rho=0.0, gtol=1e-10, progress=False) -> PGTrajectory:
    """Simultaneous policy gradient K <- K - eta w(K) (MA-GPS eq. 7), guided if rho > 0.

    Every player follows its own exact cost gradient (eq. 12, or the guided
    gradient of eq. 13 with weight ``rho`` towards ``K_guide``) with step ``eta``.
    Stops at ||w||_F <= gtol (converged), after ``steps`` steps, or when an
    iterate stops stabilizing the system.

    Parameters
    ----------
    A, B, Q, R, dims : as in :func:`gamesolve.lq_nash`
        Or ``simulate_policy_gradient(game, K0, Sigma0, ...)`` with an LQGame.
    K0 : (m, n) stabilizing start
    Sigma0 : (n, n) E[x0 x0']
    eta : float > 0; steps : int >= 0
    K_guide, rho : guidance (MA-GPS eq. 13)
    gtol : float; progress : bool — print progress every 10% of the steps

    Returns
    -------
    PGTrajectory
    """
    game, (K0, Sigma0) = _game_and_rest(A, B, Q, R, (K0, Sigma0), dims)
    game = _game(game, K_guide, rho)
    K = _check_K(K0, game.m, game.n, "K0").copy()
    S0 = _check_sigma(Sigma0, game.n)
    eta = real_option("eta", eta, low=0.0, low_open=True)
    steps = int_option("steps", steps)
    gtol = real_option("gtol", gtol, low=0.0)
    t0 = time.perf_counter()
    Ks, gn = [K.copy()], []
    status = Status.MAX_ITERATIONS
    arrays = _arrays(game)
    for t in range(steps + 1):
        P, _ = _core.lq_policy_value(*arrays, K)
        if P is None:
            status = Status.DIVERGED
            gn.append(np.nan)
            break
        w = _gradient(game, K, S0, P)
        g = float(np.linalg.norm(w))
        gn.append(g)
        if g <= gtol:
            status = Status.CONVERGED
            break
        if t == steps:
            break
        K = K - eta * w
        Ks.append(K.copy())
        if progress and steps >= 10 and (t + 1) % (steps // 10) == 0:
            print(f"  policy gradient rho={rho:g}: step {t + 1}/{steps}, |w| = {g:.3e}", flush=True)
    gn = np.array(gn)
    return PGTrajectory(K=np.array(Ks), grad_norm=gn, converged=status.ok, iterations=len(Ks) - 1, status=status,
                        info=Info(len(Ks) - 1, float(gn[-1]), gn, time.perf_counter() - t0))
