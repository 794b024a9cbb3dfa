// Declarations of the per-feature binding functions; module.cpp calls each once.
#pragma once
#include <pybind11/pybind11.h>

namespace gamesolve_py {
void bind_lq_game(pybind11::module_& m);
void bind_entropy(pybind11::module_& m);  // entropy-regularized LQ games ([theory §4])
void bind_lq_nash(pybind11::module_& m);  // issue 3
void bind_rollout(pybind11::module_& m);  // closed-loop rollouts of built-in dynamics (iLQGames, [theory §6])
}  // namespace gamesolve_py
