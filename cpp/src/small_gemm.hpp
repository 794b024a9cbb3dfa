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
// FMAs per k. The compiler vectorizes the fixed-length loops with
// -march=native (AVX-512 or AVX2).
#pragma once

#include "gamesolve/lq_game.hpp"

#include <algorithm>

namespace gamesolve::detail {

constexpr Index kPad = 8;
inline Index padded(Index r) { return (r + kPad - 1) / kPad * kPad; }

// One pass over the columns of C for a compile-time block of R rows. Columns
// are taken four at a time so that 4*R/8 accumulators are independent (FMA
// latency, not throughput, bounds a single column's chain). B(k, j) is read as
// B[k * brs + j * bcs], so B may be any strided view (e.g. a transpose).
template <int R>
inline void gemm_rows(double* __restrict C, Index ldc, const double* __restrict A, Index lda,
                      const double* __restrict B, Index brs, Index bcs, Index p, Index c, double alpha,
                      bool accumulate) {
  Index j = 0;
  for (; j + 4 <= c; j += 4) {
    double acc0[R], acc1[R], acc2[R], acc3[R];
    double* C0 = C + j * ldc;
    for (int i = 0; i < R; ++i) {
      acc0[i] = accumulate ? C0[i] : 0.0;
      acc1[i] = accumulate ? C0[ldc + i] : 0.0;
      acc2[i] = accumulate ? C0[2 * ldc + i] : 0.0;
      acc3[i] = accumulate ? C0[3 * ldc + i] : 0.0;
    }
    const double* Bj = B + j * bcs;
    for (Index k = 0; k < p; ++k) {
      const double* Bk = Bj + k * brs;
      const double b0 = alpha * Bk[0], b1 = alpha * Bk[bcs], b2 = alpha * Bk[2 * bcs], b3 = alpha * Bk[3 * bcs];
      const double* Ak = A + k * lda;
      for (int i = 0; i < R; ++i) {
        const double a = Ak[i];
        acc0[i] += a * b0;
        acc1[i] += a * b1;
        acc2[i] += a * b2;
        acc3[i] += a * b3;
      }
    }
    for (int i = 0; i < R; ++i) {
      C0[i] = acc0[i];
      C0[ldc + i] = acc1[i];
      C0[2 * ldc + i] = acc2[i];
      C0[3 * ldc + i] = acc3[i];
    }
  }
  for (; j < c; ++j) {
    double acc[R];
    double* Cj = C + j * ldc;
    for (int i = 0; i < R; ++i) acc[i] = accumulate ? Cj[i] : 0.0;
    const double* Bj = B + j * bcs;
    for (Index k = 0; k < p; ++k) {
      const double b = alpha * Bj[k * brs];
      const double* Ak = A + k * lda;
      for (int i = 0; i < R; ++i) acc[i] += Ak[i] * b;
    }
    for (int i = 0; i < R; ++i) Cj[i] = acc[i];
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
      case 8: gemm_rows<8>(C + i0, ldc, A + i0, lda, B, brs, bcs, p, c, alpha, accumulate); break;
      case 16: gemm_rows<16>(C + i0, ldc, A + i0, lda, B, brs, bcs, p, c, alpha, accumulate); break;
      case 24: gemm_rows<24>(C + i0, ldc, A + i0, lda, B, brs, bcs, p, c, alpha, accumulate); break;
      default: gemm_rows<32>(C + i0, ldc, A + i0, lda, B, brs, bcs, p, c, alpha, accumulate); break;
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
