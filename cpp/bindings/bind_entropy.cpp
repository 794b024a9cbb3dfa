// Bindings of the entropy-regularized LQ game solver (cpp/include/gamesolve/entropy.hpp, [theory §4]).
//
// `entropy_solve` is the whole fast path of gamesolve.entropy_lq_nash: it reads the arrays as
// given (float64, C-contiguous, with or without the leading time axis), infers T, checks the
// data's values (check_entropy_values) and solves, without copying any input. It returns a
// small int instead of a result when it cannot take the inputs as they are (-1: not float64
// C-contiguous or a shape it does not recognize) or a value check fails (EntropyCheckCode > 0);
// the Python layer then runs its full validation, which raises the clear InputError (or
// normalizes an unusual but valid input), and solves a validated game through the same entry
// (validate = false).
#include <pybind11/stl.h>

#include <cmath>

#include "array_io.hpp"
#include "bindings.hpp"
#include "gamesolve/entropy.hpp"

namespace gamesolve_py {

namespace {

using gamesolve::Index;
// One input of the fast path: a plain float64 array (array_io.hpp as_plain: exact ndarray,
// C-contiguous, aligned, native byte order) whose trailing axes are `block`, with at most one
// leading (time) axis. Records its time length (0: none) in `Tt`.
bool take(const py::object& o, const std::vector<py::ssize_t>& block, Plain& out, py::ssize_t& Tt) {
  if (!as_plain(o, out)) return false;
  const int nb = static_cast<int>(block.size()), nd = out.nd;
  if (nd != nb && nd != nb + 1) return false;
  for (int k = 0; k < nb; ++k)
    if (out.dim(nd - nb + k) != block[static_cast<size_t>(k)]) return false;
  Tt = nd == nb ? 0 : out.dim(0);
  return true;
}

// T from the time lengths seen (0: none); -1 if they disagree or none is given.
bool merge_T(py::ssize_t Tt, py::ssize_t& T) {
  if (Tt == 0 || Tt == 1) return true;  // no axis, or a length-1 axis that broadcasts
  if (T == 0 || T == 1) {
    T = Tt;
    return true;
  }
  return T == Tt;
}

gamesolve::Series series(const Plain& a, py::ssize_t Tt, py::ssize_t block) {
  return {a.data, static_cast<Index>(a.size), Tt > 1 ? static_cast<Index>(block) : 0, 0};
}

py::object entropy_solve(const std::vector<Index>& dims, const py::object& A_, const py::object& B_,
                         const py::object& Q_, const py::object& R_, const py::object& QT_, const py::object& W_,
                         double tau, Index horizon, bool validate) {
  const py::int_ unsupported(-1);
  Plain A, B, Q, R, QT, W;
  py::ssize_t tA = 0, tB = 0, tQ = 0, tR = 0, tQT = 0, tW = 0;
  if (!(std::isfinite(tau) && tau > 0.0) || !as_plain(A_, A) || A.nd < 2) return unsupported;
  const py::ssize_t n = A.dim(-1);
  if (dims.empty() || n < 1) return unsupported;
  Index m = 0;
  if (!gamesolve_py::control_total(dims, m)) return unsupported;
  const py::ssize_t N = static_cast<py::ssize_t>(dims.size());
  if (!take(A_, {n, n}, A, tA) || !take(B_, {n, m}, B, tB) || !take(Q_, {N, n, n}, Q, tQ) ||
      !take(R_, {N, m, m}, R, tR))
    return unsupported;
  if (!QT_.is_none() && (!take(QT_, {N, n, n}, QT, tQT) || tQT != 0)) return unsupported;
  if (!W_.is_none() && !take(W_, {n, n}, W, tW)) return unsupported;
  py::ssize_t T = 0;  // from the game's arrays; noise_cov's time axis must agree with it
  for (py::ssize_t Tt : {tA, tB, tQ, tR})
    if (!merge_T(Tt, T)) return unsupported;
  const bool any_axis = tA || tB || tQ || tR;
  if (horizon > 0) {
    if (T > 1 && T != horizon) return unsupported;
    T = horizon;
  } else if (!any_axis) {
    return unsupported;  // horizon required
  }
  if (T < 1 || (tW > 1 && tW != T)) return unsupported;
  // A time axis of length 1 broadcasts only if T was given by another array or the horizon.
  for (py::ssize_t Tt : {tA, tB, tQ, tR, tW})
    if (Tt == 1 && T != 1) return unsupported;

  gamesolve::EntropyLQData data;
  gamesolve::LQGameData& g = data.game;
  g.dims = gamesolve::Dims(static_cast<Index>(n), dims);
  g.T = static_cast<Index>(T);
  g.A = series(A, tA, n * n);
  g.B = series(B, tB, n * m);
  g.Q = series(Q, tQ, N * n * n);
  g.R = series(R, tR, N * m * m);
  if (QT_.is_none()) {  // QT defaults to Q (its last stage if time-varying)
    const py::ssize_t last = tQ > 1 ? (T - 1) * N * n * n : 0;
    g.QT = {Q.data + last, static_cast<Index>(N * n * n), 0, 0};
  } else {
    g.QT = series(QT, 0, N * n * n);
  }
  if (!W_.is_none()) data.W = series(W, tW, n * n);
  data.tau = tau;

  if (validate) {
    const gamesolve::EntropyCheck c = gamesolve::check_entropy_values(data);
    if (c.code != gamesolve::kEntropyOk) return py::int_(c.code);
  }

  py::array_t<double> K({T, m, n}), Sigma({T, m, m}), P({T + 1, N, n, n}), p({T + 1, N}), contraction(T);
  py::array_t<std::int32_t> status(T);
  gamesolve::EntropySolutionView out;
  out.K = as_out(K, m * n);
  out.Sigma = as_out(Sigma, m * m);
  out.P = as_out(P, N * n * n);
  out.p = as_out(p, N);
  out.contraction = as_out(contraction, 1);
  out.status = status.mutable_data();
  out.status_size = static_cast<Index>(T);
  gamesolve::EntropyReport rep;
  {
    py::gil_scoped_release release;
    rep = gamesolve::solve_entropy_lq_game(data, out);
  }
  // clean: no warning or error to report (every stage regular and finite, p_0 finite: a non-finite
  // input always reaches P or p_0, since NaN * 0 = NaN in the traces).
  bool clean = rep.core.min_norm_stages == 0 && rep.core.nonfinite_stages == 0 && rep.bad_stage < 0;
  for (py::ssize_t i = 0; i < N; ++i) clean = clean && std::isfinite(p.data()[i]);
  return py::make_tuple(clean, K, Sigma, P, p, status, contraction, rep.assumption_holds, rep.gamma_B,
                        rep.core.min_norm_stages, rep.core.nonfinite_stages, rep.core.min_rcond, rep.bad_stage,
                        rep.bad_player, T);
}

py::tuple check_values(const std::vector<Index>& dims, Index n, Index T, const CArray& A, const CArray& B,
                       const CArray& Q, const CArray& R, const CArray& QT, const std::optional<CArray>& W) {
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
  gamesolve::check_game(g);
  const auto c = gamesolve::check_entropy_values(data);
  return py::make_tuple(c.code, c.t, c.i);
}

}  // namespace

void bind_entropy(py::module_& m) {
  m.def("entropy_solve", &entropy_solve, py::arg("dims"), py::arg("A"), py::arg("B"), py::arg("Q"), py::arg("R"),
        py::arg("QT").none(true), py::arg("W").none(true), py::arg("tau"), py::arg("horizon"),
        py::arg("validate"),
        "Fast path of entropy_lq_nash: float64 C-contiguous arrays with or without the time axis (R joint, B "
        "stacked), horizon <= 0 for none. Returns (clean, K, Sigma, P, p, status, contraction, assumption_holds, "
        "gamma_B, min_norm_stages, nonfinite_stages, min_rcond, bad_stage, bad_player, T), or an int: -1 "
        "inputs not taken as given, > 0 a failed value check (EntropyCheckCode).");
  m.def("entropy_check_values", &check_values, py::arg("dims"), py::arg("n"), py::arg("T"), py::arg("A"),
        py::arg("B"), py::arg("Q"), py::arg("R"), py::arg("QT"), py::arg("W"),
        "check_entropy_values on (1, T or 1, *block) inputs: (code, t, i) (tests).");
}

}  // namespace gamesolve_py
