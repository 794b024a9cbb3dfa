// Tests of the Stein solver (stein.hpp) and the LQ Nash solver (lq_nash.hpp)
// against independent oracles: the truncated series sum_k A'^k C A^k, the
// Kronecker form, the scalar closed form of the one-player game, and finite
// differences of F(K) for Newton's Jacobian.
#include "check.hpp"
#include "gamesolve/lq_nash.hpp"
#include "gamesolve/stein.hpp"

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

// The adjoint equation X = A X A' + C in the Schur basis (solve_schur_adjoint):
// residual in the original basis, and the duality <X1, C2> = <C1, X2> with (1).
static void test_stein_adjoint(std::mt19937& g) {
  using CM = SteinSolver::CMat;
  for (Index n : {1, 3, 8, 13}) {
    Mat A = randn(n, n, g);
    A *= 0.85 / A.eigenvalues().cwiseAbs().maxCoeff();
    SteinSolver s(n);
    CHECK(s.factor(A));
    const CM& U = s.U();
    Mat C1 = randn(n, n, g), C2 = randn(n, n, g), X2(n, n);
    CM Y = U.adjoint() * C1.cast<std::complex<double>>() * U;
    s.solve_schur_adjoint(Y);
    const Mat X1 = (U * Y * U.adjoint()).real();
    CHECK((X1 - A * X1 * A.transpose() - C1).norm() <= 1e-12 * std::max(1.0, X1.norm()));
    s.solve(C2, X2, false);  // X2 = A'X2 A + C2
    const double lhs = (X1.array() * C2.array()).sum(), rhs = (C1.array() * X2.array()).sum();
    CHECK(std::abs(lhs - rhs) <= 1e-11 * std::max(1.0, std::abs(lhs)));
  }
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

static double spectral_radius(const Mat& A) { return A.eigenvalues().cwiseAbs().maxCoeff(); }

// One player: the default start is the DARE gain (oracle: value iteration
// P <- Q + A'PA - A'PB (R + B'PB)^-1 B'PA run to its fixed point), or 0 for a
// Schur-stable A. The A's cover the stability test's three verdicts: decay of
// ||A^p|| (stable), |tr A^p| >= n (a dominant real eigenvalue or complex pair,
// also |lambda| = 1.001 after ten squarings), and the Schur referee (a stable
// A with ||A||_F^2 > 1e30, where squaring decides nothing).
// Newton's Jacobian (adjoint rows) against central differences of F(K): three
// players of unequal sizes, dense joint weights and cross terms M^i.
static void test_jacobian_cross_terms(std::mt19937& g) {
  const Index n = 5, N = 3, m = 4;
  std::vector<Index> dims = {1, 2, 1};
  Mat A = randn(n, n, g);
  A *= 0.7 / A.eigenvalues().cwiseAbs().maxCoeff();
  Mat B = randn(n, m, g) * 0.5;
  std::vector<double> Q(N * n * n), R(N * m * m), M(N * m * n);
  for (Index i = 0; i < N; ++i) {
    Mat L = randn(n + m, n + m, g) / std::sqrt(double(n + m));
    Mat W = L * L.transpose() + 0.3 * Mat::Identity(n + m, n + m);
    RowMat Qi = W.topLeftCorner(n, n), Ri = W.bottomRightCorner(m, m), Mi = W.bottomLeftCorner(m, n);
    std::copy(Qi.data(), Qi.data() + n * n, Q.begin() + i * n * n);
    std::copy(Ri.data(), Ri.data() + m * m, R.begin() + i * m * m);
    std::copy(Mi.data(), Mi.data() + m * n, M.begin() + i * m * n);
  }
  RowMat Ar = A, Br = B;
  LQNashProblem pb = make_lq_nash_problem(n, dims, Ar.data(), Br.data(), Q.data(), R.data(), M.data());
  Mat K = randn(m, n, g) * 0.05, J, F, Jd, Fp, Fm;
  CHECK(lq_nash_jacobian(pb, K, J, &F));
  const double h = 1e-6;
  double err = 0;
  for (Index a = 0; a < m; ++a)
    for (Index b = 0; b < n; ++b) {
      Mat Kp = K, Km = K;
      Kp(a, b) += h;
      Km(a, b) -= h;
      lq_nash_jacobian(pb, Kp, Jd, &Fp);
      lq_nash_jacobian(pb, Km, Jd, &Fm);
      const Mat d = (Fp - Fm) / (2 * h);
      for (Index r = 0; r < m; ++r)
        for (Index c = 0; c < n; ++c) err = std::max(err, std::abs(d(r, c) - J(r * n + c, a * n + b)));
    }
  CHECK(err <= 1e-6 * std::max(1.0, J.norm()));
}

static void test_default_start(std::mt19937& g) {
  const Index n = 4, m = 2;
  const Mat V = Mat::Identity(n, n) + 0.3 * randn(n, n, g);  // mildly non-normal A = V D V^-1
  auto rot = [](double rho, double th) {
    Mat Rm(2, 2);
    Rm << std::cos(th), -std::sin(th), std::sin(th), std::cos(th);
    return Mat(rho * Rm);
  };
  std::vector<Mat> As;
  Mat D = Mat::Zero(n, n);
  D.diagonal() << 0.9, -0.5, 0.3, 0.1;
  As.push_back(V * D * V.inverse());  // stable
  Mat Huge = 0.5 * Mat::Identity(n, n);
  Huge(0, 1) = 1e16;
  As.push_back(Huge);                 // stable, decided by the Schur form
  D.diagonal() << 1.2, -0.5, 0.3, 0.1;
  As.push_back(V * D * V.inverse());  // real unstable
  for (double rho : {1.3, 1.001}) {   // complex pair
    Mat Bl = Mat::Zero(n, n);
    Bl.topLeftCorner(2, 2) = rot(rho, 1.0);
    Bl(2, 2) = 0.5;
    Bl(3, 3) = -0.2;
    As.push_back(V * Bl * V.inverse());
  }
  const Mat B = randn(n, m, g), Q = Mat::Identity(n, n), R = Mat::Identity(m, m);
  for (size_t c = 0; c < As.size(); ++c) {
    RowMat Ar = As[c], Br = B;
    LQNashProblem pb = make_lq_nash_problem(n, {m}, Ar.data(), Br.data(), Q.data(), R.data(), nullptr);
    Mat K0;
    CHECK(default_start(pb, K0));
    if (c <= 1) {
      CHECK(K0.norm() == 0.0);
      continue;
    }
    Mat P = Q;
    for (int it = 0; it < 20000; ++it) {
      const Mat S = R + B.transpose() * P * B;
      const Mat Pn = Q + As[c].transpose() * P * As[c] -
                     As[c].transpose() * P * B * S.ldlt().solve(B.transpose() * P * As[c]);
      const double d = (Pn - P).norm();
      P = 0.5 * (Pn + Pn.transpose());
      if (d <= 1e-15 * P.norm()) break;
    }
    const Mat K = (R + B.transpose() * P * B).ldlt().solve(B.transpose() * P * As[c]);
    CHECK((K0 - K).norm() <= 1e-9 * std::max(1.0, K.norm()));
    CHECK(spectral_radius(As[c] - B * K0) < 1.0);
  }
}

// Three players with cross weights M: the Riccati iteration (the finite-horizon
// stage map, with and without Anderson) and Newton reach the same certified
// equilibrium.
static void test_methods_agree_with_cross_terms(std::mt19937& g) {
  const Index n = 5, N = 3;
  std::vector<Index> dims = {1, 2, 1};
  const Index m = 4;
  Mat A = randn(n, n, g);
  A *= 1.05 / spectral_radius(A);
  Mat B = randn(n, m, g);
  std::vector<double> Q, R(N * m * m, 0.0), M;
  for (Index i = 0; i < N; ++i) {
    Mat L = randn(n, n, g);
    Mat Qi = L * L.transpose() / double(n) + 0.1 * Mat::Identity(n, n);
    Q.insert(Q.end(), Qi.data(), Qi.data() + n * n);
    RowMat Mi = 0.05 * randn(m, n, g);
    M.insert(M.end(), Mi.data(), Mi.data() + m * n);
  }
  const Index off[] = {0, 1, 3};  // player i's own block of R^i: (1 + i) I
  for (Index i = 0; i < N; ++i)
    for (Index k = off[i]; k < off[i] + dims[i]; ++k) R[i * m * m + k * m + k] = 1.0 + i;
  RowMat Ar = A, Br = B;
  LQNashProblem pb = make_lq_nash_problem(n, dims, Ar.data(), Br.data(), Q.data(), R.data(), M.data());
  LQNashOptions o;
  o.method = NashMethod::Newton;
  LQNashResult ref = lq_nash(pb, Mat(), o);
  CHECK(ref.converged);
  CHECK(ref.residual <= 1e-12);
  Mat K0;
  CHECK(default_start(pb, K0));
  for (NashMethod mth : {NashMethod::Auto, NashMethod::Riccati}) {
    o.method = mth;
    LQNashResult res = lq_nash(pb, K0, o);  // from P(K0)
    CHECK(res.converged);
    CHECK(res.residual <= 1e-12);
    CHECK((res.K - ref.K).norm() <= 1e-9 * ref.K.norm());
    for (Index i = 0; i < N; ++i) CHECK((res.P[i] - ref.P[i]).norm() <= 1e-9 * ref.P[i].norm());
    if (mth == NashMethod::Auto) {
      CHECK(res.method.rfind("riccati+anderson", 0) == 0);
      CHECK(res.stages.size() >= 1 && res.stages[0].status == kNashConverged);
    }
  }
  // Plain Riccati from P = Q, 5 steps: the iterates of a dense transcription of the
  // SPEC 3 map (S K = Y with Z^i = P^i, P^i <- Q^i + K'R^iK - K'M^i - M^i'K + A_K'P^iA_K).
  o.method = NashMethod::Riccati;
  o.max_iter = 5;
  LQNashResult a = lq_nash(pb, Mat(), o);
  CHECK(a.history.size() == 5);
  std::vector<Mat> P(pb.Q.begin(), pb.Q.end());
  const Index off_i[] = {0, 1, 3};
  Mat K(m, n);
  for (int k = 0; k < 5; ++k) {
    Mat S(m, m), Y(m, n);
    for (Index i = 0; i < N; ++i) {
      const Index o0 = off_i[i], mi = dims[i];
      const Mat Bi = pb.B.middleCols(o0, mi);
      S.middleRows(o0, mi) = Bi.transpose() * P[i] * pb.B + pb.R[i].middleRows(o0, mi);
      Y.middleRows(o0, mi) = Bi.transpose() * P[i] * pb.A + pb.M[i].middleRows(o0, mi);
    }
    K = S.partialPivLu().solve(Y);
    const Mat AK = pb.A - pb.B * K;
    double num = 0, den = 0;
    std::vector<Mat> Pn(N);
    for (Index i = 0; i < N; ++i) {
      Pn[i] = pb.Q[i] + K.transpose() * pb.R[i] * K - K.transpose() * pb.M[i] - pb.M[i].transpose() * K +
              AK.transpose() * P[i] * AK;
      Pn[i] = 0.5 * (Pn[i] + Pn[i].transpose()).eval();
      num += (Pn[i] - P[i]).squaredNorm();
      den += Pn[i].squaredNorm();
    }
    CHECK(std::abs(a.history[k] - std::sqrt(num / den)) <= 1e-10 * std::max(1.0, a.history[k]));
    P = Pn;
  }
  CHECK((a.K - K).norm() <= 1e-10 * std::max(1.0, K.norm()));
}

// The default start's doubling stops early (quadratic regime, predicted next change
// below round-off): K0 is still the summed-cost LQR gain to round-off, on random
// unstable games of the benchmark's shape (A scaled to spectral radius 1.05).
static void test_default_start_to_roundoff(std::mt19937& g) {
  for (Index n : {6, 12, 24}) {
    const Index N = 3, mi = 2, m = N * mi;
    Mat A = randn(n, n, g);
    Eigen::EigenSolver<Mat> es(A);
    A *= 1.05 / es.eigenvalues().cwiseAbs().maxCoeff();
    const Mat B = randn(n, m, g);
    std::vector<double> Qb(N * n * n), Rb(N * m * m, 0.0);
    Mat Qs = Mat::Zero(n, n), Rs = Mat::Zero(m, m);
    for (Index i = 0; i < N; ++i) {
      const Mat L = randn(n, n, g), Qi = L * L.transpose() / double(n) + Mat::Identity(n, n);
      Eigen::Map<RowMat>(Qb.data() + i * n * n, n, n) = Qi;
      Qs += Qi;
      for (Index a = i * mi; a < (i + 1) * mi; ++a) Rb[i * m * m + a * m + a] = 1.0, Rs(a, a) += 1.0;
    }
    RowMat Ar = A, Br = B;
    LQNashProblem pb = make_lq_nash_problem(n, std::vector<Index>(N, mi), Ar.data(), Br.data(), Qb.data(),
                                            Rb.data(), nullptr);
    Mat K0;
    CHECK(default_start(pb, K0));
    Mat P = Qs;  // the summed-cost DARE by the plain Riccati iteration, to round-off
    for (int it = 0; it < 100000; ++it) {
      const Mat S = Rs + B.transpose() * P * B;
      const Mat Pn = Qs + A.transpose() * P * A - A.transpose() * P * B * S.ldlt().solve(B.transpose() * P * A);
      const double d = (Pn - P).norm();
      P = 0.5 * (Pn + Pn.transpose());
      if (d <= 1e-15 * P.norm()) break;
    }
    const Mat K = (Rs + B.transpose() * P * B).ldlt().solve(B.transpose() * P * A);
    CHECK((K0 - K).norm() <= 1e-12 * std::max(1.0, K.norm()));
  }
}

int main() {
  std::mt19937 g(7);
  test_stein(g);
  test_stein_adjoint(g);
  test_scalar_game();
  test_jacobian(g);
  test_jacobian_cross_terms(g);
  test_default_start(g);
  test_default_start_to_roundoff(g);
  test_methods_agree_with_cross_terms(g);
  return gscheck::finish("test_lyapunov");
}
