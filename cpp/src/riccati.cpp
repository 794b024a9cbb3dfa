// Coupled Riccati recursion for finite-horizon feedback Nash of LQ games ([theory §2]).
#include "gamesolve/lq_game.hpp"
#include "gamesolve/detail/riccati_stage.hpp"
#include "gamesolve/check.hpp"
#include "small_gemm.hpp"
#include "small_solve.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace gamesolve {

Dims::Dims(Index n_, std::vector<Index> control_dims) : N(0), n(n_), m(0), m_i(std::move(control_dims)) {
  if (n < 1) throw std::invalid_argument("state size n must be >= 1, got " + std::to_string(n));
  if (n > kMaxSize) throw std::invalid_argument("state size n must be <= " + std::to_string(kMaxSize));
  if (m_i.empty()) throw std::invalid_argument("a game needs at least one player (dims is empty)");
  N = static_cast<Index>(m_i.size());
  off.resize(m_i.size());
  for (std::size_t i = 0; i < m_i.size(); ++i) {
    if (m_i[i] < 1)
      throw std::invalid_argument("control size of player " + std::to_string(i) + " must be >= 1, got " +
                                  std::to_string(m_i[i]));
    if (m_i[i] > kMaxSize - m)  // so that no block size (N m m, N n n, m n) can overflow
      throw std::invalid_argument("the control sizes sum to more than " + std::to_string(kMaxSize));
    off[i] = m;
    m += m_i[i];
  }
}

namespace {

// Where each padded matrix of the workspace lives in ws.buf for value dimension nv
// (column-major; leading dimensions padded to multiples of 8 rows).
struct Layout {
  Index nv, pv, pm, ld;          // ld = pm + pv: rows of the stacked [B~'; A~'] and [S'; X]
  Index BA, NB, Ft, W, H, Zp, ZB, SX, Rp, G, Mt, size;
  Layout(Index N, Index n, Index m, Index mmax, Index nv_) : nv(nv_) {
    using detail::padded;
    (void)n;
    (void)mmax;
    pv = padded(nv);
    pm = padded(m);
    ld = pm + pv;
    Index o = 0;
    auto take = [&](Index sz) { const Index at = o; o += sz; return at; };
    BA = take(ld * nv);
    NB = take(pm * nv);
    Ft = take(pv * nv);
    W = take(pv * nv);
    H = take(pv * pv);  // columns from nv on stay 0 (read by mirror_out's whole blocks)
    Zp = take(N * pv * nv);
    ZB = take(pv * m);
    SX = take(ld * m);
    Rp = take(N * pm * m);
    G = take(pm * nv);
    Mt = take(pv * m);
    size = o;
  }
};

}  // namespace

LQWorkspace::LQWorkspace(const Dims& d) : N(d.N), n(d.n), m(d.m) {
  for (Index mi : d.m_i) mmax = std::max(mmax, mi);
  // Room for the larger (augmented) layout; laid out (and zeroed) by the first solve.
  buf.setZero(Layout(N, n, m, mmax, n + 1).size);
  S.setZero(m, m);
  inv.setZero(m * detail::padded(m));
  R_rows.assign(static_cast<std::size_t>(2 * N), 0);
  R_cols.assign(static_cast<std::size_t>(2 * N), 0);
  rhs.setZero(m, n + 1);
  sol.setZero(m, n + 1);
  cod = Eigen::CompleteOrthogonalDecomposition<Mat>(m, m);
}

Index series_extent(Index batch, Index b_stride, Index T, Index t_stride, Index block) {
  Index a = 0, b = 0, r = 0;
  if (__builtin_mul_overflow(batch - 1, b_stride, &a) || __builtin_mul_overflow(T - 1, t_stride, &b) ||
      __builtin_add_overflow(a, b, &r) || __builtin_add_overflow(r, block, &r))
    return -1;
  return r;
}

namespace {

// Throws unless every block the solver reads (or writes) lies inside the buffer.
void check_series(const char* name, const Series& s, Index block, Index T, Index batch, bool required) {
  if (!s.present()) {
    if (required) throw std::invalid_argument(std::string(name) + " is required but missing (null data)");
    return;
  }
  if (s.t_stride < 0 || s.b_stride < 0 || s.size < 0)
    throw std::invalid_argument(std::string(name) + ": negative size or stride");
  const Index last = series_extent(batch, s.b_stride, T, s.t_stride, block);
  if (last < 0 || last > s.size)
    throw std::invalid_argument(std::string(name) + ": buffer of " + std::to_string(s.size) +
                                " doubles is too small for the game's sizes and strides");
}

// An output (or, when `read`, a gains input of policy evaluation): data == nullptr means
// "not wanted" (never for an input); t_stride == 0 keeps one block per game (each stage
// overwrites it, so a solve leaves stage 0 there), else t_stride >= block. Games of a
// batch must not share output memory (each is written by its own thread).
void check_out(const char* name, const OutSeries& s, Index block, Index T, Index batch, bool read = false) {
  if (s.data == nullptr) {
    if (read) throw std::invalid_argument(std::string(name) + " is required but missing (null data)");
    return;
  }
  if (s.t_stride < 0 || s.b_stride < 0 || s.size < 0 || (s.t_stride != 0 && s.t_stride < block))
    throw std::invalid_argument(std::string(name) +
                                ": output time stride must be 0 (stage 0 only) or at least the block size");
  const Index per_game = series_extent(1, 0, T, s.t_stride, block);
  if (batch > 1 && !read && (per_game < 0 || s.b_stride < per_game))
    throw std::invalid_argument(std::string(name) + ": output batch stride " + std::to_string(s.b_stride) +
                                " makes games of the batch overlap");
  const Index last = series_extent(batch, s.b_stride, T, s.t_stride, block);
  if (last < 0 || last > s.size)
    throw std::invalid_argument(std::string(name) + ": output buffer of " + std::to_string(s.size) +
                                " doubles is too small for the game's sizes and strides");
}

}  // namespace

void check_game(const LQGameData& g) {
  const Dims& d = g.dims;
  if (d.N < 1 || d.n < 1 || d.m < 1 || static_cast<Index>(d.m_i.size()) != d.N ||
      static_cast<Index>(d.off.size()) != d.N)
    throw std::invalid_argument("game dims are not initialized (construct them with Dims(n, {m_1, ...}))");
  if (g.T < 1) throw std::invalid_argument("horizon T must be >= 1, got " + std::to_string(g.T));
  if (g.batch < 1) throw std::invalid_argument("batch must be >= 1, got " + std::to_string(g.batch));
  const Index N = d.N, n = d.n, m = d.m, T = g.T, b = g.batch;
  check_series("A", g.A, n * n, T, b, true);
  check_series("B", g.B, n * m, T, b, true);
  check_series("Q", g.Q, N * n * n, T, b, true);
  check_series("q", g.q, N * n, T, b, false);
  check_series("R", g.R, N * m * m, T, b, true);
  check_series("r", g.r, N * m, T, b, false);
  check_series("M", g.M, N * m * n, T, b, false);
  check_series("c", g.c, n, T, b, false);
  check_series("QT", g.QT, N * n * n, 1, b, true);
  check_series("qT", g.qT, N * n, 1, b, false);
}

// solve_lq_stage's outputs: every present output holds game b's stage-0 block (its terminal
// block is not written), and status holds batch entries.
static void check_stage_outputs(const LQGameData& g, const LQSolutionView& out) {
  const Dims& d = g.dims;
  const Index N = d.N, n = d.n, m = d.m, batch = g.batch;
  auto one = [&](const char* name, const OutSeries& s, Index block) {
    if (s.data == nullptr) return;
    const Index last = series_extent(batch, s.b_stride, 1, s.t_stride, block);
    if (s.t_stride < 0 || s.b_stride < 0 || last < 0 || last > s.size)
      throw std::invalid_argument(std::string(name) + ": output buffer of " + std::to_string(s.size) +
                                  " doubles is too small for the game's sizes and strides");
  };
  one("K", out.K, m * n);
  one("k", out.k, m);
  one("Z", out.Z, N * n * n);
  one("zeta", out.zeta, N * n);
  one("s", out.s, N);
  if (out.status == nullptr || out.status_size < batch)
    throw std::invalid_argument("status output buffer must hold batch entries");
}

void check_solution(const LQGameData& g, const LQSolutionView& out, bool need_gains) {
  const Dims& d = g.dims;
  const Index N = d.N, n = d.n, m = d.m, T = g.T, b = g.batch;
  check_out("K", out.K, m * n, T, b, !need_gains);
  check_out("k", out.k, m, T, b, !need_gains);
  check_out("Z", out.Z, N * n * n, T + 1, b);
  check_out("zeta", out.zeta, N * n, T + 1, b);
  check_out("s", out.s, N, T + 1, b);
  if (need_gains) {
    if (out.status == nullptr || out.status_size < T * b)
      throw std::invalid_argument("status output buffer must hold T * batch entries");
  }
}

namespace {

using CMap = Eigen::Map<const Mat>;
using WMap = Eigen::Map<Mat>;
using detail::Term;

inline bool has_affine_terms(const LQGameData& g) {
  return g.q.present() || g.r.present() || g.c.present() || g.qT.present();
}

// Raw views of the workspace for one solve (see Layout and LQWorkspace).
//
// Layout trick: a row-major (r x c) buffer is the column-major (c x r)
// transpose, so the row-major A is A' column-major and the row-major B is B';
// symmetric blocks (Z, Q, R) map either way. The recursion works on the
// augmented state [x; 1] when nv = n + 1:
//   A~ = [[A, c], [0, 1]],  B~ = [B; 0],  Q~ = [[Q, q], [q', 0]],  M~ = [M, r],
//   Z~ = [[Z, zeta], [zeta', s]],  K~ = [K, k],  F~ = A~ - B~ K~ = [[F, beta], [0, 1]],
// and then [theory §2]'s three updates are the single one
//   Z~ <- Q~ + F~'Z~F~ + K~'R K~ - K~'M~ - M~'K~,   S [K k] = [Y y] = B~^i'Z~ A~ + M~_[i].
struct Views {
  Index N, n, m, nv, pv, pm, ld;
  double *BA, *Bt, *At, *NB, *Ft, *W, *H, *Zp, *ZB, *SX, *X, *Rp, *G, *Mt;
  double* Z(Index i) const { return Zp + i * pv * nv; }
  double* R(Index i) const { return Rp + i * pm * m; }
};

// keep_loaded: the A, B, c, R buffers loaded by the last call are unchanged (stage
// entry point): load_stage skips them when the pointers match.
Views views(LQWorkspace& ws, Index nv, bool keep_loaded = false) {
  const Layout L(ws.N, ws.n, ws.m, ws.mmax, nv);
  if (ws.nv != nv) {  // new layout: every padded row must start zero
    ws.buf.setZero();
    ws.nv = nv;
    keep_loaded = false;
  }
  double* b = ws.buf.data();
  Views v;
  v.N = ws.N;
  v.n = ws.n;
  v.m = ws.m;
  v.nv = nv;
  v.pv = L.pv;
  v.pm = L.pm;
  v.ld = L.ld;
  v.BA = b + L.BA;
  v.Bt = v.BA;           // rows 0..pm-1 of BA: B~' (m x nv)
  v.At = v.BA + L.pm;    // rows pm.. of BA: A~' (nv x nv)
  v.NB = b + L.NB;       // -B~' (m x nv, ld pm)
  v.Ft = b + L.Ft;
  v.W = b + L.W;
  v.H = b + L.H;
  v.Zp = b + L.Zp;
  v.ZB = b + L.ZB;
  v.SX = b + L.SX;       // rows 0..pm-1: S' (m x m); rows pm..: X = [Y y]' -> [K k]' (nv x m)
  v.X = v.SX + L.pm;
  v.Rp = b + L.Rp;
  v.G = b + L.G;
  v.Mt = b + L.Mt;
  if (!keep_loaded) ws.loaded_A = ws.loaded_B = ws.loaded_c = ws.loaded_R = nullptr;  // the data may have changed
  return v;
}

void load_terminal(const LQGameData& g, Index b, const Views& v);

// An output holding every stage (not absent, not stage 0 only): the terminal block is written.
inline bool keeps_all_stages(const OutSeries& o) { return o.data != nullptr && o.t_stride != 0; }

// Block t of output `o` for game b, or nullptr if the output is not wanted.
inline double* out_block(const OutSeries& o, Index b, Index t) { return o.data ? o.at(b, t) : nullptr; }

// Terminal values: Z_T = QT, zeta_T = qT (or 0), s_T = 0.
void set_terminal(const LQGameData& g, Index b, const LQSolutionView& out, const Views& v) {
  const Index N = g.dims.N, n = g.dims.n, T = g.T;
  const double* QT = g.QT.at(b, 0);
  const double* qT = g.qT.present() ? g.qT.at(b, 0) : nullptr;
  if (keeps_all_stages(out.Z)) {
    double* Z = out.Z.at(b, T);
    for (Index i = 0; i < N * n * n; ++i) Z[i] = QT[i];
  }
  if (keeps_all_stages(out.zeta)) {
    double* zeta = out.zeta.at(b, T);
    for (Index i = 0; i < N * n; ++i) zeta[i] = qT ? qT[i] : 0.0;
  }
  if (keeps_all_stages(out.s)) {
    double* s = out.s.at(b, T);
    for (Index i = 0; i < N; ++i) s[i] = 0.0;
  }
  load_terminal(g, b, v);
}

// The padded workspace copy of the terminal values Z~_T (set_terminal without the outputs).
void load_terminal(const LQGameData& g, Index b, const Views& v) {
  const Index N = g.dims.N, n = g.dims.n, pv = v.pv;
  const double* QT = g.QT.at(b, 0);
  const double* qT = g.qT.present() ? g.qT.at(b, 0) : nullptr;
  for (Index i = 0; i < N; ++i) {
    double* Zi = v.Z(i);
    for (Index j = 0; j < n; ++j)
      for (Index a = 0; a < n; ++a) Zi[a + j * pv] = QT[i * n * n + a + j * n];
    if (v.nv > n) {
      for (Index a = 0; a < n; ++a) Zi[a + n * pv] = Zi[n + a * pv] = qT ? qT[i * n + a] : 0.0;
      Zi[n + n * pv] = 0.0;
    }
  }
}

// Stage t's A~', B~' into BA (reused while the dynamics are time-invariant) and R^i into Rp.
void load_stage(const LQGameData& g, Index b, Index t, LQWorkspace& ws, const Views& v) {
  const Index n = v.n, m = v.m, ld = v.ld;
  const double* A = g.A.at(b, t);
  const double* B = g.B.at(b, t);
  const double* c = g.c.present() ? g.c.at(b, t) : nullptr;
  if (!(A == ws.loaded_A && B == ws.loaded_B && c == ws.loaded_c)) {
    ws.loaded_A = A;
    ws.loaded_B = B;
    ws.loaded_c = c;
    for (Index j = 0; j < n; ++j) {  // rows of A and B into columns of A' and B', -B'
      for (Index a = 0; a < m; a += detail::kW) {
        const detail::vd x = detail::load_partial(B + j * m + a, m - a);  // 0 in the padding
        detail::storev(v.Bt + a + j * ld, x);
        detail::storev(v.NB + a + j * v.pm, detail::vd{} - x);
      }
      for (Index a = 0; a < n; a += detail::kW)
        detail::storev(v.At + a + j * ld, detail::load_partial(A + j * n + a, n - a));
    }
    if (v.nv > n) {  // A~' = [[A', 0], [c', 1]], B~' = [B', 0]
      for (Index j = 0; j < n; ++j) v.At[n + j * ld] = c ? c[j] : 0.0;
      for (Index a = 0; a < n; ++a) v.At[a + n * ld] = 0.0;
      v.At[n + n * ld] = 1.0;
      for (Index a = 0; a < m; ++a) v.Bt[a + n * ld] = v.NB[a + n * v.pm] = 0.0;
    }
  }
  const double* R = g.R.at(b, t);
  if (R != ws.loaded_R) {
    ws.loaded_R = R;
    for (Index i = 0; i < v.N; ++i) {
      // Copy R^i and find its first and last non-zero rows and columns: bit a of `rows`
      // (bit j of `cols`) is set when row a (column j) has a non-zero. Beyond 64 controls
      // every row and column counts as non-zero (the skipped blocks are then just not skipped).
      const double* Ri = R + i * m * m;
      double* Pi = v.R(i);
      std::uint64_t rows = 0, cols = 0;
      for (Index j = 0; j < m; ++j) {
        std::uint64_t col = 0;
        for (Index a = 0; a < m; a += detail::kW) {
          const detail::vd x = detail::load_partial(Ri + j * m + a, m - a);
          detail::storev(Pi + a + j * v.pm, x);
          const std::uint64_t nz = detail::nonzero_lanes(x);
          col |= nz;
          if (a < 64) rows |= nz << a;
        }
        cols |= std::uint64_t(col != 0) << (j & 63);
      }
      Index r0 = 0, r1 = m, c0 = 0, c1 = m;
      if (m <= 64) {
        r0 = rows ? __builtin_ctzll(rows) : m;
        r1 = rows ? 64 - __builtin_clzll(rows) : 0;
        c0 = cols ? __builtin_ctzll(cols) : m;
        c1 = cols ? 64 - __builtin_clzll(cols) : 0;
      }
      ws.R_rows[2 * i] = r0;
      ws.R_rows[2 * i + 1] = std::max(r0, r1);
      ws.R_cols[2 * i] = c0;
      ws.R_cols[2 * i + 1] = std::max(c0, c1);
    }
  }
}

// Z~ = Q~ + H from the upper triangle of H (pv x pv, ld pv), with hnn added to H(n, n):
// Z~(a, j) = H(min, max) + Q~(a, j), with Q(a, j) read as Q[a + j * n] (symmetric) and
// Q~ = [[Q, q], [q', 0]].
// By kW x kW blocks: block (r, c) of Z~ is block (r, c) of H above the diagonal, the
// transpose of block (c, r) below it, and both (chosen by lane) on it. Writes the padded
// Z~ (ld pv; its rows from nv on stay 0). PB: blocks per side (pv / kW) when fixed at
// compile time (the loops then unroll into straight code), 0 when not.
template <int PB>
void mirror_blocks(const double* __restrict H, Index pv, const double* __restrict Q, const double* __restrict q,
                   Index n, Index nv, double* __restrict Z) {
  using detail::kW;
  using detail::vd;
  const vd lane = detail::lane_index();
  const Index nb = PB > 0 ? PB : pv / kW;
  // Row n of Q~ is q': lane n - i0 of the block row holding row n (none when nv = n or q absent).
  const Index rq = nv > n && q ? n / kW : -1;
  const auto at_q = lane == double(n - rq * kW);
  GS_UNROLL for (Index c = 0; c < nb; ++c) {
    GS_UNROLL for (Index r = 0; r < nb; ++r) {
      const Index i0 = r * kW, j0 = c * kW;
      if (i0 >= nv || j0 >= nv) continue;
      vd x[kW];
      if (r < c) {
        GS_UNROLL for (int l = 0; l < kW; ++l) x[l] = detail::loadv(H + i0 + (j0 + l) * pv);
      } else {
        GS_UNROLL for (int l = 0; l < kW; ++l) x[l] = detail::loadv(H + j0 + (i0 + l) * pv);
        detail::transpose_block(x);  // lane a of x[l]: H(j0 + l, i0 + a)
        const vd rows = vd{} + double(nv - i0);
        GS_UNROLL for (int l = 0; l < kW; ++l) {
          if (r == c) x[l] = lane <= double(l) ? detail::loadv(H + i0 + (j0 + l) * pv) : x[l];
          x[l] = lane < rows ? x[l] : vd{};
        }
      }
      const Index len = n - i0;  // rows of Q~'s Q or q part in this block
      GS_UNROLL for (int l = 0; l < kW; ++l) {
        const Index j = j0 + l;
        if (j >= nv) break;
        vd qv = j < n ? detail::load_partial(Q + j * n + i0, len) : q ? detail::load_partial(q + i0, len) : vd{};
        if (r == rq && j < n) qv = at_q ? vd{} + q[j] : qv;  // Q~(n, j) = q(j)
        detail::storev(Z + i0 + j * pv, x[l] + qv);
      }
    }
  }
}

// mirror_blocks, then hnn added to Z~(n, n) and the outputs wanted written (nullptr: not
// wanted): Z (n x n), zeta (0 unless nv = n + 1), s.
void mirror_out(const double* __restrict H, Index pv, double hnn, const double* __restrict Q, const double* __restrict q,
                Index n, Index nv, double* __restrict Z, double* __restrict Zo, double* __restrict zo,
                double* __restrict so) {
  switch (pv / detail::kW) {
    case 1: mirror_blocks<1>(H, pv, Q, q, n, nv, Z); break;
    case 2: mirror_blocks<2>(H, pv, Q, q, n, nv, Z); break;
    case 3: mirror_blocks<3>(H, pv, Q, q, n, nv, Z); break;
    case 4: mirror_blocks<4>(H, pv, Q, q, n, nv, Z); break;
    default: mirror_blocks<0>(H, pv, Q, q, n, nv, Z); break;
  }
  const bool aug = nv > n;
  if (aug && hnn != 0.0) Z[n + n * pv] += hnn;
  if (Zo)
    for (Index j = 0; j < n; ++j)
      for (Index a = 0; a < n; ++a) Zo[a + j * n] = Z[a + j * pv];
  if (zo)
    for (Index a = 0; a < n; ++a) zo[a] = aug ? Z[a + n * pv] : 0.0;
  if (so) *so = aug ? Z[n + n * pv] : 0.0;
}

// Value update of stage t for the gains in X (rows 0..n-1 = K', row n = k'
// when nv = n + 1), [theory §2] in the augmented form of `Views`:
//   F~' = A~' - K~'B~'
//   H   = F~'(Z~ F~) + K~'(R K~ - M~) - M~'K~      (upper triangle only)
//   Z~  = Q~ + H (mirrored: exactly symmetric)
// with Z~_{t+1} in Zp, replaced by Z~_t, and written out (Z, zeta, s). (Subtracted
// terms are added with a negated operand: -B~' and -M~' are kept for that.)
// F~'Z~F~ costs 3 nv^3 (W = Z~F~ in full, then the upper half of F~'W).
void value_update(const LQGameData& g, Index b, Index t, const LQSolutionView& out, const Views& v,
                  const LQWorkspace& ws) {
  const Index N = v.N, n = v.n, m = v.m, nv = v.nv, pv = v.pv, pm = v.pm, ld = v.ld;
  const bool aug = nv > n;
  // F~' = A~' - X B~' (column n of F~' is that of A~': e_n).
  {
    const Term tf{v.X, ld, v.NB, 1, pm, m};
    detail::gemm_terms(v.Ft, pv, pv, n, &tf, 1, true, false, 1.0, v.At, ld);
    for (Index j = n; j < nv; ++j)
      for (Index a = 0; a < pv; ++a) v.Ft[a + j * pv] = v.At[a + j * ld];
  }

  const double* K = v.X;  // K~(a, j) = X(j, a) = X[a * ld + j]
  for (Index i = 0; i < N; ++i) {
    double* Zi = v.Z(i);
    const double* Mi = g.M.present() ? g.M.at(b, t) + i * m * n : nullptr;  // row-major m x n
    const double* ri = g.r.present() ? g.r.at(b, t) + i * m : nullptr;
    // G = R^i K~ - M~^i; only R^i's non-zero columns c0..c1 enter, and only the rows
    // g0..g1 of G that R^i or M~^i touch can be non-zero.
    const Index c0 = ws.R_cols[2 * i], c1 = ws.R_cols[2 * i + 1];
    Index g0 = ws.R_rows[2 * i], g1 = ws.R_rows[2 * i + 1];
    {
      const Term tr{v.R(i) + c0 * pm, pm, K + c0 * ld, ld, 1, c1 - c0};
      detail::gemm_terms(v.G, pm, pm, nv, &tr, 1, false);
    }
    auto touch = [&](Index a) {
      if (g1 <= g0) g0 = a, g1 = a + 1;
      g0 = std::min(g0, a);
      g1 = std::max(g1, a + 1);
    };
    if (Mi)
      for (Index a = 0; a < m; ++a) {
        bool nz = false;
        for (Index j = 0; j < n; ++j) {
          v.G[a + j * pm] -= Mi[a * n + j];
          nz = nz || Mi[a * n + j] != 0.0;
        }
        if (nz) touch(a);
      }
    if (aug && ri)
      for (Index a = 0; a < m; a += detail::kW) {  // G(:, n) -= r^i, by vectors
        const detail::vd x = detail::load_partial(ri + a, m - a);
        double* Gn = v.G + a + n * pm;
        detail::storev(Gn, detail::loadv(Gn) - x);
        if (const std::uint64_t nz = detail::nonzero_lanes(x)) {  // rows a + first .. a + last touched
          touch(a + __builtin_ctzll(nz));
          touch(a + 63 - __builtin_clzll(nz));
        }
      }
    // W = Z~ F~
    {
      const Term tw{Zi, pv, v.Ft, pv, 1, nv};
      detail::gemm_terms(v.W, pv, pv, nv, &tw, 1, false);
    }
    // H = F~'W + K~'G + (-M~')K~, upper triangle.
    Term th[3] = {{v.Ft, pv, v.W, 1, pv, nv},
                  {v.X + g0 * ld, ld, v.G + g0, 1, pm, std::max<Index>(0, g1 - g0)},
                  {v.Mt, pv, K, ld, 1, m}};
    int nt = 2;
    if (Mi) {  // -M~' (nv x m) = -[M'; r']
      for (Index a = 0; a < m; ++a) {
        for (Index j = 0; j < n; ++j) v.Mt[j + a * pv] = -Mi[a * n + j];
        if (aug) v.Mt[n + a * pv] = ri ? -ri[a] : 0.0;
      }
      nt = 3;
    }
    detail::gemm_terms(v.H, pv, pv, nv, th, nt, false, true);
    double rk = 0.0;  // M~ = [0, r]: M~'K~ has one upper entry, (n, n) = r'k (subtracted from Z~(n, n))
    if (aug && ri && !Mi)
      for (Index a = 0; a < m; ++a) rk += ri[a] * v.X[n + a * ld];
    // Z~ = Q~ + H, mirrored from the upper triangle; Z, zeta, s out (those wanted).
    mirror_out(v.H, pv, -rk, g.Q.at(b, t) + i * n * n, g.q.present() ? g.q.at(b, t) + i * n : nullptr, n, nv, Zi,
               out.Z.data ? out.Z.at(b, t) + i * n * n : nullptr, out.zeta.data ? out.zeta.at(b, t) + i * n : nullptr,
               out.s.data ? out.s.at(b, t) + i : nullptr);
  }
}

// Finite iff the sum is: one reduction instead of a per-entry test.
// (Finite entries whose sum overflows also count as non-finite; the recursion
// could not continue with them anyway.) Every column is summed up to `rows` rounded
// up to whole vectors: the workspace blocks are padded with zero rows to at least
// that (ld >= padded(rows)), so the sum is the same and no scalar tail is needed.
inline bool finite_block(const double* p, Index rows, Index cols, Index ld) {
  // Two independent vector sums (the order does not matter for the test).
  detail::vd acc0{}, acc1{};
  const Index rv = (rows + detail::kW - 1) / detail::kW * detail::kW;
  Index j = 0;
  for (; j + 1 < cols; j += 2) {
    const double* c0 = p + j * ld;
    const double* c1 = c0 + ld;
    for (Index a = 0; a < rv; a += detail::kW) {
      acc0 += detail::loadv(c0 + a);
      acc1 += detail::loadv(c1 + a);
    }
  }
  if (j < cols)
    for (Index a = 0; a < rv; a += detail::kW) acc0 += detail::loadv(p + j * ld + a);
  return std::isfinite(detail::hsum(acc0 + acc1));
}

// Announces the writes of a stage's outputs: in a batch they go to memory that is
// not in cache, and without the prefetch each store would wait for its line.
inline void prefetch_for_write(const double* p, Index count) {
  const char* c = reinterpret_cast<const char*>(p);
  const Index bytes = count * Index(sizeof(double));
  for (Index o = 0; o < bytes; o += 64) __builtin_prefetch(c + o, 1, 3);
  __builtin_prefetch(c + bytes - 1, 1, 3);
}

// Stage system S [K k] = [Y y] of stage t into SX (see run_stage).
void assemble_system(const LQGameData& g, Index b, Index t, const Views& v) {
  const Dims& d = g.dims;
  const Index N = d.N, n = d.n, m = d.m;
  const Index nv = v.nv, pv = v.pv, pm = v.pm, ld = v.ld;
  const bool aug = nv > n;
  // Assembled transposed: with ZB^i = Z~^i B^i,
  // column block i of [S'; X] is [B~'; A~'] ZB^i + [R^i_[:,i]; (M~^i_[i])'],
  // i.e. S' block i = B'ZB^i + R^i_[:,i], X = [Y y]' block i = A~'ZB^i + M~^i_[i]'
  // (the last row of ZB^i is zeta^i'B^i, and A~'s last row brings c'ZB^i).
  for (Index i = 0; i < N; ++i) {  // ZB = [Z~^1 B^1, ..., Z~^N B^N]
    const Index o = d.off[i], mi = d.m_i[i];
    const Term tz{v.Z(i), pv, g.B.at(b, t) + o, m, 1, n};  // B^i(k, j) = B[k * m + o + j]
    detail::gemm_terms(v.ZB + o * pv, pv, pv, mi, &tz, 1, false);
  }
  {
    const Term ts{v.BA, ld, v.ZB, 1, pv, nv};
    detail::gemm_terms(v.SX, ld, ld, m, &ts, 1, false);
  }
  for (Index i = 0; i < N; ++i) {
    const Index o = d.off[i], mi = d.m_i[i];
    const double* Ri = v.R(i);
    for (Index j = o; j < o + mi; ++j)
      for (Index a = 0; a < m; ++a) v.SX[a + j * ld] += Ri[a + j * pm];
    if (g.M.present()) {
      const double* Mi = g.M.at(b, t) + i * m * n;
      for (Index j = o; j < o + mi; ++j)
        for (Index a = 0; a < n; ++a) v.X[a + j * ld] += Mi[a + j * n];
    }
    if (aug && g.r.present()) {
      const double* ri = g.r.at(b, t) + i * m;
      for (Index j = o; j < o + mi; ++j) v.X[n + j * ld] += ri[j];
    }
  }
}

// Whether every player's own cost-to-go is convex in its control at this stage: the
// diagonal blocks S_ii = R^{ii} + B^i'Z^i_{t+1}B^i of the assembled S (column j of SX is
// row j of S) are positive definite (positive_definite, in the workspace's m x m scratch S:
// nothing allocated). O(sum m_i^3), against the stage's O(N n^3).
bool own_blocks_convex(const Dims& d, const Views& v, LQWorkspace& ws) {
  for (Index i = 0; i < d.N; ++i) {
    const Index o = d.off[i];
    if (!positive_definite(v.SX + o + o * v.ld, d.m_i[i], v.ld, ws.S.data())) return false;
  }
  return true;
}

// What StageSystem::reassemble needs to assemble stage t's system again.
struct AssemblyArgs {
  const LQGameData* g;
  Index b, t;
  const Views* v;
};

void reassemble(const void* ctx) {
  const auto* a = static_cast<const AssemblyArgs*>(ctx);
  assemble_system(*a->g, a->b, a->t, *a->v);
}

// Gains of stage t from the solved system (X = [K k]') into out.K, out.k (those wanted).
void write_gains(Index b, Index t, const LQSolutionView& out, const Views& v, std::int32_t st) {
  const Index n = v.n, m = v.m, ld = v.ld;
  const bool aug = v.nv > n;
  if (double* Ko = out_block(out.K, b, t))
    for (Index a = 0; a < m; ++a)
      for (Index j = 0; j < n; ++j) Ko[a * n + j] = v.X[j + a * ld];
  if (double* ko = out_block(out.k, b, t))
    for (Index a = 0; a < m; ++a)
      ko[a] = aug ? v.X[n + a * ld] : st == kStageNonFinite ? std::numeric_limits<double>::quiet_NaN() : 0.0;
}

// Stage t of game b once its data are loaded (load_stage) and Z~_{t+1} is in the
// padded workspace: S, K~ by `solver` (into out.K, out.k), the value update (Z~_t into
// the workspace and out.Z, zeta, s). Returns the stage status; counts into rep.
std::int32_t run_stage(const LQGameData& g, Index b, Index t, const LQSolutionView& out, const Views& v,
                       LQWorkspace& ws, const SolveOptions& opts, const detail::StageSolver& solver,
                       SolveReport& rep) {
  const Index N = v.N, m = v.m, nv = v.nv, pv = v.pv, ld = v.ld;
  std::int32_t st = kStageOk;

  assemble_system(g, b, t, v);

  if (!finite_block(v.SX, ld, m, ld)) {  // S' and X: each column of SX, padding (zeros) included
    st = kStageNonFinite;
    ++rep.nonfinite_stages;
    for (Index j = 0; j < m; ++j)
      for (Index a = 0; a < nv; ++a) v.X[a + j * ld] = std::numeric_limits<double>::quiet_NaN();
  } else {
    const bool convex = own_blocks_convex(g.dims, v, ws);
    // Column j of SX is row j of [S | Y y] (S padded to pm rows, then X's pv): the
    // solve leaves [K k]' in X.
    const AssemblyArgs args{&g, b, t, &v};
    const detail::StageSystem sys{v.SX, m, v.n, nv, v.pm, ld, &reassemble, &args};
    const detail::StageContext ctx{g.dims, b, t, opts, ws, rep};
    st = solver.fn ? solver.fn(solver.state, sys, ctx) : detail::lu_stage_solve(sys, ctx);
    if (st == kStageNonFinite) {
      ++rep.nonfinite_stages;
    } else if (!convex) {
      st |= kStageNotConvex;
      ++rep.not_convex_stages;
    }
  }
  write_gains(b, t, out, v, st);
  value_update(g, b, t, out, v, ws);
  // Every value of the stage must be finite (also on min-norm stages, and zeta / every s^i:
  // an overflow there would otherwise go unflagged at t = 0).
  if (st != kStageNonFinite) {
    bool fin = finite_block(v.X, nv, m, ld);
    for (Index i = 0; i < N && fin; ++i) fin = finite_block(v.Z(i), nv, nv, pv);
    if (!fin) {
      if (st & kStageNotConvex) --rep.not_convex_stages;
      st = kStageNonFinite;
      ++rep.nonfinite_stages;
    }
  }
  return st;
}

// Doubles of output o one game writes over the solve (one block if only stage 0 is kept).
inline double written(const OutSeries& o, Index T, Index block) {
  return o.data == nullptr ? 0.0 : double(o.t_stride == 0 ? 1 : T) * double(block);
}

}  // namespace

namespace detail {

std::int32_t lu_stage_solve(const StageSystem& sys, const StageContext& ctx) {
  const Index m = sys.m, nv = sys.nv;
  LQWorkspace& ws = ctx.ws;
  SolveReport& rep = ctx.rep;
  // In place on the rows: the right-hand sides become [K k] (see small_solve.hpp).
  const double rc = eliminate(sys.rows, m, sys.pm, sys.ld, ws.inv.data());
  if (rc < rep.min_rcond) rep.min_rcond = rc;
  if (rc != 0.0 && rc >= ctx.opts.rcond_tol) return kStageOk;
  // Ill-conditioned (rc < rcond_tol) or singular (rc = 0: a zero pivot). The system is
  // assembled again (the elimination overwrote it); the elimination's solution [K k] is
  // kept, unless the system is singular to working precision (rc < singular_tol) or that
  // solution is inaccurate: its relative residual ||S X - Y||_1 / (||S||_1 ||X||_1 + ||Y||_1)
  // above residual_tol. A unique but ill-conditioned equilibrium is so returned as
  // computed, not replaced by the minimum-norm solution of a truncated system.
  const bool try_lu = rc != 0.0 && rc >= ctx.opts.singular_tol;
  if (try_lu)
    for (Index j = 0; j < nv; ++j)
      for (Index a = 0; a < m; ++a) ws.sol(a, j) = sys.rhs(a, j);
  sys.restore();
  for (Index j = 0; j < m; ++j)
    for (Index a = 0; a < m; ++a) ws.S(a, j) = sys.S(a, j);
  for (Index j = 0; j < nv; ++j)
    for (Index a = 0; a < m; ++a) ws.rhs(a, j) = sys.rhs(a, j);
  // Relative 1-norm residual of the candidate in ws.sol against S (ws.S) and Y (ws.rhs); NaN-propagating.
  auto residual = [&]() {
    double r = 0.0, s = 0.0, x = 0.0, y = 0.0;
    for (Index j = 0; j < nv; ++j) {
      double rj = 0.0, xj = 0.0, yj = 0.0;
      for (Index a = 0; a < m; ++a) {
        double v = -ws.rhs(a, j);
        for (Index c = 0; c < m; ++c) v += ws.S(a, c) * ws.sol(c, j);
        rj += std::fabs(v);
        xj += std::fabs(ws.sol(a, j));
        yj += std::fabs(ws.rhs(a, j));
      }
      r = std::isnan(rj) ? rj : std::max(r, rj);
      x = std::max(x, xj);
      y = std::max(y, yj);
    }
    for (Index c = 0; c < m; ++c) {
      double sc = 0.0;
      for (Index a = 0; a < m; ++a) sc += std::fabs(ws.S(a, c));
      s = std::max(s, sc);
    }
    const double den = s * x + y;
    return den > 0.0 ? r / den : (r == 0.0 ? 0.0 : std::numeric_limits<double>::infinity());
  };
  if (try_lu) {
    const double res = residual();
    if (res <= ctx.opts.residual_tol) {  // accurate: keep the elimination's solution
      for (Index j = 0; j < nv; ++j)
        for (Index a = 0; a < m; ++a) sys.rhs(a, j) = ws.sol(a, j);
      ++rep.ill_conditioned_stages;
      return kStageOk;
    }
  }
  ws.cod.setThreshold(ctx.opts.rank_tol);
  ws.cod.compute(ws.S);
  // minimum-norm least-squares solution of the truncated system (may allocate)
  ws.sol.leftCols(nv) = ws.cod.solve(ws.rhs.leftCols(nv));
  const double res = residual();
  if (!std::isnan(rep.max_min_norm_residual) && !(res <= rep.max_min_norm_residual))
    rep.max_min_norm_residual = res;  // NaN sticks
  for (Index j = 0; j < nv; ++j)
    for (Index a = 0; a < m; ++a) sys.rhs(a, j) = ws.sol(a, j);
  ++rep.min_norm_stages;
  return kStageMinNorm;
}

SolveReport solve_lq_game_with(const LQGameData& g, Index b, const LQSolutionView& out, LQWorkspace& ws,
                               const SolveOptions& opts, const StageSolver& solver) {
  const Dims& d = g.dims;
  const Index N = d.N, n = d.n, m = d.m, T = g.T;
  const bool aug = has_affine_terms(g);
  const Views v = views(ws, aug ? n + 1 : n);
  SolveReport rep;
  set_terminal(g, b, out, v);

  // Outputs of a whole batch (or a long horizon) larger than a core's L2 cache are
  // written to memory: announce each stage's lines first (a few instructions per line,
  // not worth it when the outputs stay cached).
  const double bytes = double(g.batch) * 8.0 * (written(out.Z, T + 1, N * n * n) + written(out.K, T + 1, m * n));
  const bool announce = bytes > double(1 << 19);
  for (Index t = T - 1; t >= 0; --t) {
    if (announce) {
      if (out.Z.data) prefetch_for_write(out.Z.at(b, t), N * n * n);
      if (out.K.data) prefetch_for_write(out.K.at(b, t), m * n);
      if (aug && out.zeta.data) prefetch_for_write(out.zeta.at(b, t), N * n);
    }
    load_stage(g, b, t, ws, v);
    out.status[b * T + t] = run_stage(g, b, t, out, v, ws, opts, solver, rep);
  }
  return rep;
}

}  // namespace detail

namespace {

// The workspace was built (LQWorkspace(dims)) for a game of these sizes: its buffers fit.
void check_workspace(const Dims& d, const LQWorkspace& ws) {
  Index mmax = 0;
  for (Index mi : d.m_i) mmax = std::max(mmax, mi);
  const bool fits = ws.N == d.N && ws.n == d.n && ws.m == d.m && ws.mmax == mmax &&
                    ws.buf.size() >= Layout(d.N, d.n, d.m, mmax, d.n + 1).size && ws.S.rows() == d.m &&
                    ws.S.cols() == d.m && ws.inv.size() >= d.m * detail::padded(d.m) &&
                    static_cast<Index>(ws.R_rows.size()) == 2 * d.N && static_cast<Index>(ws.R_cols.size()) == 2 * d.N &&
                    ws.rhs.rows() == d.m && ws.rhs.cols() == d.n + 1 && ws.sol.rows() == d.m &&
                    ws.sol.cols() == d.n + 1;
  if (!fits)
    throw std::invalid_argument("workspace was built for a game with N=" + std::to_string(ws.N) + ", n=" +
                                std::to_string(ws.n) + ", m=" + std::to_string(ws.m) + ", but the game has N=" +
                                std::to_string(d.N) + ", n=" + std::to_string(d.n) + ", m=" + std::to_string(d.m) +
                                " (construct it as LQWorkspace(game.dims))");
}

void check_member(const LQGameData& g, Index b) {
  if (b < 0 || b >= g.batch)
    throw std::invalid_argument("game index b=" + std::to_string(b) + " is outside the batch [0, " +
                                std::to_string(g.batch) + ")");
}

}  // namespace

SolveReport solve_lq_game(const LQGameData& g, Index b, const LQSolutionView& out, LQWorkspace& ws,
                          const SolveOptions& opts) {
  check_game(g);  // once per call, at the boundary (the stage loop is unchecked)
  check_member(g, b);
  check_solution(g, out, true);
  check_workspace(g.dims, ws);
  return detail::solve_lq_game_with(g, b, out, ws, opts, detail::StageSolver{});
}

SolveReport solve_lq_stage(const LQGameData& g, Index b, const LQSolutionView& out, LQWorkspace& ws,
                           const SolveOptions& opts) {
  if (g.T != 1) throw std::invalid_argument("solve_lq_stage: the game must have T = 1, got " + std::to_string(g.T));
  check_game(g);
  check_member(g, b);
  check_stage_outputs(g, out);
  check_workspace(g.dims, ws);
  const bool aug = has_affine_terms(g);
  const Views v = views(ws, aug ? g.dims.n + 1 : g.dims.n, true);
  SolveReport rep;
  load_terminal(g, b, v);
  load_stage(g, b, 0, ws, v);
  out.status[b] = run_stage(g, b, 0, out, v, ws, opts, detail::StageSolver{}, rep);
  return rep;
}

void evaluate_strategy(const LQGameData& g, Index b, const LQSolutionView& out, LQWorkspace& ws) {
  check_game(g);
  check_member(g, b);
  check_solution(g, out, false);
  check_workspace(g.dims, ws);
  const Index n = g.dims.n, m = g.dims.m, T = g.T;
  // A feedforward term k != 0 makes zeta, s non-zero even without linear or affine data.
  bool aug = has_affine_terms(g);
  for (Index t = 0; t < T && !aug; ++t) {
    const double* k = out.k.at(b, t);
    for (Index a = 0; a < m; ++a) aug = aug || k[a] != 0.0;
  }
  const Views v = views(ws, aug ? n + 1 : n);
  set_terminal(g, b, out, v);
  for (Index t = T - 1; t >= 0; --t) {
    load_stage(g, b, t, ws, v);
    const double* K = out.K.at(b, t);
    const double* k = out.k.at(b, t);
    for (Index a = 0; a < m; ++a) {
      double* xa = v.X + a * v.ld;
      for (Index j = 0; j < n; ++j) xa[j] = K[a * n + j];
      if (aug) xa[n] = k[a];
    }
    value_update(g, b, t, out, v, ws);
  }
}

LQSolutionView LQSolution::view() {
  LQSolutionView v;
  v.K = {K.data(), static_cast<Index>(K.size()), m * n, 0};
  v.k = {k.data(), static_cast<Index>(k.size()), m, 0};
  v.Z = {Z.data(), static_cast<Index>(Z.size()), N * n * n, 0};
  v.zeta = {zeta.data(), static_cast<Index>(zeta.size()), N * n, 0};
  v.s = {s.data(), static_cast<Index>(s.size()), N, 0};
  v.status = status.data();
  v.status_size = static_cast<Index>(status.size());
  return v;
}

LQSolution solve_lq_game(const LQGameData& g, const SolveOptions& opts) {
  check_game(g);
  LQSolution sol;
  const Dims& d = g.dims;
  sol.T = g.T;
  sol.N = d.N;
  sol.n = d.n;
  sol.m = d.m;
  sol.K.resize(g.T * d.m * d.n);
  sol.k.resize(g.T * d.m);
  sol.Z.resize((g.T + 1) * d.N * d.n * d.n);
  sol.zeta.resize((g.T + 1) * d.N * d.n);
  sol.s.resize((g.T + 1) * d.N);
  sol.status.assign(g.T, 0);
  LQGameData one = g;
  one.batch = 1;
  LQSolutionView v = sol.view();
  check_solution(one, v, true);
  LQWorkspace ws(d);
  sol.report = solve_lq_game(one, 0, v, ws, opts);
  return sol;
}

}  // namespace gamesolve
