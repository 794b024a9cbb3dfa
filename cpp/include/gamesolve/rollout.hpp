// gamesolve: closed-loop rollouts of the built-in nonlinear dynamics ([theory §6], iLQGames).
//
// iLQGames simulates its affine feedback strategies around a nominal trajectory
// (xs, us) for every batch member b and every trial step size alpha (C of them):
//
//     u_t = us_t - alpha k_t - K_t (x_t - xs_t),      x_{t+1} = f(x_t, u_t),
//
// a loop that is sequential in t. For the built-in models of
// python/gamesolve/dynamics.py (unicycle, double integrator, kinematic
// bicycle, and side-by-side products of them) f is evaluated here; the numpy
// rollout stays the fallback for user-defined dynamics and the test oracle.
// Model conventions (per copy, dt the time step):
//   unicycle   x = (px, py, v, theta), u = (a, omega), gain = accel_gain:
//              px+ = px + dt v cos theta, py+ = py + dt v sin theta, v+ = v + gain dt a, theta+ = theta + dt omega
//   double integrator in `dim` dimensions, x = (p, v), u = a:  p+ = p + dt v, v+ = v + gain dt a
//   bicycle    x = (px, py, theta, v), u = (a, delta), gain = wheelbase L:
//              px+ = px + dt v cos theta, py+ = py + dt v sin theta, theta+ = theta + dt v tan(delta) / L,
//              v+ = v + dt a
#pragma once

#include <vector>

#include "gamesolve/lq_game.hpp"

namespace gamesolve {

enum class ModelKind : int { kUnicycle = 0, kDoubleIntegrator = 1, kBicycle = 2 };

/// `count` identical copies of one model; copies and blocks are concatenated in order.
struct ModelBlock {
  ModelKind kind = ModelKind::kUnicycle;
  Index count = 1;
  Index dim = 2;      ///< spatial dimension (double integrator only)
  double dt = 0.1;
  double gain = 1.0;  ///< unicycle accel_gain, double-integrator gain, bicycle wheelbase
};

/// A joint model: blocks side by side. Construct with make_joint_model (sets n, m; validates).
struct JointModel {
  std::vector<ModelBlock> blocks;
  Index n = 0, m = 0;
};

/// Throws std::invalid_argument on an empty list, a non-positive count / dim, or a bicycle with wheelbase 0.
JointModel make_joint_model(std::vector<ModelBlock> blocks);

/// One step x+ = f(x, u) of the joint model (x, out: n doubles; u: m doubles; out may not alias x).
void model_step(const JointModel& f, const double* x, const double* u, double* out);

/// Closed-loop rollouts, all arrays C-contiguous:
/// x0 (B, n), xs (B, T+1, n), us (B, T, m), K (B, T, m, n), k (B, T, m), alpha (C, B);
/// writes X (C, B, T+1, n) and U (C, B, T, m). Candidate c of member b uses step alpha[c, b].
void rollout_feedback(const JointModel& f, Index T, Index C, Index B, const double* x0, const double* xs,
                      const double* us, const double* K, const double* k, const double* alpha, double* X,
                      double* U);

}  // namespace gamesolve
