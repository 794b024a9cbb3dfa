"""Command line: ``python -m gamesolve demo [--horizon T] [--out DIR] [--no-plot]`` and ``--version``.

The demo solves the [MA-GPS] appendix-A LQ game over a finite horizon with
the C++ core, prints the equilibrium gains and each player's cost from both
initial states, certifies the solution (Nash gap by exact best responses) and,
if matplotlib is installed, saves a plot of the equilibrium trajectories as
``gamesolve_demo.png`` in ``--out`` (default: the current directory).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

#: File name of the demo's figure (written into ``--out``).
DEMO_FIGURE = "gamesolve_demo.png"


def demo(horizon: int = 40, out: str | Path | None = ".") -> int:
    """Run the demo; ``out``: directory for the figure (None: no figure). Returns the exit code."""
    import gamesolve as gs

    g = gs.examples.lq_example()
    sol = gs.solve_lq_game(g.A, g.B, g.Q, g.R, horizon=horizon)
    np.set_printoptions(precision=6, suppress=True)
    print(f"gamesolve {gs.__version__}: the LQ game of the MA-GPS paper (appendix A), "
          f"N=2 players, n=2 states, T={horizon}")
    print(f"A =\n{g.A}\nB^1 = {g.B[0].ravel()},  B^2 = {g.B[1].ravel()}")
    print("\nfeedback Nash gains at t = 0 (u^i = -K^i x):")
    for i, Ki in enumerate(sol.gains):
        print(f"  K^{i + 1}_0 = {Ki[0].ravel()}")
    other = gs.solve_lq_game(g.A, g.B, g.Q, g.R, horizon=horizon + 1)
    print(f"  with T={horizon + 1}: K^1_0 = {other.gains[0][0].ravel()}  (the backward recursion does not settle"
          " on this game, see docs/theory.md §3)")
    print("\nequilibrium costs V_0^i(x0) and certificate (largest unilateral gain):")
    for x0, p in zip(g.x0s, g.probs):
        J = sol.costs(x0)
        print(f"  x0 = {x0}  (prob {p:.1f}):  J^1 = {J[0]:.6f}  J^2 = {J[1]:.6f}  Nash gap = {sol.nash_gap(x0):.1e}")
    Jexp = sum(p * sol.costs(x0) for x0, p in zip(g.x0s, g.probs))
    print(f"  expected costs over the initial-state distribution: {Jexp}")
    if out is not None:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("\n(matplotlib not installed: pip install 'gamesolve[plot]' for the plot)")
            return 0
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
        for x0, style in zip(g.x0s, ("-", "--")):
            xs, _ = sol.rollout(x0)
            tt = range(min(horizon, 12) + 1)
            start = ", ".join(f"{v:g}" for v in x0)
            for j in range(xs.shape[1]):
                axes[0].plot(tt, xs[: len(tt), j], style, color=f"C{j}", label=f"$x_{j + 1}$ from $x_0$ = ({start})")
        for i, Ki in enumerate(sol.gains):
            for j in range(Ki.shape[-1]):
                axes[1].plot(Ki[:, 0, j], color=f"C{2 * i + j}", label=f"player {i + 1}'s gain on $x_{j + 1}$")
        axes[0].set(title="equilibrium state trajectories (first 12 stages)", xlabel="stage t", ylabel="state")
        axes[1].set(title=r"feedback gains $K^i_t$ ($u^i_t = -K^i_t x_t$)", xlabel="stage t", ylabel="gain")
        axes[0].legend(fontsize=8)
        axes[1].set_ylim(top=1.3 * axes[1].get_ylim()[1])  # room for the legend above the oscillating gains
        axes[1].legend(fontsize=8, loc="upper center", ncol=2)
        fig.suptitle(f"Finite-horizon feedback Nash equilibrium (T = {horizon}) of the MA-GPS appendix-A LQ game")
        fig.tight_layout()
        path = Path(out) / DEMO_FIGURE
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120)
        print(f"\nwrote {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    from . import __version__

    parser = argparse.ArgumentParser(prog="python -m gamesolve",
                                     description="gamesolve: Nash equilibria of dynamic games.")
    parser.add_argument("--version", action="version", version=f"gamesolve {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="solve the LQ game of the MA-GPS paper (appendix A) and plot it")
    d.add_argument("--horizon", type=int, default=40, help="horizon T (default 40)")
    d.add_argument("--out", type=Path, default=Path("."), metavar="DIR",
                   help=f"directory for the figure {DEMO_FIGURE} (default: the current directory)")
    d.add_argument("--no-plot", action="store_true", help="print the solution only, write no figure")
    args = parser.parse_args(argv)
    if args.command == "demo":
        return demo(args.horizon, None if args.no_plot else args.out)
    return 2


if __name__ == "__main__":
    sys.exit(main())
