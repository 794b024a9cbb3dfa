// Batched solves of equal-size LQ games on a pool of std::threads.
#include "gamesolve/lq_game.hpp"
#include "gamesolve/check.hpp"
#include "gamesolve/detail/riccati_stage.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <mutex>
#include <thread>

namespace gamesolve {

namespace {

// Game b's per-game inputs, in doubles from the start of each array's block (the stages
// span t_stride apart; terminal and time-invariant arrays one block): what `f(p, doubles)` gets.
template <class F>
void each_game_input(const LQGameData& g, Index b, F&& f) {
  LQGameData& arrays = const_cast<LQGameData&>(g);  // game_arrays hands out writable pointers; only read here
  for (const GameArray& a : game_arrays(arrays)) {
    const Series& s = *a.series;
    if (!s.present() || s.b_stride == 0) continue;  // shared by the games: cached after the first
    f(s.at(b, 0), series_extent(1, 0, a.terminal ? 1 : g.T, s.t_stride, a.block));
  }
}

// Reads game b's inputs once front to back, one load per cache line. The solve reads them
// stage by stage backward in t, an order the hardware prefetchers do not follow from
// memory; after this pass it reads from cache. (Worth it when the batch's inputs do not
// stay cached; a checked solve needs no such pass: its value checks read the game first.)
void read_ahead(const LQGameData& g, Index b) {
  unsigned sum = 0;
  each_game_input(g, b, [&](const double* x, Index doubles) {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(x);
    for (Index o = 0; o < doubles * Index(sizeof(double)); o += 64) sum += p[o];
  });
  asm volatile("" ::"r"(sum));  // the loads are the point: keep them
}

// Adds the report r of some games into `into`: stage counts summed, the largest minimum-norm
// residual (NaN sticks), the smallest rcond.
void accumulate(SolveReport& into, const SolveReport& r) {
  into.min_norm_stages += r.min_norm_stages;
  into.nonfinite_stages += r.nonfinite_stages;
  into.not_convex_stages += r.not_convex_stages;
  into.ill_conditioned_stages += r.ill_conditioned_stages;
  if (!std::isnan(into.max_min_norm_residual) && !(r.max_min_norm_residual <= into.max_min_norm_residual))
    into.max_min_norm_residual = r.max_min_norm_residual;
  into.min_rcond = std::min(into.min_rcond, r.min_rcond);
}

// The batch driver: games handed out to `n_threads` threads, each game checked by `check(b)` (a
// ValueCheck; always ok for unchecked solves, which read the game ahead instead) and then solved
// by the same thread. After a failed check nothing more is solved, but every game below the
// lowest failure found so far is still checked, so the failure reported (returned in `bad`, its
// game in `bad.b`) is the lowest failing game whatever the thread count and timing.
template <class Check>
SolveReport drive(const LQGameData& g, const LQSolutionView& out, int n_threads, const SolveOptions& opts,
                  const detail::StageSolver& solver, Check&& check, ValueCheck& bad) {
  check_game(g);
  check_solution(g, out, true);
  const Index batch = g.batch;
  int hw = static_cast<int>(std::thread::hardware_concurrency());
  if (hw < 1) hw = 1;
  int nt = n_threads > 0 ? n_threads : hw;
  nt = static_cast<int>(std::min<Index>(nt, batch));

  // Games are handed out in contiguous chunks that shrink as the batch runs out (guided
  // scheduling: the games not yet claimed / 2 nt, at least kMinChunk), so that the threads
  // finish together, also on a shared machine; each game is solved start to finish by one
  // thread with its own workspace, so results do not depend on nt. A chunk's outputs are
  // written only by the thread that solves it, and are adjacent in memory: their pages are
  // first touched (faulted in) by that thread, and no cache line is shared with another
  // thread's games except at chunk ends (the driver touches no output itself).
  constexpr Index kMinChunk = 4;
  std::atomic<Index> next{0};
  auto claim = [&](Index& b0) {  // the next chunk [b0, b0 + size); size 0: none left
    Index at = next.load();
    for (;;) {
      const Index left = batch - at;
      if (left <= 0) return Index(0);
      const Index size = std::min(left, std::max(kMinChunk, left / (Index(2) * nt)));
      if (next.compare_exchange_weak(at, at + size)) {
        b0 = at;
        return size;
      }
    }
  };
  std::atomic<Index> first_bad{batch};  // the lowest game whose check failed (batch: none)
  std::mutex mu;
  SolveReport total;
  std::exception_ptr error;
  auto worker = [&]() {
    try {
      LQWorkspace ws(g.dims);
      SolveReport local;
      Index b0 = 0;
      for (Index size = claim(b0); size > 0 && b0 < first_bad.load(); size = claim(b0))
        for (Index b = b0; b < b0 + size; ++b) {
          if (b >= first_bad.load()) break;
          const ValueCheck v = check(b);
          if (!v.ok()) {
            std::lock_guard<std::mutex> lock(mu);
            if (b < first_bad.load()) {
              first_bad.store(b);
              bad = v;
            }
            break;
          }
          if (first_bad.load() < batch) continue;  // a failure elsewhere: only check the games below it
          accumulate(local, solve_lq_game_with(g, b, out, ws, opts, solver));
        }
      std::lock_guard<std::mutex> lock(mu);
      accumulate(total, local);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu);
      if (!error) error = std::current_exception();
      next.store(batch);
    }
  };
  if (nt <= 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    pool.reserve(static_cast<std::size_t>(nt - 1));
    for (int i = 1; i < nt; ++i) pool.emplace_back(worker);
    worker();
    for (auto& th : pool) th.join();
  }
  if (error) std::rethrow_exception(error);
  return total;
}

}  // namespace

SolveReport solve_lq_games(const LQGameData& g, const LQSolutionView& out, int n_threads,
                           const SolveOptions& opts) {
  return detail::solve_lq_games_with(g, out, n_threads, opts, detail::StageSolver{});
}

SolveReport detail::solve_lq_games_with(const LQGameData& g, const LQSolutionView& out, int n_threads,
                                        const SolveOptions& opts, const StageSolver& solver) {
  ValueCheck unused;
  double bytes = 0.0;  // the inputs of the whole batch
  each_game_input(g, 0, [&](const double*, Index doubles) { bytes += 8.0 * double(doubles) * double(g.batch); });
  const bool ahead = bytes > double(1 << 20);
  return drive(
      g, out, n_threads, opts, solver,
      [&](Index b) {
        if (ahead) read_ahead(g, b);
        return ValueCheck{};
      },
      unused);
}

SolveReport solve_checked_lq_games(const LQGameData& g, const LQSolutionView& out, int n_threads,
                                   const SolveOptions& opts, double sym_rtol, bool check_finite) {
  ValueCheck bad;
  const SolveReport rep = drive(
      g, out, n_threads, opts, detail::StageSolver{},
      [&](Index b) { return check_values_of_game(g, b, sym_rtol, check_finite); }, bad);
  if (!bad.ok()) throw InputError(describe(bad, g, sym_rtol));
  return rep;
}

}  // namespace gamesolve
