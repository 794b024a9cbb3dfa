// Small dense linear systems by Gaussian elimination on contiguous rows (internal header).
//
// A system S X = Y (S m x m) is stored as m augmented rows [S(i, :), Y(i, :)],
// row i at rows + i * ld: the S part padded to pm entries (a multiple of 8),
// then the right-hand sides up to ld (also a multiple of 8). In the Riccati
// kernel's workspace this is the column-major [S'; X] block (each column is a
// row of the system); for the doubling of lq_nash a row-major [W | A G].
// Every row operation is then a contiguous vector update, which at the sizes of
// dynamic games (m, n ~ 2..50) is several times faster than a blocked LU with
// separate triangular solves.
//
// The operations are those of LU with partial pivoting (LAPACK dgetf2 order)
// followed by forward and back substitution: row k swapped with the pivot row
// at step k, the rows below updated by l = a_jk / a_kk, back substitution by
// rows from the bottom (row i: the solved rows subtracted from the last one up,
// as in dtrsm, then the division by U(i, i)).
#pragma once

#include "small_gemm.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace gamesolve::detail {

/// Solves in place: on return the right-hand-side part of row i holds row i of
/// S^{-1} Y (the S part is left unspecified). With E != nullptr (m rows of pm,
/// any contents) the same operations applied to the identity leave S^{-1} in
/// E, and the return value is the exact 1-norm reciprocal condition number
/// 1 / (||S||_1 ||S^{-1}||_1) -- at about the cost of one more right-hand side
/// (an estimator's serial triangular solves cost more at these sizes). Without
/// E it returns 1. Returns 0 if a pivot is exactly zero (S singular) or the
/// inverse is not finite; the right-hand sides are then unspecified.
/// The largest column sum of |X| over the first m columns of the m rows at x (ld apart,
/// each padded with zeros to pm columns): the 1-norm of the m x m matrix; NaN if a sum
/// is not finite. Each column summed over the rows in order, by vectors across columns.
inline double max_column_sum(const double* __restrict x, Index m, Index pm, Index ld) {
  const vd lane = lane_index();
  double norm = 0.0;
  bool finite = true;
  for (Index a = 0; a < pm; a += kW) {
    vd sum{};
    for (Index j = 0; j < m; ++j) sum += absv(loadv(x + j * ld + a));
    sum = lane < double(m - a) ? sum : vd{};
    for (int l = 0; l < kW; ++l) {
      finite = finite && std::isfinite(sum[l]);
      norm = std::max(norm, sum[l]);
    }
  }
  return finite ? norm : std::numeric_limits<double>::quiet_NaN();
}

inline double eliminate(double* __restrict rows, Index m, Index pm, Index ld, double* __restrict E) {
  double norm1 = 0.0;  // ||S||_1: max column sum
  if (E) {
    norm1 = max_column_sum(rows, m, pm, ld);
    if (!(norm1 > 0.0)) return 0.0;  // also NaN: not finite
    for (Index j = 0; j < m * pm; ++j) E[j] = 0.0;
    for (Index j = 0; j < m; ++j) E[j + j * pm] = 1.0;
  }
  auto update = [](double* __restrict y, const double* __restrict x, double l, Index from, Index to) {
    for (Index a = from; a < to; a += kW) storev(y + a, loadv(y + a) - l * loadv(x + a));
  };
  auto swap_rows = [](double* __restrict a, double* __restrict b, Index len) {
    for (Index i = 0; i < len; i += kW) {
      const vd t = loadv(a + i);
      storev(a + i, loadv(b + i));
      storev(b + i, t);
    }
  };
  for (Index k = 0; k < m; ++k) {
    Index p = k;  // the first largest |S(j, k)|, j >= k (selects, not branches: the winner is data)
    double best = std::fabs(rows[k + k * ld]);
    for (Index j = k + 1; j < m; ++j) {
      const double a = std::fabs(rows[k + j * ld]);
      const bool larger = a > best;
      best = larger ? a : best;
      p = larger ? j : p;
    }
    double* __restrict rk = rows + k * ld;
    if (p != k) {
      swap_rows(rk, rows + p * ld, ld);
      if (E) swap_rows(E + k * pm, E + p * pm, pm);
    }
    const double d = rk[k];
    if (d == 0.0) return 0.0;
    for (Index j = k + 1; j < m; ++j) {
      double* __restrict rj = rows + j * ld;
      const double l = rj[k] / d;
      update(rj, rk, l, 0, ld);
      if (E) update(E + j * pm, E + k * pm, l, 0, pm);
    }
  }
  for (Index i = m - 1; i >= 0; --i) {
    double* __restrict ri = rows + i * ld;
    for (Index j = m - 1; j > i; --j) {  // x_{m-1} first, as dtrsm (x_{i+1}, the newest, last)
      const double u = ri[j];
      update(ri, rows + j * ld, u, pm, ld);
      if (E) update(E + i * pm, E + j * pm, u, 0, pm);
    }
    const double d = ri[i];
    for (Index a = pm; a < ld; a += kW) storev(ri + a, loadv(ri + a) / d);
    if (E)
      for (Index a = 0; a < pm; a += kW) storev(E + i * pm + a, loadv(E + i * pm + a) / d);
  }
  if (!E) return 1.0;
  // ||S^{-1}||_1 from the rows of E = S^{-1} (an overflow turns into NaN in later rows: 0 * inf)
  const double rc = 1.0 / (norm1 * max_column_sum(E, m, pm, pm));
  return rc > 0.0 ? rc : 0.0;  // NaN (not finite) fails too
}

}  // namespace gamesolve::detail
