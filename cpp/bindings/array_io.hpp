// numpy <-> core array plumbing shared by the binding files.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <optional>
#include <string>
#include <vector>

#include "gamesolve/lq_game.hpp"

namespace gamesolve_py {

namespace py = pybind11;
using CArray = py::array_t<double, py::array::c_style | py::array::forcecast>;

// An input of shape (Bb, Tt, *block) with Bb in {1, batch} and Tt in {1, T}
// (size-1 axes broadcast). Checks the block shape; returns a core Series.
inline gamesolve::Series as_series(const char* name, const std::optional<CArray>& a,
                                   const std::vector<py::ssize_t>& block, py::ssize_t T, py::ssize_t batch) {
  gamesolve::Series s;
  if (!a) return s;
  const CArray& x = *a;
  const py::ssize_t nd = static_cast<py::ssize_t>(block.size()) + 2;
  auto shape_str = [&]() {
    std::string r = "(";
    for (py::ssize_t i = 0; i < x.ndim(); ++i) r += (i ? ", " : "") + std::to_string(x.shape(i));
    return r + ")";
  };
  if (x.ndim() != nd)
    throw std::invalid_argument(std::string(name) + ": expected " + std::to_string(nd) +
                                " axes (batch, time, block...), got shape " + shape_str());
  for (std::size_t i = 0; i < block.size(); ++i)
    if (x.shape(static_cast<py::ssize_t>(i) + 2) != block[i])
      throw std::invalid_argument(std::string(name) + ": block shape mismatch, got " + shape_str());
  const py::ssize_t Bb = x.shape(0), Tt = x.shape(1);
  if (!(Bb == 1 || Bb == batch) || !(Tt == 1 || Tt == T))
    throw std::invalid_argument(std::string(name) + ": leading axes must be 1 or (batch, T), got " + shape_str());
  py::ssize_t blk = 1;
  for (auto v : block) blk *= v;
  s.data = x.data();
  s.size = static_cast<gamesolve::Index>(x.size());
  s.t_stride = (Tt == 1) ? 0 : blk;
  s.b_stride = (Bb == 1) ? 0 : Tt * blk;
  return s;
}

inline gamesolve::OutSeries as_out(py::array_t<double>& x, py::ssize_t t_block) {
  gamesolve::OutSeries s;
  s.data = x.mutable_data();
  s.size = static_cast<gamesolve::Index>(x.size());
  s.t_stride = t_block;
  s.b_stride = x.ndim() > 1 ? x.strides(0) / static_cast<py::ssize_t>(sizeof(double)) : 0;
  return s;
}

}  // namespace gamesolve_py
