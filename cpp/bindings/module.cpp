// The private extension gamesolve._core: one PYBIND11_MODULE, one call per feature.
#include "bindings.hpp"
#include "gamesolve/check.hpp"

PYBIND11_MODULE(_core, m) {
  m.doc() = "gamesolve private C++ core (use the gamesolve package, not this module)";
  // gamesolve::InputError (bad input data, cpp/include/gamesolve/check.hpp) -> gamesolve.InputError.
  pybind11::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const gamesolve::InputError& e) {
      pybind11::object cls = pybind11::module_::import("gamesolve.errors").attr("InputError");
      PyErr_SetString(cls.ptr(), e.what());
    }
  });
  gamesolve_py::bind_lq_game(m);
  gamesolve_py::bind_entropy(m);
  gamesolve_py::bind_lq_nash(m);
  gamesolve_py::bind_rollout(m);
}
