// Column-major small-matrix products for the Riccati stage (internal header).
//
// At the sizes of dynamic games (n, m ~ 2..50) Eigen's blocked GEMM spends
// more time packing (and allocating its blocking buffers) than multiplying,
// and its coefficient-based product does not vectorize well for dynamic
// sizes. Here every workspace matrix has its row count padded to a multiple of
// kPad with zero rows (padded rows of a product only ever depend on padded
// rows of the left operand, so they stay zero), which lets the kernel treat
// the rows of an output column as a compile-time block of 8/16/24/32 values
// held in registers: C(:, j) = sum_k A(:, k) B(k, j), one broadcast and one
// vector FMA per 8 rows and k.
//
// The vector width follows the target (-march=native: 8 doubles with AVX-512,
// 4 with AVX/AVX2, 2 otherwise), so the same code is register-resident on any
// x86-64 (and under valgrind, which has no AVX-512).
//
// A product may be a sum of terms, C [+]= sum_t A_t B_t (fused: C is loaded
// and stored once), and may be restricted to the upper triangle of a square C
// (column j computes only the 8-row blocks covering rows 0..j; the rest of
// that column is left unspecified and must be ignored by the caller).
#pragma once

#include "gamesolve/lq_game.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <utility>
#if defined(__SSE2__)
#include <immintrin.h>
#endif

namespace gamesolve::detail {

constexpr Index kPad = 8;
inline Index padded(Index r) { return (r + kPad - 1) / kPad * kPad; }

#if defined(__AVX512F__)
constexpr int kW = 8;
#elif defined(__AVX__)
constexpr int kW = 4;
#else
constexpr int kW = 2;
#endif
constexpr int kVB = kPad / kW;  // vectors per 8-row block
// Accumulator registers a tile may use (32 vector registers with AVX-512, 16 otherwise).
constexpr int kAccRegs = kW == 8 ? 24 : 12;

// kW doubles as one value (GCC/Clang vector extension). Accumulators declared
// this way stay in registers; plain arrays of doubles were kept on the stack.
typedef double vd __attribute__((vector_size(8 * kW)));

inline vd loadv(const double* p) {
  vd v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void storev(double* p, vd v) { std::memcpy(p, &v, sizeof v); }

/// Lanes 0, 1, ..., kW - 1.
inline vd lane_index() {
  vd v;
  for (int l = 0; l < kW; ++l) v[l] = l;
  return v;
}

/// The first `len` doubles at p (len >= kW: a whole vector), the other lanes 0;
/// reads nothing past p + len.
inline vd load_partial(const double* p, Index len) {
  if (len >= kW) return loadv(p);
  if (len <= 0) return vd{};
#if defined(__AVX512F__)
  return _mm512_maskz_loadu_pd(static_cast<__mmask8>((1u << len) - 1), p);
#elif defined(__AVX__)
  return _mm256_maskload_pd(p, _mm256_castpd_si256(_mm256_cmp_pd(lane_index(), _mm256_set1_pd(double(len)), _CMP_LT_OQ)));
#else
  vd v{};
  for (Index l = 0; l < len; ++l) v[l] = p[l];
  return v;
#endif
}

/// Bit l set iff lane l of v is not zero (NaN counts as not zero).
inline std::uint64_t nonzero_lanes(vd v) {
#if defined(__AVX512F__)
  return _mm512_cmp_pd_mask(v, _mm512_setzero_pd(), _CMP_NEQ_UQ);
#elif defined(__AVX__)
  return unsigned(_mm256_movemask_pd(_mm256_cmp_pd(v, _mm256_setzero_pd(), _CMP_NEQ_UQ)));
#elif defined(__SSE2__)
  return unsigned(_mm_movemask_pd(_mm_cmpneq_pd(v, _mm_setzero_pd())));
#else
  std::uint64_t bits = 0;
  for (int l = 0; l < kW; ++l) bits |= std::uint64_t(!(v[l] == 0.0)) << l;
  return bits;
#endif
}

/// Transposes the kW x kW block held as kW column vectors x[0..kW-1], in place:
/// afterwards lane r of x[c] is what lane c of x[r] was.
inline void transpose_block(vd* x) {
#if defined(__AVX512F__)
  __m512d t[8], s[8];
  for (int k = 0; k < 8; k += 2) {
    t[k] = _mm512_unpacklo_pd(x[k], x[k + 1]);      // lanes 0, 2, 4, 6 of columns k, k + 1
    t[k + 1] = _mm512_unpackhi_pd(x[k], x[k + 1]);  // lanes 1, 3, 5, 7
  }
  for (int h = 0; h < 2; ++h) {  // h = 0: from the even lanes, 1: from the odd ones
    s[4 * h + 0] = _mm512_shuffle_f64x2(t[h], t[h + 2], 0x88);      // rows 0/1 and 4/5 (+h) of columns 0..3
    s[4 * h + 1] = _mm512_shuffle_f64x2(t[h + 4], t[h + 6], 0x88);  // of columns 4..7
    s[4 * h + 2] = _mm512_shuffle_f64x2(t[h], t[h + 2], 0xdd);      // rows 2/3 and 6/7 (+h)
    s[4 * h + 3] = _mm512_shuffle_f64x2(t[h + 4], t[h + 6], 0xdd);
  }
  for (int h = 0; h < 2; ++h) {
    x[h + 0] = _mm512_shuffle_f64x2(s[4 * h], s[4 * h + 1], 0x88);
    x[h + 4] = _mm512_shuffle_f64x2(s[4 * h], s[4 * h + 1], 0xdd);
    x[h + 2] = _mm512_shuffle_f64x2(s[4 * h + 2], s[4 * h + 3], 0x88);
    x[h + 6] = _mm512_shuffle_f64x2(s[4 * h + 2], s[4 * h + 3], 0xdd);
  }
#elif defined(__AVX__)
  const __m256d t0 = _mm256_unpacklo_pd(x[0], x[1]), t1 = _mm256_unpackhi_pd(x[0], x[1]);
  const __m256d t2 = _mm256_unpacklo_pd(x[2], x[3]), t3 = _mm256_unpackhi_pd(x[2], x[3]);
  x[0] = _mm256_permute2f128_pd(t0, t2, 0x20);
  x[1] = _mm256_permute2f128_pd(t1, t3, 0x20);
  x[2] = _mm256_permute2f128_pd(t0, t2, 0x31);
  x[3] = _mm256_permute2f128_pd(t1, t3, 0x31);
#elif defined(__SSE2__)
  const __m128d t0 = _mm_unpacklo_pd(x[0], x[1]), t1 = _mm_unpackhi_pd(x[0], x[1]);
  x[0] = t0;
  x[1] = t1;
#else
  for (int r = 0; r < kW; ++r)
    for (int c = r + 1; c < kW; ++c) {
      const double tmp = x[c][r];
      x[c][r] = x[r][c];
      x[r][c] = tmp;
    }
#endif
}

/// |v| lane by lane (the sign bits cleared).
inline vd absv(vd v) {
  typedef std::int64_t vi __attribute__((vector_size(8 * kW)));
  return reinterpret_cast<vd>(reinterpret_cast<vi>(v) & (vi{} + INT64_MAX));
}

/// Sum of a vector's lanes.
inline double hsum(vd v) {
  double t = 0.0;
  for (int l = 0; l < kW; ++l) t += v[l];
  return t;
}

/// a.b and a.c in one pass, for vectors of length L a multiple of kPad (hence of
/// kW; padded with zeros): vector accumulators, two per product (a scalar
/// reduction would not vectorize).
inline void dot2(const double* __restrict a, const double* __restrict b, const double* __restrict c, Index L,
                 double& ab, double& ac) {
  vd s0{}, s1{}, t0{}, t1{};
  Index i = 0;
  for (; i + 2 * kW <= L; i += 2 * kW) {
    const vd a0 = loadv(a + i), a1 = loadv(a + i + kW);
    s0 += a0 * loadv(b + i);
    s1 += a1 * loadv(b + i + kW);
    t0 += a0 * loadv(c + i);
    t1 += a1 * loadv(c + i + kW);
  }
  for (; i < L; i += kW) {
    const vd a0 = loadv(a + i);
    s0 += a0 * loadv(b + i);
    t0 += a0 * loadv(c + i);
  }
  ab = hsum(s0 + s1);
  ac = hsum(t0 + t1);
}

/// One term A * B of a product: A column-major (lda), B(k, j) = B[k * brs + j * bcs]
/// (brs = 1, bcs = ldb: column-major B; brs = ldb, bcs = 1: its transpose), inner size p.
/// (A term to subtract is passed with a negated operand.)
struct Term {
  const double* A;
  Index lda;
  const double* B;
  Index brs, bcs;
  Index p;
};

// Complete unrolling of the compile-time loops of a tile, requested explicitly: GCC
// otherwise unrolls them only after deciding to keep the accumulator array in memory
// (a load and a store of every accumulator around each inner loop).
#define GS_UNROLL _Pragma("GCC unroll 32")

// A tile of C: rows 0..8R-1 (R blocks of 8) of CW columns, NT terms. DIRECT (alpha = 1):
// the terms accumulate straight onto S; otherwise C = [S +] alpha * (sum of the terms), where
// S (leading dimension lds) is C itself or another matrix, or absent (nullptr: 0).
// (Every loop bound but the inner sizes is a compile-time constant, so that the
// accumulators stay in registers.)
template <int NT, int R, int CW, bool DIRECT>
void tile(double* C, Index ldc, const Term* terms, Index i0, Index j0, const double* S, Index lds, double alpha) {
  constexpr int NV = R * kVB;
  vd acc[CW][NV];
  GS_UNROLL for (int q = 0; q < CW; ++q)
    GS_UNROLL for (int v = 0; v < NV; ++v) acc[q][v] = DIRECT && S ? loadv(S + (j0 + q) * lds + i0 + kW * v) : vd{};
  GS_UNROLL for (int t = 0; t < NT; ++t) {
    const Term& T = terms[t];
    const double* __restrict A = T.A + i0;
    const double* __restrict B = T.B + j0 * T.bcs;
    const Index lda = T.lda, brs = T.brs, bcs = T.bcs, p = T.p;
    for (Index k = 0; k < p; ++k) {
      vd a[NV];
      GS_UNROLL for (int v = 0; v < NV; ++v) a[v] = loadv(A + k * lda + kW * v);
      GS_UNROLL for (int q = 0; q < CW; ++q) {
        const double b = B[k * brs + q * bcs];
        GS_UNROLL for (int v = 0; v < NV; ++v) acc[q][v] += a[v] * b;
      }
    }
  }
  GS_UNROLL for (int q = 0; q < CW; ++q)
    GS_UNROLL for (int v = 0; v < NV; ++v) {
      double* c = C + (j0 + q) * ldc + i0 + kW * v;
      if constexpr (DIRECT)
        storev(c, acc[q][v]);
      else
        storev(c, (S ? loadv(S + (j0 + q) * lds + i0 + kW * v) : vd{}) + alpha * acc[q][v]);
    }
}

using TileFn = void (*)(double*, Index, const Term*, Index, Index, const double*, Index, double);

constexpr int kMaxCW = 8;
constexpr int kMaxTerms = 3;
using TileTable = std::array<std::array<TileFn, kMaxCW>, 4>;

template <int NT, int R, bool DIRECT, int... CW>
constexpr std::array<TileFn, kMaxCW> tile_row(std::integer_sequence<int, CW...>) {
  return {&tile<NT, R, CW + 1, DIRECT>...};
}
template <int NT, bool DIRECT>
constexpr TileTable make_table() {
  using S = std::make_integer_sequence<int, kMaxCW>;
  return {tile_row<NT, 1, DIRECT>(S{}), tile_row<NT, 2, DIRECT>(S{}), tile_row<NT, 3, DIRECT>(S{}),
          tile_row<NT, 4, DIRECT>(S{})};
}
// Tiles for 1..kMaxTerms terms with alpha = 1, and for one term with any alpha.
inline const TileTable& tile_table(int nterms, bool direct) {
  static constexpr TileTable t1 = make_table<1, true>(), t2 = make_table<2, true>(), t3 = make_table<3, true>(),
                             ta = make_table<1, false>();
  if (!direct) return ta;
  return nterms == 1 ? t1 : nterms == 2 ? t2 : t3;
}

// Columns per tile for R row blocks: as many as the accumulator registers allow.
constexpr int tile_cols(int R) { return std::min(kMaxCW, std::max(1, kAccRegs / (R * kVB))); }

/// C (rp x c, ldc) [+]= alpha * sum_t A_t B_t; every A_t has rp (padded) rows;
/// 1..kMaxTerms terms, alpha != 1 only with one term.
/// upper: C is square (rp = padded(c)) and only its upper triangle is needed.
/// from (leading dimension ld_from): with accumulate, C = from + ... (default: C itself).
inline void gemm_terms(double* C, Index ldc, Index rp, Index c, const Term* terms, int nterms, bool accumulate,
                       bool upper = false, double alpha = 1.0, const double* from = nullptr, Index ld_from = 0) {
  eigen_assert(nterms >= 1 && nterms <= kMaxTerms && (alpha == 1.0 || nterms == 1));
  const TileTable& tab = tile_table(nterms, alpha == 1.0);
  const double* S = accumulate ? (from ? from : C) : nullptr;
  const Index lds = from ? ld_from : ldc;
  for (Index i0 = 0; i0 < rp; i0 += 32) {
    Index j = upper ? i0 : 0;
    while (j < c) {
      const Index rows_full = std::min<Index>(32, rp - i0);
      Index cw = tile_cols(int(rows_full / kPad));
      Index rows = rows_full;
      if (upper) {
        // Rows 0..j+cw-1 of this chunk are needed; fewer row blocks may allow more columns.
        cw = std::min<Index>(kMaxCW, c - j);
        for (;;) {
          rows = std::min<Index>(rows_full, std::max<Index>(kPad, padded(j + cw) - i0));
          const Index fit = tile_cols(int(rows / kPad));
          if (cw <= fit) break;
          cw = fit;
        }
      }
      cw = std::min<Index>(cw, c - j);
      tab[rows / kPad - 1][cw - 1](C, ldc, terms, i0, j, S, lds, alpha);
      j += cw;
    }
  }
}

/// C (rp x c, ldc) = [C +] alpha * A (rp x p, lda) * B (p x c), column-major A
/// and C; rp must be a multiple of kPad (the padded row count). B(k, j) is
/// B[k * brs + j * bcs] (brs = 1, bcs = ldb for a column-major B; brs = ldb,
/// bcs = 1 for the transpose of a column-major matrix).
inline void gemm(double* C, Index ldc, const double* A, Index lda, const double* B, Index brs, Index bcs, Index rp,
                 Index p, Index c, double alpha, bool accumulate) {
  const Term t{A, lda, B, brs, bcs, p};
  gemm_terms(C, ldc, rp, c, &t, 1, accumulate, false, alpha);
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
