// Value checks of LQ game data (cpp/include/gamesolve/validate.hpp).
#include "gamesolve/validate.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

namespace gamesolve {

bool all_finite(const double* x, Index size) {
  // A double is NaN or infinite iff its exponent bits are all ones: an integer
  // test that vectorizes (unlike a floating-point reduction without -ffast-math).
  constexpr std::uint64_t kExp = 0x7ff0000000000000ull;
  constexpr Index kChunk = 256;
  for (Index lo = 0; lo < size; lo += kChunk) {
    const Index hi = std::min(size, lo + kChunk);
    std::uint64_t bad = 0;
    for (Index i = lo; i < hi; ++i) {
      std::uint64_t u;
      std::memcpy(&u, x + i, sizeof u);
      bad |= static_cast<std::uint64_t>((u & kExp) == kExp);
    }
    if (bad) return false;
  }
  return true;
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

bool definite_scratch(const double* X, Index k, Index ld, double* L, double* y) {
  // H = D^{-1/2} sym(X) D^{-1/2} (lower triangle), D = diag(X).
  for (Index i = 0; i < k; ++i)
    if (!(X[i * ld + i] > 0.0)) return false;
  for (Index i = 0; i < k; ++i) {
    const double si = 1.0 / std::sqrt(X[i * ld + i]);
    for (Index j = 0; j <= i; ++j)
      L[i * k + j] = 0.5 * (X[i * ld + j] + X[j * ld + i]) * si / std::sqrt(X[j * ld + j]);
  }
  if (!cholesky_inplace(L, k)) return false;  // H = L L'
  // lambda_min(L L') = 1 / ||L^{-1}||_2^2 >= 1 / ||L^{-1}||_F^2; the computed L is the exact
  // factor of H + E with ||E||_2 <= k (k + 1) eps (unit diagonal), hence the first slack term.
  // The second keeps lambda_min(H) above the bound under which any backward-stable Cholesky
  // (LAPACK's, on the unscaled matrix) is guaranteed to run to completion: 20 k^{3/2} eps
  // kappa_2(H) < 1 with kappa_2(H) <= k / lambda_min(H) (Higham, Accuracy and Stability, 10.1).
  double fro = 0.0;
  for (Index c = 0; c < k; ++c) {  // column c of L^{-1}, rows c..k-1, by forward substitution
    y[c] = 1.0 / L[c * k + c];
    fro += y[c] * y[c];
    for (Index i = c + 1; i < k; ++i) {
      double v = 0.0;
      for (Index r = c; r < i; ++r) v -= L[i * k + r] * y[r];
      y[i] = v / L[i * k + i];
      fro += y[i] * y[i];
    }
  }
  const double eps = std::numeric_limits<double>::epsilon(), kd = double(k);
  const double slack = 4.0 * kd * (kd + 1.0) * eps + 20.0 * kd * kd * std::sqrt(kd) * eps;
  return fro * (kDefiniteMargin + slack) < 1.0;  // false for NaN / inf
}

}  // namespace

bool definite_with_margin(const double* X, Index k, Index ld) {
  if (k <= 8) {
    std::array<double, 64> L;
    std::array<double, 8> y;
    return definite_scratch(X, k, ld, L.data(), y.data());
  }
  std::vector<double> L(static_cast<std::size_t>(k * k)), y(static_cast<std::size_t>(k));
  return definite_scratch(X, k, ld, L.data(), y.data());
}

namespace {

// Calls f(block pointer) once for every distinct block of `s` (a stride of 0
// is one block for all stages / games).
template <class F>
bool each_block(const Series& s, Index T, Index batch, F&& f) {
  const Index nb = s.b_stride ? batch : 1, nt = s.t_stride ? T : 1;
  for (Index b = 0; b < nb; ++b)
    for (Index t = 0; t < nt; ++t)
      if (!f(s.at(b, t))) return false;
  return true;
}

}  // namespace

ValueCheck check_game_values(const LQGameData& g, double sym_rtol) {
  check_game(g);
  const Dims& d = g.dims;
  const Index N = d.N, n = d.n, m = d.m, T = g.T, batch = g.batch;
  struct Item {
    const char* name;
    const Series* s;
    Index block, T;
  };
  const std::array<Item, 10> items{{{"A", &g.A, n * n, T},
                                    {"B", &g.B, n * m, T},
                                    {"Q", &g.Q, N * n * n, T},
                                    {"q", &g.q, N * n, T},
                                    {"R", &g.R, N * m * m, T},
                                    {"r", &g.r, N * m, T},
                                    {"M", &g.M, N * m * n, T},
                                    {"c", &g.c, n, T},
                                    {"QT", &g.QT, N * n * n, 1},
                                    {"qT", &g.qT, N * n, 1}}};
  for (const Item& it : items) {
    if (!it.s->present()) continue;
    const Index blk = it.block;
    if (!each_block(*it.s, it.T, batch, [&](const double* x) { return all_finite(x, blk); }))
      return {ValueIssue::kNonFinite, it.name};
  }
  auto sym = [&](Index k) {
    return [&, k](const double* x) {
      for (Index i = 0; i < N; ++i)
        if (!symmetric_rel(x + i * k * k, k, sym_rtol)) return false;
      return true;
    };
  };
  if (!each_block(g.Q, T, batch, sym(n))) return {ValueIssue::kAsymmetric, "Q"};
  if (!each_block(g.QT, 1, batch, sym(n))) return {ValueIssue::kAsymmetric, "QT"};
  if (!each_block(g.R, T, batch, sym(m))) return {ValueIssue::kAsymmetric, "R"};
  const bool definite = each_block(g.R, T, batch, [&](const double* x) {
    for (Index i = 0; i < N; ++i)
      if (!definite_with_margin(x + i * m * m + d.off[i] * m + d.off[i], d.m_i[i], m)) return false;
    return true;
  });
  if (!definite) return {ValueIssue::kNotDefinite, "R"};
  return {};
}

}  // namespace gamesolve
