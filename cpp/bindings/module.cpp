// The private extension gamesolve._core: one PYBIND11_MODULE, one call per feature.
// CMake builds it once per ISA level under the name GAMESOLVE_PY_MODULE (_core_v1,
// _core_v3, _core_v4 or _core_native); gamesolve/_cpu.py imports the best one as _core.
#include "bindings.hpp"
#include "gamesolve/check.hpp"
#include "gamesolve/markov.hpp"

#ifndef GAMESOLVE_PY_MODULE
#define GAMESOLVE_PY_MODULE _core
#endif

PYBIND11_MODULE(GAMESOLVE_PY_MODULE, m) {
  m.doc() = "gamesolve private C++ core (use the gamesolve package, not this module)";
  // gamesolve::InputError (bad input data, cpp/include/gamesolve/check.hpp) -> gamesolve.InputError.
  pybind11::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const gamesolve::InputError& e) {
      pybind11::object cls = pybind11::module_::import("gamesolve.errors").attr("InputError");
      PyErr_SetString(cls.ptr(), e.what());
    } catch (const gamesolve::markov::PolicyIterationError& e) {
      pybind11::object cls = pybind11::module_::import("gamesolve.errors").attr("SolveError");
      PyErr_SetString(cls.ptr(), e.what());
    }
  });
  gamesolve_py::bind_lq_game(m);
  gamesolve_py::bind_entropy(m);
  gamesolve_py::bind_lq_nash(m);
  gamesolve_py::bind_rollout(m);
  gamesolve_py::bind_markov(m);
}
