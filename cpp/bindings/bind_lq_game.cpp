// Bindings of the finite-horizon LQ game kernel (cpp/include/gamesolve/lq_game.hpp).
#include <pybind11/stl.h>

#include <thread>

#include "array_io.hpp"
#include "bindings.hpp"

namespace gamesolve_py {

namespace {

using gamesolve::Index;


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
  gamesolve::LQGameData g = make_game(dims, n, T, batch, A, B, Q, q, R, r, M, c, QT, qT);
  const py::ssize_t N = g.dims.N, m = g.dims.m;
  py::array_t<double> K({batch, T, m, n}), k({batch, T, m}), Z({batch, T + 1, N, n, n}),
      zeta({batch, T + 1, N, n}), s({batch, T + 1, N});
  py::array_t<std::int32_t> status({batch, T});
  gamesolve::LQSolutionView out;
  out.K = as_out(K, m * n);
  out.k = as_out(k, m);
  out.Z = as_out(Z, N * n * n);
  out.zeta = as_out(zeta, N * n);
  out.s = as_out(s, N);
  out.status = status.mutable_data();
  out.status_size = static_cast<Index>(status.size());
  gamesolve::SolveOptions opts;
  opts.rcond_tol = rcond_tol;
  opts.rank_tol = rank_tol;
  gamesolve::SolveReport rep;
  {
    py::gil_scoped_release release;
    rep = gamesolve::solve_lq_games(g, out, n_threads, opts);
  }
  return py::make_tuple(K, k, Z, zeta, s, status, rep.min_rcond);
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

}  // namespace

void bind_lq_game(py::module_& m) {
  using py::arg;
  m.def("solve_lq_games", &solve,
        "Coupled Riccati recursion (SPEC 2) for a batch of equal-size games. Arrays have leading "
        "(batch or 1, T or 1) axes. Returns (K, k, Z, zeta, s, status, min_rcond).",
        arg("dims"), arg("n"), arg("T"), arg("batch"), arg("A"), arg("B"), arg("Q"), arg("q").none(true),
        arg("R"), arg("r").none(true), arg("M").none(true), arg("c").none(true), arg("QT"),
        arg("qT").none(true), arg("n_threads") = 0, arg("rcond_tol") = 1e-12, arg("rank_tol") = 1e-10);
  m.def("evaluate_strategies", &evaluate,
        "Value (Z, zeta, s) of given strategies K (batch, T, m, n), k (batch, T, m) (SPEC 2 policy "
        "evaluation).",
        arg("dims"), arg("n"), arg("T"), arg("batch"), arg("A"), arg("B"), arg("Q"), arg("q").none(true),
        arg("R"), arg("r").none(true), arg("M").none(true), arg("c").none(true), arg("QT"),
        arg("qT").none(true), arg("K"), arg("k"));
  m.attr("hardware_threads") = static_cast<int>(std::thread::hardware_concurrency());
}

}  // namespace gamesolve_py
