// Closed-loop rollouts of the built-in dynamics (see gamesolve/rollout.hpp).
#include "gamesolve/rollout.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace gamesolve {

namespace {

Index state_size(const ModelBlock& b) {
  return b.kind == ModelKind::kDoubleIntegrator ? 2 * b.dim : 4;
}
Index control_size(const ModelBlock& b) { return b.kind == ModelKind::kDoubleIntegrator ? b.dim : 2; }

constexpr double kHalfPi = 1.5707963267948966;  // numpy's np.pi / 2

}  // namespace

JointModel make_joint_model(std::vector<ModelBlock> blocks) {
  if (blocks.empty()) throw std::invalid_argument("a joint model needs at least one block");
  JointModel f;
  for (const ModelBlock& b : blocks) {
    const int kind = static_cast<int>(b.kind);
    if (kind < 0 || kind > 2) throw std::invalid_argument("unknown model kind " + std::to_string(kind));
    if (b.count < 1) throw std::invalid_argument("model count must be >= 1, got " + std::to_string(b.count));
    if (b.kind == ModelKind::kDoubleIntegrator && b.dim < 1)
      throw std::invalid_argument("double integrator dim must be >= 1, got " + std::to_string(b.dim));
    if (b.kind == ModelKind::kBicycle && b.gain == 0.0) throw std::invalid_argument("bicycle wheelbase is 0");
    f.n += b.count * state_size(b);
    f.m += b.count * control_size(b);
  }
  f.blocks = std::move(blocks);
  return f;
}

void model_step(const JointModel& f, const double* x, const double* u, double* out) {
  for (const ModelBlock& b : f.blocks) {
    const double dt = b.dt;
    switch (b.kind) {
      case ModelKind::kUnicycle: {
        const double ga = b.gain * dt;
        for (Index c = 0; c < b.count; ++c, x += 4, u += 2, out += 4) {
          const double dv = dt * x[2];
          out[0] = x[0] + std::cos(x[3]) * dv;
          out[1] = x[1] + std::cos(x[3] - kHalfPi) * dv;  // sin, exactly as the numpy model computes it
          out[2] = x[2] + ga * u[0];
          out[3] = x[3] + dt * u[1];
        }
        break;
      }
      case ModelKind::kDoubleIntegrator: {
        const Index d = b.dim;
        const double ga = b.gain * dt;
        for (Index c = 0; c < b.count; ++c, x += 2 * d, u += d, out += 2 * d) {
          for (Index j = 0; j < d; ++j) {
            out[j] = x[j] + dt * x[d + j];
            out[d + j] = x[d + j] + ga * u[j];
          }
        }
        break;
      }
      case ModelKind::kBicycle: {
        for (Index c = 0; c < b.count; ++c, x += 4, u += 2, out += 4) {
          const double dv = dt * x[3];
          out[0] = x[0] + dv * std::cos(x[2]);
          out[1] = x[1] + dv * std::sin(x[2]);
          out[2] = x[2] + dv * std::tan(u[1]) / b.gain;
          out[3] = x[3] + dt * u[0];
        }
        break;
      }
    }
  }
}

void rollout_feedback(const JointModel& f, Index T, Index C, Index B, const double* x0, const double* xs,
                      const double* us, const double* K, const double* k, const double* alpha, double* X,
                      double* U) {
  const Index n = f.n, m = f.m;
  std::vector<double> dx(static_cast<std::size_t>(n));
  for (Index c = 0; c < C; ++c) {
    for (Index b = 0; b < B; ++b) {
      const double a = alpha[c * B + b];
      double* Xb = X + (c * B + b) * (T + 1) * n;
      double* Ub = U + (c * B + b) * T * m;
      const double* xsb = xs + b * (T + 1) * n;
      const double* usb = us + b * T * m;
      const double* Kb = K + b * T * m * n;
      const double* kb = k + b * T * m;
      for (Index j = 0; j < n; ++j) Xb[j] = x0[b * n + j];
      for (Index t = 0; t < T; ++t) {
        const double* x = Xb + t * n;
        const double* xr = xsb + t * n;
        for (Index j = 0; j < n; ++j) dx[j] = x[j] - xr[j];
        double* u = Ub + t * m;
        const double* Kt = Kb + t * m * n;
        for (Index i = 0; i < m; ++i) {
          double acc = 0.0;
          const double* Ki = Kt + i * n;
          for (Index j = 0; j < n; ++j) acc += Ki[j] * dx[j];
          u[i] = (usb[t * m + i] - a * kb[t * m + i]) - acc;
        }
        model_step(f, x, u, Xb + (t + 1) * n);
      }
    }
  }
}

}  // namespace gamesolve
