// Gaussian elimination on contiguous rows (cpp/src/small_solve.hpp): solutions and
// the exact 1-norm condition number against Eigen, in both layouts the library
// uses, for sizes around the vector width; singular systems report 0.
#include "small_solve.hpp"

#include <Eigen/LU>

#include <limits>
#include <random>
#include <vector>

#include "check.hpp"

using gamesolve::Index;
using gamesolve::Mat;
using gamesolve::detail::eliminate;
using gamesolve::detail::padded;

namespace {

// S X = Y with S (m x m), Y (m x r): rows of [S | Y] at rows + i * ld.
double solve_rows(const Mat& S, const Mat& Y, Mat& X, bool with_inverse, Mat* inv = nullptr) {
  const Index m = S.rows(), r = Y.cols(), pm = padded(m), ld = pm + padded(r);
  std::vector<double> rows(static_cast<std::size_t>(m * ld), 7.0), E(static_cast<std::size_t>(m * pm), 3.0);
  for (Index i = 0; i < m; ++i) {
    for (Index c = 0; c < pm; ++c) rows[i * ld + c] = c < m ? S(i, c) : 0.0;  // padding must be zero
    for (Index c = 0; c < ld - pm; ++c) rows[i * ld + pm + c] = c < r ? Y(i, c) : 0.0;
  }
  const double rc = eliminate(rows.data(), m, pm, ld, with_inverse ? E.data() : nullptr);
  X.resize(m, r);
  for (Index i = 0; i < m; ++i)
    for (Index c = 0; c < r; ++c) X(i, c) = rows[i * ld + pm + c];
  if (inv) {
    inv->resize(m, m);
    for (Index i = 0; i < m; ++i)
      for (Index c = 0; c < m; ++c) (*inv)(i, c) = E[i * pm + c];
  }
  return rc;
}

double exact_rcond(const Mat& S) {
  const Mat Si = S.fullPivLu().inverse();
  return 1.0 / (S.cwiseAbs().colwise().sum().maxCoeff() * Si.cwiseAbs().colwise().sum().maxCoeff());
}

}  // namespace

int main() {
  std::mt19937 gen(7);
  std::normal_distribution<double> nd;
  auto randn = [&](Index r, Index c) {
    Mat X(r, c);
    for (Index j = 0; j < c; ++j)
      for (Index i = 0; i < r; ++i) X(i, j) = nd(gen);
    return X;
  };
  for (Index m : {1, 2, 3, 6, 7, 8, 9, 13, 17}) {
    for (Index r : {1, 5, 8, 12, 24}) {
      const Mat S = randn(m, m) + 0.5 * Mat::Identity(m, m), Y = randn(m, r);
      const Mat want = S.fullPivLu().solve(Y);
      Mat X, inv;
      const double rc = solve_rows(S, Y, X, true, &inv);
      CHECK((X - want).norm() <= 1e-10 * want.norm());
      CHECK((inv - S.inverse()).norm() <= 1e-10 * inv.norm());
      CHECK(std::fabs(rc - exact_rcond(S)) <= 1e-9 * exact_rcond(S));
      Mat X2;
      CHECK(solve_rows(S, Y, X2, false) == 1.0);
      CHECK((X2 - X).norm() == 0.0);  // the inverse does not change the solution
    }
  }
  {  // subnormal pivots: rows are divided by U(i, i) (its reciprocal would overflow)
    Mat S(2, 2);
    S << 3e-310, 0.0, 0.0, 2.0;
    Mat Y(2, 2), X;
    Y << 6e-310, 3e-310, 4.0, 1.0;
    solve_rows(S, Y, X, false);
    CHECK(X(0, 0) == 2.0 && X(0, 1) == 1.0 && X(1, 0) == 2.0 && X(1, 1) == 0.5);
  }
  {  // pivoting: a zero leading entry
    Mat S(2, 2);
    S << 0.0, 1.0, 1.0, 0.0;
    Mat Y(2, 1), X;
    Y << 2.0, 3.0;
    CHECK(solve_rows(S, Y, X, true) == 1.0);
    CHECK(X(0, 0) == 3.0 && X(1, 0) == 2.0);
  }
  {  // exactly singular, and an inverse that overflows: rcond 0
    Mat S = Mat::Ones(3, 3), Y = Mat::Ones(3, 2), X;
    CHECK(solve_rows(S, Y, X, true) == 0.0);
    CHECK(solve_rows(S, Y, X, false) == 0.0);
    Mat T = Mat::Identity(2, 2);
    T(1, 1) = 1e-320;
    CHECK(solve_rows(T, Mat::Ones(2, 1), X, true) == 0.0);
    CHECK(solve_rows(Mat::Zero(2, 2), Mat::Ones(2, 1), X, true) == 0.0);
    Mat U(2, 2);  // the overflow meets a zero multiplier: 0 * inf = NaN in row 0
    U << 1.0, 0.0, 0.0, 1e-320;
    CHECK(solve_rows(U, Mat::Ones(2, 1), X, true) == 0.0);
    Mat V = Mat::Identity(2, 2);
    V(0, 1) = std::numeric_limits<double>::quiet_NaN();
    CHECK(solve_rows(V, Mat::Ones(2, 1), X, true) == 0.0);
  }
  return gscheck::finish("test_small_solve");
}
