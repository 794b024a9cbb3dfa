"""Independent softmax policy-gradient learners for Markov (potential) games.

Each player i holds tabular softmax parameters theta^i (S, A_i),
pi^i(a_i|s) = exp(theta^i_{s,a_i}) / sum_b exp(theta^i_{s,b}), and all players update together
(Chen, Zhang and Doan, "Convergence and Price of Anarchy Guarantees of the Softmax Policy
Gradient in Markov Potential Games", 2022):

* ``"pg"`` -- theta^i += eta d_mu(s) pi^i(a_i|s) A^i(s, a_i) (the exact gradient of V^i(mu),
  their Lemma 3.1);
* ``"log-barrier"`` -- the same plus the gradient of the log barrier
  lambda sum_i (sum_{s,a_i} log pi^i(a_i|s)) / (S A_i), i.e. lambda (1 - A_i pi^i(a_i|s)) / (S A_i);
* ``"npg"`` -- natural policy gradient, theta^i += eta / (1 - gamma) A^i(s, a_i) (the Fisher
  matrix taken under the normalized visitation (1 - gamma) d_mu; soft policy iteration);
* ``"npg-br"`` -- NPG with maximum-gain best-response dynamics (their eqs. 5-6): every player
  runs K NPG steps on its own induced MDP with the others frozen, and only the player whose
  value gains most keeps its new parameters.

Every method accepts ``lam`` > 0 to add the log-barrier gradient to its direction (the
paper's dashed "regularized" curves); ``"log-barrier"`` is ``"pg"`` with ``lam`` required.
All run a batch of initializations in one call; the Nash gap and the price of anarchy are
recorded exactly after every iteration.

With ``estimator="exact"`` the whole loop (policy evaluation, update, Nash gap by policy
iteration, POA) runs in the compiled kernel ``gamesolve._core.MarkovKernel``
(cpp/src/markov.cpp), with the GIL released; ``estimator="sample"`` runs the same updates on
simulated estimates here (:func:`sampled_loop`), recording the kernel's exact Nash gap and POA.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..results import Info, Status, summary
from .exact import unpad, welfare_optimum
from .game import MarkovGame

__all__ = ["learn", "LearnResult", "METHODS", "softmax", "barrier_gradient"]

METHODS = ("pg", "log-barrier", "npg", "npg-br")
#: The kernel's method codes ("log-barrier" is "pg" with lam > 0).
_KERNEL_METHOD = {"pg": 0, "log-barrier": 0, "npg": 1, "npg-br": 2}


@dataclass(frozen=True, repr=False)
class LearnResult:
    """What :func:`learn` returns.

    Attributes
    ----------
    policies : list of N arrays (..., S, A_i)
        The final policies (leading axis B when several initializations were run).
    theta : list of N arrays (..., S, A_i)
        The final softmax parameters.
    nash_gap : (..., iterations + 1) ndarray
        The exact Nash gap of the iterates, the initial policies first.
    poa : (..., iterations + 1) ndarray
        The exact price of anarchy of the iterates.
    status : Status
        CONVERGED if every run's final Nash gap is <= ``tol``, DIVERGED on non-finite
        parameters, else MAX_ITERATIONS.
    info : Info
        ``residual``: the largest final Nash gap; ``residuals``: the largest Nash gap after
        each iteration.
    method : str
    """

    policies: list
    theta: list
    nash_gap: np.ndarray
    poa: np.ndarray
    status: Status
    info: Info = field(default_factory=Info)
    method: str = ""

    def __repr__(self) -> str:
        return summary("LearnResult", self.status,
                       {"method": self.method, "nash_gap": float(np.max(self.nash_gap[..., -1])),
                        "poa": float(np.min(self.poa[..., -1])), "info": self.info})


def softmax(theta: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """pi(a|s) = exp(theta_{s,a}) / sum_b exp(theta_{s,b}) over the real actions (``mask``), zero elsewhere."""
    z = theta if mask.all() else np.where(mask[:, None, :], theta, -np.inf)  # all A_i equal: no padding
    z = np.exp(z - z.max(-1, keepdims=True))
    z /= z.sum(-1, keepdims=True)
    return z


def barrier_gradient(pol: np.ndarray, lam: float, mask: np.ndarray) -> np.ndarray:
    """Gradient of lambda sum_i sum_{s,a_i} log pi^i(a_i|s) / (S A_i): lambda (1 - A_i pi) / (S A_i)."""
    S = pol.shape[-2]
    counts = mask.sum(-1)[:, None, None]  # (N, 1, 1)
    return np.where(mask[:, None, :], lam * (1.0 - counts * pol) / (S * counts), 0.0)


def _direction(method, game, pol, grad, adv, lam):
    """The update direction of "pg" / "log-barrier" / "npg" from a gradient and an advantage estimate."""
    mask = game.joint.mask
    if method == "npg":
        step = (adv if game.joint.square else np.where(mask[:, None, :], adv, 0.0)) / (1.0 - game.gamma)
    else:
        step = grad
    return step + barrier_gradient(pol, lam, mask) if lam else step


def _npg_br_update(game, theta, pol, adv, value, eta, lam, K, estimator):
    """One maximum-gain best-response round (eqs. 5-6): K NPG steps per player, keep the best gain."""
    mask = game.joint.mask
    th, pol_k = theta, pol
    for k in range(K):
        if k:
            adv = estimator.induced_advantage(game, pol, pol_k)
        th = th + eta * _direction("npg", game, pol_k, None, adv, lam)
        pol_k = softmax(th, mask)
    gain = estimator.induced_value(game, pol, pol_k) - value  # (B, N)
    best = gain.argmax(-1)
    rows = np.arange(theta.shape[0])
    out = theta.copy()
    out[rows, best] = th[rows, best]
    return out


def metrics(game: MarkovGame, pol: np.ndarray, optimum: float):
    """Exact Nash gap (B,) and price of anarchy (B,) of a batch of profiles (B, N, S, A_max) (compiled kernel)."""
    gains, values = game.joint.kernel.player_gains(pol)
    return gains.max(-1), values.sum(-1) / optimum


def sampled_loop(game, method, theta, *, iterations, step, lam, inner_steps, estimator, optimum):
    """The learner loop on simulated estimates (``estimator``: a :class:`gamesolve.markov.sampled.Sampler`).

    Returns ``(theta, pol, gaps, poa)`` as the kernel's ``learn`` does: the final parameters and
    policies (B, N, S, A_max) and the exact histories (B, iterations + 1).
    """
    mask = game.joint.mask
    gaps = np.full((theta.shape[0], iterations + 1), np.nan)
    poa = np.full_like(gaps, np.nan)
    kind = "pg" if method == "log-barrier" else method
    for t in range(iterations + 1):
        pol = softmax(theta, mask)
        if not np.all(np.isfinite(theta)):
            break
        gaps[:, t], poa[:, t] = metrics(game, pol, optimum)
        if t == iterations:
            break
        grad, adv, value = estimator.estimates(game, pol)
        if kind == "npg-br":
            theta = _npg_br_update(game, theta, pol, adv, value, step, lam, inner_steps, estimator)
        else:
            theta = theta + step * _direction(kind, game, pol, grad, adv, lam)
    return theta, pol, gaps, poa


def finish(method, game, gaps, poa, pol, theta, batch, tol, t_start) -> LearnResult:
    """Assemble a LearnResult (status from the final gaps and the finiteness of ``theta``)."""
    finite = np.all(np.isfinite(theta))
    final = gaps[:, -1]
    status = (Status.DIVERGED if not finite else
              Status.CONVERGED if np.all(final <= tol) else Status.MAX_ITERATIONS)
    iterations = gaps.shape[1] - 1
    info = Info(iterations=iterations, residual=float(np.max(final)), residuals=gaps[:, 1:].max(0),
                time=time.perf_counter() - t_start)
    shape = batch + (iterations + 1,)
    return LearnResult(policies=unpad(game, pol, batch), theta=unpad(game, theta, batch),
                       nash_gap=gaps.reshape(shape), poa=poa.reshape(shape), status=status, info=info,
                       method=method)


def _initial_theta(game, theta0, n_inits, seed):
    lay = game.joint
    if theta0 is None:
        B = 1 if n_inits is None else int(n_inits)
        if B < 1:
            raise InputError(f"n_inits must be a positive integer, got {n_inits}")
        theta = np.random.default_rng(seed).standard_normal((B, game.n_players, game.n_states, lay.A_max))
        return np.where(lay.mask[:, None, :], theta, 0.0), (() if n_inits is None else (B,))
    if len(theta0) != game.n_players:
        raise InputError(f"theta0 must hold one (S, A_i) array per player ({game.n_players}), got {len(theta0)}")
    arrs = [np.asarray(t, float) for t in theta0]
    batch = arrs[0].shape[:-2]
    for i, t in enumerate(arrs):
        want = batch + (game.n_states, game.n_actions[i])
        if t.shape != want:
            raise InputError(f"theta0[{i}] must have shape {want}, got {t.shape}")
        if not np.all(np.isfinite(t)):
            raise InputError(f"theta0[{i}] must be finite")
    if len(batch) > 1:
        raise InputError(f"theta0 may carry at most one batch axis, got batch shape {batch}")
    B = batch[0] if batch else 1
    theta = np.zeros((B, game.n_players, game.n_states, lay.A_max))
    for i, t in enumerate(arrs):
        theta[:, i, :, :t.shape[-1]] = t.reshape(B, game.n_states, -1)
    return theta, batch


def learn(game: MarkovGame, method: str, *, iterations: int, step: float, theta0=None, n_inits=None,
          seed: int = 0, lam: float = 0.0, inner_steps: int = 5, estimator: str = "exact",
          episodes: int = 32, horizon: int | None = None, tol: float = 1e-6) -> LearnResult:
    """Run a softmax policy-gradient learner and record the Nash gap and price of anarchy.

    Parameters
    ----------
    game : MarkovGame
    method : {"pg", "log-barrier", "npg", "npg-br"}
        See the module docstring for the updates.
    iterations : int
        Number of updates T (for "npg-br": outer rounds, each of ``inner_steps`` NPG steps).
    step : float
        The step size eta > 0.
    theta0 : list of N arrays (S, A_i) or (B, S, A_i), optional
        Initial parameters; default i.i.d. standard normal (the paper's initialization).
    n_inits : int, optional
        Without ``theta0``: run this many random initializations as one batch (results gain a
        leading axis B). None: a single run without batch axis.
    seed : int
        Seeds the initialization and the sampled estimator.
    lam : float
        Log-barrier coefficient lambda >= 0 (required > 0 for "log-barrier").
    inner_steps : int
        K, NPG steps per player per round of "npg-br".
    estimator : {"exact", "sample"}
        "exact": gradients and advantages by linear solves. "sample": REINFORCE estimates from
        ``episodes`` simulated episodes (see :mod:`gamesolve.markov.sampled`); the recorded
        Nash gap and POA stay exact.
    episodes, horizon : int
        Sampled estimator only: episodes per estimate and the truncation horizon.
    tol : float
        Status CONVERGED when every run's final Nash gap is <= ``tol``.

    Returns
    -------
    LearnResult
        ``.policies``, ``.theta``, ``.nash_gap`` and ``.poa`` (..., iterations + 1), ``.status``, ``.info``.

    Raises
    ------
    InputError
        Unknown ``method`` or ``estimator``, non-positive ``iterations`` / ``step`` / ``inner_steps``,
        negative ``lam``, bad ``theta0``.

    Examples
    --------
    >>> from gamesolve.markov import coordination_game, nash_gap
    >>> g = coordination_game(2)
    >>> res = learn(g, "npg", iterations=50, step=0.1, n_inits=3, seed=1)
    >>> res.nash_gap.shape
    (3, 51)
    >>> bool(abs(res.nash_gap[:, -1] - nash_gap(g, res.policies)).max() < 1e-9)
    True
    """
    t_start = time.perf_counter()
    if method not in METHODS:
        raise InputError(f"method must be one of {METHODS}, got {method!r}")
    if estimator not in ("exact", "sample"):
        raise InputError(f"estimator must be 'exact' or 'sample', got {estimator!r}")
    if not isinstance(iterations, (int, np.integer)) or iterations < 0:
        raise InputError(f"iterations must be a non-negative integer, got {iterations!r}")
    if not step > 0:
        raise InputError(f"step must be positive, got {step}")
    if not lam >= 0:
        raise InputError(f"lam must be non-negative, got {lam}")
    if method == "log-barrier" and not lam > 0:
        raise InputError("lam must be positive for method 'log-barrier'")
    if method == "npg-br" and (not isinstance(inner_steps, (int, np.integer)) or inner_steps < 1):
        raise InputError(f"inner_steps must be a positive integer, got {inner_steps!r}")
    theta, batch = _initial_theta(game, theta0, n_inits, seed)
    opt = welfare_optimum(game)
    if estimator == "exact":
        theta, pol, gaps, poa = game.joint.kernel.learn(theta, _KERNEL_METHOD[method], int(iterations), float(step),
                                                        float(lam), int(inner_steps) if method == "npg-br" else 1, opt)
    else:
        from .sampled import Sampler

        est = Sampler(game, np.random.default_rng(seed + 1), episodes=episodes, horizon=horizon)
        theta, pol, gaps, poa = sampled_loop(game, method, theta, iterations=iterations, step=step, lam=lam,
                                             inner_steps=inner_steps, estimator=est, optimum=opt)
    return finish(method, game, gaps, poa, pol, theta, batch, tol, t_start)
