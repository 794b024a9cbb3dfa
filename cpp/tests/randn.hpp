// Seeded standard-normal matrices for the C++ tests.
#pragma once
#include <Eigen/Core>
#include <random>

namespace gscheck {
/// An r x c matrix of independent N(0, 1) draws from g (column by column).
inline Eigen::MatrixXd randn(Eigen::Index r, Eigen::Index c, std::mt19937& g) {
  std::normal_distribution<double> d;
  Eigen::MatrixXd X(r, c);
  for (Eigen::Index i = 0; i < X.size(); ++i) X.data()[i] = d(g);
  return X;
}
}  // namespace gscheck
