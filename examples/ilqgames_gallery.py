"""Solve the papers' nonlinear games with iLQGames and plot their equilibrium trajectories.

Platooning and basketball (paper 000, SPEC 10), the formation game and the
4- and 8-player navigation games (paper 003). Prints each solve's status,
iterations, Nash residual and time; saves one figure.

Usage: ``PYTHONPATH=python python examples/ilqgames_gallery.py [out.png]``
(default ``docs/ilqgames_gallery.png``; matplotlib is optional).
"""

from __future__ import annotations

import argparse

import time
from pathlib import Path

import numpy as np

import gamesolve
from gamesolve import examples


def solve_all():
    games = [examples.platooning(), examples.basketball(), examples.formation(), examples.navigation(4),
             examples.navigation(8)]
    out = []
    for g in games:
        t0 = time.perf_counter()
        res = gamesolve.ilqgames(g, g.x0, horizon=g.horizon, max_iter=150)
        dt = time.perf_counter() - t0
        print(f"{g.name:12s} T={g.horizon:3d}  {res.status:18s} iterations {res.iterations:3d}  "
              f"Nash residual {res.nash_residual:.1e}  {dt * 1e3:8.1f} ms  costs {np.round(res.costs, 2)}")
        out.append((g, res))
    return out


def plot(solved, path: Path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no figure")
        return
    fig, axes = plt.subplots(1, len(solved), figsize=(4.2 * len(solved), 4.4))
    titles = {"platooning": "platooning (paper 000)", "basketball": "basketball (paper 000)",
              "formation": "formation (paper 003)"}
    for ax, (g, res) in zip(axes, solved):
        T = res.xs.shape[0]
        X = res.xs.reshape(T, g.N, -1)
        for i in range(g.N):
            ln, = ax.plot(X[:, i, 0], X[:, i, 1], lw=1.6, label=f"{i + 1}")
            ax.plot(X[0, i, 0], X[0, i, 1], "o", color=ln.get_color(), ms=5)
            ax.plot(X[-1, i, 0], X[-1, i, 1], "s", color=ln.get_color(), ms=5)
        if g.name == "platooning":
            ax.axvline(0.5, color="grey", ls="--", lw=0.8)
        if g.name == "basketball":
            th = np.linspace(np.pi, 2 * np.pi, 100)
            for r in (1.5, 4.0):
                ax.plot(r * np.cos(th), r * np.sin(th), color="grey", ls=":", lw=0.8)
            ax.axhline(0.0, color="grey", lw=0.8)
        if g.name == "formation":
            ref, _ = examples.formation_reference(T - 1)
            ax.plot(ref[:, 0], ref[:, 1], color="grey", lw=3, alpha=0.3, label="ref")
        if "goals" in g.info:
            ax.plot(*g.info["goals"].T, "k*", ms=7)
        ax.set_aspect("equal", "datalim")
        ax.set_title(f"{titles.get(g.name, g.name)}\n{res.status}, {res.iterations} it")
        ax.legend(fontsize=6, loc="best")
    fig.suptitle("iLQGames feedback Nash trajectories (o start, s end)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    print(f"saved {path}")


if __name__ == "__main__":
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("out", nargs="?", type=Path,
                     default=Path(__file__).resolve().parents[1] / "docs" / "ilqgames_gallery.png",
                     help="where to save the figure (default: docs/ilqgames_gallery.png)")
    out = cli.parse_args().out
    plot(solve_all(), out)
