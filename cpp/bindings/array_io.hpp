// numpy <-> core array plumbing shared by the binding files.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <vector>

#include "gamesolve/lq_game.hpp"

namespace gamesolve_py {

namespace py = pybind11;
// Inputs converted for the core: C-contiguous, float64 and aligned (an unaligned float64
// buffer, e.g. a view at an odd byte offset, is copied: the core loads doubles from it).
constexpr int kInFlags = py::array::c_style | py::array::forcecast | py::detail::npy_api::NPY_ARRAY_ALIGNED_;
using CArray = py::array_t<double, kInFlags>;

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
// subclass) with no empty axis and at most kMaxNd axes: its buffer is read where
// it is. Anything else makes the fast path decline (the general path converts
// and validates it). A Plain may also describe a buffer the fast path assembled
// (stacked B blocks, joint R from own-control blocks).
constexpr int kMaxNd = 8;
struct Plain {
  const double* data = nullptr;
  int nd = 0;
  std::array<py::ssize_t, kMaxNd> shape{};
  py::ssize_t size = 0;
  bool present() const { return data != nullptr; }
  py::ssize_t dim(int i) const { return shape[static_cast<std::size_t>(i < 0 ? nd + i : i)]; }  // i < 0: from the end
  // The leading axes before the last `k` agree with those of `o` before its last `ko`.
  bool same_lead(int k, const Plain& o, int ko) const {
    if (nd - k != o.nd - ko) return false;
    for (int i = 0; i < nd - k; ++i)
      if (shape[static_cast<std::size_t>(i)] != o.shape[static_cast<std::size_t>(i)]) return false;
    return true;
  }
};

inline bool as_plain(py::handle h, Plain& out) {
  const auto& api = py::detail::npy_api::get();
  if (Py_TYPE(h.ptr()) != api.PyArray_Type_) return false;
  const auto* a = py::detail::array_proxy(h.ptr());
  const auto* d = py::detail::array_descriptor_proxy(a->descr);
  constexpr int need = py::detail::npy_api::NPY_ARRAY_C_CONTIGUOUS_ | py::detail::npy_api::NPY_ARRAY_ALIGNED_;
  if (d->type_num != py::detail::npy_api::NPY_DOUBLE_ || d->byteorder != '=' || (a->flags & need) != need ||
      a->nd > kMaxNd)
    return false;
  py::ssize_t size = 1;
  for (int i = 0; i < a->nd; ++i) {
    if (a->dimensions[i] < 1) return false;
    size *= a->dimensions[i];
    out.shape[static_cast<std::size_t>(i)] = a->dimensions[i];
  }
  out.data = reinterpret_cast<const double*>(a->data);
  out.nd = a->nd;
  out.size = size;
  return true;
}

// A list or tuple (exactly) of plain arrays.
inline bool as_plain_list(py::handle h, std::vector<Plain>& out) {
  PyObject* o = h.ptr();
  const bool is_list = PyList_CheckExact(o);
  if (!is_list && !PyTuple_CheckExact(o)) return false;
  const py::ssize_t k = is_list ? PyList_GET_SIZE(o) : PyTuple_GET_SIZE(o);
  if (k < 1) return false;
  out.resize(static_cast<std::size_t>(k));
  for (py::ssize_t i = 0; i < k; ++i)
    if (!as_plain(is_list ? PyList_GET_ITEM(o, i) : PyTuple_GET_ITEM(o, i), out[static_cast<std::size_t>(i)]))
      return false;
  return true;
}

// A fresh numpy array of the first `nd` axes of `shape`, described by `out`.
inline py::array_t<double> new_plain(const std::array<py::ssize_t, kMaxNd>& shape, int nd, Plain& out) {
  py::array_t<double> a(std::vector<py::ssize_t>(shape.begin(), shape.begin() + nd));
  out.data = a.data();
  out.nd = nd;
  out.shape = shape;
  out.size = a.size();
  return a;
}

// validate.split_inputs for a list of B blocks (n, m_i) with equal leading axes: their
// concatenation along the last axis, a new array (described by `out`); `widths` gets the m_i.
inline py::object concat_blocks(const std::vector<Plain>& blocks, Plain& out, std::vector<gamesolve::Index>& widths) {
  const Plain& b0 = blocks[0];
  py::ssize_t W = 0;
  widths.clear();
  for (const Plain& b : blocks) {
    if (b.nd < 2 || !b.same_lead(1, b0, 1) || b.dim(-1) < 1) return py::none();
    widths.push_back(b.dim(-1));
    W += b.dim(-1);
  }
  std::array<py::ssize_t, kMaxNd> shape = b0.shape;
  shape[static_cast<std::size_t>(b0.nd - 1)] = W;
  py::array_t<double> a = new_plain(shape, b0.nd, out);
  double* dst = a.mutable_data();
  const py::ssize_t rows = b0.size / b0.dim(-1);
  py::ssize_t off = 0;
  for (const Plain& b : blocks) {
    const py::ssize_t w = b.dim(-1);
    for (py::ssize_t r = 0; r < rows; ++r) std::copy_n(b.data + r * w, w, dst + r * W + off);
    off += w;
  }
  return std::move(a);
}

// lq._normalize_R for N blocks (..., k_i, k_i) with `lead` leading entries: joint weights
// (all k_i == m) are stacked, own-control weights (k_i == m_i) embedded into zeros; the
// result (..., N, m, m) is written to `dst` (lead * N * m * m doubles). src[i] = (player
// i's first block, the distance in doubles between its consecutive blocks).
inline void assemble_R(const std::vector<std::pair<const double*, py::ssize_t>>& src, py::ssize_t lead,
                       const std::vector<gamesolve::Index>& dims, bool joint, double* dst) {
  const py::ssize_t N = static_cast<py::ssize_t>(dims.size());
  py::ssize_t m = 0;
  for (auto d : dims) m += d;
  std::fill_n(dst, lead * N * m * m, 0.0);
  for (py::ssize_t l = 0; l < lead; ++l) {
    py::ssize_t off = 0;
    for (py::ssize_t i = 0; i < N; ++i) {
      const py::ssize_t k = joint ? m : dims[static_cast<std::size_t>(i)], o = joint ? 0 : off;
      const double* from = src[static_cast<std::size_t>(i)].first + l * src[static_cast<std::size_t>(i)].second;
      double* to = dst + (l * N + i) * m * m + o * m + o;
      for (py::ssize_t a = 0; a < k; ++a) std::copy_n(from + a * k, k, to + a * m);
      off += dims[static_cast<std::size_t>(i)];
    }
  }
}

// An optional plain array: None, or as_plain. False means "decline".
/// The total control size m = sum(dims) of a fast path: false (decline) unless
/// every m_i >= 1 and m <= gamesolve::kMaxSize, so that no size product (N m m, ...)
/// can overflow; the general path then reports what is wrong.
inline bool control_total(const std::vector<gamesolve::Index>& dims, gamesolve::Index& m) {
  m = 0;
  for (gamesolve::Index d : dims) {
    if (d < 1 || d > gamesolve::kMaxSize - m) return false;
    m += d;
  }
  return !dims.empty();
}

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

// A list / tuple (exactly) of positive Python ints.
inline bool read_dims(py::handle h, std::vector<gamesolve::Index>& dims) {
  PyObject* d = h.ptr();
  const bool is_list = PyList_CheckExact(d);
  if (!is_list && !PyTuple_CheckExact(d)) return false;
  const py::ssize_t k = is_list ? PyList_GET_SIZE(d) : PyTuple_GET_SIZE(d);
  if (k < 1) return false;
  dims.clear();
  for (py::ssize_t i = 0; i < k; ++i) {
    py::ssize_t v;
    if (!as_positive_int(is_list ? PyList_GET_ITEM(d, i) : PyTuple_GET_ITEM(d, i), v)) return false;
    dims.push_back(v);
  }
  return true;
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
