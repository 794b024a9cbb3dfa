// Bindings of the closed-loop rollout kernel (cpp/include/gamesolve/rollout.hpp).
#include <pybind11/stl.h>

#include <tuple>

#include "array_io.hpp"
#include "bindings.hpp"
#include "gamesolve/rollout.hpp"

namespace gamesolve_py {

namespace {

using gamesolve::Index;
using BlockSpec = std::tuple<int, Index, Index, double, double>;  // kind, count, dim, dt, gain

void check_shape(const char* name, const CArray& a, const std::vector<py::ssize_t>& want) {
  bool ok = a.ndim() == static_cast<py::ssize_t>(want.size());
  for (std::size_t i = 0; ok && i < want.size(); ++i) ok = a.shape(static_cast<py::ssize_t>(i)) == want[i];
  if (!ok) {
    std::string w = "(", g = "(";
    for (std::size_t i = 0; i < want.size(); ++i) w += (i ? ", " : "") + std::to_string(want[i]);
    for (py::ssize_t i = 0; i < a.ndim(); ++i) g += (i ? ", " : "") + std::to_string(a.shape(i));
    throw std::invalid_argument(std::string(name) + " must have shape " + w + "), got " + g + ")");
  }
}

py::tuple rollout(const std::vector<BlockSpec>& spec, const CArray& x0, const CArray& xs, const CArray& us,
                  const CArray& K, const CArray& k, const CArray& alpha) {
  std::vector<gamesolve::ModelBlock> blocks;
  for (const auto& [kind, count, dim, dt, gain] : spec)
    blocks.push_back({static_cast<gamesolve::ModelKind>(kind), count, dim, dt, gain});
  const gamesolve::JointModel f = gamesolve::make_joint_model(std::move(blocks));
  if (alpha.ndim() != 2) throw std::invalid_argument("alpha must have shape (C, B)");
  if (us.ndim() != 3) throw std::invalid_argument("us must have shape (B, T, m)");
  const py::ssize_t C = alpha.shape(0), B = alpha.shape(1), T = us.shape(1), n = f.n, m = f.m;
  check_shape("x0", x0, {B, n});
  check_shape("xs", xs, {B, T + 1, n});
  check_shape("us", us, {B, T, m});
  check_shape("K", K, {B, T, m, n});
  check_shape("k", k, {B, T, m});
  py::array_t<double> X({C, B, T + 1, n}), U({C, B, T, m});
  double* Xp = X.mutable_data();
  double* Up = U.mutable_data();
  {
    py::gil_scoped_release release;
    gamesolve::rollout_feedback(f, T, C, B, x0.data(), xs.data(), us.data(), K.data(), k.data(), alpha.data(), Xp,
                                Up);
  }
  return py::make_tuple(X, U);
}

}  // namespace

void bind_rollout(py::module_& m) {
  using py::arg;
  m.def("rollout_feedback", &rollout,
        "Closed-loop rollouts u_t = us_t - alpha k_t - K_t (x_t - xs_t) of built-in dynamics given as blocks "
        "(kind 0 unicycle / 1 double integrator / 2 bicycle, count, dim, dt, gain). x0 (B, n), xs (B, T+1, n), "
        "us (B, T, m), K (B, T, m, n), k (B, T, m), alpha (C, B); returns X (C, B, T+1, n), U (C, B, T, m).",
        arg("blocks"), arg("x0"), arg("xs"), arg("us"), arg("K"), arg("k"), arg("alpha"));
}

}  // namespace gamesolve_py
