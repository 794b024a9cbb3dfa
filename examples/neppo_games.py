"""NePPO on the papers' games: the toy game, the alpha family and an LQ game with a known Nash
equilibrium (Kalanther, Bharvirkar, Sastry, Maheshwari, "NePPO: Near-Potential Policy Optimization
for General-Sum Multi-Agent Reinforcement Learning", section 4.1 and the authors' code release).

Prints

* the toy game: NePPO from w = 0.5 (where the cooperative choice (A2, B1) is not Nash) to a
  weight in [0.6, 1] whose cooperative choice is the unique Nash equilibrium (A1, B1);
* the alpha-family table: the max player regret (exact Nash gap) and epsilon = max_i gap_i of
  NePPO's profile for alpha in {0, 0.2, 0.4, 0.6, 0.8, 1}, with the settings of the authors'
  closed-form script (beta = 1e4, step 0.05 / sqrt(t + 1), delta = 1e-2, 10 directions, start
  (0.75, 0.75), 500 iterations, projection onto [0, 1]^2), next to each game's exact interior
  equilibrium;
* the LQ demo: epsilon (the certificate of [NePPO] Theorem 3.1) against the true Nash gap, from
  the summed-cost potential to NePPO's, and the distance to lq_nash's equilibrium;

and writes ``neppo_games.png`` (to the current directory, or ``--out DIR``): F along w for the
toy game with the search path, the alpha-family search paths in the (p, q) square, and the LQ
demo's epsilon and true Nash gap along the search.

Usage: ``python examples/neppo_games.py [--out DIR] [--quick]`` (``--quick``: 40 iterations for
the alpha family, 20 for the LQ demo, for tests).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import gamesolve  # noqa: E402
from gamesolve.equilibrium import nash_gap  # noqa: E402
from gamesolve.potential import MixedQuadraticPotential, games, objective, potential_gaps  # noqa: E402

ALPHAS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
#: The authors' closed-form settings.
AUTHORS = dict(beta=1e4, step=0.05, delta=1e-2, directions=10, projection=(0.0, 1.0), seed=0)
TOY = dict(iterations=60, directions=1, temperature=0.05, projection=(0.0, 1.0))


def toy():
    g, pot = games.toy_game(), games.toy_potential()
    coop = pot.cooperative(g, [0.5])
    res = gamesolve.neppo(g, pot, [0.5], **TOY)
    def names(prof):
        return "(" + ", ".join(f"{'AB'[i]}{int(p[0].argmax()) + 1}" for i, p in enumerate(prof)) + ")"

    print(f"toy game: from w = 0.5 the cooperative choice {names(coop)} has Nash gap "
          f"{gamesolve.markov.nash_gap(g, coop):.3g}; NePPO ({TOY['iterations']} iterations, temperature "
          f"{TOY['temperature']}) ends at w = {res.theta[0]:.4f} with {names(res.policies)}, "
          f"epsilon = {res.epsilon:.3g}")
    return g, pot, res


def alpha_table(iterations):
    print(f"\nalpha family, {iterations} iterations, beta = 1e4, step 0.05/sqrt(t+1), delta = 1e-2, 10 directions, "
          "start (0.75, 0.75), projection onto [0, 1]^2")
    print(f"{'alpha':>6} {'final (p, q)':>18} {'max regret':>11} {'epsilon':>9} {'interior equilibrium (x, y)':>29}"
          f" {'time':>7}")
    paths = {}
    for a in ALPHAS:
        t0 = time.perf_counter()
        res = gamesolve.neppo(games.alpha_game(a), MixedQuadraticPotential(2), [0.75, 0.75], iterations=iterations,
                              **AUTHORS)
        eq = games.interior_equilibrium(games.alpha_payoffs(a))
        eq_txt = "none" if eq is None else f"({eq[0]:.4f}, {eq[1]:.4f})"
        print(f"{a:6.1f} ({res.theta[0]:.4f}, {res.theta[1]:.4f}) {res.nash_gap:11.4f} {res.epsilon:9.4f} "
              f"{eq_txt:>29} {time.perf_counter() - t0:6.2f}s")
        paths[a] = (res.history.theta, eq)
    return paths


def lq(iterations):
    d = games.lq_demo()
    settings = dict(d.settings, iterations=iterations)
    res = gamesolve.neppo(d.game, d.potential, d.theta0, context=d.context, **settings)
    eps, true = [], []
    for th in res.history.theta:
        K = d.potential.cooperative(d.game, th)
        gaps, regrets = potential_gaps(d.game, d.potential, th, K, **d.context)
        eps.append(gaps.max())
        true.append(regrets.max())
    K0 = d.potential.cooperative(d.game, d.theta0)
    print(f"\nLQ demo ([MA-GPS] appendix A game, Q and R weights softmax(theta), {iterations} iterations): "
          f"epsilon {eps[0]:.3g} -> {res.epsilon:.3g}, true Nash gap {true[0]:.3g} -> {res.nash_gap:.3g} "
          f"(= {nash_gap(d.game, res.policies, **d.context):.3g} by the equilibrium protocol); "
          f"|K - K_nash|_max {np.abs(K0 - d.K_nash).max():.3f} -> {np.abs(res.policies - d.K_nash).max():.3f}; "
          f"{res.info.time:.2f} s")
    return np.array(eps), np.array(true)


def figure(toy_run, paths, lq_run, path):
    g, pot, res = toy_run
    fig, ax = plt.subplots(1, 3, figsize=(15, 4.4))
    w = np.linspace(0.0, 1.2, 481)
    ax[0].plot(w, [objective(g, pot, [x]) for x in w], label="F (exact, temperature 0)")
    ax[0].plot(w, [objective(g, pot, [x], temperature=TOY["temperature"]) for x in w], "--",
               label=f"F at temperature {TOY['temperature']} (searched)")
    th = res.history.theta[:, 0]
    ax[0].plot(th, res.history.objective, "k.-", ms=4, lw=0.6, label="NePPO path from w = 0.5")
    ax[0].axvspan(0.6, 1.0, color="C2", alpha=0.12, label="F = 0: (A1, B1), the Nash equilibrium")
    ax[0].set_xlabel("w  (Phi_w = w r^1 + (1 - w) r^2)")
    ax[0].set_ylabel("F(w)")
    ax[0].set_title("Toy game")
    ax[0].legend(fontsize=7)
    for k, (a, (hist, eq)) in enumerate(paths.items()):
        ax[1].plot(hist[:, 0], hist[:, 1], "-", color=f"C{k}", lw=0.9, label=f"alpha = {a:g}")
        ax[1].plot(*hist[-1], "o", color=f"C{k}", ms=5)
        if eq is not None:
            ax[1].plot(*eq, "x", color=f"C{k}", ms=9, mew=2)
    ax[1].plot(0.75, 0.75, "ks", ms=5)
    ax[1].set_xlim(-0.03, 1.03)
    ax[1].set_ylim(-0.03, 1.03)
    ax[1].set_xlabel("p = P(A2)")
    ax[1].set_ylabel("q = P(B2)")
    ax[1].set_title("Alpha family: search paths (o end, x interior equilibrium)")
    ax[1].legend(fontsize=7)
    eps, true = lq_run
    ax[2].semilogy(eps, label="epsilon = max_i gap_i (certificate)")
    ax[2].semilogy(true, label="true Nash gap (exact best responses)")
    ax[2].set_xlabel("iteration")
    ax[2].set_title("LQ demo: Theorem 3.1's bound vs the true gap")
    ax[2].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"wrote {path}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("."), help="output directory (default: current directory)")
    parser.add_argument("--quick", action="store_true", help="40 alpha-family and 20 LQ iterations")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    toy_run = toy()
    paths = alpha_table(40 if args.quick else 500)
    lq_run = lq(20 if args.quick else games.lq_demo().settings["iterations"])
    figure(toy_run, paths, lq_run, args.out / "neppo_games.png")


if __name__ == "__main__":
    main()
