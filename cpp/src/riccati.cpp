// Coupled Riccati recursion for finite-horizon feedback Nash of LQ games (SPEC 2).
#include "gamesolve/lq_game.hpp"

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

LQWorkspace::LQWorkspace(const Dims& d)
    : S(d.m, d.m),
      rhs(d.m, d.n + 1),
      sol(d.m, d.n + 1),
      BtZ(d.m, d.n),
      F(d.n, d.n),
      ZF(d.n, d.n),
      G(d.m, d.n),
      Znew(d.n, d.n),
      beta(d.n),
      tmp(d.n),
      Rk(d.m),
      lu(d.m),
      cod(d.m, d.m) {}

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

inline bool all_finite(const Eigen::Ref<const Mat>& X) { return X.allFinite(); }

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

// Terminal values: Z_T = QT, zeta_T = qT (or 0), s_T = 0.
void set_terminal(const LQGameData& g, Index b, const LQSolutionView& out) {
  const Index N = g.dims.N, n = g.dims.n, T = g.T;
  const double* QT = g.QT.at(b, 0);
  double* Z = out.Z.at(b, T);
  for (Index i = 0; i < N * n * n; ++i) Z[i] = QT[i];
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

// Value update of stage t for the gains K, k stored in out (SPEC 2):
//   F = A - B K, beta = c - B k,
//   Z^i    = Q^i + F'Z^i F + K'R^i K - K'M^i - M^i'K
//   zeta^i = q^i + F'(zeta^i + Z^i beta) + K'(R^i k - r^i) - M^i'k
//   s^i    = s^i + beta'Z^i beta + 2 zeta^i'beta + k'R^i k - 2 r^i'k
// with stage t+1 values on the right. K'R K - K'M - M'K is formed as the
// symmetric part of K'(R K - 2 M).
void value_update(const LQGameData& g, Index b, Index t, const LQSolutionView& out, LQWorkspace& ws) {
  const Dims& d = g.dims;
  const Index N = d.N, n = d.n, m = d.m;
  CMapRow A(g.A.at(b, t), n, n);
  CMapRow B(g.B.at(b, t), n, m);
  CMapRow K(out.K.at(b, t), m, n);
  CMapVec k(out.k.at(b, t), m);

  ws.F.noalias() = -B * K;
  ws.F += A;
  ws.beta.noalias() = -B * k;
  if (g.c.present()) ws.beta += CMapVec(g.c.at(b, t), n);

  for (Index i = 0; i < N; ++i) {
    CMapRow Zn(out.Z.at(b, t + 1) + i * n * n, n, n);
    CMapVec zn(out.zeta.at(b, t + 1) + i * n, n);
    const double sn = out.s.at(b, t + 1)[i];
    CMapRow Qi(g.Q.at(b, t) + i * n * n, n, n);
    CMapRow Ri(g.R.at(b, t) + i * m * m, m, m);

    // zeta-part first (uses Z^i_{t+1} beta).
    ws.tmp.noalias() = Zn * ws.beta;                  // Z beta
    double s_new = sn + ws.beta.dot(ws.tmp) + 2.0 * zn.dot(ws.beta);
    ws.tmp += zn;                                     // zeta + Z beta
    ws.Rk.noalias() = Ri * k;
    s_new += k.dot(ws.Rk);
    MapVec zeta_new(out.zeta.at(b, t) + i * n, n);
    zeta_new.noalias() = ws.F.transpose() * ws.tmp;
    if (g.r.present()) {
      CMapVec ri(g.r.at(b, t) + i * m, m);
      ws.Rk -= ri;
      s_new -= 2.0 * ri.dot(k);
    }
    zeta_new.noalias() += K.transpose() * ws.Rk;
    if (g.q.present()) zeta_new += CMapVec(g.q.at(b, t) + i * n, n);

    ws.G.noalias() = Ri * K;
    if (g.M.present()) {
      CMapRow Mi(g.M.at(b, t) + i * m * n, m, n);
      zeta_new.noalias() -= Mi.transpose() * k;
      ws.G -= 2.0 * Mi;
    }
    ws.ZF.noalias() = Zn * ws.F;
    ws.Znew.noalias() = ws.F.transpose() * ws.ZF;
    ws.Znew.noalias() += K.transpose() * ws.G;
    MapRow Zt(out.Z.at(b, t) + i * n * n, n, n);
    Zt = 0.5 * (ws.Znew + ws.Znew.transpose()) + Qi;
    out.s.at(b, t)[i] = s_new;
  }
}

}  // namespace

SolveReport solve_lq_game(const LQGameData& g, Index b, const LQSolutionView& out, LQWorkspace& ws,
                          const SolveOptions& opts) {
  const Dims& d = g.dims;
  const Index N = d.N, n = d.n, m = d.m, T = g.T;
  SolveReport rep;
  set_terminal(g, b, out);

  for (Index t = T - 1; t >= 0; --t) {
    CMapRow A(g.A.at(b, t), n, n);
    CMapRow B(g.B.at(b, t), n, m);
    std::int32_t st = kStageOk;

    // Stage system S [K k] = [Y y]; row block i from player i's value (SPEC 2).
    for (Index i = 0; i < N; ++i) {
      const Index o = d.off[i], mi = d.m_i[i];
      CMapRow Zn(out.Z.at(b, t + 1) + i * n * n, n, n);
      CMapVec zn(out.zeta.at(b, t + 1) + i * n, n);
      CMapRow Ri(g.R.at(b, t) + i * m * m, m, m);
      auto Bi = B.middleCols(o, mi);
      auto BtZ = ws.BtZ.middleRows(o, mi);
      BtZ.noalias() = Bi.transpose() * Zn;
      ws.S.middleRows(o, mi).noalias() = BtZ * B;
      ws.S.middleRows(o, mi) += Ri.middleRows(o, mi);
      ws.rhs.block(o, 0, mi, n).noalias() = BtZ * A;
      if (g.M.present()) ws.rhs.block(o, 0, mi, n) += CMapRow(g.M.at(b, t) + i * m * n, m, n).middleRows(o, mi);
      auto y = ws.rhs.col(n).segment(o, mi);
      y.noalias() = Bi.transpose() * zn;
      if (g.c.present()) y.noalias() += BtZ * CMapVec(g.c.at(b, t), n);
      if (g.r.present()) y += CMapVec(g.r.at(b, t) + i * m, m).segment(o, mi);
    }

    if (!all_finite(ws.S) || !all_finite(ws.rhs)) {
      st = kStageNonFinite;
      ++rep.nonfinite_stages;
      ws.sol.setConstant(std::numeric_limits<double>::quiet_NaN());
    } else {
      ws.lu.compute(ws.S);
      const double rc = ws.lu.rcond();
      if (rc < rep.min_rcond) rep.min_rcond = rc;
      if (!(rc >= opts.rcond_tol)) {
        ws.cod.setThreshold(opts.rank_tol);
        ws.cod.compute(ws.S);
        ws.sol = ws.cod.solve(ws.rhs);  // minimum-norm least-squares solution (may allocate)
        st = kStageMinNorm;
        ++rep.min_norm_stages;
      } else {
        ws.sol.noalias() = ws.lu.solve(ws.rhs);
      }
    }
    MapRow(out.K.at(b, t), m, n) = ws.sol.leftCols(n);
    MapVec(out.k.at(b, t), m) = ws.sol.col(n);
    value_update(g, b, t, out, ws);
    if (st == kStageOk && !std::isfinite(out.s.at(b, t)[0] + CMapRow(out.Z.at(b, t), N * n, n).sum())) {
      st = kStageNonFinite;
      ++rep.nonfinite_stages;
    }
    out.status[b * T + t] = st;
  }
  return rep;
}

void evaluate_strategy(const LQGameData& g, Index b, const LQSolutionView& out, LQWorkspace& ws) {
  set_terminal(g, b, out);
  for (Index t = g.T - 1; t >= 0; --t) value_update(g, b, t, out, ws);
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
