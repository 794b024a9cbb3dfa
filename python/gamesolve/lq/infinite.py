"""Feedback Nash equilibria of infinite-horizon LQ games ([theory §3]).

Notation ([theory §1]): N players, state x in R^n, player i's control u^i in R^{m_i},
joint control u (m = sum m_i), policy u = -K x with K (m x n) stacking the
players' gains K^i. Player i pays sum_t x'Q^i x + u'R^i u (no 1/2), where R^i
is player i's weight on the joint control (given either as the own block
R^{ii} (m_i x m_i) or as the joint m x m matrix). The equilibrium (K, P) solves

    P^i = Q^i + K'R^i K + A_K' P^i A_K,                A_K = A - B K     (P-eq.)
    (R^{ii} + B^i'P^i B^i) K^i + B^i'P^i sum_{j!=i} B^j K^j = B^i'P^i A  (K-eq.)

with A_K Schur stable. The iterations (Lyapunov / Riccati / Newton, Anderson
acceleration, the robust ``auto`` strategy) run in the C++ core
(``cpp/src/lq_nash.cpp``); this module validates, calls it once, and turns the
outcome into an :class:`LQNashSolution` or an error. The common input forms
take a C++ fast path (``_core.lq_nash_fast``: shapes and values checked in one
pass, then solved in the same call); everything else, including every invalid
input, goes through :func:`_prepare_general`, which raises the messages.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from itertools import accumulate

import numpy as np

from .. import _core
from .._validate import SYM_RTOL, as_float_array, check_positive_definite, check_shape, check_symmetric, split_inputs
from ..errors import ConvergenceError, InputError, SolveError
from .finite import _normalize_R

__all__ = ["LQNashSolution", "lq_nash", "guided_lq_nash"]

_METHODS = {"auto": 0, "lyapunov": 1, "riccati": 2, "newton": 3}
_METHOD_NAMES = {v: k for k, v in _METHODS.items()}
STATUS = ("converged", "max_iterations", "stalled", "lost_stability", "non_finite", "singular",
          "bad_start", "no_stabilizing_start")
_BAD_START, _NO_START = STATUS.index("bad_start"), STATUS.index("no_stabilizing_start")


@dataclass(frozen=True)
class NashStage:
    """One method run inside a solve: method, accelerated, iterations, status, final residual."""

    method: str
    accelerated: bool
    iterations: int
    status: str
    residual: float


@dataclass(frozen=True)
class LQNashSolution:
    """Result of :func:`lq_nash` (the stable public API).

    Attributes
    ----------
    K : (m, n) array
        Stacked feedback gains, u = -K x.
    gains : list of N (m_i, n) arrays
        The rows of K belonging to each player.
    P : (N, n, n) array
        Value matrices: player i's cost from x0 is x0' P^i x0.
    converged : bool
        True only if ``residual <= tol`` and A - B K is Schur stable.
    iterations : int
        Iterations over all stages (each Newton polish step counts one).
    residual : float
        max(residual_K, residual_P), the certificate.
    method : str
        The method(s) that produced K, e.g. ``"riccati+anderson+newton"``.
    residual_K, residual_P : float
        Relative residuals ||S K - Y||_F / max(||Y||_F, ||S K||_F) of the
        K-equation and max_i ||P^i - (Q^i + K'R^i K + A_K'P^i A_K)||_F / ||P^i||_F
        of the P-equations, both evaluated at the returned (K, P).
    status : str
        One of ``STATUS``: converged, max_iterations, stalled (oscillation or no
        progress), lost_stability, non_finite, singular, ...
    history : (k,) array
        Per-iteration convergence measure of every stage, concatenated.
    stages : tuple of NashStage
    closed_loop : (n, n) array
        A - B K.
    """

    K: np.ndarray
    gains: list
    P: np.ndarray
    converged: bool
    iterations: int
    residual: float
    method: str
    residual_K: float
    residual_P: float
    status: str
    history: np.ndarray
    stages: tuple
    closed_loop: np.ndarray = field(repr=False)

    @cached_property
    def spectral_radius(self) -> float:
        """Spectral radius of the closed loop A - B K (< 1 for a stabilizing K)."""
        return float(np.max(np.abs(np.linalg.eigvals(self.closed_loop))))

    def costs(self, Sigma0) -> np.ndarray:
        """J^i(K) = tr(P^i Sigma0) for the initial-state second moment Sigma0 = E[x0 x0'], (N,)."""
        Sigma0 = as_float_array("Sigma0", Sigma0, ndim=(1, 2))
        if Sigma0.ndim == 1:
            Sigma0 = np.outer(Sigma0, Sigma0)
        return np.einsum("kij,ji->k", self.P, Sigma0)


def _offsets(dims):
    """First joint-control row of each player, and m: [0, m_1, m_1 + m_2, ..., m]."""
    return list(accumulate(dims, initial=0))


def _own_blocks(Rj, dims):
    """Views R^{ii} of the own-control blocks of the joint weights Rj (N, m, m)."""
    off = _offsets(dims)
    return [Rj[i, off[i]:off[i + 1], off[i]:off[i + 1]] for i in range(len(dims))]


def _prepare(A, B, Q, R, dims):
    """Validate (A, B, Q, R); return A, stacked B, Q (N,n,n), joint R (N,m,m), dims, own R blocks.

    The C++ check (``_core.lq_nash_check_fast``) takes the common forms as given
    and declines (None) for anything else, including every invalid input, which
    :func:`_prepare_general` then validates and reports.
    """
    fast = _core.lq_nash_check_fast(A, B, Q, R, dims, SYM_RTOL)
    if fast is None:
        return _prepare_general(A, B, Q, R, dims)
    B, Q, Rj, dims = fast
    return A, B, Q, Rj, dims, _own_blocks(Rj, dims)


def _prepare_general(A, B, Q, R, dims):
    """:func:`_prepare` for any input form, with the error messages."""
    A = as_float_array("A", A, ndim=2)
    n = A.shape[0]
    check_shape("A", A, (n, n))
    B, dims = split_inputs(B, dims, n)
    N, m = len(dims), sum(dims)
    if isinstance(Q, (list, tuple)):
        Ql = [as_float_array(f"Q[{i}]", q, ndim=2) for i, q in enumerate(Q)]
        if len({q.shape for q in Ql}) > 1:
            raise InputError(f"Q blocks must all have shape ({n}, {n}), got {[q.shape for q in Ql]}")
        Q = np.array(Ql)
    else:
        Q = as_float_array("Q", Q, ndim=3)
    check_shape("Q", Q, (N, n, n))
    check_symmetric("Q", Q)
    Rj, _ = _normalize_R(R, dims, m)
    check_shape("R", Rj, (N, m, m))
    own = _own_blocks(Rj, dims)
    check_symmetric("R", Rj)
    if len(set(dims)) == 1:  # one batched Cholesky for equal control sizes
        check_positive_definite("R own-control block R^ii", np.array(own))
    else:
        for i, r in enumerate(own):
            check_positive_definite(f"R[{i}] own-control block R^ii", r)
    return A, B, Q, Rj, dims, own


def _uncontrollable_mode(A, B, tol=1e-9):
    """PBH test: an eigenvalue |lambda| >= 1 of A with rank [A - lambda I, B] < n, or None."""
    n = A.shape[0]
    for lam in np.linalg.eigvals(A):
        if abs(lam) >= 1.0 - 1e-12:
            M = np.hstack([A - lam * np.eye(n), B])
            s = np.linalg.svd(M, compute_uv=False)
            if s[-1] <= tol * max(s[0], 1.0):
                return lam
    return None


#: Largest Anderson history the iterations accept (the core's kMaxAndersonDepth).
MAX_ANDERSON_DEPTH = _core.max_anderson_depth


def _check_options(method, tol, max_iter, anderson_depth=5):
    if method not in _METHODS:
        raise InputError(f"method must be one of {sorted(_METHODS)}, got {method!r}")
    if not (math.isfinite(tol) and tol > 0):
        raise InputError(f"tol must be a positive number, got {tol}")
    if int(max_iter) < 1:
        raise InputError(f"max_iter must be >= 1, got {max_iter}")
    if not 0 <= int(anderson_depth) <= MAX_ANDERSON_DEPTH:
        raise InputError(f"anderson_depth must be between 0 and {MAX_ANDERSON_DEPTH}, got {anderson_depth}")


def _solve(A, B, Q, Rj, M, dims, *, method, K0, tol, max_iter, anderson_depth, stall_window, polish,
           raise_on_failure):
    _check_options(method, tol, max_iter, anderson_depth)
    n, m = A.shape[0], B.shape[1]
    if K0 is not None:
        K0 = as_float_array("K0", K0, ndim=2)
        check_shape("K0", K0, (m, n))
    out = _core.lq_nash(A, B, Q, Rj, M, list(dims), K0, _METHODS[method], float(tol), int(max_iter),
                        int(anderson_depth), int(stall_window), bool(polish))
    return _solution(out, A, B, K0, dims, tol, raise_on_failure)


def _stage(method, accelerated, iterations, status, residual):
    st = object.__new__(NashStage)  # the frozen dataclass's fields, without its per-field __setattr__
    st.__dict__.update(method=_METHOD_NAMES[method], accelerated=accelerated, iterations=iterations,
                       status=STATUS[status], residual=residual)
    return st


def _solution(out, A, B, K0, dims, tol, raise_on_failure):
    """The core's tuple (bind_lq_nash.cpp result_tuple) as an LQNashSolution, or the error it means.

    A, B (stacked), K0: the solve's data, read only on the failure paths.
    """
    K, P, closed_loop, converged, iterations, status, residual, method, res_K, res_P, history, stages = out
    if status == _BAD_START:
        rho = float(np.max(np.abs(np.linalg.eigvals(A - B @ K0))))
        raise InputError(f"K0 is not stabilizing: spectral radius of A - B K0 is {rho:.6g} >= 1")
    if status == _NO_START:
        lam = _uncontrollable_mode(A, B)
        if lam is not None:
            raise InputError(f"(A, B) is not stabilizable: the eigenvalue {lam:.6g} of A (|lambda| >= 1) "
                             "is not controllable (PBH test)")
        raise SolveError("no stabilizing start gain found (the summed-cost LQR did not stabilize A - B K); "
                         "give a stabilizing K0")
    stages = tuple([_stage(*s) for s in stages])
    off = _offsets(dims)
    sol = object.__new__(LQNashSolution)  # as lq.py: the fields, without the per-field __setattr__
    sol.__dict__.update(
        K=K, gains=[K[off[i]:off[i + 1]] for i in range(len(dims))], P=P, converged=converged,
        iterations=iterations, residual=residual, method=method, residual_K=res_K, residual_P=res_P,
        status=STATUS[status], history=history, stages=stages, closed_loop=closed_loop)
    if raise_on_failure and not converged:
        summary = ", ".join(f"{s.method}{'+anderson' if s.accelerated else ''}: {s.status} after "
                            f"{s.iterations} it (residual {s.residual:.2e})" for s in stages)
        raise ConvergenceError(f"lq_nash found no stabilizing Nash equilibrium to tol={tol:g}: {summary}; "
                               f"best residual {residual:.3g}")
    return sol


def lq_nash(A, B, Q, R, *, dims=None, method="auto", K0=None, tol=1e-10, max_iter=1000,
            anderson_depth=5, stall_window=0, polish=True) -> LQNashSolution:
    """Feedback Nash equilibrium of an infinite-horizon LQ game ([theory §3]).

    Solves the coupled algebraic Riccati equations

        P^i = Q^i + K'R^i K + A_K' P^i A_K,    A_K = A - B K,
        (R^{ii} + B^i'P^i B^i) K^i + B^i'P^i sum_{j!=i} B^j K^j = B^i'P^i A,

    for a stabilizing K (u = -K x), the multi-player analogue of
    ``scipy.linalg.solve_discrete_are``.

    Parameters
    ----------
    A : (n, n) array_like
    B : list of N (n, m_i) arrays, or (n, m) array with ``dims``
    Q : (N, n, n) array_like or list of N (n, n)
        State weights, symmetric (positive semidefinite).
    R : list of N (m_i, m_i) own-control weights, or N joint (m, m) weights
        Symmetric; each own block R^{ii} positive definite.
    dims : sequence of int, optional
        (m_1, ..., m_N); required when B is stacked.
    method : {"auto", "lyapunov", "riccati", "newton"}
        ``"lyapunov"``: Li & Gajic iteration from K0 (P^i(K) by Stein equations,
        then the stacked K solve). ``"riccati"``: the finite-horizon stage map
        iterated to a fixed point (from P(K0) if K0 is given, else from P = Q).
        ``"newton"``: Newton on F(K) = S(P(K)) K - Y(P(K)) with the exact
        Jacobian (implicit Stein derivatives) and a stabilizing backtracking line
        search. ``"auto"`` (default): a sequence of attempts that stops at the
        first certified answer -- Anderson-accelerated Riccati iteration from
        P(K0); on oscillation, divergence, stall or a failed certificate the
        Anderson-accelerated Lyapunov iteration from the best stabilizing iterate;
        damped Newton from the best iterate and from K0; finally the plain
        Lyapunov iteration from K0 and the plain / accelerated Riccati iteration
        from P = Q -- then Newton polish steps when cheap ((m n)^2 N <= 4096) or
        needed. ``stages`` lists every attempt.
    K0 : (m, n) array_like, optional
        Stabilizing start. Default ([theory §3]): 0 if A is Schur stable, otherwise the
        LQR gain of the summed costs with all controls.
    tol : float
        Certificate tolerance on ``residual`` (relative residuals of both
        equations at the returned (K, P)).
    max_iter : int
        Iteration budget of each stage.
    anderson_depth, stall_window : int
        Anderson history length (auto); iterations without halving the best
        residual after which a stage counts as stalled (0: 40 in auto, 200 for
        an explicit method).
    polish : bool
        Newton polish in auto.

    Returns
    -------
    LQNashSolution
        ``converged`` is True only when the certificate holds. With an explicit
        ``method`` an unconverged result is returned (``converged=False``, with
        ``status`` saying why); ``"auto"`` raises instead.

    Raises
    ------
    InputError
        Bad shapes / non-finite / non-symmetric data, R^{ii} not positive
        definite, K0 not stabilizing, (A, B) not stabilizable.
    SolveError
        No stabilizing start could be built.
    ConvergenceError
        ``method="auto"`` found no certified stabilizing equilibrium.

    Notes
    -----
    The Riccati iteration need not converge for general-sum games (on paper
    000's appendix-A game it oscillates from P = Q); Anderson mixing of its
    fixed-point map turns that into a 15-20 iteration solve. The Lyapunov
    iteration converges linearly (about 170 iterations on the same game).
    Newton's Jacobian is dF = S dK - [B^i' dP^i A_K]_i with
    dP^i = A_K' dP^i A_K + dK'G^i + G^i'dK, G^i = R^i K - B'P^i A_K.

    References
    ----------
    [theory §3]; T.-Y. Li, Z. Gajic, "Lyapunov iterations for solving coupled
    algebraic Riccati equations of Nash differential games" (1995); [MA-GPS]
    section III-B and appendix A.

    Examples
    --------
    >>> from gamesolve import lq_nash
    >>> from gamesolve.examples import lq_example
    >>> g = lq_example()
    >>> sol = lq_nash(g.A, g.B, g.Q, g.R)
    >>> sol.converged and sol.residual <= 1e-12
    True
    """
    fast = _core.lq_nash_fast(A, B, Q, R, dims, K0, method, tol, max_iter, anderson_depth, stall_window, polish,
                              SYM_RTOL)
    if fast is not None:  # checked and solved in C++ (see the module docstring)
        out, B, dims = fast
        return _solution(out, A, B, K0, dims, tol, method == "auto")
    A, B, Q, Rj, dims, _ = _prepare_general(A, B, Q, R, dims)
    return _solve(A, B, Q, Rj, None, dims, method=method, K0=K0, tol=tol, max_iter=max_iter,
                  anderson_depth=anderson_depth, stall_window=stall_window, polish=polish,
                  raise_on_failure=(method == "auto"))


def guided_cost_data(A, B, Q, R, K_guide, rho, dims=None):
    """The guided game of [MA-GPS] eq. 13 as an LQ game with cross terms ([theory §3]).

    Returns (A, B, Q_hat, R_hat, M, dims, own) with R_hat^{ii} = (1 + rho) R^{ii},
    Q_hat^i = Q^i + rho Kg^i' R^{ii} Kg^i, M^i_[i] = rho R^{ii} Kg^i, since
    rho (u^i + Kg^i x)' R^{ii} (u^i + Kg^i x) = rho u^i'R^{ii}u^i + 2 rho u^i'R^{ii}Kg^i x
    + rho x'Kg^i'R^{ii}Kg^i x.
    """
    A, B, Q, Rj, dims, own = _prepare(A, B, Q, R, dims)
    n, m = A.shape[0], B.shape[1]
    Kg = as_float_array("K_guide", K_guide, ndim=2)
    check_shape("K_guide", Kg, (m, n))
    rho = float(rho)
    if not (np.isfinite(rho) and rho >= 0):
        raise InputError(f"rho must be a finite number >= 0, got {rho}")
    # The substitution itself is the C++ core's (lq_nash.hpp guided_problem), which
    # guided_lq_nash's fast path also uses.
    Qh, Rh, M = _core.guided_game(A, B, Q, Rj, list(dims), Kg, rho)
    return A, B, Qh, Rh, M, dims, own


def guided_lq_nash(A, B, Q, R, K_guide, rho, *, dims=None, method="auto", K0=None, tol=1e-10,
                   max_iter=1000) -> LQNashSolution:
    """Nash equilibrium of the guided (policy-regularized) LQ game, [MA-GPS] eq. 13.

    Player i pays J^i(K) + rho E sum_t x_t'(K^i - Kg^i)'R^i(K^i - Kg^i)x_t. By the
    substitution of [theory §3] (see :func:`guided_cost_data`) this is an LQ game with
    R^{ii} -> (1 + rho) R^{ii}, Q^i -> Q^i + rho Kg^i'R^{ii}Kg^i and cross term
    M^i_[i] = rho R^{ii} Kg^i, solved by the same C++ solver as :func:`lq_nash`.
    The returned ``P`` is the guided value P-hat, and the equilibrium satisfies
    [MA-GPS] Lemma 2:  R^i K^i = (B^i' P-hat^i A_K + rho R^i Kg^i) / (1 + rho).

    Parameters
    ----------
    A, B, Q, R, dims : as in :func:`lq_nash`
    K_guide : (m, n) array_like
        The guiding policy Kg (stacked like K).
    rho : float >= 0
        Guidance weight; rho = 0 gives the original game.
    method, K0, tol, max_iter : as in :func:`lq_nash`

    Returns
    -------
    LQNashSolution

    Examples
    --------
    Guiding towards the Nash gain itself leaves the equilibrium in place (the
    extra cost and its gradient vanish there):

    >>> from gamesolve import guided_lq_nash, lq_nash
    >>> from gamesolve.examples import lq_example
    >>> g = lq_example()
    >>> Kg = lq_nash(g.A, g.B, g.Q, g.R).K
    >>> sol = guided_lq_nash(g.A, g.B, g.Q, g.R, Kg, 0.1)
    >>> bool(sol.residual <= 1e-12 and abs(sol.K - Kg).max() <= 1e-12)
    True
    """
    fast = _core.guided_lq_nash_fast(A, B, Q, R, dims, K_guide, rho, K0, method, tol, max_iter, SYM_RTOL)
    if fast is not None:  # checked, substituted and solved in C++ (as lq_nash's fast path)
        out, B, dims = fast
        return _solution(out, A, B, K0, dims, tol, method == "auto")
    A, B, Qh, Rh, M, dims, _ = guided_cost_data(A, B, Q, R, K_guide, rho, dims)
    return _solve(A, B, Qh, Rh, M, dims, method=method, K0=K0, tol=tol, max_iter=max_iter,
                  anderson_depth=5, stall_window=0, polish=True, raise_on_failure=(method == "auto"))
