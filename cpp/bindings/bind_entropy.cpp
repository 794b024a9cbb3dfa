// Bindings of the entropy-regularized LQ game solver (cpp/include/gamesolve/entropy.hpp, SPEC 4).
// Values (symmetry, definiteness, tau) are validated in python/gamesolve/entropy.py; the core
// re-checks sizes and tau.
#include <pybind11/stl.h>

#include "array_io.hpp"
#include "bindings.hpp"
#include "gamesolve/entropy.hpp"

namespace gamesolve_py {

namespace {

using gamesolve::Index;

// Inputs have shape (1, Tt, *block) with Tt in {1, T} (see array_io.hpp); one game.
py::dict entropy_lq_nash(const std::vector<Index>& dims, Index n, Index T, const CArray& A, const CArray& B,
                         const CArray& Q, const CArray& R, const CArray& QT, const std::optional<CArray>& W,
                         double tau) {
  if (T < 1) throw std::invalid_argument("horizon must be >= 1");
  gamesolve::EntropyLQData data;
  gamesolve::LQGameData& g = data.game;
  g.dims = gamesolve::Dims(n, dims);
  g.T = T;
  const py::ssize_t N = g.dims.N, m = g.dims.m;
  g.A = as_series("A", A, {n, n}, T, 1);
  g.B = as_series("B", B, {n, m}, T, 1);
  g.Q = as_series("Q", Q, {N, n, n}, T, 1);
  g.R = as_series("R", R, {N, m, m}, T, 1);
  g.QT = as_series("QT", QT, {N, n, n}, 1, 1);
  data.W = as_series("W", W, {n, n}, T, 1);
  data.tau = tau;

  py::array_t<double> K({T, m, n}), Sigma({T, m, m}), P({T + 1, N, n, n}), p({T + 1, N});
  py::array_t<std::int32_t> status(T);
  gamesolve::EntropySolutionView out;
  out.K = as_out(K, m * n);
  out.Sigma = as_out(Sigma, m * m);
  out.P = as_out(P, N * n * n);
  out.p = as_out(p, N);
  out.status = status.mutable_data();
  out.status_size = T;
  gamesolve::EntropyReport rep;
  {
    py::gil_scoped_release release;
    rep = gamesolve::solve_entropy_lq_game(data, out);
  }
  py::dict res;
  res["K"] = K;
  res["Sigma"] = Sigma;
  res["P"] = P;
  res["p"] = p;
  res["status"] = status;
  res["min_norm_stages"] = rep.core.min_norm_stages;
  res["nonfinite_stages"] = rep.core.nonfinite_stages;
  res["min_rcond"] = rep.core.min_rcond;
  res["bad_stage"] = rep.bad_stage;
  res["bad_player"] = rep.bad_player;
  return res;
}

}  // namespace

void bind_entropy(py::module_& m) {
  m.def("entropy_lq_nash", &entropy_lq_nash, py::arg("dims"), py::arg("n"), py::arg("T"), py::arg("A"),
        py::arg("B"), py::arg("Q"), py::arg("R"), py::arg("QT"), py::arg("W"), py::arg("tau"),
        "Linear-Gaussian Nash equilibrium of one entropy-regularized LQ game (SPEC 4). Inputs (1, T or 1, "
        "*block), R joint; returns a dict with K, Sigma, P, p, status and the solve report.");
}

}  // namespace gamesolve_py
