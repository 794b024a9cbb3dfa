// gamesolve core: exact policy evaluation and softmax policy-gradient learners for finite
// Markov games (docs/markov.md; Chen, Zhang and Doan, "Convergence and Price of Anarchy
// Guarantees of the Softmax Policy Gradient in Markov Potential Games").
//
// Notation: N players, S states, player i has A_i actions, A = prod_i A_i joint actions
// indexed row-major (player 1 most significant), A_max = max_i A_i. For a product policy
// pi(a|s) = prod_i pi^i(a_i|s):
//     P_pi(s, s') = sum_a pi(a|s) P(s'|s, a),   r_pi^i(s) = sum_a pi(a|s) r^i(s, a),
//     V^i = (I - gamma P_pi)^-1 r_pi^i,          V^i(mu) = mu' V^i,
//     d_mu' = mu' (I - gamma P_pi)^-1            (the unnormalized discounted visitation),
// player i's induced MDP against the others' policies
//     P_i(s'|s, a_i) = E_{a_-i ~ pi^-i} P(s'|s, a),   r_i(s, a_i) = E_{a_-i ~ pi^-i} r^i(s, a),
// its marginal Q^i(s, a_i) = r_i(s, a_i) + gamma P_i(.|s, a_i)' V^i and advantage
// A^i(s, a_i) = Q^i(s, a_i) - V^i(s). A best response is an optimal policy of the induced MDP,
// found by policy iteration (exact: it stops when no action improves by more than 1e-12,
// relative); the Nash gap is max_i [V^i(br_i, pi^-i)(mu) - V^i(pi)(mu)] and the price of
// anarchy sum_i V^i(pi)(mu) / optimum.
//
// Softmax learners (tabular theta^i (S, A_i), pi^i = softmax(theta^i(s, .)), step eta, log
// barrier lambda >= 0 whose gradient is b^i(s, a_i) = lambda (1 - A_i pi^i(a_i|s)) / (S A_i)):
//     pg:     theta^i += eta [d_mu(s) pi^i(a_i|s) A^i(s, a_i) + b^i]
//     npg:    theta^i += eta [A^i(s, a_i) / (1 - gamma) + b^i]
//     npg-br: every player takes K NPG steps on its own induced MDP (others frozen); only the
//             player with the largest value gain keeps its new parameters (first on ties).
//
// Memory layout: contiguous row-major buffers of doubles. Policies and parameters are padded
// stacks (B, N, S, A_max): entries past A_i are zero (policies) and ignored (parameters,
// which the learners leave unchanged there).
#pragma once

#include <Eigen/Core>

#include <memory>
#include <stdexcept>
#include <vector>

namespace gamesolve {

using Index = Eigen::Index;

namespace markov {

/// A finite discounted Markov game in the flat joint-action layout (the arrays are copied).
struct MarkovGameData {
  std::vector<Index> actions;  ///< A_i, i = 1..N (each >= 1)
  Index S = 0;                 ///< number of states (>= 1)
  std::vector<double> P;       ///< (S, A, S): P(s'|s, a), rows on the simplex
  std::vector<double> r;       ///< (N, S, A): r^i(s, a)
  std::vector<double> mu;      ///< (S,): the initial distribution
  double gamma = 0.0;          ///< the discount, in [0, 1)
};

/// Policy iteration did not reach a policy that no action improves (cannot happen in exact
/// arithmetic; raised after kMaxPolicyIterations improvements).
class PolicyIterationError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline constexpr int kMaxPolicyIterations = 1000;
/// Policy iteration switches an action only for a gain above this (relative) threshold.
inline constexpr double kImproveRtol = 1e-12;

enum class Method : int { kPG = 0, kNPG = 1, kNPGBR = 2 };

/// Options of `Kernel::learn`.
struct LearnOptions {
  Method method = Method::kPG;
  Index iterations = 0;   ///< T updates; T + 1 recorded iterates
  double step = 0.1;      ///< eta > 0
  double lam = 0.0;       ///< log-barrier lambda >= 0
  Index inner_steps = 5;  ///< K >= 1 (npg-br)
  double optimum = 1.0;   ///< max_pi sum_i V^i(pi)(mu), the POA's denominator (not checked: 0 gives inf / NaN)
};

/// Exact quantities of one profile (each array for the batch, row-major).
struct Evaluation {
  std::vector<double> V;      ///< (B, N, S) V^i(s)
  std::vector<double> value;  ///< (B, N) V^i(mu)
  std::vector<double> adv;    ///< (B, N, S, A_max) A^i(s, a_i), zero past A_i
  std::vector<double> d;      ///< (B, S) d_mu
};

struct Layout;

/// The immutable, preprocessed game (padded transition table, action indices). Thread-safe:
/// every call allocates its own workspace, reused across the iterations of that call.
class Kernel {
 public:
  /// Throws std::invalid_argument on inconsistent sizes or gamma outside [0, 1) (the values
  /// themselves are validated by the caller: gamesolve.markov.MarkovGame).
  explicit Kernel(const MarkovGameData& game);
  ~Kernel();
  Kernel(const Kernel&) = delete;
  Kernel& operator=(const Kernel&) = delete;

  Index players() const;
  Index states() const;
  Index max_actions() const;

  /// Values, advantages and visitation of B profiles `pol` (B, N, S, A_max).
  Evaluation evaluate(Index B, const double* pol) const;

  /// Each player's gain V^i(br_i, pi^-i)(mu) - V^i(pi)(mu) (B, N) and value V^i(pi)(mu) (B, N)
  /// of B profiles `pol` (B, N, S, A_max). Throws PolicyIterationError.
  void player_gains(Index B, const double* pol, double* gains, double* values) const;

  /// Runs a learner from B initial parameter stacks `theta` (B, N, S, A_max), overwritten by
  /// the final parameters; `pol` (B, N, S, A_max) receives the final policies, `gaps` and `poa`
  /// (B, T + 1) the exact Nash gap and price of anarchy of every iterate. A run whose
  /// parameters become non-finite stops: its remaining gaps and POA are NaN. Throws
  /// std::invalid_argument on bad options, PolicyIterationError.
  void learn(const LearnOptions& opt, Index B, double* theta, double* pol, double* gaps, double* poa) const;

 private:
  std::unique_ptr<Layout> lay_;
};

}  // namespace markov
}  // namespace gamesolve
