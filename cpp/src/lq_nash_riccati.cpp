// Riccati iteration of the infinite-horizon LQ Nash solver (lq_nash_work.hpp):
// P <- Phi(P), the finite-horizon stage map, to a fixed point, Anderson mixing on
// the packed symmetric value matrices.
#include "lq_nash_work.hpp"
#include "gamesolve/anderson.hpp"
#include "gamesolve/check.hpp"

namespace gamesolve::nash {

namespace {

using detail::hsum;
using detail::kW;
using detail::loadv;
using detail::storev;
using detail::vd;

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

// N stacked n x n blocks of a vector as matrices.
void unpack(const Vec& v, std::vector<Mat>& P, Index n) {
  P.resize(v.size() / (n * n));
  for (size_t i = 0; i < P.size(); ++i) P[i] = Eigen::Map<const Mat>(v.data() + i * n * n, n, n);
}

}  // namespace

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

}  // namespace gamesolve::nash
