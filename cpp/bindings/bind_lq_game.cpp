// Bindings of the finite-horizon LQ game kernel (cpp/include/gamesolve/lq_game.hpp).
#include <pybind11/stl.h>

#include <cstdio>
#include <cstring>
#include <unistd.h>
#include <memory>
#include <tuple>
#include <thread>

#include "array_io.hpp"
#include "gamesolve/detail/riccati_stage.hpp"
#include "bindings.hpp"
#include "gamesolve/check.hpp"

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
// `checked_rtol` > 0: a batch whose per-game value checks are still due (read_game with
// defer_game_checks): they run on the solve's threads (gamesolve::solve_checked_lq_games).
gamesolve::SolveReport run_solve(const gamesolve::LQGameData& g, const gamesolve::LQSolutionView& out,
                                 int n_threads, const gamesolve::SolveOptions& opts, double checked_rtol = 0.0) {
  py::gil_scoped_release release;
  if (g.batch != 1 && checked_rtol > 0.0)
    return gamesolve::solve_checked_lq_games(g, out, n_threads, opts, checked_rtol, /*check_finite=*/true);
  if (g.batch != 1) return gamesolve::solve_lq_games(g, out, n_threads, opts);
  gamesolve::check_game(g);
  gamesolve::check_solution(g, out, true);
  try {
    // checked above: the kernel without the public entry's second round of checks
    return gamesolve::detail::solve_lq_game_with(g, 0, out, cached_workspace(g.dims), opts,
                                                 gamesolve::detail::StageSolver{});
  } catch (...) {
    ws_cache.ws.reset();  // never reuse a workspace left mid-solve
    throw;
  }
}

// Which outputs a solve keeps: "all" (K, k, Z, zeta, s), "gains" (K, k of every stage) or
// "stage0" (K_0, k_0 only: the kernel overwrites one block per game, ending on stage 0).
enum class Keep { all, gains, stage0 };

Keep parse_keep(const std::string& keep) {
  if (keep == "all") return Keep::all;
  if (keep == "gains") return Keep::gains;
  if (keep == "stage0") return Keep::stage0;
  throw gamesolve::InputError("keep must be \"all\", \"gains\" or \"stage0\", got \"" + keep + "\"");
}

// The solve's result arrays, allocated once in their final shapes ((batch, T, ...) when
// `lead_batch`, else (T, ...); (batch, ...) for keep = stage0) and written by the kernel
// directly, by the thread that computes them. Outputs not kept are None (never allocated).
// Bound as _core.RiccatiArrays: every kernel entry of this file returns one.
struct SolvedArrays {
  py::object K, k, Z, zeta, s;
  py::object status;  // (T,) / (batch, T) int32 stage status (gamesolve::kStage*), None for an evaluation
  gamesolve::SolveReport rep;
  Index n_min_norm = 0, n_nonfinite = 0, n_not_convex = 0;
  py::object game_fields = py::none();  // read_and_solve_lq_game: the game read (a dict for LQGame._from_core)
};

SolvedArrays solve_to_arrays(const gamesolve::LQGameData& g, bool lead_batch, int n_threads, double rcond_tol,
                             double rank_tol, Keep keep = Keep::all, double checked_rtol = 0.0) {
  const py::ssize_t N = g.dims.N, m = g.dims.m, n = g.dims.n, T = g.T;
  auto shape = [&](std::initializer_list<py::ssize_t> tail) {
    std::vector<py::ssize_t> sh;
    sh.reserve(tail.size() + 1);
    if (lead_batch) sh.push_back(g.batch);
    sh.insert(sh.end(), tail);
    return sh;
  };
  py::array_t<std::int32_t> status(shape({T}));
  SolvedArrays a{py::none(), py::none(), py::none(), py::none(), py::none(), status, {}};
  gamesolve::LQSolutionView out;
  // A new array of shape `sh` as the output of `steps` blocks of `block` doubles per game
  // (steps = 1: stage 0 only, time stride 0).
  auto output = [&](py::object& dst, std::vector<py::ssize_t> sh, Index block, Index steps) {
    py::array_t<double> x(sh);
    dst = x;
    return gamesolve::OutSeries{x.mutable_data(), static_cast<Index>(x.size()), steps == 1 ? 0 : block,
                                steps * block};
  };
  if (keep == Keep::stage0) {
    out.K = output(a.K, shape({m, n}), m * n, 1);
    out.k = output(a.k, shape({m}), m, 1);
  } else {
    out.K = output(a.K, shape({T, m, n}), m * n, T);
    out.k = output(a.k, shape({T, m}), m, T);
  }
  if (keep == Keep::all) {
    out.Z = output(a.Z, shape({T + 1, N, n, n}), N * n * n, T + 1);
    out.zeta = output(a.zeta, shape({T + 1, N, n}), N * n, T + 1);
    out.s = output(a.s, shape({T + 1, N}), N, T + 1);
  }
  out.status = status.mutable_data();
  out.status_size = static_cast<Index>(status.size());
  gamesolve::SolveOptions opts;
  opts.rcond_tol = rcond_tol;
  opts.rank_tol = rank_tol;
  a.rep = run_solve(g, out, n_threads, opts, checked_rtol);
  for (Index i = 0; i < out.status_size; ++i) {
    a.n_min_norm += (out.status[i] & 3) == gamesolve::kStageMinNorm;
    a.n_nonfinite += out.status[i] == gamesolve::kStageNonFinite;
    a.n_not_convex += (out.status[i] & gamesolve::kStageNotConvex) != 0;
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

SolvedArrays solve(const std::vector<Index>& dims, Index n, Index T, Index batch, const CArray& A, const CArray& B,
                const CArray& Q, const std::optional<CArray>& q, const CArray& R, const std::optional<CArray>& r,
                const std::optional<CArray>& M, const std::optional<CArray>& c, const CArray& QT,
                const std::optional<CArray>& qT, int n_threads, double rcond_tol, double rank_tol,
                const std::string& keep, bool check_R) {
  const Keep kept = parse_keep(keep);
  const gamesolve::LQGameData g = make_game(dims, n, T, batch, A, B, Q, q, R, r, M, c, QT, qT);
  if (check_R) {
    const gamesolve::ValueCheck v = gamesolve::check_own_blocks(g);
    if (!v.ok()) throw gamesolve::InputError(gamesolve::describe(v, g));
  }
  return solve_to_arrays(g, true, n_threads, rcond_tol, rank_tol, kept);
}

SolvedArrays evaluate(const std::vector<Index>& dims, Index n, Index T, Index batch, const CArray& A,
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
  SolvedArrays a{py::none(), py::none(), Z, zeta, s, py::none(), {}};
  return a;
}

// ---------------------------------------------------------------------------
// read_lq_game: the one reader of LQ game data (python/gamesolve/lq/game.py).
// ---------------------------------------------------------------------------

[[noreturn]] void fail(const std::string& msg) { throw gamesolve::InputError(msg); }

// Largest horizon any entry point takes (what a C int holds: the pybind11 and numpy
// conversions of larger ones overflow).
constexpr py::ssize_t kMaxHorizon = (py::ssize_t(1) << 31) - 1;

// The outputs of a solve over horizon T -- K, k, Z, zeta, s, the status and the entropy
// covariances, about (T+1) (N (n+1)^2 + m (n+1) + m^2 + 1) doubles per game -- must fit
// in this machine's physical memory: a longer horizon is an InputError naming it, not a
// MemoryError (or an overflowing size) from deep inside the allocation.
void check_output_size(py::ssize_t T, py::ssize_t batch, py::ssize_t N, py::ssize_t n, py::ssize_t m) {
  if (T > kMaxHorizon)
    fail("horizon must be a positive integer, got " + std::to_string(T) + " (at most " + std::to_string(kMaxHorizon) +
         ")");
  if (T == 0) return;
  const double per_stage = double(N) * double(n + 1) * double(n + 1) + double(m) * double(n + 1) +
                           double(m) * double(m) + 1.0;
  const double bytes = 8.0 * double(T + 1) * double(batch) * per_stage;
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  const double memory = pages > 0 && page > 0 ? double(pages) * double(page) : 0x1p40;
  if (bytes > memory) {
    char msg[256];
    std::snprintf(msg, sizeof msg,
                  "horizon %lld is too long for these sizes: the solution needs about %.3g GiB, more than this "
                  "machine's %.3g GiB of memory", static_cast<long long>(T), bytes / 0x1p30, memory / 0x1p30);
    fail(msg);
  }
}

// Python's tuple repr of a shape or of dims: "(3, 2)", "(4,)".
template <class V>
std::string tuple_str(const V& v) {
  std::string r = "(";
  for (std::size_t i = 0; i < v.size(); ++i) r += (i ? ", " : "") + std::to_string(v[i]);
  return r + (v.size() == 1 ? ",)" : ")");
}

// A small shape (at most kMaxNd axes) without heap allocation.
struct Shape {
  std::array<py::ssize_t, kMaxNd> v{};
  std::size_t n = 0;
  Shape() = default;
  Shape(std::initializer_list<py::ssize_t> l) { assign(l.begin(), l.end()); }
  template <class It>
  void assign(It first, It last) {
    n = 0;
    for (; first != last; ++first) push_back(*first);
  }
  void push_back(py::ssize_t x) {
    if (n == kMaxNd) fail("arrays may have at most " + std::to_string(kMaxNd) + " dimensions");
    v[n++] = x;
  }
  void append(std::initializer_list<py::ssize_t> l) {
    for (auto x : l) push_back(x);
  }
  std::size_t size() const { return n; }
  py::ssize_t operator[](std::size_t i) const { return v[i]; }
  py::ssize_t& operator[](std::size_t i) { return v[i]; }
  const py::ssize_t* begin() const { return v.data(); }
  const py::ssize_t* end() const { return v.data() + n; }
  py::ssize_t* data() { return v.data(); }
  bool operator==(const Shape& o) const { return n == o.n && std::equal(begin(), end(), o.begin()); }
  bool operator!=(const Shape& o) const { return !(*this == o); }
  std::vector<py::ssize_t> vec() const { return {begin(), end()}; }
};

// One converted input: a C-contiguous float64 array (the caller's own buffer when it is one).
// Null until set: a default py::array_t would allocate an empty numpy array, and a read builds
// a dozen Arr (about 0.15 us each).
struct Arr {
  py::array_t<double> a = py::reinterpret_borrow<py::array_t<double>>(py::handle());
  Shape shape;
  const double* data() const { return a.data(); }
  py::ssize_t size() const { return static_cast<py::ssize_t>(a.size()); }
  int nd() const { return static_cast<int>(shape.size()); }
  py::ssize_t dim(int i) const { return shape[static_cast<std::size_t>(i < 0 ? nd() + i : i)]; }
  // The trailing axes equal `blk`.
  template <class Blk>
  bool ends_with(const Blk& blk) const {
    if (nd() < static_cast<int>(blk.size())) return false;
    int i = nd() - static_cast<int>(blk.size());
    for (auto v : blk)
      if (dim(i++) != v) return false;
    return true;
  }
  bool ends_with(std::initializer_list<py::ssize_t> blk) const { return ends_with<std::initializer_list<py::ssize_t>>(blk); }
  Shape lead(int k) const {
    Shape s;
    s.assign(shape.begin(), shape.end() - k);
    return s;
  }
  void reshape(const Shape& s) {
    a = py::array_t<double>(a.attr("reshape")(py::tuple(py::cast(s.vec()))));
    shape = s;
  }
};

// A read-only float64 array over `data` (kept alive by `base`): shape `shape`, C-contiguous
// unless `strides` (bytes) are given. The numpy C API directly: no temporaries.
py::object ro_view(const double* data, const Shape& shape, py::handle base, const py::ssize_t* strides = nullptr) {
  const auto& api = py::detail::npy_api::get();
  PyObject* descr = api.PyArray_DescrFromType_(py::detail::npy_api::NPY_DOUBLE_);  // stolen below
  Shape sh = shape;
  PyObject* a = api.PyArray_NewFromDescr_(api.PyArray_Type_, descr, static_cast<int>(sh.size()),
                                          reinterpret_cast<Py_intptr_t*>(sh.data()),
                                          reinterpret_cast<Py_intptr_t*>(const_cast<py::ssize_t*>(strides)),
                                          const_cast<double*>(data), py::detail::npy_api::NPY_ARRAY_ALIGNED_, nullptr);
  if (!a) throw py::error_already_set();
  if (api.PyArray_SetBaseObject_(a, base.inc_ref().ptr()) != 0) {
    Py_DECREF(a);
    throw py::error_already_set();
  }
  return py::reinterpret_steal<py::object>(a);
}

const py::object& numpy_attr(const char* name) {
  static auto* np = new py::object(py::module_::import("numpy"));
  static auto* asarray = new py::object(np->attr("asarray"));
  static auto* ascontig = new py::object(np->attr("ascontiguousarray"));
  static auto* bcast = new py::object(np->attr("broadcast_to"));
  if (std::strcmp(name, "asarray") == 0) return *asarray;
  if (std::strcmp(name, "broadcast_to") == 0) return *bcast;
  return *ascontig;
}

// `h` as a float64 array: real numbers only (bool, int, float; complex and anything else
// rejected), every entry finite -- the message names `name` and the first bad index.
Arr to_array(const std::string& name, py::handle h, bool scan_finite = true) {
  if (h.is_none()) fail(name + " is required, got None");
  py::object obj;
  Plain p;
  Arr out;
  if (as_plain(h, p)) {  // the common case: read in place
    out.a = py::reinterpret_borrow<py::array_t<double>>(h);
  } else {
    const auto& api = py::detail::npy_api::get();
    if (Py_TYPE(h.ptr()) == api.PyArray_Type_ || PyType_IsSubtype(Py_TYPE(h.ptr()), api.PyArray_Type_)) {
      obj = py::reinterpret_borrow<py::object>(h);
    } else {
      try {
        obj = numpy_attr("asarray")(h);
      } catch (py::error_already_set& e) {
        fail(name + " must be a real array, got " + std::string(py::str(py::type::handle_of(h).attr("__name__"))) +
             ": " + std::string(py::str(e.value())));
      }
    }
    const char kind = py::cast<py::array>(obj).dtype().kind();
    if (kind == 'c') fail(name + " must be real, got complex values (dtype " +
                          std::string(py::str(py::cast<py::array>(obj).dtype())) + ")");
    if (kind != 'b' && kind != 'i' && kind != 'u' && kind != 'f')
      fail(name + " must be a real array, got " + std::string(py::str(py::type::handle_of(h).attr("__name__"))) +
           " (dtype " + std::string(py::str(py::cast<py::array>(obj).dtype())) + ")");
    out.a = CArray::ensure(obj);
    if (!out.a) throw py::error_already_set();
  }
  out.shape.assign(out.a.shape(), out.a.shape() + out.a.ndim());
  if (!scan_finite) return out;
  const gamesolve::Index bad = gamesolve::first_nonfinite(out.a.data(), static_cast<gamesolve::Index>(out.a.size()));
  if (bad >= 0) {
    std::string where;
    if (out.nd() > 0) {
      std::vector<py::ssize_t> idx(out.shape.size());
      py::ssize_t r = bad;
      for (int i = out.nd() - 1; i >= 0; --i) {
        idx[static_cast<std::size_t>(i)] = r % out.dim(i);
        r /= out.dim(i);
      }
      where = " (first at index " + tuple_str(idx) + ")";
    }
    fail(name + " must be finite, found NaN or inf" + where);
  }
  return out;
}

bool is_seq(py::handle h) { return PyList_Check(h.ptr()) || PyTuple_Check(h.ptr()); }

// Blocks given as a list: each converted, with a common leading shape (numpy broadcasting).
std::vector<Arr> to_blocks(const char* name, py::handle h, int block_nd) {
  std::vector<Arr> blocks;
  py::sequence seq = py::reinterpret_borrow<py::sequence>(h);
  for (py::ssize_t i = 0; i < static_cast<py::ssize_t>(seq.size()); ++i)
    blocks.push_back(to_array(std::string(name) + "[" + std::to_string(i) + "]", seq[static_cast<std::size_t>(i)]));
  (void)block_nd;
  return blocks;
}

// Concatenation of blocks (..., k_i) along the last axis (equal leading shapes).
Arr concat_last(const std::vector<Arr>& blocks) {
  std::vector<Plain> plain(blocks.size());
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    Plain& p = plain[i];
    p.data = blocks[i].data();
    p.nd = blocks[i].nd();
    std::copy(blocks[i].shape.begin(), blocks[i].shape.end(), p.shape.begin());
    p.size = blocks[i].size();
  }
  Plain o;
  std::vector<gamesolve::Index> widths;
  Arr out;
  out.a = py::reinterpret_steal<py::array_t<double>>(concat_blocks(plain, o, widths).release());
  out.shape.assign(out.a.shape(), out.a.shape() + out.a.ndim());
  return out;
}

std::vector<gamesolve::Index> read_dims_any(py::handle h) {
  std::vector<gamesolve::Index> dims;
  if (read_dims(h, dims)) return dims;  // the common case: a list / tuple of positive ints
  dims.clear();
  py::array_t<long long> a;
  try {
    py::object v = numpy_attr("asarray")(h);
    if (py::cast<py::array>(v).dtype().kind() != 'i' && py::cast<py::array>(v).dtype().kind() != 'u') throw 0;
    a = py::array_t<long long, py::array::forcecast>::ensure(v);
  } catch (...) {
    fail("dims must be positive integers, got " + std::string(py::repr(h)));
  }
  if (a.ndim() > 1 || a.size() == 0) fail("dims must be positive integers, got " + std::string(py::repr(h)));
  for (py::ssize_t i = 0; i < a.size(); ++i) dims.push_back(static_cast<gamesolve::Index>(a.data()[i]));
  return dims;
}

// B: a list of N blocks (..., n, m_i), or stacked (..., n, m) with dims (the widths give dims).
Arr read_B(py::handle B_, py::handle dims_, py::ssize_t n, std::vector<gamesolve::Index>& dims, bool scan_finite) {
  Arr B;
  if (is_seq(B_)) {
    std::vector<Arr> blocks = to_blocks("B", B_, 2);
    if (blocks.empty()) fail("B must have at least one player block, got an empty sequence");
    for (Arr& b : blocks)
      if (b.nd() == 1) b.reshape({b.dim(0), 1});
    std::vector<gamesolve::Index> widths;
    for (std::size_t i = 0; i < blocks.size(); ++i) {
      const Arr& b = blocks[i];
      if (b.nd() < 1 || b.lead(1) != blocks[0].lead(1))
        fail("B[" + std::to_string(i) + "] has shape " + tuple_str(b.shape) + ", inconsistent with B[0] shape " +
             tuple_str(blocks[0].shape));
      widths.push_back(b.dim(-1));
      if (b.dim(-1) < 1)  // before the blocks are joined (their row count divides by the width)
        fail("B[" + std::to_string(i) + "] must have at least one column (m_i >= 1), got shape " +
             tuple_str(b.shape));
    }
    if (!dims_.is_none()) {
      const auto given = read_dims_any(dims_);
      if (given != widths)
        fail("dims " + tuple_str(given) + " disagrees with the widths of the blocks of B " + tuple_str(widths));
    }
    dims = widths;
    B = blocks.size() == 1 ? blocks[0] : concat_last(blocks);
  } else {
    B = to_array("B", B_, scan_finite);
    if (B.nd() == 1) B.reshape({B.dim(0), 1});
    if (dims_.is_none()) fail("dims is required when B is a stacked matrix (give dims=(m_1, ..., m_N))");
    dims = read_dims_any(dims_);
  }
  for (auto d : dims)
    if (d < 1) fail("dims must be positive integers, got " + tuple_str(dims));
  gamesolve::Index m = 0;
  if (!control_total(dims, m)) fail("dims " + tuple_str(dims) + " are too large");
  if (B.nd() < 2 || B.dim(-1) != m)
    fail("B must have " + std::to_string(m) + " columns (sum of dims " + tuple_str(dims) + "), got shape " +
         tuple_str(B.shape));
  if (B.dim(-2) != n)
    fail("B must have " + std::to_string(n) + " rows (the state size), got shape " + tuple_str(B.shape));
  return B;
}

// A new array (lead..., *block) for N stacked blocks of `first`'s leading shape (all but its last two
// axes); `lead` gets the number of leading entries.
Arr new_stacked(const Arr& first, std::initializer_list<py::ssize_t> block, py::ssize_t& lead) {
  Shape shape = first.lead(2);
  lead = 1;
  for (auto v : shape) lead *= v;
  shape.append(block);
  Arr out;
  out.a = py::array_t<double>(shape.vec());
  out.shape = shape;
  return out;
}

// Joint weights (lead..., N, m, m) from N blocks (lead..., k_i, k_i): stacked (joint, k_i = m)
// or embedded into zeros (own, k_i = m_i).
Arr assemble_joint(const std::vector<Arr>& blocks, const std::vector<gamesolve::Index>& dims, bool joint) {
  const py::ssize_t N = static_cast<py::ssize_t>(dims.size());
  py::ssize_t m = 0;
  for (auto d : dims) m += d;
  py::ssize_t lead = 1;
  Arr out = new_stacked(blocks[0], {N, m, m}, lead);
  std::vector<std::pair<const double*, py::ssize_t>> src;
  for (const Arr& b : blocks) src.push_back({b.data(), b.dim(-1) * b.dim(-1)});
  assemble_R(src, lead, dims, joint, out.a.mutable_data());
  return out;
}

// R: a list of N own-control (m_i, m_i) or joint (m, m) weights, joint (..., N, m, m), or own
// stacked (..., N, m_1, m_1) (equal m_i, N > 1).
Arr read_R(py::handle R_, const std::vector<gamesolve::Index>& dims, bool scan_finite) {
  const py::ssize_t N = static_cast<py::ssize_t>(dims.size());
  py::ssize_t m = 0;
  for (auto d : dims) m += d;
  if (is_seq(R_)) {
    std::vector<Arr> blocks = to_blocks("R", R_, 2);
    for (std::size_t i = 0; i < blocks.size(); ++i) {
      Arr& b = blocks[i];
      if (b.nd() == 0) b.reshape({1, 1});
      if (b.nd() < 2 || b.dim(-1) != b.dim(-2))
        fail("R[" + std::to_string(i) + "] must be square, got shape " + tuple_str(b.shape));
    }
    if (static_cast<py::ssize_t>(blocks.size()) != N)
      fail("R must have one weight per player (" + std::to_string(N) + "), got " + std::to_string(blocks.size()));
    bool joint = true;
    for (const Arr& b : blocks) joint = joint && b.dim(-1) == m;
    if (!joint)
      for (std::size_t i = 0; i < blocks.size(); ++i)
        if (blocks[i].dim(-1) != dims[i])
          fail("R[" + std::to_string(i) + "] must have shape (" + std::to_string(dims[i]) + ", " +
               std::to_string(dims[i]) + ") (own-control weight), got " + tuple_str(blocks[i].shape));
    bool same = true;
    for (const Arr& b : blocks) same = same && b.lead(2) == blocks[0].lead(2);
    if (!same) {  // broadcast the leading axes (rare: e.g. one player's weight time-varying)
      std::vector<py::object> ls;
      py::list leads;
      for (const Arr& b : blocks) leads.append(py::tuple(py::cast(b.lead(2).vec())));
      py::tuple lead;
      try {
        lead = py::module_::import("numpy").attr("broadcast_shapes")(*leads);
      } catch (py::error_already_set&) {
        std::string shapes;
        for (const Arr& b : blocks) shapes += (shapes.empty() ? "" : ", ") + tuple_str(b.shape);
        fail("the weights R[i] have leading axes that do not broadcast: shapes " + shapes);
      }
      for (Arr& b : blocks) {
        std::vector<py::ssize_t> s = py::cast<std::vector<py::ssize_t>>(lead);
        s.push_back(b.dim(-2));
        s.push_back(b.dim(-1));
        b.a = py::array_t<double>(numpy_attr("ascontiguousarray")(numpy_attr("broadcast_to")(b.a, py::tuple(py::cast(s)))));
        b.shape.assign(s.begin(), s.end());
      }
    }
    return assemble_joint(blocks, dims, joint);
  }
  Arr R = to_array("R", R_, scan_finite);
  if (R.ends_with({N, m, m})) return R;
  const bool equal = std::all_of(dims.begin(), dims.end(), [&](gamesolve::Index d) { return d == dims[0]; });
  const py::ssize_t d0 = dims[0];
  if (N > 1 && equal && R.ends_with({N, d0, d0})) {
    std::vector<Arr> blocks;  // views of player i's weights: a strided copy via numpy
    for (py::ssize_t i = 0; i < N; ++i) {
      Arr b;
      py::object sl = R.a[py::make_tuple(py::ellipsis(), i, py::slice(py::none(), py::none(), py::none()),
                                         py::slice(py::none(), py::none(), py::none()))];
      b.a = py::array_t<double>(numpy_attr("ascontiguousarray")(sl));
      b.shape.assign(b.a.shape(), b.a.shape() + b.a.ndim());
      blocks.push_back(std::move(b));
    }
    return assemble_joint(blocks, dims, false);
  }
  fail("R must hold N=" + std::to_string(N) + " joint weights (..., " + std::to_string(N) + ", " +
       std::to_string(m) + ", " + std::to_string(m) + ") or own-control weights (a list of (m_i, m_i)), got shape " +
       tuple_str(R.shape));
}

// Q: (..., N, n, n), or a list of N (..., n, n) weights.
Arr read_Q(py::handle Q_, py::ssize_t N, py::ssize_t n, bool scan_finite) {
  if (is_seq(Q_) && py::len(Q_) > 0 && py::isinstance<py::array>(py::reinterpret_borrow<py::sequence>(Q_)[0])) {
    std::vector<Arr> blocks = to_blocks("Q", Q_, 2);
    if (static_cast<py::ssize_t>(blocks.size()) != N)
      fail("Q must have one weight per player (" + std::to_string(N) + "), got " + std::to_string(blocks.size()));
    for (std::size_t i = 0; i < blocks.size(); ++i)
      if (!blocks[i].ends_with({n, n}) || blocks[i].lead(2) != blocks[0].lead(2))
        fail("Q[" + std::to_string(i) + "] must have shape (..., " + std::to_string(n) + ", " + std::to_string(n) +
             ") like Q[0] " + tuple_str(blocks[0].shape) + ", got " + tuple_str(blocks[i].shape));
    py::ssize_t lead = 1;
    Arr out = new_stacked(blocks[0], {N, n, n}, lead);
    double* dst = out.a.mutable_data();
    for (py::ssize_t l = 0; l < lead; ++l)
      for (py::ssize_t i = 0; i < N; ++i)
        std::copy_n(blocks[static_cast<std::size_t>(i)].data() + l * n * n, n * n, dst + (l * N + i) * n * n);
    return out;
  }
  Arr Q = to_array("Q", Q_, scan_finite);
  if (Q.nd() < 3 || !Q.ends_with({N, n, n}))
    fail("Q must have shape (..., " + std::to_string(N) + ", " + std::to_string(n) + ", " + std::to_string(n) +
         ") (one (n, n) weight per player), got " + tuple_str(Q.shape));
  return Q;
}

// The leading axes of one input: [batch (Bb),] [time (Tt)]; the horizon seen so far in T / T_name.
struct TimeAxes {
  bool batched;
  py::ssize_t T = 0;
  std::string T_name;
  // Returns (Bb, Tt) of `a` with `block_nd` block axes, checking the time axis against T.
  std::pair<py::ssize_t, py::ssize_t> canon(const std::string& name, const Arr& a, int block_nd) {
    const int want = 1 + static_cast<int>(batched);
    const int extra = a.nd() - block_nd;
    if (extra != want - 1 && extra != want)
      fail(name + " must have " + std::to_string(block_nd + want - 1) + " or " + std::to_string(block_nd + want) +
           " dimensions " + (batched ? "(batch, [T], ...)" : "([T], ...)") + ", got shape " + tuple_str(a.shape));
    const py::ssize_t Bb = batched ? a.dim(0) : 1;
    py::ssize_t Tt = 1;
    if (extra == want) {
      Tt = a.dim(want - 1);
      if (Tt < 1) fail(name + " has an empty time axis (shape " + tuple_str(a.shape) + ")");
      if (T != 0 && Tt != T)
        fail(name + " has " + std::to_string(Tt) + " time steps but " + T_name + " has " + std::to_string(T));
      if (T == 0) {
        T = Tt;
        T_name = name;
      }
    }
    return {Bb, Tt};
  }
};

// A canonical input: the array with exactly its ([Bb,] Tt, *block) axes, and its core Series.
struct Canon {
  Arr arr;
  py::ssize_t Bb = 1, Tt = 1;
  bool present = false;
};

}  // namespace

ReadGame read_game(py::handle A_, py::handle B_, py::handle Q_, py::handle R_, py::handle horizon, py::handle q_,
                   py::handle r_, py::handle M_, py::handle c_, py::handle QT_, py::handle qT_, py::handle dims_,
                   bool batched, double sym_rtol, bool defer_game_checks) {
  using gamesolve::Index;
  // A batch whose value checks are deferred to the solve's threads is not scanned for NaN / inf here
  // either: the per-game checks include finiteness (one pass over each game, in cache for its solve,
  // on every thread, instead of a serial pass over the whole batch first).
  const bool scan = !(defer_game_checks && batched);
  Arr A = to_array("A", A_, scan);
  if (A.nd() < 2 || A.dim(-1) != A.dim(-2)) fail("A must be square (n, n), got shape " + tuple_str(A.shape));
  const py::ssize_t n = A.dim(-1);
  if (n < 1 || n > gamesolve::kMaxSize) fail("A must be square (n, n) with n >= 1, got shape " + tuple_str(A.shape));
  std::vector<Index> dims;
  Arr B = read_B(B_, dims_, n, dims, scan);
  const py::ssize_t N = static_cast<py::ssize_t>(dims.size());
  py::ssize_t m = 0;
  for (auto d : dims) m += d;
  Arr R = read_R(R_, dims, scan);
  Arr Q = read_Q(Q_, N, n, scan);
  TimeAxes ax{batched, 0, ""};
  if (!horizon.is_none()) {
    py::ssize_t h = 0;
    const bool is_int = !PyBool_Check(horizon.ptr()) &&
                        (PyLong_Check(horizon.ptr()) || py::isinstance(horizon, numpy_attr("asarray").attr("__self__").attr("integer")));
    if (is_int) {  // any Python int (no overflow of the conversion): beyond kMaxHorizon is out of range
      const py::int_ v(py::reinterpret_borrow<py::object>(horizon));
      int overflow = 0;
      const long long x = PyLong_AsLongLongAndOverflow(v.ptr(), &overflow);
      h = overflow > 0 || x > kMaxHorizon ? kMaxHorizon + 1 : overflow < 0 ? 0 : static_cast<py::ssize_t>(x);
    }
    if (!is_int || h < 1 || h > kMaxHorizon)
      fail("horizon must be a positive integer, got " + std::string(py::repr(horizon)) + " (at most " +
           std::to_string(kMaxHorizon) + ")");
    ax.T = h;
    ax.T_name = "horizon";
  }
  struct Item {
    const char* name;
    Canon c;
    int block_nd;
  };
  std::array<Item, 10> it{{{"A", {}, 2}, {"B", {}, 2}, {"Q", {}, 3}, {"q", {}, 2}, {"R", {}, 3},
                           {"r", {}, 2}, {"M", {}, 3}, {"c", {}, 1}, {"QT", {}, 3}, {"qT", {}, 2}}};
  auto set = [&](std::size_t k, Arr a) {
    Canon& c = it[k].c;
    std::tie(c.Bb, c.Tt) = ax.canon(it[k].name, a, it[k].block_nd);
    c.arr = std::move(a);
    c.present = true;
  };
  set(0, std::move(A));
  set(1, std::move(B));
  set(2, std::move(Q));
  set(4, std::move(R));
  const std::array<std::pair<std::size_t, py::handle>, 4> opt{{{3, q_}, {5, r_}, {6, M_}, {7, c_}}};
  const std::array<Shape, 4> opt_block{{{N, n}, {N, m}, {N, m, n}, {n}}};
  for (std::size_t j = 0; j < opt.size(); ++j) {
    if (opt[j].second.is_none()) continue;
    const char* name = it[opt[j].first].name;
    Arr a = to_array(name, opt[j].second, scan);
    const auto& blk = opt_block[j];
    bool ok = a.nd() >= static_cast<int>(blk.size());
    for (std::size_t i = 0; ok && i < blk.size(); ++i) ok = a.dim(a.nd() - static_cast<int>(blk.size() - i)) == blk[i];
    if (!ok) {
      std::string want;
      for (auto v : blk) want += ", " + std::to_string(v);
      fail(std::string(name) + " must have shape (..." + want + "), got " + tuple_str(a.shape));
    }
    set(opt[j].first, std::move(a));
  }
  // Terminal data: given (with the batch axis when batched), else the last stage of Q and q.
  auto terminal = [&](std::size_t k, py::handle h, Shape blk) {
    const char* name = it[k].name;
    Arr a = to_array(name, h, scan);
    bool ok = a.nd() == static_cast<int>(blk.size()) + static_cast<int>(batched);
    for (std::size_t i = 0; ok && i < blk.size(); ++i) ok = a.dim(a.nd() - static_cast<int>(blk.size() - i)) == blk[i];
    if (!ok) {
      std::string want;
      for (auto v : blk) want += (want.empty() ? "" : ", ") + std::to_string(v);
      fail(std::string(name) + " must have shape (" + (batched ? "batch, " : "") + want + "), got " +
           tuple_str(a.shape));
    }
    Canon& c = it[k].c;
    c.Bb = batched ? a.dim(0) : 1;
    c.arr = std::move(a);
    c.present = true;
  };
  if (!QT_.is_none()) terminal(8, QT_, {N, n, n});
  if (!qT_.is_none()) terminal(9, qT_, {N, n});
  // Batch size.
  py::ssize_t batch = 1;
  if (batched) {
    std::string sizes;
    bool bad = false;
    for (std::size_t k : {0, 1, 2, 4, 8, 9, 3, 5, 6, 7}) {
      const Canon& c = it[k].c;
      if (!c.present || c.Bb == 1) continue;
      sizes += (sizes.empty() ? "" : ", ") + std::string("'") + it[k].name + "': " + std::to_string(c.Bb);
      if (batch != 1 && c.Bb != batch) bad = true;
      batch = c.Bb;
    }
    if (bad) fail("inconsistent batch sizes: {" + sizes + "}");
  }
  const py::ssize_t T = ax.T;  // 0: no horizon (the infinite-horizon game)
  check_output_size(T, batch, N, n, m);

  // The core's view of the game (T = 1 without a horizon) for the value checks.
  gamesolve::LQGameData g;
  g.dims = gamesolve::Dims(n, dims);
  g.T = T == 0 ? 1 : T;
  g.batch = batch;
  const std::array<gamesolve::GameArray, 10> arrays = gamesolve::game_arrays(g);
  for (std::size_t k = 0; k < 10; ++k) {
    const Canon& c = it[k].c;
    if (!c.present) continue;
    gamesolve::Series& s = *arrays[k].series;
    s.data = c.arr.data();
    s.size = static_cast<Index>(c.arr.size());
    s.t_stride = c.Tt == 1 ? 0 : arrays[k].block;
    s.b_stride = c.Bb == 1 ? 0 : c.Tt * arrays[k].block;
  }
  auto last_stage = [&](std::size_t k) {  // the series of the last stage of Q / q
    gamesolve::Series s = *arrays[k].series;
    const Canon& c = it[k].c;
    if (c.Tt > 1) {
      s.data += (c.Tt - 1) * arrays[k].block;
      s.size -= (c.Tt - 1) * arrays[k].block;
      s.t_stride = 0;
    }
    return s;
  };
  const bool default_QT = !it[8].c.present && T != 0, default_qT = !it[9].c.present && it[3].c.present && T != 0;
  if (!it[8].c.present) g.QT = last_stage(2);  // checked with the game even when it has no horizon
  if (default_qT) g.qT = last_stage(3);
  if (defer_game_checks && batch > 1 && T != 0) {
    // The per-game part is the solve's (solve_checked_lq_games, on its threads).
    const gamesolve::ValueCheck v = gamesolve::check_shared_values(g, sym_rtol, /*check_finite=*/!scan);
    if (!v.ok()) throw gamesolve::InputError(gamesolve::describe(v, g, sym_rtol));
  } else {
    gamesolve::require_valid_values(g, sym_rtol, /*check_finite=*/!scan);
  }

  // Canonical arrays: ([Bb,] Tt, *block), read-only views of the buffers read.
  const std::array<Shape, 10> block_shape{{{n, n}, {n, m}, {N, n, n}, {N, n}, {N, m, m}, {N, m},
                                           {N, m, n}, {n}, {N, n, n}, {N, n}}};
  // The LQGame's fields (python/gamesolve/lq/game.py), as interned strings (created once, kept).
  static const std::array<PyObject*, 15> keys = [] {
    const char* names[15] = {"dims", "n", "T", "batch", "A", "B", "Q", "q", "R", "r", "M", "c", "QT", "qT",
                             "state_dims"};
    std::array<PyObject*, 15> k{};
    for (std::size_t i = 0; i < 15; ++i) k[i] = PyUnicode_InternFromString(names[i]);
    return k;
  }();
  std::array<py::object, 15> out;
  py::tuple dims_out(N);
  for (py::ssize_t i = 0; i < N; ++i) dims_out[static_cast<std::size_t>(i)] = py::int_(dims[static_cast<std::size_t>(i)]);
  out[0] = dims_out;
  out[1] = py::int_(n);
  out[2] = T == 0 ? py::object(py::none()) : py::object(py::int_(T));
  out[3] = batched ? py::object(py::int_(batch)) : py::object(py::none());
  for (std::size_t k = 0; k < 10; ++k) {
    const Canon& c = it[k].c;
    Shape shape;
    if (batched) shape.push_back(c.Bb);
    if (k < 8) shape.push_back(c.Tt);
    for (auto v : block_shape[k]) shape.push_back(v);
    if (c.present) {
      out[4 + k] = ro_view(c.arr.data(), shape, c.arr.a);
    } else if ((k == 8 && default_QT) || (k == 9 && default_qT)) {
      const std::size_t src = k == 8 ? 2 : 3;
      const Canon& s = it[src].c;
      const gamesolve::Series ls = last_stage(src);
      if (!batched || s.Bb == 1) {
        out[4 + k] = ro_view(ls.data, shape, s.arr.a);
      } else {  // (Bb, *block) from the source's last stages: strided, then made contiguous
        shape[0] = s.Bb;
        std::array<py::ssize_t, kMaxNd> strides{};
        py::ssize_t st = sizeof(double);
        for (std::size_t i = shape.size(); i-- > 0;) {
          strides[i] = st;
          st *= shape[i];
        }
        strides[0] = static_cast<py::ssize_t>(ls.b_stride * sizeof(double));
        py::object v = numpy_attr("ascontiguousarray")(ro_view(ls.data, shape, s.arr.a, strides.data()));
        py::detail::array_proxy(v.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
        out[4 + k] = std::move(v);
      }
    } else {
      out[4 + k] = py::none();
    }
  }
  out[14] = py::none();
  py::dict d;
  for (std::size_t i = 0; i < out.size(); ++i)
    if (PyDict_SetItem(d.ptr(), keys[i], out[i].ptr()) != 0) throw py::error_already_set();
  return {std::move(d), std::move(g), T != 0};
}

py::object read_matrix(const char* name, py::handle h, py::ssize_t rows, py::ssize_t cols) {
  Arr X = to_array(name, h);
  if (X.nd() != 2 || X.dim(0) != rows || X.dim(1) != cols)
    fail(std::string(name) + " must have shape (" + std::to_string(rows) + ", " + std::to_string(cols) + "), got " +
         tuple_str(X.shape));
  return std::move(X.a);
}

py::object read_noise_cov(py::handle h, py::ssize_t n, py::ssize_t T) {
  Arr W = to_array("noise_cov", h);
  if (!((W.nd() == 2 || (W.nd() == 3 && W.dim(0) == T)) && W.dim(-1) == n && W.dim(-2) == n))
    fail("noise_cov must have shape (" + std::to_string(n) + ", " + std::to_string(n) + ") or (" +
         std::to_string(T) + ", " + std::to_string(n) + ", " + std::to_string(n) + "), got " + tuple_str(W.shape));
  return ro_view(W.data(), W.shape, W.a);
}

namespace {

py::object read_lq_game(py::handle A_, py::handle B_, py::handle Q_, py::handle R_, py::handle horizon,
                        py::handle q_, py::handle r_, py::handle M_, py::handle c_, py::handle QT_, py::handle qT_,
                        py::handle dims_, bool batched, double sym_rtol) {
  return read_game(A_, B_, Q_, R_, horizon, q_, r_, M_, c_, QT_, qT_, dims_, batched, sym_rtol).values;
}

// read_lq_game then the coupled Riccati recursion, in one call (the raw-array form of
// gamesolve.solve_lq_game(s)): the game read and solved; RiccatiArrays with game_fields.
SolvedArrays read_and_solve(py::handle A_, py::handle B_, py::handle Q_, py::handle R_, py::handle horizon,
                         py::handle q_, py::handle r_, py::handle M_, py::handle c_, py::handle QT_, py::handle qT_,
                         py::handle dims_, bool batched, double sym_rtol, int n_threads, double rcond_tol,
                         double rank_tol, const std::string& keep) {
  const Keep kept = parse_keep(keep);
  if (kept != Keep::all && !batched) throw gamesolve::InputError("keep applies to batched solves (solve_lq_games) only");
  ReadGame rg = read_game(A_, B_, Q_, R_, horizon, q_, r_, M_, c_, QT_, qT_, dims_, batched, sym_rtol,
                          /*defer_game_checks=*/true);
  if (!rg.has_horizon) throw gamesolve::InputError("horizon is required when every array is time-invariant");
  SolvedArrays a = solve_to_arrays(rg.g, batched, n_threads, rcond_tol, rank_tol, kept, sym_rtol);
  a.game_fields = std::move(rg.values);
  return a;
}

// The core's view of a checked LQGame (python/gamesolve/lq/game.py): its canonical arrays
// ([Bb,] Tt, *block), C-contiguous float64, read in place.
gamesolve::LQGameData game_data(py::handle game) {
  gamesolve::LQGameData g;
  const py::object T = game.attr("T"), batch = game.attr("batch");
  if (T.is_none()) throw gamesolve::InputError("horizon is required when every array is time-invariant");
  const bool batched = !batch.is_none();
  g.T = py::cast<Index>(T);
  g.batch = batched ? py::cast<Index>(batch) : 1;
  g.dims = gamesolve::Dims(py::cast<Index>(game.attr("n")), py::cast<std::vector<Index>>(game.attr("dims")));
  for (const gamesolve::GameArray& it : gamesolve::game_arrays(g)) {
    const py::object a = game.attr(it.name);
    if (a.is_none()) continue;
    Plain p;
    if (!as_plain(a, p))
      throw std::invalid_argument(std::string("LQGame.") + it.name +
                                  " must be a C-contiguous float64 array (build games with gamesolve.lq_game)");
    const Index Bb = batched ? p.shape[0] : 1;
    const Index Tt = it.terminal ? 1 : p.shape[batched ? 1 : 0];
    *it.series = {p.data, static_cast<Index>(p.size), Tt == 1 ? 0 : it.block, Bb == 1 ? 0 : Tt * it.block};
  }
  gamesolve::check_game(g);  // sizes and strides only: the values were checked when the game was built
  return g;
}

// solve_lq_game(s) on a checked LQGame: the result arrays in their final shapes ((batch, T, ...)
// for a batch, else (T, ...)) and the counts of min-norm and non-finite stages.
SolvedArrays solve_game(py::handle game, int n_threads, double rcond_tol, double rank_tol, const std::string& keep) {
  const Keep kept = parse_keep(keep);
  const bool batched = !game.attr("batch").is_none();
  if (kept != Keep::all && !batched) throw gamesolve::InputError("keep applies to batched solves (solve_lq_games) only");
  const gamesolve::LQGameData g = game_data(game);
  return solve_to_arrays(g, batched, n_threads, rcond_tol, rank_tol, kept);
}

}  // namespace

void bind_lq_game(py::module_& m) {
  using py::arg;
  py::class_<SolvedArrays>(m, "RiccatiArrays",
                           "Output of the coupled Riccati kernel entries: the arrays of one solve (None where not "
                           "kept or not computed) and its stage report.")
      .def_readonly("K", &SolvedArrays::K, "([batch,] T, m, n) feedback gains (stage0: ([batch,] m, n))")
      .def_readonly("k", &SolvedArrays::k, "([batch,] T, m) feedforward terms")
      .def_readonly("Z", &SolvedArrays::Z, "([batch,] T+1, N, n, n) value matrices")
      .def_readonly("zeta", &SolvedArrays::zeta, "([batch,] T+1, N, n) value linear terms")
      .def_readonly("s", &SolvedArrays::s, "([batch,] T+1, N) value constants")
      .def_readonly("stage_status", &SolvedArrays::status, "([batch,] T) int32 gamesolve::kStage* codes")
      .def_property_readonly("max_min_norm_residual", [](const SolvedArrays& a) { return a.rep.max_min_norm_residual; },
                             "largest relative residual ||S K - Y||_1 / (||S||_1 ||K||_1 + ||Y||_1) of a minimum-norm stage")
      .def_property_readonly("n_ill_conditioned_stages", [](const SolvedArrays& a) { return a.rep.ill_conditioned_stages; },
                             "stages with rcond < rcond_tol whose elimination's solution was accurate (kept)")
      .def_property_readonly("min_rcond", [](const SolvedArrays& a) { return a.rep.min_rcond; },
                             "smallest reciprocal condition estimate of a stage system")
      .def_readonly("n_min_norm_stages", &SolvedArrays::n_min_norm, "stages solved by the minimum-norm rule")
      .def_readonly("n_nonfinite_stages", &SolvedArrays::n_nonfinite, "stages with non-finite values")
      .def_readonly("n_not_convex_stages", &SolvedArrays::n_not_convex,
                    "stages where some player's own cost-to-go is not convex in its control")
      .def_readonly("game_fields", &SolvedArrays::game_fields,
                    "read_and_solve_lq_game: the game read, a dict of LQGame fields (else None)");
  m.def("solve_lq_games", &solve,
        "Coupled Riccati recursion ([theory §2]) for a batch of equal-size games. Arrays have leading "
        "(batch or 1, T or 1) axes. Returns a RiccatiArrays (batch axis always). keep: \"all\"; \"gains\" "
        "(Z, zeta, s None, never allocated); \"stage0\" (K (batch, m, n), k (batch, m) of stage 0, Z, zeta, s "
        "None). check_R: first check that every own block R^ii is positive definite (InputError).",
        arg("dims"), arg("n"), arg("T"), arg("batch"), arg("A"), arg("B"), arg("Q"), arg("q").none(true),
        arg("R"), arg("r").none(true), arg("M").none(true), arg("c").none(true), arg("QT"),
        arg("qT").none(true), arg("n_threads") = 0, arg("rcond_tol") = 1e-12, arg("rank_tol") = 1e-10,
        arg("keep") = "all", arg("check_R") = false);
  m.def(
      "max_abs",
      [](const py::array_t<double, py::array::c_style | py::array::forcecast>& a) {
        const double* x = a.data();
        const Index size = static_cast<Index>(a.size());
        py::gil_scoped_release release;
        return gamesolve::max_abs(x, size);
      },
      arg("a"), "max |a| over a float64 array (0 if empty, NaN if any entry is NaN): check.hpp's max_abs.");
  m.def("read_lq_game", &read_lq_game,
        "Read and check the data of an LQ game (gamesolve.lq_game): (A, B, Q, R, horizon, q, r, M, c, QT, qT, "
        "dims, batched, sym_rtol) -> (dims, n, T|None, batch|None, A, B, Q, q, R, r, M, c, QT, qT) in the "
        "canonical form of python/gamesolve/lq/game.py. Raises gamesolve.InputError.");
  m.def("read_and_solve_lq_game", &read_and_solve,
        "read_lq_game's arguments, then n_threads, rcond_tol, rank_tol, keep: the game read and solved in one "
        "call. Returns a RiccatiArrays whose game_fields is the game read.");
  m.def("solve_lq_game_data", &solve_game,
        "The coupled Riccati recursion on a checked LQGame: (game, n_threads, rcond_tol, rank_tol, keep) -> "
        "RiccatiArrays, batch axis iff game.batch.",
        py::arg("game"), py::arg("n_threads") = 0, py::arg("rcond_tol") = 1e-12, py::arg("rank_tol") = 1e-10,
        py::arg("keep") = "all");
  m.def("evaluate_strategies", &evaluate,
        "Value of given strategies K (batch, T, m, n), k (batch, T, m) ([theory §2] policy evaluation): a "
        "RiccatiArrays with Z, zeta, s (K, k, stage_status None).",
        arg("dims"), arg("n"), arg("T"), arg("batch"), arg("A"), arg("B"), arg("Q"), arg("q").none(true),
        arg("R"), arg("r").none(true), arg("M").none(true), arg("c").none(true), arg("QT"),
        arg("qT").none(true), arg("K"), arg("k"));
  m.attr("hardware_threads") = static_cast<int>(std::thread::hardware_concurrency());
}

}  // namespace gamesolve_py
