// C++ tests of the closed-loop rollout kernel (gamesolve/rollout.hpp) against hand-written model
// equations: one step of each model, and a rollout whose feedback is checked stage by stage.
#include <cmath>
#include <stdexcept>
#include <vector>

#include "check.hpp"
#include "gamesolve/rollout.hpp"

using gamesolve::Index;
using gamesolve::ModelBlock;
using gamesolve::ModelKind;

namespace {

void test_model_steps() {
  // unicycle (gain 2) | double integrator in 2-D (gain 5) | bicycle (wheelbase 2.5), dt = 0.1
  auto f = gamesolve::make_joint_model({{ModelKind::kUnicycle, 1, 2, 0.1, 2.0},
                                        {ModelKind::kDoubleIntegrator, 1, 2, 0.1, 5.0},
                                        {ModelKind::kBicycle, 1, 2, 0.1, 2.5}});
  CHECK(f.n == 12 && f.m == 6);
  const std::vector<double> x = {1.0, 2.0, 0.5, 0.3, 1.0, 2.0, 3.0, 4.0, -1.0, 0.5, 0.7, 1.5};
  const std::vector<double> u = {0.2, -0.4, 0.5, -1.0, 0.3, 0.2};
  std::vector<double> out(12);
  gamesolve::model_step(f, x.data(), u.data(), out.data());
  const double want[12] = {1 + 0.1 * 0.5 * std::cos(0.3), 2 + 0.1 * 0.5 * std::sin(0.3), 0.5 + 2 * 0.1 * 0.2,
                           0.3 - 0.1 * 0.4, 1.3, 2.4, 3.25, 3.5,
                           -1 + 0.1 * 1.5 * std::cos(0.7), 0.5 + 0.1 * 1.5 * std::sin(0.7),
                           0.7 + 0.1 * 1.5 * std::tan(0.2) / 2.5, 1.5 + 0.1 * 0.3};
  for (int j = 0; j < 12; ++j) CHECK_NEAR(out[j], want[j], 1e-15);
}

void test_feedback_rollout() {
  auto f = gamesolve::make_joint_model({{ModelKind::kUnicycle, 2, 2, 0.1, 2.0}});
  const Index n = 8, m = 4, T = 3, B = 1, C = 2;
  std::vector<double> x0(n), xs((T + 1) * n), us(T * m), K(T * m * n), k(T * m), alpha = {1.0, 0.25};
  for (Index i = 0; i < n; ++i) x0[i] = 0.1 * double(i + 1);
  for (Index i = 0; i < (T + 1) * n; ++i) xs[i] = 0.05 * double(i % 7);
  for (Index i = 0; i < T * m; ++i) us[i] = 0.1 * double(i % 5) - 0.2, k[i] = 0.3 - 0.05 * double(i);
  for (Index i = 0; i < T * m * n; ++i) K[i] = 0.01 * double((i * 7) % 11) - 0.05;
  std::vector<double> X(C * B * (T + 1) * n), U(C * B * T * m);
  gamesolve::rollout_feedback(f, T, C, B, x0.data(), xs.data(), us.data(), K.data(), k.data(), alpha.data(),
                              X.data(), U.data());
  for (Index c = 0; c < C; ++c) {
    std::vector<double> x = x0, nxt(n), u(m);
    for (Index t = 0; t < T; ++t) {
      for (Index i = 0; i < n; ++i) CHECK_NEAR(X[(c * (T + 1) + t) * n + i], x[i], 1e-14);
      for (Index i = 0; i < m; ++i) {
        double acc = us[t * m + i] - alpha[c] * k[t * m + i];
        for (Index j = 0; j < n; ++j) acc -= K[(t * m + i) * n + j] * (x[j] - xs[t * n + j]);
        u[i] = acc;
        CHECK_NEAR(U[(c * T + t) * m + i], acc, 1e-14);
      }
      gamesolve::model_step(f, x.data(), u.data(), nxt.data());
      x = nxt;
    }
    for (Index i = 0; i < n; ++i) CHECK_NEAR(X[(c * (T + 1) + T) * n + i], x[i], 1e-14);
  }
}

void test_bad_models() {
  CHECK_THROWS(gamesolve::make_joint_model({}), std::invalid_argument);
  CHECK_THROWS(gamesolve::make_joint_model({{ModelKind::kUnicycle, 0, 2, 0.1, 1.0}}), std::invalid_argument);
  CHECK_THROWS(gamesolve::make_joint_model({{ModelKind::kDoubleIntegrator, 1, 0, 0.1, 1.0}}), std::invalid_argument);
  CHECK_THROWS(gamesolve::make_joint_model({{ModelKind::kBicycle, 1, 2, 0.1, 0.0}}), std::invalid_argument);
  CHECK_THROWS(gamesolve::make_joint_model({{static_cast<ModelKind>(7), 1, 2, 0.1, 1.0}}), std::invalid_argument);
}

}  // namespace

int main() {
  test_model_steps();
  test_feedback_rollout();
  test_bad_models();
  return gscheck::finish("test_rollout");
}
