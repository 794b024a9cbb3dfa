"""Benchmark of gamesolve.lq_nash (docs/theory.md section 3) against scipy's DARE and a numpy
Lyapunov-iteration baseline, in the same run.

Configurations (seeded): the appendix-A game of MA-GPS, random (N, n, m_i) =
(3, 12, 2) and (6, 24, 2) games (A scaled to spectral radius 1.05, Q^i > 0,
R^ii = I). Baselines: ``scipy.linalg.solve_discrete_are`` on the one-player
problem of the same size (summed costs, all controls) and Li & Gajic's
Lyapunov iteration in numpy/scipy (tests/lq_nash_reference.py), both from the
same default start. Targets: appendix A <= 100 us, (3, 12, 2) <= 100 us,
(6, 24, 2) <= 1 ms per call from Python.

    python bench/bench_lq_nash.py            # all three parts
    python bench/bench_lq_nash.py --rows     # the rows above
    python bench/bench_lq_nash.py --peers    # against the peers (one run, ratios)
    python bench/bench_lq_nash.py --accuracy # scipy's DAREX cases: residual, error estimate, peers

``--peers``: random games (seeded), n from 2 to 64, N = 1, 2, 3, 6, A scaled to
spectral radius 0.9 (stable) and 1.05 (unstable), Q^i > 0, R^ii = I, m_i =
max(1, n // 8). Baselines in the same run: N = 1 ``scipy.linalg.solve_discrete_are``
and slycot's ``sb02od`` through ``control.dare(method="slycot")`` (optional bench
dependencies python-control + slycot); N = 2 quantecon's ``nnash`` (optional,
its default tol 1e-8); N = 3, 6 scipy's DARE of the same size (summed costs). The
peers' times include their own Python wrappers, as ours does. ratio = peer / ours.
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


def peer_configs():
    for N in (1, 2, 3, 6):
        for n in (2, 4, 8, 12, 16, 32, 64):
            if N * max(1, n // 8) > 2 * n:
                continue
            for radius in (0.9, 1.05):
                yield N, n, max(1, n // 8), radius


def peers():
    try:
        import control
        control.dare(np.eye(2) * 0.5, np.eye(2), np.eye(2), np.eye(2), method="slycot")
    except Exception:  # noqa: BLE001 -- optional peer
        control = None
    try:
        import warnings
        warnings.filterwarnings("ignore")
        import quantecon
    except Exception:  # noqa: BLE001 -- optional peer
        quantecon = None
    records = []
    for N, n, mi, radius in peer_configs():
        A, B, Q, R, dims = ref.random_game(N, n, mi, seed=n + 10 * N, radius=radius)
        Rj = ref.joint_R(R, dims)
        kind = "stable" if radius < 1 else "unstable"
        name = f"peers_N{N}_n{n}_m{mi}_{kind}"
        sol = lq_nash(A, B, Q, R, dims=dims)
        quick = dict(repeat=3, min_time=0.01, warmup=1)
        ours = measure(lambda: lq_nash(A, B, Q, R, dims=dims), **quick)
        base = {}
        if N == 1:
            base["scipy solve_discrete_are"] = measure(lambda: sla.solve_discrete_are(A, B, Q[0], R[0]), **quick)
            if control is not None:
                base["slycot sb02od (control.dare)"] = measure(
                    lambda: control.dare(A, B, Q[0], R[0], method="slycot"), **quick)
        elif N == 2 and quantecon is not None:
            b1, b2 = B[:, :mi], B[:, mi:]
            z = np.zeros((mi, mi))
            zw = np.zeros((n, mi))
            f = lambda: quantecon.nnash(A, b1, b2, Q[0], Q[1], R[0], R[1], z, z, zw, zw, z, z)  # noqa: E731
            try:
                F1, F2, _, _ = f()
                agree = float(np.abs(np.vstack([F1, F2]) - sol.K).max())
                base["quantecon nnash"] = {**measure(f, **quick), "max_abs_dK": agree}
            except Exception as exc:  # noqa: BLE001 -- the peer's failure is a result
                base["quantecon nnash"] = {"median_s": float("nan"), "min_s": float("nan"), "error": str(exc)[:80]}
        else:
            base["scipy solve_discrete_are (N=1, summed, same size)"] = measure(
                lambda: sla.solve_discrete_are(A, B, Q.sum(0), Rj.sum(0)), **quick)
        for bname, b in base.items():
            rec = {"config": name, **ours, "N": N, "n": n, "m_i": mi, "radius": radius, "baseline": bname,
                   "baseline_median_s": b["median_s"], "ratio": b["median_s"] / ours["median_s"],
                   "ratio_min": b["min_s"] / ours["min_s"], "method": sol.method, "residual": sol.residual,
                   "error_estimate": sol.error_estimate}
            if "max_abs_dK" in b:
                rec["max_abs_dK_vs_peer"] = b["max_abs_dK"]
            records.append(rec)
            print(f"{name:30s} ours {ours['min_s'] * 1e6:9.1f} us  {bname:34s} {b['min_s'] * 1e6:9.1f} us  "
                  f"ratio(min) {b['min_s'] / ours['min_s']:6.2f}  {sol.method}", flush=True)
    write_json("lq_nash_peers", records, title="lq_nash against its peers",
               notes="One run, shared 2-core machine; ratio = peer / ours (ratio_min from the minima).")


def accuracy():
    """scipy's DAREX collection (tests/test_lq_nash_peers.py): lq_nash's certificate and error
    estimate, scipy's test residual at lq_nash's P and at scipy's own X (scipy's tolerance),
    slycot's when available, and the relative difference from scipy's X."""
    from test_lq_nash_peers import DAREX, scipy_residual
    try:
        import control
    except Exception:  # noqa: BLE001 -- optional peer
        control = None
    records = []
    for case, data in sorted(DAREX.items()):
        a, b, q, r, atol = (np.asarray(v, dtype=float) for v in data)
        sol = lq_nash(a, b, q, r)
        x = sla.solve_discrete_are(a, b, q, r)
        rec = {"config": f"darex_{case}", "n": a.shape[0], "m": b.shape[1], "converged": sol.converged,
               "residual": sol.residual, "error_estimate": sol.error_estimate,
               "scipy_test_residual_ours": scipy_residual(a, b, q, r, sol.P[0]),
               "scipy_test_residual_scipy": scipy_residual(a, b, q, r, x), "scipy_test_tol": float(atol),
               "rel_diff_vs_scipy": float(np.linalg.norm(sol.P[0] - x) / np.linalg.norm(x))}
        if control is not None:
            try:
                xs = control.dare(a, b, q, r, method="slycot")[0]
                rec["scipy_test_residual_slycot"] = scipy_residual(a, b, q, r, xs)
            except Exception:  # noqa: BLE001 -- the peer's failure is a result
                rec["scipy_test_residual_slycot"] = float("nan")
        records.append(rec)
        print(rec, flush=True)
    write_json("lq_nash_accuracy", records, title="lq_nash accuracy on scipy's DAREX collection",
               notes="Default tol. residual = lq_nash's certificate; error_estimate = its estimated relative "
                     "error of K; scipy_test_residual_* = max|residual matrix| of scipy's own test at each "
                     "solver's answer, against scipy_test_tol; rel_diff_vs_scipy = ||P - X_scipy|| / ||X_scipy|| "
                     "(case 17: scipy's X is itself off by 1.8e-8, lq_nash's by 3.2e-9, against a 50-digit "
                     "reference; tests/test_lq_nash_peers.py).")


if __name__ == "__main__":
    parts = {"--rows": main, "--peers": peers, "--accuracy": accuracy}
    chosen = [f for flag, f in parts.items() if flag in sys.argv] or list(parts.values())
    for part in chosen:
        part()
