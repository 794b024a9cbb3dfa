// Internals of the infinite-horizon LQ Nash solver shared by its units
// (lq_nash.hpp has the equations):
//   lq_nash.cpp           the driver: the table of attempts of method "auto"
//   lq_nash_riccati.cpp   Riccati iteration (the finite-horizon stage map to a fixed point)
//   lq_nash_lyapunov.cpp  Lyapunov iteration (Li & Gajic)
//   lq_nash_newton.cpp    Newton's method on F(K) = S K - Y with the exact Jacobian
//   lq_nash_certify.cpp   certificates: P(K), residuals, Schur stability
//   lq_nash_start.cpp     the default stabilizing start (summed-cost DARE by doubling)
// `Work` holds the problem's scratch and the evaluations every method shares.
#pragma once

#include "gamesolve/lq_nash.hpp"

#include "small_gemm.hpp"

#include <Eigen/LU>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

namespace gamesolve::nash {

constexpr double kTiny = std::numeric_limits<double>::min();
using CMat = Eigen::MatrixXcd;

// Frobenius norm that neither overflows nor underflows (entries up to the largest
// double) and propagates NaN: the plain sqrt of the sum of squares when that sum is
// in range (the common case, one pass), else the sum of (x / max|x|)^2 rescaled.
template <class M>
double safe_norm(const M& X) {
  const double s2 = X.squaredNorm();
  if (s2 >= 1e-280 && s2 <= 1e280) return std::sqrt(s2);
  if (std::isnan(s2)) return s2;
  double mx = 0;
  for (Index j = 0; j < X.cols(); ++j)
    for (Index i = 0; i < X.rows(); ++i) {
      const double a = std::abs(X(i, j));
      if (std::isnan(a)) return a;
      mx = a > mx ? a : mx;
    }
  if (mx == 0.0 || std::isinf(mx)) return mx;
  double t = 0;
  for (Index j = 0; j < X.cols(); ++j)
    for (Index i = 0; i < X.rows(); ++i) {
      const double v = X(i, j) / mx;
      t += v * v;
    }
  return mx * std::sqrt(t);
}

// max(a, b) that propagates NaN (std::max(a, NaN) drops it).
inline double nan_max(double a, double b) { return (std::isnan(a) || std::isnan(b)) ? std::numeric_limits<double>::quiet_NaN() : (a < b ? b : a); }

// num / den for a relative residual: NaN if either is NaN or den is infinite
// (an overflowed scale certifies nothing), 0 for 0 / 0.
inline double rel_ratio(double num, double den) {
  if (std::isnan(num) || std::isnan(den) || std::isinf(den)) return std::numeric_limits<double>::quiet_NaN();
  if (std::isinf(num)) return num;
  return num == 0.0 ? 0.0 : num / std::max(den, kTiny);
}

// Symmetrize a square matrix in place (no temporaries).
template <class M>
void symmetrize(M& P) {
  for (Index j = 0; j < P.cols(); ++j)
    for (Index i = j + 1; i < P.rows(); ++i) {
      const double v = 0.5 * (P(i, j) + P(j, i));
      P(i, j) = v;
      P(j, i) = v;
    }
}

// --------------------------------------------------------- Riccati stage map
// P -> Phi(P) of the Riccati iteration: one stage (T = 1) of the finite-horizon
// coupled recursion ([theory §2], riccati.cpp) with terminal values P, run in the
// kernel's preallocated workspace. The stage gain K comes with it.
struct StageMap {
  RowMat A, B;                  // row-major copies (the kernel's layout)
  std::vector<double> Q, R, M;  // sym(Q^i); R^i, M^i row-major (S's rows are R^i's, as in build_SY)
  LQGameData g;
  LQWorkspace ws;
  SolveOptions so;
  std::vector<double> K, k, Z, zeta, s;
  std::vector<std::int32_t> status;
  LQSolutionView v;
  Index nz;  // N n^2

  explicit StageMap(const LQNashProblem& pb)
      : A(pb.A), B(pb.B), ws(pb.dims), nz(pb.dims.N * pb.dims.n * pb.dims.n) {
    const Index N = pb.dims.N, n = pb.dims.n, m = pb.dims.m;
    for (Index i = 0; i < N; ++i) {
      Mat Qi = pb.Q[i];
      symmetrize(Qi);  // Phi(P) exactly symmetric, as sym(Q + ...) before
      Q.insert(Q.end(), Qi.data(), Qi.data() + n * n);
      const RowMat Ri = pb.R[i];
      R.insert(R.end(), Ri.data(), Ri.data() + m * m);
      if (!pb.M.empty()) {
        const RowMat Mi = pb.M[i];
        M.insert(M.end(), Mi.data(), Mi.data() + m * n);
      }
    }
    g.dims = pb.dims;
    g.T = 1;
    g.A = {A.data(), n * n, 0, 0};
    g.B = {B.data(), n * m, 0, 0};
    g.Q = {Q.data(), N * n * n, 0, 0};
    g.R = {R.data(), N * m * m, 0, 0};
    if (!M.empty()) g.M = {M.data(), N * m * n, 0, 0};
    g.QT = {nullptr, nz, 0, 0};
    K.resize(m * n);
    k.resize(m);
    Z.resize(2 * nz);
    zeta.resize(2 * N * n);
    s.resize(2 * N);
    status.resize(1);
    v.K = {K.data(), m * n, m * n, 0};
    v.k = {k.data(), m, m, 0};
    v.Z = {Z.data(), 2 * nz, nz, 0};
    v.zeta = {zeta.data(), 2 * N * n, N * n, 0};
    v.s = {s.data(), 2 * N, N, 0};
    v.status = status.data();
    v.status_size = 1;
    so.rcond_tol = 1e-14;  // below: singular stage system (no min-norm answers here)
  }

  // Phi(P) into values() (N stacked symmetric n x n blocks, P likewise), Kout its
  // gain. Returns -1, or kNashNonFinite / kNashSingular (the stage system is
  // singular or ill-conditioned).
  int apply(const double* P, Mat& Kout) {
    g.QT.data = P;
    const SolveReport rep = solve_lq_stage(g, 0, v, ws, so);
    if (rep.nonfinite_stages > 0) return kNashNonFinite;
    if (rep.min_norm_stages > 0) return kNashSingular;
    Kout = CMapRow(K.data(), g.dims.m, g.dims.n);
    return -1;
  }
  const double* values() const { return Z.data(); }
};

// The n x n block of a zero-padded column-major matrix (leading dimension pn,
// rows n..pn-1 zero; small_gemm.hpp's operand layout).
using PaddedView = Eigen::Map<Mat, 0, Eigen::OuterStride<>>;
inline PaddedView padded_view(double* p, Index n, Index pn) { return PaddedView(p, n, n, Eigen::OuterStride<>(pn)); }

// ---------------------------------------------------------------- workspace
struct Work {
  const LQNashProblem& pb;
  Index N, n, m;
  SteinSolver stein;
  Mat AK, S, Y, Kn, C, tmp_nn, tmp_mn, BtP;
  Vec pad;  // evaluate's padded matrices
  bool schur_valid = false;
  /// Condition estimate of the Stein operator X -> X - A_K'X A_K of the last
  /// evaluation: ~ sum_t ||A_K^t||^2, from the squarings that proved stability
  /// (p = 2^k with ||A_K^p||_F^2 <= 1e-18: sum ~ p / 20), or 1 / (1 - rho^2) from
  /// the Schur form.
  double kappa = 1.0;
  Eigen::PartialPivLU<Mat> lu;
  std::unique_ptr<StageMap> riccati;  // built on first use
  explicit Work(const LQNashProblem& p)
      : pb(p), N(p.dims.N), n(p.dims.n), m(p.dims.m), stein(p.dims.n), AK(n, n), S(m, m),
        Y(m, n), Kn(m, n), C(n, n), tmp_nn(n, n), tmp_mn(m, n), BtP(m, n), lu(m) {}

  bool has_M() const { return !pb.M.empty(); }
  StageMap& stage_map() {
    if (!riccati) riccati = std::make_unique<StageMap>(pb);
    return *riccati;
  }

  // C = Q^i + K'R^i K - K'M^i - M^i'K
  void stage_cost(Index i, const Mat& K, Mat& out) {
    tmp_mn.noalias() = pb.R[i] * K;
    out = pb.Q[i];
    out.noalias() += K.transpose() * tmp_mn;
    if (has_M()) {
      tmp_nn.noalias() = K.transpose() * pb.M[i];
      out -= tmp_nn + tmp_nn.transpose();
    }
  }

  // P^i(K) by squared Smith doubling, X <- X + A_k' X A_k, A_k <- A_k^2, which
  // needs only matrix products and stops once ||A_k||_F^2 <= 1e-18 (so the
  // neglected tail is below round-off and rho(A_K) < 1 is certified). Falls back
  // to the Schur solver when the doubling does not settle in 20 squarings (rho
  // near 1, strong non-normality) -- which also decides stability exactly.
  // Returns false if A_K is not Schur stable. The products run on zero-padded
  // copies (rows padded to 8, small_gemm.hpp), A_k' kept alongside A_k.
  bool evaluate(const Mat& K, std::vector<Mat>& P) {
    AK = pb.A;
    AK.noalias() -= pb.B * K;
    if (!AK.allFinite()) return false;
    schur_valid = false;
    const Index pn = detail::padded(n), sz = pn * n;
    if (pad.size() != (N + 4) * sz) pad.setZero((N + 4) * sz);
    if (pn > n)  // padded rows must be zero (an overflow in an earlier call can leave 0 * inf there)
      for (Index c = 0; c < (N + 4) * n; ++c)
        for (Index r = n; r < pn; ++r) pad[c * pn + r] = 0.0;
    double* Ap = pad.data();
    double* At = Ap + sz;
    double* T = At + sz;
    double* U = T + sz;
    double* Pp = U + sz;
    padded_view(Ap, n, pn) = AK;
    padded_view(At, n, pn) = AK.transpose();
    for (Index i = 0; i < N; ++i) {
      stage_cost(i, K, C);
      padded_view(Pp + i * sz, n, pn) = C;
    }
    for (int k = 0; k < 20; ++k) {
      const double a2 = padded_view(Ap, n, pn).squaredNorm();
      if (!(a2 < 1e30)) break;
      if (a2 <= 1e-18) {
        kappa = std::max(1.0, std::ldexp(1.0, k) / 20.0);
        for (Index i = 0; i < N; ++i) {
          P[i] = padded_view(Pp + i * sz, n, pn);
          symmetrize(P[i]);
        }
        return true;
      }
      for (Index i = 0; i < N; ++i) {  // P^i += A_k' (P^i A_k)
        double* Pi = Pp + i * sz;
        detail::gemm(U, pn, Pi, pn, Ap, 1, pn, pn, n, n, 1.0, false);
        detail::gemm(Pi, pn, At, pn, U, 1, pn, pn, n, n, 1.0, true);
      }
      detail::gemm(T, pn, Ap, pn, Ap, 1, pn, pn, n, n, 1.0, false);  // A_k^2
      std::swap(T, Ap);
      detail::gemm(T, pn, At, pn, At, 1, pn, pn, n, n, 1.0, false);  // (A_k^2)' = A_k' A_k'
      std::swap(T, At);
    }
    return evaluate_schur(K, P);
  }

  // P^i(K) by the Schur (Bartels-Stewart) solver; leaves the factorization of
  // A_K in `stein` (Newton needs it).
  bool evaluate_schur(const Mat& K, std::vector<Mat>& P) {
    AK = pb.A;
    AK.noalias() -= pb.B * K;
    schur_valid = false;
    if (!AK.allFinite() || !stein.factor(AK) || !(stein.spectral_radius() < 1.0)) return false;
    schur_valid = true;
    const double rho = stein.spectral_radius();
    kappa = 1.0 / std::max(1.0 - rho * rho, 1e-300);
    for (Index i = 0; i < N; ++i) {
      stage_cost(i, K, C);
      stein.solve(C, P[i]);
    }
    return true;
  }

  // Stacked S, Y of [theory §2, §3] from P.
  void build_SY(const std::vector<Mat>& P) {
    build_SY([&](Index i) -> const Mat& { return P[i]; });
  }
  // The same with P^i = Pi(i) (a matrix or a map).
  template <class GetP>
  void build_SY(GetP Pi) {
    for (Index i = 0; i < N; ++i) {
      const Index o = pb.dims.off[i], mi = pb.dims.m_i[i];
      BtP.middleRows(o, mi).noalias() = pb.B.middleCols(o, mi).transpose() * Pi(i);
    }
    S.noalias() = BtP * pb.B;
    Y.noalias() = BtP * pb.A;
    for (Index i = 0; i < N; ++i) {
      const Index o = pb.dims.off[i], mi = pb.dims.m_i[i];
      S.middleRows(o, mi) += pb.R[i].middleRows(o, mi);
      if (has_M()) Y.middleRows(o, mi) += pb.M[i].middleRows(o, mi);
    }
  }

  // 1-norm condition estimate of the stacked S last built (>= 1; inf if singular).
  double cond_S() {
    lu.compute(S);
    const double rc = lu.rcond();
    return rc > 0.0 ? std::max(1.0, 1.0 / rc) : std::numeric_limits<double>::infinity();
  }

  // K <- S^{-1} Y; false if S is (numerically) singular.
  bool solve_K(Mat& K) {
    lu.compute(S);
    const double rc = lu.rcond();
    if (!(rc > 1e-14)) return false;
    K.noalias() = lu.solve(Y);
    return K.allFinite();
  }

  // Relative residual of the K-equation at (K, P): ||S K - Y|| / max(||Y||, ||S K||),
  // NaN-propagating and overflow-safe (safe_norm, rel_ratio).
  double res_K(const Mat& K, const std::vector<Mat>& P) {
    build_SY(P);
    tmp_mn.noalias() = S * K;
    const double sk = safe_norm(tmp_mn);
    tmp_mn -= Y;
    return rel_ratio(safe_norm(tmp_mn), nan_max(safe_norm(Y), sk));
  }

  // Relative residual of the P-equations at (K, P) (A_K must be current):
  // max_i ||Q^i + ... + A_K'P^i A_K - P^i|| / ||P^i||, NaN-propagating.
  double res_P(const Mat& K, const std::vector<Mat>& P) {
    double r = 0;
    for (Index i = 0; i < N; ++i) {
      stage_cost(i, K, C);
      tmp_nn.noalias() = P[i] * AK;
      C.noalias() += AK.transpose() * tmp_nn;
      C -= P[i];
      r = nan_max(r, rel_ratio(safe_norm(C), safe_norm(P[i])));
    }
    return r;
  }
};

struct StageOut {
  Mat K;
  std::vector<Mat> P;  ///< value matrices paired with K (empty: not available)
  int iterations = 0;
  int status = kNashMaxIter;
  double residual = std::numeric_limits<double>::infinity();
};

// Progress monitor shared by the iterations: stall (no halving of the best
// residual within `window` iterations) and divergence.
struct Monitor {
  double best = std::numeric_limits<double>::infinity();
  int best_it = 0, window;
  explicit Monitor(int w) : window(w) {}
  // Returns a status if the iteration should stop for lack of progress, else -1.
  int update(double r, int it) {
    if (!std::isfinite(r)) return kNashNonFinite;
    if (r < 0.5 * best) { best = r; best_it = it; }
    else if (r < best) best = r;
    if (r > 1e12 * std::max(best, 1e-300) && r > 1e6) return kNashStalled;
    if (it - best_it >= window) return kNashStalled;
    return -1;
  }
};

// ------------------------------------------------------------ the iterations
// Each runs from its start to `target` (its own convergence measure) or a stop
// (status), appending its per-iteration measure to `hist`.

/// Riccati iteration from the values P0 (Anderson-accelerated if `accelerate`).
StageOut riccati_stage(Work& w, const std::vector<Mat>& P0, double target, int max_iter,
                       bool accelerate, const LQNashOptions& o, std::vector<double>& hist);

/// Lyapunov iteration from the gain K0 (Anderson-accelerated if `accelerate`).
StageOut lyapunov_stage(Work& w, const Mat& K0, double target, int max_iter, bool accelerate,
                        const LQNashOptions& o, std::vector<double>& hist);

/// F(K) = S K - Y and, if J != nullptr, its Jacobian (row-major vec) at K (see
/// lq_nash_newton.cpp).
void newton_system(Work& w, const Mat& K, const std::vector<Mat>& P, Mat& F, Mat* J);

/// Newton's method with a stability-keeping backtracking line search from K0.
StageOut newton_stage(Work& w, const Mat& K0, double target, int max_iter, std::vector<double>& hist,
                      bool* stable_start = nullptr);

// ----------------------------------------------------------- certificates
/// Certify K: P = P(K), both residuals, spectral radius; true if residual <= tol.
bool certify(Work& w, const Mat& K, LQNashResult& res, double tol);
/// Certify an iterate pair (K, P) (see lq_nash_certify.cpp); true (and res filled) if it certifies.
bool certify_pair(Work& w, const Mat& K, const std::vector<Mat>& P, LQNashResult& res, double tol);
/// Schur stability of A (see lq_nash_certify.cpp); kappa (if given): the
/// condition estimate of its Stein operator (as Work::kappa).
bool is_schur_stable(const Mat& A, double* kappa = nullptr);
/// The certified part of a result: K, P, the residuals and the spectral radius.
void copy_certificate(const LQNashResult& from, LQNashResult& to);

/// Throws std::invalid_argument unless the problem's matrices have the sizes of its
/// dims and K is m x n (`who` names the entry point).
void check_sizes(const char* who, const LQNashProblem& pb, const Mat& K);

/// The default start's candidate gains (see lq_nash_start.cpp): variant 0..kStartVariants-1.
constexpr int kStartVariants = 4;
bool start_gain(const LQNashProblem& pb, Mat& K0, int variant);
/// The name of a start variant ("zero", "summed-cost LQR", ...).
const char* start_name(int variant);

}  // namespace gamesolve::nash
