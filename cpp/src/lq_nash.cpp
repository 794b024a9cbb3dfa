// Infinite-horizon LQ Nash: Lyapunov, Riccati and Newton iterations, Anderson
// acceleration and the Auto strategy. See lq_nash.hpp for the equations.
#include "gamesolve/lq_nash.hpp"
#include "gamesolve/validate.hpp"

#include "small_gemm.hpp"
#include "small_solve.hpp"

#include <Eigen/Cholesky>
#include <Eigen/LU>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <stdexcept>

namespace gamesolve {
namespace {

constexpr double kTiny = std::numeric_limits<double>::min();
using CMat = Eigen::MatrixXcd;

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

// ------------------------------------------------------- Riccati stage map
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

using detail::dot2;
using detail::hsum;
using detail::kW;
using detail::loadv;
using detail::storev;
using detail::vd;

// The n x n block of a zero-padded column-major matrix (leading dimension pn,
// rows n..pn-1 zero; small_gemm.hpp's operand layout).
using PaddedView = Eigen::Map<Mat, 0, Eigen::OuterStride<>>;
inline PaddedView padded_view(double* p, Index n, Index pn) { return PaddedView(p, n, n, Eigen::OuterStride<>(pn)); }

// Symmetric value matrices as vectors for the Riccati iteration: block by block
// the upper triangle by columns, the off-diagonal entries scaled by sqrt(2), so
// that the Euclidean inner product of two packed vectors is the Frobenius inner
// product of the matrices, at about half their length. (The scaling and its
// inverse round, by at most an ulp of an entry per round trip.)
struct SymPack {
  Index N, n, L, Lp;
  SymPack(Index N_, Index n_) : N(N_), n(n_), L(N_ * n_ * (n_ + 1) / 2), Lp(detail::padded(L)) {}
  static constexpr double kS = 1.4142135623730950488, kIS = 0.70710678118654752440;
  void pack(const double* __restrict full, double* __restrict v) const {  // full: N column-major n x n blocks
    for (Index i = 0; i < N; ++i, full += n * n)
      for (Index c = 0; c < n; ++c) {
        const double* __restrict fc = full + c * n;
        for (Index r = 0; r < c; ++r) v[r] = kS * fc[r];
        v[c] = fc[c];
        v += c + 1;
      }
  }
  void unpack(const double* __restrict v, double* __restrict full) const {
    for (Index i = 0; i < N; ++i, full += n * n)
      for (Index c = 0; c < n; ++c) {
        double* __restrict fc = full + c * n;
        for (Index r = 0; r < c; ++r) fc[r] = full[c + r * n] = kIS * v[r];
        fc[c] = v[c];
        v += c + 1;
      }
  }
};

// ---------------------------------------------------------------- workspace
struct Work {
  const LQNashProblem& pb;
  Index N, n, m;
  SteinSolver stein;
  Mat AK, S, Y, Kn, C, tmp_nn, tmp_mn, BtP;
  Vec pad;  // evaluate's padded matrices
  bool schur_valid = false;
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

  // K <- S^{-1} Y; false if S is (numerically) singular.
  bool solve_K(Mat& K) {
    lu.compute(S);
    const double rc = lu.rcond();
    if (!(rc > 1e-14)) return false;
    K.noalias() = lu.solve(Y);
    return K.allFinite();
  }

  // Relative residual of the K-equation at (K, P).
  double res_K(const Mat& K, const std::vector<Mat>& P) {
    build_SY(P);
    tmp_mn.noalias() = S * K;
    const double num = (tmp_mn - Y).norm();
    const double den = std::max({Y.norm(), tmp_mn.norm(), kTiny});
    return num / den;
  }

  // Relative residual of the P-equations at (K, P) (A_K must be current).
  double res_P(const Mat& K, const std::vector<Mat>& P) {
    double r = 0;
    for (Index i = 0; i < N; ++i) {
      stage_cost(i, K, C);
      tmp_nn.noalias() = P[i] * AK;
      C.noalias() += AK.transpose() * tmp_nn;
      r = std::max(r, (C - P[i]).norm() / std::max(P[i].norm(), kTiny));
    }
    return r;
  }
};

// --------------------------------------------------------- Anderson mixing
// Type-II Anderson acceleration of x <- g(x) with depth d (circular history of
// differences, least squares by regularized normal equations). The Gram matrix
// dF'dF is kept up to date column by column (one new column per step). Iterates
// have padded length Lp (a multiple of 8), zero beyond the logical length.
struct Anderson {
  Index Lp, d, count = 0, head = 0;
  Mat dF, dG, H, Hk;
  Vec f_prev, g_prev, gamma, rhs, chol;
  Eigen::LDLT<Mat> ldlt;
  Anderson(Index padded_len, Index depth)
      : Lp(padded_len), d(depth), dF(Mat::Zero(padded_len, depth)), dG(Mat::Zero(padded_len, depth)),
        H(depth, depth), Hk(depth, depth), f_prev(Vec::Zero(padded_len)), g_prev(Vec::Zero(padded_len)),
        gamma(depth), rhs(depth), chol(depth * depth), ldlt(depth) {}
  void reset() { count = 0; head = 0; }
  // After a failed evaluation of g at an extrapolated x: restart from the last
  // plain iterate g_prev if there is one (returns false otherwise).
  bool restart_plain(Vec& x) {
    if (d == 0 || count <= 1) return false;
    reset();
    x = g_prev;
    return true;
  }
  // Given x, g = g(x) and f = g - x (length Lp), overwrite x with the next
  // iterate (the first step is plain).
  void step(Vec& x, const Vec& g, const Vec& f) {
    if (d == 0) { x = g; return; }
    const Index k = std::min<Index>(count, d);  // history columns after this step
    double* __restrict fp = f_prev.data();
    double* __restrict gp = g_prev.data();
    const double* __restrict fv = f.data();
    const double* __restrict gv = g.data();
    if (count > 0) {
      double* __restrict df = dF.col(head).data();
      double* __restrict dg = dG.col(head).data();
      for (Index i = 0; i < Lp; i += kW) {
        const vd fi = loadv(fv + i), gi = loadv(gv + i);
        storev(df + i, fi - loadv(fp + i));
        storev(dg + i, gi - loadv(gp + i));
        storev(fp + i, fi);
        storev(gp + i, gi);
      }
      // The new column's inner products with every history column, and every
      // column's with f (one pass per column).
      for (Index j = 0; j < k; ++j) {
        double hj, rj;
        dot2(dF.col(j).data(), df, fv, Lp, hj, rj);
        H(j, head) = H(head, j) = hj;
        rhs(j) = rj;
      }
      head = (head + 1) % d;
    } else {
      for (Index i = 0; i < Lp; i += kW) {
        storev(fp + i, loadv(fv + i));
        storev(gp + i, loadv(gv + i));
      }
    }
    ++count;
    if (k == 0) { x = g; return; }
    double tr = 0.0;
    for (Index j = 0; j < k; ++j) tr += H(j, j);
    const double reg = 1e-13 * std::max(tr, kTiny);
    if (!cholesky_solve(k, reg)) {  // not numerically positive definite: the pivoting LDLT
      auto Hkk = Hk.topLeftCorner(k, k);
      Hkk = H.topLeftCorner(k, k);
      Hkk.diagonal().array() += reg;
      ldlt.compute(Hkk);
      gamma.head(k) = ldlt.solve(rhs.head(k));
    }
    for (Index j = 0; j < k; ++j)
      if (!std::isfinite(gamma(j))) { x = g; reset(); return; }
    // x = g - dG gamma, one pass
    double* __restrict xv = x.data();
    const double* __restrict G0 = dG.data();
    for (Index i = 0; i < Lp; i += kW) {
      vd acc = loadv(gv + i);
      for (Index j = 0; j < k; ++j) acc -= gamma(j) * loadv(G0 + j * Lp + i);
      storev(xv + i, acc);
    }
  }

  // gamma = (H_k + reg I)^{-1} rhs (leading k x k block, k <= d <= a few) by an unpivoted
  // Cholesky factorization (a fraction of the dynamic-size LDLT's overhead); false
  // if a pivot is not positive, and then the caller uses the pivoting LDLT.
  bool cholesky_solve(Index k, double reg) {
    double* Lc = chol.data();  // Lc[i + j * d]: the lower triangle
    for (Index j = 0; j < k; ++j) {
      double sjj = H(j, j) + reg;
      for (Index p = 0; p < j; ++p) sjj -= Lc[j + p * d] * Lc[j + p * d];
      if (!(sjj > 0.0)) return false;
      const double ljj = std::sqrt(sjj);
      Lc[j + j * d] = ljj;
      for (Index i = j + 1; i < k; ++i) {
        double sij = H(i, j);
        for (Index p = 0; p < j; ++p) sij -= Lc[i + p * d] * Lc[j + p * d];
        Lc[i + j * d] = sij / ljj;
      }
    }
    for (Index i = 0; i < k; ++i) {  // L y = rhs (y in gamma)
      double t = rhs(i);
      for (Index p = 0; p < i; ++p) t -= Lc[i + p * d] * gamma(p);
      gamma(i) = t / Lc[i + i * d];
    }
    for (Index i = k - 1; i >= 0; --i) {  // L' gamma = y
      double t = gamma(i);
      for (Index p = i + 1; p < k; ++p) t -= Lc[p + i * d] * gamma(p);
      gamma(i) = t / Lc[i + i * d];
    }
    return true;
  }
};

// N stacked n x n blocks of a vector as matrices.
void unpack(const Vec& v, std::vector<Mat>& P, Index n) {
  P.resize(v.size() / (n * n));
  for (size_t i = 0; i < P.size(); ++i) P[i] = Eigen::Map<const Mat>(v.data() + i * n * n, n, n);
}

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

// ------------------------------------------------------------ Riccati stage
// The iterate x packs the N value matrices (SymPack); its residual is
// ||Phi(P) - P||_F / ||Phi(P)||_F (all matrices stacked).
StageOut riccati_stage(Work& w, const std::vector<Mat>& P0, double target, int max_iter,
                       bool accelerate, const LQNashOptions& o, std::vector<double>& hist) {
  const Index N = w.N, n = w.n, n2 = n * n;
  StageMap& map = w.stage_map();
  const SymPack sp(N, n);
  StageOut out;
  out.K = Mat::Zero(w.m, n);
  Vec x = Vec::Zero(sp.Lp), g = Vec::Zero(sp.Lp), f = Vec::Zero(sp.Lp), gbest = Vec::Zero(sp.Lp), full(N * n2);
  for (Index i = 0; i < N; ++i) full.segment(i * n2, n2) = Eigen::Map<const Vec>(P0[i].data(), n2);
  sp.pack(full.data(), x.data());
  Anderson aa(sp.Lp, accelerate ? o.anderson_depth : 0);
  Monitor mon(o.stall_window);
  double best = std::numeric_limits<double>::infinity();
  Mat Kbest = out.K;
  auto finish = [&](int status, bool current) {
    out.status = status;
    if (!current) out.K = Kbest;
    if (std::isfinite(best)) {
      sp.unpack((current ? g : gbest).data(), full.data());
      unpack(full, out.P, n);
    }
    return out;
  };
  for (int it = 1; it <= max_iter; ++it) {
    sp.unpack(x.data(), full.data());
    const int fail = map.apply(full.data(), out.K);
    if (fail >= 0) {
      if (accelerate && aa.restart_plain(x)) continue;
      out.iterations = it;
      return finish(fail, false);
    }
    sp.pack(map.values(), g.data());
    double ff, gg;  // ||f||^2, ||g||^2 with f = g - x, one pass
    {
      const double* __restrict gv = g.data();
      const double* __restrict xv = x.data();
      double* __restrict fv = f.data();
      vd sf{}, sg{};
      for (Index i = 0; i < sp.Lp; i += kW) {
        const vd gi = loadv(gv + i), fi = gi - loadv(xv + i);
        storev(fv + i, fi);
        sf += fi * fi;
        sg += gi * gi;
      }
      ff = hsum(sf);
      gg = hsum(sg);
    }
    const double r = std::sqrt(ff) / std::max(std::sqrt(gg), kTiny);
    hist.push_back(r);
    out.iterations = it;
    out.residual = r;
    if (r <= target) {
      best = std::min(best, r);
      return finish(kNashConverged, true);
    }
    if (r < best) { best = r; Kbest = out.K; gbest = g; }
    const int s = mon.update(r, it);
    if (s >= 0) return finish(s, false);
    if (accelerate && r > 1e3 * best) aa.reset();
    aa.step(x, g, f);
    if (!all_finite(x.data(), x.size())) { aa.reset(); x = g; }
  }
  return finish(kNashMaxIter, false);
}

// ----------------------------------------------------------- Lyapunov stage
StageOut lyapunov_stage(Work& w, const Mat& K0, double target, int max_iter, bool accelerate,
                        const LQNashOptions& o, std::vector<double>& hist) {
  const Index m = w.m, n = w.n;
  std::vector<Mat> P(w.N, Mat(n, n));
  StageOut out;
  out.K = K0;
  Mat K = K0, Kn(m, n);
  const Index Lp = detail::padded(m * n);  // Anderson's padded length (zeros beyond m n)
  Vec x = Vec::Zero(Lp), g = Vec::Zero(Lp), f(Lp);
  x.head(m * n) = Eigen::Map<const Vec>(K.data(), m * n);
  Anderson aa(Lp, accelerate ? o.anderson_depth : 0);
  Monitor mon(o.stall_window);
  double best = std::numeric_limits<double>::infinity();
  for (int it = 1; it <= max_iter; ++it) {
    K = Eigen::Map<const Mat>(x.data(), m, n);
    if (!w.evaluate(K, P)) {
      if (accelerate && aa.restart_plain(x)) continue;  // the extrapolated K lost stability
      out.status = kNashLostStability;
      out.iterations = it;
      return out;
    }
    w.build_SY(P);
    if (!w.solve_K(Kn)) { out.status = kNashSingular; out.iterations = it; return out; }
    g.head(m * n) = Eigen::Map<const Vec>(Kn.data(), m * n);
    const double r = (g - x).norm() / std::max(g.norm(), 1.0);
    hist.push_back(r);
    out.iterations = it;
    out.residual = r;
    if (r < best) { best = r; out.K = K; }
    if (r <= target) { out.status = kNashConverged; out.K = Kn; out.P = P; return out; }
    const int s = mon.update(r, it);
    if (s >= 0) { out.status = s; return out; }
    f = g - x;
    aa.step(x, g, f);
    if (!all_finite(x.data(), x.size())) { aa.reset(); x = g; }
  }
  out.status = kNashMaxIter;
  return out;
}

// ------------------------------------------------------------------ Newton
// F(K) and, if J != nullptr, its Jacobian at K; requires w.evaluate_schur(K, P)
// (the Schur form of A_K). The Jacobian is assembled by rows, from adjoint Stein
// equations: for player i's output entry (r, c) (global row o = off_i + r),
//     e_r'B^i' dP^i A_K e_c = <dP^i, b_o a_c'>,  b_o = B e_o, a_c = A_K e_c,
// and with dP^i = L^{-1}(dK'G^i + G^i'dK), L(X) = X - A_K'X A_K,
//     <L^{-1}(C), W> = <C, Y>,  Y = A_K Y A_K' + W   (the adjoint equation),
//     <dK'G^i + G^i'dK, Y> = <dK, G^i (Y + Y')>,
// so row (o, c) of J is vec(S_o dK e_c) - vec(G^i (Y + Y')) with W = b_o a_c'.
// That is m n adjoint solves (one per row), against N m n forward solves by
// columns. In the Schur basis A_K = U T U^*: W~ = U^*W U = (U^*b_o)(U^*a_c)^*,
// Y = U Y~ U^*, and G^i (Y + Y') = (G^i U)(Y~ + Y~^*) U^*.
void newton_system(Work& w, const Mat& K, const std::vector<Mat>& P, Mat& F, Mat* J) {
  const Index N = w.N, n = w.n, m = w.m;
  w.build_SY(P);
  F.noalias() = w.S * K;
  F -= w.Y;
  if (!J) return;
  using Cx = std::complex<double>;
  const CMat& U = w.stein.U();
  const CMat Ub = U.adjoint() * w.pb.B.cast<Cx>();  // U^* b_o, column o
  const CMat Ua = U.adjoint() * w.AK.cast<Cx>();    // U^* a_c, column c
  const CMat Uh = U.adjoint();
  J->setZero(m * n, m * n);
  CMat Yt(n, n), Hy(n, n), GY(m, n), GYU(m, n), GU(m, n);
  Mat G(m, n);
  for (Index i = 0; i < N; ++i) {
    G.noalias() = w.pb.R[i] * K;
    if (w.has_M()) G -= w.pb.M[i];
    G.noalias() -= w.pb.B.transpose() * (P[i] * w.AK);
    GU.noalias() = G.cast<Cx>() * U;
    const Index o0 = w.pb.dims.off[i], mi = w.pb.dims.m_i[i];
    for (Index o = o0; o < o0 + mi; ++o)
      for (Index c = 0; c < n; ++c) {
        Yt.noalias() = Ub.col(o) * Ua.col(c).adjoint();
        w.stein.solve_schur_adjoint(Yt);
        Hy = Yt + Yt.adjoint();
        GY.noalias() = GU * Hy;
        GYU.noalias() = GY * Uh;
        const Index row = o * n + c;
        for (Index a = 0; a < m; ++a)
          for (Index b = 0; b < n; ++b) (*J)(row, a * n + b) = -GYU(a, b).real();
        for (Index a = 0; a < m; ++a) (*J)(row, a * n + c) += w.S(o, a);  // (S dK)(o, c)
      }
  }
}

StageOut newton_stage(Work& w, const Mat& K0, double target, int max_iter, std::vector<double>& hist,
                      bool* stable_start = nullptr) {
  const Index m = w.m, n = w.n;
  std::vector<Mat> P(w.N, Mat(n, n)), Pt(w.N, Mat(n, n));
  StageOut out;
  out.K = K0;
  Mat K = K0, F(m, n), Ft(m, n), J, Kt(m, n);
  if (!w.evaluate_schur(K, P)) {
    if (stable_start) *stable_start = false;
    out.status = kNashBadStart;
    return out;
  }
  if (stable_start) *stable_start = true;
  newton_system(w, K, P, F, nullptr);
  double fn = F.norm();
  auto rel = [&](double f) { return f / std::max({w.Y.norm(), (w.S * K).norm(), kTiny}); };
  double r = rel(fn);
  Eigen::PartialPivLU<Mat> lu;
  for (int it = 1; it <= max_iter; ++it) {
    if (r <= target) { out.status = kNashConverged; out.K = K; out.residual = r; return out; }
    if (!w.schur_valid) w.evaluate_schur(K, P);
    newton_system(w, K, P, F, &J);
    lu.compute(J);
    if (!(lu.rcond() > 1e-15)) { out.status = kNashSingular; out.iterations = it; out.residual = r; out.K = K; return out; }
    Vec rhs(m * n);  // row-major vec of -F
    for (Index a = 0; a < m; ++a)
      for (Index b = 0; b < n; ++b) rhs(a * n + b) = -F(a, b);
    Vec dk = lu.solve(rhs);
    double alpha = 1.0;
    bool accepted = false;
    for (int ls = 0; ls < 30; ++ls, alpha *= 0.5) {
      for (Index a = 0; a < m; ++a)
        for (Index b = 0; b < n; ++b) Kt(a, b) = K(a, b) + alpha * dk(a * n + b);
      if (!w.evaluate(Kt, Pt)) continue;
      newton_system(w, Kt, Pt, Ft, nullptr);
      const double ft = Ft.norm();
      if (std::isfinite(ft) && ft <= (1.0 - 1e-4 * alpha) * fn) {
        K = Kt; P = Pt; F = Ft; fn = ft; accepted = true;
        break;
      }
    }
    out.iterations = it;
    if (!accepted) {
      w.evaluate_schur(K, P);
      newton_system(w, K, P, F, nullptr);
      out.status = kNashStalled; out.K = K; out.residual = r;
      hist.push_back(r);
      return out;
    }
    r = rel(fn);
    hist.push_back(r);
  }
  out.K = K;
  out.residual = r;
  out.status = r <= target ? kNashConverged : kNashMaxIter;
  return out;
}

// Certify K: P = P(K), both residuals, spectral radius.
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
  res.residual = std::max(res.res_K, res.res_P);
  return res.residual <= tol;
}

// Schur stability of A by repeated squaring, p = 2^k: ||A^p||_F^2 <= 1e-18
// proves rho(A) < 1 (rho^p <= ||A^p||), |tr A^p| >= n proves rho(A) >= 1
// (|tr A^p| = |sum lambda^p| <= n rho^p). The Schur form is the referee when
// neither bound decides.
bool is_schur_stable(const Mat& A) {
  if (!A.allFinite()) return false;
  Mat Ak = A, T(A.rows(), A.cols());
  const double n = double(A.rows());
  for (int k = 0; k < 20; ++k) {
    const double a2 = Ak.squaredNorm();
    if (!(a2 < 1e30)) break;
    if (a2 <= 1e-18) return true;
    if (std::abs(Ak.trace()) >= n) return false;
    T.noalias() = Ak * Ak;
    Ak.swap(T);
  }
  SteinSolver st(A.rows());
  return A.allFinite() && st.factor(A) && st.spectral_radius() < 1.0;
}

// Certify an iterate pair (K, P): residuals of both equations at (K, P) and
// Schur stability of A_K by squaring. Cheaper than `certify` (no Stein solve).
bool certify_pair(Work& w, const Mat& K, const std::vector<Mat>& P, LQNashResult& res, double tol) {
  if (P.empty() || !K.allFinite()) return false;
  w.AK = w.pb.A;
  w.AK.noalias() -= w.pb.B * K;
  const double rp = w.res_P(K, P), rk = w.res_K(K, P);
  if (!(std::max(rp, rk) <= tol) || !is_schur_stable(w.AK)) return false;
  res.K = K;
  res.P = P;
  res.res_P = rp;
  res.res_K = rk;
  res.residual = std::max(rp, rk);
  res.spectral_radius = -1.0;
  return true;
}

// The certified part of a result: K, P, the residuals and the spectral radius.
void copy_certificate(const LQNashResult& from, LQNashResult& to) {
  to.K = from.K;
  to.P = from.P;
  to.res_K = from.res_K;
  to.res_P = from.res_P;
  to.residual = from.residual;
  to.spectral_radius = from.spectral_radius;
}

const char* method_name(NashMethod m, bool acc) {
  switch (m) {
    case NashMethod::Lyapunov: return acc ? "lyapunov+anderson" : "lyapunov";
    case NashMethod::Riccati: return acc ? "riccati+anderson" : "riccati";
    case NashMethod::Newton: return "newton";
    default: return "auto";
  }
}

}  // namespace

// ------------------------------------------------------------------ public
LQNashProblem make_lq_nash_problem(Index n, const std::vector<Index>& control_dims, const double* A,
                                   const double* B, const double* Q, const double* R, const double* M) {
  LQNashProblem pb;
  pb.dims = Dims(n, control_dims);
  const Index N = pb.dims.N, m = pb.dims.m;
  if (!A || !B || !Q || !R) throw std::invalid_argument("lq_nash: A, B, Q and R are required");
  pb.A = CMapRow(A, n, n);
  pb.B = CMapRow(B, n, m);
  for (Index i = 0; i < N; ++i) {
    pb.Q.push_back(CMapRow(Q + i * n * n, n, n));
    pb.R.push_back(CMapRow(R + i * m * m, m, m));
    if (M) pb.M.push_back(CMapRow(M + i * m * n, m, n));
  }
  return pb;
}

LQNashProblem guided_problem(const LQNashProblem& pb, const Mat& Kg, double rho) {
  const Index N = pb.dims.N, n = pb.dims.n, m = pb.dims.m;
  if (Kg.rows() != m || Kg.cols() != n)
    throw std::invalid_argument("guided_problem: K_guide must be " + std::to_string(m) + " x " + std::to_string(n));
  if (!pb.M.empty()) throw std::invalid_argument("guided_problem: the game already has cross terms M");
  if (!(std::isfinite(rho) && rho >= 0.0)) throw std::invalid_argument("guided_problem: rho must be finite and >= 0");
  LQNashProblem g = pb;
  g.M.assign(static_cast<std::size_t>(N), Mat::Zero(m, n));
  for (Index i = 0; i < N; ++i) {
    const Index o = pb.dims.off[i], mi = pb.dims.m_i[i];
    const Mat Rii = pb.R[i].block(o, o, mi, mi);
    const Mat RK = Rii * Kg.middleRows(o, mi);  // R^{ii} Kg^i
    g.R[i].block(o, o, mi, mi) = (1.0 + rho) * Rii;
    Mat KRK = Kg.middleRows(o, mi).transpose() * RK;
    symmetrize(KRK);
    g.Q[i] += rho * KRK;
    g.M[i].middleRows(o, mi) = rho * RK;
  }
  return g;
}

bool lq_policy_value(const LQNashProblem& pb, const Mat& K, std::vector<Mat>& P, double* rho) {
  Work w(pb);
  std::vector<Mat> Pt(w.N, Mat(w.n, w.n));
  const bool ok = w.evaluate(K, Pt);
  if (rho) *rho = w.schur_valid ? w.stein.spectral_radius() : (ok ? -1.0 : std::numeric_limits<double>::infinity());
  if (ok) P = Pt;
  return ok;
}

bool lq_nash_jacobian(const LQNashProblem& pb, const Mat& K, Mat& J, Mat* F) {
  Work w(pb);
  std::vector<Mat> P(w.N, Mat(w.n, w.n));
  if (!w.evaluate_schur(K, P)) return false;
  Mat Ft(w.m, w.n);
  newton_system(w, K, P, Ft, &J);
  if (F) *F = Ft;
  return true;
}

namespace {
// The default start's gain (0 for a Schur-stable A, else the summed-cost LQR
// gain) without the final stability check: lq_nash checks it by evaluating
// P(K0), which proves stability by the same squarings. False if no gain results.
bool start_gain(const LQNashProblem& pb, Mat& K0) {
  const Index n = pb.dims.n, m = pb.dims.m, N = pb.dims.N;
  K0 = Mat::Zero(m, n);
  if (is_schur_stable(pb.A)) return true;
  // Summed costs: Qs, Rs (joint sum, or block-diagonal own blocks if not PD), Ms.
  Mat Qs = Mat::Zero(n, n), Rs = Mat::Zero(m, m), Ms = Mat::Zero(m, n);
  for (Index i = 0; i < N; ++i) {
    Qs += pb.Q[i];
    Rs += pb.R[i];
    if (!pb.M.empty()) Ms += pb.M[i];
  }
  Eigen::LLT<Mat> llt(0.5 * (Rs + Rs.transpose()));
  if (llt.info() != Eigen::Success) {
    Rs.setZero();
    for (Index i = 0; i < N; ++i) {
      const Index o = pb.dims.off[i], mi = pb.dims.m_i[i];
      Rs.block(o, o, mi, mi) = pb.R[i].block(o, o, mi, mi);
    }
    llt.compute(Rs);
    if (llt.info() != Eigen::Success) return false;
  }
  // Remove the cross term: u = v - Rs^{-1} Ms x.
  Mat RiM = llt.solve(Ms);
  Mat Ah = pb.A - pb.B * RiM;
  Mat H = Qs - Ms.transpose() * RiM;
  H = 0.5 * (H + H.transpose()).eval();
  Mat G = pb.B * llt.solve(pb.B.transpose());
  // Structure-preserving doubling: A_{k+1} = A W^-1 A, G_{k+1} = G + A W^-1 G A',
  // H_{k+1} = H + A' H W^-1 A, W = I + G H; H -> stabilizing DARE solution.
  // Products by small_gemm on zero-padded column-major copies (pn rows), A' kept
  // alongside A. W^-1 [A G] by elimination on the rows of [W | A G]
  // (small_solve.hpp), stored column-major as the stacked [W'; A'; G] (each block
  // pn rows, W' = I + H G): afterwards the lower blocks hold (W^-1 A)' and
  // (W^-1 G)', read transposed as right operands.
  const Index pn = detail::padded(n), sz = pn * n, ld = 3 * pn;
  Vec buf = Vec::Zero(7 * sz + ld * n);  // padded rows stay zero
  double *Hp = buf.data(), *Hn = Hp + sz, *Gp = Hn + sz, *Ap = Gp + sz, *At = Ap + sz, *T = At + sz,
         *X = T + sz, *aug = X + sz;
  double* WAt = aug + pn;      // (W^-1 A)' (ld)
  double* WGt = aug + 2 * pn;  // (W^-1 G)' (ld)
  auto view = [&](double* p) { return padded_view(p, n, pn); };
  view(Hp) = H;
  view(Gp) = G;
  view(Ap) = Ah;
  view(At) = Ah.transpose();
  using detail::gemm;
  double prev = std::numeric_limits<double>::infinity();  // the last relative change of H
  for (int it = 0; it < 100; ++it) {
    gemm(aug, ld, Hp, pn, Gp, 1, pn, pn, n, n, 1.0, false);  // W' = I + H G
    for (Index j = 0; j < n; ++j) {
      aug[j + j * ld] += 1.0;
      std::copy(At + j * pn, At + j * pn + pn, WAt + j * ld);
      std::copy(Gp + j * pn, Gp + j * pn + pn, WGt + j * ld);
    }
    if (detail::eliminate(aug, n, pn, ld, nullptr) == 0.0) return false;
    gemm(X, pn, Hp, pn, WAt, ld, 1, pn, n, n, 1.0, false);  // H W^-1 A
    std::copy(Hp, Hp + sz, Hn);
    gemm(Hn, pn, At, pn, X, 1, pn, pn, n, n, 1.0, true);  // H + A' H W^-1 A
    gemm(X, pn, Ap, pn, WGt, ld, 1, pn, n, n, 1.0, false);  // A W^-1 G
    gemm(Gp, pn, X, pn, Ap, pn, 1, pn, n, n, 1.0, true);    // G + A W^-1 G A'
    gemm(T, pn, Ap, pn, WAt, ld, 1, pn, n, n, 1.0, false);  // A W^-1 A
    std::swap(T, Ap);
    gemm(T, pn, WAt, ld, At, 1, pn, pn, n, n, 1.0, false);  // (A W^-1 A)' = (W^-1 A)' A'
    std::swap(T, At);
    PaddedView Hv = view(Hn), Gv = view(Gp);
    symmetrize(Hv);
    symmetrize(Gv);
    const double d2 = (Hv - view(Hp)).squaredNorm();
    std::swap(Hn, Hp);
    if (!std::isfinite(d2) || !std::isfinite(Gv.squaredNorm())) return false;
    // Converged when the change is at round-off, or when the doubling is in its
    // quadratic regime (e_{k+1} ~ c e_k^2, c estimated from the last two changes)
    // and predicts a next change below round-off -- which saves the last doubling.
    const double rel = std::sqrt(d2 / std::max(view(Hp).squaredNorm(), kTiny));
    if (rel <= 1e-14) break;
    if (it > 0 && rel <= 1e-6 && rel < prev && rel * rel * rel <= 1e-15 * prev * prev) break;
    prev = rel;
  }
  H = view(Hp);
  Mat Sm = Rs + pb.B.transpose() * H * pb.B;
  K0 = Sm.partialPivLu().solve(pb.B.transpose() * H * pb.A + Ms);
  return K0.allFinite();
}
}  // namespace

bool default_start(const LQNashProblem& pb, Mat& K0) {
  return start_gain(pb, K0) && is_schur_stable(pb.A - pb.B * K0);
}

LQNashResult lq_nash(const LQNashProblem& pb, const Mat& K0_in, const LQNashOptions& o) {
  if (!(o.tol > 0.0) || !std::isfinite(o.tol) || o.max_iter < 1 || o.anderson_depth < 0 ||
      o.anderson_depth > kMaxAndersonDepth)
    throw std::invalid_argument("lq_nash options: need tol > 0, max_iter >= 1 and 0 <= anderson_depth <= " +
                                std::to_string(kMaxAndersonDepth));
  Work w(pb);
  const Index N = w.N, n = w.n, m = w.m;
  LQNashResult res;
  res.method = method_name(o.method, false);
  const bool user_start = K0_in.size() != 0;
  const int window = o.stall_window > 0 ? o.stall_window : (o.method == NashMethod::Auto ? 40 : 200);
  LQNashOptions oo = o;
  oo.stall_window = window;
  Mat K0 = K0_in;
  bool have_K0 = user_start;
  // The default start, computed on demand. Its stability is checked by the
  // evaluation of P(K0) that always follows.
  auto need_K0 = [&]() -> bool {
    if (!have_K0) {
      if (!start_gain(pb, K0)) {
        res.status = kNashNoStabilizingStart;
        certify(w, K0, res, o.tol);
        return false;
      }
      have_K0 = true;
    }
    return true;
  };
  std::vector<Mat> P(N, Mat(n, n));
  if (user_start && !w.evaluate(K0, P)) {
    res.status = kNashBadStart;
    certify(w, K0, res, o.tol);
    return res;
  }
  // Riccati start: P(K0) (K0 given or the default start); only an explicit
  // Riccati run without K0 starts the finite-horizon way, from P = Q.
  if (!user_start) {
    if (o.method == NashMethod::Riccati) {
      P = pb.Q;
    } else {
      if (!need_K0()) return res;
      if (!w.evaluate(K0, P)) {
        res.status = kNashNoStabilizingStart;
        certify(w, K0, res, o.tol);
        return res;
      }
    }
  }
  auto record = [&](NashMethod mth, bool acc, const StageOut& s) {
    res.stages.push_back({mth, acc, s.iterations, s.status, s.residual});
    res.iterations += s.iterations;
  };
  // Certified answer of a stage: the iterate pair if it certifies, else P(K).
  auto certify_stage = [&](const StageOut& s) {
    if (certify_pair(w, s.K, s.P, res, o.tol)) return true;
    return certify(w, s.K, res, o.tol);
  };
  const double inner = std::max(1e-3 * o.tol, 1e-15);
  if (o.method != NashMethod::Auto) {
    StageOut s;
    if (o.method == NashMethod::Riccati) {
      s = riccati_stage(w, P, inner, o.max_iter, false, oo, res.history);
    } else {
      if (!need_K0()) return res;
      if (o.method == NashMethod::Lyapunov) s = lyapunov_stage(w, K0, inner, o.max_iter, false, oo, res.history);
      else s = newton_stage(w, K0, 0.1 * o.tol, o.max_iter, res.history);
    }
    record(o.method, false, s);
    const bool ok = certify_stage(s);
    res.converged = ok && s.status == kNashConverged;
    res.status = res.converged ? kNashConverged : (s.status == kNashConverged ? kNashStalled : s.status);
    return res;
  }
  // ---- Auto: a sequence of attempts, stopping at the first certified answer.
  //   1. Anderson-accelerated Riccati iteration from P(K0);
  //   2. Anderson-accelerated Lyapunov iteration from the best stabilizing K so far;
  //   3. Newton from the best stabilizing K so far, then from K0;
  //   4. the plain Lyapunov iteration from K0 and the plain / accelerated Riccati
  //      iteration from P = Q (slower, but they converge on some games where the
  //      accelerated or Newton iterations stall).
  // "Best" = smallest certified residual among stabilizing candidates.
  Mat K = K0, Kbest = K0;
  double best = std::numeric_limits<double>::infinity();
  bool ok = false;
  std::string name;
  LQNashResult best_res;  // K, P and residuals of the best candidate
  auto consider = [&](NashMethod mth, bool acc, const StageOut& s, const char* label) {
    record(mth, acc, s);
    res.status = s.status;
    if (s.status == kNashSingular || s.status == kNashNonFinite || s.K.size() == 0) return;
    const bool c = certify_stage(s);
    if (res.residual < best && res.spectral_radius < 1.0) {
      best = res.residual;
      Kbest = s.K;
      name = label;
      copy_certificate(res, best_res);
    }
    ok = ok || c;
  };
  consider(NashMethod::Riccati, true, riccati_stage(w, P, inner, o.max_iter, true, oo, res.history),
           "riccati+anderson");
  if (!ok) {
    const Mat Ks = std::isfinite(best) ? Kbest : K0;
    consider(NashMethod::Lyapunov, true, lyapunov_stage(w, Ks, inner, o.max_iter, true, oo, res.history),
             "lyapunov+anderson");
  }
  const int newton_iter = std::min(o.max_iter, 100);
  if (!ok && std::isfinite(best))
    consider(NashMethod::Newton, false, newton_stage(w, Kbest, 0.1 * o.tol, newton_iter, res.history), "newton");
  if (!ok) consider(NashMethod::Newton, false, newton_stage(w, K0, 0.1 * o.tol, newton_iter, res.history), "newton");
  LQNashOptions patient = oo;  // the slow fallbacks get a longer stall window
  patient.stall_window = std::max(oo.stall_window, 200);
  if (!ok)
    consider(NashMethod::Lyapunov, false, lyapunov_stage(w, K0, inner, o.max_iter, false, patient, res.history),
             "lyapunov");
  if (!ok) {
    consider(NashMethod::Riccati, false, riccati_stage(w, pb.Q, inner, o.max_iter, false, patient, res.history),
             "riccati");
  }
  if (!ok) {
    consider(NashMethod::Riccati, true, riccati_stage(w, pb.Q, inner, o.max_iter, true, patient, res.history),
             "riccati+anderson");
  }
  // Report the best candidate (certified if ok).
  if (std::isfinite(best)) {
    K = Kbest;
    copy_certificate(best_res, res);
  } else {
    K = K0;
    certify(w, K, res, o.tol);
  }
  ok = res.residual <= o.tol && res.spectral_radius < 1.0;
  if (name.empty()) name = "riccati+anderson";
  // Newton polish: always when the Jacobian is cheap, else only if needed.
  const bool cheap = double(m * n) * double(m * n) * N <= 4096.0;
  if (o.polish && res.spectral_radius < 1.0 && (cheap || !ok)) {
    for (int p = 0; p < 3; ++p) {
      LQNashResult trial;
      std::vector<double> h;
      StageOut s = newton_stage(w, K, 0.0, 1, h);
      if (s.iterations == 0 || (certify(w, s.K, trial, o.tol), !(trial.residual < res.residual))) break;
      const double before = res.residual;
      trial.iterations = res.iterations + 1;
      trial.history = std::move(res.history);
      trial.history.push_back(trial.residual);
      trial.stages = std::move(res.stages);
      trial.stages.push_back({NashMethod::Newton, false, 1, kNashConverged, trial.residual});
      trial.status = res.status;
      res = std::move(trial);
      K = s.K;
      if (name.find("newton") == std::string::npos) name += "+newton";
      ok = res.residual <= o.tol;
      if (res.residual > 0.1 * before) break;  // at round-off
    }
  }
  res.converged = ok && res.residual <= o.tol && res.spectral_radius < 1.0;
  res.status = res.converged ? kNashConverged : (res.status == kNashConverged ? kNashStalled : res.status);
  res.method = name;
  return res;
}

}  // namespace gamesolve
