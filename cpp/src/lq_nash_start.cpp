// The default stabilizing start of the infinite-horizon LQ Nash solver
// (lq_nash_work.hpp): 0 for a Schur-stable A, else the LQR gain of the summed
// costs (DARE by the structure-preserving doubling algorithm); when that gain does
// not stabilize (e.g. an unstable mode unobservable in the summed Q), the LQR gain
// of the summed costs with Q + eps I, then of unit weights (Q = I, R = I): both
// stabilize whenever (A, B) is stabilizable.
#include "lq_nash_work.hpp"
#include "small_solve.hpp"

#include <Eigen/Cholesky>

namespace gamesolve::nash {

namespace {

// The stabilizing DARE gain of min sum x'H x + u'R u + 2 u'M x for (A, B)
// (R positive definite: llt its factorization) by the structure-preserving
// doubling algorithm. False if the doubling breaks down.
bool dare_gain(const Mat& A, const Mat& B, Mat H, const Mat& Rs, const Eigen::LLT<Mat>& llt, const Mat& Ms,
               Mat& K0) {
  const Index n = A.rows();
  // Remove the cross term: u = v - Rs^{-1} Ms x.
  Mat RiM = llt.solve(Ms);
  Mat Ah = A - B * RiM;
  H -= Ms.transpose() * RiM;
  H = 0.5 * (H + H.transpose()).eval();
  Mat G = B * llt.solve(B.transpose());
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
  Mat Sm = Rs + B.transpose() * H * B;
  K0 = Sm.partialPivLu().solve(B.transpose() * H * A + Ms);
  return K0.allFinite();
}

}  // namespace

const char* start_name(int variant) {
  static const char* names[] = {"zero", "summed-cost LQR", "regularized LQR", "unit LQR"};
  return variant >= 0 && variant < kStartVariants ? names[variant] : "none";
}

// Start gain number `variant` (0: zero, tried only for a Schur-stable A; 1: the
// summed-cost LQR; 2: the same with Q + eps I; 3: unit weights) without the final
// stability check: lq_nash checks it by evaluating P(K0), which proves stability by
// the same squarings, and asks for the next variant if it fails. False if this
// variant gives no gain (then try the next).
bool start_gain(const LQNashProblem& pb, Mat& K0, int variant) {
  const Index n = pb.dims.n, m = pb.dims.m, N = pb.dims.N;
  K0 = Mat::Zero(m, n);
  if (variant == 0) return is_schur_stable(pb.A);
  if (variant == 3) {  // unit weights, scaled to B: min sum |x|^2 + ||B||^2 |u|^2
    const double b2 = std::max(pb.B.squaredNorm() / double(std::max<Index>(m, 1)), kTiny);
    const Mat Ru = b2 * Mat::Identity(m, m);
    Eigen::LLT<Mat> llt(Ru);
    return dare_gain(pb.A, pb.B, Mat::Identity(n, n), Ru, llt, Mat::Zero(m, n), K0);
  }
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
  if (variant == 2) {  // Q + eps I: detectable, so the DARE's solution is stabilizing
    const double q = std::max(safe_norm(Qs), safe_norm(Rs) * pb.B.squaredNorm() / double(std::max<Index>(m, 1)));
    if (!std::isfinite(q)) return false;
    Qs.diagonal().array() += 1e-6 * std::max(q, kTiny);
  }
  return dare_gain(pb.A, pb.B, Qs, Rs, llt, Ms, K0);
}

}  // namespace gamesolve::nash

namespace gamesolve {

bool default_start(const LQNashProblem& pb, Mat& K0) {
  for (int v = 0; v < nash::kStartVariants; ++v)
    if (nash::start_gain(pb, K0, v) && nash::is_schur_stable(pb.A - pb.B * K0)) return true;
  return false;
}

}  // namespace gamesolve
