"""Solve the papers' nonlinear games with iLQGames and plot their equilibrium trajectories.

Platooning and basketball ([MA-GPS], [theory §10]), the formation game and the
4- and 8-player navigation games ([Sparse-DP]). Prints each solve's status,
iterations, Nash residual and time; saves one figure.

Usage: ``python examples/ilqgames_gallery.py [--out DIR] [--quick]`` writes
``ilqgames_gallery.png`` into DIR (default: the current directory; matplotlib is
optional). ``--quick`` skips the 8-player navigation game.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import gamesolve
from gamesolve import examples


FIGURE = "ilqgames_gallery.png"


def solve_all(quick=False):
    games = [examples.platooning(), examples.basketball(), examples.formation(), examples.navigation(4)]
    if not quick:
        games.append(examples.navigation(8))
    out = []
    for g in games:
        t0 = time.perf_counter()
        res = gamesolve.ilqgames(g, g.x0, horizon=g.horizon, max_iter=150)
        dt = time.perf_counter() - t0
        print(f"{g.name:12s} T={g.horizon:3d}  {res.status:18s} iterations {res.iterations:3d}  "
              f"Nash residual {res.nash_residual:.1e}  {dt * 1e3:8.1f} ms  costs {np.round(res.costs, 2)}")
        out.append((g, res))
    return out


#: Player roles (as gamesolve.examples defines the games) and a line style per player: the
#: basketball pairs share a colour (offense solid, defense dashed).
ROLES = {
    "platooning": ["leader", "follower 2", "follower 3"],
    "basketball": ["offense center", "defense center", "offense guard", "defense guard", "offense forward",
                   "defense forward"],
    "formation": ["leader (tracks the reference)", "wing 2", "wing 3"],
}
TITLES = {"platooning": "platooning (MA-GPS paper)", "basketball": "basketball (MA-GPS paper)",
          "formation": "formation (sparse-feedback paper)", "navigation": "navigation (sparse-feedback paper)"}


def _player_style(g, i):
    """Label, colour and line style of player i of game g."""
    if g.name == "basketball":
        return ROLES[g.name][i], f"C{i // 2}", "-" if i % 2 == 0 else "--"
    label = ROLES[g.name][i] if g.name in ROLES else f"robot {i + 1}"
    return label, f"C{i}", "-"


def _draw_scene(ax, g, T):
    """The fixed features of each game: target lane, rings and baseline, reference path, goals."""
    if g.name == "platooning":
        ax.axvline(0.5, color="grey", ls="--", lw=0.8, label="target lane px = 0.5")
    if g.name == "basketball":
        th = np.linspace(np.pi, 2 * np.pi, 100)
        for r in (1.5, 4.0):
            ax.plot(r * np.cos(th), r * np.sin(th), color="grey", ls=":", lw=0.8,
                    label="rings r = 1.5, 4 (center, guard)" if r == 1.5 else None)
        ax.axhline(0.0, color="grey", lw=0.8, label="baseline py = 0")
    if g.name == "formation":
        ref, _ = examples.formation_reference(T - 1)
        ax.plot(ref[:, 0], ref[:, 1], color="grey", lw=3, alpha=0.3, label="leader's reference")
    if "goals" in g.info:
        ax.plot(*g.info["goals"].T, "k*", ms=7, label="goals")


def plot(solved, path: Path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.lines import Line2D
    except ImportError:
        print("matplotlib not installed: no figure")
        return
    ncols = 3
    nrows = -(-len(solved) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 5.0 * nrows), squeeze=False)
    for ax, (g, res) in zip(axes.flat, solved):
        T = res.xs.shape[0]
        X = res.xs.reshape(T, g.N, -1)
        _draw_scene(ax, g, T)
        for i in range(g.N):
            label, color, ls = _player_style(g, i)
            ax.plot(X[:, i, 0], X[:, i, 1], ls, color=color, lw=1.6, label=label)
            ax.plot(X[0, i, 0], X[0, i, 1], "o", color=color, ms=5)
            ax.plot(X[-1, i, 0], X[-1, i, 1], "s", color=color, ms=5)
        ax.set_aspect("equal", "datalim")
        ax.set(xlabel="x position [m]", ylabel="y position [m]")
        title = TITLES[g.name.rstrip("0123456789")]
        ax.set_title(f"{title}: {g.N} players, {T - 1} steps of 0.1 s\n"
                     f"{res.status} after {res.iterations} iterations", fontsize=10)
        if g.N > 4:  # many players fill the axes: the legend goes below them
            ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=3)
        else:
            ax.legend(fontsize=7, loc="best")
    for ax in axes.flat[len(solved):]:
        ax.axis("off")
    markers = [Line2D([], [], ls="", marker="o", color="k", label="start (t = 0)"),
               Line2D([], [], ls="", marker="s", color="k", label="end (t = T)")]
    fig.legend(handles=markers, loc="upper right", ncol=2, fontsize=9)
    fig.suptitle("iLQGames: feedback Nash equilibrium trajectories of the papers' games", fontsize=13)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    print(f"wrote {path}")


if __name__ == "__main__":
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--out", type=Path, default=Path("."), metavar="DIR",
                     help=f"directory for {FIGURE} (default: the current directory)")
    cli.add_argument("--quick", action="store_true", help="skip the 8-player navigation game")
    args = cli.parse_args()
    plot(solve_all(args.quick), args.out / FIGURE)
