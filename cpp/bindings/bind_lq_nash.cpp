// pybind11 bindings of the infinite-horizon LQ Nash solver (lq_nash.hpp) and
// the Stein solver (stein.hpp).
//
// The game arrives validated (gamesolve.lq_game checks it once): A (n, n),
// stacked B (n, m), Q (N, n, n), joint R (N, m, m), optional cross terms
// M (N, m, n), as C-contiguous float64 arrays copied once into the problem.
// The solver's settings (LQNashOptions) and outcome (LQNashResult, NashStage,
// the NashStatus / NashMethod enums) are bound as classes with read-only
// fields; arrays come back as fresh numpy arrays.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>

#include "bindings.hpp"
#include "gamesolve/check.hpp"
#include "gamesolve/lq_nash.hpp"
#include "gamesolve/stein.hpp"

namespace py = pybind11;
using namespace gamesolve;

namespace {
using Arr = py::array_t<double, py::array::c_style | py::array::forcecast>;

const double* ptr_or_null(const std::optional<Arr>& a) { return a ? a->data() : nullptr; }

LQNashProblem problem(const Arr& A, const Arr& B, const Arr& Q, const Arr& R, const std::optional<Arr>& M,
                      const std::vector<Index>& dims) {
  if (A.ndim() != 2 || A.shape(0) != A.shape(1)) throw std::invalid_argument("A must be square (n, n)");
  const Index n = A.shape(0);
  Index m = 0;
  for (Index d : dims) m += d;
  const Index N = Index(dims.size());
  auto expect = [](const Arr& a, const char* name, Index size) {
    if (a.size() != size)
      throw std::invalid_argument(std::string(name) + " has " + std::to_string(a.size()) + " entries, expected " +
                                  std::to_string(size));
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
  if (a.ndim() != 2 || a.shape(0) != r || a.shape(1) != c)
    throw std::invalid_argument(std::string(name) + " must have shape (" + std::to_string(r) + ", " +
                                std::to_string(c) + ")");
  return CMapRow(a.data(), r, c);
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
      py::arg("A"), py::arg("B"), py::arg("Q"), py::arg("R"), py::arg("M").none(true), py::arg("dims"),
      py::arg("K"), doc);
}

void bind_types(py::module_& m) {
  py::enum_<NashMethod>(m, "NashMethod", "The iteration of an lq_nash stage (LQNashOptions.method).")
      .value("auto", NashMethod::Auto)
      .value("lyapunov", NashMethod::Lyapunov)
      .value("riccati", NashMethod::Riccati)
      .value("newton", NashMethod::Newton);

  py::enum_<NashStatus>(m, "NashStatus", "Why an lq_nash solve (or one stage of it) stopped.")
      .value("converged", kNashConverged)
      .value("max_iterations", kNashMaxIter)
      .value("stalled", kNashStalled)
      .value("lost_stability", kNashLostStability)
      .value("non_finite", kNashNonFinite)
      .value("singular", kNashSingular)
      .value("bad_start", kNashBadStart)
      .value("no_stabilizing_start", kNashNoStabilizingStart)
      .value("uncertified", kNashUncertified)
      .value("bad_scale", kNashBadScale);

  py::class_<LQNashOptions>(m, "LQNashOptions", "Settings of lq_nash (see gamesolve.lq_nash).")
      .def(py::init([](NashMethod method, double tol, int max_iter, int anderson_depth, int stall_window,
                       bool polish) {
             LQNashOptions o;
             o.method = method;
             o.tol = tol;
             o.max_iter = max_iter;
             o.anderson_depth = anderson_depth;
             o.stall_window = stall_window;
             o.polish = polish;
             return o;
           }),
           py::kw_only(), py::arg("method") = NashMethod::Auto, py::arg("tol") = 1e-10, py::arg("max_iter") = 1000,
           py::arg("anderson_depth") = 5, py::arg("stall_window") = 40, py::arg("polish") = true)
      .def_readonly("method", &LQNashOptions::method)
      .def_readonly("tol", &LQNashOptions::tol)
      .def_readonly("max_iter", &LQNashOptions::max_iter)
      .def_readonly("anderson_depth", &LQNashOptions::anderson_depth)
      .def_readonly("stall_window", &LQNashOptions::stall_window)
      .def_readonly("polish", &LQNashOptions::polish);

  py::class_<NashStage>(m, "NashStage", "One method run inside an lq_nash solve.")
      .def_readonly("method", &NashStage::method)
      .def_readonly("accelerated", &NashStage::accelerated)
      .def_readonly("iterations", &NashStage::iterations)
      .def_property_readonly("status", [](const NashStage& s) { return NashStatus(s.status); })
      .def_readonly("residual", &NashStage::residual, "the stage's own convergence measure at exit")
      .def_property_readonly("start", [](const NashStage& s) { return int(s.start); },
                             "0: the start gain K0, 1: the best candidate so far, 2: best or K0, 3: P = Q");

  py::class_<LQNashResult>(m, "LQNashResult", "The outcome of an lq_nash solve (lq_nash.hpp LQNashResult).")
      .def_property_readonly("K", [](const LQNashResult& r) { return to_numpy(r.K); }, "(m, n) gains, u = -K x")
      .def_property_readonly(
          "P", [](const LQNashResult& r) { return stack(r.P, r.K.cols(), r.K.cols()); },
          "(N, n, n) values P(K) (N = 0 when no stabilizing K was reached)")
      .def_readonly("converged", &LQNashResult::converged)
      .def_readonly("iterations", &LQNashResult::iterations)
      .def_property_readonly("status", [](const LQNashResult& r) { return NashStatus(r.status); })
      .def_readonly("res_K", &LQNashResult::res_K)
      .def_readonly("res_P", &LQNashResult::res_P)
      .def_readonly("residual", &LQNashResult::residual)
      .def_readonly("spectral_radius", &LQNashResult::spectral_radius, "of A - B K (-1: stable, not computed)")
      .def_readonly("error_estimate", &LQNashResult::error_estimate,
                    "estimated relative error of K (last Newton correction or residual x condition; NaN if none)")
      .def_readonly("start", &LQNashResult::start, "the start of the iterations (e.g. 'summed-cost LQR')")
      .def_readonly("method", &LQNashResult::method)
      .def_property_readonly(
          "history",
          [](const LQNashResult& r) { return py::array_t<double>(py::ssize_t(r.history.size()), r.history.data()); })
      .def_readonly("stages", &LQNashResult::stages);
}
// gamesolve.lq_nash on raw arrays in one call: the game read and checked by the LQ reader
// (gamesolve_py::read_game), the start gain read, the solve. `game`: the LQGame's fields.
struct NashRead {
  py::object game;
  LQNashResult result;
};

NashRead read_and_solve(py::handle A, py::handle B, py::handle Q, py::handle R, py::handle dims, py::handle M,
                        py::handle K0, const LQNashOptions& o, double scale, double sym_rtol) {
  const py::handle none = py::none();
  gamesolve_py::ReadGame rg = gamesolve_py::read_game(A, B, Q, R, none, none, none, M, none, none, none, dims, false,
                                                      sym_rtol);
  const LQGameData& g = rg.g;
  if (rg.has_horizon)
    throw InputError("the infinite-horizon game has no horizon and time-invariant data, got a game with T=" +
                     std::to_string(g.T) + " (build it without horizon and without time axes)");
  LQNashProblem pb = make_lq_nash_problem(g.dims.n, g.dims.m_i, g.A.data, g.B.data, g.Q.data, g.R.data,
                                          g.M.present() ? g.M.data : nullptr);
  if (scale != 1.0) {  // the discounted game: sqrt(beta) A, sqrt(beta) B
    pb.A *= scale;
    pb.B *= scale;
  }
  Mat K0m;
  if (!K0.is_none()) {
    const py::object K = gamesolve_py::read_matrix("K0", K0, g.dims.m, g.dims.n);
    K0m = CMapRow(py::reinterpret_borrow<py::array_t<double>>(K).data(), g.dims.m, g.dims.n);
  }
  NashRead out{std::move(rg.values), {}};
  py::gil_scoped_release release;
  out.result = lq_nash(pb, K0m, o);
  return out;
}

}  // namespace

namespace gamesolve_py {
void bind_lq_nash(py::module_& m) {
  bind_types(m);
  m.attr("max_anderson_depth") = gamesolve::kMaxAndersonDepth;
  m.def(
      "lq_nash",
      [](const Arr& A, const Arr& B, const Arr& Q, const Arr& R, const std::optional<Arr>& M,
         const std::vector<Index>& dims, const std::optional<Arr>& K0, const LQNashOptions& o) {
        const LQNashProblem pb = problem(A, B, Q, R, M, dims);
        Mat K0m;
        if (K0) K0m = from_numpy(*K0, pb.dims.m, pb.dims.n, "K0");
        py::gil_scoped_release release;
        return lq_nash(pb, K0m, o);
      },
      py::arg("A"), py::arg("B"), py::arg("Q"), py::arg("R"), py::arg("M").none(true), py::arg("dims"),
      py::arg("K0").none(true), py::arg("options"),
      "Infinite-horizon LQ Nash of a validated game: A (n,n), B (n,m), Q (N,n,n), joint R (N,m,m), M (N,m,n) "
      "or None; K0 (m,n) or None (default start). Returns an LQNashResult.");
  py::class_<NashRead>(m, "LQNashRead", "The outcome of read_and_solve_lq_nash: the game read and the solve.")
      .def_readonly("game", &NashRead::game, "the LQGame's fields (a dict)")
      .def_readonly("result", &NashRead::result, "the LQNashResult");
  m.def("read_and_solve_lq_nash", &read_and_solve, py::arg("A"), py::arg("B"), py::arg("Q"), py::arg("R"),
        py::arg("dims").none(true), py::arg("M").none(true), py::arg("K0").none(true), py::arg("options"),
        py::arg("scale"), py::arg("sym_rtol"),
        "gamesolve.lq_nash on raw arrays: read_lq_game's reading and checks (no horizon, no time axes), K0 (m, n) "
        "or None, then the solve of the game with A, B scaled by `scale` (sqrt of the discount). An LQNashRead.");
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
      "The guided game (lq_nash.hpp guided_problem): (Q_hat (N,n,n), R_hat joint (N,m,m), M (N,m,n)).");

  def_policy(
      m, "lq_policy_value",
      [](const LQNashProblem& pb, const Mat& K) -> py::object {
        std::vector<Mat> P;
        double rho = 0;
        if (!lq_policy_value(pb, K, P, &rho)) return py::make_tuple(py::none(), rho);
        return py::make_tuple(stack(P, pb.dims.n, pb.dims.n), rho);
      },
      "(P^i(K) by Stein equations or None if A - B K is not stable, spectral radius of A - B K).");

  def_policy(
      m, "lq_nash_jacobian",
      [](const LQNashProblem& pb, const Mat& K) -> py::object {
        Mat J, F;
        if (!lq_nash_jacobian(pb, K, J, &F)) return py::none();
        return py::make_tuple(to_numpy(J), to_numpy(F));
      },
      "(Jacobian of F(K) = S(P(K)) K - Y(P(K)) w.r.t. row-major vec(K), F(K)); None if not stable.");

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
