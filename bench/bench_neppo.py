"""Benchmark: NePPO (gamesolve.neppo) on the toy game, the alpha family and the LQ demo.

* ``neppo_toy``: the toy game from w = 0.5, 60 iterations, one direction, temperature 0.05,
  projection onto [0, 1] (examples/neppo_games.py);
* ``neppo_alpha{a}``: the alpha family with the authors' closed-form settings (beta = 1e4,
  step 0.05 / sqrt(t + 1), delta = 1e-2, 10 directions, start (0.75, 0.75), 500 iterations,
  projection onto [0, 1]^2). Baseline in the same run: the same search written out in closed
  form (tests/neppo_reference.py, the way the authors' closed-form script computes the 2x2
  gaps, same direction stream): its final max regret and epsilon are reported side by side
  with gamesolve's, and its time gives the ratio;
* ``neppo_lq_demo``: the [MA-GPS] appendix-A LQ game with the Q / R weight potential
  (200 iterations, 4 directions), epsilon and the true Nash gap before and after.

Times: wall (min / median of 3) and process CPU time (cpu_min_s, min of 3; steadier on a
shared machine). Run: ``cd bench && PYTHONPATH=../python python bench_neppo.py`` ->
bench/out/neppo.json.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))
from _harness import cpu_time, measure, write_json  # noqa: E402  (pins BLAS threads before numpy)

import numpy as np  # noqa: E402

import gamesolve  # noqa: E402
from gamesolve.potential import MixedQuadraticPotential, games, potential_gaps  # noqa: E402
from neppo_reference import neppo_alpha  # noqa: E402  (the closed-form oracle of the tests)

ALPHAS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
AUTHORS = dict(iterations=500, beta=1e4, step=0.05, delta=1e-2, directions=10, projection=(0.0, 1.0), seed=0)


def timed(fn, *, repeat=3, warmup=0):
    rec = measure(fn, repeat=repeat, warmup=warmup, min_time=0.0)
    rec["cpu_min_s"] = cpu_time(fn, repeat)
    return rec


def main():
    records = []
    g, pot = games.toy_game(), games.toy_potential()

    def toy():
        return gamesolve.neppo(g, pot, [0.5], iterations=60, directions=1, temperature=0.05, projection=(0.0, 1.0))

    res = toy()
    rec = {"config": "neppo_toy_T60_K1", **timed(toy, repeat=5, warmup=1), "w": float(res.theta[0]),
           "epsilon": res.epsilon}
    records.append(rec)
    print(f"toy: {rec['min_s'] * 1e3:.1f} ms (cpu {rec['cpu_min_s'] * 1e3:.1f} ms), w = {rec['w']:.4f}, "
          f"epsilon = {rec['epsilon']:.3g}", flush=True)

    for a in ALPHAS:
        game = games.alpha_game(a)

        def ours():
            return gamesolve.neppo(game, MixedQuadraticPotential(2), [0.75, 0.75], **AUTHORS)

        def base():
            return neppo_alpha(a)

        res = ours()
        theta_b, regret_b, eps_b = base()
        rec = {"config": f"neppo_alpha{a:g}_T500_K10", **timed(ours)}
        rec["closed_form_cpu_min_s"] = cpu_time(base)
        rec.update(ratio_closed_form=rec["closed_form_cpu_min_s"] / rec["cpu_min_s"], max_regret=res.nash_gap,
                   epsilon=res.epsilon, closed_form_max_regret=regret_b, closed_form_epsilon=eps_b,
                   theta_diff=float(np.abs(res.theta - theta_b).max()))
        records.append(rec)
        print(f"alpha {a:.1f}: gamesolve cpu {rec['cpu_min_s']:.2f} s (wall {rec['min_s']:.2f} s), closed form "
              f"{rec['closed_form_cpu_min_s']:.2f} s (x{rec['ratio_closed_form']:.2f}); max regret {res.nash_gap:.4f} "
              f"vs {regret_b:.4f}, epsilon {res.epsilon:.4f} vs {eps_b:.4f}, |theta diff| {rec['theta_diff']:.1e}",
              flush=True)

    d = games.lq_demo()

    def lq():
        return gamesolve.neppo(d.game, d.potential, d.theta0, context=d.context, **d.settings)

    res = lq()
    gaps0, regrets0 = potential_gaps(d.game, d.potential, d.theta0, d.potential.cooperative(d.game, d.theta0),
                                     **d.context)
    rec = {"config": "neppo_lq_demo_T200_K4", **timed(lq), "epsilon_start": float(gaps0.max()),
           "epsilon": res.epsilon, "nash_gap_start": float(regrets0.max()), "nash_gap": res.nash_gap,
           "K_err": float(np.abs(res.policies - d.K_nash).max())}
    records.append(rec)
    print(f"LQ demo: {rec['min_s']:.2f} s (cpu {rec['cpu_min_s']:.2f} s); epsilon {rec['epsilon_start']:.3g} -> "
          f"{rec['epsilon']:.3g}, true Nash gap {rec['nash_gap_start']:.3g} -> {rec['nash_gap']:.3g}", flush=True)

    write_json("neppo", records, title="NePPO (gamesolve.neppo): toy game, alpha family, LQ demo",
               notes="Wall time (min/median of 3-5) and process CPU time (cpu_min_s, min of 3). Alpha family: the "
                     "authors' closed-form settings (beta 1e4, step 0.05/sqrt(t+1), delta 1e-2, 10 directions, start "
                     "(0.75, 0.75), 500 iterations, [0,1]^2); closed_form_* = the same search written out in closed "
                     "form in numpy (tests/neppo_reference.py, same direction stream), ratio_closed_form = its CPU "
                     "time / gamesolve's. LQ demo: [MA-GPS] appendix-A game, Q/R weight potential, 200 iterations "
                     "of 4 directions; epsilon bounds the true Nash gap ([NePPO] Theorem 3.1).")


if __name__ == "__main__":
    main()
