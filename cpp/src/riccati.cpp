// Coupled Riccati recursion for finite-horizon feedback Nash of LQ games (SPEC 2).
#include "gamesolve/lq_game.hpp"
#include "small_gemm.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace gamesolve {

Dims::Dims(Index n_, std::vector<Index> control_dims) : N(0), n(n_), m(0), m_i(std::move(control_dims)) {
  if (n < 1) throw std::invalid_argument("state size n must be >= 1, got " + std::to_string(n));
  if (m_i.empty()) throw std::invalid_argument("a game needs at least one player (dims is empty)");
  N = static_cast<Index>(m_i.size());
  off.resize(m_i.size());
  for (std::size_t i = 0; i < m_i.size(); ++i) {
    if (m_i[i] < 1)
      throw std::invalid_argument("control size of player " + std::to_string(i) + " must be >= 1, got " +
                                  std::to_string(m_i[i]));
    off[i] = m;
    m += m_i[i];
  }
}

LQWorkspace::LQWorkspace(const Dims& d) {
  using detail::padded;
  const Index N = d.N, n = d.n, m = d.m, np = padded(d.n), mp = padded(d.m);
  // Padded rows must start (and stay) zero: see small_gemm.hpp.
  for (Mat* X : {&Ac, &At, &Ft, &ZF, &H}) X->setZero(np, n);
  Zp.assign(static_cast<std::size_t>(N), Mat::Zero(np, n));
  Bc.setZero(np, m);
  ZB.setZero(np, m);
  Bt.setZero(mp, n);
  Rp.setZero(mp, m);
  St.setZero(mp, m);
  G.setZero(mp, n + 1);
  X.setZero(padded(n + 1), m);
  X2.setZero(padded(n + 1), m);
  S.setZero(m, m);
  rhs.setZero(m, n + 1);
  sol.setZero(m, n + 1);
  beta.setZero(n);
  tmp.setZero(n);
  Rk.setZero(m);
  cx.setZero(m);
  cy.setZero(m);
  cz.setZero(m);
  lu = Eigen::PartialPivLU<Mat>(m);
  cod = Eigen::CompleteOrthogonalDecomposition<Mat>(m, m);
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
  const Index last = (batch - 1) * s.b_stride + (T - 1) * s.t_stride + block;
  if (last > s.size)
    throw std::invalid_argument(std::string(name) + ": buffer of " + std::to_string(s.size) +
                                " doubles is too small; the game needs " + std::to_string(last));
}

void check_out(const char* name, const OutSeries& s, Index block, Index T, Index batch) {
  if (s.data == nullptr) throw std::invalid_argument(std::string(name) + " output buffer is missing");
  if (s.t_stride < block || s.b_stride < 0)
    throw std::invalid_argument(std::string(name) + ": output time stride must be at least the block size");
  const Index last = (batch - 1) * s.b_stride + (T - 1) * s.t_stride + block;
  if (last > s.size)
    throw std::invalid_argument(std::string(name) + ": output buffer of " + std::to_string(s.size) +
                                " doubles is too small; needs " + std::to_string(last));
}

// Finite iff the sum is: one vectorized reduction instead of a per-entry test.
// (Finite entries whose sum overflows also count as non-finite; the recursion
// could not continue with them anyway.)
template <class D>
inline bool finite_sum(const Eigen::DenseBase<D>& X) {
  return std::isfinite(X.sum());
}

// Reciprocal 1-norm condition number of the LU-factorized S, by Hager's
// estimator of ||S^{-1}||_1 (Higham 1988, the method of LAPACK's dlacon):
// a few solves with S and S' on preallocated vectors, no allocation.
double rcond_estimate(LQWorkspace& ws, double norm1_S) {
  const Index m = ws.S.rows();
  if (!(norm1_S > 0.0)) return 0.0;
  ws.cx.setConstant(1.0 / double(m));
  double est = 0.0;
  for (int iter = 0; iter < 5; ++iter) {
    // y = S^{-1} x with P S = L U.
    ws.cy.noalias() = ws.lu.permutationP() * ws.cx;
    ws.lu.matrixLU().triangularView<Eigen::UnitLower>().solveInPlace(ws.cy);
    ws.lu.matrixLU().triangularView<Eigen::Upper>().solveInPlace(ws.cy);
    const double y1 = ws.cy.lpNorm<1>();
    if (!std::isfinite(y1)) return 0.0;
    if (iter > 0 && y1 <= est) break;
    est = y1;
    for (Index i = 0; i < m; ++i) ws.cx(i) = ws.cy(i) >= 0.0 ? 1.0 : -1.0;
    // z = S^{-T} x: S' = U'L'P, so solve U'w = x, L'v = w, z = P'v.
    ws.cy = ws.cx;
    ws.lu.matrixLU().triangularView<Eigen::Upper>().transpose().solveInPlace(ws.cy);
    ws.lu.matrixLU().triangularView<Eigen::UnitLower>().transpose().solveInPlace(ws.cy);
    ws.cz.noalias() = ws.lu.permutationP().transpose() * ws.cy;
    Index j = 0;
    const double zmax = ws.cz.cwiseAbs().maxCoeff(&j);
    if (iter > 0 && zmax <= ws.cz.dot(ws.cx)) break;
    ws.cx.setZero();
    ws.cx(j) = 1.0;
  }
  return est > 0.0 ? 1.0 / (norm1_S * est) : 0.0;
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

void check_solution(const LQGameData& g, const LQSolutionView& out, bool need_gains) {
  const Dims& d = g.dims;
  const Index N = d.N, n = d.n, m = d.m, T = g.T, b = g.batch;
  check_out("K", out.K, m * n, T, b);
  check_out("k", out.k, m, T, b);
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

// Terminal values: Z_T = QT, zeta_T = qT (or 0), s_T = 0.
void set_terminal(const LQGameData& g, Index b, const LQSolutionView& out, LQWorkspace& ws) {
  const Index N = g.dims.N, n = g.dims.n, T = g.T;
  const double* QT = g.QT.at(b, 0);
  double* Z = out.Z.at(b, T);
  for (Index i = 0; i < N * n * n; ++i) Z[i] = QT[i];
  for (Index i = 0; i < N; ++i) ws.Zp[i].topRows(n) = CMap(QT + i * n * n, n, n);
  double* zeta = out.zeta.at(b, T);
  if (g.qT.present()) {
    const double* qT = g.qT.at(b, 0);
    for (Index i = 0; i < N * n; ++i) zeta[i] = qT[i];
  } else {
    for (Index i = 0; i < N * n; ++i) zeta[i] = 0.0;
  }
  double* s = out.s.at(b, T);
  for (Index i = 0; i < N; ++i) s[i] = 0.0;
}

// Layout trick: a row-major (r x c) buffer is the column-major (c x r)
// transpose, so Map<const Mat>(A, n, n) is A' and Map<const Mat>(B, m, n) is B'
// at no cost; symmetric blocks (Z, Q, R) map either way. Matrix products are
// column-major x column-major through detail::gemm (small_gemm.hpp).
// Loads A, B of stage t into the padded column-major workspace (A, A', B, B').
void load_dynamics(const LQGameData& g, Index b, Index t, LQWorkspace& ws) {
  const Index n = g.dims.n, m = g.dims.m;
  // Time-invariant dynamics are loaded once per game.
  if (g.A.t_stride == 0 && g.B.t_stride == 0 && ws.loaded_A == g.A.at(b, t) && ws.loaded_B == g.B.at(b, t)) return;
  ws.loaded_A = g.A.at(b, t);
  ws.loaded_B = g.B.at(b, t);
  CMap At(g.A.at(b, t), n, n);
  CMap Bt(g.B.at(b, t), m, n);
  ws.At.topRows(n) = At;
  ws.Ac.topRows(n) = At.transpose();
  ws.Bt.topRows(m) = Bt;
  ws.Bc.topRows(n) = Bt.transpose();
}

inline bool has_affine_terms(const LQGameData& g) {
  return g.q.present() || g.r.present() || g.c.present() || g.qT.present();
}

// Value update of stage t for the gains in ws.X (rows 0..n-1 = K', row n = k'),
// SPEC 2:
//   F = A - B K, beta = c - B k,
//   Z^i    = Q^i + F'Z^i F + K'R^i K - K'M^i - M^i'K
//   zeta^i = q^i + F'(zeta^i + Z^i beta) + K'(R^i k - r^i) - M^i'k
//   s^i    = s^i + beta'Z^i beta + 2 zeta^i'beta + k'R^i k - 2 r^i'k
// with stage t+1 values on the right (Z^i_{t+1} in ws.Zp[i], replaced by Z^i_t).
// K'R K - K'M - M'K is formed as the symmetric part of K'(R K - 2 M). A game
// without linear or affine terms has k = 0, zeta = 0, s = 0 at every stage;
// that part is then skipped. Expects load_dynamics(t) done.
void value_update(const LQGameData& g, Index b, Index t, const LQSolutionView& out, LQWorkspace& ws) {
  const Dims& d = g.dims;
  const Index N = d.N, n = d.n, m = d.m, np = ws.Ft.rows(), mp = ws.G.rows(), ldx = ws.X.rows();
  const bool affine = has_affine_terms(g);
  const double* Xd = ws.X.data();  // [K k]' : K(k, j) = Xd[k * ldx + j]
  // F' = A' - K'B' (K' is the top of X), formed directly so that no transpose
  // is needed: F itself is read as the strided view F(k, j) = F'(j, k).
  ws.Ft = ws.At;
  detail::gemm(ws.Ft.data(), np, Xd, ldx, ws.Bt.data(), 1, mp, np, m, n, -1.0, true);
  auto k = ws.X.row(n).head(m).transpose();
  if (affine) {
    if (g.c.present())
      ws.beta = CMapVec(g.c.at(b, t), n);
    else
      ws.beta.setZero();
    ws.beta.noalias() -= ws.Bc.topRows(n) * k;
  }

  for (Index i = 0; i < N; ++i) {
    Mat& Zi = ws.Zp[i];  // Z^i_{t+1}, padded
    auto Zn = Zi.topRows(n);
    CMap Qi(g.Q.at(b, t) + i * n * n, n, n);
    CMap Ri(g.R.at(b, t) + i * m * m, m, m);
    ws.Rp.topRows(m) = Ri;
    // G = R^i [K k] - 2 [M^i 0]
    detail::gemm(ws.G.data(), mp, ws.Rp.data(), mp, Xd, ldx, 1, mp, m, n + 1, 1.0, false);
    MapVec zeta_new(out.zeta.at(b, t) + i * n, n);
    if (affine) {
      CMapVec zn(out.zeta.at(b, t + 1) + i * n, n);
      ws.tmp.noalias() = Zn * ws.beta;  // Z beta
      double s_new = out.s.at(b, t + 1)[i] + ws.beta.dot(ws.tmp) + 2.0 * zn.dot(ws.beta);
      ws.tmp += zn;  // zeta + Z beta
      ws.Rk = ws.G.col(n).head(m);
      s_new += k.dot(ws.Rk);
      zeta_new.noalias() = ws.Ft.topRows(n) * ws.tmp;
      if (g.r.present()) {
        CMapVec ri(g.r.at(b, t) + i * m, m);
        ws.Rk -= ri;
        s_new -= 2.0 * ri.dot(k);
      }
      zeta_new.noalias() += ws.X.topLeftCorner(n, m) * ws.Rk;
      if (g.q.present()) zeta_new += CMapVec(g.q.at(b, t) + i * n, n);
      if (g.M.present()) zeta_new.noalias() -= CMap(g.M.at(b, t) + i * m * n, n, m) * k;
      out.s.at(b, t)[i] = s_new;
    } else {
      zeta_new.setZero();
      out.s.at(b, t)[i] = 0.0;
    }
    if (g.M.present()) ws.G.topLeftCorner(m, n) -= 2.0 * CMap(g.M.at(b, t) + i * m * n, n, m).transpose();
    detail::gemm(ws.ZF.data(), np, Zi.data(), np, ws.Ft.data(), np, 1, np, n, n, 1.0, false);  // Z F
    detail::gemm(ws.H.data(), np, ws.Ft.data(), np, ws.ZF.data(), 1, np, np, n, n, 1.0, false);  // F'Z F
    detail::gemm(ws.H.data(), np, Xd, ldx, ws.G.data(), 1, mp, np, m, n, 1.0, true);  // + K'(R K - 2 M)
    auto H = ws.H.topRows(n);
    Zn = 0.5 * (H + H.transpose()) + Qi;
    WMap(out.Z.at(b, t) + i * n * n, n, n) = Zn;
  }
}

}  // namespace

SolveReport solve_lq_game(const LQGameData& g, Index b, const LQSolutionView& out, LQWorkspace& ws,
                          const SolveOptions& opts) {
  const Dims& d = g.dims;
  const Index N = d.N, n = d.n, m = d.m, T = g.T, np = ws.Ft.rows(), mp = ws.St.rows(), ldx = ws.X.rows();
  const bool affine = has_affine_terms(g);
  SolveReport rep;
  ws.loaded_A = ws.loaded_B = nullptr;  // the caller may have changed the data since the last solve
  set_terminal(g, b, out, ws);

  for (Index t = T - 1; t >= 0; --t) {
    load_dynamics(g, b, t, ws);
    std::int32_t st = kStageOk;

    // Stage system S [K k] = [Y y], assembled transposed: X = [Y y]' ((n+1) x m,
    // column block i from player i's value, SPEC 2) and St = S', with
    // ZB^i = Z^i B^i:  S' block i = B'ZB^i + R^i_[:,i],  Y' block i = A'ZB^i + (M^i_[i])',
    // y block i = B^i'zeta^i + ZB^i'c + r^i_[i].
    for (Index i = 0; i < N; ++i) {
      const Index o = d.off[i], mi = d.m_i[i];
      const Mat& Zi = ws.Zp[i];
      detail::gemm(ws.ZB.data(), np, Zi.data(), np, ws.Bc.data() + o * np, 1, np, np, n, mi, 1.0, false);
      detail::gemm(ws.St.data() + o * mp, mp, ws.Bt.data(), mp, ws.ZB.data(), 1, np, mp, n, mi, 1.0, false);
      ws.St.block(0, o, m, mi) += CMap(g.R.at(b, t) + i * m * m, m, m).middleCols(o, mi);
      detail::gemm(ws.X.data() + o * ldx, ldx, ws.At.data(), np, ws.ZB.data(), 1, np, np, n, mi, 1.0, false);
      if (g.M.present()) ws.X.block(0, o, n, mi) += CMap(g.M.at(b, t) + i * m * n, n, m).middleCols(o, mi);
      auto y = ws.X.row(n).segment(o, mi).transpose();
      if (affine) {
        y.noalias() = ws.Bt.block(o, 0, mi, n) * CMapVec(out.zeta.at(b, t + 1) + i * n, n);
        if (g.c.present()) y.noalias() += ws.ZB.topLeftCorner(n, mi).transpose() * CMapVec(g.c.at(b, t), n);
        if (g.r.present()) y += CMapVec(g.r.at(b, t) + i * m, m).segment(o, mi);
      } else {
        y.setZero();
      }
    }

    auto St = ws.St.topRows(m);
    if (!finite_sum(St) || !finite_sum(ws.X.topRows(n + 1))) {
      st = kStageNonFinite;
      ++rep.nonfinite_stages;
      ws.X.setConstant(std::numeric_limits<double>::quiet_NaN());
    } else {
      ws.S = St.transpose();
      const double norm1 = ws.S.cwiseAbs().colwise().sum().maxCoeff();
      ws.lu.compute(ws.S);
      const double rc = rcond_estimate(ws, norm1);
      if (rc < rep.min_rcond) rep.min_rcond = rc;
      if (!(rc >= opts.rcond_tol)) {
        ws.cod.setThreshold(opts.rank_tol);
        ws.cod.compute(ws.S);
        ws.rhs = ws.X.topRows(n + 1).transpose();
        ws.sol = ws.cod.solve(ws.rhs);  // minimum-norm least-squares solution (may allocate)
        ws.X.topRows(n + 1) = ws.sol.transpose();
        st = kStageMinNorm;
        ++rep.min_norm_stages;
      } else {
        // Solve S X' = [Y y] in place on the columns of X (each column of X is a
        // row of [Y y], so every step is a contiguous axpy of length n+1):
        // P S = L U  =>  X2 = P-permuted columns, then L and U substitutions.
        const auto& perm = ws.lu.permutationP().indices();
        for (Index i = 0; i < m; ++i) ws.X2.col(perm[i]) = ws.X.col(i);
        const Mat& LU = ws.lu.matrixLU();
        for (Index i = 1; i < m; ++i)
          for (Index j = 0; j < i; ++j) ws.X2.col(i) -= LU(i, j) * ws.X2.col(j);
        for (Index i = m - 1; i >= 0; --i) {
          for (Index j = i + 1; j < m; ++j) ws.X2.col(i) -= LU(i, j) * ws.X2.col(j);
          ws.X2.col(i) /= LU(i, i);
        }
        ws.X.swap(ws.X2);
      }
    }
    MapRow(out.K.at(b, t), m, n) = ws.X.topRows(n).transpose();
    MapVec(out.k.at(b, t), m) = ws.X.row(n).head(m).transpose();
    value_update(g, b, t, out, ws);
    // Every value of the stage must be finite (also on min-norm stages, and zeta / every s^i:
    // an overflow there would otherwise go unflagged at t = 0).
    if (st != kStageNonFinite &&
        !(finite_sum(CMapVec(out.Z.at(b, t), N * n * n)) && finite_sum(CMapVec(out.zeta.at(b, t), N * n)) &&
          finite_sum(CMapVec(out.s.at(b, t), N)) && finite_sum(ws.X.topRows(n + 1)))) {
      st = kStageNonFinite;
      ++rep.nonfinite_stages;
    }
    out.status[b * T + t] = st;
  }
  return rep;
}

void evaluate_strategy(const LQGameData& g, Index b, const LQSolutionView& out, LQWorkspace& ws) {
  const Index n = g.dims.n, m = g.dims.m;
  ws.loaded_A = ws.loaded_B = nullptr;
  set_terminal(g, b, out, ws);
  for (Index t = g.T - 1; t >= 0; --t) {
    load_dynamics(g, b, t, ws);
    ws.X.topRows(n) = CMapRow(out.K.at(b, t), m, n).transpose();
    ws.X.row(n).head(m) = CMapVec(out.k.at(b, t), m).transpose();
    value_update(g, b, t, out, ws);
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
