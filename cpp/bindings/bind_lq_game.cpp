// Bindings of the finite-horizon LQ game kernel (cpp/include/gamesolve/lq_game.hpp).
#include <pybind11/stl.h>

#include <memory>
#include <thread>

#include "array_io.hpp"
#include "bindings.hpp"
#include "gamesolve/validate.hpp"

namespace gamesolve_py {

namespace {

using gamesolve::Index;

// A workspace for games of size `d`, kept per thread for the next solve of the same size.
struct WorkspaceCache {
  std::unique_ptr<gamesolve::LQWorkspace> ws;
  Index n = 0;
  std::vector<Index> m_i;
};
thread_local WorkspaceCache ws_cache;

gamesolve::LQWorkspace& cached_workspace(const gamesolve::Dims& d) {
  WorkspaceCache& c = ws_cache;
  if (!c.ws || c.n != d.n || c.m_i != d.m_i) {
    c.ws.reset();
    c.ws = std::make_unique<gamesolve::LQWorkspace>(d);
    c.n = d.n;
    c.m_i = d.m_i;
  }
  return *c.ws;
}

// gamesolve::solve_lq_games with the GIL released; one game goes to the kernel directly, on this
// thread's cached workspace (LQWorkspace is documented reusable across solves), skipping the batch
// driver's thread setup (std::thread::hardware_concurrency alone costs microseconds).
gamesolve::SolveReport run_solve(const gamesolve::LQGameData& g, const gamesolve::LQSolutionView& out,
                                 int n_threads, const gamesolve::SolveOptions& opts) {
  py::gil_scoped_release release;
  if (g.batch != 1) return gamesolve::solve_lq_games(g, out, n_threads, opts);
  gamesolve::check_game(g);
  gamesolve::check_solution(g, out, true);
  try {
    return gamesolve::solve_lq_game(g, 0, out, cached_workspace(g.dims), opts);
  } catch (...) {
    ws_cache.ws.reset();  // never reuse a workspace left mid-solve
    throw;
  }
}

// The solve's result arrays, allocated once in their final shapes ((batch, T, ...) when
// `lead_batch`, else (T, ...)) and written by the kernel directly.
struct SolvedArrays {
  py::array_t<double> K, k, Z, zeta, s;
  py::array_t<std::int32_t> status;
  gamesolve::SolveReport rep;
  Index n_min_norm = 0, n_nonfinite = 0;
};

SolvedArrays solve_to_arrays(const gamesolve::LQGameData& g, bool lead_batch, int n_threads, double rcond_tol,
                             double rank_tol) {
  const py::ssize_t N = g.dims.N, m = g.dims.m, n = g.dims.n, T = g.T;
  auto shape = [&](std::initializer_list<py::ssize_t> tail) {
    std::vector<py::ssize_t> sh;
    sh.reserve(tail.size() + 1);
    if (lead_batch) sh.push_back(g.batch);
    sh.insert(sh.end(), tail);
    return sh;
  };
  SolvedArrays a{py::array_t<double>(shape({T, m, n})), py::array_t<double>(shape({T, m})),
                 py::array_t<double>(shape({T + 1, N, n, n})), py::array_t<double>(shape({T + 1, N, n})),
                 py::array_t<double>(shape({T + 1, N})), py::array_t<std::int32_t>(shape({T})), {}};
  auto out_series = [](py::array_t<double>& x, Index t_block, Index steps) {
    return gamesolve::OutSeries{x.mutable_data(), static_cast<Index>(x.size()), t_block, steps * t_block};
  };
  gamesolve::LQSolutionView out;
  out.K = out_series(a.K, m * n, T);
  out.k = out_series(a.k, m, T);
  out.Z = out_series(a.Z, N * n * n, T + 1);
  out.zeta = out_series(a.zeta, N * n, T + 1);
  out.s = out_series(a.s, N, T + 1);
  out.status = a.status.mutable_data();
  out.status_size = static_cast<Index>(a.status.size());
  gamesolve::SolveOptions opts;
  opts.rcond_tol = rcond_tol;
  opts.rank_tol = rank_tol;
  a.rep = run_solve(g, out, n_threads, opts);
  for (Index i = 0; i < out.status_size; ++i) {
    a.n_min_norm += out.status[i] == gamesolve::kStageMinNorm;
    a.n_nonfinite += out.status[i] == gamesolve::kStageNonFinite;
  }
  return a;
}

gamesolve::LQGameData make_game(const std::vector<Index>& dims, Index n, Index T, Index batch, const CArray& A,
                                const CArray& B, const CArray& Q, const std::optional<CArray>& q, const CArray& R,
                                const std::optional<CArray>& r, const std::optional<CArray>& M,
                                const std::optional<CArray>& c, const CArray& QT,
                                const std::optional<CArray>& qT) {
  gamesolve::LQGameData g;
  g.dims = gamesolve::Dims(n, dims);
  if (T < 1) throw std::invalid_argument("horizon must be >= 1");
  if (batch < 1) throw std::invalid_argument("batch must be >= 1");
  g.T = T;
  g.batch = batch;
  const py::ssize_t N = g.dims.N, m = g.dims.m;
  g.A = as_series("A", A, {n, n}, T, batch);
  g.B = as_series("B", B, {n, m}, T, batch);
  g.Q = as_series("Q", Q, {N, n, n}, T, batch);
  g.q = as_series("q", q, {N, n}, T, batch);
  g.R = as_series("R", R, {N, m, m}, T, batch);
  g.r = as_series("r", r, {N, m}, T, batch);
  g.M = as_series("M", M, {N, m, n}, T, batch);
  g.c = as_series("c", c, {n}, T, batch);
  g.QT = as_series("QT", QT, {N, n, n}, 1, batch);
  g.qT = as_series("qT", qT, {N, n}, 1, batch);
  gamesolve::check_game(g);
  return g;
}

py::tuple solve(const std::vector<Index>& dims, Index n, Index T, Index batch, const CArray& A, const CArray& B,
                const CArray& Q, const std::optional<CArray>& q, const CArray& R, const std::optional<CArray>& r,
                const std::optional<CArray>& M, const std::optional<CArray>& c, const CArray& QT,
                const std::optional<CArray>& qT, int n_threads, double rcond_tol, double rank_tol) {
  const gamesolve::LQGameData g = make_game(dims, n, T, batch, A, B, Q, q, R, r, M, c, QT, qT);
  SolvedArrays a = solve_to_arrays(g, true, n_threads, rcond_tol, rank_tol);
  return py::make_tuple(a.K, a.k, a.Z, a.zeta, a.s, a.status, a.rep.min_rcond);
}

py::tuple evaluate(const std::vector<Index>& dims, Index n, Index T, Index batch, const CArray& A,
                   const CArray& B, const CArray& Q, const std::optional<CArray>& q, const CArray& R,
                   const std::optional<CArray>& r, const std::optional<CArray>& M,
                   const std::optional<CArray>& c, const CArray& QT, const std::optional<CArray>& qT,
                   const CArray& K, const CArray& k) {
  gamesolve::LQGameData g = make_game(dims, n, T, batch, A, B, Q, q, R, r, M, c, QT, qT);
  const py::ssize_t N = g.dims.N, m = g.dims.m;
  if (K.ndim() != 4 || K.shape(0) != batch || K.shape(1) != T || K.shape(2) != m || K.shape(3) != n)
    throw std::invalid_argument("K must have shape (batch, T, m, n)");
  if (k.ndim() != 3 || k.shape(0) != batch || k.shape(1) != T || k.shape(2) != m)
    throw std::invalid_argument("k must have shape (batch, T, m)");
  py::array_t<double> Z({batch, T + 1, N, n, n}), zeta({batch, T + 1, N, n}), s({batch, T + 1, N});
  gamesolve::LQSolutionView out;
  // The evaluation only reads K and k.
  out.K = {const_cast<double*>(K.data()), static_cast<Index>(K.size()), m * n, T * m * n};
  out.k = {const_cast<double*>(k.data()), static_cast<Index>(k.size()), m, T * m};
  out.Z = as_out(Z, N * n * n);
  out.zeta = as_out(zeta, N * n);
  out.s = as_out(s, N);
  gamesolve::check_solution(g, out, false);
  {
    py::gil_scoped_release release;
    gamesolve::LQWorkspace ws(g.dims);
    for (Index b = 0; b < batch; ++b) gamesolve::evaluate_strategy(g, b, out, ws);
  }
  return py::make_tuple(Z, zeta, s);
}

// Fast path of gamesolve.solve_lq_game(s) (python/gamesolve/lq.py): the public
// arguments as given. Recognizes the common forms only -- every array a plain
// float64 ndarray (see as_plain); B stacked with `dims` a list / tuple of ints, or
// a list of blocks; R joint, own-control (stacked or a list) or a list of joint
// weights -- with the shape rules of lq._normalize, checks every value in one pass
// (validate.hpp), and solves into freshly allocated numpy arrays of the final
// shapes. Returns None, having done nothing, for anything else (other forms, bad
// shapes or values): the general path then converts, validates and raises its
// messages. Otherwise (K, k, Z, zeta, s, status, min_rcond, n_min_norm_stages,
// n_nonfinite_stages, dims, B, R) with B and R the stacked / joint arrays assembled
// from blocks (None where used as given), for the lazily normalized game.
py::object solve_fast(py::handle A_, py::handle B_, py::handle Q_, py::handle R_, py::handle horizon,
                      py::handle q_, py::handle r_, py::handle M_, py::handle c_, py::handle QT_, py::handle qT_,
                      py::handle dims_, bool batched, int n_threads, double rcond_tol, double rank_tol,
                      double sym_rtol) {
  const py::object decline = py::none();
  Plain A, B, Q, R, q, r, M, c, QT, qT;
  if (!as_plain(A_, A) || !as_plain(Q_, Q) || !as_plain_opt(q_, q) || !as_plain_opt(r_, r) ||
      !as_plain_opt(M_, M) || !as_plain_opt(c_, c) || !as_plain_opt(QT_, QT) || !as_plain_opt(qT_, qT))
    return decline;
  if (A.nd < 2 || A.dim(-1) != A.dim(-2)) return decline;
  const py::ssize_t n = A.dim(-1);
  // dims: a list or tuple of positive Python ints (or None with B given as blocks).
  std::vector<Index> dims;
  if (!dims_.is_none() && !read_dims(dims_, dims)) return decline;
  // B: stacked (..., n, m) with dims, or a list of N blocks (..., n, m_i) (split_inputs).
  py::object B_new = py::none(), R_new = py::none();  // B and R assembled from blocks, else None
  if (as_plain(B_, B)) {
    if (dims.empty()) return decline;
  } else {
    std::vector<Plain> blocks;
    std::vector<Index> widths;
    if (!as_plain_list(B_, blocks)) return decline;
    B_new = concat_blocks(blocks, B, widths);
    if (B_new.is_none()) return decline;
    if (!dims.empty() && dims != widths) return decline;
    dims = widths;
  }
  const py::ssize_t N = static_cast<py::ssize_t>(dims.size());
  Index m = 0;
  if (!gamesolve_py::control_total(dims, m)) return decline;
  if (B.nd < 2 || B.dim(-1) != m || B.dim(-2) != n) return decline;
  // R (_normalize_R): joint (..., N, m, m) as given; own-control weights -- stacked
  // (..., N, m_1, m_1) with equal m_i and N > 1, or a list of N (..., m_i, m_i) -- or a
  // list of N joint (..., m, m), with equal leading axes, assembled into joint weights.
  std::vector<std::pair<const double*, py::ssize_t>> src(static_cast<std::size_t>(N));
  if (as_plain(R_, R)) {
    const bool equal = std::all_of(dims.begin(), dims.end(), [&](Index d) { return d == dims[0]; });
    const py::ssize_t d0 = dims[0];
    if (R.nd >= 3 && R.dim(-1) == m && R.dim(-2) == m && R.dim(-3) == N) {
      // joint, used in place
    } else if (N > 1 && equal && R.nd >= 3 && R.dim(-1) == d0 && R.dim(-2) == d0 && R.dim(-3) == N) {
      for (py::ssize_t i = 0; i < N; ++i) src[static_cast<std::size_t>(i)] = {R.data + i * d0 * d0, N * d0 * d0};
      const py::ssize_t lead = R.size / (N * d0 * d0);
      std::array<py::ssize_t, kMaxNd> shape = R.shape;
      shape[static_cast<std::size_t>(R.nd - 1)] = shape[static_cast<std::size_t>(R.nd - 2)] = m;
      py::array_t<double> a = new_plain(shape, R.nd, R);
      assemble_R(src, lead, dims, false, a.mutable_data());
      R_new = std::move(a);
    } else {
      return decline;
    }
  } else {
    std::vector<Plain> blocks;
    if (!as_plain_list(R_, blocks) || static_cast<py::ssize_t>(blocks.size()) != N) return decline;
    const Plain& b0 = blocks[0];
    bool joint = true, own = true;
    for (py::ssize_t i = 0; i < N; ++i) {
      const Plain& b = blocks[static_cast<std::size_t>(i)];
      if (b.nd < 2 || b.dim(-1) != b.dim(-2) || !b.same_lead(2, b0, 2)) return decline;
      joint = joint && b.dim(-1) == m;
      own = own && b.dim(-1) == dims[static_cast<std::size_t>(i)];
      src[static_cast<std::size_t>(i)] = {b.data, b.dim(-1) * b.dim(-1)};
    }
    if ((!joint && !own) || b0.nd + 1 > kMaxNd) return decline;
    const py::ssize_t lead = b0.size / (b0.dim(-1) * b0.dim(-1));
    std::array<py::ssize_t, kMaxNd> shape = b0.shape;
    const std::size_t nd = static_cast<std::size_t>(b0.nd) + 1;
    shape[nd - 3] = N;
    shape[nd - 2] = shape[nd - 1] = m;
    py::array_t<double> a = new_plain(shape, static_cast<int>(nd), R);
    assemble_R(src, lead, dims, joint, a.mutable_data());
    R_new = std::move(a);
  }
  if (Q.nd < 3 || Q.dim(-1) != n || Q.dim(-2) != n || Q.dim(-3) != N) return decline;
  auto trailing = [](const Plain& a, std::initializer_list<py::ssize_t> blk) {
    if (!a.present()) return true;
    if (a.nd < static_cast<int>(blk.size())) return false;
    int i = a.nd - static_cast<int>(blk.size());
    for (auto v : blk)
      if (a.shape[i++] != v) return false;
    return true;
  };
  if (!trailing(q, {N, n}) || !trailing(r, {N, m}) || !trailing(M, {N, m, n}) || !trailing(c, {n})) return decline;
  const int want = batched ? 2 : 1;  // leading axes: [batch,] [T]
  if (QT.present() && (QT.nd != 3 + want - 1 || !trailing(QT, {N, n, n}))) return decline;
  if (qT.present() && (qT.nd != 2 + want - 1 || !trailing(qT, {N, n}))) return decline;

  // Time axes (lq._canon): every time axis, and the horizon, must agree.
  py::ssize_t T = 0;
  if (!horizon.is_none() && !as_positive_int(horizon, T)) return decline;
  py::ssize_t batch = 1;
  bool ok = true;
  auto series = [&](const Plain& a, int block_nd, py::ssize_t blk, bool terminal) {
    gamesolve::Series s;
    if (!a.present() || !ok) return s;
    const int extra = a.nd - block_nd;
    if (!terminal && extra != want - 1 && extra != want) {
      ok = false;
      return s;
    }
    const py::ssize_t Bb = batched ? a.shape[0] : 1;
    py::ssize_t Tt = 1;
    if (!terminal && extra == want) {
      Tt = a.shape[want - 1];
      if (T == 0) T = Tt;
      else if (Tt != T) ok = false;
    }
    if (Bb != 1) {
      if (batch == 1) batch = Bb;
      else if (Bb != batch) ok = false;
    }
    s.data = a.data;
    s.size = static_cast<Index>(a.size);
    s.t_stride = Tt == 1 ? 0 : blk;
    s.b_stride = Bb == 1 ? 0 : Tt * blk;
    return s;
  };
  gamesolve::LQGameData g;
  g.A = series(A, 2, n * n, false);
  g.B = series(B, 2, n * m, false);
  g.Q = series(Q, 3, N * n * n, false);
  g.R = series(R, 3, N * m * m, false);
  g.q = series(q, 2, N * n, false);
  g.r = series(r, 2, N * m, false);
  g.M = series(M, 3, N * m * n, false);
  g.c = series(c, 1, n, false);
  g.QT = series(QT, 3, N * n * n, true);
  g.qT = series(qT, 2, N * n, true);
  if (!ok || T == 0) return decline;
  // Terminal data default to the last stage of Q and q.
  auto last_stage = [](const gamesolve::Series& s, Index blk) {
    gamesolve::Series t = s;
    if (s.t_stride != 0) {
      const Index Tt = s.b_stride != 0 ? s.b_stride / blk : s.size / blk;
      t.data = s.data + (Tt - 1) * blk;
      t.size = s.size - (Tt - 1) * blk;
      t.t_stride = 0;
    }
    return t;
  };
  if (!QT.present()) g.QT = last_stage(g.Q, N * n * n);
  if (!qT.present() && q.present()) g.qT = last_stage(g.q, N * n);
  g.dims = gamesolve::Dims(n, dims);
  g.T = T;
  g.batch = batch;
  // Values: finite, symmetric, own blocks of R definite (validate.hpp). The buffers were
  // sized above; should check_game still object, the general path decides.
  try {
    if (!gamesolve::check_game_values(g, sym_rtol).ok()) return decline;
  } catch (const std::invalid_argument&) {
    return decline;
  }

  SolvedArrays a = solve_to_arrays(g, batched, n_threads, rcond_tol, rank_tol);
  py::tuple dims_out(N);
  for (py::ssize_t i = 0; i < N; ++i) dims_out[static_cast<std::size_t>(i)] = py::int_(g.dims.m_i[static_cast<std::size_t>(i)]);
  return py::make_tuple(a.K, a.k, a.Z, a.zeta, a.s, a.status, a.rep.min_rcond, a.n_min_norm, a.n_nonfinite, dims_out,
                        B_new, R_new);
}

}  // namespace

void bind_lq_game(py::module_& m) {
  using py::arg;
  m.def("solve_lq_games", &solve,
        "Coupled Riccati recursion ([theory §2]) for a batch of equal-size games. Arrays have leading "
        "(batch or 1, T or 1) axes. Returns (K, k, Z, zeta, s, status, min_rcond).",
        arg("dims"), arg("n"), arg("T"), arg("batch"), arg("A"), arg("B"), arg("Q"), arg("q").none(true),
        arg("R"), arg("r").none(true), arg("M").none(true), arg("c").none(true), arg("QT"),
        arg("qT").none(true), arg("n_threads") = 0, arg("rcond_tol") = 1e-12, arg("rank_tol") = 1e-10);
  m.def("solve_lq_fast", &solve_fast,
        "Fast path of gamesolve.solve_lq_game(s): the public arguments (A, B, Q, R, horizon, q, r, M, c, QT, "
        "qT, dims) as given, then batched, n_threads, rcond_tol, rank_tol, sym_rtol. Returns None unless every "
        "array is a plain C-contiguous float64 ndarray (lists of them for B and R), dims a list / tuple of "
        "ints, and all shapes and values are valid; else (K, k, Z, zeta, s, status, min_rcond, "
        "n_min_norm_stages, n_nonfinite_stages, dims, B, R); B / R: arrays assembled from blocks, else None.");
  m.def("evaluate_strategies", &evaluate,
        "Value (Z, zeta, s) of given strategies K (batch, T, m, n), k (batch, T, m) ([theory §2] policy "
        "evaluation).",
        arg("dims"), arg("n"), arg("T"), arg("batch"), arg("A"), arg("B"), arg("Q"), arg("q").none(true),
        arg("R"), arg("r").none(true), arg("M").none(true), arg("c").none(true), arg("QT"),
        arg("qT").none(true), arg("K"), arg("k"));
  m.attr("hardware_threads") = static_cast<int>(std::thread::hardware_concurrency());
}

}  // namespace gamesolve_py
