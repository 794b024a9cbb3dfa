// C++ tests of the pluggable stage solve (detail/riccati_stage.hpp) and of the
// outputs on demand of the batch driver (gains only, stage 0 only).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "check.hpp"
#include "gamesolve/detail/riccati_stage.hpp"
#include "gamesolve/lq_game.hpp"

using namespace gamesolve;

namespace {

// A batch of distinct time-varying games with every term (q, r, M, c, qT), laid out
// (batch, T, block); game b's data differ from game b - 1's.
struct TVBatch {
  Index N = 3, n = 5, m = 0, T = 6, batch = 1;
  std::vector<double> A, B, Q, q, R, r, M, c, QT, qT;
  LQGameData g;
};

TVBatch make_tv_batch(Index batch, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> nd;
  TVBatch f;
  f.batch = batch;
  const std::vector<Index> dims = {2, 1, 2};
  f.m = 5;
  const Index N = f.N, n = f.n, m = f.m, T = f.T;
  auto fill = [&](std::vector<double>& v, Index size, double scale) {
    v.resize(size);
    for (auto& x : v) x = scale * nd(rng);
  };
  fill(f.A, batch * T * n * n, 1.0 / std::sqrt(double(n)));
  fill(f.B, batch * T * n * m, 1.0);
  fill(f.q, batch * T * N * n, 0.5);
  fill(f.r, batch * T * N * m, 0.5);
  fill(f.M, batch * T * N * m * n, 0.1);
  fill(f.c, batch * T * n, 0.3);
  fill(f.qT, batch * N * n, 0.5);
  f.Q.assign(batch * T * N * n * n, 0.0);
  f.R.assign(batch * T * N * m * m, 0.0);
  f.QT.assign(batch * N * n * n, 0.0);
  auto spd = [&](double* out, Index k, double floor) {
    Mat X = Mat::NullaryExpr(k, k, [&]() { return nd(rng); });
    MapRow(out, k, k) = X * X.transpose() / double(k) + floor * Mat::Identity(k, k);
  };
  for (Index bt = 0; bt < batch * T; ++bt)
    for (Index i = 0; i < N; ++i) {
      spd(f.Q.data() + (bt * N + i) * n * n, n, 1.0);
      spd(f.R.data() + (bt * N + i) * m * m, m, 1.0);  // joint weights, dense
    }
  for (Index b = 0; b < batch; ++b)
    for (Index i = 0; i < N; ++i) spd(f.QT.data() + (b * N + i) * n * n, n, 0.5);
  f.g.dims = Dims(n, dims);
  f.g.T = T;
  f.g.batch = batch;
  f.g.A = {f.A.data(), Index(f.A.size()), n * n, T * n * n};
  f.g.B = {f.B.data(), Index(f.B.size()), n * m, T * n * m};
  f.g.Q = {f.Q.data(), Index(f.Q.size()), N * n * n, T * N * n * n};
  f.g.q = {f.q.data(), Index(f.q.size()), N * n, T * N * n};
  f.g.R = {f.R.data(), Index(f.R.size()), N * m * m, T * N * m * m};
  f.g.r = {f.r.data(), Index(f.r.size()), N * m, T * N * m};
  f.g.M = {f.M.data(), Index(f.M.size()), N * m * n, T * N * m * n};
  f.g.c = {f.c.data(), Index(f.c.size()), n, T * n};
  f.g.QT = {f.QT.data(), Index(f.QT.size()), 0, N * n * n};
  f.g.qT = {f.qT.data(), Index(f.qT.size()), 0, N * n};
  return f;
}

// Output buffers for a batch: every stage (steps = T, T + 1), stage 0 only (steps = 1,
// time stride 0) or absent (steps = 0), prefilled with NaN so that a kernel reading
// back from them would show.
struct Out {
  std::vector<double> K, k, Z, zeta, s;
  std::vector<std::int32_t> status;
  LQSolutionView v;
};

OutSeries series(std::vector<double>& buf, Index batch, Index block, Index steps) {
  if (steps == 0) return {};
  buf.assign(batch * steps * block, std::numeric_limits<double>::quiet_NaN());
  return {buf.data(), Index(buf.size()), steps == 1 ? 0 : block, steps * block};
}

enum class Keep { all, gains, stage0 };

Out make_out(const LQGameData& g, Keep keep) {
  const Index N = g.dims.N, n = g.dims.n, m = g.dims.m, T = g.T, B = g.batch;
  Out o;
  const Index gain_steps = keep == Keep::stage0 ? 1 : T;
  o.v.K = series(o.K, B, m * n, gain_steps);
  o.v.k = series(o.k, B, m, gain_steps);
  o.v.Z = series(o.Z, B, N * n * n, keep == Keep::all ? T + 1 : 0);
  o.v.zeta = series(o.zeta, B, N * n, keep == Keep::all ? T + 1 : 0);
  o.v.s = series(o.s, B, N, keep == Keep::all ? T + 1 : 0);
  o.status.assign(B * T, -1);
  o.v.status = o.status.data();
  o.v.status_size = Index(o.status.size());
  return o;
}

// Stage 0 of every game of a full output `v` (block doubles per stage, `steps` per game).
std::vector<double> stage0(const std::vector<double>& full, Index batch, Index block, Index steps) {
  std::vector<double> out;
  for (Index b = 0; b < batch; ++b)
    out.insert(out.end(), full.begin() + b * steps * block, full.begin() + b * steps * block + block);
  return out;
}

// Bitwise equality (NaN == NaN when the bits agree).
bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i], &b[i], sizeof(double)) != 0) return false;
  return true;
}

void test_outputs_on_demand_equal_slices_of_full() {
  // Gains only and stage 0 only are the corresponding slices of the full solve, bit for
  // bit, for batch sizes 1..5 and 1 or 2 threads (outputs prefilled with NaN: nothing is
  // read back from them).
  for (Index batch = 1; batch <= 5; ++batch) {
    TVBatch f = make_tv_batch(batch, 100 + unsigned(batch));
    const Index N = f.N, n = f.n, m = f.m, T = f.T;
    Out full = make_out(f.g, Keep::all);
    solve_lq_games(f.g, full.v, 1);
    bool finite = true;
    for (double x : full.Z) finite = finite && std::isfinite(x);
    CHECK(finite);
    for (int threads = 1; threads <= 2; ++threads) {
      Out again = make_out(f.g, Keep::all);
      solve_lq_games(f.g, again.v, threads);
      CHECK(same_bits(again.K, full.K) && same_bits(again.Z, full.Z) && same_bits(again.zeta, full.zeta) &&
            same_bits(again.s, full.s) && again.status == full.status);
      Out gains = make_out(f.g, Keep::gains);
      solve_lq_games(f.g, gains.v, threads);
      CHECK(same_bits(gains.K, full.K) && same_bits(gains.k, full.k) && gains.status == full.status);
      Out first = make_out(f.g, Keep::stage0);
      solve_lq_games(f.g, first.v, threads);
      CHECK(same_bits(first.K, stage0(full.K, batch, m * n, T)));
      CHECK(same_bits(first.k, stage0(full.k, batch, m, T)));
      CHECK(first.status == full.status);
      // Stage 0 of the values too, and only k (no K) for the guidance case.
      Out vals = make_out(f.g, Keep::stage0);
      vals.v.K = {};
      vals.v.Z = series(vals.Z, batch, N * n * n, 1);
      vals.v.zeta = series(vals.zeta, batch, N * n, 1);
      vals.v.s = series(vals.s, batch, N, 1);
      solve_lq_games(f.g, vals.v, threads);
      CHECK(same_bits(vals.k, stage0(full.k, batch, m, T)));
      CHECK(same_bits(vals.Z, stage0(full.Z, batch, N * n * n, T + 1)));
      CHECK(same_bits(vals.zeta, stage0(full.zeta, batch, N * n, T + 1)));
      CHECK(same_bits(vals.s, stage0(full.s, batch, N, T + 1)));
    }
  }
}

// A test plug: forwards to the default LU solve and counts its calls (from any thread).
struct CountingLU {
  std::atomic<Index> calls{0};
  static std::int32_t solve(void* state, const detail::StageSystem& sys, const detail::StageContext& ctx) {
    ++static_cast<CountingLU*>(state)->calls;
    return detail::lu_stage_solve(sys, ctx);
  }
};

// A plug with its own gains: K = S^{-1} Y computed by Eigen (a different elimination),
// then halved, k = y / 2 -- the recursion must go on with these gains.
std::int32_t halved_eigen(void*, const detail::StageSystem& sys, const detail::StageContext& ctx) {
  const Index m = sys.m, nv = sys.nv;
  CHECK(m == ctx.dims.m && sys.n == ctx.dims.n);
  Mat S(m, m), X(m, nv);
  for (Index i = 0; i < m; ++i) {
    for (Index j = 0; j < m; ++j) S(i, j) = sys.S(i, j);
    for (Index j = 0; j < nv; ++j) X(i, j) = sys.rhs(i, j);
  }
  CHECK(S.transpose() == Mat(sys.S_transposed()) && X.transpose() == Mat(sys.rhs_transposed()));
  const Mat G = 0.5 * S.partialPivLu().solve(X);
  sys.rhs_transposed() = G.transpose();
  return kStageOk;
}

void test_plugged_stage_solve() {
  TVBatch f = make_tv_batch(1, 7);
  const Index T = f.T;
  Out ref = make_out(f.g, Keep::all);
  LQWorkspace ws(f.g.dims);
  const SolveReport r0 = solve_lq_game(f.g, 0, ref.v, ws);
  // The counting plug: bit-identical results and report, one call per stage.
  CountingLU counter;
  Out plugged = make_out(f.g, Keep::all);
  const SolveReport r1 =
      detail::solve_lq_game_with(f.g, 0, plugged.v, ws, {}, detail::StageSolver{&CountingLU::solve, &counter});
  CHECK(counter.calls == T);
  CHECK(same_bits(plugged.K, ref.K) && same_bits(plugged.k, ref.k) && same_bits(plugged.Z, ref.Z) &&
        same_bits(plugged.zeta, ref.zeta) && same_bits(plugged.s, ref.s) && plugged.status == ref.status);
  CHECK(r1.min_rcond == r0.min_rcond && r1.min_norm_stages == r0.min_norm_stages);

  // The same plug on a batch, on 2 threads: every stage of every game, bit-identical.
  for (Index batch : {2, 5}) {
    TVBatch fb = make_tv_batch(batch, 70 + unsigned(batch));
    Out want = make_out(fb.g, Keep::all), got = make_out(fb.g, Keep::all);
    solve_lq_games(fb.g, want.v, 1);
    CountingLU count;
    detail::solve_lq_games_with(fb.g, got.v, 2, {}, detail::StageSolver{&CountingLU::solve, &count});
    CHECK(count.calls == batch * T);
    CHECK(same_bits(got.K, want.K) && same_bits(got.k, want.k) && same_bits(got.Z, want.Z) &&
          same_bits(got.zeta, want.zeta) && same_bits(got.s, want.s) && got.status == want.status);
  }

  // A plug with other gains: its values are those of policy evaluation with its gains
  // (the same value update, bit for bit), and its gains are half the equilibrium ones
  // only at the last stage (earlier stages see other values).
  Out half = make_out(f.g, Keep::all);
  detail::solve_lq_game_with(f.g, 0, half.v, ws, {}, detail::StageSolver{&halved_eigen, nullptr});
  Out eval = make_out(f.g, Keep::all);
  std::copy(half.K.begin(), half.K.end(), eval.K.begin());
  std::copy(half.k.begin(), half.k.end(), eval.k.begin());
  evaluate_strategy(f.g, 0, eval.v, ws);
  CHECK(same_bits(eval.Z, half.Z) && same_bits(eval.zeta, half.zeta) && same_bits(eval.s, half.s));
  const Index mn = f.m * f.n, last = (T - 1) * mn;
  double err = 0.0, scale = 0.0;
  for (Index a = 0; a < mn; ++a) {
    err = std::max(err, std::fabs(half.K[last + a] - 0.5 * ref.K[last + a]));
    scale = std::max(scale, std::fabs(ref.K[last + a]));
  }
  CHECK(err <= 1e-12 * scale);
  CHECK(std::fabs(half.K[0] - 0.5 * ref.K[0]) > 1e-6 * scale);

  // A plug that gives up: the stage is flagged non-finite and counted.
  auto give_up = [](void*, const detail::StageSystem& sys, const detail::StageContext&) -> std::int32_t {
    for (Index i = 0; i < sys.m; ++i)
      for (Index j = 0; j < sys.nv; ++j) sys.rhs(i, j) = std::numeric_limits<double>::quiet_NaN();
    return kStageNonFinite;
  };
  Out bad = make_out(f.g, Keep::all);
  const SolveReport r2 = detail::solve_lq_game_with(f.g, 0, bad.v, ws, {}, detail::StageSolver{give_up, nullptr});
  CHECK(r2.nonfinite_stages >= 1 && bad.status[T - 1] == kStageNonFinite);

  // The plug may restore the system after overwriting it (here: overwrite with garbage,
  // restore, then the LU): bit-identical to the default.
  auto restore_then_lu = [](void*, const detail::StageSystem& sys, const detail::StageContext& ctx) {
    for (Index i = 0; i < sys.m; ++i) sys.S(i, i) = 1e300;
    sys.restore();
    return detail::lu_stage_solve(sys, ctx);
  };
  Out restored = make_out(f.g, Keep::all);
  detail::solve_lq_game_with(f.g, 0, restored.v, ws, {}, detail::StageSolver{restore_then_lu, nullptr});
  CHECK(same_bits(restored.K, ref.K) && same_bits(restored.Z, ref.Z));
}

void test_bad_output_sizes_throw() {
  TVBatch f = make_tv_batch(3, 9);
  const Index N = f.N, n = f.n, m = f.m, T = f.T;
  auto throws = [&](auto change) {
    Out o = make_out(f.g, Keep::all);
    change(o);
    bool thrown = false;
    try {
      solve_lq_games(f.g, o.v, 1);
    } catch (const std::invalid_argument&) {
      thrown = true;
    }
    return thrown;
  };
  CHECK(!throws([](Out&) {}));
  CHECK(throws([](Out& o) { o.v.K.size -= 1; }));
  CHECK(throws([](Out& o) { o.v.Z.size = 3; }));
  CHECK(throws([&](Out& o) { o.v.k.t_stride = m - 1; }));               // neither 0 nor >= the block
  CHECK(throws([&](Out& o) { o.v.K.b_stride = (T - 1) * m * n; }));     // games would overlap
  CHECK(throws([&](Out& o) { o.v.Z.b_stride = 0; }));                   // every game in one place
  CHECK(throws([&](Out& o) { o.v.s.t_stride = -N; }));
  CHECK(throws([](Out& o) { o.v.status_size -= 1; }));
  CHECK(throws([](Out& o) { o.v.status = nullptr; }));
  // Stage 0 only: one block per game.
  CHECK(!throws([&](Out& o) { o.v.K = series(o.K, 3, m * n, 1); }));
  CHECK(throws([&](Out& o) {
    o.v.K = series(o.K, 3, m * n, 1);
    o.v.K.size -= 1;
  }));
  CHECK(throws([&](Out& o) {
    o.v.K = series(o.K, 3, m * n, 1);
    o.v.K.b_stride = m * n - 1;
  }));
  // Policy evaluation reads K and k: they cannot be absent.
  Out o = make_out(f.g, Keep::all);
  CHECK(!throws([](Out&) {}));
  o.v.k = {};
  CHECK_THROWS(check_solution(f.g, o.v, false), std::invalid_argument);
  CHECK(!throws([](Out& x) { x.v.k = {}; }));  // a solve may leave it out
}

}  // namespace

int main() {
  test_outputs_on_demand_equal_slices_of_full();
  test_plugged_stage_solve();
  test_bad_output_sizes_throw();
  return gscheck::finish("test_stage_outputs");
}
