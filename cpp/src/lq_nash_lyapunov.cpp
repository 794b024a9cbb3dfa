// Lyapunov iteration of the infinite-horizon LQ Nash solver (lq_nash_work.hpp):
// P^i(K) by Stein equations, then K <- S^{-1} Y (Li & Gajic), Anderson mixing on K.
#include "lq_nash_work.hpp"
#include "gamesolve/anderson.hpp"
#include "gamesolve/check.hpp"

namespace gamesolve::nash {

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

}  // namespace gamesolve::nash
