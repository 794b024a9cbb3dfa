// Exact policy evaluation and softmax learners for finite Markov games (gamesolve/markov.hpp).
//
// One profile at a time: a workspace sized for one profile is allocated per call and reused
// for every iteration and every member of the batch. Linear systems (I - gamma P_pi) X = Y
// are solved by Gaussian elimination on contiguous, padded augmented
// rows without pivoting (`solve_dominant`), which at these sizes (S ~ 4..64) beats a blocked LU.
#include "gamesolve/markov.hpp"
#include "gamesolve/check.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "small_gemm.hpp"

#if defined(__SSE2__) || defined(_M_X64)
#include <xmmintrin.h>
#define GAMESOLVE_HAS_MXCSR 1
#endif  // detail::kW, kPad, padded, loadv, storev, hsum

namespace gamesolve::markov {

using detail::padded;

/// The preprocessed game: P padded to Sp columns, the action of each player in each joint action.
struct Layout {
  Index N = 0, S = 0, A = 1, Am = 0, Sp = 0;
  Index ldN = 0;  ///< row length of the N-right-hand-side augmented system
  Index ld1 = 0;  ///< row length of a one-right-hand-side augmented system
  double gamma = 0.0;
  std::vector<Index> actions;
  std::vector<Index> index;  ///< (N, A): player i's action in joint action a
  std::vector<Index> members;  ///< player i's A / A_i joint actions with a_i = k, for i, k in order
  std::vector<Index> first;    ///< (N Am + 1): where the list of (i, k) starts in `members`
  std::vector<Index> all;      ///< 0, ..., A - 1
  std::vector<double> P;     ///< (S, A, Sp), zero past S
  std::vector<double> r;     ///< (N, S, A)
  std::vector<double> mu;    ///< (S,)
};

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// y += w x and x'y for lengths n that are multiples of detail::kPad (padded rows).
inline void axpy(double* __restrict y, const double* __restrict x, double w, Index n) {
  for (Index j = 0; j < n; j += detail::kW) detail::storev(y + j, detail::loadv(y + j) + w * detail::loadv(x + j));
}

inline double dot_plain(const double* __restrict x, const double* __restrict y, Index n) {
  double s = 0.0;
  for (Index j = 0; j < n; ++j) s += x[j] * y[j];
  return s;
}

inline double dot(const double* __restrict x, const double* __restrict y, Index n) {
  detail::vd acc{};
  for (Index j = 0; j < n; j += detail::kW) acc += detail::loadv(x + j) * detail::loadv(y + j);
  return detail::hsum(acc);
}

/// Flush-to-zero and denormals-are-zero on this thread for the duration of a kernel call, the
/// previous mode restored after. Near-deterministic softmax policies carry probabilities (and
/// products of them) below 2^-1022, whose arithmetic is many times slower on x86; flushed, every
/// value changes by less than 1e-300 (measured: NPG at N = 5 runs 1.8x faster).
class FlushDenormals {
 public:
#ifdef GAMESOLVE_HAS_MXCSR
  FlushDenormals() : csr_(_mm_getcsr()) { _mm_setcsr(csr_ | 0x8040u); }  // FTZ (bit 15) | DAZ (bit 6)
  ~FlushDenormals() { _mm_setcsr(csr_); }

 private:
  unsigned csr_;
#endif
};

/// out = sum_t w[a_t] P[a_t, :] over the joint actions a_t = sel[0..n) (rows of P of length Sp,
/// a multiple of detail::kPad), accumulated in registers by blocks of up to 4 vectors.
template <int NV>
inline void combine_block(double* __restrict out, const double* __restrict P, Index Sp, const double* __restrict w,
                          const Index* __restrict sel, Index n) {
  detail::vd acc[NV] = {};
  for (Index t = 0; t < n; ++t) {
    const double wt = w[sel[t]];
    const double* __restrict row = P + sel[t] * Sp;
    for (int v = 0; v < NV; ++v) acc[v] += wt * detail::loadv(row + v * detail::kW);
  }
  for (int v = 0; v < NV; ++v) detail::storev(out + v * detail::kW, acc[v]);
}

inline void combine(double* out, const double* P, Index Sp, const double* w, const Index* sel, Index n) {
  for (Index c = 0; c < Sp; c += 4 * detail::kW) {
    switch (std::min<Index>(4, (Sp - c) / detail::kW)) {
      case 4: combine_block<4>(out + c, P + c, Sp, w, sel, n); break;
      case 3: combine_block<3>(out + c, P + c, Sp, w, sel, n); break;
      case 2: combine_block<2>(out + c, P + c, Sp, w, sel, n); break;
      default: combine_block<1>(out + c, P + c, Sp, w, sel, n); break;
    }
  }
}

/// Solves S X = Y in place for m augmented rows [S(i, :) padded to pm | Y(i, :) up to ld] at
/// rows + i ld (pm, ld multiples of detail::kPad): on return the Y part of row i holds row i of
/// X. Gaussian elimination without pivoting, which is backward stable here: every system
/// solved is I - gamma P_pi for a stochastic P_pi (or its transpose), strictly diagonally
/// dominant by rows (by columns) with margin 1 - gamma, a property the Schur complements
/// keep; the growth factor is then at most 2 (Higham, Accuracy and Stability of Numerical
/// Algorithms, Thm. 9.9). Row updates start at the vector holding the pivot's column (the
/// columns before it are eliminated and never read again).
void solve_dominant(double* __restrict rows, Index m, Index pm, Index ld) {
  using detail::kW;
  using detail::loadv;
  using detail::storev;
  // eliminates column k from rows j in [k + 1, to)
  auto pivot = [&](Index k, Index to) {
    const double* __restrict rk = rows + k * ld;
    const double inv = 1.0 / rk[k];
    const Index c0 = k / kW * kW;
    for (Index j = k + 1; j < to; ++j) {
      double* __restrict rj = rows + j * ld;
      const double l = rj[k] * inv;
      if (l == 0.0) continue;
      for (Index a = c0; a < ld; a += kW) storev(rj + a, loadv(rj + a) - l * loadv(rk + a));
    }
  };
  Index k = 0;
  // panels of 4 pivots: the panel's rows first, then each row below takes its 4 multipliers
  // and one 4-term update (a quarter of the stores of 4 single updates)
  for (; k + 4 <= m; k += 4) {
    for (Index p = k; p < k + 3; ++p) pivot(p, k + 4);
    const double* __restrict u0 = rows + k * ld;
    const double* __restrict u1 = u0 + ld;
    const double* __restrict u2 = u1 + ld;
    const double* __restrict u3 = u2 + ld;
    const double i0 = 1.0 / u0[k], i1 = 1.0 / u1[k + 1], i2 = 1.0 / u2[k + 2], i3 = 1.0 / u3[k + 3];
    const Index c0 = k / kW * kW;
    for (Index j = k + 4; j < m; ++j) {
      double* __restrict rj = rows + j * ld;
      const double l0 = rj[k] * i0;
      const double l1 = (rj[k + 1] - l0 * u0[k + 1]) * i1;
      const double l2 = (rj[k + 2] - l0 * u0[k + 2] - l1 * u1[k + 2]) * i2;
      const double l3 = (rj[k + 3] - l0 * u0[k + 3] - l1 * u1[k + 3] - l2 * u2[k + 3]) * i3;
      for (Index a = c0; a < ld; a += kW)
        storev(rj + a, loadv(rj + a) - l0 * loadv(u0 + a) - l1 * loadv(u1 + a) - l2 * loadv(u2 + a) -
                           l3 * loadv(u3 + a));
    }
  }
  for (; k < m; ++k) pivot(k, m);
  // back substitution by columns: x_i final, then removed from the rows above (independent updates)
  for (Index i = m - 1; i >= 0; --i) {
    double* __restrict ri = rows + i * ld;
    const double inv = 1.0 / ri[i];
    for (Index a = pm; a < ld; a += kW) storev(ri + a, loadv(ri + a) * inv);
    for (Index j = 0; j < i; ++j) {
      double* __restrict rj = rows + j * ld;
      const double u = rj[i];
      for (Index a = pm; a < ld; a += kW) storev(rj + a, loadv(rj + a) - u * loadv(ri + a));
    }
  }
}

/// Scratch for one profile (sizes from the layout), reused across iterations.
struct Work {
  const Layout& L;
  std::vector<double> pol;   // (N, S, Am) the current policies
  std::vector<double> fac;   // (N, A) pi^i(a_i|s) at one state
  std::vector<double> pim;   // (N, A) prod_{j != i} pi^j(a_j|s) at one state
  std::vector<double> pre;   // (A,) prefix products
  std::vector<double> pi;    // (A,) the joint policy at one state
  std::vector<double> sys;   // (S, ldN) [I - gamma P_pi | r_pi^1 .. r_pi^N]
  std::vector<double> sysT;  // (S, ld1) [(I - gamma P_pi)' | mu]
  std::vector<double> sys1;  // (S, ld1) one player's MDP system
  std::vector<double> V;     // (N, Sp) V^i, zero past S
  std::vector<double> value; // (N,) V^i(mu)
  std::vector<double> d;     // (S,) d_mu
  std::vector<double> PI;    // (S, N, Am, Sp) induced transitions P_i(.|s, a_i)
  std::vector<double> RI;    // (N, S, Am) induced rewards
  std::vector<double> q;     // (N, S, Am) marginal Q^i(s, a_i)
  std::vector<double> Vb;    // (Sp,) one MDP's values
  std::vector<double> Qb;    // (S, Am) one MDP's Q
  std::vector<Index> act;    // (S,) deterministic actions (policy iteration)
  std::vector<double> cand;  // (N, S, Am) NPG-BR candidates
  std::vector<double> pk;    // (S, Am) NPG-BR inner policy
  std::vector<double> ak;    // (S, Am) NPG-BR inner advantage

  explicit Work(const Layout& lay)
      : L(lay),
        pol(lay.N * lay.S * lay.Am),
        fac(lay.N * lay.A),
        pim(lay.N * lay.A),
        pre(lay.A),
        pi(lay.A),
        sys(lay.S * lay.ldN),
        sysT(lay.S * lay.ld1),
        sys1(lay.S * lay.ld1),
        V(lay.N * lay.Sp),
        value(lay.N),
        d(lay.S),
        PI(lay.S * lay.N * lay.Am * lay.Sp),
        RI(lay.N * lay.S * lay.Am),
        q(lay.N * lay.S * lay.Am),
        Vb(lay.Sp),
        Qb(lay.S * lay.Am),
        act(lay.S),
        cand(lay.N * lay.S * lay.Am),
        pk(lay.S * lay.Am),
        ak(lay.S * lay.Am) {}

  const double* P_i(Index s, Index i, Index k) const { return PI.data() + ((s * L.N + i) * L.Am + k) * L.Sp; }

  /// pi^i(.|s) = softmax(theta^i(s, .)) over player i's A_i real actions, zero past A_i:
  /// theta and out (S, Am).
  static void softmax(const Layout& L, Index i, const double* theta, double* out) {
    const Index Ai = L.actions[i];
    for (Index s = 0; s < L.S; ++s) {
      const double* t = theta + s * L.Am;
      double* p = out + s * L.Am;
      double m = t[0];
      for (Index k = 1; k < Ai; ++k) m = std::max(m, t[k]);
      double sum = 0.0;
      for (Index k = 0; k < Ai; ++k) sum += (p[k] = std::exp(t[k] - m));
      for (Index k = 0; k < Ai; ++k) p[k] /= sum;
      for (Index k = Ai; k < L.Am; ++k) p[k] = 0.0;
    }
  }

  /// Evaluates the profile in `pol`: V, value, the induced MDPs, q; d_mu if `with_d`.
  void evaluate(bool with_d) {
    const Index N = L.N, S = L.S, A = L.A, Am = L.Am, Sp = L.Sp, ldN = L.ldN;
    const double g = L.gamma;
    std::fill(sys.begin(), sys.end(), 0.0);  // (PI, RI: zero past A_i from construction, else overwritten)
    for (Index s = 0; s < S; ++s) {
      // factors pi^i(a_i|s) and the leave-one-out products (suffix, then prefix: no division)
      for (Index i = 0; i < N; ++i) {
        const double* p = pol.data() + (i * S + s) * Am;
        const Index* idx = L.index.data() + i * A;
        for (Index a = 0; a < A; ++a) fac[i * A + a] = p[idx[a]];
      }
      std::fill(pim.begin() + (N - 1) * A, pim.begin() + N * A, 1.0);
      for (Index i = N - 2; i >= 0; --i)
        for (Index a = 0; a < A; ++a) pim[i * A + a] = pim[(i + 1) * A + a] * fac[(i + 1) * A + a];
      for (Index a = 0; a < A; ++a) pi[a] = pim[a] * fac[a], pre[a] = fac[a];
      for (Index i = 1; i < N; ++i)
        for (Index a = 0; a < A; ++a) {
          pim[i * A + a] *= pre[a];
          pre[a] *= fac[i * A + a];
        }
      // row s of [P_pi | r_pi], then I - gamma P_pi
      double* row = sys.data() + s * ldN;
      const double* Ps = L.P.data() + s * A * Sp;
      combine(row, Ps, Sp, pi.data(), L.all.data(), A);
      for (Index i = 0; i < N; ++i) row[Sp + i] = dot_plain(pi.data(), L.r.data() + (i * S + s) * A, A);
      for (Index j = 0; j < Sp; ++j) row[j] *= -g;
      row[s] += 1.0;
      // induced MDPs at s: P_i(.|s, k) and r_i(s, k) from the joint actions with a_i = k
      for (Index i = 0; i < N; ++i) {
        const double* w = pim.data() + i * A;
        const double* ri = L.r.data() + (i * S + s) * A;
        double* Ri = RI.data() + (i * S + s) * Am;
        double* Pi = PI.data() + (s * N + i) * Am * Sp;
        for (Index k = 0; k < L.actions[i]; ++k) {
          const Index* sel = L.members.data() + L.first[i * Am + k];
          const Index n = L.first[i * Am + k + 1] - L.first[i * Am + k];
          combine(Pi + k * Sp, Ps, Sp, w, sel, n);
          double acc = 0.0;
          for (Index t = 0; t < n; ++t) acc += w[sel[t]] * ri[sel[t]];
          Ri[k] = acc;
        }
      }
    }
    if (with_d) {
      const Index ld1 = L.ld1;
      std::fill(sysT.begin(), sysT.end(), 0.0);
      for (Index s = 0; s < S; ++s) {
        for (Index t = 0; t < S; ++t) sysT[t * ld1 + s] = sys[s * ldN + t];
        sysT[s * ld1 + Sp] = L.mu[s];
      }
      solve_dominant(sysT.data(), S, Sp, ld1);
      for (Index s = 0; s < S; ++s) d[s] = sysT[s * ld1 + Sp];
    }
    solve_dominant(sys.data(), S, Sp, ldN);
    std::fill(V.begin(), V.end(), 0.0);
    for (Index i = 0; i < N; ++i) {
      double v = 0.0;
      for (Index s = 0; s < S; ++s) {
        V[i * Sp + s] = sys[s * ldN + Sp + i];
        v += L.mu[s] * V[i * Sp + s];
      }
      value[i] = v;
    }
    for (Index i = 0; i < N; ++i)
      for (Index s = 0; s < S; ++s)
        for (Index k = 0; k < Am; ++k)
          q[(i * S + s) * Am + k] =
              k < L.actions[i] ? RI[(i * S + s) * Am + k] + g * dot(P_i(s, i, k), V.data() + i * Sp, Sp) : 0.0;
  }

  /// Player i's MDP under the policy p (S, Am) (or the deterministic actions `det`): its values
  /// into Vb, Q into Qb if `with_q`; returns mu' Vb.
  double eval_mdp(Index i, const double* p, const Index* det, bool with_q) {
    const Index S = L.S, Am = L.Am, Sp = L.Sp, ld1 = L.ld1, Ai = L.actions[i];
    const double g = L.gamma;
    std::fill(sys1.begin(), sys1.end(), 0.0);
    for (Index s = 0; s < S; ++s) {
      double* row = sys1.data() + s * ld1;
      const double* Ri = RI.data() + (i * S + s) * Am;
      if (det) {
        const double* src = P_i(s, i, det[s]);
        for (Index j = 0; j < Sp; ++j) row[j] = -g * src[j];
        row[Sp] = Ri[det[s]];
      } else {
        double rp = 0.0;
        for (Index k = 0; k < Ai; ++k) {
          const double w = p[s * Am + k];
          if (w == 0.0) continue;
          axpy(row, P_i(s, i, k), w, Sp);
          rp += w * Ri[k];
        }
        for (Index j = 0; j < Sp; ++j) row[j] *= -g;
        row[Sp] = rp;
      }
      row[s] += 1.0;
    }
    solve_dominant(sys1.data(), S, Sp, ld1);
    double v = 0.0;
    for (Index s = 0; s < S; ++s) {
      Vb[s] = sys1[s * ld1 + Sp];
      v += L.mu[s] * Vb[s];
    }
    if (with_q)
      for (Index s = 0; s < S; ++s) {
        const double* Ri = RI.data() + (i * S + s) * Am;
        for (Index k = 0; k < Ai; ++k) Qb[s * Am + k] = Ri[k] + g * dot(P_i(s, i, k), Vb.data(), Sp);
      }
    return v;
  }

  /// V^i(br_i, pi^-i)(mu) by policy iteration on player i's induced MDP, started from the
  /// greedy actions of the current marginal Q^i (requires `evaluate`).
  double best_response_value(Index i) {
    const Index S = L.S, Am = L.Am, Ai = L.actions[i];
    auto argmax = [&](const double* x) {
      Index best = 0;
      for (Index k = 1; k < Ai; ++k)
        if (x[k] > x[best]) best = k;
      return best;
    };
    for (Index s = 0; s < S; ++s) act[s] = argmax(q.data() + (i * S + s) * Am);
    for (int it = 0; it < kMaxPolicyIterations; ++it) {
      const double v = eval_mdp(i, nullptr, act.data(), true);
      bool improved = false;
      for (Index s = 0; s < S; ++s) {
        const double* Q = Qb.data() + s * Am;
        const double cur = Q[act[s]];
        const Index best = argmax(Q);
        if (Q[best] > cur + kImproveRtol * (1.0 + std::fabs(cur))) {
          act[s] = best;
          improved = true;
        }
      }
      if (!improved) return v;
    }
    throw PolicyIterationError("policy iteration did not terminate in " + std::to_string(kMaxPolicyIterations) +
                               " improvements");
  }

  /// The Nash gap of the evaluated profile (max over players of the best-response gain); the
  /// gains into `gains` (N) if given.
  double nash_gap(double* gains) {
    double gap = -std::numeric_limits<double>::infinity();
    for (Index i = 0; i < L.N; ++i) {
      const double gi = best_response_value(i) - value[i];
      if (gains) gains[i] = gi;
      gap = std::max(gap, gi);
    }
    return gap;
  }

  /// theta^i(s, .) += eta (direction + barrier gradient at policy p) over the real actions.
  void step(double* th, const double* p, const double* dir, Index i, double eta, double lam) const {
    const Index Ai = L.actions[i];
    const double c = lam / double(L.S * Ai);
    for (Index s = 0; s < L.S; ++s)
      for (Index k = 0; k < Ai; ++k) {
        const Index j = s * L.Am + k;
        const double b = lam > 0.0 ? c * (1.0 - double(Ai) * p[j]) : 0.0;
        th[j] += eta * (dir[j] + b);
      }
  }

  /// One update of the parameters `theta` (N, S, Am) from the evaluated profile `pol`.
  void update(const LearnOptions& o, double* theta) {
    const Index N = L.N, S = L.S, Am = L.Am, n = S * Am;
    const double scale = 1.0 / (1.0 - L.gamma);
    if (o.method == Method::kNPGBR) {
      double best_gain = -std::numeric_limits<double>::infinity();
      Index best = 0;
      for (Index i = 0; i < N; ++i) {
        double* th = cand.data() + i * n;
        std::copy(theta + i * n, theta + (i + 1) * n, th);
        std::copy(pol.begin() + i * n, pol.begin() + (i + 1) * n, pk.begin());
        for (Index k = 0; k < o.inner_steps; ++k) {
          if (k) eval_mdp(i, pk.data(), nullptr, true);
          for (Index s = 0; s < S; ++s)
            for (Index a = 0; a < Am; ++a) {
              const Index j = s * Am + a;
              const double Qsa = k ? Qb[j] - Vb[s] : q[i * n + j] - V[i * L.Sp + s];
              ak[j] = a < L.actions[i] ? Qsa * scale : 0.0;
            }
          step(th, pk.data(), ak.data(), i, o.step, o.lam);
          softmax(L, i, th, pk.data());
        }
        const double gain = eval_mdp(i, pk.data(), nullptr, false) - value[i];
        // the first maximum, a NaN counting as the maximum (numpy's argmax)
        if (!std::isnan(best_gain) && (gain > best_gain || std::isnan(gain))) best_gain = gain, best = i;
      }
      std::copy(cand.begin() + best * n, cand.begin() + (best + 1) * n, theta + best * n);
      return;
    }
    for (Index i = 0; i < N; ++i) {
      double* dir = ak.data();
      for (Index s = 0; s < S; ++s)
        for (Index a = 0; a < Am; ++a) {
          const Index j = s * Am + a;
          const double adv = q[i * n + j] - V[i * L.Sp + s];
          dir[j] = a >= L.actions[i] ? 0.0 : o.method == Method::kPG ? d[s] * pol[i * n + j] * adv : adv * scale;
        }
      step(theta + i * n, pol.data() + i * n, dir, i, o.step, o.lam);
    }
  }
};

}  // namespace

Kernel::Kernel(const MarkovGameData& g) : lay_(std::make_unique<Layout>()) {
  Layout& L = *lay_;
  L.N = static_cast<Index>(g.actions.size());
  L.S = g.S;
  if (L.N < 1 || L.S < 1) throw std::invalid_argument("a Markov game needs at least one player and one state");
  for (Index a : g.actions) {
    if (a < 1) throw std::invalid_argument("every player needs at least one action");
    if (L.A > (Index(1) << 24) / a) throw std::invalid_argument("too many joint actions");
    L.A *= a;
    L.Am = std::max(L.Am, a);
  }
  const Index N = L.N, S = L.S, A = L.A;
  if (static_cast<Index>(g.P.size()) != S * A * S || static_cast<Index>(g.r.size()) != N * S * A ||
      static_cast<Index>(g.mu.size()) != S)
    throw std::invalid_argument("Markov game arrays must have sizes P (S, A, S), r (N, S, A), mu (S,)");
  if (!(g.gamma >= 0.0 && g.gamma < 1.0)) throw std::invalid_argument("gamma must lie in [0, 1)");
  L.gamma = g.gamma;
  L.Sp = padded(S);
  L.ldN = L.Sp + padded(N);
  L.ld1 = L.Sp + detail::kPad;
  L.actions = g.actions;
  L.index.resize(N * A);
  for (Index a = 0; a < A; ++a) {
    Index rest = a;
    for (Index i = N - 1; i >= 0; --i) {
      L.index[i * A + a] = rest % L.actions[i];
      rest /= L.actions[i];
    }
  }
  L.first.assign(N * L.Am + 1, 0);
  for (Index i = 0; i < N; ++i)
    for (Index k = 0; k < L.Am; ++k) {
      L.first[i * L.Am + k] = static_cast<Index>(L.members.size());
      for (Index a = 0; a < A; ++a)
        if (L.index[i * A + a] == k) L.members.push_back(a);
    }
  L.first[N * L.Am] = static_cast<Index>(L.members.size());
  L.all.resize(A);
  for (Index a = 0; a < A; ++a) L.all[a] = a;
  L.P.assign(S * A * L.Sp, 0.0);
  for (Index sa = 0; sa < S * A; ++sa) std::copy(&g.P[sa * S], &g.P[sa * S] + S, &L.P[sa * L.Sp]);
  L.r = g.r;
  L.mu = g.mu;
}

Kernel::~Kernel() = default;

Index Kernel::players() const { return lay_->N; }
Index Kernel::states() const { return lay_->S; }
Index Kernel::max_actions() const { return lay_->Am; }

Evaluation Kernel::evaluate(Index B, const double* pol) const {
  const FlushDenormals flush{};
  const Layout& L = *lay_;
  const Index n = L.N * L.S * L.Am;
  Evaluation out;
  out.V.resize(B * L.N * L.S);
  out.value.resize(B * L.N);
  out.adv.resize(B * n);
  out.d.resize(B * L.S);
  Work w(L);
  for (Index b = 0; b < B; ++b) {
    std::copy(pol + b * n, pol + (b + 1) * n, w.pol.begin());
    w.evaluate(true);
    for (Index i = 0; i < L.N; ++i) {
      out.value[b * L.N + i] = w.value[i];
      for (Index s = 0; s < L.S; ++s) {
        const double v = w.V[i * L.Sp + s];
        out.V[(b * L.N + i) * L.S + s] = v;
        for (Index k = 0; k < L.Am; ++k) {
          const Index j = (i * L.S + s) * L.Am + k;
          out.adv[b * n + j] = k < L.actions[i] ? w.q[j] - v : 0.0;
        }
      }
    }
    std::copy(w.d.begin(), w.d.end(), out.d.begin() + b * L.S);
  }
  return out;
}

void Kernel::player_gains(Index B, const double* pol, double* gains, double* values) const {
  const FlushDenormals flush{};
  const Layout& L = *lay_;
  const Index n = L.N * L.S * L.Am;
  Work w(L);
  for (Index b = 0; b < B; ++b) {
    std::copy(pol + b * n, pol + (b + 1) * n, w.pol.begin());
    w.evaluate(false);
    w.nash_gap(gains + b * L.N);
    std::copy(w.value.begin(), w.value.end(), values + b * L.N);
  }
}

void Kernel::learn(const LearnOptions& o, Index B, double* theta, double* pol, double* gaps, double* poa) const {
  const FlushDenormals flush{};
  if (o.iterations < 0) throw std::invalid_argument("iterations must be non-negative");
  if (!(o.step > 0.0) || !(o.lam >= 0.0)) throw std::invalid_argument("step must be positive and lam non-negative");
  if (o.method == Method::kNPGBR && o.inner_steps < 1) throw std::invalid_argument("inner_steps must be positive");
  const Layout& L = *lay_;
  const Index n = L.N * L.S * L.Am, T = o.iterations;
  std::fill(gaps, gaps + B * (T + 1), kNaN);
  std::fill(poa, poa + B * (T + 1), kNaN);
  Work w(L);
  for (Index b = 0; b < B; ++b) {
    double* th = theta + b * n;
    for (Index t = 0; t <= T; ++t) {
      for (Index i = 0; i < L.N; ++i) Work::softmax(L, i, th + i * L.S * L.Am, w.pol.data() + i * L.S * L.Am);
      if (!all_finite(th, n)) break;
      w.evaluate(o.method == Method::kPG);
      gaps[b * (T + 1) + t] = w.nash_gap(nullptr);
      double total = 0.0;
      for (Index i = 0; i < L.N; ++i) total += w.value[i];
      poa[b * (T + 1) + t] = total / o.optimum;
      if (t == T) break;
      w.update(o, th);
    }
    std::copy(w.pol.begin(), w.pol.end(), pol + b * n);
  }
}

}  // namespace gamesolve::markov
