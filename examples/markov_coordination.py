"""Softmax policy gradients in the Coordination Game: Figs. 1, 2 and 4 of Chen, Zhang and Doan,
"Convergence and Price of Anarchy Guarantees of the Softmax Policy Gradient in Markov Potential
Games" (2022), for N = 2, 3, 5 agents, with exact gradients.

Writes, to the current directory (or ``--out DIR``):

* ``markov_fig1_tabular.png`` -- POA (top) and Nash gap (bottom) of tabular softmax PG, NPG
  and NPG-BR (best K by final POA), solid; their log-barrier versions (best lambda by final
  POA), dashed; means and standard errors over 10 random initializations theta ~ N(0, 1);
* ``markov_fig2_neural.png`` -- the same for neural softmax policies (NN-PG, NN-Adam, each
  with and without log barrier; 20 initializations) next to tabular PG and NPG (needs torch;
  skipped otherwise);
* ``markov_fig4_lambda.png`` -- tabular PG for lambda in {0, 0.01, 0.1, 1, 10, 100};
* ``markov_npg_br_K.png`` -- NPG-BR for K in {1, 5, 10, 20, 50} (the paper's appendix H.1 grid);

and prints the final POA / Nash gap table and the best lambda and K per N.

Step sizes (the paper gives 0.1 in its hyperparameter table): eta = 0.1 for the tabular
methods (NPG: theta += eta / (1 - gamma) A) and NN-PG, 0.01 for NN-Adam. 400 iterations.

Usage: ``python examples/markov_coordination.py [--out DIR] [--quick]``
(``--quick``: 12 iterations, 3 initializations, for tests).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from gamesolve import markov as mk  # noqa: E402

PLAYERS = (2, 3, 5)
LAMBDAS = (0.01, 0.1, 1.0, 10.0, 100.0)
KS = (1, 5, 10, 20, 50)
STEP, ADAM_STEP = 0.1, 0.01
COLORS = {"PG": "C0", "NPG": "C1", "NPG-BR": "C2", "NN-PG": "C3", "NN-Adam": "C4"}


def run(game, method, *, iterations, inits, **kw):
    """(poa, gap) histories (inits, iterations + 1) of one learner."""
    res = mk.learn(game, method, iterations=iterations, step=STEP, n_inits=inits, seed=0, **kw)
    return res.poa, res.nash_gap


def final_poa(curves):
    return curves[0][:, -1].mean()


def tabular(game, iterations, inits):
    """Every tabular curve of Figs. 1 and 4 and the K grid, with the chosen lambda and K."""
    out = {"PG": run(game, "pg", iterations=iterations, inits=inits),
           "NPG": run(game, "npg", iterations=iterations, inits=inits)}
    grid_K = {K: run(game, "npg-br", iterations=iterations, inits=inits, inner_steps=K) for K in KS}
    best_K = max(KS, key=lambda K: final_poa(grid_K[K]))
    out["NPG-BR"] = grid_K[best_K]
    grid_lam = {0.0: out["PG"]}
    best_lam = {}
    variants = (("PG", "log-barrier", {}), ("NPG", "npg", {}), ("NPG-BR", "npg-br", {"inner_steps": best_K}))
    for name, method, kw in variants:
        runs = {lam: run(game, method, iterations=iterations, inits=inits, lam=lam, **kw) for lam in LAMBDAS}
        if name == "PG":
            grid_lam.update(runs)
        best_lam[name] = max(LAMBDAS, key=lambda lam: final_poa(runs[lam]))
        out[name + " + log barrier"] = runs[best_lam[name]]
    return out, grid_K, best_K, grid_lam, best_lam


def neural(game, iterations, inits):
    from gamesolve.markov.neural import learn_neural

    out = {}
    for name, opt, step in (("NN-PG", "sgd", STEP), ("NN-Adam", "adam", ADAM_STEP)):
        for lam, suffix in ((0.0, ""), (None, " + log barrier")):
            if lam is None:  # best lambda by final POA, as for the tabular methods
                runs = {lam: learn_neural(game, iterations=iterations, step=step, n_inits=inits, optimizer=opt,
                                          lam=lam) for lam in LAMBDAS}
                res = max(runs.values(), key=lambda r: r.poa[:, -1].mean())
            else:
                res = learn_neural(game, iterations=iterations, step=step, n_inits=inits, optimizer=opt)
            out[name + suffix] = (res.poa, res.nash_gap)
    return out


def band(ax, curves, label, color, dashed=False):
    mean = curves.mean(0)
    se = curves.std(0, ddof=1) / np.sqrt(len(curves)) if len(curves) > 1 else 0 * mean
    x = np.arange(len(mean))
    ax.plot(x, mean, ls="--" if dashed else "-", color=color, label=label, lw=1.4)
    ax.fill_between(x, mean - se, mean + se, color=color, alpha=0.2, lw=0)


def figure(panels, path, title):
    """panels: {N: {label: (poa, gap)}} -> 2 x len(N) grid (POA top, Nash gap bottom)."""
    fig, axes = plt.subplots(2, len(panels), figsize=(4.2 * len(panels), 6.4), squeeze=False)
    for col, (N, curves) in enumerate(panels.items()):
        for k, (label, (poa, gap)) in enumerate(curves.items()):
            base = label.split(" + ")[0].split(" (")[0]
            color = COLORS.get(base, f"C{k % 10}")
            dashed = "log barrier" in label
            band(axes[0, col], poa, label, color, dashed)
            band(axes[1, col], gap, label, color, dashed)
        axes[0, col].set_title(f"N = {N}")
        axes[1, col].set_yscale("symlog", linthresh=1e-3)
        axes[1, col].set_xlabel("iteration")
    axes[0, 0].set_ylabel("price of anarchy")
    axes[1, 0].set_ylabel("Nash gap")
    axes[0, -1].legend(fontsize=7, loc="lower right")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"wrote {path}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=".", help="output directory (default: current directory)")
    parser.add_argument("--quick", action="store_true", help="12 iterations, 3 initializations")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    iterations, inits, nn_inits = (12, 3, 3) if args.quick else (400, 10, 20)
    fig1, fig2, fig4, figK = {}, {}, {}, {}
    for N in PLAYERS:
        t0 = time.perf_counter()
        game = mk.coordination_game(N)
        curves, grid_K, best_K, grid_lam, best_lam = tabular(game, iterations, inits)
        fig1[N] = {(f"NPG-BR (K={best_K})" if k == "NPG-BR" else k): v for k, v in curves.items()}
        figK[N] = {f"K = {K}": grid_K[K] for K in KS}
        fig4[N] = {f"lambda = {lam:g}": grid_lam[lam] for lam in grid_lam}
        print(f"N = {N}: final POA over K: " + ", ".join(f"K={K} {final_poa(grid_K[K]):.4f}" for K in KS))
        print(f"N = {N}: final POA of PG over lambda: "
              + ", ".join(f"{lam:g} {final_poa(grid_lam[lam]):.4f}" for lam in grid_lam))
        print(f"N = {N}: best K = {best_K}; best lambda (PG, NPG, NPG-BR) = "
              f"{best_lam['PG']:g}, {best_lam['NPG']:g}, {best_lam['NPG-BR']:g}  ({time.perf_counter() - t0:.1f} s)")
        for label, (poa, gap) in fig1[N].items():
            print(f"    {label:28s} final POA {poa[:, -1].mean():.4f} +- {poa[:, -1].std(ddof=1) / np.sqrt(inits):.4f}"
                  f"   Nash gap {gap[:, -1].mean():.2e}")
        try:
            nn = neural(game, iterations, nn_inits)
        except ImportError as exc:
            print(f"    (neural policies skipped: {exc})")
            continue
        fig2[N] = {**nn, "PG": curves["PG"], "NPG": curves["NPG"]}
        for label, (poa, gap) in nn.items():
            print(f"    {label:28s} final POA {poa[:, -1].mean():.4f}   Nash gap {gap[:, -1].mean():.2e}")
    figure(fig1, out / "markov_fig1_tabular.png", "Tabular softmax (mean +- s.e., 10 inits; dashed: log barrier)")
    figure(fig4, out / "markov_fig4_lambda.png", "Tabular softmax PG with log barrier lambda")
    figure(figK, out / "markov_npg_br_K.png", "NPG-BR with K inner NPG steps")
    if fig2:
        figure(fig2, out / "markov_fig2_neural.png", "Neural softmax policies (20 inits) vs tabular")


if __name__ == "__main__":
    main()
