// Tests of the infinite-horizon LQ Nash solver (lq_nash.hpp): independent
// oracles (the scalar closed form of the one-player game, finite differences of
// F(K) for Newton's Jacobian, the summed-cost DARE for the default start, the
// Riccati map recomputed by hand) and the driver: the appendix-A game, the
// record of attempts of method auto, unconverged explicit methods, bad input.
#include "check.hpp"
#include "randn.hpp"
#include "gamesolve/lq_nash.hpp"

#include <Eigen/Dense>
#include <random>
#include <stdexcept>

using namespace gamesolve;

using gscheck::randn;

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
  // [theory §3] map (S K = Y with Z^i = P^i, P^i <- Q^i + K'R^iK - K'M^i - M^i'K + A_K'P^iA_K).
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


// ---------------------------------------------------------------- the driver
// The LQ game of appendix A of "Multi-Agent Guided Policy Search for
// Non-Cooperative Dynamic Games" (J. Li, G. Qu, J. J. Choi, S. Sojoudi, C. Tomlin).
static LQNashProblem appendix_a() {
  static const double A[] = {0.588, 0.028, 0.570, 0.056};
  static const double B[] = {1.0, 0.0, 0.1, 1.0};
  static const double Q[] = {0.01, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0147};
  static const double R[] = {0.01, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.01};
  return make_lq_nash_problem(2, {1, 1}, A, B, Q, R, nullptr);
}

// P^i(K) by the series sum_k A_K'^k C^i A_K^k (C^i = Q^i + K'R^i K), an oracle
// independent of the solver's Stein solvers; A_K must be stable.
static std::vector<Mat> values_by_series(const LQNashProblem& pb, const Mat& K) {
  const Mat AK = pb.A - pb.B * K;
  std::vector<Mat> P;
  for (Index i = 0; i < pb.dims.N; ++i) {
    Mat term = pb.Q[i] + K.transpose() * pb.R[i] * K, X = Mat::Zero(pb.dims.n, pb.dims.n);
    for (int k = 0; k < 2000 && term.norm() > 1e-20 * std::max(1.0, X.norm()); ++k) {
      X += term;
      term = AK.transpose() * term * AK;
    }
    P.push_back(X);
  }
  return P;
}

// Appendix A: converges, certified to <= 1e-12, K equal to the Python API's
// answer (gamesolve.lq_nash, printed to 16 digits), and each player's gain is
// its best response: K^i = (R^ii + B^i'P^i B^i)^{-1} B^i'P^i (A - B^{-i} K^{-i})
// with P^i from the series.
static void test_appendix_a() {
  const LQNashProblem pb = appendix_a();
  const LQNashResult res = lq_nash(pb, Mat());
  CHECK(res.converged && res.status == kNashConverged);
  CHECK(res.residual <= 1e-12);
  CHECK(res.spectral_radius < 1.0);
  Mat K_python(2, 2);
  K_python << 0.8137833279875979, 0.0562723923176471, 0.2372587653594078, 0.02312913824433212;
  CHECK((res.K - K_python).cwiseAbs().maxCoeff() <= 1e-12);
  CHECK_NEAR(res.K(0, 0), 0.814, 5e-4);  // K^1 ~ [0.814, 0.056]
  CHECK_NEAR(res.K(0, 1), 0.056, 5e-4);
  const std::vector<Mat> P = values_by_series(pb, res.K);
  for (Index i = 0; i < 2; ++i) {
    CHECK((P[i] - res.P[i]).norm() <= 1e-12 * P[i].norm());
    const Mat Bi = pb.B.col(i), Bo = pb.B.col(1 - i);
    const Mat A_i = pb.A - Bo * res.K.row(1 - i);  // the others' feedback closed in
    const Mat Ki = (pb.R[i].block(i, i, 1, 1) + Bi.transpose() * P[i] * Bi).inverse() * (Bi.transpose() * P[i] * A_i);
    CHECK((Ki - res.K.row(i)).norm() <= 1e-12);
  }
  // The record: the accelerated Riccati iteration from P(K0) certifies (15
  // iterations) at round-off with an error estimate below tol, so no polish runs
  // (the polish is by need, not by size).
  CHECK(res.stages.size() == 1);
  if (res.stages.size() == 1) {
    const NashStage& r = res.stages[0];
    CHECK(r.method == NashMethod::Riccati && r.accelerated && r.start == NashStart::Initial);
    CHECK(r.iterations == 15 && r.status == kNashConverged);
    CHECK(res.iterations == r.iterations);
  }
  CHECK(res.error_estimate >= res.residual && res.error_estimate <= 1e-13);
  CHECK(res.method == "riccati+anderson" && res.start == "zero");
}

// With 3 iterations per attempt nothing certifies, so method auto runs its whole
// table, in order, each attempt recorded with its start and budget spent; the
// answer is the best candidate (Newton from the best K), not converged.
static void test_attempt_record() {
  const LQNashProblem pb = appendix_a();
  LQNashOptions o;
  o.max_iter = 3;
  o.polish = false;
  const LQNashResult res = lq_nash(pb, Mat(), o);
  struct Expect { NashMethod method; bool accelerated; NashStart start; };
  const Expect table[] = {
      {NashMethod::Riccati, true, NashStart::Initial},        {NashMethod::Lyapunov, true, NashStart::BestOrInitial},
      {NashMethod::Newton, false, NashStart::Best},           {NashMethod::Newton, false, NashStart::Initial},
      {NashMethod::Lyapunov, false, NashStart::Initial},      {NashMethod::Riccati, false, NashStart::Q},
      {NashMethod::Riccati, true, NashStart::Q}};
  CHECK(res.stages.size() == 7);
  int total = 0;
  for (size_t k = 0; k < res.stages.size() && k < 7; ++k) {
    const NashStage& s = res.stages[k];
    CHECK(s.method == table[k].method && s.accelerated == table[k].accelerated && s.start == table[k].start);
    CHECK(s.iterations == 3 && s.status == kNashMaxIter && s.residual > 1e-10);
    total += s.iterations;
  }
  CHECK(res.iterations == total && int(res.history.size()) == total);
  CHECK(!res.converged && res.status == kNashMaxIter);
  CHECK(res.method == "newton");  // the best candidate came from Newton
  CHECK(res.residual > o.tol && res.residual < 1e-3);
  // With the polish (the default) the same table ends in Newton steps that certify.
  o.polish = true;
  const LQNashResult pol = lq_nash(pb, Mat(), o);
  // (How many polish steps certify depends on rounding, i.e. on the instruction set: 2 with AVX-512,
  // 3 with SSE2; what is fixed is that the table ran first and a Newton polish certified.)
  CHECK(pol.converged && pol.residual <= 1e-12 && pol.stages.size() > res.stages.size());
  // the Newton steps, then the Riccati iteration's pair certificate from P(K)
  const size_t t = res.stages.size();
  CHECK(pol.stages.size() == t + 2 && pol.stages[t].method == NashMethod::Newton &&
        pol.stages.back().method == NashMethod::Riccati && pol.stages.back().status == kNashConverged);
  CHECK((pol.K - res.K).norm() <= 1e-3 && (pol.K - lq_nash(pb, Mat()).K).norm() <= 1e-12);
}

// An explicit method that stalls reports it: the plain Riccati iteration from
// P = Q oscillates on appendix A (the finite-horizon recursion does not settle).
static void test_explicit_method_stalls() {
  const LQNashProblem pb = appendix_a();
  LQNashOptions o;
  o.method = NashMethod::Riccati;
  const LQNashResult res = lq_nash(pb, Mat(), o);
  CHECK(!res.converged);
  CHECK(res.status == kNashStalled);
  CHECK(res.stages.size() == 1 && res.stages[0].start == NashStart::Q && res.stages[0].status == kNashStalled);
  CHECK(res.iterations == res.stages[0].iterations && res.iterations < o.max_iter);
  CHECK(res.residual > 1e-2);  // certified residual of the reported gain: far from an equilibrium
  CHECK(res.method == "riccati");
  // An explicit method out of budget is not converged either.
  o.method = NashMethod::Lyapunov;
  o.max_iter = 20;
  const LQNashResult lyap = lq_nash(pb, Mat(), o);
  CHECK(!lyap.converged && lyap.status == kNashMaxIter && lyap.iterations == 20);
}

static void test_bad_sizes_throw() {
  const double A[] = {0.5, 0.0, 0.0, 0.5}, B[] = {1.0, 0.0, 0.0, 1.0};
  const double Q[] = {1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0}, R[] = {1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0};
  CHECK_THROWS(make_lq_nash_problem(0, {1, 1}, A, B, Q, R, nullptr), std::invalid_argument);
  CHECK_THROWS(make_lq_nash_problem(2, {1, 0}, A, B, Q, R, nullptr), std::invalid_argument);
  CHECK_THROWS(make_lq_nash_problem(2, {1, 1}, A, nullptr, Q, R, nullptr), std::invalid_argument);
  const LQNashProblem pb = make_lq_nash_problem(2, {1, 1}, A, B, Q, R, nullptr);
  CHECK_THROWS(guided_problem(pb, Mat::Zero(2, 3), 1.0), std::invalid_argument);  // K_guide m x n
  CHECK_THROWS(guided_problem(pb, Mat::Zero(2, 2), -1.0), std::invalid_argument);  // rho >= 0
  LQNashOptions o;
  o.anderson_depth = kMaxAndersonDepth + 1;
  CHECK_THROWS(lq_nash(pb, Mat(), o), std::invalid_argument);
  o = LQNashOptions();
  o.tol = 0.0;
  CHECK_THROWS(lq_nash(pb, Mat(), o), std::invalid_argument);
  CHECK_THROWS(Anderson(12, 3), std::invalid_argument);  // padded length: a multiple of 8
  CHECK_THROWS(SteinSolver(0), std::invalid_argument);
  // K / K0 shapes are checked by every entry (a 1x1 K0 for the 2x2 game was accepted
  // and reported converged; the Jacobian wrote out of bounds)
  Mat J, F;
  std::vector<Mat> P;
  for (const Mat& bad : {Mat(Mat::Zero(1, 1)), Mat(Mat::Zero(2, 3)), Mat(Mat::Zero(1, 2))}) {
    CHECK_THROWS(lq_nash(pb, bad), std::invalid_argument);
    CHECK_THROWS(lq_policy_value(pb, bad, P), std::invalid_argument);
    CHECK_THROWS(lq_nash_jacobian(pb, bad, J, &F), std::invalid_argument);
  }
  // a problem assembled by hand with inconsistent sizes
  LQNashProblem broken = pb;
  broken.Q.pop_back();
  CHECK_THROWS(lq_nash(broken, Mat()), std::invalid_argument);
  broken = pb;
  broken.B = Mat::Zero(2, 3);
  CHECK_THROWS(lq_nash(broken, Mat()), std::invalid_argument);
  CHECK_THROWS(lq_policy_value(broken, Mat::Zero(2, 2), P), std::invalid_argument);
}

// Certificates are scale-free and NaN-propagating: a game with costs ~2.6e154
// (whose norms overflowed to a residual of 0) is solved to round-off with the
// gain of the same game divided by 2^512, and its P is the scaled P; a control
// column of size 1e155 (B'PB overflows) is rejected as a bad scale, never
// "converged" with a NaN residual.
static void test_extreme_scales() {
  const double A[] = {0.5, 0.2, -0.1, 0.3}, B[] = {1.0, 0.3, 0.2, 1.0};
  const double Q[] = {1.0, 0.1, 0.1, 1.0, 2.0, 0.0, 0.0, 1.0}, R[] = {1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.0};
  const double big = 2.6e154;
  std::vector<double> Qb(Q, Q + 8), Rb(R, R + 8);
  for (double& v : Qb) v *= big;
  for (double& v : Rb) v *= big;
  const LQNashResult ref = lq_nash(make_lq_nash_problem(2, {1, 1}, A, B, Q, R, nullptr), Mat());
  const LQNashResult res = lq_nash(make_lq_nash_problem(2, {1, 1}, A, B, Qb.data(), Rb.data(), nullptr), Mat());
  CHECK(ref.converged && res.converged);
  CHECK(res.residual > 0.0 && res.residual <= 1e-13);
  CHECK((res.K - ref.K).norm() <= 1e-13 * ref.K.norm());
  CHECK((res.P[0] / big - ref.P[0]).norm() <= 1e-13 * ref.P[0].norm());
  const double A3[] = {0.5, 0, 0, 0, 0.3, 0, 0, 0, 0.2}, B3[] = {1.0, 1e155, 0.5}, Q3[] = {1, 0, 0, 0, 1, 0, 0, 0, 1},
               R3[] = {1.0};
  const LQNashResult huge = lq_nash(make_lq_nash_problem(3, {1}, A3, B3, Q3, R3, nullptr), Mat());
  CHECK(!huge.converged && huge.status == kNashBadScale && std::isnan(huge.residual));
  // a NaN in the data (the C++ API does not read through the Python checks): the
  // certificate is NaN for every method, never converged
  std::vector<double> Qn(Q, Q + 8);
  Qn[3] = std::nan("");
  const LQNashProblem nanpb = make_lq_nash_problem(2, {1, 1}, A, B, Qn.data(), R, nullptr);
  for (NashMethod m : {NashMethod::Auto, NashMethod::Lyapunov, NashMethod::Riccati, NashMethod::Newton}) {
    LQNashOptions o;
    o.method = m;
    const LQNashResult r = lq_nash(nanpb, Mat(), o);
    CHECK(!r.converged && std::isnan(r.residual));
  }
}

int main() {
  std::mt19937 g(7);
  test_scalar_game();
  test_jacobian(g);
  test_jacobian_cross_terms(g);
  test_default_start(g);
  test_default_start_to_roundoff(g);
  test_methods_agree_with_cross_terms(g);
  test_appendix_a();
  test_attempt_record();
  test_explicit_method_stalls();
  test_bad_sizes_throw();
  test_extreme_scales();
  return gscheck::finish("test_lq_nash");
}
