"""Threads mixing solvers give the sequential results bit for bit.

The compiled kernels release the GIL; each solve uses its own (or a per-thread
cached) workspace. Eight Python threads run a shuffled mix of finite-horizon
solves (single and batched, on 1 and 2 core threads), policy evaluations,
infinite-horizon solves, policy-gradient quantities, entropy solves and
iLQGames, and every result must equal the one computed sequentially first.
"""

from __future__ import annotations

import threading

import numpy as np

import gamesolve as gs


def _tasks():
    rng = np.random.default_rng(5)
    n, dims, T = 4, (1, 2), 12
    m = sum(dims)
    tasks = []
    for s in range(4):
        A = 0.4 * rng.standard_normal((n, n))
        B = rng.standard_normal((n, m))
        Q = np.stack([np.eye(n) * (1 + s), np.eye(n)])
        R = np.stack([np.eye(m), 2 * np.eye(m)])
        q = rng.standard_normal((2, n))
        tasks.append(("solve", lambda A=A, B=B, Q=Q, R=R, q=q: gs.solve_lq_game(
            A, B, Q, R, horizon=T, dims=dims, q=q).K))
        batch = np.stack([A, 0.9 * A, 1.1 * A])
        tasks.append(("batch", lambda b=batch, B=B, Q=Q, R=R: gs.solve_lq_games(
            b, B[None], Q[None], R[None], horizon=T, dims=dims).Z))
        K = rng.standard_normal((T, m, n)) * 0.1
        tasks.append(("evaluate", lambda A=A, B=B, Q=Q, R=R, K=K: gs.evaluate_lq_strategy(
            A, B, Q, R, K, horizon=T, dims=dims)[0]))
        tasks.append(("entropy", lambda A=A, B=B, Q=Q, R=R: gs.entropy_lq_nash(
            A, [B[:, :1], B[:, 1:]], Q, [R[0][:1, :1], R[1][1:, 1:]], tau=0.5, horizon=T).Sigma))
    g = gs.examples.lq_example()
    K = gs.lq_nash(g.A, g.B, g.Q, g.R).K
    tasks.append(("lq_nash", lambda: gs.lq_nash(g.A, g.B, g.Q, g.R).K))
    tasks.append(("lq_cost", lambda: gs.lq_cost(g.A, g.B, g.Q, g.R, 0.9 * K, g.Sigma0)))
    tasks.append(("gradient", lambda: gs.pseudo_gradient(g.A, g.B, g.Q, g.R, 0.9 * K, g.Sigma0)))
    tasks.append(("jacobian", lambda: gs.pseudo_gradient_jacobian(g.A, g.B, g.Q, g.R, 0.9 * K, g.Sigma0)))
    pl = gs.examples.platooning()
    tasks.append(("ilqgames", lambda: gs.ilqgames(pl, pl.x0, horizon=10, max_iter=20).us))
    return tasks


def test_threads_mixing_solvers_match_sequential_bit_for_bit():
    tasks = _tasks()
    before = gs.get_num_threads()
    try:
        gs.set_num_threads(1)
        sequential = {name + str(i): f() for i, (name, f) in enumerate(tasks)}
        gs.set_num_threads(2)  # the batched solves' core threads too: results must not depend on it
        order = np.random.default_rng(0).permutation(np.repeat(np.arange(len(tasks)), 4))
        results, errors = [], []
        lock = threading.Lock()

        def worker(part):
            try:
                for j in part:
                    name, f = tasks[j]
                    out = f()
                    with lock:
                        results.append((name + str(j), out))
            except BaseException as exc:  # noqa: BLE001 -- reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(order[k::8],)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        gs.set_num_threads(before)
    assert not errors, errors
    assert len(results) == 4 * len(tasks)
    for key, out in results:
        np.testing.assert_array_equal(out, sequential[key], err_msg=key)
