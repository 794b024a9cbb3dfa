// The private extension gamesolve._core: one PYBIND11_MODULE, one call per feature.
#include "bindings.hpp"

PYBIND11_MODULE(_core, m) {
  m.doc() = "gamesolve private C++ core (use the gamesolve package, not this module)";
  gamesolve_py::bind_lq_game(m);
  gamesolve_py::bind_entropy(m);
  gamesolve_py::bind_lq_nash(m);
  gamesolve_py::bind_rollout(m);
}
