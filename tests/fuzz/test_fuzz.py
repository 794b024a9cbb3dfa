"""The fuzz families (tests/fuzz/families.py): a quick profile in every run, a long one with ``-m fuzz``."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gamesolve as gs
import lq_nash_reference as ref
import lq_twin
from .families import (apply, check_finite_solution, check_policy_value, compared, finite_game, full_time,
                      infinite_game, mutation, oracle_gradient, rel_err, run)

QUICK = 25
LONG = int(os.environ.get("GAMESOLVE_FUZZ_EXAMPLES", "8000"))
HEALTH = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]
HORIZONS = [None, 0, -1, 2.5, float("inf"), "3", 2**31, 2**62, True]
REALS = [None, "x", float("nan"), -1.0, 0.0, float("inf"), 2**31, 1e-300]

GAME = ["A", "B", "Q", "R", "q", "c"]


# --------------------------------------------------------------------------- #
# The families: each a function of hypothesis' `data`
# --------------------------------------------------------------------------- #


def fam_solve_lq_game(data):
    args, dims, T = data.draw(finite_game())
    mut = data.draw(mutation(GAME + ["horizon"]))
    horizon = data.draw(st.sampled_from(HORIZONS)) if mut[1] == "horizon" and mut[0] != "none" else T
    a = apply(args, mut)
    sol = run("solve_lq_game", gs.solve_lq_game, a.pop("A"), a.pop("B"), a.pop("Q"), a.pop("R"), horizon=horizon,
              dims=dims, **a)
    if sol is not None:
        assert sol.status in ("solved", "not_convex")
        if same_values(mut):
            check_finite_solution("solve_lq_game", sol, args, dims, T)


def fam_solve_lq_games(data):
    args, dims, T = data.draw(finite_game())
    other, _, _ = data.draw(finite_game().filter(lambda g: g[1] == dims and g[0]["A"].shape == args["A"].shape))
    batch = {k: np.stack([args[k], other[k]]) for k in args if k in other}
    mut = data.draw(mutation(list(batch)))
    keep = data.draw(st.sampled_from(["all", "all", "gains", "stage0", "bad"]))
    a = apply(batch, mut)
    sol = run("solve_lq_games", gs.solve_lq_games, a.pop("A"), a.pop("B"), a.pop("Q"), a.pop("R"), horizon=T,
              dims=dims, keep=keep, **a)
    if sol is not None and keep == "all" and same_values(mut):
        for b, g in enumerate((args, other)):
            one = gs.lq.finite.LQGameSolution  # noqa: F841 -- the per-game comparison below
            sub = type("S", (), {k: getattr(sol, k)[b] for k in ("K", "k", "Z", "zeta", "s")})
            sub.min_rcond = sol.min_rcond
            if {k for k in g} == {k for k in batch}:
                check_finite_solution("solve_lq_games", sub, g, dims, T)


def fam_evaluate_lq_strategy(data):
    args, dims, T = data.draw(finite_game())
    n, m = args["B"].shape
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    K, k = 0.3 * rng.standard_normal((T, m, n)), rng.standard_normal((T, m))
    full = dict(args, K=K, k=k)
    mut = data.draw(mutation(GAME + ["K", "k"]))
    a = apply(full, mut)
    out = run("evaluate_lq_strategy", gs.evaluate_lq_strategy, a.pop("A"), a.pop("B"), a.pop("Q"), a.pop("R"),
              a.pop("K"), a.pop("k"), horizon=T, dims=dims, **a)
    if out is None:
        return
    Z, zeta, s = out
    assert all(np.all(np.isfinite(x)) for x in out), "evaluate_lq_strategy: silent non-finite values"
    if mut[0] == "none":
        q, c = args.get("q"), args.get("c")
        want = lq_twin.evaluate_strategy_numpy(
            full_time(args["A"], T), full_time(args["B"], T), full_time(args["Q"], T),
            None if q is None else full_time(q, T), full_time(args["R"], T), None, None,
            None if c is None else full_time(c, T), args["Q"], q, K, k)
        if np.abs(want[0]).max() < 1e100:
            assert rel_err(Z, want[0]) <= 1e-8 and rel_err(s, want[2]) <= 1e-8
            compared("evaluate_lq_strategy")


def fam_lq_game(data):
    args, dims, T = data.draw(finite_game())
    mut = data.draw(mutation(GAME + ["horizon"]))
    horizon = data.draw(st.sampled_from(HORIZONS)) if mut[1] == "horizon" and mut[0] != "none" else T
    a = apply(args, mut)
    g = run("lq_game", gs.lq_game, a.pop("A"), a.pop("B"), a.pop("Q"), a.pop("R"), horizon=horizon, dims=dims,
            **a)
    if g is not None:
        for name in ("A", "B", "Q", "R", "q", "c", "QT", "qT"):
            x = getattr(g, name)
            if x is not None:
                assert x.dtype == np.float64 and not x.flags.writeable and np.all(np.isfinite(x))
                assert x.flags.c_contiguous and x.flags.aligned


def fam_lq_nash(data):
    args, dims, K, S0 = data.draw(infinite_game())
    mut = data.draw(mutation(["A", "B", "Q", "R"]))
    a = apply(args, mut)
    res = run("lq_nash", gs.lq_nash, a["A"], a["B"], a["Q"], a["R"], dims=dims)
    if res is None:
        return
    if res.converged:
        assert np.isfinite(res.residual) and np.all(np.isfinite(res.K)), "lq_nash: converged without a finite " \
                                                                          "certificate"
        if same_values(mut):
            A, B, Q, R = args["A"], args["B"], args["Q"], args["R"]
            assert np.max(np.abs(np.linalg.eigvals(A - B @ res.K))) < 1, "lq_nash: converged to a destabilizing K"
            P = ref.policy_value(A, B, Q, R, res.K)
            S, Y = ref.stacked_system(A, B, P, R, dims)
            r = np.abs(S @ res.K - Y).max() / (np.abs(S).max() * np.abs(res.K).max() + np.abs(Y).max())
            assert r <= 1e-6, f"lq_nash: converged, but the coupled equations have residual {r:.3g} (scipy)"
            compared("lq_nash")


def _pg_case(data, extra=()):
    args, dims, K, S0 = data.draw(infinite_game())
    full = dict(args, K=K, Sigma0=S0)
    mut = data.draw(mutation(["A", "B", "Q", "R", "K", "Sigma0", *extra]))
    return args, dims, K, S0, mut, apply(full, mut)


def fam_lq_cost(data):
    args, dims, K, S0, mut, a = _pg_case(data)
    J = run("lq_cost", gs.lq_cost, a["A"], a["B"], a["Q"], a["R"], a["K"], a["Sigma0"], dims=dims)
    if J is not None:
        assert np.all(np.isfinite(J)), "lq_cost: silent non-finite costs"
        if same_values(mut):
            check_policy_value("lq_cost", J, args, K, S0)


def fam_pseudo_gradient(data):
    args, dims, K, S0, mut, a = _pg_case(data)
    w = run("pseudo_gradient", gs.pseudo_gradient, a["A"], a["B"], a["Q"], a["R"], a["K"], a["Sigma0"], dims=dims)
    if w is not None:
        assert np.all(np.isfinite(w)), "pseudo_gradient: silent non-finite gradient"
        A, B = args["A"], args["B"]
        if same_values(mut) and np.max(np.abs(np.linalg.eigvals(A - B @ K))) < 0.99:
            want, terms = oracle_gradient(A, B, args["Q"], args["R"], K, S0, dims, with_scale=True)
            if terms < 1e100:  # round-off relative to the terms that cancel at a stationary point
                err = np.abs(w - want).max()
                assert err <= 1e-6 * np.abs(want).max() + 1e-9 * terms, \
                    f"pseudo_gradient: differs from scipy ({err:.3g}, terms {terms:.3g})"
                compared("pseudo_gradient")


def fam_pseudo_gradient_jacobian(data):
    args, dims, K, S0, mut, a = _pg_case(data)
    J = run("pseudo_gradient_jacobian", gs.pseudo_gradient_jacobian, a["A"], a["B"], a["Q"], a["R"], a["K"],
            a["Sigma0"], dims=dims)
    if J is None:
        return
    assert np.all(np.isfinite(J)), "pseudo_gradient_jacobian: silent non-finite values"
    A, B, Q, R = args["A"], args["B"], args["Q"], args["R"]
    if same_values(mut) and np.max(np.abs(np.linalg.eigvals(A - B @ K))) < 0.95:
        m, n = K.shape
        h = 1e-6
        fd = np.empty((m * n, m * n))
        for j in range(m * n):
            E = np.zeros(m * n)
            E[j] = h
            E = E.reshape(m, n)
            fd[:, j] = ((oracle_gradient(A, B, Q, R, K + E, S0, dims)
                         - oracle_gradient(A, B, Q, R, K - E, S0, dims)) / (2 * h)).ravel()
        assert np.abs(J - fd).max() <= 1e-4 * max(np.abs(fd).max(), 1.0), "pseudo_gradient_jacobian: differs from " \
                                                                           "central differences"
        compared("pseudo_gradient_jacobian")


def fam_simulate_policy_gradient(data):
    args, dims, K, S0, mut, a = _pg_case(data, extra=("eta", "steps", "gtol"))
    opts = dict(eta=0.01, steps=5, gtol=1e-10)
    if mut[1] in opts and mut[0] != "none":
        opts[mut[1]] = data.draw(st.sampled_from(REALS))
    tr = run("simulate_policy_gradient", gs.simulate_policy_gradient, a["A"], a["B"], a["Q"], a["R"], a["K"],
             a["Sigma0"], dims=dims, **opts)
    if tr is not None and tr.converged:
        assert np.isfinite(tr.info.residual) and tr.info.residual <= opts["gtol"]


def _entropy_case(data):
    args, dims, T = data.draw(finite_game())
    off = np.concatenate([[0], np.cumsum(dims)])
    own = [args["R"][i][off[i]:off[i + 1], off[i]:off[i + 1]] for i in range(len(dims))]
    B = [args["B"][:, off[i]:off[i + 1]] for i in range(len(dims))]
    base = dict(A=args["A"], B=B, Q=args["Q"], R=own, tau=data.draw(st.sampled_from([0.1, 1.0, 10.0])))
    mut = data.draw(mutation(["A", "B", "Q", "R", "tau", "horizon"]))
    if mut[1] in ("tau", "horizon") and mut[0] != "none":
        base[mut[1]] = data.draw(st.sampled_from(REALS + HORIZONS))
        a = base
    else:
        a = apply(base, mut)
    return args, dims, T, base, mut, a


def fam_entropy_lq_nash(data):
    args, dims, T, base, mut, a = _entropy_case(data)
    horizon = a.get("horizon", T)
    sol = run("entropy_lq_nash", gs.entropy_lq_nash, a["A"], a["B"], a["Q"], a["R"], tau=a["tau"], horizon=horizon)
    if sol is None:
        return
    if sol.status.ok:
        for name in ("K", "Sigma", "P", "p"):
            assert np.all(np.isfinite(getattr(sol, name))), f"entropy_lq_nash: silent non-finite {name}"
        assert np.all(np.diagonal(sol.Sigma, axis1=1, axis2=2) > 0)
        if mut[0] == "none":  # the means: the finite-horizon game with R^ii shifted by tau/2
            R = args["R"].copy()
            off = np.concatenate([[0], np.cumsum(dims)])
            for i in range(len(dims)):
                R[i, off[i]:off[i + 1], off[i]:off[i + 1]] += base["tau"] / 2 * np.eye(dims[i])
            K, _, Z, _, _, status = lq_twin.solve_lq_game_numpy(
                full_time(args["A"], T), full_time(args["B"], T), full_time(args["Q"], T), None,
                full_time(R, T), None, None, None, args["Q"], None, dims, with_status=True)
            if (status == 0).all() and np.abs(Z).max() < 1e100 and sol.stage_status.max() == 0:
                assert rel_err(sol.P, Z) <= 1e-6, "entropy_lq_nash: P differs from the twin"
                compared("entropy_lq_nash")
    else:
        assert sol.status == "not_convex"


def fam_entropy_po(data):
    args, dims, T, base, mut, a = _entropy_case(data)
    sweeps = data.draw(st.sampled_from([1, 5, 30, None, 0, 2.5]))
    res = run("entropy_po", gs.entropy_po, a["A"], a["B"], a["Q"], a["R"], tau=a["tau"],
              horizon=a.get("horizon", T), sweeps=sweeps)
    if res is not None and res.converged:
        assert np.isfinite(res.info.residual) and np.all(np.isfinite(res.K)) and np.isfinite(res.epsilon)


def fam_ilqgames(data):
    g = gs.examples.lq_example()
    x0 = np.asarray(g.x0s[0], dtype=float) if hasattr(g, "x0s") else np.ones(g.A.shape[0])
    opts = dict(horizon=data.draw(st.integers(1, 8)), max_iter=10, tol=1e-6)
    mut = data.draw(mutation(["x0", "horizon", "max_iter", "tol"]))
    a = apply({"x0": x0}, mut) if mut[1] == "x0" else {"x0": x0}
    if mut[1] != "x0" and mut[0] != "none":
        opts[mut[1]] = data.draw(st.sampled_from(REALS + HORIZONS))
    res = run("ilqgames", gs.ilqgames, g, a["x0"], **opts)
    if res is not None and res.converged:
        assert np.all(np.isfinite(res.costs)) and np.isfinite(res.nash_residual), \
            "ilqgames: converged without finite costs and certificate"
        if mut[0] == "none":  # an LQ game: the approximation is exact -> solve_lq_game's costs
            sol = gs.solve_lq_game(g.A, g.B, g.Q, g.R, horizon=opts["horizon"], dims=g.dims)
            want = sol.costs(x0)
            assert rel_err(res.costs, want) <= 1e-6, "ilqgames: costs differ from solve_lq_game's"
            compared("ilqgames")


def fam_set_num_threads(data):
    before = gs.get_num_threads()
    v = data.draw(st.sampled_from([0, 1, 2, 7, -1, 2**31, 1.5, "2", None, float("nan"), True]))
    try:
        run("set_num_threads", gs.set_num_threads, v)
        assert gs.get_num_threads() >= 1
    finally:
        gs.set_num_threads(before)


def same_values(mut) -> bool:
    """The mutation keeps the game's values (a layout change; a nested list B is read as a list of blocks)."""
    return mut[0] == "none" or (mut[0] == "layout" and mut[2] != "list")


FAMILIES = {k[4:]: v for k, v in globals().items() if k.startswith("fam_")}


# --------------------------------------------------------------------------- #
# The two profiles
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("family", sorted(FAMILIES))
@settings(max_examples=QUICK, deadline=None, suppress_health_check=HEALTH, derandomize=True)
@given(data=st.data())
def test_quick(family, data):
    FAMILIES[family](data)


@pytest.mark.fuzz
@pytest.mark.parametrize("family", sorted(FAMILIES))
@settings(max_examples=LONG, deadline=None, suppress_health_check=HEALTH, database=None)
@given(data=st.data())
def test_long(family, data):
    FAMILIES[family](data)
