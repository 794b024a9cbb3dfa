// Entropy-regularized LQ games ([theory §4]): the core recursion on the shifted-R
// game for the means and P, then one backward pass for Sigma, p and the
// contraction factors; plus the value checks of the data (check_entropy_values).
#include "gamesolve/entropy.hpp"
#include "gamesolve/check.hpp"

#include "small_gemm.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace gamesolve {
namespace {

using CMap = Eigen::Map<const Mat>;

constexpr double kSymRtol = 1e-10;  // gamesolve._validate.SYM_RTOL
constexpr double kPsdRtol = 1e-12;  // gamesolve.entropy: noise_cov eigenvalue tolerance

// The message is only built on failure (these checks run on every solve).
void require(bool ok, const char* what, const char* name = nullptr) {
  if (!ok)
    throw std::invalid_argument(std::string("solve_entropy_lq_game: ") + (name ? std::string(name) + " " : "") +
                                what);
}

// Every block at stages 0..stages-1 of `block` doubles lies inside the buffer.
template <class S>
void check_series(const S& s, Index stages, Index block, const char* name) {
  require(s.data != nullptr, "is missing", name);
  require(s.t_stride >= 0, "has a negative time stride", name);
  const Index last = series_extent(1, 0, stages, s.t_stride, block);
  require(last >= 0 && last <= s.size, "buffer is too small for its shape and strides", name);
}

// Every entry finite and symmetric to the Python layer's relative criterion (check.hpp).
bool symmetric(const double* x, Index n) { return all_finite(x, n * n) && symmetric_rel(x, n, kSymRtol); }

inline Index distinct_stages(const Series& s, Index T) { return s.t_stride == 0 ? 1 : T; }

}  // namespace

void check_entropy_game(const EntropyLQData& data, const EntropySolutionView& out) {
  const LQGameData& g = data.game;
  require(std::isfinite(data.tau) && data.tau > 0.0, "tau must be positive and finite");
  require(!g.q.present() && !g.r.present() && !g.M.present() && !g.c.present() && !g.qT.present(),
          "linear terms q, r, M, c, qT are not part of the entropy-regularized game");
  require(g.T >= 1, "horizon T must be at least 1");
  check_game(g);
  const Index N = g.dims.N, n = g.dims.n, m = g.dims.m, T = g.T;
  if (data.W.present()) check_series(data.W, T, n * n, "W");
  check_series(out.K, T, m * n, "K");
  check_series(out.Sigma, T, m * m, "Sigma");
  check_series(out.P, T + 1, N * n * n, "P");
  check_series(out.p, T + 1, N, "p");
  if (out.contraction.data != nullptr) check_series(out.contraction, T, 1, "contraction");
  require(out.status != nullptr && out.status_size >= T, "status buffer is too small");
}

EntropyCheck check_entropy_values(const EntropyLQData& data) { return check_entropy_values(data, false); }

EntropyCheck check_entropy_values(const EntropyLQData& data, bool lq_checked) {
  const LQGameData& g = data.game;
  const Dims& d = g.dims;
  const Index N = d.N, n = d.n, m = d.m, T = g.T;
  EntropyCheck c;
  auto fail = [&c](int code, Index t, Index i) {
    c.code = code;
    c.t = t;
    c.i = i;
    return c;
  };
  for (Index t = 0; !lq_checked && t < distinct_stages(g.Q, T); ++t)
    for (Index i = 0; i < N; ++i)
      if (!symmetric(g.Q.at(0, t) + i * n * n, n)) return fail(kQAsymmetric, t, i);
  for (Index i = 0; !lq_checked && i < N; ++i)
    if (!symmetric(g.QT.at(0, 0) + i * n * n, n)) return fail(kQTAsymmetric, -1, i);
  // off[a * m + b] = 1 where rows a and b belong to different players (must be zero in R^i).
  std::vector<long> off(static_cast<size_t>(m * m), 1);
  for (Index j = 0; j < N; ++j) {
    for (Index a = d.off[j]; a < d.off[j] + d.m_i[j]; ++a)
      for (Index b = d.off[j]; b < d.off[j] + d.m_i[j]; ++b) off[a * m + b] = 0;
  }
  for (Index t = 0; t < distinct_stages(g.R, T); ++t)
    for (Index i = 0; i < N; ++i) {
      const double* R = g.R.at(0, t) + i * m * m;
      long bad = 0;
      for (Index k = 0; k < m * m; ++k) bad |= static_cast<long>(R[k] != 0.0) & off[k];
      if (bad) return fail(kRNotBlockDiagonal, t, i);
      if (lq_checked) continue;
      if (!symmetric(R, m)) return fail(kRAsymmetric, t, i);
      if (!positive_definite(R + d.off[i] * (m + 1), d.m_i[i], m)) return fail(kROwnNotPD, t, i);
    }
  if (data.W.present()) {
    Eigen::LLT<Mat> llt(n);
    Mat Ws(n, n);
    for (Index t = 0; t < distinct_stages(data.W, T); ++t) {
      const double* W = data.W.at(0, t);
      if (!symmetric(W, n)) return fail(kWAsymmetric, t, -1);
      CMapRow Wt(W, n, n);
      Ws = 0.5 * (Wt + Wt.transpose());
      llt.compute(Ws);
      if (llt.info() == Eigen::Success) continue;  // positive definite
      Eigen::SelfAdjointEigenSolver<Mat> eig(Ws, Eigen::EigenvaluesOnly);
      const Vec& lam = eig.eigenvalues();
      if (eig.info() != Eigen::Success ||
          lam[0] < -kPsdRtol * std::max(lam.cwiseAbs().maxCoeff(), 1e-300))
        return fail(kWNotPSD, t, -1);
    }
  }
  return c;
}

EntropyReport solve_entropy_lq_game(const EntropyLQData& data, const EntropySolutionView& out,
                                    const SolveOptions& opts) {
  check_entropy_game(data, out);
  const LQGameData& g = data.game;
  const Dims& d = g.dims;
  const Index N = d.N, n = d.n, m = d.m, T = g.T;
  const double tau = data.tau, half_tau = 0.5 * tau;

  // The shifted weights R~^i = R^i + tau/2 (own block of player i), one block
  // of N*m*m per distinct stage (one if R is time-invariant).
  const Index blk = N * m * m;
  const Index n_r = distinct_stages(g.R, T);
  // Scratch buffers are left uninitialized (fully written before being read).
  std::unique_ptr<double[]> r_shift(new double[static_cast<size_t>(n_r * blk)]);
  for (Index s = 0; s < n_r; ++s) {
    const double* src = g.R.at(0, s);
    double* dst = r_shift.get() + s * blk;
    std::copy(src, src + blk, dst);
    for (Index i = 0; i < N; ++i)
      for (Index a = 0; a < d.m_i[i]; ++a) dst[i * m * m + (d.off[i] + a) * (m + 1)] += half_tau;
  }
  LQGameData shifted = g;
  shifted.batch = 1;
  shifted.R = Series{r_shift.get(), n_r * blk, n_r == 1 ? 0 : blk, 0};

  // The core writes K and Z (= P) straight into the outputs; k, zeta, s are
  // zero for this game and go to scratch.
  std::unique_ptr<double[]> k_buf(new double[static_cast<size_t>(T * m)]),
      zeta_buf(new double[static_cast<size_t>((T + 1) * N * n)]), s_buf(new double[static_cast<size_t>((T + 1) * N)]);
  LQSolutionView core_out;
  core_out.K = out.K;
  core_out.Z = out.P;
  core_out.k = OutSeries{k_buf.get(), T * m, m, 0};
  core_out.zeta = OutSeries{zeta_buf.get(), (T + 1) * N * n, N * n, 0};
  core_out.s = OutSeries{s_buf.get(), (T + 1) * N, N, 0};
  core_out.status = out.status;
  core_out.status_size = out.status_size;
  check_solution(shifted, core_out, true);

  EntropyReport rep;
  {
    LQWorkspace ws(d);
    rep.core = solve_lq_game(shifted, 0, core_out, ws, opts);
  }

  // Second backward pass, for t = T-1..0 with P_{t+1} from the core:
  //   PB_i = P^i B^i, S_i = B^i'PB_i + R~_[ii] = L L',  Sigma^i = tau/2 S_i^{-1} = Ls'Ls, Ls = sqrt(tau/2) L^{-1},
  //   V_i = B^i Ls', so B^i Sigma^i B^i' = V_i V_i',  Omega = W + V V' = W + sum_j B^j Sigma^j B^j',
  //   p^i = p^i_{t+1} + <R~^i, Sigma> - tau/2 (m_i + log det Sigma^i) + <Omega, P^i>.
  // The two n-sized products use the core's padded column-major kernel (small_gemm.hpp; padded
  // rows of its left operands stay zero); the m_i-sized factorizations are plain loops (Eigen's
  // dynamic-size LLT costs more than the arithmetic at these sizes). P^i is symmetric, so its
  // row-major buffer is also its column-major one. Nothing is allocated in the loop.
  using detail::gemm;
  const Index np = detail::padded(n);
  Index mmax = 0;
  for (Index i = 0; i < N; ++i) mmax = std::max(mmax, d.m_i[i]);
  Mat Bc = Mat::Zero(np, m);      // B_t, padded rows
  Mat Pp = Mat::Zero(np, N * n);  // column block i: P^i_{t+1}, padded rows (contiguous np * n doubles)
  Mat PB = Mat::Zero(np, mmax);   // P^i B^i
  Mat V = Mat::Zero(np, m);       // column block i: V_i = B^i Ls_i'
  Mat Omega = Mat::Zero(np, n);   // W + V V'
  Mat Wp = Mat::Zero(np, n);      // W_t, padded rows
  const double* loaded_W = nullptr;
  std::vector<double> L(static_cast<size_t>(mmax * mmax)), Ls(static_cast<size_t>(mmax * mmax));
  std::vector<double> logdet(static_cast<size_t>(N)), rs(static_cast<size_t>(N));
  const double log_half_tau = std::log(half_tau), sqrt_half_tau = std::sqrt(half_tau);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double* loaded_B = nullptr;
  double gP2 = 0.0, gB2 = 0.0;

  double* pT = out.p.at(0, T);
  for (Index i = 0; i < N; ++i) pT[i] = 0.0;
  for (Index t = T - 1; t >= 0; --t) {
    const double* B = g.B.at(0, t);
    if (B != loaded_B) {  // time-invariant B is loaded once; gamma_B = max_{t,i} ||B_t^i||_F
      loaded_B = B;
      double* Bp = Bc.data();
      for (Index i = 0; i < N; ++i) {
        double b2 = 0.0;
        for (Index c = d.off[i]; c < d.off[i] + d.m_i[i]; ++c)
          for (Index r = 0; r < n; ++r) {
            const double x = B[r * m + c];
            Bp[r + c * np] = x;
            b2 += x * x;
          }
        gB2 = std::max(gB2, b2);
      }
    }
    const double* Rt = r_shift.get() + (n_r == 1 ? 0 : t * blk);
    const double* Pn = out.P.at(0, t + 1);
    double* Sig = out.Sigma.at(0, t);
    for (Index j = 0; j < m * m; ++j) Sig[j] = 0.0;  // (plain loops: these are a few entries)
    for (Index k = 0; k < N; ++k) rs[k] = 0.0;

    for (Index i = 0; i < N; ++i) {
      const Index mi = d.m_i[i], oi = d.off[i];
      double* Ppi = Pp.data() + i * np * n;
      for (Index j = 0; j < n; ++j)
        for (Index r = 0; r < n; ++r) Ppi[r + j * np] = Pn[i * n * n + j * n + r];
      // PB = P^i B^i, B^i read in place from the row-major B_t: B^i(k, j) = B[k * m + oi + j].
      gemm(PB.data(), np, Ppi, np, B + oi, m, 1, np, n, mi, 1.0, false);
      // S_i (lower triangle) and its Cholesky factor, in place in L.
      const double* Rii = Rt + i * m * m + oi * m + oi;
      for (Index c = 0; c < mi; ++c)
        for (Index e = 0; e <= c; ++e) {
          const double* bc = Bc.data() + (oi + c) * np;
          const double* pe = PB.data() + e * np;
          double v = Rii[c * m + e];
          for (Index r = 0; r < n; ++r) v += bc[r] * pe[r];
          L[c * mi + e] = v;
        }
      if (!cholesky_inplace(L.data(), mi)) {
        rep.bad_stage = t;
        rep.bad_player = i;
        break;
      }
      // log det L as the log of the product of the pivots (one log call, guarded against over/underflow).
      double ld = 0.0, prod = 1.0;
      for (Index c = 0; c < mi; ++c) {
        prod *= L[c * mi + c];
        if (prod > 1e150 || prod < 1e-150) {
          ld += std::log(prod);
          prod = 1.0;
        }
      }
      ld += std::log(prod);
      logdet[i] = static_cast<double>(mi) * log_half_tau - 2.0 * ld;
      // Ls = sqrt(tau/2) L^{-1} (lower triangular), column e from L Ls(:, e) = sqrt(tau/2) e_e.
      for (Index e = 0; e < mi; ++e)
        for (Index c = 0; c < mi; ++c) {
          if (c < e) {
            Ls[c * mi + e] = 0.0;
            continue;
          }
          double v = (c == e) ? sqrt_half_tau : 0.0;
          for (Index l = e; l < c; ++l) v -= L[c * mi + l] * Ls[l * mi + e];
          Ls[c * mi + e] = v / L[c * mi + c];
        }
      // Sigma^i = Ls'Ls (symmetric by construction), and its part of every player's
      // <R~^k, Sigma> (Sigma is block-diagonal): rs[k] += <R~^k_[ii], Sigma^i>.
      for (Index c = 0; c < mi; ++c)
        for (Index e = 0; e <= c; ++e) {
          double s = 0.0;
          for (Index k = c; k < mi; ++k) s += Ls[k * mi + c] * Ls[k * mi + e];
          Sig[(oi + c) * m + oi + e] = s;
          Sig[(oi + e) * m + oi + c] = s;
          const Index ce = (oi + c) * m + oi + e, ec = (oi + e) * m + oi + c;
          for (Index k = 0; k < N; ++k) {
            const double* Rk = Rt + k * m * m;
            rs[k] += (c == e ? Rk[ce] : Rk[ce] + Rk[ec]) * s;
          }
        }
      // V_i = B^i Ls': Ls'(k, j) = Ls[j * mi + k].
      gemm(V.data() + oi * np, np, Bc.data() + oi * np, np, Ls.data(), 1, mi, np, mi, mi, 1.0, false);
    }
    if (rep.bad_stage >= 0) break;
    // Omega = W + V V' (V'(k, j) = V(j, k)); its padded rows stay zero.
    if (data.W.present()) {
      const double* Wt = data.W.at(0, t);
      if (Wt != loaded_W) {  // a time-invariant W is padded once
        loaded_W = Wt;
        for (Index j = 0; j < n; ++j)
          for (Index r = 0; r < n; ++r) Wp(r, j) = Wt[j * n + r];  // W symmetric
      }
      for (Index j = 0; j < np * n; j += detail::kW) detail::storev(Omega.data() + j, detail::loadv(Wp.data() + j));
    }
    gemm(Omega.data(), np, V.data(), np, V.data(), np, 1, np, m, n, 1.0, data.W.present());

    const double* p_next = out.p.at(0, t + 1);
    double* p_t = out.p.at(0, t);
    double nP2 = 0.0;
    for (Index i = 0; i < N; ++i) {
      // <Omega, P^i> and ||P^i||_F^2 over the padded buffers (padded rows are zero in both).
      const double* Pi = Pp.data() + i * np * n;
      const double* Om = Omega.data();
      double s, p2;
      detail::dot2(Pi, Om, Pi, np * n, s, p2);  // np * n is a multiple of 8
      nP2 = std::max(nP2, p2);
      p_t[i] = p_next[i] + rs[i] - half_tau * (static_cast<double>(d.m_i[i]) + logdet[i]) + s;
    }
    gP2 = std::max(gP2, nP2);
    if (out.contraction.data != nullptr) *out.contraction.at(0, t) = std::sqrt(nP2);  // scaled below
  }
  if (rep.bad_stage >= 0) {
    for (Index t = rep.bad_stage; t >= 0; --t) {
      double* Sig = out.Sigma.at(0, t);
      std::fill(Sig, Sig + m * m, nan);
      double* p_t = out.p.at(0, t);
      for (Index i = 0; i < N; ++i) p_t[i] = nan;
    }
    if (out.contraction.data != nullptr)
      for (Index t = 0; t < T; ++t) *out.contraction.at(0, t) = nan;
    rep.gamma_B = nan;  // B of the stages below the failure was not read
    rep.gamma_P = nan;
    rep.assumption_holds = false;
    return rep;
  }
  for (Index i = 0; i < N; ++i) gP2 = std::max(gP2, CMapVec(out.P.at(0, 0) + i * n * n, n * n).squaredNorm());
  // [Reg-LQ] Lemma IV.1: factor_t = 2 gamma_B^2 max_i ||P_{t+1}^i||_F (N-1) / tau.
  rep.gamma_B = std::sqrt(gB2);
  const double lemma = 2.0 * gB2 * static_cast<double>(N - 1) / tau;
  if (out.contraction.data != nullptr)
    for (Index t = 0; t < T; ++t) *out.contraction.at(0, t) *= lemma;
  rep.gamma_P = std::sqrt(gP2);
  rep.assumption_holds = tau > 2.0 * gB2 * rep.gamma_P * static_cast<double>(N - 1);
  return rep;
}

}  // namespace gamesolve
