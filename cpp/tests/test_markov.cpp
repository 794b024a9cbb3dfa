// C++ tests of the Markov-game kernel (gamesolve/markov.hpp) against independent derivations:
// values and visitation by an explicit sum over joint actions and one dense LU solve, the
// marginal advantages by loops, the Nash gap by brute force over deterministic deviations,
// one NPG step against its closed form theta + eta A / (1 - gamma), one PG step with the log
// barrier against d_mu pi A + its gradient, one NPG-BR round moving a single player, the
// Nash gap 0 and POA 1 at a pure social optimum, and bad sizes.
#include <Eigen/Dense>

#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

#include "check.hpp"
#include "gamesolve/markov.hpp"

using gamesolve::Index;
namespace mk = gamesolve::markov;

namespace {

/// A random game: P rows and mu random distributions, r standard normal.
mk::MarkovGameData random_game(Index S, std::vector<Index> actions, double gamma, std::mt19937& g) {
  std::uniform_real_distribution<double> u(0.05, 1.0);
  std::normal_distribution<double> n;
  mk::MarkovGameData d;
  d.actions = actions;
  d.S = S;
  d.gamma = gamma;
  Index A = 1;
  for (Index a : actions) A *= a;
  const Index N = static_cast<Index>(actions.size());
  d.P.resize(S * A * S);
  for (Index sa = 0; sa < S * A; ++sa) {
    double sum = 0.0;
    for (Index t = 0; t < S; ++t) sum += (d.P[sa * S + t] = u(g));
    for (Index t = 0; t < S; ++t) d.P[sa * S + t] /= sum;
  }
  d.r.resize(N * S * A);
  for (double& x : d.r) x = n(g);
  d.mu.resize(S);
  double sum = 0.0;
  for (double& x : d.mu) sum += (x = u(g));
  for (double& x : d.mu) x /= sum;
  return d;
}

/// A padded profile stack (1, N, S, Am) of random softmax policies (scale * N(0, 1) logits).
std::vector<double> random_profile(const mk::MarkovGameData& d, double scale, std::mt19937& g) {
  std::normal_distribution<double> n;
  const Index N = static_cast<Index>(d.actions.size()), S = d.S;
  Index Am = 0;
  for (Index a : d.actions) Am = std::max(Am, a);
  std::vector<double> pol(N * S * Am, 0.0);
  for (Index i = 0; i < N; ++i)
    for (Index s = 0; s < S; ++s) {
      double sum = 0.0;
      for (Index k = 0; k < d.actions[i]; ++k) sum += (pol[(i * S + s) * Am + k] = std::exp(scale * n(g)));
      for (Index k = 0; k < d.actions[i]; ++k) pol[(i * S + s) * Am + k] /= sum;
    }
  return pol;
}

/// Reference evaluation by loops over joint actions: V (N, S), d (S), marginal Q (N, S, Am).
struct Reference {
  Eigen::MatrixXd V;  // S x N
  Eigen::VectorXd d, value;
  std::vector<double> q;
};

Reference reference(const mk::MarkovGameData& d, const std::vector<double>& pol) {
  const Index N = static_cast<Index>(d.actions.size()), S = d.S;
  Index A = 1, Am = 0;
  for (Index a : d.actions) A *= a, Am = std::max(Am, a);
  auto action_of = [&](Index a, Index i) {
    for (Index j = N - 1; j > i; --j) a /= d.actions[j];
    return a % d.actions[i];
  };
  auto prob = [&](Index s, Index a, Index skip) {
    double w = 1.0;
    for (Index i = 0; i < N; ++i)
      if (i != skip) w *= pol[(i * S + s) * Am + action_of(a, i)];
    return w;
  };
  Eigen::MatrixXd Ppi = Eigen::MatrixXd::Zero(S, S), rpi = Eigen::MatrixXd::Zero(S, N);
  for (Index s = 0; s < S; ++s)
    for (Index a = 0; a < A; ++a) {
      const double w = prob(s, a, -1);
      for (Index t = 0; t < S; ++t) Ppi(s, t) += w * d.P[(s * A + a) * S + t];
      for (Index i = 0; i < N; ++i) rpi(s, i) += w * d.r[(i * S + s) * A + a];
    }
  const Eigen::MatrixXd M = Eigen::MatrixXd::Identity(S, S) - d.gamma * Ppi;
  Reference out;
  out.V = M.partialPivLu().solve(rpi);
  const Eigen::VectorXd mu = Eigen::Map<const Eigen::VectorXd>(d.mu.data(), S);
  out.d = M.transpose().partialPivLu().solve(mu);
  out.value = out.V.transpose() * mu;
  out.q.assign(N * S * Am, 0.0);
  for (Index i = 0; i < N; ++i)
    for (Index s = 0; s < S; ++s)
      for (Index a = 0; a < A; ++a) {
        double Q = d.r[(i * S + s) * A + a];
        for (Index t = 0; t < S; ++t) Q += d.gamma * d.P[(s * A + a) * S + t] * out.V(t, i);
        out.q[(i * S + s) * Am + action_of(a, i)] += prob(s, a, i) * Q;
      }
  return out;
}

void test_evaluation() {
  std::mt19937 g(1);
  const auto d = random_game(4, {2, 3}, 0.8, g);
  const mk::Kernel k(d);
  const auto pol = random_profile(d, 1.0, g);
  const auto ev = k.evaluate(1, pol.data());
  const Reference ref = reference(d, pol);
  const Index S = 4, Am = 3;
  double dsum = 0.0;
  for (Index s = 0; s < S; ++s) {
    CHECK_NEAR(ev.d[s], ref.d(s), 1e-12);
    dsum += ev.d[s];
  }
  CHECK_NEAR(dsum, 1.0 / (1.0 - d.gamma), 1e-12);
  for (Index i = 0; i < 2; ++i) {
    CHECK_NEAR(ev.value[i], ref.value(i), 1e-12);
    for (Index s = 0; s < S; ++s) {
      CHECK_NEAR(ev.V[i * S + s], ref.V(s, i), 1e-12);
      double mean = 0.0;  // advantages average to zero under the player's own policy
      for (Index k2 = 0; k2 < Am; ++k2) {
        const Index j = (i * S + s) * Am + k2;
        if (k2 < d.actions[i]) CHECK_NEAR(ev.adv[j], ref.q[j] - ref.V(s, i), 1e-12);
        else CHECK(ev.adv[j] == 0.0);
        mean += pol[j] * ev.adv[j];
      }
      CHECK_NEAR(mean, 0.0, 1e-12);
    }
  }
}

/// max over deterministic deviations of player i, by enumeration of all A_i^S policies.
double brute_force_gain(const mk::MarkovGameData& d, const std::vector<double>& pol, Index i) {
  const Index S = d.S, Ai = d.actions[i];
  Index Am = 0;
  for (Index a : d.actions) Am = std::max(Am, a);
  const double v0 = reference(d, pol).value(i);
  double best = -1e300;
  Index count = 1;
  for (Index s = 0; s < S; ++s) count *= Ai;
  for (Index c = 0; c < count; ++c) {
    std::vector<double> dev = pol;
    Index rest = c;
    for (Index s = 0; s < S; ++s) {
      for (Index k2 = 0; k2 < Am; ++k2) dev[(i * S + s) * Am + k2] = (k2 == rest % Ai) ? 1.0 : 0.0;
      rest /= Ai;
    }
    best = std::max(best, reference(d, dev).value(i));
  }
  return best - v0;
}

void test_nash_gap_brute_force() {
  std::mt19937 g(2);
  const auto d = random_game(3, {2, 3}, 0.7, g);
  const mk::Kernel k(d);
  for (double scale : {0.5, 3.0}) {
    const auto pol = random_profile(d, scale, g);
    std::vector<double> gains(2), values(2);
    k.player_gains(1, pol.data(), gains.data(), values.data());
    for (Index i = 0; i < 2; ++i) {
      CHECK_NEAR(gains[i], brute_force_gain(d, pol, i), 1e-10);
      CHECK(gains[i] >= -1e-12);
    }
  }
}

void test_npg_closed_form_and_history() {
  std::mt19937 g(3);
  const auto d = random_game(3, {2, 2, 3}, 0.9, g);
  const mk::Kernel k(d);
  const Index N = 3, S = 3, Am = 3, n = N * S * Am;
  std::normal_distribution<double> nd;
  std::vector<double> theta0(n, 0.0);
  for (Index i = 0; i < N; ++i)
    for (Index s = 0; s < S; ++s)
      for (Index a = 0; a < d.actions[i]; ++a) theta0[(i * S + s) * Am + a] = nd(g);
  auto softmax = [&](const std::vector<double>& th) {
    std::vector<double> p(n, 0.0);
    for (Index i = 0; i < N; ++i)
      for (Index s = 0; s < S; ++s) {
        double sum = 0.0;
        for (Index a = 0; a < d.actions[i]; ++a) sum += std::exp(th[(i * S + s) * Am + a]);
        for (Index a = 0; a < d.actions[i]; ++a) p[(i * S + s) * Am + a] = std::exp(th[(i * S + s) * Am + a]) / sum;
      }
    return p;
  };
  mk::LearnOptions o;
  o.method = mk::Method::kNPG;
  o.iterations = 1;
  o.step = 0.3;
  o.optimum = 1.0;
  std::vector<double> theta = theta0, pol(n), gaps(2), poa(2);
  k.learn(o, 1, theta.data(), pol.data(), gaps.data(), poa.data());
  const auto p0 = softmax(theta0);
  const Reference ref = reference(d, p0);
  for (Index i = 0; i < N; ++i)
    for (Index s = 0; s < S; ++s)
      for (Index a = 0; a < Am; ++a) {
        const Index j = (i * S + s) * Am + a;
        const double want = a < d.actions[i] ? theta0[j] + o.step / (1 - d.gamma) * (ref.q[j] - ref.V(s, i)) : 0.0;
        CHECK_NEAR(theta[j], want, 1e-12);
      }
  // recorded history: the gap and POA of the initial and of the final policies
  std::vector<double> gains(N), values(N);
  k.player_gains(1, p0.data(), gains.data(), values.data());
  CHECK_NEAR(gaps[0], *std::max_element(gains.begin(), gains.end()), 1e-12);
  CHECK_NEAR(poa[0], values[0] + values[1] + values[2], 1e-12);
  const auto p1 = softmax(theta);
  for (Index j = 0; j < n; ++j) CHECK_NEAR(pol[j], p1[j], 1e-15);
  k.player_gains(1, p1.data(), gains.data(), values.data());
  CHECK_NEAR(gaps[1], *std::max_element(gains.begin(), gains.end()), 1e-12);

  // PG with the log barrier: theta + eta [d_mu pi A + lambda (1 - A_i pi) / (S A_i)]
  o.method = mk::Method::kPG;
  o.lam = 0.4;
  theta = theta0;
  k.learn(o, 1, theta.data(), pol.data(), gaps.data(), poa.data());
  for (Index i = 0; i < N; ++i)
    for (Index s = 0; s < S; ++s)
      for (Index a = 0; a < d.actions[i]; ++a) {
        const Index j = (i * S + s) * Am + a;
        const double Ai = double(d.actions[i]);
        const double grad = ref.d(s) * p0[j] * (ref.q[j] - ref.V(s, i)) + o.lam * (1 - Ai * p0[j]) / (S * Ai);
        CHECK_NEAR(theta[j], theta0[j] + o.step * grad, 1e-12);
      }
  o.lam = 0.0;

  // NPG-BR: exactly one player's parameters change, and that player gains the most
  o.method = mk::Method::kNPGBR;
  o.inner_steps = 3;
  theta = theta0;
  k.learn(o, 1, theta.data(), pol.data(), gaps.data(), poa.data());
  int moved = 0;
  for (Index i = 0; i < N; ++i) {
    double diff = 0.0;
    for (Index j = i * S * Am; j < (i + 1) * S * Am; ++j) diff = std::max(diff, std::fabs(theta[j] - theta0[j]));
    moved += diff > 0.0;
  }
  CHECK(moved == 1);
}

void test_pure_social_optimum() {
  // two players, one state, gamma = 0, identical interest: (0, 0) pays 2, (1, 1) pays 1, else 0
  mk::MarkovGameData d;
  d.actions = {2, 2};
  d.S = 1;
  d.gamma = 0.0;
  d.P = {1, 1, 1, 1};
  d.r = {2, 0, 0, 1, 2, 0, 0, 1};
  d.mu = {1.0};
  const mk::Kernel k(d);
  std::vector<double> best = {1, 0, 1, 0}, other = {0, 1, 0, 1}, mixed = {0.5, 0.5, 1, 0};
  std::vector<double> gains(2), values(2);
  k.player_gains(1, best.data(), gains.data(), values.data());
  CHECK(gains[0] == 0.0 && gains[1] == 0.0);
  CHECK_NEAR(values[0] + values[1], 4.0, 1e-15);
  k.player_gains(1, other.data(), gains.data(), values.data());  // also a (worse) pure Nash profile
  CHECK(gains[0] == 0.0 && gains[1] == 0.0);
  k.player_gains(1, mixed.data(), gains.data(), values.data());  // player 1 gains 2 - 1, player 2 nothing
  CHECK_NEAR(gains[0], 1.0, 1e-15);
  CHECK_NEAR(gains[1], 0.0, 1e-15);
}

void test_bad_input() {
  std::mt19937 g(4);
  auto d = random_game(2, {2, 2}, 0.5, g);
  auto bad = d;
  bad.P.pop_back();
  CHECK_THROWS(mk::Kernel{bad}, std::invalid_argument);
  bad = d;
  bad.gamma = 1.0;
  CHECK_THROWS(mk::Kernel{bad}, std::invalid_argument);
  bad = d;
  bad.actions = {2, 0};
  CHECK_THROWS(mk::Kernel{bad}, std::invalid_argument);
  const mk::Kernel k(d);
  mk::LearnOptions o;
  o.step = 0.0;
  std::vector<double> theta(8), pol(8), gaps(1), poa(1);
  CHECK_THROWS(k.learn(o, 1, theta.data(), pol.data(), gaps.data(), poa.data()), std::invalid_argument);
}

}  // namespace

int main() {
  test_evaluation();
  test_nash_gap_brute_force();
  test_npg_closed_form_and_history();
  test_pure_social_optimum();
  test_bad_input();
  return gscheck::finish("test_markov");
}
