// C++ benchmark of the coupled Riccati kernel ([theory §2]): single solves, a
// batch on all hardware threads, and the time-varying case iLQGames solves
// (every array with a leading T axis, linear terms q, r). Seeded random games;
// warm-up, then repeated timed runs; min / median / max per solve.
//
//   bench_lq_game [OUT.json] [FILTER]   JSON to OUT.json (default stdout); only the
//                                        configuration named FILTER, or else those
//                                        whose name contains FILTER
//   bench_lq_game --iters N [FILTER]     no timing: N solves of each configuration
//                                        (for valgrind --tool=callgrind)
//   bench_lq_game --help
//
// FLOP count per stage (nominal: the plain recursion, counting F'ZF once per
// player as two full products; the kernel itself forms only the upper half of
// F'(ZF), skips zero blocks of R^i and works on padded rows, so "GFLOP/s" is this
// nominal count over the time, kept fixed for comparisons across versions): sum_i [2 m_i n^2 (B^i'Z) + 2 m_i n m (S) + 2 m_i n^2 (Y)]
// + 2/3 m^3 + 2 m^2 (n+1) (LU + solve) + 2 m n^2 (F) + N [4 n^3 (ZF, F'ZF)
// + 2 m^2 n + 2 m n^2 (K'RK)].
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gamesolve/lq_game.hpp"

using namespace gamesolve;

namespace {

struct Config {
  Index N, n, mi, T, batch;
  bool time_varying = false;  ///< every array with a leading T axis, q, r, qT present
};

std::string config_name(const Config& c) {
  char nm[96];
  std::snprintf(nm, sizeof nm, "%s%slq_N%ld_n%ld_m%ld_T%ld", c.batch > 1 ? "batch1024_" : "",
                c.time_varying ? "tv_" : "", long(c.N), long(c.n), long(c.mi), long(c.T));
  return nm;
}

struct Game {
  std::vector<double> A, B, Q, q, R, r, QT, qT;
  LQGameData data;
};

Game random_game(const Config& c, std::mt19937_64& rng) {
  std::normal_distribution<double> nd(0.0, 1.0);
  Game g;
  const Index n = c.n, N = c.N, m = c.N * c.mi;
  g.data.dims = Dims(n, std::vector<Index>(N, c.mi));
  g.data.T = c.T;
  g.data.batch = c.batch;
  auto fill = [&](std::vector<double>& v, Index size) { v.resize(size); for (auto& x : v) x = nd(rng); };
  // Time-invariant dynamics with spectral radius ~1, per game of the batch.
  fill(g.A, c.batch * n * n);
  for (auto& x : g.A) x *= 1.0 / std::sqrt(double(n));
  fill(g.B, c.batch * n * m);
  g.Q.assign(c.batch * N * n * n, 0.0);
  g.R.assign(c.batch * N * m * m, 0.0);
  for (Index b = 0; b < c.batch; ++b)
    for (Index i = 0; i < N; ++i) {
      Mat X = Mat::NullaryExpr(n, n, [&]() { return nd(rng); });
      Mat Qi = X * X.transpose() / double(n) + Mat::Identity(n, n);
      MapRow(g.Q.data() + (b * N + i) * n * n, n, n) = Qi;
      for (Index a = 0; a < c.mi; ++a) g.R[(b * N + i) * m * m + (i * c.mi + a) * m + i * c.mi + a] = 1.0;
    }
  g.QT = g.Q;
  if (c.time_varying) {
    // Stage t's data are the base game's with A, B, Q, R perturbed; q, r, qT random.
    const Index T = c.T;
    auto stages = [&](std::vector<double>& v, double eps) {
      std::vector<double> out(T * v.size());
      for (Index t = 0; t < T; ++t)
        for (std::size_t a = 0; a < v.size(); ++a) out[t * v.size() + a] = v[a] * (1.0 + eps * nd(rng));
      v.swap(out);
    };
    stages(g.A, 0.05);
    stages(g.B, 0.05);
    stages(g.Q, 0.0);  // stays symmetric positive definite
    stages(g.R, 0.0);
    for (Index t = 0; t < T; ++t)
      for (Index a = 0; a < N * n * n; ++a) g.Q[t * N * n * n + a] *= 1.0 + 0.1 * t / double(T);
    fill(g.q, T * N * n);
    fill(g.r, T * N * m);
    fill(g.qT, N * n);
    g.data.A = {g.A.data(), Index(g.A.size()), n * n, 0};
    g.data.B = {g.B.data(), Index(g.B.size()), n * m, 0};
    g.data.Q = {g.Q.data(), Index(g.Q.size()), N * n * n, 0};
    g.data.q = {g.q.data(), Index(g.q.size()), N * n, 0};
    g.data.R = {g.R.data(), Index(g.R.size()), N * m * m, 0};
    g.data.r = {g.r.data(), Index(g.r.size()), N * m, 0};
    g.data.QT = {g.QT.data(), Index(g.QT.size()), 0, 0};
    g.data.qT = {g.qT.data(), Index(g.qT.size()), 0, 0};
    return g;
  }
  const Index bs = c.batch > 1 ? 1 : 0;
  g.data.A = {g.A.data(), Index(g.A.size()), 0, bs * n * n};
  g.data.B = {g.B.data(), Index(g.B.size()), 0, bs * n * m};
  g.data.Q = {g.Q.data(), Index(g.Q.size()), 0, bs * N * n * n};
  g.data.R = {g.R.data(), Index(g.R.size()), 0, bs * N * m * m};
  g.data.QT = {g.QT.data(), Index(g.QT.size()), 0, bs * N * n * n};
  return g;
}

double flops(const Config& c) {
  const double N = c.N, n = c.n, m = c.N * c.mi;
  const double stage = 4 * m * n * n + 2 * m * m * n + 2 * m * n + 2.0 / 3 * m * m * m + 2 * m * m * (n + 1) +
                       2 * m * n * n + N * (4 * n * n * n + 2 * m * m * n + 2 * m * n * n);
  return stage * c.T * c.batch;
}

template <class F>
std::vector<double> time_it(F&& f, double min_time = 0.2, int repeat = 9) {
  using clk = std::chrono::steady_clock;
  for (int i = 0; i < 3; ++i) f();
  int number = 1;
  for (;;) {
    auto t0 = clk::now();
    for (int i = 0; i < number; ++i) f();
    double dt = std::chrono::duration<double>(clk::now() - t0).count();
    if (dt >= min_time / repeat || number > (1 << 20)) break;
    number *= 2;
  }
  std::vector<double> s;
  for (int r = 0; r < repeat; ++r) {
    auto t0 = clk::now();
    for (int i = 0; i < number; ++i) f();
    s.push_back(std::chrono::duration<double>(clk::now() - t0).count() / number);
  }
  std::sort(s.begin(), s.end());
  return s;
}

void usage(const char* prog) {
  std::printf(
      "usage: %s [OUT.json] [FILTER]\n"
      "       %s --iters N [FILTER]\n"
      "Benchmarks the C++ coupled Riccati kernel ([theory §2]) against the targets of issue 2.\n"
      "  OUT.json   write the JSON records there (default: stdout)\n"
      "  FILTER     run only the configuration named FILTER, else those containing it\n"
      "  --iters N  no timing: N solves of each configuration (for callgrind)\n"
      "  -h, --help print this message\n",
      prog, prog);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> pos;
  long iters = 0;
  for (int a = 1; a < argc; ++a) {
    const std::string arg = argv[a];
    if (arg == "-h" || arg == "--help") {
      usage(argv[0]);
      return 0;
    } else if (arg == "--iters") {
      if (a + 1 >= argc || (iters = std::atol(argv[a + 1])) < 1) {
        std::fprintf(stderr, "%s: --iters needs a positive count\n", argv[0]);
        return 2;
      }
      ++a;
    } else if (arg.size() > 1 && arg[0] == '-') {
      std::fprintf(stderr, "%s: unknown option %s\n", argv[0], arg.c_str());
      usage(argv[0]);
      return 2;
    } else {
      pos.push_back(arg);
    }
  }
  if (pos.size() > (iters > 0 ? 1u : 2u)) {
    std::fprintf(stderr, "%s: too many arguments\n", argv[0]);
    usage(argv[0]);
    return 2;
  }
  const std::string out_path = iters > 0 || pos.empty() ? "" : pos[0];
  const std::string only = iters > 0 ? (pos.empty() ? "" : pos[0]) : (pos.size() > 1 ? pos[1] : "");
  std::vector<std::pair<Config, double>> configs = {
      {{3, 12, 2, 20, 1}, 30e-6},
      {{3, 16, 2, 100, 1}, 0.2e-3},
      {{6, 24, 2, 100, 1}, 2e-3},
      {{3, 12, 2, 20, 1024}, 25e-3},
      {{3, 12, 2, 20, 1, true}, 0.0},  // no target: the iLQGames case, for reference
  };
  std::mt19937_64 rng(20261122);
  std::ostringstream js;
  js << "{\n  \"name\": \"cpp_lq_game\",\n  \"title\": \"C++ coupled Riccati kernel ([theory §2])\",\n"
     << "  \"notes\": \"Single solves on one thread, the batch on all hardware threads (results bit-identical "
        "for any thread count). gflops = the nominal FLOP count of the plain recursion (F'ZF as two full "
        "products per player, dense R^i) over the median time; the kernel forms only the upper half of F'(ZF), "
        "skips R^i's zero blocks and so executes fewer FLOPs than counted, which is why gflops may exceed the "
        "machine's per-core FMA rate. tv_ = time-varying data with linear terms, as iLQGames calls the core.\",\n"
     << "  \"hardware_threads\": " << std::thread::hardware_concurrency() << ",\n  \"records\": [\n";
  // FILTER selects one configuration if it is a full name, else every name containing it.
  bool exact = false;
  for (const auto& cf : configs) exact = exact || config_name(cf.first) == only;
  bool first = true;
  for (std::size_t ci = 0; ci < configs.size(); ++ci) {
    const Config c = configs[ci].first;
    const std::string cfg = config_name(c);
    if (!only.empty() && (exact ? cfg != only : cfg.find(only) == std::string::npos)) continue;
    const double target = configs[ci].second;
    Game g = random_game(c, rng);
    const Index N = c.N, n = c.n, m = c.N * c.mi, T = c.T, B = c.batch;
    std::vector<double> K(B * T * m * n), k(B * T * m), Z(B * (T + 1) * N * n * n), zeta(B * (T + 1) * N * n),
        s(B * (T + 1) * N);
    std::vector<std::int32_t> st(B * T);
    LQSolutionView out;
    out.K = {K.data(), Index(K.size()), m * n, T * m * n};
    out.k = {k.data(), Index(k.size()), m, T * m};
    out.Z = {Z.data(), Index(Z.size()), N * n * n, (T + 1) * N * n * n};
    out.zeta = {zeta.data(), Index(zeta.size()), N * n, (T + 1) * N * n};
    out.s = {s.data(), Index(s.size()), N, (T + 1) * N};
    out.status = st.data();
    out.status_size = Index(st.size());
    LQWorkspace ws(g.data.dims);
    auto run = [&]() {
      if (B == 1)
        solve_lq_game(g.data, 0, out, ws);
      else
        solve_lq_games(g.data, out, 0);
    };
    check_game(g.data);
    check_solution(g.data, out, true);
    if (iters > 0) {
      for (long i = 0; i < iters; ++i) run();
      double sum = 0.0;
      for (double v : Z) sum += v;
      std::printf("%-32s %ld solves, checksum %.17g\n", cfg.c_str(), iters, sum);
      continue;
    }
    std::vector<double> t = B == 1 ? time_it(run) : time_it(run, 0.5, 7);
    const double med = t[t.size() / 2];
    const double gf = flops(c) / med * 1e-9;
    if (target > 0)
      std::printf("%-32s median %10.2f us  min %10.2f us  %6.2f GFLOP/s  target %8.1f us  %s\n", cfg.c_str(),
                  med * 1e6, t.front() * 1e6, gf, target * 1e6, med <= target ? "MEETS" : "misses");
    else
      std::printf("%-32s median %10.2f us  min %10.2f us  %6.2f GFLOP/s\n", cfg.c_str(), med * 1e6,
                  t.front() * 1e6, gf);
    js << (first ? "" : ",\n") << "    {\"config\": \"" << cfg << "\", \"N\": " << N << ", \"n\": " << n
       << ", \"m_i\": " << c.mi << ", \"T\": " << T << ", \"batch\": " << B << ", \"time_varying\": "
       << (c.time_varying ? "true" : "false") << ", \"median_s\": " << med << ", \"min_s\": " << t.front()
       << ", \"max_s\": " << t.back() << ", \"flops\": " << flops(c) << ", \"gflops\": " << gf;
    if (target > 0)
      js << ", \"target_s\": " << target << ", \"meets_target\": " << (med <= target ? "true" : "false");
    js << "}";
    first = false;
  }
  if (iters > 0) return 0;
  js << "\n  ]\n}\n";
  if (!out_path.empty()) {
    std::ofstream f(out_path);
    f << js.str();
    if (!f) {
      std::fprintf(stderr, "%s: cannot write %s\n", argv[0], out_path.c_str());
      return 1;
    }
    std::printf("wrote %s\n", out_path.c_str());
  } else {
    std::printf("%s", js.str().c_str());
  }
  return 0;
}
