// pybind11 binding of the entropy-regularized LQ game solver (SPEC 4).
// Called from module.cpp as bind_entropy(m). Validation of values (symmetry,
// definiteness) happens in python/gamesolve/entropy.py; here only sizes.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "gamesolve/entropy.hpp"

#include <stdexcept>
#include <string>
#include <vector>

namespace py = pybind11;

namespace {

using Arr = py::array_t<double, py::array::c_style | py::array::forcecast>;

// A time-major input whose leading axis has length 1 (broadcast: stride 0) or T.
gamesolve::Series series(const Arr& a, gamesolve::Index T, gamesolve::Index block, const char* name) {
  if (a.ndim() < 1) throw std::invalid_argument(std::string(name) + " must have a leading time axis");
  const auto lead = static_cast<gamesolve::Index>(a.shape(0));
  if (lead != 1 && lead != T)
    throw std::invalid_argument(std::string(name) + " must have a leading axis of length 1 or T=" +
                                std::to_string(T) + ", got " + std::to_string(lead));
  if (static_cast<gamesolve::Index>(a.size()) != lead * block)
    throw std::invalid_argument(std::string(name) + " has " + std::to_string(a.size()) +
                                " entries, expected " + std::to_string(lead * block));
  return gamesolve::Series{a.data(), static_cast<gamesolve::Index>(a.size()), lead == 1 ? 0 : block, 0};
}

py::dict entropy_lq_nash(const Arr& A, const Arr& B, const Arr& Q, const Arr& R, const Arr& QT,
                         const py::object& W, double tau, const std::vector<gamesolve::Index>& dims,
                         gamesolve::Index T) {
  using gamesolve::Index;
  if (A.ndim() != 3) throw std::invalid_argument("A must be (T or 1, n, n)");
  const auto n = static_cast<Index>(A.shape(1));
  gamesolve::EntropyLQData data;
  data.game.dims = gamesolve::Dims(n, dims);
  const Index N = data.game.dims.N, m = data.game.dims.m;
  data.game.T = T;
  data.game.A = series(A, T, n * n, "A");
  data.game.B = series(B, T, n * m, "B");
  data.game.Q = series(Q, T, N * n * n, "Q");
  data.game.R = series(R, T, N * m * m, "R");
  if (static_cast<Index>(QT.size()) != N * n * n) throw std::invalid_argument("QT must be (N, n, n)");
  data.game.QT = gamesolve::Series{QT.data(), N * n * n, 0, 0};
  data.tau = tau;
  Arr w;
  if (!W.is_none()) {
    w = W.cast<Arr>();
    data.W = series(w, T, n * n, "W");
  }

  Arr K({T, m, n}), Sigma({T, m, m}), P({T + 1, N, n, n}), p({T + 1, N});
  py::array_t<std::int32_t> status(T);
  gamesolve::EntropySolutionView out;
  out.K = {K.mutable_data(), T * m * n, m * n, 0};
  out.Sigma = {Sigma.mutable_data(), T * m * m, m * m, 0};
  out.P = {P.mutable_data(), (T + 1) * N * n * n, N * n * n, 0};
  out.p = {p.mutable_data(), (T + 1) * N, N, 0};
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
  m.def("entropy_lq_nash", &entropy_lq_nash, py::arg("A"), py::arg("B"), py::arg("Q"), py::arg("R"),
        py::arg("QT"), py::arg("W"), py::arg("tau"), py::arg("dims"), py::arg("T"),
        "Linear-Gaussian Nash equilibrium of an entropy-regularized LQ game (SPEC 4).\n"
        "Time-major inputs with a leading axis of length 1 (time-invariant) or T; R joint (N, m, m)\n"
        "per stage. Returns a dict with K, Sigma, P, p, status and the solve report.");
}
