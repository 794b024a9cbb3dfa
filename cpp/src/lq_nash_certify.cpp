// Certificates of the infinite-horizon LQ Nash solver (lq_nash_work.hpp): P(K) by
// Stein equations, the residuals of both equations, Schur stability; and the
// public lq_policy_value.
#include "lq_nash_work.hpp"

namespace gamesolve::nash {

bool certify(Work& w, const Mat& K, LQNashResult& res, double tol) {
  res.K = K;
  res.P.assign(w.N, Mat::Zero(w.n, w.n));
  if (!K.allFinite() || !w.evaluate(K, res.P)) {
    res.spectral_radius = std::numeric_limits<double>::infinity();
    res.res_K = res.res_P = res.residual = std::numeric_limits<double>::infinity();
    return false;
  }
  res.spectral_radius = w.schur_valid ? w.stein.spectral_radius() : -1.0;  // -1: stable, not computed
  res.res_P = w.res_P(K, res.P);
  res.res_K = w.res_K(K, res.P);
  res.residual = nan_max(res.res_K, res.res_P);
  res.error_estimate = w.kappa * w.cond_S() * res.residual;
  return res.residual <= tol;  // false for NaN
}

// Schur stability of A by repeated squaring, p = 2^k: ||A^p||_F^2 <= 1e-18
// proves rho(A) < 1 (rho^p <= ||A^p||), |tr A^p| >= n proves rho(A) >= 1
// (|tr A^p| = |sum lambda^p| <= n rho^p). The Schur form is the referee when
// neither bound decides.
bool is_schur_stable(const Mat& A, double* kappa) {
  if (!A.allFinite()) return false;
  Mat Ak = A, T(A.rows(), A.cols());
  const double n = double(A.rows());
  for (int k = 0; k < 20; ++k) {
    const double a2 = Ak.squaredNorm();
    if (!(a2 < 1e30)) break;
    if (a2 <= 1e-18) {
      if (kappa) *kappa = std::max(1.0, std::ldexp(1.0, k) / 20.0);
      return true;
    }
    if (std::abs(Ak.trace()) >= n) return false;
    T.noalias() = Ak * Ak;
    Ak.swap(T);
  }
  SteinSolver st(A.rows());
  if (!(st.factor(A) && st.spectral_radius() < 1.0)) return false;
  if (kappa) *kappa = 1.0 / std::max(1.0 - st.spectral_radius() * st.spectral_radius(), 1e-300);
  return true;
}

// Certify an iterate pair (K, P): residuals of both equations at (K, P) and
// Schur stability of A_K by squaring. Cheaper than `certify` (no Stein solve).
bool certify_pair(Work& w, const Mat& K, const std::vector<Mat>& P, LQNashResult& res, double tol) {
  if (P.empty() || !K.allFinite()) return false;
  w.AK = w.pb.A;
  w.AK.noalias() -= w.pb.B * K;
  const double rp = w.res_P(K, P), rk = w.res_K(K, P);
  double kappa = 1.0;
  if (!(nan_max(rp, rk) <= tol) || !is_schur_stable(w.AK, &kappa)) return false;
  res.K = K;
  res.P = P;
  res.res_P = rp;
  res.res_K = rk;
  res.residual = nan_max(rp, rk);
  res.error_estimate = kappa * w.cond_S() * res.residual;
  res.spectral_radius = -1.0;
  return true;
}

void copy_certificate(const LQNashResult& from, LQNashResult& to) {
  to.K = from.K;
  to.P = from.P;
  to.res_K = from.res_K;
  to.res_P = from.res_P;
  to.residual = from.residual;
  to.spectral_radius = from.spectral_radius;
  to.error_estimate = from.error_estimate;
}

}  // namespace gamesolve::nash

namespace gamesolve {

bool lq_policy_value(const LQNashProblem& pb, const Mat& K, std::vector<Mat>& P, double* rho) {
  nash::check_sizes("lq_policy_value", pb, K);
  nash::Work w(pb);
  std::vector<Mat> Pt(w.N, Mat(w.n, w.n));
  const bool ok = w.evaluate(K, Pt);
  if (rho) *rho = w.schur_valid ? w.stein.spectral_radius() : (ok ? -1.0 : std::numeric_limits<double>::infinity());
  if (ok) P = Pt;
  return ok;
}

}  // namespace gamesolve
