"""lq_nash on its peers' published test cases, rewritten in gamesolve's conventions
(docs/theory.md, section 1.1), and the stress cases of the robustness review.

* scipy's DAREX collection (scipy/linalg/tests/test_solvers.py, TestSolveDiscreteAre:
  Benner, Laub & Mehrmann's discrete-time benchmark examples), each real one with R
  positive definite solved at the default tol and checked with scipy's own residual
  and tolerance; the complex ones rejected.
* python-control's dare / dlqr cases (control/tests/mateqn_test.py, statefbk_test.py).
* quantecon's nnash cases (quantecon/tests/test_lqnash.py: non-interactive players,
  Judd's duopoly with cross terms; the duopoly of the Markov perfect equilibrium
  lecture with beta = 0.96). quantecon maximizes with negative weights: negating a
  player's whole cost leaves the equilibrium gains unchanged and negates its P.
"""

import numpy as np
import pytest
import scipy.linalg as sla

from gamesolve import ConvergenceError, InputError, SolveError, lq_nash
from gamesolve.lq import infinite

import lq_nash_reference as ref

# ------------------------------------------------------------------ scipy DAREX
# (a, b, q, r, scipy's test tolerance on max|residual|); the case numbers are scipy's.
DAREX = {
    3: (np.array([[0.63399379, 0.54906824, 0.76253406], [0.5404729, 0.53745766, 0.08731853],
                  [0.27524045, 0.84922129, 0.4681622]]),
        np.array([[0.96861695], [0.05532739], [0.78934047]]), np.eye(3), np.eye(1), 1.5e-14),
    4: (np.array([[4, 3], [-4.5, -3.5]]), np.array([[1], [-1]]), np.array([[9, 6], [6, 4]]), np.eye(1), 1.5e-13),
    5: (np.array([[0.9512, 0], [0, 0.9048]]), np.array([[4.877, 4.877], [-1.1895, 3.569]]),
        np.array([[0.005, 0], [0, 0.02]]), np.array([[1 / 3, 0], [0, 3]]), 1.5e-16),
    8: (np.array([[0, 1], [0, 0]]), np.array([[0], [1]]), np.array([[1, 2], [2, 4]]), np.eye(1), 1.5e-14),
    9: (np.array([[0.998, 0.067, 0, 0], [-.067, 0.998, 0, 0], [0, 0, 0.998, 0.153], [0, 0, -.153, 0.998]]),
        np.array([[0.0033, 0.0200], [0.1000, -.0007], [0.0400, 0.0073], [-.0028, 0.1000]]),
        np.array([[1.87, 0, 0, -0.244], [0, 0.744, 0.205, 0], [0, 0.205, 0.589, 0], [-0.244, 0, 0, 1.048]]),
        np.eye(2), 1.5e-13),
    10: (np.array([[0.984750, -.079903, 0.0009054, -.0010765], [0.041588, 0.998990, -.0358550, 0.0126840],
                   [-.546620, 0.044916, -.3299100, 0.1931800], [2.662400, -.100450, -.9245500, -.2632500]]),
         np.array([[0.0037112, 0.0007361], [-.0870510, 9.3411e-6], [-1.198440, -4.1378e-4],
                   [-3.192700, 9.2535e-4]]), np.eye(4) * 1e-2, np.eye(2), 1.5e-14),
    11: (np.array([[-0.6, -2.2, -3.6, -5.400018], [1.0, 0.6, 0.8, 3.399982], [0.0, 1.0, 1.8, 3.799982],
                   [0.0, 0.0, 0.0, -0.999982]]),
         np.array([[1.0, -1.0, -1.0, -1.0], [0.0, 1.0, -1.0, -1.0], [0.0, 0.0, 1.0, -1.0], [0.0, 0.0, 0.0, 1.0]]),
         np.array([[2, 1, 3, 6], [1, 2, 2, 5], [3, 2, 6, 11], [6, 5, 11, 22]]), np.eye(4), 2.5e-13),
    12: (np.array([[95.4070, 1.9643, 0.3597, 0.0673, 0.0190], [40.8490, 41.3170, 16.0840, 4.4679, 1.1971],
                   [12.2170, 26.3260, 36.1490, 15.9300, 12.3830], [4.1118, 12.8580, 27.2090, 21.4420, 40.9760],
                   [0.1305, 0.5808, 1.8750, 3.6162, 94.2800]]) * 0.01,
         np.array([[0.0434, -0.0122], [2.6606, -1.0453], [3.7530, -5.5100], [3.6076, -6.6000],
                   [0.4617, -0.9148]]) * 0.01, np.eye(5), np.eye(2), 1.5e-13),
    13: (np.kron(np.eye(2), np.diag([1, 1], k=1)), np.kron(np.eye(2), np.array([[0], [0], [1]])),
         np.array([[1, 1, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 1, -1, 0],
                   [0, 0, 0, -1, 1, 0], [0, 0, 0, 0, 0, 0]]), np.array([[3, 0], [0, 1]]), 1.5e-14),
    14: (0.001 * np.array(
        [[870.1, 135.0, 11.59, .5014, -37.22, .3484, 0, 4.242, 7.249],
         [76.55, 897.4, 12.72, 0.5504, -40.16, .3743, 0, 4.53, 7.499],
         [-127.2, 357.5, 817, 1.455, -102.8, .987, 0, 11.85, 18.72],
         [-363.5, 633.9, 74.91, 796.6, -273.5, 2.653, 0, 31.72, 48.82],
         [-960, 1645.9, -128.9, -5.597, 71.42, 7.108, 0, 84.52, 125.9],
         [-664.4, 112.96, -88.89, -3.854, 84.47, 13.6, 0, 144.3, 101.6],
         [-410.2, 693, -54.71, -2.371, 66.49, 12.49, .1063, 99.97, 69.67],
         [-179.9, 301.7, -23.93, -1.035, 60.59, 22.16, 0, 213.9, 35.54],
         [-345.1, 580.4, -45.96, -1.989, 105.6, 19.86, 0, 219.1, 215.2]]),
        np.array([[4.7600, -0.5701, -83.6800], [0.8790, -4.7730, -2.7300], [1.4820, -13.1200, 8.8760],
                  [3.8920, -35.1300, 24.8000], [10.3400, -92.7500, 66.8000], [7.2030, -61.5900, 38.3400],
                  [4.4540, -36.8300, 20.2900], [1.9710, -15.5400, 6.9370], [3.7730, -30.2800, 14.6900]]) * 0.001,
        np.diag([50, 0, 0, 0, 50, 0, 0, 0, 0]), np.eye(3), 1.5e-12),
    15: (np.array([[0, 1e6], [0, 0]]), np.array([[0], [1]]), np.eye(2), np.eye(1), 2.0e-2),
    16: (np.array([[16, 10, -2], [10, 13, -8], [-2, -8, 7]]) * (1 / 9), np.eye(3), 1e6 * np.eye(3),
         1e6 * np.eye(3), 2.0e-4),
    17: (np.array([[1 - 1 / 1e8, 0, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]),
         np.array([[1e-08], [0], [0], [0]]), np.diag([0, 0, 0, 1]), np.array([[0.25]]), 1.5e-6),
    18: (np.eye(100, k=1), np.flipud(np.eye(100, 1)), np.eye(100), np.array([[1]]), 1.5e-10),
}


def scipy_residual(a, b, q, r, x):
    """max |A'XA - X + Q - A'XB (R + B'XB)^{-1} B'XA| (scipy's test_solve_discrete_are)."""
    xa, xb = x @ a, x @ b
    return np.abs(a.T @ xa - x + q - a.T @ xb @ np.linalg.solve(r + b.T @ xb, b.T @ xa)).max()


@pytest.mark.parametrize("case", sorted(DAREX))
def test_scipy_darex_within_scipys_tolerance(case):
    a, b, q, r, atol = (np.asarray(v, dtype=float) if not np.isscalar(v) else v for v in DAREX[case])
    sol = lq_nash(a, b, q, r)  # the one-player call with scipy's arrays, default tol
    assert sol.converged and sol.residual <= 1e-10
    assert scipy_residual(a, b, q, r, sol.P[0]) <= atol
    x = sla.solve_discrete_are(a, b, q, r)
    err = np.linalg.norm(sol.P[0] - x) / np.linalg.norm(x)
    # scipy's own answer is the reference where it is accurate; the near-marginal
    # case 17 (closed-loop radius 1 - 2e-8) is known to 1e-8 by either solver
    assert err <= (5e-8 if case == 17 else 1e-10)
    assert sol.error_estimate >= sol.residual  # an estimate, never below the residual


def test_darex_near_marginal_error_estimate_bounds_the_error():
    """Case 17: the residual is at round-off, the error is condition x residual; the
    reported error estimate bounds the error of K against a Newton-refined reference."""
    a, b, q, r, _ = (np.asarray(v, dtype=float) for v in DAREX[17])
    sol = lq_nash(a, b, q, r)
    assert sol.residual <= 1e-15 and 1e-10 <= sol.error_estimate <= 1e-6
    x = sla.solve_discrete_are(a, b, q, r)
    k = np.linalg.solve(r + b.T @ x @ b, b.T @ x @ a)
    assert np.linalg.norm(sol.K - k) / np.linalg.norm(k) <= 10 * sol.error_estimate + 5e-8


@pytest.mark.parametrize("case", [0, 1, 2])
def test_scipy_darex_complex_cases_rejected(case):
    data = {0: (np.array([[2, 1 - 2j], [0, -3j]]), np.array([[0], [1]]), np.diag([1, 2]), np.eye(1)),
            1: (np.array([[2, 1], [0, -1]]), np.array([[-2j], [1j]]), np.diag([1, 2]), np.eye(1)),
            2: (np.array([[3, 1], [0, -1]]), np.array([[1, 2], [1, 3]]), np.array([[1, 1 + 1j], [1 - 1j, 2]]),
                np.array([[2, -2j], [2j, 3]]))}[case]
    with pytest.raises(InputError):
        lq_nash(*data)


@pytest.mark.parametrize("r", [np.zeros((1, 1)), np.array([[9.0, 3.0], [3.0, 1.0]])])
def test_scipy_darex_singular_r_rejected(r):
    """Cases 6 and 7: R = 0 and a singular R are not games with a positive definite own weight."""
    n, m = 2, r.shape[0]
    with pytest.raises(InputError, match="positive definite"):
        lq_nash(np.array([[2.0, -1.0], [1.0, 0.0]]), np.ones((n, m)), np.eye(n), r)


# -------------------------------------------------------------- python-control
@pytest.mark.parametrize("A,B,Q,R", [
    (np.array([[-0.6, 0], [-0.1, -0.4]]), np.array([[2, 1], [0, 1]]), np.array([[2, 1], [1, 0]]), np.eye(2)),
    (np.array([[1, 0], [-1, 1]]), np.array([[1], [0]]), np.array([[0, 1], [1, 1]]), np.array([[2.0]])),
    (np.diag([0.5, 2]), np.eye(2), np.eye(2), np.eye(2)),
])
def test_python_control_dare_cases(A, B, Q, R):
    """mateqn_test.test_dare (two cases, Q indefinite) and statefbk_test.test_dare: the
    gain G = (B'XB + R)^{-1} B'XA, X = A'XA - A'XB G + Q, closed loop stable."""
    A, B, Q, R = (np.asarray(v, dtype=float) for v in (A, B, Q, R))
    sol = lq_nash(A, B, Q, R)
    X, K = sol.P[0], sol.K
    np.testing.assert_allclose(K, np.linalg.solve(B.T @ X @ B + R, B.T @ X @ A), atol=1e-12)
    np.testing.assert_allclose(X, A.T @ X @ A - A.T @ X @ B @ K + Q, atol=1e-12)
    assert np.max(np.abs(np.linalg.eigvals(A - B @ K))) < 1
    np.testing.assert_allclose(X, sla.solve_discrete_are(A, B, Q, R), atol=1e-12)


def test_python_control_dlqr_integrator():
    """statefbk_test.test_DLQR_4args: A = 0, B = 1, Q = 10, R = 2 -> S = Q, K = 0."""
    sol = lq_nash(np.zeros((1, 1)), np.ones((1, 1)), 10.0 * np.ones((1, 1)), 2.0 * np.ones((1, 1)))
    np.testing.assert_allclose(sol.P[0], [[10.0]], atol=1e-14)
    np.testing.assert_allclose(sol.K, [[0.0]], atol=1e-14)


def test_python_control_dare_with_cross_term():
    """mateqn_test.test_dare_g2 without E (E = I): cross weight S (n x m) is M = S'."""
    A = np.array([[-0.6, 0], [-0.1, -0.4]])
    Q = np.array([[2, 1], [1, 3]])
    B = np.array([[1.0], [2.0]])
    S = np.array([[1.0], [2.0]])
    R = np.array([[1.0]])
    sol = lq_nash(A, B, Q, R, M=S.T)
    X = sol.P[0]
    np.testing.assert_allclose(X, A.T @ X @ A - (A.T @ X @ B + S) @ np.linalg.solve(B.T @ X @ B + R, B.T @ X @ A + S.T)
                               + Q, atol=1e-12)
    np.testing.assert_allclose(sol.K, np.linalg.solve(B.T @ X @ B + R, B.T @ X @ A + S.T), atol=1e-12)


# ------------------------------------------------------------------- quantecon
def nnash_game(R1, R2, Q1, Q2, S1, S2, W1, W2, M1, M2, sign=1.0):
    """gamesolve's (Q, joint R, M) of quantecon's nnash data (docs/theory.md 1.1),
    each player's cost multiplied by `sign` (-1: quantecon's maximization form)."""
    m1, m2 = Q1.shape[0], Q2.shape[0]
    Rj1 = np.block([[Q1, M1.T], [M1, S1]])
    Rj2 = np.block([[S2, M2], [M2.T, Q2]])
    n = R1.shape[0]
    M = np.zeros((2, m1 + m2, n))
    M[0, :m1] = W1.T
    M[1, m1:] = W2.T
    return sign * np.array([R1, R2]), sign * np.array([Rj1, Rj2]), sign * M


def test_quantecon_noninteractive():
    """Players that do not interact: each gain is its own LQR's (quantecon's LQ, beta = 1)."""
    a = np.array([[.95, 0.], [0, .95]])
    b1, b2 = np.array([[.95], [0.]]), np.array([[0.], [.95]])
    r1, r2 = np.array([[-.25, 0.], [0., 0.]]), np.array([[0., 0.], [0., -.25]])
    q = np.array([[-.15]])
    z = np.zeros((1, 1))
    Q, R, M = nnash_game(r1, r2, q, q, z, z, np.zeros((2, 1)), np.zeros((2, 1)), z, z, sign=-1.0)
    sol = lq_nash(a, np.hstack([b1, b2]), Q, R, dims=(1, 1), M=M)
    f, p = sol.gains, -sol.P
    np.testing.assert_allclose(f[0], f[1][:, ::-1], atol=1e-12)
    x = sla.solve_discrete_are(a[:1, :1], b1[:1], -r1[:1, :1], -q)  # the one-state LQR
    np.testing.assert_allclose(p[0][0, 0], -x[0, 0], rtol=1e-12)
    np.testing.assert_allclose(p[0][0, 0], p[1][1, 1], rtol=1e-12)


def test_quantecon_judd_duopoly_with_cross_terms():
    """quantecon's test_nnash (Judd's judd.m): cross terms W, M; the MATLAB gains and steady state."""
    delta, d = 0.02, np.array([[-1, 0.5], [0.5, -1]])
    B = np.array([25, 25])
    c1 = c2 = np.array([1, -2, 1])
    e1 = e2 = np.array([10, 10, 3])
    d1 = 1 - delta
    a = np.array([[d1, 0, -d1 * B[0]], [0, d1, -d1 * B[1]], [0, 0, 1]])
    b1 = d1 * np.array([[1, -d[0, 0]], [0, -d[1, 0]], [0, 0]])
    b2 = d1 * np.array([[0, -d[0, 1]], [1, -d[1, 1]], [0, 0]])
    r1 = -np.array([[0.5 * c1[2], 0, 0.5 * c1[1]], [0, 0, 0], [0.5 * c1[1], 0, c1[0]]])
    r2 = -np.array([[0, 0, 0], [0, 0.5 * c2[2], 0.5 * c2[1]], [0, 0.5 * c2[1], c2[0]]])
    q1 = np.array([[-0.5 * e1[2], 0], [0, d[0, 0]]])
    q2 = np.array([[-0.5 * e2[2], 0], [0, d[1, 1]]])
    s = np.zeros((2, 2))
    w1 = np.array([[0, 0], [0, 0], [-0.5 * e1[1], B[0] / 2.]])
    w2 = np.array([[0, 0], [0, 0], [-0.5 * e2[1], B[1] / 2.]])
    m1 = m2 = np.array([[0, 0], [0, d[0, 1] / 2.]])
    Q, R, M = nnash_game(r1, r2, q1, q2, s, s, w1, w2, m1, m2, sign=-1.0)
    # The constant state (eigenvalue 1 of A, no input) keeps every closed loop marginal:
    # no stabilizing equilibrium in lq_nash's sense (spectral radius < 1) at beta = 1 --
    # the documented error -- while nnash iterates without a stability requirement.
    with pytest.raises(InputError, match="not stabilizable"):
        lq_nash(a, [b1, b2], Q, R, M=M)
    # With a discount the constant state is stable (sqrt(beta) < 1); as beta -> 1 the
    # gains tend to Judd's MATLAB values (checked at beta = 1 - 1e-9)
    sol = lq_nash(a, [b1, b2], Q, R, M=M, discount=1 - 1e-9)
    assert sol.converged
    f1_ml = np.array([[0.243666582208565, 0.027236062661951, -6.827882928738190],
                      [0.392370733875639, 0.139696450885998, -37.734107291009138]])
    f2_ml = np.array([[0.027236062661951, 0.243666582208565, -6.827882928738186],
                      [0.139696450885998, 0.392370733875639, -37.734107291009131]])
    np.testing.assert_allclose(sol.gains[0], f1_ml, rtol=1e-6)
    np.testing.assert_allclose(sol.gains[1], f2_ml, rtol=1e-6)
    aaa = a - np.hstack([b1, b2]) @ sol.K
    xbar = np.linalg.solve(np.eye(2) - aaa[:2, :2], aaa[:2, 2])
    np.testing.assert_allclose(xbar, [1.246871007582702, 1.246871007582685], rtol=1e-6)


def test_quantecon_mpe_duopoly_discounted():
    """The duopoly of quantecon's Markov perfect equilibrium lecture (a0 = 10, a1 = 2,
    gamma = 12, beta = 0.96): its gains F_i; P against a Stein solve on K (nnash's own
    P stops before it converges)."""
    a0, a1, beta, gamma = 10.0, 2.0, 0.96, 12.0
    A = np.eye(3)
    B1, B2 = np.array([[0.], [1.], [0.]]), np.array([[0.], [0.], [1.]])
    R1 = np.array([[0., -a0 / 2, 0.], [-a0 / 2, a1, a1 / 2], [0, a1 / 2, 0]])
    R2 = np.array([[0., 0., -a0 / 2], [0, 0, a1 / 2], [-a0 / 2, a1 / 2, a1]])
    sol = lq_nash(A, [B1, B2], [R1, R2], [np.eye(1) * gamma] * 2, discount=beta)
    assert sol.converged and sol.residual <= 1e-12
    np.testing.assert_allclose(sol.gains[0], [[-0.66846615, 0.29512482, 0.07584666]], atol=5e-8)
    np.testing.assert_allclose(sol.gains[1], [[-0.66846615, 0.07584666, 0.29512482]], atol=5e-8)
    s = np.sqrt(beta)
    Bs = np.hstack([B1, B2])
    Rj = ref.joint_R([np.eye(1) * gamma] * 2, (1, 1))
    P = ref.policy_value(s * A, s * Bs, np.array([R1, R2]), Rj, sol.K)
    np.testing.assert_allclose(sol.P, P, rtol=1e-10, atol=1e-10)


# --------------------------------------------------------------- stress cases
def test_unstable_mode_unobservable_in_q():
    """A = diag(1.2, 0.5), B = [1; 1], Q = diag(0, 1): the summed-cost LQR does not
    stabilize (the mode 1.2 costs nothing); the regularized start does, and the answer
    is scipy's stabilizing solution."""
    A, B, Q, R = np.diag([1.2, 0.5]), np.array([[1.], [1.]]), np.diag([0., 1.]), np.eye(1)
    sol = lq_nash(A, B, Q, R)
    assert sol.converged and sol.start == "regularized LQR"
    x = sla.solve_discrete_are(A, B, Q, R)
    assert np.linalg.norm(sol.P[0] - x) <= 1e-12 * np.linalg.norm(x)
    assert sol.spectral_radius < 1


@pytest.mark.parametrize("q,r", [(1e10, 1e-10), (1.0, 1e-20)])
def test_extreme_cost_ratios(q, r):
    A, B = np.diag([1.2, 0.5]), np.array([[1.], [1.]])
    sol = lq_nash(A, B, q * np.eye(2), r * np.eye(1))
    x = sla.solve_discrete_are(A, B, q * np.eye(2), r * np.eye(1))
    assert sol.converged and np.linalg.norm(sol.P[0] - x) <= 1e-8 * np.linalg.norm(x)


def hewer_reference(A, B, Q, R, K, digits=60, steps=10):
    """The stabilizing DARE solution (P, K) of a small problem in mpmath's extended precision:
    Hewer's iteration (Newton's method) from a stabilizing K, each Stein equation solved
    by the Kronecker form. The data are the doubles given (converted exactly). An
    independent high-precision reference."""
    mp = pytest.importorskip("mpmath")
    with mp.workdps(digits):
        n, m = A.shape[0], B.shape[1]
        Am, Bm, Qm, Rm = (mp.matrix(np.asarray(v).tolist()) for v in (A, B, Q, R))
        Km = mp.matrix(np.asarray(K).tolist())
        for _ in range(steps):
            AK = Am - Bm * Km
            C = Qm + Km.T * Rm * Km
            L = mp.eye(n * n)
            for i in range(n):
                for j in range(n):
                    for k in range(n):
                        for l in range(n):
                            L[n * i + j, n * k + l] -= AK[k, i] * AK[l, j]
            v = mp.lu_solve(L, mp.matrix([C[i, j] for i in range(n) for j in range(n)]))
            P = mp.matrix([[v[n * i + j] for j in range(n)] for i in range(n)])
            S, Y = Rm + Bm.T * P * Bm, Bm.T * P * Am
            Km = mp.matrix([[sum(mp.inverse(S)[a, c] * Y[c, b] for c in range(m)) for b in range(n)]
                            for a in range(m)])
        return np.array(P.tolist(), dtype=float), np.array(Km.tolist(), dtype=float)


def test_eigenvalue_just_outside_the_circle_weakly_controlled():
    """An eigenvalue 1 + 1e-8 reached through B = [1e-8; 1]: the closed loop has radius
    1 - 3e-8 and P a 1e9 entry beside entries ~1, so relative residuals hide the small
    entries (the first pass fails to certify); the second pass on the state-balanced game
    certifies. Against a 60-digit reference the answer is accurate to 1e-8 (scipy's: 4e-8),
    within its error estimate."""
    A, B, Q, R = np.diag([1 + 1e-8, 0.5]), np.array([[1e-8], [1.]]), np.eye(2), np.eye(1)
    sol = lq_nash(A, B, Q, R)
    assert sol.converged and sol.method.endswith("+balanced")
    x = sla.solve_discrete_are(A, B, Q, R)
    P, K = hewer_reference(A, B, Q, R, np.linalg.solve(R + B.T @ x @ B, B.T @ x @ A))
    err = np.linalg.norm(sol.P[0] - P) / np.linalg.norm(P)
    assert err <= 1e-8 and err <= 10 * sol.error_estimate
    assert np.linalg.norm(sol.K - K) / np.linalg.norm(K) <= 1e-8
    assert np.linalg.norm(x - P) / np.linalg.norm(P) > err  # more accurate than scipy here


def test_unit_circle_uncontrollable_mode_is_reported():
    """|lambda| = 1 uncontrollable: (A, B) not stabilizable, the documented InputError."""
    with pytest.raises(InputError, match="not stabilizable"):
        lq_nash(np.diag([1.0, 0.5]), np.array([[0.], [1.]]), np.eye(2), np.eye(1))


# ---------------------------------------------------- certificates (issue 11)
def test_huge_control_column_is_rejected_not_certified():
    """B with an entry 1e155 (B'PB overflows): was converged with residual 1e-16, residual_K
    NaN and K = 0; now rejected as a bad scale."""
    with pytest.raises(InputError, match="scales"):
        lq_nash(np.diag([.5, .3, .2]), [np.array([[1.], [1e155], [.5]])], np.eye(3)[None], [np.eye(1)])


def test_huge_costs_solved_as_the_scaled_game():
    """A game with Q ~ 2.6e154 (norms overflowed to a residual of 0, K 107% off) equals the
    same game divided by 2.6e154."""
    A, B, Q, R, dims = ref.random_game(2, 4, 1, 3)
    a = lq_nash(A, B, Q, R, dims=dims)
    b = lq_nash(A, B, 2.6e154 * Q, [2.6e154 * r for r in R], dims=dims)
    assert b.converged and 0 < b.residual <= 1e-12
    np.testing.assert_allclose(b.K, a.K, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.P / 2.6e154, a.P, rtol=1e-10)


def test_explicit_method_certified_is_converged():
    """An explicit method stopped by its budget before its own target, whose certificate
    holds (residual <= tol, closed loop stable), is converged (was 'stalled' /
    'max_iterations' with residual < tol)."""
    from gamesolve.examples import lq_example
    g = lq_example()
    sol = lq_nash(g.A, g.B, g.Q, g.R, method="lyapunov", max_iter=130)
    assert sol.stages[0].status == "max_iterations"  # the iteration's own measure: 8e-12 > 1e-13
    assert sol.residual <= 1e-10 and sol.spectral_radius < 1
    assert sol.converged and sol.status == "converged"


def test_one_player_call_matches_list_form():
    A, B, Q, R, dims = ref.random_game(1, 5, 2, 4)
    a = lq_nash(A, B, Q[0], R[0])
    b = lq_nash(A, [B], Q, R)
    np.testing.assert_array_equal(a.K, b.K)
    with pytest.raises(InputError, match="R must be"):
        lq_nash(A, B, Q[0], np.ones(2))


def test_no_stabilizing_start_message_names_every_door():
    with pytest.raises((InputError, SolveError)):
        lq_nash(np.diag([2.0, 0.5]), np.array([[0.], [1.]]), np.eye(2), np.eye(1))
    assert infinite._STAGE_WORD  # uncertified stages have their own word in failure messages


# --------------------------------------------------------- random games, N >= 2
@pytest.mark.parametrize("N,n,mi,seed", [(2, 4, 1, 0), (3, 5, 1, 1), (4, 6, 1, 2), (5, 6, 2, 3), (6, 8, 1, 4)])
def test_random_games_against_numpy_newton(N, n, mi, seed):
    """N = 2..6: the equilibrium is a zero of F(K) for an independent Newton solve (scipy
    Lyapunov values, finite-difference Jacobian) started 1e-3 away from it."""
    A, B, Q, R, dims = ref.random_game(N, n, mi, seed)
    Rj = ref.joint_R(R, dims)
    sol = lq_nash(A, B, Q, R, dims=dims)
    rng = np.random.default_rng(seed)
    K = ref.newton_solve(A, B, Q, Rj, dims, sol.K * (1 + 1e-3 * rng.standard_normal(sol.K.shape)))
    np.testing.assert_allclose(sol.K, K, atol=1e-9 * max(1, np.abs(K).max()))
    assert sol.error_estimate <= 1e-10


@pytest.mark.parametrize("cross,beta", [(False, 1.0), (True, 1.0), (False, 0.95), (True, 0.9)])
def test_random_two_player_games_against_quantecon(cross, beta):
    qe = pytest.importorskip("quantecon")
    A, B, Q, R, dims = ref.random_game(2, 5, 1, 7, radius=0.95)
    rng = np.random.default_rng(1)
    b1, b2 = B[:, :1], B[:, 1:]
    z = np.zeros((1, 1))
    W = [0.1 * rng.standard_normal((5, 1)) if cross else np.zeros((5, 1)) for _ in range(2)]
    Mc = [0.1 * np.ones((1, 1)) if cross else z for _ in range(2)]
    S = [0.2 * np.eye(1) if cross else z for _ in range(2)]
    with np.errstate(all="ignore"):
        F1, F2, _, _ = qe.nnash(A, b1, b2, Q[0], Q[1], R[0], R[1], S[0], S[1], W[0], W[1], Mc[0], Mc[1],
                                beta=beta, tol=1e-12, max_iter=100000)
    Qg, Rg, Mg = nnash_game(Q[0], Q[1], R[0], R[1], S[0], S[1], W[0], W[1], Mc[0], Mc[1])
    sol = lq_nash(A, B, Qg, Rg, dims=dims, M=Mg, discount=beta)
    assert sol.converged
    np.testing.assert_allclose(sol.K, np.vstack([F1, F2]), atol=1e-9)


# ------------------------------------------------------------- non-uniqueness
def test_appendix_a_game_has_several_equilibria():
    """The MA-GPS appendix-A game has at least two stabilizing Nash equilibria: each one
    found is certified, distinct, and has Nash gap 0 by independent best responses."""
    from gamesolve import lq_nash_equilibria
    from gamesolve.examples import lq_example
    g = lq_example()
    eq = lq_nash_equilibria(g.A, g.B, g.Q, g.R)
    assert len(eq) >= 2 and eq[0].start == "zero"
    Bs, Rj = np.hstack(g.B), ref.joint_R(g.R, g.dims)
    for e in eq:
        assert e.converged and e.spectral_radius < 1
        for i in range(2):  # each gain is the best response to the other's (scipy DARE)
            Ki, _ = ref.best_response(g.A, Bs, g.Q, Rj, g.dims, e.K, i)
            np.testing.assert_allclose(e.gains[i], Ki, atol=1e-9)
    Ks = [e.K for e in eq]
    assert min(np.linalg.norm(a - b) for j, a in enumerate(Ks) for b in Ks[:j]) > 1e-3


def test_check_unique_reports_other_equilibria():
    A, B, Q, R, dims = ref.random_game(2, 4, 1, 1, radius=2.0)
    with pytest.warns(UserWarning, match="at least .* stabilizing Nash equilibria"):
        sol = lq_nash(A, B, Q, R, dims=dims, check_unique=True)
    assert len(sol.equilibria) >= 2 and sol.equilibria[0] is sol
    assert max(np.linalg.norm(e.K - sol.K) / np.linalg.norm(sol.K) for e in sol.equilibria[1:]) > 0.5
    # a game with one equilibrium found: no warning, one entry
    A, B, Q, R, dims = ref.random_game(2, 4, 1, 0)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sol = lq_nash(A, B, Q, R, dims=dims, check_unique=True)
    assert len(sol.equilibria) == 1


@pytest.mark.parametrize("case", [11, 17])
def test_darex_near_marginal_against_extended_precision(case):
    """The near-marginal DAREX cases against a 50-digit Hewer reference: P and K within
    10x the reported error estimate (case 17: more accurate than scipy's answer)."""
    a, b, q, r, _ = (np.asarray(v, dtype=float) for v in DAREX[case])
    sol = lq_nash(a, b, q, r)
    x = sla.solve_discrete_are(a, b, q, r)
    P, K = hewer_reference(a, b, q, r, np.linalg.solve(r + b.T @ x @ b, b.T @ x @ a), digits=50, steps=8)
    est = sol.error_estimate
    assert np.linalg.norm(sol.P[0] - P) <= 10 * est * np.linalg.norm(P)
    assert np.linalg.norm(sol.K - K) <= 10 * est * np.linalg.norm(K)
    assert est <= (1e-10 if case == 11 else 1e-7)


def test_core_entries_check_gain_shapes():
    """The bound C++ entries check K / K0 shapes, not only their sizes (a transposed K0
    with the right number of entries was read as a reshaped gain)."""
    from gamesolve import _core
    A, B, Q, R = np.diag([.5, .3]), np.array([[1.], [0.5]]), np.eye(2)[None], np.eye(1)[None]
    for K in (np.zeros((2, 1)), np.zeros(2), np.zeros((1, 3))):
        with pytest.raises(ValueError, match=r"must have shape \(1, 2\)"):
            _core.lq_nash(A, B, Q, R, None, [1], K, _core.LQNashOptions())
        with pytest.raises(ValueError, match=r"must have shape \(1, 2\)"):
            _core.lq_policy_value(A, B, Q, R, None, [1], K)
        with pytest.raises(ValueError, match=r"must have shape \(1, 2\)"):
            _core.lq_nash_jacobian(A, B, Q, R, None, [1], K)
