"""The fast paths of lq_nash (C++ ``_core.lq_nash_fast``), of guided_lq_nash
(``_core.guided_lq_nash_fast``) and of the input check (``_core.lq_nash_check_fast``,
used by the policy-gradient functions and guided_lq_nash's general path) against
the general path (lq_nash._prepare_general + _core.lq_nash).

The fast path takes plain C-contiguous float64 ndarrays (lists / tuples of them
for B, Q and R), ``dims`` a list / tuple of ints and the options in their usual
types; it must give bit-identical results to the general path and decline
(return None, having done nothing) for every other form and every invalid input,
so that bad input raises exactly the general path's messages.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from gamesolve import (ConvergenceError, InputError, SolveError, guided_lq_nash, lq_cost, lq_nash,
                       pseudo_gradient, pseudo_gradient_jacobian, simulate_policy_gradient)
from gamesolve.examples import lq_example

import lq_nash_reference as ref

L = sys.modules["gamesolve.lq.infinite"]
FAST = ("lq_nash_fast", "lq_nash_check_fast", "guided_lq_nash_fast")
FIELDS = ("K", "P", "converged", "iterations", "residual", "method", "residual_K", "residual_P", "status",
          "history", "stages", "closed_loop")
C = np.ascontiguousarray


@pytest.fixture
def spy(monkeypatch):
    """Records, per fast-path call, (name, solved / checked (True) or declined (False))."""
    calls = []
    for name in FAST:
        real = getattr(L._core, name)

        def wrapped(*args, _real=real, _name=name):
            res = _real(*args)
            calls.append((_name, res is not None))
            return res

        monkeypatch.setattr(L._core, name, wrapped)
    return calls


def general(fn, *args, **kw):
    """``fn`` with both fast paths switched off (the reference)."""
    real = {name: getattr(L._core, name) for name in FAST}
    for name in FAST:
        setattr(L._core, name, lambda *a: None)
    try:
        return fn(*args, **kw)
    finally:
        for name, f in real.items():
            setattr(L._core, name, f)


def outcome(fn, *args, **kw):
    try:
        return fn(*args, **kw)
    except (InputError, SolveError, ConvergenceError, ValueError, TypeError) as exc:
        return exc


def assert_same(sol, want):
    """Bit-identical LQNashSolutions (every field, its type, the lazy spectral radius, costs, repr)."""
    assert type(sol) is type(want)
    for name in FIELDS:
        a, b = getattr(sol, name), getattr(want, name)
        assert type(a) is type(b), name
        if isinstance(a, np.ndarray):
            assert a.shape == b.shape and a.dtype == b.dtype, name
            np.testing.assert_array_equal(a, b, err_msg=name)
        else:
            assert a == b, name
    for s, t in zip(sol.stages, want.stages):
        assert [type(getattr(s, f)) for f in ("method", "accelerated", "iterations", "status", "residual")] == \
            [type(getattr(t, f)) for f in ("method", "accelerated", "iterations", "status", "residual")]
    assert len(sol.gains) == len(want.gains)
    for a, b in zip(sol.gains, want.gains):
        np.testing.assert_array_equal(a, b)
    assert sol.spectral_radius == want.spectral_radius
    np.testing.assert_array_equal(sol.costs(np.eye(sol.K.shape[1])), want.costs(np.eye(want.K.shape[1])))
    assert repr(sol) == repr(want)


def assert_same_outcome(got, want):
    if isinstance(want, Exception):
        assert type(got) is type(want) and str(got) == str(want), (got, want)
    else:
        assert not isinstance(got, Exception), got
        assert_same(got, want)


def game(dims=(2, 1, 2), n=4, seed=0):
    """A random game in the canonical arrays: A, stacked B, Q (N,n,n), joint R (N,m,m) with dense PD blocks."""
    rng = np.random.default_rng(seed)
    N, m = len(dims), sum(dims)
    A = rng.standard_normal((n, n)) / np.sqrt(n)
    A *= 1.05 / np.max(np.abs(np.linalg.eigvals(A)))
    B = rng.standard_normal((n, m)) / np.sqrt(n)
    X = rng.standard_normal((N, n, n)) / np.sqrt(n)
    Q = X @ np.swapaxes(X, -1, -2) + 0.1 * np.eye(n)
    Y = 0.3 * rng.standard_normal((N, m, m))
    R = Y @ np.swapaxes(Y, -1, -2) + np.eye(m)
    return A, B, Q, R, tuple(dims)


OFF = lambda dims: np.concatenate([[0], np.cumsum(dims)])  # noqa: E731


def forms(A, B, Q, R, dims):
    """(label, A, B, Q, R, kwargs): every input form the fast path takes."""
    off, N = OFF(dims), len(dims)
    Bl = [C(B[:, off[i]:off[i + 1]]) for i in range(N)]
    Rown = [C(R[i, off[i]:off[i + 1], off[i]:off[i + 1]]) for i in range(N)]
    Rdiag = np.zeros_like(R)
    for i in range(N):
        Rdiag[i, off[i]:off[i + 1], off[i]:off[i + 1]] = Rown[i]
    yield "stacked B, dims tuple, joint R", A, B, Q, R, dict(dims=dims)
    yield "stacked B, dims list, joint R list", A, B, list(Q), list(R), dict(dims=list(dims))
    yield "B list, no dims, own R list", A, Bl, Q, Rown, {}
    yield "B tuple, dims, Q tuple, own R tuple", A, tuple(Bl), tuple(Q), tuple(Rown), dict(dims=dims)
    yield "B list, own R list in the joint form", A, Bl, [C(q) for q in Q], C(Rdiag), {}
    if len(set(dims)) == 1 and N > 1:
        yield "own R stacked (N, m_i, m_i)", A, B, Q, C(np.stack(Rown)), dict(dims=dims)


DIMS = [(2, 1, 2), (1,), (2, 2, 2), (1, 1)]


@pytest.mark.parametrize("dims", DIMS)
@pytest.mark.parametrize("method", ["auto", "lyapunov", "riccati", "newton"])
def test_fast_path_equals_general_path(spy, dims, method):
    A, B, Q, R, dims = game(dims, seed=len(dims))
    for label, *args, kw in forms(A, B, Q, R, dims):
        spy.clear()
        sol = lq_nash(*args, method=method, max_iter=300, **kw)
        assert spy == [("lq_nash_fast", True)], label
        assert_same(sol, general(lq_nash, *args, method=method, max_iter=300, **kw))


def test_bench_game_takes_the_fast_path(spy):
    for N, n, mi in [(3, 12, 2), (6, 24, 2)]:
        A, B, Q, R, dims = ref.random_game(N, n, mi, seed=0)
        spy.clear()
        sol = lq_nash(A, B, Q, R, dims=dims)
        assert spy == [("lq_nash_fast", True)]
        assert_same(sol, general(lq_nash, A, B, Q, R, dims=dims))
    g = lq_example()
    spy.clear()
    assert_same(lq_nash(g.A, g.B, g.Q, g.R), general(lq_nash, g.A, g.B, g.Q, g.R))
    assert spy == [("lq_nash_fast", True)]


def test_options_and_start_through_the_fast_path(spy):
    A, B, Q, R, dims = game()
    K = lq_nash(A, B, Q, R, dims=dims).K
    cases = [dict(K0=K), dict(K0=0.9 * K, method="riccati"), dict(K0=C(K), method="newton", tol=1e-12),
             dict(anderson_depth=0), dict(anderson_depth=3, stall_window=7), dict(polish=False),
             dict(method="lyapunov", max_iter=5), dict(method="riccati", max_iter=1, stall_window=-1)]
    for kw in cases:
        spy.clear()
        sol = lq_nash(A, B, Q, R, dims=dims, **kw)
        assert spy == [("lq_nash_fast", True)], kw
        assert_same(sol, general(lq_nash, A, B, Q, R, dims=dims, **kw))
    assert not lq_nash(A, B, Q, R, dims=dims, method="lyapunov", max_iter=5).converged


def test_valid_forms_the_fast_path_declines(spy):
    """Valid input in other forms: declined, then solved by the general path to the same answer."""
    A, B, Q, R, dims = game()
    want = lq_nash(A, B, Q, R, dims=dims)
    cases = [
        (np.asfortranarray(A), B, Q, R, dict(dims=dims)),
        (A.tolist(), B, Q, R, dict(dims=dims)),
        (A, B, Q.tolist(), R, dict(dims=dims)),
        (A, B, Q.astype(">f8"), R, dict(dims=dims)),  # non-native byte order
        (A, B, Q, R, dict(dims=np.array(dims))),
        (A, B, Q, R, dict(dims=(np.int64(2), 1, 2))),
        (A, B, Q, np.repeat(R, 2, axis=1)[:, ::2], dict(dims=dims)),  # not C-contiguous
        (A, B, Q, R, dict(dims=dims, tol=np.float64(1e-10))),
        (A, B, Q, R, dict(dims=dims, tol=1)),
        (A, B, Q, R, dict(dims=dims, max_iter=np.int64(1000))),
        (A, B, Q, R, dict(dims=dims, polish=1)),
        (A, B, Q, R, dict(dims=dims, K0=want.K.tolist())),
        (A, B, Q, R, dict(dims=dims, K0=np.asfortranarray(want.K))),
    ]
    for A_, B_, Q_, R_, kw in cases:
        spy.clear()
        sol = lq_nash(A_, B_, Q_, R_, **kw)
        assert spy == [("lq_nash_fast", False)], kw
        np.testing.assert_allclose(sol.K, want.K, rtol=0, atol=1e-12)
        assert_same(sol, general(lq_nash, A_, B_, Q_, R_, **kw))


def bad_cases():
    g = lq_example()
    A, B, Q, R = g.A, g.B, g.Q, g.R
    Bs = C(np.hstack(B))
    nan = np.array([[np.nan, 0], [0, 0]])
    asym = np.array([[[1.0, 1.0], [0.0, 1.0]], Q[1]])
    Rneg = [np.array([[-1.0]]), R[1]]
    Rj = ref.joint_R(R, (1, 1))
    yield "A shape", (np.ones((2, 3)), B, Q, R), {}
    yield "A nan", (nan, B, Q, R), {}
    yield "A inf", (np.array([[np.inf, 0], [0, 0.5]]), B, Q, R), {}
    yield "A 3-d", (A[None], B, Q, R), {}
    yield "B rows", (A, [np.ones((3, 1)), np.ones((3, 1))], Q, R), {}
    yield "B stacked no dims", (A, Bs, Q, R), {}
    yield "B nan", (A, [B[0], np.array([[np.nan], [0.0]])], Q, R), {}
    yield "B 1-d block", (A, [B[0][:, 0], B[1]], Q, R), {}
    yield "B dims disagree", (A, B, Q, R), dict(dims=(2,))
    yield "B columns", (A, Bs, Q, R), dict(dims=(1, 2))
    yield "dims zero", (A, Bs, Q, R), dict(dims=(0, 2))
    yield "Q players", (A, B, Q[:1], R), {}
    yield "Q list shapes", (A, B, [Q[0], np.eye(3)], R), {}
    yield "Q asymmetric", (A, B, asym, R), {}
    yield "Q asymmetric list", (A, B, list(asym), R), {}
    yield "Q nan", (A, B, np.where(np.eye(2, dtype=bool), np.nan, Q), R), {}
    yield "R indefinite", (A, B, Q, Rneg), {}
    yield "R indefinite joint", (A, B, Q, Rj * np.array([-1.0, 1.0])[:, None, None]), {}
    yield "R one weight", (A, B, Q, [R[0]]), {}
    yield "R block shape", (A, B, Q, [np.ones((3, 3)), R[1]]), {}
    yield "R not square", (A, B, Q, [np.ones((1, 2)), R[1]]), {}
    yield "R joint asymmetric", (A, B, Q, Rj + np.array([[[0, 1e-3], [0, 0]], [[0, 0], [0, 0]]])), {}
    yield "R joint nan", (A, B, Q, np.where(Rj == 0, np.nan, Rj)), {}
    yield "R 4-d", (A, B, Q, Rj[None]), {}
    yield "R own stacked (valid)", (A, B, Q, np.stack(R)), dict(dims=(1, 1))
    yield "R own stacked, N = 1", (A, [Bs], Q[:1], np.eye(2)[None, :1, :1]), {}
    yield "method", (A, B, Q, R), dict(method="bogus")
    yield "method with nul", (A, B, Q, R), dict(method="auto\x00")
    yield "method not str", (A, B, Q, R), dict(method=None)
    yield "tol", (A, B, Q, R), dict(tol=-1.0)
    yield "tol nan", (A, B, Q, R), dict(tol=float("nan"))
    yield "tol inf", (A, B, Q, R), dict(tol=float("inf"))
    yield "max_iter", (A, B, Q, R), dict(max_iter=0)
    yield "K0 shape", (A, B, Q, R), dict(K0=np.zeros((2, 3)))
    yield "K0 nan", (A, B, Q, R), dict(K0=np.full((2, 2), np.nan))
    yield "K0 not stabilizing", (A, B, Q, R), dict(K0=np.full((2, 2), 10.0))
    yield "not stabilizable", (np.diag([1.5, 0.5]), [np.array([[0.0], [1.0]])], [np.eye(2)], [np.eye(1)]), {}
    yield "bad data and bad method", (nan, B, Q, R), dict(method="bogus")
    hard = ref.random_game(2, 3, 1, 14, radius=1.3)
    yield "auto finds no certified answer", hard[:4], dict(dims=hard[4])
    yield "explicit method unconverged", hard[:4], dict(dims=hard[4], method="newton")


@pytest.mark.parametrize("label,args,kw", list(bad_cases()), ids=[c[0] for c in bad_cases()])
def test_bad_input_same_message(spy, label, args, kw):
    got = outcome(lq_nash, *args, **kw)
    want = outcome(lambda *a, **k: general(lq_nash, *a, **k), *args, **kw)
    assert_same_outcome(got, want)
    if isinstance(want, InputError) and "stabiliz" not in str(want):
        assert spy == [("lq_nash_fast", False)], label  # invalid: declined, nothing solved


def test_nearly_singular_own_block_goes_to_the_general_path(spy):
    """R^{ii} positive definite but within the C++ test's margin: declined, then accepted and solved."""
    A, B, Q, R, dims = game((2, 2))
    for delta, fast in ((1e-6, True), (1e-13, False)):
        Rb = R.copy()
        Rb[1] = np.eye(4)
        Rb[1, 2:, 2:] = [[1.0, 1.0 - delta], [1.0 - delta, 1.0]]  # eigenvalues 2 - delta, delta
        spy.clear()
        got = outcome(lq_nash, A, B, Q, Rb, dims=dims, method="newton")
        assert spy == [("lq_nash_fast", fast)]
        assert_same_outcome(got, outcome(lambda: general(lq_nash, A, B, Q, Rb, dims=dims, method="newton")))


def test_symmetry_tolerance_identical_at_the_boundary(spy):
    """The relative symmetry test decides as numpy's: one side of 1e-10 passes, the other fails."""
    A, B, Q, R, dims = game()
    for rel, ok in ((0.99e-10, True), (1.01e-10, False)):
        Qs = 1e8 * Q
        Qs[1, 0, 1] += rel * np.abs(Qs[1]).max()
        spy.clear()
        got = outcome(lq_nash, A, B, Qs, R, dims=dims)
        assert spy == [("lq_nash_fast", ok)]
        assert_same_outcome(got, outcome(lambda: general(lq_nash, A, B, Qs, R, dims=dims)))
        assert isinstance(got, InputError) is not ok


def test_results_are_fresh_and_inputs_untouched():
    A, B, Q, R, dims = game()
    Bl = [C(B[:, :2]), C(B[:, 2:3]), C(B[:, 3:])]
    before = [x.copy() for x in (A, B, Q, R)]
    s1, s2 = lq_nash(A, Bl, Q, R), lq_nash(A, Bl, Q, R)
    for name in ("K", "P", "closed_loop", "history"):
        a, b = getattr(s1, name), getattr(s2, name)
        assert a.flags.c_contiguous and a.flags.owndata and a.flags.writeable
        assert not np.shares_memory(a, b)
    for x, y in zip((A, B, Q, R), before):
        np.testing.assert_array_equal(x, y)


# --------------------------------------------------------------------------- #
# The input check alone: guided_lq_nash and the policy-gradient functions
# --------------------------------------------------------------------------- #


def test_check_fast_returns_the_general_arrays():
    A, B, Q, R, dims = game()
    for label, *args, kw in forms(A, B, Q, R, dims):
        fast = L._core.lq_nash_check_fast(*args, kw.get("dims"), 1e-10)
        assert fast is not None, label
        want = L._prepare_general(*args, kw.get("dims"))
        got = L._prepare(*args, kw.get("dims"))
        assert got[0] is args[0] and got[4] == want[4] and all(type(d) is int for d in got[4])
        for a, b in zip(got[1:4], want[1:4]):
            assert a.dtype == b.dtype and a.shape == b.shape and a.flags.c_contiguous
            np.testing.assert_array_equal(a, b)
        for a, b in zip(got[5], want[5]):
            np.testing.assert_array_equal(a, b)
    assert L._core.lq_nash_check_fast(A, B, Q, R, dims, 1e-10)[0] is B  # used in place where given so


def test_guided_and_policy_gradient_equal_general(spy):
    g = lq_example()
    K = lq_nash(g.A, g.B, g.Q, g.R).K
    Kg = K + np.array([[0.1, 0.05], [-0.1, 0.05]])
    calls = [
        (guided_lq_nash, (g.A, g.B, g.Q, g.R, Kg, 0.3), {}),
        (guided_lq_nash, (g.A, g.B, g.Q, g.R, Kg, 0.3), dict(method="newton", K0=K)),
        (lq_cost, (g.A, g.B, g.Q, g.R, K, g.Sigma0), {}),
        (pseudo_gradient, (g.A, g.B, g.Q, g.R, 0.95 * K, g.Sigma0), {}),
        (pseudo_gradient, (g.A, g.B, g.Q, g.R, K, g.Sigma0), dict(K_guide=Kg, rho=0.5)),
        (pseudo_gradient_jacobian, (g.A, g.B, g.Q, g.R, 0.95 * K, g.Sigma0), dict(K_guide=Kg, rho=0.5)),
        (simulate_policy_gradient, (g.A, g.B, g.Q, g.R, K, g.Sigma0), dict(eta=0.5, steps=5, K_guide=Kg,
                                                                             rho=0.2)),
    ]
    for fn, args, kw in calls:
        spy.clear()
        got, want = fn(*args, **kw), general(fn, *args, **kw)
        used = "guided_lq_nash_fast" if fn is guided_lq_nash else "lq_nash_check_fast"
        assert (used, True) in spy and (used, False) not in spy, fn
        if isinstance(got, np.ndarray):
            np.testing.assert_array_equal(got, want)
        elif fn is guided_lq_nash:
            assert_same(got, want)
        else:
            np.testing.assert_array_equal(got.K, want.K)
            np.testing.assert_array_equal(got.grad_norm, want.grad_norm)
    # bad input: declined, the general path's message
    for args in [(g.A, g.B, g.Q[:1], g.R, Kg, 0.3), (g.A, g.B, g.Q, [np.array([[-1.0]]), g.R[1]], Kg, 0.3)]:
        spy.clear()
        got = outcome(guided_lq_nash, *args)
        assert spy == [("guided_lq_nash_fast", False), ("lq_nash_check_fast", False)]
        assert_same_outcome(got, outcome(lambda: general(guided_lq_nash, *args)))
    got = outcome(lq_cost, g.A, g.B, np.array([[[1.0, 1.0], [0.0, 1.0]], g.Q[1]]), g.R, K, g.Sigma0)
    assert isinstance(got, InputError) and "symmetric" in str(got)


def test_guided_fast_path_equals_general_for_every_form_and_declines_bad_guides(spy):
    A, B, Q, R, dims = game()
    K = lq_nash(A, B, Q, R, dims=dims).K
    Kg = C(K + 0.05 * np.random.default_rng(3).standard_normal(K.shape))
    for label, *args, kw in forms(A, B, Q, R, dims):
        for rho, opts in [(0.4, {}), (2, dict(method="lyapunov", tol=1e-11)), (0.0, dict(K0=K, max_iter=50))]:
            spy.clear()
            got = guided_lq_nash(*args, Kg, rho, **kw, **opts)
            assert spy == [("guided_lq_nash_fast", True)], label
            assert_same(got, general(guided_lq_nash, *args, Kg, rho, **kw, **opts))
    # forms the fast path leaves to the general path (same results), and bad guides (same messages)
    for bad_kg, rho in [(Kg.tolist(), 0.4), (Kg, np.float64(0.4)), (Kg[:, :-1], 0.4), (Kg, -1.0),
                        (np.where(Kg > 0, np.nan, Kg), 0.4), (Kg, float("inf")), (np.asfortranarray(Kg), 0.4)]:
        spy.clear()
        got = outcome(guided_lq_nash, A, B, Q, R, bad_kg, rho, dims=dims)
        assert spy[0] == ("guided_lq_nash_fast", False)
        want = outcome(lambda: general(guided_lq_nash, A, B, Q, R, bad_kg, rho, dims=dims))
        assert_same_outcome(got, want)


def test_guided_fast_path_keeps_the_explicit_methods_stall_window(spy):
    # An explicit method gets lq_nash's window of 200 iterations without halving the best
    # residual (auto: 40); this Lyapunov run needs ~150 iterations (found by review).
    A = np.array([[1.0798390816876877, 0.07786881524437383], [0.0, 0.809926980282172]])
    B = [np.array([[-0.940687676855235], [-0.5238812418239173]]),
         np.array([[-1.6246639751852945], [0.27896950362257267]])]
    Q = [0.04182354175190823 * np.eye(2), 1.518322494689292 * np.eye(2)]
    R = [np.array([[5.176311360294573]]), np.array([[9.29813178589036]])]
    Kg = np.array([[-0.7583697508984092, 1.4209820223119163], [0.726093788947765, 0.843732662303268]])
    for method in ("lyapunov", "riccati", "auto"):
        spy.clear()
        got = outcome(guided_lq_nash, A, B, Q, R, Kg, 0.5, method=method)
        assert spy == [("guided_lq_nash_fast", True)]
        assert_same_outcome(got, outcome(lambda: general(guided_lq_nash, A, B, Q, R, Kg, 0.5, method=method)))
    sol = guided_lq_nash(A, B, Q, R, Kg, 0.5, method="lyapunov")
    assert sol.converged and sol.iterations > 41


def test_guided_game_is_the_spec_substitution():
    # R^ii -> (1 + rho) R^ii, Q^i -> Q^i + rho Kg^i'R^ii Kg^i, M^i_[i] = rho R^ii Kg^i ([theory §3])
    A, B, Q, R, dims = game()
    off, N = OFF(dims), len(dims)
    Kg = np.random.default_rng(5).standard_normal((sum(dims), A.shape[0]))
    rho = 0.7
    _, _, Qh, Rh, M, _, _ = L.guided_cost_data(A, B, Q, R, Kg, rho, dims)
    for i in range(N):
        s = slice(off[i], off[i + 1])
        Rii = R[i, s, s]
        np.testing.assert_allclose(Qh[i], Q[i] + rho * Kg[s].T @ Rii @ Kg[s], rtol=1e-14, atol=1e-14)
        assert np.array_equal(Qh[i], Qh[i].T)
        want_R = R[i].copy()
        want_R[s, s] *= 1 + rho
        np.testing.assert_allclose(Rh[i], want_R, rtol=1e-15)
        want_M = np.zeros_like(M[i])
        want_M[s] = rho * Rii @ Kg[s]
        np.testing.assert_allclose(M[i], want_M, rtol=1e-14, atol=1e-15)


# --------------------------------------------------------------------------- #
# Randomized: any mix of forms and (sometimes) bad values, fast == general
# --------------------------------------------------------------------------- #


def random_call(rng):
    N = int(rng.integers(1, 4))
    dims = tuple(int(d) for d in rng.integers(1, 3, N))
    if rng.random() < 0.3:
        dims = (dims[0],) * N
    n = int(rng.integers(1, 5))
    A, B, Q, R, dims = game(dims, n, seed=int(rng.integers(1 << 30)))
    off = OFF(dims)
    kw = dict(dims=dims)
    if rng.random() < 0.4:
        B = [C(B[:, off[i]:off[i + 1]]) for i in range(N)]
        kw["dims"] = None if rng.random() < 0.5 else list(dims)
    if rng.random() < 0.3:
        Q = [C(q) for q in Q]
    u = rng.random()
    if u < 0.3:
        R = [C(R[i, off[i]:off[i + 1], off[i]:off[i + 1]]) for i in range(N)]
    elif u < 0.45:
        R = tuple(C(r) for r in R)
    elif u < 0.6 and N > 1 and len(set(dims)) == 1:
        R = C(np.stack([R[i, off[i]:off[i + 1], off[i]:off[i + 1]] for i in range(N)]))
    v = rng.random()
    if v < 0.06:
        A.reshape(-1)[int(rng.integers(A.size))] = rng.choice([np.nan, np.inf])
    elif v < 0.12:
        Qa = Q[0] if isinstance(Q, list) else Q
        Qa.reshape(-1)[int(rng.integers(Qa.size))] += rng.choice([1e-3, 1e-12])
    elif v < 0.18:
        Ra = R if isinstance(R, np.ndarray) else R[0]
        Ra[..., 0, 0] = -Ra[..., 0, 0] * rng.choice([1.0, 1e-14, 0.0])
    elif v < 0.22:
        kw["dims"] = tuple(d + 1 for d in dims)
    opt = rng.random()
    if opt < 0.3:
        kw["method"] = str(rng.choice(["lyapunov", "riccati", "newton"]))
        kw["max_iter"] = int(rng.integers(1, 60))
    elif opt < 0.35:
        kw["tol"] = -1.0
    return A, B, Q, R, kw


def test_random_calls_fast_equals_general(spy):
    rng = np.random.default_rng(20261201)
    fast = 0
    for trial in range(300):
        A, B, Q, R, kw = random_call(rng)
        spy.clear()
        got = outcome(lq_nash, A, B, Q, R, **kw)
        fast += spy == [("lq_nash_fast", True)]
        want = outcome(lambda: general(lq_nash, A, B, Q, R, **kw))
        assert_same_outcome(got, want)
        if isinstance(want, InputError) and "stabiliz" not in str(want):
            assert spy == [("lq_nash_fast", False)], trial
    assert fast > 150
