// Newton's method of the infinite-horizon LQ Nash solver (lq_nash_work.hpp) and
// the public Jacobian lq_nash_jacobian.
#include "lq_nash_work.hpp"

#include <complex>

namespace gamesolve::nash {

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
                      bool* stable_start) {
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


}  // namespace gamesolve::nash

namespace gamesolve {

bool lq_nash_jacobian(const LQNashProblem& pb, const Mat& K, Mat& J, Mat* F) {
  nash::check_sizes("lq_nash_jacobian", pb, K);
  nash::Work w(pb);
  std::vector<Mat> P(w.N, Mat(w.n, w.n));
  if (!w.evaluate_schur(K, P)) return false;
  Mat Ft(w.m, w.n);
  nash::newton_system(w, K, P, Ft, &J);
  if (F) *F = Ft;
  return true;
}

}  // namespace gamesolve
