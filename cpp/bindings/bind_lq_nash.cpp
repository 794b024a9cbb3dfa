// pybind11 bindings of the infinite-horizon LQ Nash solver (lq_nash.hpp) and
// the Stein solver (stein.hpp). Inputs: C-contiguous float64 arrays, copied
// once into the problem; outputs: fresh numpy arrays. The fast path of
// gamesolve.lq_nash (lq_nash_fast, lq_nash_check_fast) takes the public
// arguments as given and checks them here (validate.hpp).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <climits>
#include <cmath>
#include <cstring>

#include "array_io.hpp"
#include "bindings.hpp"
#include "gamesolve/lq_nash.hpp"
#include "gamesolve/stein.hpp"
#include "gamesolve/validate.hpp"

namespace py = pybind11;
using namespace gamesolve;

namespace {
using Arr = py::array_t<double, py::array::c_style | py::array::forcecast>;

const double* ptr_or_null(const std::optional<Arr>& a) { return a ? a->data() : nullptr; }

LQNashProblem problem(const Arr& A, const Arr& B, const Arr& Q, const Arr& R,
                      const std::optional<Arr>& M, const std::vector<Index>& dims) {
  if (A.ndim() != 2 || A.shape(0) != A.shape(1)) throw std::invalid_argument("A must be square (n, n)");
  const Index n = A.shape(0);
  Index m = 0;
  for (Index d : dims) m += d;
  const Index N = Index(dims.size());
  auto expect = [](const Arr& a, const char* name, Index size) {
    if (a.size() != size)
      throw std::invalid_argument(std::string(name) + " has " + std::to_string(a.size()) +
                                  " entries, expected " + std::to_string(size));
  };
  expect(B, "B", n * m);
  expect(Q, "Q", N * n * n);
  expect(R, "R", N * m * m);
  if (M) expect(*M, "M", N * m * n);
  return make_lq_nash_problem(n, dims, A.data(), B.data(), Q.data(), R.data(), ptr_or_null(M));
}

py::array_t<double> to_numpy(const Mat& X) {
  py::array_t<double> out({X.rows(), X.cols()});
  MapRow(out.mutable_data(), X.rows(), X.cols()) = X;
  return out;
}

py::array_t<double> stack(const std::vector<Mat>& Xs, Index r, Index c) {
  py::array_t<double> out({Index(Xs.size()), r, c});
  for (size_t i = 0; i < Xs.size(); ++i) MapRow(out.mutable_data() + i * r * c, r, c) = Xs[i];
  return out;
}

Mat from_numpy(const Arr& a, Index r, Index c, const char* name) {
  if (a.size() != r * c)
    throw std::invalid_argument(std::string(name) + " must have shape (" + std::to_string(r) + ", " +
                                std::to_string(c) + ")");
  return CMapRow(a.data(), r, c);
}
// The outcome of a solve as the tuple gamesolve.lq_nash reads: (K, P, closed_loop,
// converged, iterations, status, residual, method, res_K, res_P, history, stages),
// stages a list of (method, accelerated, iterations, status, residual).
py::tuple result_tuple(const LQNashProblem& pb, const LQNashResult& r) {
  py::list stages;
  for (const auto& s : r.stages)
    stages.append(py::make_tuple(int(s.method), s.accelerated, s.iterations, s.status, s.residual));
  const bool has_K = r.K.rows() == pb.dims.m && r.K.cols() == pb.dims.n;  // always, by lq_nash's contract
  py::array_t<double> P = r.P.empty()
                              ? py::array_t<double>(std::vector<py::ssize_t>{pb.dims.N, pb.dims.n, pb.dims.n})
                              : stack(r.P, pb.dims.n, pb.dims.n);
  return py::make_tuple(to_numpy(r.K), P, to_numpy(has_K ? Mat(pb.A - pb.B * r.K) : pb.A), r.converged,
                        r.iterations, r.status, r.residual, r.method, r.res_K, r.res_P,
                        py::array_t<double>(py::ssize_t(r.history.size()), r.history.data()), stages);
}

LQNashResult run(const LQNashProblem& pb, const Mat& K0, const LQNashOptions& o) {
  py::gil_scoped_release release;
  return lq_nash(pb, K0, o);
}

// ---- Fast path of gamesolve.lq_nash (python/gamesolve/lq_nash.py): the public
// arguments as given, in the forms of lq_nash._prepare -- A (n, n); B stacked (n, m)
// with dims a list / tuple of ints, or a list / tuple of N blocks (n, m_i); Q (N, n, n)
// or a list / tuple of N (n, n); R joint (N, m, m), own-control (N, m_1, m_1) with
// equal m_i and N > 1, or a list / tuple of N own (m_i, m_i) or joint (m, m) weights --
// every array a plain float64 ndarray (array_io.hpp's as_plain). Anything else, and
// any bad shape or value, declines: the general path then converts, validates and
// raises its messages.

using gamesolve_py::Plain;

// The game read in place, with the arrays assembled from blocks (None where the
// argument is used as given).
struct FastGame {
  Index n = 0, m = 0, N = 0;
  std::vector<Index> dims;
  Plain A, B, Q, R;
  py::object B_new = py::none(), Q_new = py::none(), R_new = py::none();
};

// A Python int (exactly int) in [lo, INT_MAX].
bool read_int(py::handle h, int lo, int& v) {
  if (!PyLong_CheckExact(h.ptr())) return false;
  int overflow = 0;
  const long x = PyLong_AsLongAndOverflow(h.ptr(), &overflow);
  if (overflow || (x == -1 && PyErr_Occurred())) {
    PyErr_Clear();
    return false;
  }
  if (x < lo || x > INT_MAX) return false;
  v = static_cast<int>(x);
  return true;
}

// Shapes (the rules of lq_nash._prepare) and values (validate.hpp: finite; Q, R
// symmetric to sym_rtol; R^{ii} definite) of (A, B, Q, R, dims); false = decline.
bool fast_game(py::handle A_, py::handle B_, py::handle Q_, py::handle R_, py::handle dims_, double sym_rtol,
               FastGame& g) {
  using gamesolve_py::as_plain;
  using gamesolve_py::as_plain_list;
  if (!as_plain(A_, g.A) || g.A.nd != 2 || g.A.dim(0) != g.A.dim(1)) return false;
  const Index n = g.n = g.A.dim(0);
  if (!dims_.is_none() && !gamesolve_py::read_dims(dims_, g.dims)) return false;
  std::vector<Plain> blocks;
  if (as_plain(B_, g.B)) {
    if (g.dims.empty()) return false;
  } else {
    std::vector<Index> widths;
    if (!as_plain_list(B_, blocks)) return false;
    for (const Plain& b : blocks)
      if (b.nd != 2) return false;
    g.B_new = gamesolve_py::concat_blocks(blocks, g.B, widths);
    if (g.B_new.is_none() || (!g.dims.empty() && g.dims != widths)) return false;
    g.dims = widths;
  }
  const Index N = g.N = Index(g.dims.size());
  Index m = 0;
  if (!gamesolve_py::control_total(g.dims, m)) return false;
  g.m = m;
  if (g.B.nd != 2 || g.B.dim(0) != n || g.B.dim(1) != m) return false;
  // Q: (N, n, n), or N blocks (n, n) stacked.
  if (as_plain(Q_, g.Q)) {
    if (g.Q.nd != 3 || g.Q.dim(0) != N || g.Q.dim(1) != n || g.Q.dim(2) != n) return false;
  } else {
    if (!as_plain_list(Q_, blocks) || Index(blocks.size()) != N) return false;
    for (const Plain& b : blocks)
      if (b.nd != 2 || b.dim(0) != n || b.dim(1) != n) return false;
    py::array_t<double> a = gamesolve_py::new_plain({N, n, n}, 3, g.Q);
    for (Index i = 0; i < N; ++i) std::memcpy(a.mutable_data() + i * n * n, blocks[i].data, sizeof(double) * n * n);
    g.Q_new = std::move(a);
  }
  // R (lq._normalize_R): joint as given, or own-control / joint blocks assembled.
  std::vector<std::pair<const double*, py::ssize_t>> src(static_cast<std::size_t>(N));
  bool joint = false;
  if (as_plain(R_, g.R)) {
    if (g.R.nd != 3 || g.R.dim(0) != N) return false;
    if (g.R.dim(1) == m && g.R.dim(2) == m) {
      src.clear();  // joint, used in place
    } else {
      const Index d0 = g.dims[0];
      for (Index d : g.dims)
        if (d != d0) return false;
      if (N < 2 || g.R.dim(1) != d0 || g.R.dim(2) != d0) return false;
      for (Index i = 0; i < N; ++i) src[i] = {g.R.data + i * d0 * d0, 0};
    }
  } else {
    if (!as_plain_list(R_, blocks) || Index(blocks.size()) != N) return false;
    bool own = true;
    joint = true;
    for (Index i = 0; i < N; ++i) {
      const Plain& b = blocks[i];
      if (b.nd != 2 || b.dim(0) != b.dim(1)) return false;
      joint = joint && b.dim(0) == m;
      own = own && b.dim(0) == g.dims[i];
      src[i] = {b.data, 0};
    }
    if (!joint && !own) return false;
  }
  if (!src.empty()) {
    py::array_t<double> a = gamesolve_py::new_plain({N, m, m}, 3, g.R);
    gamesolve_py::assemble_R(src, 1, g.dims, joint, a.mutable_data());
    g.R_new = std::move(a);
  }
  // Values: the one-stage game (A, B, Q, R) with terminal weights Q (validate.hpp).
  gamesolve::LQGameData gd;
  gd.dims = Dims(n, g.dims);
  gd.T = 1;
  gd.A = {g.A.data, n * n, 0, 0};
  gd.B = {g.B.data, n * m, 0, 0};
  gd.Q = gd.QT = {g.Q.data, N * n * n, 0, 0};
  gd.R = {g.R.data, N * m * m, 0, 0};
  try {
    return gamesolve::check_game_values(gd, sym_rtol).ok();
  } catch (const std::invalid_argument&) {
    return false;
  }
}

py::tuple dims_tuple(const FastGame& g) {
  py::tuple t(g.N);
  for (Index i = 0; i < g.N; ++i) t[static_cast<std::size_t>(i)] = py::int_(g.dims[static_cast<std::size_t>(i)]);
  return t;
}

py::object array_or(const py::object& assembled, py::handle given) {
  return assembled.is_none() ? py::reinterpret_borrow<py::object>(given) : assembled;
}

// lq_nash._prepare's value: None (declined) or (B, Q, R, dims) with B stacked, Q (N, n, n),
// R joint (N, m, m) -- the arguments themselves where given so -- and dims a tuple.
py::object check_fast(py::handle A, py::handle B, py::handle Q, py::handle R, py::handle dims, double sym_rtol) {
  FastGame g;
  if (!fast_game(A, B, Q, R, dims, sym_rtol, g)) return py::none();
  return py::make_tuple(array_or(g.B_new, B), array_or(g.Q_new, Q), array_or(g.R_new, R), dims_tuple(g));
}

// The options as lq_nash._solve checks them (method a name, tol > 0 finite, max_iter >= 1
// an int exactly) and K0 (None or a finite plain (m, n) array) into o, K0m; false = decline.
bool nash_options(const FastGame& g, py::handle K0, py::handle method, py::handle tol, py::handle max_iter,
                  LQNashOptions& o, Mat& K0m) {
  if (!PyUnicode_CheckExact(method.ptr())) return false;
  Py_ssize_t len = 0;
  const char* name = PyUnicode_AsUTF8AndSize(method.ptr(), &len);
  if (name == nullptr) {
    PyErr_Clear();
    return false;
  }
  static const char* const kNames[] = {"auto", "lyapunov", "riccati", "newton"};  // NashMethod order
  int mi = -1;
  for (int i = 0; i < 4; ++i)
    if (std::strlen(kNames[i]) == static_cast<std::size_t>(len) && std::memcmp(name, kNames[i], len) == 0) mi = i;
  if (mi < 0 || !PyFloat_CheckExact(tol.ptr())) return false;
  o.method = static_cast<NashMethod>(mi);
  o.tol = PyFloat_AS_DOUBLE(tol.ptr());
  if (!(std::isfinite(o.tol) && o.tol > 0)) return false;
  if (!read_int(max_iter, 1, o.max_iter)) return false;  // out of range: the general path names it
  if (!K0.is_none()) {
    Plain k;
    if (!gamesolve_py::as_plain(K0, k) || k.nd != 2 || k.dim(0) != g.m || k.dim(1) != g.n ||
        !gamesolve::all_finite(k.data, k.size))
      return false;
    K0m = CMapRow(k.data, g.m, g.n);
  }
  return true;
}

// gamesolve.lq_nash in one call: None (declined, nothing done) or (result_tuple(...), B,
// dims) with B stacked and dims a tuple. Options as nash_options, anderson_depth in
// 0..kMaxAndersonDepth and stall_window ints exactly, polish a bool.
py::object solve_fast(py::handle A, py::handle B, py::handle Q, py::handle R, py::handle dims, py::handle K0,
                      py::handle method, py::handle tol, py::handle max_iter, py::handle anderson_depth,
                      py::handle stall_window, py::handle polish, double sym_rtol) {
  LQNashOptions o;
  if (!PyBool_Check(polish.ptr()) || !read_int(anderson_depth, 0, o.anderson_depth) ||
      o.anderson_depth > gamesolve::kMaxAndersonDepth || !read_int(stall_window, INT_MIN, o.stall_window))
    return py::none();
  o.polish = polish.ptr() == Py_True;
  FastGame g;
  if (!fast_game(A, B, Q, R, dims, sym_rtol, g)) return py::none();
  Mat K0m;
  if (!nash_options(g, K0, method, tol, max_iter, o, K0m)) return py::none();
  const LQNashProblem pb = make_lq_nash_problem(g.n, g.dims, g.A.data, g.B.data, g.Q.data, g.R.data, nullptr);
  const LQNashResult r = run(pb, K0m, o);
  return py::make_tuple(result_tuple(pb, r), array_or(g.B_new, B), dims_tuple(g));
}

// A Python float or int (exactly), as a double; false = decline.
bool read_number(py::handle h, double& v) {
  if (PyFloat_CheckExact(h.ptr())) {
    v = PyFloat_AS_DOUBLE(h.ptr());
    return true;
  }
  if (!PyLong_CheckExact(h.ptr())) return false;
  v = PyLong_AsDouble(h.ptr());
  if (v == -1.0 && PyErr_Occurred()) {
    PyErr_Clear();
    return false;
  }
  return true;
}

// gamesolve.guided_lq_nash in one call: None (declined, nothing done) or, as
// solve_fast, (result_tuple of the guided game, B stacked, dims tuple). The game as
// fast_game reads it, K_guide a finite plain (m, n) array, rho a finite float or int
// >= 0, the options as solve_fast with guided_lq_nash's fixed anderson_depth = 5,
// stall_window = 0 and polish.
py::object guided_fast(py::handle A, py::handle B, py::handle Q, py::handle R, py::handle dims, py::handle K_guide,
                       py::handle rho_, py::handle K0, py::handle method, py::handle tol, py::handle max_iter,
                       double sym_rtol) {
  double rho = 0.0;
  if (!read_number(rho_, rho) || !(std::isfinite(rho) && rho >= 0.0)) return py::none();
  FastGame g;
  if (!fast_game(A, B, Q, R, dims, sym_rtol, g)) return py::none();
  Plain kg;
  if (!gamesolve_py::as_plain(K_guide, kg) || kg.nd != 2 || kg.dim(0) != g.m || kg.dim(1) != g.n ||
      !gamesolve::all_finite(kg.data, kg.size))
    return py::none();
  LQNashOptions o;  // guided_lq_nash's fixed options, as its general path passes them
  o.anderson_depth = 5;
  o.stall_window = 0;  // 0: lq_nash's default window (40 for auto, 200 for an explicit method)
  o.polish = true;
  Mat K0m;
  if (!nash_options(g, K0, method, tol, max_iter, o, K0m)) return py::none();
  const LQNashProblem pb = guided_problem(
      make_lq_nash_problem(g.n, g.dims, g.A.data, g.B.data, g.Q.data, g.R.data, nullptr), CMapRow(kg.data, g.m, g.n),
      rho);
  const LQNashResult r = run(pb, K0m, o);
  return py::make_tuple(result_tuple(pb, r), array_or(g.B_new, B), dims_tuple(g));
}

// A function of a policy K of the game (A, B, Q, R, M, dims), bound as
// name(A, B, Q, R, M, dims, K) -> f(problem, K).
template <class F>
void def_policy(py::module_& m, const char* name, F f, const char* doc) {
  m.def(
      name,
      [f](const Arr& A, const Arr& B, const Arr& Q, const Arr& R, const std::optional<Arr>& M,
          const std::vector<Index>& dims, const Arr& K) -> py::object {
        LQNashProblem pb = problem(A, B, Q, R, M, dims);
        return f(pb, from_numpy(K, pb.dims.m, pb.dims.n, "K"));
      },
      doc);
}
}  // namespace

namespace gamesolve_py {
void bind_lq_nash(py::module_& m) {
  m.attr("max_anderson_depth") = gamesolve::kMaxAndersonDepth;
  m.def(
      "lq_nash",
      [](const Arr& A, const Arr& B, const Arr& Q, const Arr& R, const std::optional<Arr>& M,
         const std::vector<Index>& dims, const std::optional<Arr>& K0, int method, double tol,
         int max_iter, int anderson_depth, int stall_window, bool polish) {
        LQNashProblem pb = problem(A, B, Q, R, M, dims);
        LQNashOptions o;
        o.method = static_cast<NashMethod>(method);
        o.tol = tol;
        o.max_iter = max_iter;
        o.anderson_depth = anderson_depth;
        o.stall_window = stall_window;
        o.polish = polish;
        Mat K0m;
        if (K0) K0m = from_numpy(*K0, pb.dims.m, pb.dims.n, "K0");
        return result_tuple(pb, run(pb, K0m, o));
      },
      py::arg("A"), py::arg("B"), py::arg("Q"), py::arg("R"), py::arg("M"), py::arg("dims"),
      py::arg("K0"), py::arg("method"), py::arg("tol"), py::arg("max_iter"), py::arg("anderson_depth"),
      py::arg("stall_window"), py::arg("polish"),
      "Infinite-horizon LQ Nash ([theory §3]); see gamesolve.lq_nash. R, M joint (N,m,m), (N,m,n). Returns "
      "(K, P, closed_loop, converged, iterations, status, residual, method, res_K, res_P, history, stages).");
  m.def("lq_nash_fast", &solve_fast,
        "Fast path of gamesolve.lq_nash: its arguments (A, B, Q, R, dims, K0, method, tol, max_iter, "
        "anderson_depth, stall_window, polish) as given, then sym_rtol. None unless every array is a plain "
        "C-contiguous float64 ndarray (lists of them for B, Q, R) and all forms, shapes and values are valid; "
        "else (the tuple of lq_nash, B stacked, dims tuple).");
  m.def("guided_lq_nash_fast", &guided_fast,
        "Fast path of gamesolve.guided_lq_nash: its arguments (A, B, Q, R, dims, K_guide, rho, K0, method, tol, "
        "max_iter) as given, then sym_rtol. None (declined) unless all are in lq_nash_fast's forms, K_guide a "
        "finite plain (m, n) array and rho a finite number >= 0; else (the tuple of lq_nash for the guided game, "
        "B stacked, dims tuple).");
  m.def(
      "guided_game",
      [](const Arr& A, const Arr& B, const Arr& Q, const Arr& R, const std::vector<Index>& dims, const Arr& Kg,
         double rho) {
        const LQNashProblem pb = guided_problem(problem(A, B, Q, R, std::nullopt, dims),
                                                from_numpy(Kg, Index(B.shape(1)), Index(A.shape(0)), "K_guide"), rho);
        return py::make_tuple(stack(pb.Q, pb.dims.n, pb.dims.n), stack(pb.R, pb.dims.m, pb.dims.m),
                              stack(pb.M, pb.dims.m, pb.dims.n));
      },
      py::arg("A"), py::arg("B"), py::arg("Q"), py::arg("R"), py::arg("dims"), py::arg("K_guide"), py::arg("rho"),
      "The guided game of [MA-GPS] eq. 13 ([theory §3] substitution, lq_nash.hpp guided_problem): (Q_hat (N,n,n), "
      "R_hat joint (N,m,m), M (N,m,n)) for validated A, stacked B (n,m), Q, joint R, dims, K_guide (m,n), rho.");
  m.def("lq_nash_check_fast", &check_fast,
        "Fast path of gamesolve.lq_nash._prepare: (A, B, Q, R, dims, sym_rtol) -> None (declined) or "
        "(B stacked, Q (N, n, n), R joint (N, m, m), dims tuple), the arguments themselves where given so.");

  def_policy(
      m, "lq_policy_value",
      [](const LQNashProblem& pb, const Mat& K) -> py::object {
        std::vector<Mat> P;
        double rho = 0;
        if (!lq_policy_value(pb, K, P, &rho)) return py::make_tuple(py::none(), rho);
        return py::make_tuple(stack(P, pb.dims.n, pb.dims.n), rho);
      },
      "P^i(K) by Stein equations and the spectral radius of A - B K; P is None if not stable.");

  def_policy(
      m, "lq_nash_jacobian",
      [](const LQNashProblem& pb, const Mat& K) -> py::object {
        Mat J, F;
        if (!lq_nash_jacobian(pb, K, J, &F)) return py::none();
        return py::make_tuple(to_numpy(J), to_numpy(F));
      },
      "Exact Jacobian of F(K) = S(P(K)) K - Y(P(K)) w.r.t. row-major vec(K); None if not stable.");

  m.def(
      "stein_solve",
      [](const Arr& A, const Arr& C) {
        if (A.ndim() != 2 || A.shape(0) != A.shape(1)) throw std::invalid_argument("A must be square");
        const Index n = A.shape(0);
        Mat Am = CMapRow(A.data(), n, n);
        SteinSolver s(n);
        if (!s.factor(Am)) throw std::runtime_error("Schur factorization failed");
        const bool many = C.ndim() == 3;
        const Index k = many ? C.shape(0) : 1;
        if (C.size() != k * n * n) throw std::invalid_argument("C must have shape (n, n) or (k, n, n)");
        std::vector<Mat> X(k, Mat(n, n));
        for (Index i = 0; i < k; ++i) {
          Mat Ci = CMapRow(C.data() + i * n * n, n, n);
          s.solve(Ci, X[i], (Ci - Ci.transpose()).norm() == 0.0);
        }
        py::object out = many ? py::object(stack(X, n, n)) : py::object(to_numpy(X[0]));
        return py::make_tuple(out, s.spectral_radius(), s.separation());
      },
      py::arg("A"), py::arg("C"),
      "Solve X = A' X A + C (complex Schur); returns (X, spectral radius of A, separation).");
}
}  // namespace gamesolve_py
