// Tests of the Stein solver (lyapunov.hpp) and the LQ Nash solver (lq_nash.hpp)
// against independent oracles: the truncated series sum_k A'^k C A^k, the
// Kronecker form, the scalar closed form of the one-player game, and finite
// differences of F(K) for Newton's Jacobian.
#include "check.hpp"
#include "gamesolve/lq_nash.hpp"
#include "gamesolve/lyapunov.hpp"

#include <Eigen/Dense>
#include <random>

using namespace gamesolve;

static Mat randn(Index r, Index c, std::mt19937& g) {
  std::normal_distribution<double> d;
  Mat X(r, c);
  for (Index i = 0; i < X.size(); ++i) X.data()[i] = d(g);
  return X;
}

static void test_stein(std::mt19937& g) {
  for (Index n : {1, 2, 5, 13}) {
    Mat A = randn(n, n, g);
    A *= 0.9 / A.eigenvalues().cwiseAbs().maxCoeff();
    Mat L = randn(n, n, g), C = L * L.transpose(), X(n, n);
    SteinSolver s(n);
    CHECK(s.factor(A));
    CHECK_NEAR(s.spectral_radius(), 0.9, 1e-10);
    s.solve(C, X);
    // residual of X = A'XA + C
    CHECK((X - A.transpose() * X * A - C).norm() <= 1e-12 * X.norm());
    // Kronecker oracle: (I - A'(x)A') vec X = vec C (column-major vec)
    Mat Kr = Mat::Identity(n * n, n * n);
    for (Index i = 0; i < n; ++i)
      for (Index j = 0; j < n; ++j) Kr.block(i * n, j * n, n, n) -= A(j, i) * A.transpose();
    Vec x = Kr.partialPivLu().solve(Eigen::Map<Vec>(C.data(), n * n));
    CHECK((Eigen::Map<Vec>(X.data(), n * n) - x).norm() <= 1e-10 * x.norm());
    // non-symmetric right-hand side
    Mat Cn = randn(n, n, g), Xn(n, n);
    s.solve(Cn, Xn, false);
    CHECK((Xn - A.transpose() * Xn * A - Cn).norm() <= 1e-11 * std::max(1.0, Xn.norm()));
  }
  CHECK_THROWS(SteinSolver(0), std::invalid_argument);
}

static void test_scalar_game() {
  // N = 1, n = m = 1: P = q + a^2 r P / (r + b^2 P) (scalar DARE, closed form).
  const double a = 1.2, b = 0.7, q = 2.0, r = 0.5;
  const double A = a, B = b, Q = q, R = r;
  LQNashProblem pb = make_lq_nash_problem(1, {1}, &A, &B, &Q, &R, nullptr);
  // b^2 P^2 + (r - a^2 r - q b^2) P - q r = 0
  const double c1 = b * b, c2 = r - a * a * r - q * b * b, c3 = -q * r;
  const double P = (-c2 + std::sqrt(c2 * c2 - 4 * c1 * c3)) / (2 * c1);
  const double K = b * P * a / (r + b * b * P);
  for (NashMethod m : {NashMethod::Auto, NashMethod::Lyapunov, NashMethod::Riccati, NashMethod::Newton}) {
    LQNashOptions o;
    o.method = m;
    LQNashResult res = lq_nash(pb, Mat(), o);
    CHECK(res.converged);
    CHECK_NEAR(res.K(0, 0), K, 1e-10);
    CHECK_NEAR(res.P[0](0, 0), P, 1e-9 * P);
  }
}

static void test_jacobian(std::mt19937& g) {
  const Index n = 4, N = 2;
  std::vector<Index> dims = {1, 2};
  const Index m = 3;
  Mat A = randn(n, n, g);
  A *= 0.8 / A.eigenvalues().cwiseAbs().maxCoeff();
  Mat B = randn(n, m, g) * 0.5;
  std::vector<double> Q(N * n * n, 0.0), R(N * m * m, 0.0);
  for (Index i = 0; i < N; ++i)
    for (Index k = 0; k < n; ++k) Q[i * n * n + k * n + k] = 1.0 + i;
  R[0] = 1.0;
  R[m * m + 1 * m + 1] = 2.0;
  R[m * m + 2 * m + 2] = 1.0;
  RowMat Ar = A, Br = B;
  LQNashProblem pb = make_lq_nash_problem(n, dims, Ar.data(), Br.data(), Q.data(), R.data(), nullptr);
  Mat K = randn(m, n, g) * 0.05, J, F;
  CHECK(lq_nash_jacobian(pb, K, J, &F));
  const double h = 1e-6;
  double err = 0;
  for (Index a = 0; a < m; ++a)
    for (Index b = 0; b < n; ++b) {
      Mat Kp = K, Km = K, Fp, Fm, Jd;
      Kp(a, b) += h;
      Km(a, b) -= h;
      lq_nash_jacobian(pb, Kp, Jd, &Fp);
      lq_nash_jacobian(pb, Km, Jd, &Fm);
      Mat d = (Fp - Fm) / (2 * h);
      for (Index r = 0; r < m; ++r)
        for (Index c = 0; c < n; ++c) err = std::max(err, std::abs(d(r, c) - J(r * n + c, a * n + b)));
    }
  CHECK(err <= 1e-6 * std::max(1.0, J.norm()));
  // The solver's equilibrium: F = 0 and it is stable.
  LQNashResult res = lq_nash(pb, Mat());
  CHECK(res.converged);
  CHECK(res.residual <= 1e-10);
  Mat J2, F2;
  CHECK(lq_nash_jacobian(pb, res.K, J2, &F2));
  CHECK(F2.norm() <= 1e-9);
  // A non-stabilizing start is reported, not solved from.
  Mat Kbad = Mat::Zero(m, n);
  Kbad.setConstant(50.0);
  LQNashResult bad = lq_nash(pb, Kbad);
  CHECK(!bad.converged);
  CHECK(bad.status == kNashBadStart);
}

int main() {
  std::mt19937 g(7);
  test_stein(g);
  test_scalar_game();
  test_jacobian(g);
  return gscheck::finish("test_lyapunov");
}
