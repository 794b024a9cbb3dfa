// Bindings of the Markov-game kernel (cpp/include/gamesolve/markov.hpp, docs/markov.md).
//
// gamesolve.markov validates the game once (MarkovGame) and builds one MarkovKernel per game
// (cached on its joint layout); the kernel copies the arrays it is given. Profiles and
// parameters are padded stacks (B, N, S, A_max), float64 C-contiguous; every method releases
// the GIL and returns fresh arrays.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "bindings.hpp"
#include "gamesolve/markov.hpp"

namespace py = pybind11;

namespace {

using gamesolve::Index;
using gamesolve::markov::Kernel;
using Arr = py::array_t<double, py::array::c_style | py::array::forcecast>;

std::vector<double> copy_array(const char* name, const Arr& a, py::ssize_t size) {
  if (a.size() != size)
    throw std::invalid_argument(std::string(name) + " must hold " + std::to_string(size) + " values, got " +
                                std::to_string(a.size()));
  return std::vector<double>(a.data(), a.data() + a.size());
}

/// The batch size B of a padded stack (B, N, S, A_max) of this kernel's game.
py::ssize_t batch_of(const char* name, const Kernel& k, const Arr& x) {
  if (x.ndim() != 4 || x.shape(1) != k.players() || x.shape(2) != k.states() || x.shape(3) != k.max_actions())
    throw std::invalid_argument(std::string(name) + " must have shape (B, N, S, A_max) = (B, " +
                                std::to_string(k.players()) + ", " + std::to_string(k.states()) + ", " +
                                std::to_string(k.max_actions()) + ")");
  return x.shape(0);
}

std::unique_ptr<Kernel> make_kernel(const Arr& P, const Arr& r, const Arr& mu, const std::vector<Index>& actions,
                                    double gamma) {
  gamesolve::markov::MarkovGameData g;
  g.actions = actions;
  g.S = static_cast<Index>(mu.size());
  Index A = 1;
  for (Index a : actions) A *= a;
  const py::ssize_t S = g.S, N = static_cast<py::ssize_t>(actions.size());
  g.P = copy_array("P", P, S * A * S);
  g.r = copy_array("r", r, N * S * A);
  g.mu = copy_array("mu", mu, S);
  g.gamma = gamma;
  return std::make_unique<Kernel>(g);
}

py::tuple learn(const Kernel& k, const Arr& theta0, int method, Index iterations, double step, double lam,
                Index inner_steps, double optimum) {
  if (method < 0 || method > 2) throw std::invalid_argument("method must be 0 (pg), 1 (npg) or 2 (npg-br)");
  const py::ssize_t B = batch_of("theta0", k, theta0);
  gamesolve::markov::LearnOptions o;
  o.method = static_cast<gamesolve::markov::Method>(method);
  o.iterations = iterations;
  o.step = step;
  o.lam = lam;
  o.inner_steps = inner_steps;
  o.optimum = optimum;
  if (iterations < 0) throw std::invalid_argument("iterations must be non-negative");
  py::array_t<double> theta({B, theta0.shape(1), theta0.shape(2), theta0.shape(3)});
  py::array_t<double> pol({B, theta0.shape(1), theta0.shape(2), theta0.shape(3)});
  const py::ssize_t T1 = static_cast<py::ssize_t>(iterations + 1);
  py::array_t<double> gaps({B, T1}), poa({B, T1});
  std::copy(theta0.data(), theta0.data() + theta0.size(), theta.mutable_data());
  double *th = theta.mutable_data(), *p = pol.mutable_data(), *g = gaps.mutable_data(), *q = poa.mutable_data();
  {
    py::gil_scoped_release release;
    k.learn(o, B, th, p, g, q);
  }
  return py::make_tuple(theta, pol, gaps, poa);
}

py::tuple player_gains(const Kernel& k, const Arr& pol) {
  const py::ssize_t B = batch_of("pol", k, pol);
  const py::ssize_t N = k.players();
  py::array_t<double> gains({B, N}), values({B, N});
  double *g = gains.mutable_data(), *v = values.mutable_data();
  {
    py::gil_scoped_release release;
    k.player_gains(B, pol.data(), g, v);
  }
  return py::make_tuple(gains, values);
}

py::tuple evaluate(const Kernel& k, const Arr& pol) {
  const py::ssize_t B = batch_of("pol", k, pol), N = k.players(), S = k.states(), Am = k.max_actions();
  gamesolve::markov::Evaluation ev;
  {
    py::gil_scoped_release release;
    ev = k.evaluate(B, pol.data());
  }
  auto out = [](const std::vector<double>& x, std::vector<py::ssize_t> shape) {
    py::array_t<double> a(shape);
    std::copy(x.begin(), x.end(), a.mutable_data());
    return a;
  };
  return py::make_tuple(out(ev.V, {B, N, S}), out(ev.value, {B, N}), out(ev.adv, {B, N, S, Am}), out(ev.d, {B, S}));
}

}  // namespace

namespace gamesolve_py {

void bind_markov(py::module_& m) {
  using py::arg;
  py::class_<Kernel>(m, "MarkovKernel",
                     "A finite Markov game prepared for exact evaluation and the softmax learners: P (S, A, S), "
                     "r (N, S, A), mu (S,), the action counts A_i and gamma (validated by gamesolve.markov).")
      .def(py::init(&make_kernel), arg("P"), arg("r"), arg("mu"), arg("actions"), arg("gamma"))
      .def("learn", &learn,
           "Run a learner (method 0 pg, 1 npg, 2 npg-br) from theta0 (B, N, S, A_max) for `iterations` updates; "
           "returns (theta, policies, nash_gap (B, T+1), poa (B, T+1)).",
           arg("theta0"), arg("method"), arg("iterations"), arg("step"), arg("lam"), arg("inner_steps"),
           arg("optimum"))
      .def("player_gains", &player_gains,
           "Best-response gains (B, N) and values V^i(mu) (B, N) of policies (B, N, S, A_max).", arg("pol"))
      .def("evaluate", &evaluate,
           "V (B, N, S), V^i(mu) (B, N), advantages (B, N, S, A_max) and visitation d_mu (B, S) of policies "
           "(B, N, S, A_max).",
           arg("pol"));
}

}  // namespace gamesolve_py
