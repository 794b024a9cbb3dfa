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

// ---- Fast path (python/gamesolve/lq.py): plain arrays read in place, no conversion.

// A C-contiguous, aligned, native float64 numpy.ndarray (exactly that type, no
// subclass) with no empty axis: its buffer is read where it is. Anything else
// makes the fast path decline (the general path converts and validates it).
struct Plain {
  const double* data = nullptr;
  int nd = 0;
  const py::ssize_t* shape = nullptr;
  py::ssize_t size = 0;
  bool present() const { return data != nullptr; }
  py::ssize_t dim(int i) const { return shape[i < 0 ? nd + i : i]; }  // i < 0 counts from the end
};

inline bool as_plain(py::handle h, Plain& out) {
  const auto& api = py::detail::npy_api::get();
  if (Py_TYPE(h.ptr()) != api.PyArray_Type_) return false;
  const auto* a = py::detail::array_proxy(h.ptr());
  const auto* d = py::detail::array_descriptor_proxy(a->descr);
  constexpr int need = py::detail::npy_api::NPY_ARRAY_C_CONTIGUOUS_ | py::detail::npy_api::NPY_ARRAY_ALIGNED_;
  if (d->type_num != py::detail::npy_api::NPY_DOUBLE_ || d->byteorder != '=' || (a->flags & need) != need)
    return false;
  py::ssize_t size = 1;
  for (int i = 0; i < a->nd; ++i) {
    if (a->dimensions[i] < 1) return false;
    size *= a->dimensions[i];
  }
  out.data = reinterpret_cast<const double*>(a->data);
  out.nd = a->nd;
  out.shape = a->dimensions;
  out.size = size;
  return true;
}

// An optional plain array: None, or as_plain. False means "decline".
inline bool as_plain_opt(py::handle h, Plain& out) { return h.is_none() || as_plain(h, out); }

// A Python int (exactly int, not bool) >= 1.
inline bool as_positive_int(py::handle h, py::ssize_t& v) {
  if (!PyLong_CheckExact(h.ptr())) return false;
  v = PyLong_AsSsize_t(h.ptr());
  if (v == -1 && PyErr_Occurred()) {
    PyErr_Clear();
    return false;
  }
  return v >= 1;
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
