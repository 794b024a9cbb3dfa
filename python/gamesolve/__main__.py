"""Command line: ``python -m gamesolve demo [--horizon T] [--out PATH]``.

The demo solves the paper-000 appendix-A LQ game over a finite horizon with
the C++ core, prints the equilibrium gains and each player's cost from both
initial states, certifies the solution (Nash gap by exact best responses) and,
if matplotlib is installed, saves a plot of the equilibrium trajectories.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np


def demo(horizon: int = 40, out: str | None = "gamesolve_demo.png") -> int:
    import gamesolve as gs

    g = gs.examples.lq_example()
    sol = gs.solve_lq_game(g.A, g.B, g.Q, g.R, horizon=horizon)
    np.set_printoptions(precision=6, suppress=True)
    print(f"gamesolve {gs.__version__}: paper 000 appendix-A LQ game, N=2 players, n=2 states, T={horizon}")
    print(f"A =\n{g.A}\nB^1 = {g.B[0].ravel()},  B^2 = {g.B[1].ravel()}")
    print("\nfeedback Nash gains at t = 0 (u^i = -K^i x):")
    for i, Ki in enumerate(sol.gains):
        print(f"  K^{i + 1}_0 = {Ki[0].ravel()}")
    other = gs.solve_lq_game(g.A, g.B, g.Q, g.R, horizon=horizon + 1)
    print(f"  with T={horizon + 1}: K^1_0 = {other.gains[0][0].ravel()}  (the backward recursion does not settle"
          " on this game, paper 000 appendix A)")
    print("\nequilibrium costs V_0^i(x0) and certificate (largest unilateral gain):")
    for x0, p in zip(g.x0s, g.probs):
        J = sol.costs(x0)
        print(f"  x0 = {x0}  (prob {p:.1f}):  J^1 = {J[0]:.6f}  J^2 = {J[1]:.6f}  Nash gap = {sol.nash_gap(x0):.1e}")
    Jexp = sum(p * sol.costs(x0) for x0, p in zip(g.x0s, g.probs))
    print(f"  expected costs over the initial-state distribution: {Jexp}")
    if out:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("\n(matplotlib not installed: pip install 'gamesolve[plot]' for the plot)")
            return 0
        fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.6))
        for x0, style in zip(g.x0s, ("-", "--")):
            xs, _ = sol.rollout(x0)
            tt = range(min(horizon, 12) + 1)
            axes[0].plot(tt, xs[: len(tt), 0], style, color="C0", label=f"x_1, x0={x0}")
            axes[0].plot(tt, xs[: len(tt), 1], style, color="C1", label=f"x_2, x0={x0}")
        for i, Ki in enumerate(sol.gains):
            for j in range(Ki.shape[-1]):
                axes[1].plot(Ki[:, 0, j], color=f"C{2 * i + j}", label=f"K^{i + 1}[{j}]")
        axes[0].set(title="equilibrium state trajectories", xlabel="t")
        axes[1].set(title="feedback gains K_t (u = -K_t x)", xlabel="t")
        for ax in axes:
            ax.legend(fontsize=7)
        fig.suptitle("Feedback Nash equilibrium, paper 000 appendix A")
        fig.tight_layout()
        fig.savefig(out, dpi=120)
        print(f"\nsaved plot to {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gamesolve", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="solve the paper-000 appendix-A LQ game and plot it")
    d.add_argument("--horizon", type=int, default=40, help="horizon T (default 40)")
    d.add_argument("--out", default="gamesolve_demo.png", help="where to save the plot ('' for none)")
    args = parser.parse_args(argv)
    if args.command == "demo":
        return demo(args.horizon, args.out or None)
    return 2


if __name__ == "__main__":
    sys.exit(main())
