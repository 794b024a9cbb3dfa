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

// A certified residual above this is not at round-off: auto refines it (polish).
constexpr double kRoundoff = 1e-14;

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

// One solve: the problem's workspace, the start, and the result being built.
class Solve {
 public:
  Solve(const LQNashProblem& pb, const Mat& K0, const LQNashOptions& o)
      : pb_(pb), o_(o), w_(pb), user_start_(K0.size() != 0), K0_(K0), have_K0_(user_start_),
        P0_(pb.dims.N, Mat(pb.dims.n, pb.dims.n)) {
    res_.method = method_name(o.method, false);
    opts_ = o;  // the stall window: given, else 40 (auto) or 200 (an explicit method)
    opts_.stall_window = o.stall_window > 0 ? o.stall_window : (o.method == NashMethod::Auto ? 40 : 200);
  }

  LQNashResult run() {
    if (!prepare_start()) return std::move(res_);
    return o_.method == NashMethod::Auto ? run_auto() : run_explicit();
  }

 private:
  // The default start, computed on demand: the first variant of nash::start_gain
  // (zero, summed-cost LQR, regularized LQR, unit LQR) whose P(K0) evaluates (which
  // proves stability). False (res_ holds the failure) if none does.
  bool need_K0() {
    if (have_K0_) return true;
    for (int v = 0; v < nash::kStartVariants; ++v) {
      if (!nash::start_gain(pb_, K0_, v) || !w_.evaluate(K0_, P0_)) continue;
      have_K0_ = true;
      res_.start = nash::start_name(v);
      return true;
    }
    K0_ = Mat::Zero(w_.m, w_.n);
    res_.status = kNashNoStabilizingStart;
    res_.start = "none";
    nash::certify(w_, K0_, res_, o_.tol);
    return false;
  }

  // K0 and the Riccati start P0 = P(K0) (K0 given or the default start); only an
  // explicit Riccati run without K0 starts the finite-horizon way, from P = Q.
  // False (the failure in res_) if the start is not stabilizing. Auto without a
  // stabilizing start still runs its attempts from P = Q.
  bool prepare_start() {
    if (user_start_) {
      res_.start = "user K0";
      if (w_.evaluate(K0_, P0_)) return true;
      res_.status = kNashBadStart;
      nash::certify(w_, K0_, res_, o_.tol);
      return false;
    }
    if (o_.method == NashMethod::Riccati) {
      P0_ = pb_.Q;
      res_.start = "P = Q";
      return true;
    }
    return need_K0() || o_.method == NashMethod::Auto;
  }

  // Run attempt a (from `best` where it says so) and record it.
  StageOut run_attempt(const Attempt& a, const Mat* best) {
    const int max_iter = a.max_iter_cap > 0 ? std::min(o_.max_iter, a.max_iter_cap) : o_.max_iter;
    LQNashOptions o = opts_;
    o.stall_window = std::max(opts_.stall_window, a.min_stall_window);
    const double inner = std::max(1e-3 * o_.tol, 1e-15);  // the fixed-point iterations' target
    const bool from_best = a.start == NashStart::Best || (a.start == NashStart::BestOrInitial && best);
    const Mat& K = from_best ? *best : K0_;
    StageOut s;
    switch (a.method) {
      case NashMethod::Riccati:
        s = nash::riccati_stage(w_, a.start == NashStart::Q ? pb_.Q : P0_, inner, max_iter, a.accelerated, o,
                                res_.history);
        break;
      case NashMethod::Lyapunov:
        s = nash::lyapunov_stage(w_, K, inner, max_iter, a.accelerated, o, res_.history);
        break;
      default:
        s = nash::newton_stage(w_, K, 0.1 * o_.tol, max_iter, res_.history);
    }
    res_.stages.push_back({a.method, a.accelerated, s.iterations, s.status, s.residual, a.start});
    res_.iterations += s.iterations;
    return s;
  }

  // Certified answer of an attempt (into res_): the iterate pair if it certifies, else P(K).
  // A stage that met its own target but whose answer does not certify is recorded
  // as kNashUncertified (so no attempt of a failed solve reads "converged").
  bool certify_stage(const StageOut& s) {
    const bool c = nash::certify_pair(w_, s.K, s.P, res_, o_.tol) || nash::certify(w_, s.K, res_, o_.tol);
    if (!c && !res_.stages.empty() && res_.stages.back().status == kNashConverged)
      res_.stages.back().status = kNashUncertified;
    return c;
  }

  // An explicit method: one attempt.
  LQNashResult run_explicit() {
    const bool from_Q = o_.method == NashMethod::Riccati && !user_start_;
    const Attempt a{o_.method, false, from_Q ? NashStart::Q : NashStart::Initial, 0, 0};
    if (o_.method != NashMethod::Riccati && !need_K0()) return std::move(res_);
    const StageOut s = run_attempt(a, nullptr);
    // The certificate decides (residual <= tol at a stabilizing K), whatever the
    // stage's own measure says.
    res_.converged = certify_stage(s);
    res_.status = res_.converged ? kNashConverged : (s.status == kNashConverged ? kNashUncertified : s.status);
    return std::move(res_);
  }

  // Method auto: the attempts of kAutoAttempts, stopping at the first certified
  // answer; the best candidate ("best" = smallest certified residual among
  // stabilizing candidates) is reported, after a Newton polish.
  LQNashResult run_auto() {
    Mat Kbest = K0_;
    double best = std::numeric_limits<double>::infinity();
    bool ok = false;
    std::string name;
    LQNashResult best_res;  // K, P and residuals of the best candidate
    const std::string k0_start = res_.start;
    std::string best_start;
    for (const Attempt& a : kAutoAttempts) {
      if (ok) break;
      const bool have_best = std::isfinite(best);
      if (a.start == NashStart::Best && !have_best) continue;
      if (!have_K0_ && a.start != NashStart::Q && !(a.start == NashStart::BestOrInitial && have_best)) continue;
      const StageOut s = run_attempt(a, have_best ? &Kbest : nullptr);
      res_.status = s.status;
      if (s.status == kNashSingular || s.status == kNashNonFinite || s.K.size() == 0) continue;
      const bool c = certify_stage(s);
      if (res_.residual < best && res_.spectral_radius < 1.0) {
        best = res_.residual;
        Kbest = s.K;
        name = method_name(a.method, a.accelerated);
        nash::copy_certificate(res_, best_res);
        const bool from_best = a.start == NashStart::Best || (a.start == NashStart::BestOrInitial && have_best);
        best_start = a.start == NashStart::Q ? std::string("P = Q") : from_best ? best_start : k0_start;
      }
      ok = ok || c;
    }
    Mat K = K0_;
    if (std::isfinite(best)) {
      K = Kbest;
      nash::copy_certificate(best_res, res_);
      res_.start = best_start;
    } else if (have_K0_) {
      nash::certify(w_, K, res_, o_.tol);
    } else {  // no stabilizing start and no stabilizing candidate: the start's failure stands
      res_.status = kNashNoStabilizingStart;
      res_.converged = false;
      return std::move(res_);
    }
    ok = res_.residual <= o_.tol && res_.spectral_radius < 1.0;
    if (name.empty()) name = "riccati+anderson";
    polish(K, ok, name);
    res_.converged = ok && res_.residual <= o_.tol && res_.spectral_radius < 1.0;
    res_.status = res_.converged ? kNashConverged : (res_.status == kNashConverged ? kNashUncertified : res_.status);
    res_.method = name;
    return std::move(res_);
  }

  // One player, a certified answer whose residual is above round-off (kRoundoff):
  // up to 3 Lyapunov steps K <- S(P(K))^{-1} Y(P(K)) -- for N = 1 that is Newton's
  // method (Hewer), one Stein solve per step, no Jacobian -- while the correction
  // shrinks; the pair (K_new, P(K_old)) (whose P-equation residual is
  // O(||dK||^2)) is kept if it certifies with a smaller residual.
  void refine(Mat& K) {
    if (w_.N != 1) return;
    std::vector<Mat> P(1, Mat(w_.n, w_.n));
    Mat Kc = K, Kn(w_.m, w_.n);
    double prev = std::numeric_limits<double>::infinity();
    int steps = 0;
    LQNashResult best;
    bool have = false;
    for (int p = 0; p < 3; ++p) {
      if (!w_.evaluate(Kc, P)) break;
      w_.build_SY(P);
      if (!w_.solve_K(Kn)) break;
      const double dk = nash::safe_norm(Kn - Kc) / std::max(nash::safe_norm(Kn), nash::kTiny);
      ++steps;
      LQNashResult trial;
      if (nash::certify_pair(w_, Kn, P, trial, o_.tol) && trial.residual < (have ? best.residual : res_.residual)) {
        best = std::move(trial);
        have = true;
      }
      if (!(dk < prev) || dk <= 1e-16) break;
      prev = dk;
      Kc = Kn;
    }
    res_.iterations += steps;
    if (!have) return;
    best.iterations = res_.iterations;
    best.history = std::move(res_.history);
    best.history.push_back(best.residual);
    best.stages = std::move(res_.stages);
    best.stages.push_back({NashMethod::Lyapunov, false, steps, kNashConverged, best.residual, NashStart::Best});
    best.status = res_.status;
    best.start = std::move(res_.start);
    res_ = std::move(best);
    K = res_.K;
  }

  // Newton polish by need: when the answer is not certified, or when its error
  // estimate (residual x condition estimate of the Stein operator) exceeds tol.
  // Up to 4 Newton steps, kept while the correction ||dK|| / ||K|| shrinks (on
  // near-marginal problems the residual of (K, P(K)) is itself condition x
  // round-off and cannot judge a step: the corrections can); then the polished K
  // is certified as an iterate pair by a short Riccati iteration from P(K) (else
  // by P(K)), and kept if it certifies with a smaller error estimate (or, for an
  // uncertified answer, a smaller residual).
  void polish(Mat& K, bool& ok, std::string& name) {
    if (!o_.polish || !(res_.spectral_radius < 1.0)) return;
    if (ok && res_.residual > kRoundoff) refine(K);
    if (ok && res_.error_estimate <= o_.tol) return;
    Mat Kp = K;
    double prev = std::numeric_limits<double>::infinity();
    int steps = 0;
    std::vector<double> hist;
    for (int p = 0; p < 4; ++p) {
      const StageOut s = nash::newton_stage(w_, Kp, 0.0, 1, hist);
      if (s.iterations == 0 || s.status == kNashBadStart || s.status == kNashSingular) break;
      const double dk = nash::safe_norm(s.K - Kp) / std::max(nash::safe_norm(s.K), nash::kTiny);
      if (!(dk > 0.0 && dk < prev)) break;  // no longer contracting: at round-off
      Kp = s.K;
      prev = dk;
      ++steps;
      if (dk <= 1e-15) break;
    }
    if (steps == 0) return;
    LQNashResult trial;
    std::vector<Mat> P(w_.N, Mat(w_.n, w_.n));
    bool c = false;
    int rit = 0;
    if (w_.evaluate(Kp, P)) {
      const StageOut r = nash::riccati_stage(w_, P, 1e-15, 20, false, opts_, hist);
      rit = r.iterations;
      c = r.status == kNashConverged && nash::certify_pair(w_, r.K, r.P, trial, o_.tol);
    }
    if (!c) c = nash::certify(w_, Kp, trial, o_.tol);
    const bool better = c ? (!ok || trial.error_estimate <= res_.error_estimate) : (!ok && trial.residual < res_.residual);
    if (!better) return;
    trial.iterations = res_.iterations + steps + rit;
    trial.history = std::move(res_.history);
    trial.history.insert(trial.history.end(), hist.begin(), hist.end());
    trial.stages = std::move(res_.stages);
    trial.stages.push_back({NashMethod::Newton, false, steps, c ? kNashConverged : kNashStalled, prev, NashStart::Best});
    if (rit > 0) trial.stages.push_back({NashMethod::Riccati, false, rit, c ? kNashConverged : kNashStalled,
                                         trial.residual, NashStart::Best});
    trial.status = res_.status;
    trial.start = std::move(res_.start);
    res_ = std::move(trial);
    K = res_.K;
    if (name.find("newton") == std::string::npos) name += "+newton";
    ok = c;
  }

  const LQNashProblem& pb_;
  const LQNashOptions& o_;
  LQNashOptions opts_;  // o_ with the stall window resolved
  Work w_;
  LQNashResult res_;
  bool user_start_;
  Mat K0_;
  bool have_K0_;
  std::vector<Mat> P0_;  // Riccati's start values
};
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

namespace {

std::string shape(Index r, Index c) { return "(" + std::to_string(r) + ", " + std::to_string(c) + ")"; }

void check_matrix(const char* who, const std::string& name, const Mat& X, Index r, Index c) {
  if (X.rows() != r || X.cols() != c)
    throw std::invalid_argument(std::string(who) + ": " + name + " must have shape " + shape(r, c) + ", got " +
                                shape(X.rows(), X.cols()));
}

// Sizes of a problem (it may be built by hand) and of a gain K (m x n).
void check_problem(const char* who, const LQNashProblem& pb) {
  const Index N = pb.dims.N, n = pb.dims.n, m = pb.dims.m;
  if (N < 1 || Index(pb.dims.m_i.size()) != N || Index(pb.dims.off.size()) < N)
    throw std::invalid_argument(std::string(who) + ": the problem's dims are not set (use make_lq_nash_problem)");
  check_matrix(who, "A", pb.A, n, n);
  check_matrix(who, "B", pb.B, n, m);
  if (Index(pb.Q.size()) != N || Index(pb.R.size()) != N || !(pb.M.empty() || Index(pb.M.size()) == N))
    throw std::invalid_argument(std::string(who) + ": Q, R (and M if given) must hold N = " + std::to_string(N) +
                                " matrices");
  for (Index i = 0; i < N; ++i) {
    check_matrix(who, "Q[" + std::to_string(i) + "]", pb.Q[i], n, n);
    check_matrix(who, "R[" + std::to_string(i) + "]", pb.R[i], m, m);
    if (!pb.M.empty()) check_matrix(who, "M[" + std::to_string(i) + "]", pb.M[i], m, n);
  }
}

// Exact power-of-two scaling of a problem ([theory §3]): player j's control by
// d_j (B^j -> d_j B^j, R^i -> D R^i D, M^i -> D M^i, K = D K_s) and player i's
// costs by c_i (Q^i, R^i, M^i -> c_i (...), P^i = P_s^i / c_i), applied only
// when a scale is far from 1 (|log2| > 20), so that every game of ordinary scale
// is solved on its own data. Powers of two keep the scaled data exact.
struct Scaling {
  std::vector<double> d, c;  // per control row (m), per player (N)
  bool identity = true;
  int bad_player = -1;       // an own block R^ii that the scaling takes out of range
};

double pow2_scale(double mx) {  // 2^-e with mx = f 2^e, f in [0.5, 1), if |e| > 20, else 1
  if (!(mx > 0.0) || !std::isfinite(mx)) return 1.0;
  int e;
  std::frexp(mx, &e);
  return std::abs(e) > 20 ? std::ldexp(1.0, -e) : 1.0;
}

Scaling choose_scaling(const LQNashProblem& pb) {
  const Index N = pb.dims.N, m = pb.dims.m;
  Scaling sc;
  sc.d.assign(std::size_t(m), 1.0);
  sc.c.assign(std::size_t(N), 1.0);
  for (Index j = 0; j < N; ++j) {
    const Index o = pb.dims.off[j], mj = pb.dims.m_i[j];
    const double dj = pow2_scale(pb.B.middleCols(o, mj).cwiseAbs().maxCoeff());
    for (Index r = o; r < o + mj; ++r) sc.d[std::size_t(r)] = dj;
    sc.identity = sc.identity && dj == 1.0;
  }
  const Eigen::Map<const Vec> d(sc.d.data(), m);
  for (Index i = 0; i < N; ++i) {
    double mx = std::max(pb.Q[i].cwiseAbs().maxCoeff(), (d.asDiagonal() * pb.R[i] * d.asDiagonal()).cwiseAbs().maxCoeff());
    if (!pb.M.empty()) mx = std::max(mx, (d.asDiagonal() * pb.M[i]).cwiseAbs().maxCoeff());
    sc.c[std::size_t(i)] = pow2_scale(mx);
    sc.identity = sc.identity && sc.c[std::size_t(i)] == 1.0;
  }
  return sc;
}

LQNashProblem scaled_problem(const LQNashProblem& pb, Scaling& sc) {
  const Index N = pb.dims.N, m = pb.dims.m;
  const Eigen::Map<const Vec> d(sc.d.data(), m);
  LQNashProblem s = pb;
  s.B = pb.B * d.asDiagonal();
  for (Index i = 0; i < N; ++i) {
    const double c = sc.c[std::size_t(i)];
    s.Q[i] = c * pb.Q[i];
    s.R[i] = c * (d.asDiagonal() * pb.R[i] * d.asDiagonal());
    if (!pb.M.empty()) s.M[i] = c * (d.asDiagonal() * pb.M[i]);
    const Index o = pb.dims.off[i], mi = pb.dims.m_i[i];
    // the own block must stay a normal, well-represented number (else R^ii is lost to underflow)
    const double rii = s.R[i].block(o, o, mi, mi).cwiseAbs().maxCoeff();
    if (!(rii >= 0x1p-900) || !s.Q[i].allFinite() || !s.R[i].allFinite()) sc.bad_player = int(i);
  }
  return s;
}

// The result of the scaled problem in the original variables: K = D K_s, P^i = P_s^i / c_i.
void unscale(const Scaling& sc, LQNashResult& r) {
  const Index m = Index(sc.d.size());
  if (r.K.rows() == m) r.K = Eigen::Map<const Vec>(sc.d.data(), m).asDiagonal() * r.K;
  for (std::size_t i = 0; i < r.P.size() && i < sc.c.size(); ++i) r.P[i] /= sc.c[i];
  bool finite = r.K.allFinite();
  for (const Mat& P : r.P) finite = finite && P.allFinite();
  if (r.converged && !finite) {  // the answer overflows in the original units
    r.converged = false;
    r.status = kNashNonFinite;
  }
}

}  // namespace

namespace nash {
void check_sizes(const char* who, const LQNashProblem& pb, const Mat& K) {
  check_problem(who, pb);
  check_matrix(who, "K", K, pb.dims.m, pb.dims.n);
}
}  // namespace nash

namespace {

// The solve with the control / cost scaling of choose_scaling.
LQNashResult solve_scaled(const LQNashProblem& pb, const Mat& K0, const LQNashOptions& o) {
  Scaling sc = choose_scaling(pb);
  if (sc.identity) return Solve(pb, K0, o).run();
  const LQNashProblem spb = scaled_problem(pb, sc);
  if (sc.bad_player >= 0) {
    LQNashResult r;
    r.status = kNashBadScale;
    r.K = Mat::Zero(pb.dims.m, pb.dims.n);
    r.residual = r.res_K = r.res_P = std::numeric_limits<double>::quiet_NaN();
    r.method = "none";
    r.start = "none";
    return r;
  }
  Mat K0s = K0;
  if (K0.size() != 0) K0s = Eigen::Map<const Vec>(sc.d.data(), pb.dims.m).cwiseInverse().asDiagonal() * K0;
  LQNashResult r = Solve(spb, K0s, o).run();
  unscale(sc, r);
  return r;
}

// State balancing for a second pass: x = T z with T = diag(t), t_k a power of two
// ~ 1 / sqrt(sum_i |P^i_kk|), so that the value matrices of the balanced game
// P_s = T P T have diagonals ~ 1 (A -> T^-1 A T, B -> T^-1 B, Q -> T Q T,
// M -> M T, K_s = K T). Empty if P's diagonal is already balanced (ratio <= 1e4)
// or not finite.
Vec balancing(const std::vector<Mat>& P, Index n) {
  Vec d = Vec::Zero(n);
  for (const Mat& Pi : P) d += Pi.diagonal().cwiseAbs();
  if (!d.allFinite() || !(d.minCoeff() > 0.0) || d.maxCoeff() <= 1e4 * d.minCoeff()) return Vec();
  Vec t(n);
  for (Index k = 0; k < n; ++k) {
    int e;
    std::frexp(1.0 / std::sqrt(d(k)), &e);
    t(k) = std::ldexp(1.0, e);
  }
  return t;
}

LQNashProblem state_scaled(const LQNashProblem& pb, const Vec& t) {
  LQNashProblem s = pb;
  const Vec ti = t.cwiseInverse();
  s.A = ti.asDiagonal() * pb.A * t.asDiagonal();
  s.B = ti.asDiagonal() * pb.B;
  for (Index i = 0; i < pb.dims.N; ++i) {
    s.Q[i] = t.asDiagonal() * pb.Q[i] * t.asDiagonal();
    if (!pb.M.empty()) s.M[i] = pb.M[i] * t.asDiagonal();
  }
  return s;
}

}  // namespace

LQNashResult lq_nash(const LQNashProblem& pb, const Mat& K0, const LQNashOptions& o) {
  if (!(o.tol > 0.0) || !std::isfinite(o.tol) || o.max_iter < 1 || o.anderson_depth < 0 ||
      o.anderson_depth > kMaxAndersonDepth)
    throw std::invalid_argument("lq_nash options: need tol > 0, max_iter >= 1 and 0 <= anderson_depth <= " +
                                std::to_string(kMaxAndersonDepth));
  check_problem("lq_nash", pb);
  if (K0.size() != 0) check_matrix("lq_nash", "K0", K0, pb.dims.m, pb.dims.n);
  LQNashResult r = solve_scaled(pb, K0, o);
  // Auto, not certified or its error estimate above tol, and value matrices whose
  // diagonals span more than 1e4 (relative residuals then hide the small entries):
  // a second pass on the state-balanced game, from the first pass's gain if it
  // stabilizes; kept if it certifies with a smaller error estimate.
  if (o.method != NashMethod::Auto || (r.converged && r.error_estimate <= o.tol) || r.status == kNashBadScale ||
      Index(r.P.size()) != pb.dims.N)
    return r;
  const Vec t = balancing(r.P, pb.dims.n);
  if (t.size() == 0) return r;
  const LQNashProblem bp = state_scaled(pb, t);
  Mat K0b;
  if (r.K.allFinite() && r.spectral_radius < 1.0) K0b = r.K * t.asDiagonal();
  LQNashResult b = solve_scaled(bp, K0b, o);
  if (!b.converged || (r.converged && !(b.error_estimate < r.error_estimate))) return r;
  const Vec ti = t.cwiseInverse();
  b.K = b.K * ti.asDiagonal();
  for (Mat& P : b.P) P = ti.asDiagonal() * P * ti.asDiagonal();
  b.iterations += r.iterations;
  b.history.insert(b.history.begin(), r.history.begin(), r.history.end());
  b.stages.insert(b.stages.begin(), r.stages.begin(), r.stages.end());
  b.method += "+balanced";
  if (K0b.size() != 0) b.start = r.start;
  return b;
}

}  // namespace gamesolve
