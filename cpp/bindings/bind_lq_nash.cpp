// pybind11 bindings of the infinite-horizon LQ Nash solver (lq_nash.hpp) and
// the Stein solver (lyapunov.hpp). Inputs: C-contiguous float64 arrays, copied
// once into the problem; outputs: fresh numpy arrays.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "gamesolve/lq_nash.hpp"
#include "gamesolve/lyapunov.hpp"

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
        LQNashResult r;
        {
          py::gil_scoped_release release;
          r = lq_nash(pb, K0m, o);
        }
        py::list stages;
        for (const auto& s : r.stages)
          stages.append(py::make_tuple(int(s.method), s.accelerated, s.iterations, s.status, s.residual));
        py::dict d;
        d["K"] = to_numpy(r.K);
        const bool has_K = r.K.rows() == pb.dims.m && r.K.cols() == pb.dims.n;  // always, by lq_nash's contract
        d["closed_loop"] = to_numpy(has_K ? Mat(pb.A - pb.B * r.K) : pb.A);
        d["P"] = r.P.empty() ? py::array_t<double>(std::vector<py::ssize_t>{pb.dims.N, pb.dims.n, pb.dims.n})
                             : stack(r.P, pb.dims.n, pb.dims.n);
        d["converged"] = r.converged;
        d["iterations"] = r.iterations;
        d["status"] = r.status;
        d["res_K"] = r.res_K;
        d["res_P"] = r.res_P;
        d["residual"] = r.residual;
        d["spectral_radius"] = r.spectral_radius;
        d["method"] = r.method;
        d["history"] = py::array_t<double>(py::ssize_t(r.history.size()), r.history.data());
        d["stages"] = stages;
        return d;
      },
      py::arg("A"), py::arg("B"), py::arg("Q"), py::arg("R"), py::arg("M"), py::arg("dims"),
      py::arg("K0"), py::arg("method"), py::arg("tol"), py::arg("max_iter"), py::arg("anderson_depth"),
      py::arg("stall_window"), py::arg("polish"),
      "Infinite-horizon LQ Nash (SPEC 3); see gamesolve.lq_nash. R, M joint (N,m,m), (N,m,n).");

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
