"""NePPO's search: the smooth-max objective F and zeroth-order descent over the potential's parameters.

[NePPO] Algorithm 1 with exact or pluggable solvers (``docs/neppo.md``). For a potential
family Phi_theta (:mod:`gamesolve.potential.family`), with gaps gap_i(theta) at the
cooperative solution pi_theta::

    F(theta) = (1/beta) log( (1/N) sum_i exp(beta gap_i(theta)) )                 (smooth max)

(the paper's (1/beta) log sum_i exp(beta gap_i) minus the constant log(N)/beta: the same
minimizers and gradients, and F = 0 exactly when every gap is 0;
max_i gap_i - log(N)/beta <= F <= max_i gap_i). Each iteration averages the two-point
zeroth-order estimate over K directions v_k uniform on the unit sphere of R^d::

    g_t = (1/K) sum_k (d / (2 delta)) (F(theta_t + delta v_k) - F(theta_t - delta v_k)) v_k
    theta_{t+1} = proj(theta_t - eta_t g_t),       eta_t = eta / sqrt(t + 1)

The search may run on a smoothed cooperative solution (temperature > 0); the returned
profile is the exact (temperature 0) cooperative solution at the final theta, and its gaps
and epsilon = max_i gap_i are computed against exact best responses.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .. import equilibrium
from .._validate import as_float_array
from ..errors import InputError
from ..results import Info, Status, summary
from .family import PotentialFamily, as_potential, gaps_many, potential_gaps

__all__ = ["smooth_max", "zeroth_order_gradient", "unit_directions", "objective", "neppo", "NePPOResult",
           "NePPOSettings", "NePPOHistory", "box"]


def smooth_max(gaps, beta: float) -> float:
    """(1/beta) log((1/N) sum_i exp(beta gap_i)) of the N gaps (stable log-sum-exp); +inf if any gap is +inf.

    Examples
    --------
    >>> smooth_max([0.0, 0.0], 1e4), round(smooth_max([0.5, 0.0], 1e4), 4)
    (0.0, 0.4999)
    """
    g = np.asarray(gaps, dtype=float)
    top = float(np.max(g))
    if not np.isfinite(top):
        return top
    return top + float(np.log(np.mean(np.exp(beta * (g - top))))) / beta


def unit_directions(rng: np.random.Generator, count: int, dim: int) -> np.ndarray:
    """``count`` directions uniform on the unit sphere of R^dim (normalized Gaussians), (count, dim)."""
    z = rng.standard_normal((count, dim))
    return z / np.linalg.norm(z, axis=1, keepdims=True)


def zeroth_order_gradient(f: Callable, theta, *, delta: float, directions=1, rng=None,
                          batched: bool = False) -> np.ndarray:
    """Two-point zeroth-order gradient of ``f`` at ``theta`` averaged over directions ([NePPO] eq. 7).

    g = (1/K) sum_k (d / (2 delta)) (f(theta + delta v_k) - f(theta - delta v_k)) v_k.

    Parameters
    ----------
    f : callable ``(d,) -> float``
    theta : (d,) array_like
    delta : float > 0
        The smoothing radius.
    directions : int or (K, d) array_like
        K (directions drawn uniform on the unit sphere with ``rng``) or the unit directions themselves.
    rng : numpy Generator or int seed, optional
    batched : bool
        If True, ``f`` maps a (B, d) array of points to (B,) values and is called once.

    Returns
    -------
    (d,) ndarray
        An unbiased estimate of the gradient of the ball-smoothed f_delta(theta) = E_u f(theta + delta u),
        u uniform in the unit ball; for a quadratic f exactly (1/K) sum_k d (grad f . v_k) v_k.
    """
    theta = np.asarray(theta, dtype=float)
    d = theta.size
    if np.ndim(directions) == 0:
        V = unit_directions(np.random.default_rng(rng), int(directions), d)
    else:
        V = np.asarray(directions, dtype=float).reshape(-1, d)
    points = np.concatenate([theta + delta * V, theta - delta * V])
    vals = np.asarray(f(points), dtype=float) if batched else np.array([f(p) for p in points])
    diffs = vals[:len(V)] - vals[len(V):]
    return (d / (2.0 * delta)) * (diffs @ V) / len(V)


def box(lo, hi) -> Callable:
    """The projection theta -> clip(theta, lo, hi) onto a box."""
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    return lambda theta: np.clip(theta, lo, hi)


@dataclass(frozen=True)
class NePPOSettings:
    """NePPO's options (keyword-only arguments of :func:`neppo`; see its docstring)."""

    iterations: int = 500
    beta: float = 1e4
    delta: float = 1e-2
    step: float | Callable = 0.05
    directions: int = 10
    temperature: float = 0.0
    projection: Callable | None = None
    seed: int | None = 0
    tol: float = 1e-9

    def eta(self, t: int) -> float:
        """The step eta_t: ``step / sqrt(t + 1)`` for a number, ``step(t)`` for a callable."""
        return float(self.step(t)) if callable(self.step) else self.step / np.sqrt(t + 1.0)


@dataclass(frozen=True, repr=False)
class NePPOHistory:
    """The search path: ``theta`` (iterations + 1, d) and the searched objective F at each iterate."""

    theta: np.ndarray
    objective: np.ndarray


@dataclass(frozen=True, repr=False)
class NePPOResult:
    """What :func:`neppo` returns.

    Attributes
    ----------
    theta : (d,) ndarray
        The final potential parameters.
    policies : profile
        The exact (temperature 0) cooperative solution pi_theta at ``theta``, in the game type's
        profile layout (Markov: N arrays (S, A_i); LQ: K, or (K, k) with a horizon).
    gaps : (N,) ndarray
        gap_i(theta) at ``policies`` against exact best responses.
    epsilon : float
        max_i gaps: ``policies`` is an epsilon-Nash equilibrium ([NePPO] Theorem 3.1).
    regrets : (N,) ndarray
        Each player's exact gain from deviating to its best response; ``nash_gap`` = their max <= epsilon.
    history : NePPOHistory
    status : Status
        CONVERGED if epsilon <= ``tol``, DIVERGED on non-finite parameters, else MAX_ITERATIONS.
    info : Info
        ``residual`` = epsilon, ``residuals`` = the searched objective after each iteration.
    settings : NePPOSettings
    exact : bool
        True when gaps come from the game family's exact best responses and values; False
        when the game type has none and the plugged solvers were used instead.
    """

    theta: np.ndarray
    policies: object
    gaps: np.ndarray
    epsilon: float
    regrets: np.ndarray
    history: NePPOHistory
    status: Status
    info: Info = field(default_factory=Info)
    settings: NePPOSettings = field(default_factory=NePPOSettings)
    exact: bool = True

    @property
    def nash_gap(self) -> float:
        """max_i regrets: the exact Nash gap of ``policies``."""
        return float(np.max(self.regrets))

    def __repr__(self) -> str:
        return summary("NePPOResult", self.status, {"theta": self.theta, "epsilon": self.epsilon,
                                                     "nash_gap": self.nash_gap, "info": self.info})


def _cooperative(potential: PotentialFamily, cooperative):
    return cooperative or (lambda game, theta, temperature, **ctx:
                           potential.cooperative(game, theta, temperature=temperature, **ctx))


def objective(game, potential, theta, *, beta: float = 1e4, temperature: float = 0.0, cooperative=None,
              best_response=None, values=None, context=None) -> float:
    """F(theta) = smooth_max(gaps at the cooperative solution pi_theta, beta) (module docstring).

    With the defaults (temperature 0, exact solvers) this is the paper's objective up to the
    constant log(N)/beta; the arguments are those of :func:`neppo`.
    """
    theta = np.asarray(theta, dtype=float)
    potential = as_potential(game, potential, theta.size)
    ctx = dict(context or {})
    profile = _cooperative(potential, cooperative)(game, theta, temperature, **ctx)
    gaps, _ = potential_gaps(game, potential, theta, profile, best_response=best_response, values=values, **ctx)
    return smooth_max(gaps, beta)


def _positive(name: str, x) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a positive number, got {x!r}") from None
    if not (np.isfinite(v) and v > 0):
        raise InputError(f"{name} must be a positive finite number, got {x!r}")
    return v


def _count(name: str, x, minimum: int) -> int:
    if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < minimum:
        raise InputError(f"{name} must be an integer >= {minimum}, got {x!r}")
    return int(x)


def _settings(iterations, beta, delta, step, directions, temperature, projection, seed, tol) -> NePPOSettings:
    if not callable(step):
        step = _positive("step", step)
    temperature = float(temperature)
    if not (np.isfinite(temperature) and temperature >= 0):
        raise InputError(f"temperature must be a finite number >= 0, got {temperature!r}")
    if isinstance(projection, tuple):
        projection = box(*projection)
    if projection is not None and not callable(projection):
        raise InputError(f"projection must be a callable theta -> theta or a (lo, hi) box, got {projection!r}")
    return NePPOSettings(iterations=_count("iterations", iterations, 0), beta=_positive("beta", beta),
                         delta=_positive("delta", delta), step=step, directions=_count("directions", directions, 1),
                         temperature=temperature, projection=projection, seed=seed, tol=float(tol))


def _theta0(potential: PotentialFamily, theta0) -> np.ndarray:
    theta = as_float_array("theta0", theta0)
    if theta.ndim > 1 or theta.size == 0:
        raise InputError(f"theta0 must be a non-empty vector (d,), got shape {theta.shape}")
    theta = theta.reshape(-1)
    if potential.dim is not None and theta.size != potential.dim:
        raise InputError(f"theta0 must have shape ({potential.dim},) for this potential family, got {theta.shape}")
    return theta


def _final_gaps(game, potential, theta, profile, best_response, values, ctx):
    """Gaps and regrets of ``profile`` against the game family's exact solvers (or the plugged ones), and
    whether they were exact."""
    try:
        equilibrium.family_of(game)
    except TypeError:
        gaps, regrets = potential_gaps(game, potential, theta, profile, best_response=best_response, values=values,
                                       **ctx)
        return gaps, regrets, False
    return (*potential_gaps(game, potential, theta, profile, **ctx), True)


def neppo(game, potential, theta0, *, iterations: int = 500, beta: float = 1e4, delta: float = 1e-2,
          step: float | Callable = 0.05, directions: int = 10, temperature: float = 0.0, projection=None,
          seed: int | None = 0, tol: float = 1e-9, cooperative=None, best_response=None, values=None,
          context=None) -> NePPOResult:
    """Near-potential policy optimization: search a potential family for a near-Nash cooperative solution.

    Minimizes the smooth max F of the players' gaps (module docstring) over the potential's
    parameters theta by zeroth-order descent ([NePPO] Algorithm 1), then returns the exact
    cooperative solution at the final theta with its certificate epsilon.

    Parameters
    ----------
    game : MarkovGame, LQGame, or any game with a registered equilibrium family
        A normal-form game is a MarkovGame with S = 1, gamma = 0.
    potential : PotentialFamily or callable
        The family Phi_theta (:mod:`gamesolve.potential.family`). A plain callable
        ``theta -> data`` is a reward table (S, A_1, ..., A_N) for a Markov game
        (:class:`~gamesolve.potential.tabular.RewardPotential`) or ``(Q, R)`` potential cost
        weights for an LQ game (:class:`~gamesolve.potential.lq.CostPotential`).
    theta0 : (d,) array_like
        The initial parameters (projected first when ``projection`` is given).
    iterations : int
        Descent steps.
    beta : float > 0
        Sharpness of the smooth max.
    delta : float > 0
        Radius of the two-point estimate.
    step : float > 0 or callable ``t -> eta_t``
        A number eta gives eta_t = eta / sqrt(t + 1).
    directions : int >= 1
        Directions averaged per gradient estimate.
    temperature : float >= 0
        Temperature of the cooperative solution during the search (tabular games: the logit
        solution of :func:`~gamesolve.potential.tabular.team_policy`; ignored by LQ potentials,
        whose cooperative solution is already continuous in theta).
    projection : callable ``theta -> theta`` or (lo, hi), optional
        Applied after every step (a pair: clipping to the box).
    seed : int or None
        Seed of the directions.
    tol : float
        ``status`` is CONVERGED when the final epsilon <= tol.
    cooperative : callable ``(game, theta, temperature, **context) -> profile``, optional
        Replaces ``potential.cooperative`` (e.g. a learner such as MAPPO / HAPPO / PPO).
    best_response : callable ``(game, profile, player, **context) -> (strategy, value)``, optional
        Replaces the exact best response during the search (e.g. PPO).
    values : callable ``(game, profile, **context) -> (N,)``, optional
        Replaces the exact policy values during the search (e.g. Monte-Carlo estimates).
    context : dict, optional
        What values depend on besides the profile (LQ: ``x0`` / ``x0_cov``).

    Returns
    -------
    NePPOResult
        ``.theta``, ``.policies``, ``.gaps``, ``.epsilon``, ``.regrets``, ``.history``,
        ``.status``, ``.info``. Gaps are always those of ``.policies`` against the game family's
        exact best responses (``.exact`` False if the game type has none).

    Raises
    ------
    InputError
        Naming the argument: theta0 of the wrong size, beta / delta / step <= 0,
        directions < 1, a negative temperature, a potential returning a wrong shape or NaN.

    References
    ----------
    A. Kalanther, S. Bharvirkar, S. Sastry, C. Maheshwari, "NePPO: Near-Potential Policy
    Optimization for General-Sum Multi-Agent Reinforcement Learning", Algorithm 1, Theorem 3.1.

    Examples
    --------
    The toy game: NePPO moves the weight w from 0.5 into [0.6, 1], where the cooperative
    choice is the unique Nash equilibrium (A1, B1):

    >>> import gamesolve
    >>> from gamesolve.potential import games
    >>> g = games.toy_game()
    >>> res = gamesolve.neppo(g, games.toy_potential(), [0.5], iterations=40, directions=1,
    ...                       temperature=0.05, projection=(0.0, 1.0))
    >>> bool(0.6 <= res.theta[0] <= 1.0), res.epsilon, [int(p[0].argmax()) for p in res.policies]
    (True, 0.0, [0, 0])
    """
    t_start = time.perf_counter()
    settings = _settings(iterations, beta, delta, step, directions, temperature, projection, seed, tol)
    theta = as_float_array("theta0", theta0)
    potential = as_potential(game, potential, theta.size)
    theta = _theta0(potential, theta)
    ctx = dict(context or {})
    coop = _cooperative(potential, cooperative)

    plugged = {"best_response": best_response, "values": values}

    def F(thetas):  # (B, d) -> (B,): one batched evaluation of the gaps
        profiles = [coop(game, th, settings.temperature, **ctx) for th in thetas]
        gaps, _ = gaps_many(game, potential, thetas, profiles, **plugged, **ctx)
        return np.array([smooth_max(g, settings.beta) for g in gaps])

    proj = settings.projection or (lambda th: th)
    rng = np.random.default_rng(settings.seed)
    theta = np.asarray(proj(theta), dtype=float)
    path, values_F = [theta], [F(theta[None])[0]]
    status = Status.MAX_ITERATIONS
    for t in range(settings.iterations):
        V = unit_directions(rng, settings.directions, theta.size)
        g = zeroth_order_gradient(F, theta, delta=settings.delta, directions=V, batched=True)
        theta = np.asarray(proj(theta - settings.eta(t) * g), dtype=float)
        if not np.all(np.isfinite(theta)):
            status = Status.DIVERGED
            break
        path.append(theta)
        values_F.append(F(theta[None])[0])
    theta = path[-1]
    profile = coop(game, theta, 0.0, **ctx)
    gaps, regrets, exact = _final_gaps(game, potential, theta, profile, best_response, values, ctx)
    epsilon = float(np.max(gaps))
    if status is not Status.DIVERGED and epsilon <= settings.tol:
        status = Status.CONVERGED
    hist = NePPOHistory(theta=np.array(path), objective=np.array(values_F))
    info = Info(iterations=len(path) - 1, residual=epsilon, residuals=hist.objective[1:],
                time=time.perf_counter() - t_start)
    return NePPOResult(theta=theta, policies=profile, gaps=gaps, epsilon=epsilon, regrets=regrets, history=hist,
                       status=status, info=info, settings=settings, exact=exact)
