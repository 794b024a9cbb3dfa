// Entropy-regularized LQ games (SPEC 4): the core recursion on the shifted-R
// game for the means and P, then one backward pass for Sigma and p.
#include "gamesolve/entropy.hpp"

#include "small_gemm.hpp"

#include <Eigen/Cholesky>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace gamesolve {
namespace {

using CMap = Eigen::Map<const Mat>;

void require(bool ok, const std::string& what) {
  if (!ok) throw std::invalid_argument("solve_entropy_lq_game: " + what);
}

// Every block at stages 0..stages-1 of `block` doubles lies inside the buffer.
template <class S>
void check_series(const S& s, Index stages, Index block, const char* name) {
  require(s.data != nullptr, std::string(name) + " is missing");
  require(s.t_stride >= 0, std::string(name) + " has a negative time stride");
  require((stages - 1) * s.t_stride + block <= s.size,
          std::string(name) + " buffer is too small for its shape and strides");
}

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
  require(out.status != nullptr && out.status_size >= T, "status buffer is too small");
}

EntropyReport solve_entropy_lq_game(const EntropyLQData& data, const EntropySolutionView& out,
                                    const SolveOptions& opts) {
  check_entropy_game(data, out);
  const LQGameData& g = data.game;
  const Dims& d = g.dims;
  const Index N = d.N, n = d.n, m = d.m, T = g.T;
  const double half_tau = 0.5 * data.tau;

  // The shifted weights R~^i = R^i + tau/2 (own block of player i), one block
  // of N*m*m per distinct stage (one if R is time-invariant).
  const Index blk = N * m * m;
  const Index n_r = g.R.t_stride == 0 ? 1 : T;
  std::vector<double> r_shift(static_cast<size_t>(n_r * blk));
  for (Index s = 0; s < n_r; ++s) {
    const double* src = g.R.at(0, s);
    double* dst = r_shift.data() + s * blk;
    std::copy(src, src + blk, dst);
    for (Index i = 0; i < N; ++i)
      for (Index a = 0; a < d.m_i[i]; ++a) dst[i * m * m + (d.off[i] + a) * (m + 1)] += half_tau;
  }
  LQGameData shifted = g;
  shifted.batch = 1;
  shifted.R = Series{r_shift.data(), n_r * blk, n_r == 1 ? 0 : blk, 0};

  // The core writes K and Z (= P) straight into the outputs; k, zeta, s are
  // zero for this game and go to scratch.
  std::vector<double> k_buf(static_cast<size_t>(T * m)), zeta_buf(static_cast<size_t>((T + 1) * N * n)),
      s_buf(static_cast<size_t>((T + 1) * N));
  LQSolutionView core_out;
  core_out.K = out.K;
  core_out.Z = out.P;
  core_out.k = OutSeries{k_buf.data(), T * m, m, 0};
  core_out.zeta = OutSeries{zeta_buf.data(), (T + 1) * N * n, N * n, 0};
  core_out.s = OutSeries{s_buf.data(), (T + 1) * N, N, 0};
  core_out.status = out.status;
  core_out.status_size = out.status_size;
  check_solution(shifted, core_out, true);

  EntropyReport rep;
  {
    LQWorkspace ws(d);
    rep.core = solve_lq_game(shifted, 0, core_out, ws, opts);
  }

  // Second backward pass: Sigma_t and p_t from P_{t+1}. Scratch sized once; the
  // products use the core's padded column-major kernel (small_gemm.hpp), whose
  // operands' padded rows stay zero. P^i is symmetric, so its row-major buffer
  // is also its column-major one.
  using detail::gemm;
  const Index np = detail::padded(n);
  Mat Bc = Mat::Zero(np, m);   // B_t, padded rows
  Mat Pp = Mat::Zero(np, n);   // P^i_{t+1}, padded rows
  Mat PB = Mat::Zero(np, m);   // column block i: P^i B^i
  Mat V = Mat::Zero(np, m);    // column block i: B^i L_i^{-T}, so B^i Sigma^i B^i' = tau/2 V_i V_i'
  Mat Vt = Mat::Zero(m, n);    // V' (top rows of V)
  Mat Omega = Mat::Zero(np, n);  // W + sum_j B^j Sigma^j B^j'
  std::vector<Mat> S(N), LinvT(N);
  std::vector<Eigen::LLT<Mat>> llt;
  llt.reserve(N);
  for (Index i = 0; i < N; ++i) {
    S[i].resize(d.m_i[i], d.m_i[i]);
    LinvT[i].resize(d.m_i[i], d.m_i[i]);
    llt.emplace_back(d.m_i[i]);
  }
  Vec logdet_sigma(N);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double* loaded_B = nullptr;

  MapVec(out.p.at(0, T), N).setZero();
  for (Index t = T - 1; t >= 0; --t) {
    if (g.B.at(0, t) != loaded_B) {  // time-invariant B is loaded once
      loaded_B = g.B.at(0, t);
      Bc.topRows(n) = CMapRow(loaded_B, n, m);
    }
    const double* Rt = r_shift.data() + (n_r == 1 ? 0 : t * blk);
    MapRow Sig(out.Sigma.at(0, t), m, m);
    Sig.setZero();

    for (Index i = 0; i < N; ++i) {
      const Index mi = d.m_i[i], oi = d.off[i];
      Pp.topRows(n) = CMap(out.P.at(0, t + 1) + i * n * n, n, n);
      auto PBi = PB.middleCols(oi, mi);
      gemm(PBi, Pp, Bc.middleCols(oi, mi).topRows(n));
      S[i].noalias() = Bc.middleCols(oi, mi).topRows(n).transpose() * PBi.topRows(n);
      S[i] += CMapRow(Rt + i * m * m, m, m).block(oi, oi, mi, mi);
      llt[i].compute(S[i]);
      if (llt[i].info() != Eigen::Success || !S[i].allFinite()) {
        rep.bad_stage = t;
        rep.bad_player = i;
        break;
      }
      // Sigma^i = tau/2 S^{-1} = tau/2 L^{-T} L^{-1}.
      LinvT[i].setIdentity();
      llt[i].matrixU().solveInPlace(LinvT[i]);  // L' X = I: X = L^{-T}
      Sig.block(oi, oi, mi, mi).noalias() = half_tau * LinvT[i] * LinvT[i].transpose();
      gemm(V.middleCols(oi, mi), Bc.middleCols(oi, mi), LinvT[i]);
      logdet_sigma[i] = static_cast<double>(mi) * std::log(half_tau) -
                        2.0 * llt[i].matrixLLT().diagonal().array().log().sum();
    }
    if (rep.bad_stage >= 0) break;
    if (data.W.present())
      Omega.topRows(n) = CMap(data.W.at(0, t), n, n);
    Vt = V.topRows(n).transpose();
    gemm(Omega, V, Vt, half_tau, data.W.present());

    MapVec p_t(out.p.at(0, t), N);
    CMapVec p_next(out.p.at(0, t + 1), N);
    for (Index i = 0; i < N; ++i) {
      CMap P(out.P.at(0, t + 1) + i * n * n, n, n);
      CMapRow Rti(Rt + i * m * m, m, m);
      p_t[i] = p_next[i] + Rti.cwiseProduct(Sig).sum() -
               half_tau * (static_cast<double>(d.m_i[i]) + logdet_sigma[i]) +
               Omega.topRows(n).cwiseProduct(P).sum();
    }
  }
  if (rep.bad_stage >= 0) {
    for (Index t = rep.bad_stage; t >= 0; --t) {
      MapRow(out.Sigma.at(0, t), m, m).setConstant(nan);
      MapVec(out.p.at(0, t), N).setConstant(nan);
    }
  }
  return rep;
}

}  // namespace gamesolve
