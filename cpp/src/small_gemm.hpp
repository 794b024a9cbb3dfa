// Column-major small-matrix products for the Riccati stage (internal header).
//
// At the sizes of dynamic games (n, m ~ 2..50) Eigen's blocked GEMM spends
// more time packing (and allocating its blocking buffers) than multiplying,
// and its coefficient-based product does not vectorize well for dynamic
// sizes. Here every workspace matrix has its row count padded to a multiple of
// kPad with zero rows (padded rows of a product only ever depend on padded
// rows of the left operand, so they stay zero), which lets the kernel treat
// the rows of an output column as a compile-time block of 8/16/24/32 values
// held in registers: C(:, j) = sum_k A(:, k) B(k, j), one broadcast and R/8
// vector FMAs per k (-march=native: AVX-512 or AVX2).
#pragma once

#include "gamesolve/lq_game.hpp"

#include <algorithm>
#include <cstring>

namespace gamesolve::detail {

constexpr Index kPad = 8;
inline Index padded(Index r) { return (r + kPad - 1) / kPad * kPad; }

// Eight doubles as one value (GCC/Clang vector extension): one zmm register
// with AVX-512, two ymm with AVX2. Accumulators declared this way stay in
// registers; plain arrays of doubles were kept on the stack by the compiler.
typedef double v8d __attribute__((vector_size(64)));

inline v8d load8(const double* p) {
  v8d v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store8(double* p, v8d v) { std::memcpy(p, &v, sizeof v); }

// One pass over the columns of C for a compile-time block of R = 8 V rows.
// Columns are taken four at a time so that 4 V accumulators are independent
// (FMA latency, not throughput, bounds a single column's chain); the remaining
// columns use two accumulators per row block (even / odd k). B(k, j) is read
// as B[k * brs + j * bcs], so B may be any strided view (e.g. a transpose).
template <int V>
inline void gemm_rows(double* __restrict C, Index ldc, const double* __restrict A, Index lda,
                      const double* __restrict B, Index brs, Index bcs, Index p, Index c, double alpha,
                      bool accumulate) {
  Index j = 0;
  for (; j + 4 <= c; j += 4) {
    v8d acc[4][V];
    double* C0 = C + j * ldc;
    for (int q = 0; q < 4; ++q)
      for (int v = 0; v < V; ++v) acc[q][v] = accumulate ? load8(C0 + q * ldc + 8 * v) : v8d{};
    const double* Bj = B + j * bcs;
    for (Index k = 0; k < p; ++k) {
      const double* Bk = Bj + k * brs;
      const double b[4] = {alpha * Bk[0], alpha * Bk[bcs], alpha * Bk[2 * bcs], alpha * Bk[3 * bcs]};
      const double* Ak = A + k * lda;
      v8d a[V];
      for (int v = 0; v < V; ++v) a[v] = load8(Ak + 8 * v);
      for (int q = 0; q < 4; ++q)
        for (int v = 0; v < V; ++v) acc[q][v] += a[v] * b[q];
    }
    for (int q = 0; q < 4; ++q)
      for (int v = 0; v < V; ++v) store8(C0 + q * ldc + 8 * v, acc[q][v]);
  }
  for (; j < c; ++j) {
    v8d acc[V], acc2[V];
    double* Cj = C + j * ldc;
    for (int v = 0; v < V; ++v) {
      acc[v] = accumulate ? load8(Cj + 8 * v) : v8d{};
      acc2[v] = v8d{};
    }
    const double* Bj = B + j * bcs;
    Index k = 0;
    for (; k + 2 <= p; k += 2) {
      const double b0 = alpha * Bj[k * brs], b1 = alpha * Bj[(k + 1) * brs];
      const double* Ak = A + k * lda;
      for (int v = 0; v < V; ++v) {
        acc[v] += load8(Ak + 8 * v) * b0;
        acc2[v] += load8(Ak + lda + 8 * v) * b1;
      }
    }
    if (k < p) {
      const double b0 = alpha * Bj[k * brs];
      const double* Ak = A + k * lda;
      for (int v = 0; v < V; ++v) acc[v] += load8(Ak + 8 * v) * b0;
    }
    for (int v = 0; v < V; ++v) store8(Cj + 8 * v, acc[v] + acc2[v]);
  }
}

/// C (rp x c, ldc) = [C +] alpha * A (rp x p, lda) * B (p x c), column-major A
/// and C; rp must be a multiple of kPad (the padded row count). B(k, j) is
/// B[k * brs + j * bcs] (brs = 1, bcs = ldb for a column-major B; brs = ldb,
/// bcs = 1 for the transpose of a column-major matrix).
inline void gemm(double* C, Index ldc, const double* A, Index lda, const double* B, Index brs, Index bcs, Index rp,
                 Index p, Index c, double alpha, bool accumulate) {
  for (Index i0 = 0; i0 < rp; i0 += 32) {
    switch (std::min<Index>(32, rp - i0)) {
      case 8: gemm_rows<1>(C + i0, ldc, A + i0, lda, B, brs, bcs, p, c, alpha, accumulate); break;
      case 16: gemm_rows<2>(C + i0, ldc, A + i0, lda, B, brs, bcs, p, c, alpha, accumulate); break;
      case 24: gemm_rows<3>(C + i0, ldc, A + i0, lda, B, brs, bcs, p, c, alpha, accumulate); break;
      default: gemm_rows<4>(C + i0, ldc, A + i0, lda, B, brs, bcs, p, c, alpha, accumulate); break;
    }
  }
}

/// Eigen-facing wrapper: C and A are padded workspace matrices (or column
/// blocks of them) with the same padded row count; B is any column-major
/// matrix or block with B.rows() == A.cols().
template <class DC, class DA, class DB>
inline void gemm(DC&& C, const DA& A, const DB& B, double alpha = 1.0, bool accumulate = false) {
  eigen_assert(C.rows() == A.rows() && C.rows() % kPad == 0 && C.cols() == B.cols() && A.cols() == B.rows());
  gemm(C.data(), C.outerStride(), A.data(), A.outerStride(), B.data(), 1, B.outerStride(), A.rows(), A.cols(),
       B.cols(), alpha, accumulate);
}

}  // namespace gamesolve::detail
