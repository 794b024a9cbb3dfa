"""Exact quantities of a policy profile in a finite Markov game, by linear solves.

For a product policy pi(a|s) = prod_i pi^i(a_i|s) (notation in :mod:`gamesolve.markov.game`),
with P_pi(s, s') = sum_a pi(a|s) P(s'|s, a), r_pi^i(s) = sum_a pi(a|s) r^i(s, a) and
M_pi = (I - gamma P_pi)^-1:

* V^i = M_pi r_pi^i, V^i(mu) = mu' V^i;
* Q^i(s, a) = r^i(s, a) + gamma sum_s' P(s'|s, a) V^i(s');
* the player's marginal Q^i(s, a_i) = E_{a_-i ~ pi^-i(.|s)} Q^i(s, a_i, a_-i) and advantage
  A^i(s, a_i) = Q^i(s, a_i) - V^i(s);
* the unnormalized discounted visitation d_mu(s) = sum_t gamma^t Pr(s_t = s) = (mu' M_pi)(s),
  summing to 1 / (1 - gamma);
* player i's best response: an optimal policy of its induced MDP
  P_i(s'|s, a_i) = E_{a_-i} P(s'|s, a_i, a_-i), r_i(s, a_i) = E_{a_-i} r^i(s, a_i, a_-i),
  found by policy iteration (exact: it stops when no action improves);
* Nash gap max_i [max_pi' V^i(pi', pi^-i)(mu) - V^i(pi)(mu)] (through :mod:`gamesolve.equilibrium`);
* price of anarchy sum_i V^i(pi)(mu) / max_pi sum_i V^i(pi)(mu), the optimum by value iteration
  on the summed reward, polished to exactness by policy iteration.

Profiles are lists of N arrays (..., S, A_i) with any common leading batch shape; results gain
that batch shape. The kernels work on a padded stack (B, N, S, A_max) (zeros past A_i).

These numpy functions serve the per-profile public API; the learners run the same quantities
in the compiled kernel (``gamesolve._core.MarkovKernel``, cpp/src/markov.cpp), which the tests
compare with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .. import equilibrium
from ..errors import InputError, SolveError
from .game import SIMPLEX_TOL, MarkovGame

__all__ = ["values", "q_values", "advantages", "visitation", "best_response", "player_gaps", "nash_gap",
           "optimal_welfare", "price_of_anarchy"]

#: Policy iteration switches action only for a gain above this (relative) threshold.
IMPROVE_RTOL = 1e-12
#: Value iteration stops when the sup-norm change is below this (then polished exactly).
VI_TOL = 1e-10


# ---- profiles: validation and the padded stack ----------------------------------------------
def as_profile(game: MarkovGame, policies, name: str = "policies"):
    """Validate a profile and return ``(pol, batch_shape)``, ``pol`` of shape (B, N, S, A_max).

    Raises
    ------
    InputError
        Naming ``policies`` / ``policies[i]``: wrong count, mismatched shapes or action counts,
        non-finite entries, rows off the simplex.
    """
    if isinstance(policies, np.ndarray) or not hasattr(policies, "__len__"):
        raise InputError(f"{name} must be a list of {game.n_players} arrays (S, A_i), got {type(policies).__name__}")
    if len(policies) != game.n_players:
        raise InputError(f"{name} must hold one policy per player ({game.n_players}), got {len(policies)}")
    S, lay = game.n_states, game.joint
    arrs = []
    for i, p in enumerate(policies):
        try:
            p = np.asarray(p, dtype=float)
        except (TypeError, ValueError) as exc:
            raise InputError(f"{name}[{i}] must be a real array: {exc}") from None
        want = (S, game.n_actions[i])
        if p.ndim < 2 or p.shape[-2:] != want:
            raise InputError(f"{name}[{i}] must have shape (..., S, A_{i + 1}) = (..., {want[0]}, {want[1]}), "
                             f"got {p.shape}")
        if not np.all(np.isfinite(p)):
            raise InputError(f"{name}[{i}] must be finite, found NaN or inf")
        if np.any(p < -SIMPLEX_TOL) or np.any(np.abs(p.sum(-1) - 1) > 1e-8):
            raise InputError(f"{name}[{i}] rows must lie on the simplex (non-negative, summing to 1)")
        arrs.append(p)
    batch = arrs[0].shape[:-2]
    for i, p in enumerate(arrs):
        if p.shape[:-2] != batch:
            raise InputError(f"{name}[{i}] has batch shape {p.shape[:-2]}, {name}[0] has {batch}")
    B = int(np.prod(batch, dtype=int))
    pol = np.zeros((B, game.n_players, S, lay.A_max))
    for i, p in enumerate(arrs):
        pol[:, i, :, :p.shape[-1]] = np.clip(p, 0, None).reshape(B, S, -1)
    return pol, batch


def unpad(game: MarkovGame, pol: np.ndarray, batch: tuple) -> list[np.ndarray]:
    """The list of N arrays (*batch, S, A_i) of a padded stack (B, N, S, A_max)."""
    return [pol[:, i, :, :a].reshape(batch + (game.n_states, a)) for i, a in enumerate(game.n_actions)]


@lru_cache(maxsize=8)
def _eye(n: int) -> np.ndarray:
    eye = np.eye(n)
    eye.flags.writeable = False
    return eye


# ---- kernels on the padded stack -------------------------------------------------------------
@dataclass
class Evaluation:
    """Exact quantities of a batch of profiles (B, N, S, A_max); see the module docstring.

    Attributes: ``pi_minus`` (B, N, S, A) prod_{j != i} pi^j(a_j|s) at each joint action,
    ``pi`` (B, S, A) the joint policy, ``V`` (B, N, S), ``Q`` (B, N, S, A), ``q`` (B, N, S, A_max)
    marginal Q^i(s, a_i), ``value`` (B, N) V^i(mu), ``system`` (B, S, S) the matrix I - gamma P_pi,
    ``mu`` (S,) the initial distribution;
    ``d`` (B, S) the unnormalized visitation, solved from ``system`` on first use.
    """

    pi_minus: np.ndarray
    pi: np.ndarray
    V: np.ndarray
    Q: np.ndarray
    q: np.ndarray
    value: np.ndarray
    system: np.ndarray
    mu: np.ndarray

    @property
    def d(self) -> np.ndarray:
        """d_mu = mu' (I - gamma P_pi)^-1, (B, S): the transposed system solved for mu (cached)."""
        if "_d" not in self.__dict__:
            mu = self.mu
            rhs = np.broadcast_to(mu[:, None], self.system.shape[:-1] + (1,))
            self.__dict__["_d"] = np.linalg.solve(np.swapaxes(self.system, 1, 2), rhs)[..., 0]
        return self.__dict__["_d"]

    @property
    def advantage(self) -> np.ndarray:
        """A^i(s, a_i) = Q^i(s, a_i) - V^i(s), (B, N, S, A_max) (padded entries meaningless)."""
        return self.q - self.V[..., None]


def factors(game: MarkovGame, pol: np.ndarray):
    """Per-player factors at each joint action and the leave-one-out products.

    Returns ``(pi, pi_minus)``: pi (B, S, A) = prod_i pi^i(a_i|s) and pi_minus (B, N, S, A) =
    prod_{j != i} pi^j(a_j|s) (prefix and suffix products, no division).
    """
    lay = game.joint
    N, B = game.n_players, pol.shape[0]
    f = np.take(pol.reshape(B, -1), lay.factor_index, axis=1)  # (B, N, S, A): pi^i(a_i|s) at each joint action
    pi_minus = np.empty_like(f)
    pi_minus[:, -1] = 1.0
    for i in range(N - 2, -1, -1):  # suffix products prod_{j > i}
        np.multiply(pi_minus[:, i + 1], f[:, i + 1], out=pi_minus[:, i])
    pi = pi_minus[:, 0] * f[:, 0]
    prefix = f[:, 0]
    for i in range(1, N):  # times the prefix products prod_{j < i}
        pi_minus[:, i] *= prefix
        if i < N - 1:
            prefix = prefix * f[:, i]
    return pi, pi_minus


def evaluate(game: MarkovGame, pol: np.ndarray) -> Evaluation:
    """Values, Q-functions, marginal Q-functions and visitation of a batch of profiles (B, N, S, A_max).

    One stacked solve (I - gamma P_pi) [V^1 ... V^N] = [r_pi^1 ... r_pi^N] (no inverse).
    """
    lay = game.joint
    pi, pi_minus = factors(game, pol)
    S = game.n_states
    PR = (pi[:, :, None, :] @ lay.PR)[:, :, 0, :]  # (B, S, S + N): P_pi and r_pi in one product
    system = _eye(S) - game.gamma * PR[..., :S]  # (B, S, S)
    V = np.swapaxes(np.linalg.solve(system, PR[..., S:]), 1, 2)  # (B, N, S)
    Q = lay.r + game.gamma * (V @ lay.P_flat.T).reshape(V.shape[:2] + (S, lay.A))
    q = (pi_minus * Q) @ lay.onehot
    return Evaluation(pi_minus, pi, V, Q, q, V @ game.mu, system, game.mu)


def induced_mdps(game: MarkovGame, pi_minus: np.ndarray, players=None):
    """Each player's (or each of ``players``') MDP against the others' fixed policies.

    Returns ``(P_i, r_i)``: (B, N, S, A_max, S) and (B, N, S, A_max) (zero past A_i), with
    P_i(s'|s, a_i) = E_{a_-i} P(s'|s, a), r_i(s, a_i) = E_{a_-i} r^i(s, a).
    """
    lay = game.joint
    players = slice(None) if players is None else players
    pm, onehot = pi_minus[:, players], lay.onehot[players]
    B, n, S, A = pm.shape
    W = pm[..., None, :] * lay.selector[players]  # (B, n, S, A_max, A)
    W = np.moveaxis(W, 2, 0).reshape(S, B * n * lay.A_max, A)
    P_i = np.ascontiguousarray(np.moveaxis((W @ lay.P).reshape(S, B, n, lay.A_max, S), 0, 2))  # batched over s
    r_i = (pm * lay.r[players]) @ onehot
    return P_i, r_i


def _values(P_pi: np.ndarray, r_pi: np.ndarray, gamma: float) -> np.ndarray:
    """V = (I - gamma P_pi)^-1 r_pi for P_pi (…, S, S) (overwritten) and r_pi (…, S, 1); returns (…, S, 1)."""
    S = P_pi.shape[-1]
    P_pi *= -gamma
    P_pi.reshape(P_pi.shape[:-2] + (S * S,))[..., ::S + 1] += 1.0
    return np.linalg.solve(P_pi, r_pi)


def _q(P: np.ndarray, r: np.ndarray, V: np.ndarray, gamma: float) -> np.ndarray:
    """Q = r + gamma P V for MDPs P (…, S, K, S), r (…, S, K) and V (…, S, 1)."""
    S, K = r.shape[-2:]
    PV = P.reshape(P.shape[:-3] + (S * K, S)) @ V
    return r + gamma * PV.reshape(r.shape)


def evaluate_mdp(P: np.ndarray, r: np.ndarray, policy: np.ndarray, gamma: float):
    """V (…, S) and Q (…, S, K) of a stochastic policy (…, S, K) in MDPs P (…, S, K, S), r (…, S, K).

    V = (I - gamma P_pi)^-1 r_pi with P_pi(s, s') = sum_k policy(k|s) P(s'|s, k); Q = r + gamma P V.
    """
    pk = policy[..., None, :]
    V = _values((pk @ P)[..., 0, :], (pk @ r[..., None])[..., 0], gamma)
    return V[..., 0], _q(P, r, V, gamma)


def policy_iteration(P, r, gamma: float, mask, start, *, max_iter: int = 1000):
    """Optimal deterministic policies of a batch of MDPs by policy iteration (exact).

    Parameters
    ----------
    P : (..., S, K, S); r : (..., S, K); mask : (..., K) bool, broadcastable (False: no such action)
    start : (..., S) int, the initial actions (e.g. greedy w.r.t. the current Q).

    Returns
    -------
    actions : (..., S) int; V : (..., S) the optimal values.

    Raises
    ------
    SolveError
        If ``max_iter`` improvements do not reach a policy no action improves (cannot happen in
        exact arithmetic: policy iteration terminates in finitely many steps).
    """
    actions = start
    S, K = r.shape[-2:]
    mask = np.asarray(mask)
    mask = None if mask.all() else np.broadcast_to(mask[..., None, :], r.shape)
    eye = _eye(K)
    for _ in range(max_iter):
        V, Q = evaluate_mdp(P, r, eye[actions], gamma)
        if mask is not None:
            Q = np.where(mask, Q, -np.inf)
        current = np.take_along_axis(Q, actions[..., None], -1)[..., 0]
        better = Q.max(-1) > current + IMPROVE_RTOL * (1.0 + np.abs(current))
        if not better.any():
            return actions, V
        actions = np.where(better, Q.argmax(-1), actions)
    raise SolveError(f"policy iteration did not terminate in {max_iter} improvements")


def best_responses(game: MarkovGame, ev: Evaluation, players=None):
    """Best responses of ``players`` (default all) against a batch of evaluated profiles.

    Returns ``(actions, value)``: (B, n, S) deterministic best-response actions and (B, n)
    their values V^i(br_i, pi^-i)(mu). Starts policy iteration from the greedy actions of the
    current marginal Q (one improvement step already).
    """
    players = np.arange(game.n_players) if players is None else np.asarray(players)
    mask = game.joint.mask[players]
    P_i, r_i = induced_mdps(game, ev.pi_minus, players)
    q = ev.q[:, players]
    start = (q if mask.all() else np.where(mask[None, :, None, :], q, -np.inf)).argmax(-1)
    actions, V = policy_iteration(P_i, r_i, game.gamma, mask[None], start)
    return actions, V @ game.mu


def welfare_optimum(game: MarkovGame) -> float:
    """max_pi sum_i V^i(pi)(mu) (value iteration on the summed reward, polished by policy iteration)."""
    lay = game.joint
    if lay.optimum is None:
        R = lay.r.sum(0)  # (S, A)
        V = np.zeros(game.n_states)
        for _ in range(100000):
            V_new = (R + game.gamma * lay.P @ V).max(-1)
            done = np.max(np.abs(V_new - V)) <= VI_TOL * (1.0 + np.max(np.abs(V_new)))
            V = V_new
            if done:
                break
        greedy = (R + game.gamma * lay.P @ V).argmax(-1)
        _, V = policy_iteration(lay.P, R, game.gamma, np.ones(lay.A, bool), greedy)
        lay.optimum = float(game.mu @ V)
    return lay.optimum


# ---- public functions on profiles ------------------------------------------------------------
def _eval_profile(game, policies):
    pol, batch = as_profile(game, policies)
    return evaluate(game, pol), batch


def values(game: MarkovGame, policies) -> np.ndarray:
    """Every player's value V^i(pi)(mu) = mu' (I - gamma P_pi)^-1 r_pi^i.

    Parameters
    ----------
    game : MarkovGame
    policies : list of N arrays (..., S, A_i), rows on the simplex

    Returns
    -------
    (..., N) ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from gamesolve.markov import coordination_game
    >>> g = coordination_game(2)
    >>> v = values(g, [np.tile([1.0, 0.0], (4, 1))] * 2)   # both always play 0
    >>> bool(np.allclose(v[0], v[1]))
    True
    """
    ev, batch = _eval_profile(game, policies)
    return ev.value.reshape(batch + (game.n_players,))


def q_values(game: MarkovGame, policies) -> np.ndarray:
    """Q^i(s, a) = r^i(s, a) + gamma sum_s' P(s'|s, a) V^i(s'), shape (..., N, S, A_1, ..., A_N)."""
    ev, batch = _eval_profile(game, policies)
    return ev.Q.reshape(batch + (game.n_players, game.n_states) + game.n_actions)


def advantages(game: MarkovGame, policies) -> list[np.ndarray]:
    """Each player's marginal advantage A^i(s, a_i) = E_{a_-i ~ pi^-i} Q^i(s, a) - V^i(s): N arrays (..., S, A_i)."""
    ev, batch = _eval_profile(game, policies)
    return unpad(game, ev.advantage, batch)


def visitation(game: MarkovGame, policies) -> np.ndarray:
    """The unnormalized discounted visitation d_mu(s) = sum_t gamma^t Pr(s_t = s) = (mu' M_pi)(s), (..., S)."""
    ev, batch = _eval_profile(game, policies)
    return ev.d.reshape(batch + (game.n_states,))


def best_response(game: MarkovGame, policies, player: int):
    """Player ``player``'s best response to the others' policies (policy iteration on its induced MDP).

    Returns
    -------
    policy : (..., S, A_i) ndarray, deterministic (one-hot rows)
    value : (...,) ndarray or float, max_pi' V^i(pi', pi^-i)(mu)
    """
    if not 0 <= int(player) < game.n_players:
        raise InputError(f"player must lie in [0, {game.n_players}), got {player}")
    ev, batch = _eval_profile(game, policies)
    actions, value = best_responses(game, ev, [int(player)])
    A_i = game.n_actions[int(player)]
    policy = (actions[:, 0, :, None] == np.arange(A_i)).astype(float)
    value = value[:, 0].reshape(batch)
    return policy.reshape(batch + policy.shape[1:]), (float(value) if value.ndim == 0 else value)


def player_gaps(game: MarkovGame, policies) -> np.ndarray:
    """Each player's gain max_pi' V^i(pi', pi^-i)(mu) - V^i(pi)(mu) >= 0, shape (..., N)."""
    return equilibrium.player_gaps(game, policies)


def nash_gap(game: MarkovGame, policies):
    """The Nash gap max_i [max_pi' V^i(pi', pi^-i)(mu) - V^i(pi)(mu)] (a float, or (...,) for a batch).

    Computed by the shared protocol :func:`gamesolve.equilibrium.nash_gap` with this family's
    exact values and policy-iteration best responses.

    Examples
    --------
    >>> import numpy as np
    >>> from gamesolve.markov import coordination_game
    >>> g = coordination_game(3)
    >>> all_zero = [np.tile([1.0, 0.0], (8, 1))] * 3          # a pure Nash policy
    >>> abs(nash_gap(g, all_zero)) < 1e-9
    True
    """
    return equilibrium.nash_gap(game, policies)


def optimal_welfare(game: MarkovGame) -> float:
    """max_pi sum_i V^i(pi)(mu): value iteration on sum_i r^i (joint actions), polished by policy iteration."""
    return welfare_optimum(game)


def price_of_anarchy(game: MarkovGame, policies):
    """The price of anarchy sum_i V^i(pi)(mu) / max_pi sum_i V^i(pi)(mu) (a float, or (...,) for a batch).

    Raises
    ------
    InputError
        If the optimal welfare is not positive (the ratio then measures nothing).
    """
    opt = welfare_optimum(game)
    if not opt > 0:
        raise InputError(f"game: the price of anarchy needs a positive optimal welfare, got {opt:.6g}")
    poa = values(game, policies).sum(-1) / opt
    return float(poa) if np.ndim(poa) == 0 else poa


def _policy_value(game, profile):
    return values(game, profile)


equilibrium.register(MarkovGame, equilibrium.Family("Markov game", _policy_value, best_response, maximize=True))
