// Checks of LQ game data (cpp/include/gamesolve/check.hpp).
#include "gamesolve/check.hpp"

#include <Eigen/Eigenvalues>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <vector>

// The finiteness tests below rely on IEEE NaN and infinity arithmetic (0 * inf is NaN).
#if defined(__FAST_MATH__) || (defined(__FINITE_MATH_ONLY__) && __FINITE_MATH_ONLY__)
#error "check.cpp must be built without -ffast-math / -ffinite-math-only"
#endif

namespace gamesolve {

double max_abs(const double* x, Index size) {
  // On the bits with the sign cleared, unsigned integer order is the order of |x| and puts
  // every NaN above infinity: an integer maximum that vectorizes and propagates NaN.
  constexpr std::uint64_t kMag = 0x7fffffffffffffffull;
  std::uint64_t top[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  Index i = 0;
  for (; i + 8 <= size; i += 8)
    for (int k = 0; k < 8; ++k) {
      std::uint64_t u;
      std::memcpy(&u, x + i + k, sizeof u);
      u &= kMag;
      top[k] = u > top[k] ? u : top[k];
    }
  for (; i < size; ++i) {
    std::uint64_t u;
    std::memcpy(&u, x + i, sizeof u);
    u &= kMag;
    top[0] = u > top[0] ? u : top[0];
  }
  std::uint64_t m = 0;
  for (std::uint64_t u : top) m = u > m ? u : m;
  double out;
  std::memcpy(&out, &m, sizeof out);
  return out;
}

bool all_finite(const double* x, Index size) {
  // 0 * x is +-0 for a finite x and NaN for a NaN or an infinity, and +-0 added to 0 stays 0:
  // the sums of 0 * x below are 0 iff every entry is finite (they never overflow). One fused
  // multiply-add per vector in 4 independent chains, so the pass runs at the speed memory
  // delivers the data (an integer test of the exponent bits took 1.4x as long on a batch's
  // inputs read from memory). Exact IEEE arithmetic: nothing here may be built with fast-math.
  constexpr int kLanes = 8, kChains = 4;
  double acc[kLanes * kChains] = {};
  Index i = 0;
  for (; i + kLanes * kChains <= size; i += kLanes * kChains)
    for (int k = 0; k < kLanes * kChains; ++k) acc[k] += x[i + k] * 0.0;
  for (; i + kLanes <= size; i += kLanes)
    for (int k = 0; k < kLanes; ++k) acc[k] += x[i + k] * 0.0;
  for (int k = 0; i < size; ++i, ++k) acc[kLanes + k] += x[i] * 0.0;
  double sum = 0.0;
  for (double a : acc) sum += a;
  return sum == 0.0;
}

Index first_nonfinite(const double* x, Index size) {
  if (all_finite(x, size)) return -1;
  for (Index i = 0; i < size; ++i)
    if (!std::isfinite(x[i])) return i;
  return -1;
}

bool cholesky_inplace(double* s, Index k) {
  for (Index j = 0; j < k; ++j) {
    double d = s[j * k + j];
    for (Index l = 0; l < j; ++l) d -= s[j * k + l] * s[j * k + l];
    if (!(d > 0.0)) return false;
    const double ljj = std::sqrt(d);
    s[j * k + j] = ljj;
    for (Index i = j + 1; i < k; ++i) {
      double v = s[i * k + j];
      for (Index l = 0; l < j; ++l) v -= s[i * k + l] * s[j * k + l];
      s[i * k + j] = v / ljj;
    }
  }
  return true;
}

bool symmetric_rel(const double* X, Index n, double rtol) {
  // Exact symmetry first (the common case), in one branch-free pass: row i's head
  // against column i, an integer OR (which vectorizes; a chain of && does not).
  // It decides exactly as the tolerance test below would (diff = 0 passes).
  std::uint64_t unequal = 0;
  for (Index i = 1; i < n; ++i) {
    const double* row = X + i * n;
    for (Index j = 0; j < i; ++j) unequal |= static_cast<std::uint64_t>(row[j] != X[j * n + i]);
  }
  if (!unequal) return true;
  double diff = 0.0, scale = 0.0;
  for (Index i = 0; i < n; ++i) {
    for (Index j = 0; j < n; ++j) scale = std::max(scale, std::fabs(X[i * n + j]));
    for (Index j = i + 1; j < n; ++j) diff = std::max(diff, std::fabs(X[i * n + j] - X[j * n + i]));
  }
  // The same floating-point operations as numpy's check: the decision is identical.
  return !(diff > rtol * std::max(scale, 1e-300));
}

namespace {

// Cholesky of the symmetric part of X into the k x k scratch L.
bool sym_cholesky(const double* X, Index k, Index ld, double* L) {
  for (Index i = 0; i < k; ++i)
    for (Index j = 0; j <= i; ++j) L[i * k + j] = 0.5 * (X[i * ld + j] + X[j * ld + i]);
  return cholesky_inplace(L, k);
}

}  // namespace

bool positive_definite(const double* X, Index k, Index ld, double* scratch) {
  if (k == 1) return 0.5 * (X[0] + X[0]) > 0.0;  // the steps of sym_cholesky, spelled out
  if (k == 2) {
    const double a = 0.5 * (X[0] + X[0]), b = 0.5 * (X[ld] + X[1]), c = 0.5 * (X[ld + 1] + X[ld + 1]);
    if (!(a > 0.0)) return false;
    const double l = b / std::sqrt(a);
    double d = c;
    d -= l * l;
    return d > 0.0;
  }
  return sym_cholesky(X, k, ld, scratch);
}

bool positive_definite(const double* X, Index k, Index ld) {
  if (k <= 8) {
    std::array<double, 64> L;
    return positive_definite(X, k, ld, L.data());
  }
  std::vector<double> L(static_cast<std::size_t>(k * k));
  return positive_definite(X, k, ld, L.data());
}

double smallest_eigenvalue(const double* X, Index k, Index ld) {
  Mat S(k, k);
  for (Index i = 0; i < k; ++i)
    for (Index j = 0; j < k; ++j) S(i, j) = 0.5 * (X[i * ld + j] + X[j * ld + i]);
  if (!S.allFinite()) return std::numeric_limits<double>::quiet_NaN();
  return Eigen::SelfAdjointEigenSolver<Mat>(S, Eigen::EigenvaluesOnly).eigenvalues()(0);
}

namespace {

// The largest |X - X'| and |X| of one row-major n x n matrix.
void asymmetry(const double* X, Index n, double& diff, double& scale) {
  diff = scale = 0.0;
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < n; ++j) {
      scale = std::max(scale, std::fabs(X[i * n + j]));
      diff = std::max(diff, std::fabs(X[i * n + j] - X[j * n + i]));
    }
}

// Every distinct block of `s` that belongs to `part`, with its (game, stage) indices; stops at
// the first f that fails. Part kShared: the blocks of an array without a batch axis (b = 0);
// part b >= 0: game b's blocks of an array with a batch axis.
constexpr Index kShared = -1;
// Whether array `s` has blocks in `part` (a batch axis for a game b >= 0, none for kShared).
inline bool in_part(const Series& s, Index part) { return (s.b_stride != 0) == (part != kShared); }
inline Index game_of(Index part) { return part == kShared ? 0 : part; }

template <class F>
bool each_indexed(const Series& s, Index T, Index part, F&& f) {
  if (!in_part(s, part)) return true;
  const Index b = game_of(part), nt = s.t_stride ? T : 1;
  for (Index t = 0; t < nt; ++t)
    if (!f(s.at(b, t), b, t)) return false;
  return true;
}

}  // namespace

std::array<GameArray, 10> game_arrays(LQGameData& g) {
  const Index N = g.dims.N, n = g.dims.n, m = g.dims.m;
  return {{{"A", &g.A, n * n, false},
           {"B", &g.B, n * m, false},
           {"Q", &g.Q, N * n * n, false},
           {"q", &g.q, N * n, false},
           {"R", &g.R, N * m * m, false},
           {"r", &g.r, N * m, false},
           {"M", &g.M, N * m * n, false},
           {"c", &g.c, n, false},
           {"QT", &g.QT, N * n * n, true},
           {"qT", &g.qT, N * n, true}}};
}

namespace {

// Every own block R^{ii} of `part` (kShared or one game b) positive definite.
ValueCheck own_blocks_part(const LQGameData& g, Index part) {
  const Dims& d = g.dims;
  const Index N = d.N, m = d.m;
  ValueCheck v;
  each_indexed(g.R, g.T, part, [&](const double* x, Index b, Index t) {
    for (Index i = 0; i < N; ++i) {
      const double* own = x + i * m * m + d.off[i] * m + d.off[i];
      if (!positive_definite(own, d.m_i[i], m)) {
        v = {ValueIssue::kNotDefinite, "R", b, t, i};
        v.eig = smallest_eigenvalue(own, d.m_i[i], m);
        return false;
      }
    }
    return true;
  });
  return v;
}

// check_game_values restricted to `part` (kShared or one game b): finiteness, symmetry of Q, QT
// and R, definiteness of every own block R^{ii}, in this order.
ValueCheck check_values_part(const LQGameData& g, double sym_rtol, bool check_finite, Index part) {
  const Dims& d = g.dims;
  const Index N = d.N, n = d.n, m = d.m, T = g.T;
  if (check_finite) {
    LQGameData& mut = const_cast<LQGameData&>(g);  // game_arrays hands out writable pointers; only read here
    for (const GameArray& it : game_arrays(mut)) {
      const Series& ser = *it.series;
      if (!ser.present() || !in_part(ser, part)) continue;
      const Index blk = it.block, nt = it.terminal ? 1 : T;
      // Stages stored back to back: one test of the whole span first; the blocks only to locate a failure.
      const bool contiguous = ser.t_stride == blk || ser.t_stride == 0;
      if (contiguous && all_finite(ser.at(game_of(part), 0), ser.t_stride ? nt * blk : blk)) continue;
      ValueCheck v{ValueIssue::kNonFinite, it.name};
      if (!each_indexed(ser, nt, part, [&](const double* x, Index b, Index t) {
            v.b = b;
            v.t = t;
            v.entry = first_nonfinite(x, blk);
            return v.entry < 0;
          }))
        return v;
    }
  }
  ValueCheck v;
  auto sym = [&](const char* name, Index k) {
    return [&, name, k](const double* x, Index b, Index t) {
      for (Index i = 0; i < N; ++i)
        if (!symmetric_rel(x + i * k * k, k, sym_rtol)) {
          v = {ValueIssue::kAsymmetric, name, b, t, i};
          asymmetry(x + i * k * k, k, v.diff, v.scale);
          return false;
        }
      return true;
    };
  };
  if (!each_indexed(g.Q, T, part, sym("Q", n))) return v;
  // QT defaulted to Q's last stage (same buffer, same batch stride) was checked as Q.
  const bool QT_is_Q = g.QT.data == g.Q.at(0, T - 1) && g.QT.b_stride == g.Q.b_stride;
  if (!QT_is_Q && !each_indexed(g.QT, 1, part, sym("QT", n))) return v;
  if (!each_indexed(g.R, T, part, sym("R", m))) return v;
  return own_blocks_part(g, part);
}

}  // namespace

ValueCheck check_shared_values(const LQGameData& g, double sym_rtol, bool check_finite) {
  check_game(g);
  return check_values_part(g, sym_rtol, check_finite, kShared);
}

ValueCheck check_values_of_game(const LQGameData& g, Index b, double sym_rtol, bool check_finite) {
  return check_values_part(g, sym_rtol, check_finite, b);
}

ValueCheck check_game_values(const LQGameData& g, double sym_rtol, bool check_finite) {
  ValueCheck v = check_shared_values(g, sym_rtol, check_finite);
  for (Index b = 0; v.ok() && b < g.batch; ++b) v = check_values_of_game(g, b, sym_rtol, check_finite);
  return v;
}

ValueCheck check_own_blocks(const LQGameData& g) {
  check_game(g);
  ValueCheck v = own_blocks_part(g, kShared);
  for (Index b = 0; v.ok() && b < g.batch; ++b) v = own_blocks_part(g, b);
  return v;
}

namespace {

// The shape of one (game, stage) block of the input `name` (docs/theory.md section 1).
std::vector<Index> block_shape(const std::string& name, const Dims& d) {
  if (name == "A") return {d.n, d.n};
  if (name == "B") return {d.n, d.m};
  if (name == "Q" || name == "QT") return {d.N, d.n, d.n};
  if (name == "q" || name == "qT") return {d.N, d.n};
  if (name == "R") return {d.N, d.m, d.m};
  if (name == "r") return {d.N, d.m};
  if (name == "M") return {d.N, d.m, d.n};
  if (name == "c") return {d.n};
  return {};
}

}  // namespace

std::string describe(const ValueCheck& v, const LQGameData& g, double sym_rtol) {
  auto num = [](double x) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3g", x);
    return std::string(buf);
  };
  const std::string bt = std::to_string(v.b) + ", " + std::to_string(v.t);
  const std::string name = v.name ? v.name : "?";
  switch (v.issue) {
    case ValueIssue::kOk:
      return "";
    case ValueIssue::kNonFinite: {
      // the entry's index in the block ((N,) n, n / m, ...): the flat offset in row-major order
      const std::vector<Index> shape = block_shape(name, g.dims);
      std::string idx;
      Index r = v.entry;
      for (auto s = shape.rbegin(); s != shape.rend(); ++s) {
        idx = std::to_string(r % *s) + (idx.empty() ? "" : ", ") + idx;
        r /= *s;
      }
      return name + " must be finite, found NaN or inf (first in game " + std::to_string(v.b) + ", stage " +
             std::to_string(v.t) + (idx.empty() ? "" : ", entry (" + idx + (shape.size() == 1 ? ",)" : ")")) + ")";
    }
    case ValueIssue::kAsymmetric:
      return name + "[" + bt + ", " + std::to_string(v.player) + "] must be symmetric: max |X - X'| = " +
             num(v.diff) + " exceeds " + num(sym_rtol) + " * max |X| = " + num(v.scale);
    case ValueIssue::kNotDefinite: {
      const std::string i = std::to_string(v.player);
      (void)g;
      return "R (player " + i + "'s own block R^" + i + i + ")[" + bt +
             "] must be positive definite, smallest eigenvalue is " + num(v.eig);
    }
  }
  return "";
}

void require_valid_values(const LQGameData& game, double sym_rtol, bool check_finite) {
  const ValueCheck v = check_game_values(game, sym_rtol, check_finite);
  if (!v.ok()) throw InputError(describe(v, game, sym_rtol));
}

}  // namespace gamesolve
