// Bindings of the entropy-regularized LQ game solver (cpp/include/gamesolve/entropy.hpp, docs/entropy.md).
//
// The game arrives validated (gamesolve.entropy_lq_game: the LQ game's checks, then
// `entropy_check` for the entropy-specific rules). Every array is C-contiguous float64
// and either time-invariant (the block shape alone) or carries a leading time axis of
// length T or 1; it is read in place, never copied. The outcome (EntropyOutcome) and
// the value check (EntropyCheck, EntropyCheckCode) are bound as classes.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <array>
#include <cmath>
#include <optional>
#include <string>

#include "array_io.hpp"
#include "bindings.hpp"
#include "gamesolve/check.hpp"
#include "gamesolve/entropy.hpp"

namespace py = pybind11;

namespace {

using gamesolve::Index;
using Arr = gamesolve_py::CArray;

// The array `a` as a core Series: the block shape `block`, optionally after one time axis of
// length T or 1 (stride 0). Throws std::invalid_argument naming the array otherwise.
gamesolve::Series series(const char* name, const Arr& a, const std::vector<py::ssize_t>& block, py::ssize_t T) {
  const py::ssize_t nb = static_cast<py::ssize_t>(block.size()), nd = a.ndim();
  bool ok = nd == nb || nd == nb + 1;
  for (py::ssize_t k = 0; ok && k < nb; ++k) ok = a.shape(nd - nb + k) == block[static_cast<std::size_t>(k)];
  const py::ssize_t Tt = nd == nb + 1 ? a.shape(0) : 1;
  if (!ok || !(Tt == 1 || Tt == T)) throw std::invalid_argument(std::string(name) + ": unexpected shape");
  py::ssize_t blk = 1;
  for (auto v : block) blk *= v;
  return {a.data(), static_cast<Index>(a.size()), Tt > 1 ? static_cast<Index>(blk) : 0, 0};
}

gamesolve::EntropyLQData entropy_data(const std::vector<Index>& dims, const Arr& A, const Arr& B, const Arr& Q,
                                      const Arr& R, const Arr& QT, const std::optional<Arr>& W, double tau, Index T) {
  if (A.ndim() < 2) throw std::invalid_argument("A must be (n, n) or (T, n, n)");
  const py::ssize_t n = A.shape(A.ndim() - 1);
  gamesolve::EntropyLQData data;
  gamesolve::LQGameData& g = data.game;
  g.dims = gamesolve::Dims(static_cast<Index>(n), dims);
  g.T = T;
  const py::ssize_t N = g.dims.N, m = g.dims.m;
  g.A = series("A", A, {n, n}, T);
  g.B = series("B", B, {n, m}, T);
  g.Q = series("Q", Q, {N, n, n}, T);
  g.R = series("R", R, {N, m, m}, T);
  g.QT = series("QT", QT, {N, n, n}, 1);
  if (W) data.W = series("W", *W, {n, n}, T);
  data.tau = tau;
  return data;
}

// The outcome of one solve: the result arrays and the core's report; for read_and_solve_entropy
// also the game read (LQGame's fields, the noise covariance) and the entropy rules' check.
struct EntropyOutcome {
  py::array_t<double> K, Sigma, P, p, contraction;
  py::array_t<std::int32_t> status;
  gamesolve::EntropyReport report;
  py::object game = py::none(), noise_cov = py::none();
  gamesolve::EntropyCheck check;
  // read_and_solve_entropy: max |x| of A, B, Q, R, QT, W (0 without W), taken while the data are
  // cached from the reader's checks, for the Python layer's scale rule (_validate.check_top).
  std::array<double, 6> scales{};
};

EntropyOutcome solve_data(const gamesolve::EntropyLQData& data) {
  const Index T = data.game.T;
  const py::ssize_t N = data.game.dims.N, n = data.game.dims.n, m = data.game.dims.m;
  EntropyOutcome o{py::array_t<double>({py::ssize_t(T), m, n}), py::array_t<double>({py::ssize_t(T), m, m}),
                   py::array_t<double>({py::ssize_t(T) + 1, N, n, n}), py::array_t<double>({py::ssize_t(T) + 1, N}),
                   py::array_t<double>(py::ssize_t(T)), py::array_t<std::int32_t>(py::ssize_t(T)), {},
                   py::none(), py::none(), {}, {}};
  gamesolve::EntropySolutionView out;
  auto view = [](py::array_t<double>& a, py::ssize_t block) {
    return gamesolve::OutSeries{a.mutable_data(), static_cast<Index>(a.size()), static_cast<Index>(block), 0};
  };
  out.K = view(o.K, m * n);
  out.Sigma = view(o.Sigma, m * m);
  out.P = view(o.P, N * n * n);
  out.p = view(o.p, N);
  out.contraction = view(o.contraction, 1);
  out.status = o.status.mutable_data();
  out.status_size = T;
  py::gil_scoped_release release;
  o.report = gamesolve::solve_entropy_lq_game(data, out);
  return o;
}

EntropyOutcome solve(const std::vector<Index>& dims, const Arr& A, const Arr& B, const Arr& Q, const Arr& R,
                     const Arr& QT, const std::optional<Arr>& W, double tau, Index T) {
  return solve_data(entropy_data(dims, A, B, Q, R, QT, W, tau, T));
}

// gamesolve.entropy_lq_nash on raw arrays in one call: the game read and checked by the LQ reader
// (gamesolve_py::read_game: shapes, finiteness, symmetry, R^ii positive definite), the noise
// covariance read, the entropy-only rules (block-diagonal R, W symmetric positive semidefinite;
// what the reader checked is not checked again), then the solve unless a rule fails (`check`).
EntropyOutcome read_and_solve(py::handle A, py::handle B, py::handle Q, py::handle R, py::handle horizon,
                              py::handle QT, py::handle dims, py::handle W, double tau, double sym_rtol) {
  const py::handle none = py::none();
  gamesolve_py::ReadGame rg = gamesolve_py::read_game(A, B, Q, R, horizon, none, none, none, none, QT, none, dims,
                                                      false, sym_rtol);
  if (!rg.has_horizon) throw gamesolve::InputError("horizon is required when every array is time-invariant");
  gamesolve::EntropyLQData data;
  data.game = rg.g;
  data.tau = tau;
  const Index n = data.game.dims.n, T = data.game.T;
  py::object Wr = py::none();
  if (!W.is_none()) {
    Wr = gamesolve_py::read_noise_cov(W, n, T);
    const auto Wa = py::reinterpret_borrow<py::array>(Wr);
    data.W = {static_cast<const double*>(Wa.data()), static_cast<Index>(Wa.size()), Wa.ndim() == 3 ? n * n : 0, 0};
  }
  // The reader checked Q, QT and R (symmetric, finite, R^ii definite): the entropy-only rules are left.
  const gamesolve::EntropyCheck c = gamesolve::check_entropy_values(data, /*lq_checked=*/true);
  const gamesolve::LQGameData& lq = data.game;
  std::array<double, 6> scales{};
  const gamesolve::Series* arrays[] = {&lq.A, &lq.B, &lq.Q, &lq.R, &lq.QT, &data.W};
  for (std::size_t a = 0; a < scales.size(); ++a)
    scales[a] = arrays[a]->present() ? gamesolve::max_abs(arrays[a]->data, arrays[a]->size) : 0.0;
  EntropyOutcome o = c.code == gamesolve::kEntropyOk ? solve_data(data) : EntropyOutcome{};
  o.check = c;
  o.scales = scales;
  o.game = std::move(rg.values);
  o.noise_cov = std::move(Wr);
  return o;
}

}  // namespace

namespace gamesolve_py {

void bind_entropy(py::module_& m) {
  py::enum_<gamesolve::EntropyCheckCode>(m, "EntropyCheckCode", "The first failed entropy value check.")
      .value("ok", gamesolve::kEntropyOk)
      .value("Q_asymmetric", gamesolve::kQAsymmetric)
      .value("QT_asymmetric", gamesolve::kQTAsymmetric)
      .value("R_asymmetric", gamesolve::kRAsymmetric)
      .value("R_not_block_diagonal", gamesolve::kRNotBlockDiagonal)
      .value("R_own_not_pd", gamesolve::kROwnNotPD)
      .value("W_asymmetric", gamesolve::kWAsymmetric)
      .value("W_not_psd", gamesolve::kWNotPSD);

  py::class_<gamesolve::EntropyCheck>(m, "EntropyCheck", "Outcome of check_entropy_values.")
      .def_property_readonly("code", [](const gamesolve::EntropyCheck& c) { return gamesolve::EntropyCheckCode(c.code); })
      .def_readonly("t", &gamesolve::EntropyCheck::t, "stage of the failure (-1: QT or none)")
      .def_readonly("i", &gamesolve::EntropyCheck::i, "player of the failure (-1: none)");

  py::class_<EntropyOutcome>(m, "EntropyOutcome", "The outcome of entropy_solve: arrays and the core's report.")
      .def_readonly("K", &EntropyOutcome::K, "(T, m, n) mean gains")
      .def_readonly("Sigma", &EntropyOutcome::Sigma, "(T, m, m) block-diagonal covariances")
      .def_readonly("P", &EntropyOutcome::P, "(T+1, N, n, n) value matrices")
      .def_readonly("p", &EntropyOutcome::p, "(T+1, N) value constants")
      .def_readonly("contraction", &EntropyOutcome::contraction, "(T,) Lemma IV.1 factors")
      .def_readonly("status", &EntropyOutcome::status, "(T,) stage status (0 ok, 1 minimum-norm)")
      .def_property_readonly("assumption_holds", [](const EntropyOutcome& o) { return o.report.assumption_holds; })
      .def_property_readonly("gamma_B", [](const EntropyOutcome& o) { return o.report.gamma_B; })
      .def_property_readonly("gamma_P", [](const EntropyOutcome& o) { return o.report.gamma_P; })
      .def_property_readonly("bad_stage", [](const EntropyOutcome& o) { return o.report.bad_stage; })
      .def_property_readonly("bad_player", [](const EntropyOutcome& o) { return o.report.bad_player; })
      .def_property_readonly("min_norm_stages", [](const EntropyOutcome& o) { return o.report.core.min_norm_stages; })
      .def_property_readonly("nonfinite_stages",
                             [](const EntropyOutcome& o) { return o.report.core.nonfinite_stages; })
      .def_property_readonly("min_rcond", [](const EntropyOutcome& o) { return o.report.core.min_rcond; })
      .def_readonly("game", &EntropyOutcome::game, "read_and_solve_entropy: the LQGame's fields (a dict)")
      .def_readonly("noise_cov", &EntropyOutcome::noise_cov, "read_and_solve_entropy: the noise covariance read")
      .def_readonly("check", &EntropyOutcome::check,
                    "read_and_solve_entropy: the entropy rules' check (not ok: nothing was solved)")
      .def_property_readonly(
          "finite",
          [](const EntropyOutcome& o) {
            const double* p0 = o.p.data();
            for (py::ssize_t i = 0; i < o.p.shape(1); ++i)
              if (!std::isfinite(p0[i])) return false;
            return o.report.core.nonfinite_stages == 0;
          },
          "no non-finite stage and a finite p_0 (non-finite numbers always reach one of them)")
      .def_property_readonly(
          "sigma_positive",
          [](const EntropyOutcome& o) {
            const double* S = o.Sigma.data();
            const py::ssize_t T = o.Sigma.shape(0), m = o.Sigma.shape(1);
            for (py::ssize_t t = 0; t < T; ++t)
              for (py::ssize_t j = 0; j < m; ++j)
                if (!(S[(t * m + j) * m + j] > 0.0)) return false;
            return true;
          },
          "every diagonal entry of every Sigma_t is > 0 (no covariance underflowed)")
      .def_readonly("scales", &EntropyOutcome::scales,
                    "read_and_solve_entropy: max |x| of A, B, Q, R, QT, noise_cov (0: no noise_cov)");

  m.def("entropy_solve", &solve, py::arg("dims"), py::arg("A"), py::arg("B"), py::arg("Q"), py::arg("R"),
        py::arg("QT"), py::arg("W").none(true), py::arg("tau"), py::arg("T"),
        "solve_entropy_lq_game on a validated game: A (n,n), B stacked (n,m), Q (N,n,n), R joint (N,m,m), W (n,n) "
        "or None, each optionally with a leading time axis of length T or 1; QT (N,n,n). Returns an "
        "EntropyOutcome.");
  m.def("read_and_solve_entropy", &read_and_solve, py::arg("A"), py::arg("B"), py::arg("Q"), py::arg("R"),
        py::arg("horizon").none(true), py::arg("QT").none(true), py::arg("dims").none(true),
        py::arg("W").none(true), py::arg("tau"), py::arg("sym_rtol"),
        "gamesolve.entropy_lq_nash on raw arrays: read_lq_game's reading and checks, noise_cov read, the "
        "entropy-only rules, then the solve unless .check fails. An EntropyOutcome with .game and .noise_cov.");
  m.def(
      "entropy_check",
      [](const std::vector<Index>& dims, const Arr& A, const Arr& B, const Arr& Q, const Arr& R, const Arr& QT,
         const std::optional<Arr>& W, Index T, bool lq_checked) {
        return gamesolve::check_entropy_values(entropy_data(dims, A, B, Q, R, QT, W, 1.0, T), lq_checked);
      },
      py::arg("dims"), py::arg("A"), py::arg("B"), py::arg("Q"), py::arg("R"), py::arg("QT"), py::arg("W").none(true),
      py::arg("T"), py::arg("lq_checked") = false,
      "check_entropy_values on the arrays of entropy_solve: an EntropyCheck. lq_checked: the data passed "
      "gamesolve.lq_game's checks (Q, QT, R symmetric and finite, R^ii definite), so only the entropy-specific "
      "rules (R block-diagonal, W) are left to check.");
}

}  // namespace gamesolve_py
