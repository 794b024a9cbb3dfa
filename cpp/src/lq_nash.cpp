// The driver of the infinite-horizon LQ Nash solver (lq_nash.hpp): problem
// construction, the explicit methods, and method "auto" as a table of attempts
// run in order until one certifies, each recorded as a NashStage. The
// iterations themselves are in lq_nash_{riccati,lyapunov,newton}.cpp.
#include "gamesolve/lq_nash.hpp"

#include "lq_nash_work.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace gamesolve {
namespace {

using nash::StageOut;
using nash::Work;

const char* method_name(NashMethod m, bool acc) {
  switch (m) {
    case NashMethod::Lyapunov: return acc ? "lyapunov+anderson" : "lyapunov";
    case NashMethod::Riccati: return acc ? "riccati+anderson" : "riccati";
    case NashMethod::Newton: return "newton";
    default: return "auto";
  }
}

// One attempt of a solve: a method, where it starts, and its budget.
struct Attempt {
  NashMethod method;
  bool accelerated;
  NashStart start;
  int max_iter_cap;     // > 0: at most this many iterations (else LQNashOptions::max_iter)
  int min_stall_window;  // the stall window is at least this (the patient fallbacks)
};

// Method "auto": tried in order until one certifies. Newton gets at most 100
// iterations; the slow fallbacks (plain Lyapunov, Riccati from P = Q) a longer
// stall window, since they converge on some games where the accelerated or
// Newton iterations stall. An attempt from Best is skipped when there is none.
constexpr Attempt kAutoAttempts[] = {
    {NashMethod::Riccati, true, NashStart::Initial, 0, 0},
    {NashMethod::Lyapunov, true, NashStart::BestOrInitial, 0, 0},
    {NashMethod::Newton, false, NashStart::Best, 100, 0},
    {NashMethod::Newton, false, NashStart::Initial, 100, 0},
    {NashMethod::Lyapunov, false, NashStart::Initial, 0, 200},
    {NashMethod::Riccati, false, NashStart::Q, 0, 200},
    {NashMethod::Riccati, true, NashStart::Q, 0, 200},
};

// The start points an attempt may use.
struct Starts {
  const Mat& K0;                 // the start gain
  const std::vector<Mat>& P0;    // Riccati's values at the start: P(K0), or Q
  const std::vector<Mat>& Q;
  const Mat* best;               // the best stabilizing candidate so far, or nullptr
};

// Run one attempt (opts: the solve's options with its stall window).
StageOut run_attempt(Work& w, const Attempt& a, const Starts& s, const LQNashOptions& opts,
                     std::vector<double>& hist) {
  const int max_iter = a.max_iter_cap > 0 ? std::min(opts.max_iter, a.max_iter_cap) : opts.max_iter;
  LQNashOptions o = opts;
  o.stall_window = std::max(opts.stall_window, a.min_stall_window);
  const double inner = std::max(1e-3 * opts.tol, 1e-15);  // the fixed-point iterations' target
  const Mat& K = (a.start == NashStart::Best || (a.start == NashStart::BestOrInitial && s.best)) ? *s.best : s.K0;
  switch (a.method) {
    case NashMethod::Riccati:
      return nash::riccati_stage(w, a.start == NashStart::Q ? s.Q : s.P0, inner, max_iter, a.accelerated, o, hist);
    case NashMethod::Lyapunov:
      return nash::lyapunov_stage(w, K, inner, max_iter, a.accelerated, o, hist);
    default:
      return nash::newton_stage(w, K, 0.1 * opts.tol, max_iter, hist);
  }
}

}  // namespace

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
    nash::symmetrize(KRK);
    g.Q[i] += rho * KRK;
    g.M[i].middleRows(o, mi) = rho * RK;
  }
  return g;
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
      if (!nash::start_gain(pb, K0)) {
        res.status = kNashNoStabilizingStart;
        nash::certify(w, K0, res, o.tol);
        return false;
      }
      have_K0 = true;
    }
    return true;
  };
  std::vector<Mat> P(N, Mat(n, n));
  if (user_start && !w.evaluate(K0, P)) {
    res.status = kNashBadStart;
    nash::certify(w, K0, res, o.tol);
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
        nash::certify(w, K0, res, o.tol);
        return res;
      }
    }
  }
  auto record = [&](const Attempt& a, const StageOut& s) {
    res.stages.push_back({a.method, a.accelerated, s.iterations, s.status, s.residual, a.start});
    res.iterations += s.iterations;
  };
  // Certified answer of an attempt: the iterate pair if it certifies, else P(K).
  auto certify_stage = [&](const StageOut& s) {
    if (nash::certify_pair(w, s.K, s.P, res, o.tol)) return true;
    return nash::certify(w, s.K, res, o.tol);
  };
  if (o.method != NashMethod::Auto) {  // one attempt of the given method
    const bool from_Q = o.method == NashMethod::Riccati && !user_start;
    const Attempt a{o.method, false, from_Q ? NashStart::Q : NashStart::Initial, 0, 0};
    if (o.method != NashMethod::Riccati && !need_K0()) return res;
    const StageOut s = run_attempt(w, a, {K0, P, pb.Q, nullptr}, oo, res.history);
    record(a, s);
    const bool ok = certify_stage(s);
    res.converged = ok && s.status == kNashConverged;
    res.status = res.converged ? kNashConverged : (s.status == kNashConverged ? kNashStalled : s.status);
    return res;
  }
  // ---- Auto: the attempts of kAutoAttempts, stopping at the first certified answer.
  // "Best" = smallest certified residual among stabilizing candidates.
  Mat K = K0, Kbest = K0;
  double best = std::numeric_limits<double>::infinity();
  bool ok = false;
  std::string name;
  LQNashResult best_res;  // K, P and residuals of the best candidate
  auto consider = [&](const Attempt& a, const StageOut& s) {
    record(a, s);
    res.status = s.status;
    if (s.status == kNashSingular || s.status == kNashNonFinite || s.K.size() == 0) return;
    const bool c = certify_stage(s);
    if (res.residual < best && res.spectral_radius < 1.0) {
      best = res.residual;
      Kbest = s.K;
      name = method_name(a.method, a.accelerated);
      nash::copy_certificate(res, best_res);
    }
    ok = ok || c;
  };
  for (const Attempt& a : kAutoAttempts) {
    if (ok) break;
    const bool have_best = std::isfinite(best);
    if (a.start == NashStart::Best && !have_best) continue;
    consider(a, run_attempt(w, a, {K0, P, pb.Q, have_best ? &Kbest : nullptr}, oo, res.history));
  }
  // Report the best candidate (certified if ok).
  if (std::isfinite(best)) {
    K = Kbest;
    nash::copy_certificate(best_res, res);
  } else {
    K = K0;
    nash::certify(w, K, res, o.tol);
  }
  ok = res.residual <= o.tol && res.spectral_radius < 1.0;
  if (name.empty()) name = "riccati+anderson";
  // Newton polish from the answer: always when the Jacobian is cheap, else only if needed.
  const bool cheap = double(m * n) * double(m * n) * N <= 4096.0;
  if (o.polish && res.spectral_radius < 1.0 && (cheap || !ok)) {
    for (int p = 0; p < 3; ++p) {
      LQNashResult trial;
      std::vector<double> h;
      StageOut s = nash::newton_stage(w, K, 0.0, 1, h);
      if (s.iterations == 0 || (nash::certify(w, s.K, trial, o.tol), !(trial.residual < res.residual))) break;
      const double before = res.residual;
      trial.iterations = res.iterations + 1;
      trial.history = std::move(res.history);
      trial.history.push_back(trial.residual);
      trial.stages = std::move(res.stages);
      trial.stages.push_back({NashMethod::Newton, false, 1, kNashConverged, trial.residual, NashStart::Best});
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
