"""Reproduce paper 000 Fig. 1: guidance stabilizes simultaneous policy gradient
in the appendix-A LQ game, at the price of a bias that grows with rho.

1. The Nash equilibrium K* of the appendix-A game by ``gamesolve.lq_nash``.
2. The eigenvalues of the pseudo-gradient Jacobian at K* (paper 000 eq. 12): a
   pair with real part ~4e-5 and imaginary part ~0.019, so the policy-gradient
   step K <- K - eta w(K) rotates around K* and, for eta = 2, is locally unstable
   (|1 - eta lambda| > 1): with rho = 0 the iterates keep circling.
3. A deliberately biased guide Kg = K* + bias; guided policy gradient (eq. 13)
   for several rho converges to the guided equilibrium K-hat*(rho)
   (``guided_lq_nash``), whose distance to K* grows with rho (eq. 14).

    python examples/fig1_policy_gradient.py [output.png]      (default docs/fig1_policy_gradient.png)
"""

from __future__ import annotations

import argparse

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

from gamesolve import (guided_lq_nash, lq_nash, pseudo_gradient_jacobian,  # noqa: E402
                       simulate_policy_gradient)
from gamesolve.examples import lq_example  # noqa: E402

RHOS = [0.0, 0.03, 0.1, 0.3, 1.0]
ETA = 2.0
STEPS = 6000
BIAS = np.array([[0.1, 0.05], [-0.1, 0.05]])
START_OFFSET = np.array([[-0.05, 0.02], [0.05, -0.02]])


def run():
    g = lq_example()
    S0 = g.Sigma0
    sol = lq_nash(g.A, g.B, g.Q, g.R)
    Ks = sol.K
    print(f"Nash equilibrium K* = {Ks.tolist()} (method {sol.method}, {sol.iterations} iterations, "
          f"residual {sol.residual:.1e}, spectral radius {sol.spectral_radius:.3f})")
    ev = np.linalg.eigvals(pseudo_gradient_jacobian(g.A, g.B, g.Q, g.R, Ks, S0))
    print(f"eigenvalues of the pseudo-gradient Jacobian at K*: {np.round(ev, 6)}")
    print(f"max |1 - eta lambda| at eta = {ETA}: {np.max(np.abs(1 - ETA * ev)):.5f} (> 1: unstable step)")
    Kg = Ks + BIAS
    runs = []
    for rho in RHOS:
        gsol = guided_lq_nash(g.A, g.B, g.Q, g.R, Kg, rho)
        evg = np.linalg.eigvals(pseudo_gradient_jacobian(g.A, g.B, g.Q, g.R, gsol.K, S0,
                                                         K_guide=Kg if rho else None, rho=rho))
        tr = simulate_policy_gradient(g.A, g.B, g.Q, g.R, Ks + START_OFFSET, S0, eta=ETA, steps=STEPS,
                                      K_guide=Kg if rho else None, rho=rho, gtol=1e-9, progress=True)
        bias = np.linalg.norm(gsol.K - Ks)
        print(f"rho = {rho:5.2f}: {tr.status:15s} after {tr.iterations:5d} steps, |w| = {tr.grad_norm[-1]:.2e}, "
              f"bias |K-hat* - K*| = {bias:.4f}, min Re eig = {evg.real.min():.2e}")
        runs.append((rho, tr, gsol.K, bias, evg))
    return g, Ks, Kg, ev, runs


def plot(g, Ks, Kg, ev, runs, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not available: figure skipped")
        return
    fig, axes = plt.subplots(2, 2, figsize=(10, 8.5))
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(runs)))
    for i in range(2):
        ax = axes[i, 0] if i == 0 else axes[0, 1]
        for (rho, tr, Kh, bias, _), c in zip(runs, colors):
            ax.plot(tr.K[:, i, 0], tr.K[:, i, 1], color=c, lw=0.8, label=f"rho={rho:g}")
            ax.plot(*Kh[i], "x", color=c, ms=8)
        ax.plot(*Ks[i], "r*", ms=14, label="Nash K*")
        ax.plot(*Kg[i], "ks", ms=7, label="guide Kg")
        ax.set_xlabel(f"K^{i + 1},1")
        ax.set_ylabel(f"K^{i + 1},2")
        ax.set_title(f"player {i + 1}: policy-gradient trajectories (eta={ETA})")
        if i == 0:
            ax.legend(fontsize=8)
    ax = axes[1, 0]
    rhos = [r[0] for r in runs]
    ax.plot(rhos[1:], [r[3] for r in runs[1:]], "o-", label="bias |K-hat*(rho) - K*|")
    ax.plot(rhos[1:], [r[4].real.min() for r in runs[1:]], "s-", label="min Re eig of guided Jacobian")
    ax.axhline(ev.real.min(), color="gray", ls=":", label="min Re eig at K* (rho=0)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("rho")
    ax.set_title("stability / bias trade-off")
    ax.legend(fontsize=8)
    ax = axes[1, 1]
    for (rho, tr, Kh, bias, _), c in zip(runs, colors):
        ax.semilogy(np.arange(len(tr.grad_norm)), tr.grad_norm, color=c, label=f"rho={rho:g}")
    ax.set_xlabel("policy-gradient step")
    ax.set_ylabel("|w(K)|_F (guided)")
    ax.set_title("rho = 0 keeps circling; rho > 0 converges")
    ax.legend(fontsize=8)
    fig.suptitle("paper 000 Fig. 1 (appendix-A LQ game): guidance stabilizes policy gradient, bias grows with rho")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    print(f"saved {path}")


if __name__ == "__main__":
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("out", nargs="?", default=str(ROOT / "docs" / "fig1_policy_gradient.png"),
                     help="where to save the figure (default: docs/fig1_policy_gradient.png)")
    out = cli.parse_args().out
    plot(*run(), out)
