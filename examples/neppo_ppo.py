"""NePPO with sampled PPO solvers plugged in: the authors' pipeline on the toy game.

Kalanther, Bharvirkar, Sastry, Maheshwari, "NePPO: Near-Potential Policy Optimization for
General-Sum Multi-Agent Reinforcement Learning", Algorithm 1 and section 4.1: the cooperative
solver (CoopGameSolver, HAPPO there) and the best-response solver (RLSolver, PPO) learn from
sampled episodes, warm-started from their previous policies; the values in the gaps are
Monte-Carlo estimates. Here both solvers are tabular softmax PPO learners (clipped surrogate,
entropy bonus, Monte-Carlo advantages) that only see the game through simulated episodes
(``gamesolve.markov.sampled.simulate``); they plug into ``gamesolve.neppo`` as

* a :class:`~gamesolve.potential.PotentialFamily` whose ``cooperative`` runs PPO for all players
  on the common reward Phi_w = w r^1 + (1 - w) r^2 (the entropy bonus is NePPO's temperature)
  and whose ``value`` is a Monte-Carlo estimate;
* ``best_response=``: PPO for one player against the others' fixed policies, returning the
  learned policy and its estimated value; ``values=``: Monte-Carlo estimates.

NePPO's reported epsilon and gaps are still exact: the returned profile (PPO's cooperative
solution at the final w, without entropy bonus) is checked against exact best responses.
The PPO update's gradient is analytic numpy by default (torch is not needed); ``--torch``
computes it by torch autograd instead (checked equal first).

Writes ``neppo_ppo.png`` (the search path of w over the exact F(w), and the sampled objective
per iteration) to the current directory or ``--out DIR``.

Usage: ``python examples/neppo_ppo.py [--out DIR] [--quick] [--torch]`` (``--quick``: 12 iterations,
for tests).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import gamesolve  # noqa: E402
from gamesolve import markov as mk  # noqa: E402
from gamesolve.markov.sampled import returns, simulate  # noqa: E402
from gamesolve.potential import PotentialFamily, games, objective  # noqa: E402

CLIP, LR, EPOCHS, BATCH = 0.2, 0.5, 4, 128


def softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def padded(game, policies):
    """The (1, N, S, A_max) stack ``simulate`` takes."""
    pol = np.zeros((1, game.n_players, game.n_states, game.joint.A_max))
    for i, p in enumerate(policies):
        pol[0, i, :, :p.shape[-1]] = p
    return pol


def rollouts(game, policies, rng, episodes=BATCH):
    """Sampled states (T, E), actions (T, E, N) and returns-to-go (T, E, N) of the profile."""
    steps = max(1, int(np.ceil(np.log(1e-3) / np.log(game.gamma)))) if game.gamma > 0 else 1
    s, a, r = simulate(game, padded(game, policies), rng, episodes, steps)
    return s[:, 0], a[:, 0], returns(r[:, 0], game.gamma)


def surrogate_gradient(logits, states, actions, adv, p_old, entropy):
    """Gradient in the logits (S, A) of mean min(rho A, clip(rho, 1 - eps, 1 + eps) A) + entropy * mean_s H(pi(.|s)),
    rho = pi(a|s) / pi_old(a|s): d(rho A)/d logits(s, b) = rho A (1[b = a] - pi(b|s)) where the min is not clipped."""
    S = logits.shape[0]
    pi = softmax(logits)
    rho = pi[states, actions] / p_old
    active = ~(((adv > 0) & (rho > 1 + CLIP)) | ((adv < 0) & (rho < 1 - CLIP)))
    coef = np.where(active, rho * adv, 0.0) / len(adv)
    grad = np.zeros_like(logits)
    np.add.at(grad, (states, actions), coef)
    np.add.at(grad, states, -coef[:, None] * pi[states])
    if entropy:
        logp = np.log(np.maximum(pi, 1e-300))
        H = -(pi * logp).sum(-1, keepdims=True)
        grad += entropy * (-pi * (logp + H)) / S
    return grad


def surrogate_gradient_torch(logits, states, actions, adv, p_old, entropy):
    """The same gradient by torch autograd (``--torch``: the optional torch learner, checked against numpy)."""
    import torch

    z = torch.tensor(logits, requires_grad=True)
    pi = torch.softmax(z, -1)
    rho = pi[torch.as_tensor(states), torch.as_tensor(actions)] / torch.as_tensor(p_old)
    A = torch.as_tensor(adv)
    obj = torch.minimum(rho * A, torch.clamp(rho, 1 - CLIP, 1 + CLIP) * A).mean()
    if entropy:
        obj = obj + entropy * (-(pi * torch.log(pi)).sum(-1)).mean()
    obj.backward()
    return z.grad.numpy()


GRADIENT = {"numpy": surrogate_gradient, "torch": surrogate_gradient_torch}
BACKEND = "numpy"


def ppo_step(logits, states, actions, G, entropy, rng):
    """One PPO round on one player's tabular logits (S, A): EPOCHS ascent steps of the clipped surrogate
    (:func:`surrogate_gradient`), advantages A = G - mean G per state (Monte-Carlo baseline)."""
    S = logits.shape[0]
    base = np.zeros(S)
    np.add.at(base, states, G)
    counts = np.bincount(states, minlength=S)
    adv = G - (base / np.maximum(counts, 1))[states]
    p_old = softmax(logits)[states, actions]
    for _ in range(EPOCHS):
        logits += LR * GRADIENT[BACKEND](logits, states, actions, adv, p_old, entropy)
    return logits


class PPOCooperative(PotentialFamily):
    """Phi_w = w r^1 + (1 - w) r^2 with a sampled PPO cooperative solver and Monte-Carlo values.

    ``cooperative`` runs ``rounds`` PPO rounds of every player on the common reward, warm-started
    from the last solution (temperature = entropy bonus); at temperature 0 (NePPO's final call)
    it runs ``final_rounds`` without entropy bonus.
    """

    dim = 1
    maximize = True

    def __init__(self, game, rng, rounds=6, final_rounds=60):
        self.rng, self.rounds, self.final_rounds = rng, rounds, final_rounds
        self.logits = [np.zeros((game.n_states, a)) for a in game.n_actions]

    @staticmethod
    def weights(theta):
        return np.array([theta[0], 1.0 - theta[0]])

    def value(self, game, theta, profiles, **ctx):
        w = self.weights(theta)
        return np.array([(rollouts(game, p, self.rng)[2][0] @ w).mean() for p in profiles])

    def cooperative(self, game, theta, *, temperature=0.0, **ctx):
        w = self.weights(theta)
        for _ in range(self.rounds if temperature > 0 else self.final_rounds):
            s, a, G = rollouts(game, [softmax(z) for z in self.logits], self.rng)
            phi = G @ w  # the common reward's return, from the players' sampled rewards
            for i, z in enumerate(self.logits):
                ppo_step(z, s.ravel(), a[..., i].ravel(), phi.ravel(), temperature, self.rng)
        return [softmax(z) for z in self.logits]


class PPOBestResponse:
    """Player i's best response by PPO on its own sampled reward, warm-started per player; its value by Monte Carlo."""

    def __init__(self, game, rng, rounds=8):
        self.rng, self.rounds = rng, rounds
        self.logits = [np.zeros((game.n_states, a)) for a in game.n_actions]

    def __call__(self, game, profile, player, **ctx):
        z = self.logits[player]
        for _ in range(self.rounds):
            prof = list(profile)
            prof[player] = softmax(z)
            s, a, G = rollouts(game, prof, self.rng)
            ppo_step(z, s.ravel(), a[..., player].ravel(), G[..., player].ravel(), 0.0, self.rng)
        prof = list(profile)
        prof[player] = softmax(z)
        return prof[player], mc_values(game, prof, self.rng)[player]


def mc_values(game, profile, rng):
    """Monte-Carlo estimate of every player's value V^i(mu)."""
    return rollouts(game, profile, rng)[2][0].mean(0)


def check_torch():
    """The torch gradient equals the analytic numpy one on random data (both clipping branches)."""
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(3, 4))
    states, actions = rng.integers(0, 3, 200), rng.integers(0, 4, 200)
    adv, p_old = rng.normal(size=200), softmax(rng.normal(size=(3, 4)))[states, actions]
    for entropy in (0.0, 0.1):
        np.testing.assert_allclose(surrogate_gradient_torch(logits, states, actions, adv, p_old, entropy),
                                   surrogate_gradient(logits, states, actions, adv, p_old, entropy), atol=1e-12)
    print("torch autograd gradient of the PPO surrogate == the analytic numpy gradient")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("."), help="output directory (default: current directory)")
    parser.add_argument("--quick", action="store_true", help="12 NePPO iterations")
    parser.add_argument("--torch", action="store_true", help="PPO gradients by torch autograd (torch installed)")
    args = parser.parse_args(argv)
    global BACKEND
    if args.torch:
        check_torch()
        BACKEND = "torch"
    args.out.mkdir(parents=True, exist_ok=True)
    iterations = 12 if args.quick else 40
    rng = np.random.default_rng(0)
    game = games.toy_game()
    potential = PPOCooperative(game, rng)
    br = PPOBestResponse(game, rng)
    res = gamesolve.neppo(game, potential, [0.5], iterations=iterations, directions=1, delta=0.05, step=0.05,
                          temperature=0.05, projection=(0.0, 1.0), best_response=br,
                          values=lambda g, p, **ctx: mc_values(g, p, rng))
    names = "(" + ", ".join(f"{'AB'[i]}{int(p[0].argmax()) + 1}" for i, p in enumerate(res.policies)) + ")"
    print(f"NePPO with sampled PPO solvers on the toy game, {iterations} iterations: w 0.5 -> {res.theta[0]:.3f}")
    print("  w path: " + " ".join(f"{w:.3f}" for w in res.history.theta[:, 0]))
    print(f"  PPO's cooperative profile at the final w: P(A1) = {res.policies[0][0, 0]:.3f}, "
          f"P(B1) = {res.policies[1][0, 0]:.3f} -> {names}")
    print(f"  exact gaps {np.round(res.gaps, 4).tolist()}, epsilon {res.epsilon:.4f}, exact Nash gap "
          f"{mk.nash_gap(game, res.policies):.4f} (exact={res.exact})")

    fig, ax = plt.subplots(1, 2, figsize=(10, 3.8))
    exact = games.toy_potential()
    w = np.linspace(0.0, 1.0, 401)
    ax[0].plot(w, [objective(game, exact, [x]) for x in w], label="exact F(w)")
    ax[0].plot(res.history.theta[:, 0], res.history.objective, "k.-", lw=0.6, ms=4, label="PPO-NePPO path (sampled F)")
    ax[0].axvspan(0.6, 1.0, color="C2", alpha=0.12, label="F = 0: (A1, B1)")
    ax[0].set_xlabel("w")
    ax[0].set_ylabel("F")
    ax[0].legend(fontsize=7)
    ax[0].set_title("Toy game, sampled PPO solvers")
    ax[1].plot(res.history.theta[:, 0], ".-")
    ax[1].axhspan(0.6, 1.0, color="C2", alpha=0.12)
    ax[1].set_xlabel("iteration")
    ax[1].set_ylabel("w")
    ax[1].set_title("Potential weight w")
    fig.tight_layout()
    path = args.out / "neppo_ppo.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
