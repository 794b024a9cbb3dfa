"""Benchmark of gamesolve.lq_nash (docs/theory.md section 3) against scipy's DARE and a numpy
Lyapunov-iteration baseline, in the same run.

Configurations (seeded): the appendix-A game of MA-GPS, random (N, n, m_i) =
(3, 12, 2) and (6, 24, 2) games (A scaled to spectral radius 1.05, Q^i > 0,
R^ii = I). Baselines: ``scipy.linalg.solve_discrete_are`` on the one-player
problem of the same size (summed costs, all controls) and Li & Gajic's
Lyapunov iteration in numpy/scipy (tests/lq_nash_reference.py), both from the
same default start. Targets: appendix A <= 100 us, (3, 12, 2) <= 100 us,
(6, 24, 2) <= 1 ms per call from Python.

    python bench/bench_lq_nash.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from _harness import measure, write_json  # noqa: E402  (pins BLAS threads first)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "tests"))

import numpy as np  # noqa: E402
import scipy.linalg as sla  # noqa: E402

import lq_nash_reference as ref  # noqa: E402
from gamesolve import lq_nash  # noqa: E402
from gamesolve.examples import lq_example  # noqa: E402


def configs():
    g = lq_example()
    yield "lq_appendixA_N2_n2_m1", g.A, g.B, g.Q, g.R, g.dims, 100e-6
    for (N, n, mi, target) in [(3, 12, 2, 100e-6), (6, 24, 2, 1e-3)]:
        A, B, Q, R, dims = ref.random_game(N, n, mi, seed=0)
        yield f"lq_nash_N{N}_n{n}_m{mi}", A, B, Q, R, dims, target


def main():
    records = []
    for name, A, B, Q, R, dims, target in configs():
        Bs = np.hstack(B) if isinstance(B, list) else B
        Rj = ref.joint_R(R, dims)
        sol = lq_nash(A, B, Q, R, dims=dims)
        assert sol.converged, name
        ours = measure(lambda: lq_nash(A, B, Q, R, dims=dims))
        Qs, Rs = Q.sum(0), Rj.sum(0)
        dare = measure(lambda: sla.solve_discrete_are(A, Bs, Qs, Rs))
        K0 = ref.default_start(A, Bs, Q, Rj)
        Kl, _, lyap_it = ref.lyapunov_iteration(A, Bs, Q, Rj, dims, K0, tol=1e-10, max_iter=2000)
        lyap = measure(lambda: ref.lyapunov_iteration(A, Bs, Q, Rj, dims, K0, tol=1e-10, max_iter=2000),
                       repeat=3, min_time=0.02)
        per_method = {}
        for m in ("lyapunov", "riccati", "newton"):
            s = lq_nash(A, B, Q, R, dims=dims, method=m, max_iter=2000)
            per_method[m] = {"iterations": s.iterations, "converged": s.converged, "residual": s.residual}
        common = {"iterations": sol.iterations, "method": sol.method, "residual": sol.residual,
                  "target_s": target, "meets_target": ours["median_s"] <= target,
                  "per_method": per_method, "numpy_lyapunov_iterations": lyap_it,
                  "numpy_lyapunov_agrees": bool(np.allclose(Kl, sol.K, atol=1e-7))}
        for base_name, base in (("scipy.linalg.solve_discrete_are (N=1, same size)", dare),
                                ("numpy Lyapunov iteration (Li & Gajic)", lyap)):
            records.append({"config": name, **ours, "baseline": base_name,
                            "baseline_median_s": base["median_s"],
                            "ratio": base["median_s"] / ours["median_s"], **common})
        print(f"{name:28s} ours {ours['median_s'] * 1e6:9.1f} us ({sol.method}, {sol.iterations} it, "
              f"res {sol.residual:.1e})  DARE {dare['median_s'] * 1e6:8.1f} us  numpy-Lyapunov "
              f"{lyap['median_s'] * 1e6:9.1f} us ({lyap_it} it)  target {target * 1e6:.0f} us", flush=True)
        print(f"{'':28s} per method: {per_method}", flush=True)
    write_json("lq_nash", records, title="Infinite-horizon LQ Nash (lq_nash)",
               notes="Median seconds per call from Python; ratio = baseline / ours. Machine shared by "
                     "several builds during the run: absolute times are noisy.")


if __name__ == "__main__":
    main()
