// gamesolve: entropy-regularized LQ games ([theory §4], [Reg-LQ]).
//
// Player i pays the [theory §2] stage cost with q = r = M = 0 plus
// tau * KL(pi_t^i(.|x) || N(0, I)); the dynamics carry noise w_t ~ N(0, W_t).
// Nash policies are linear Gaussian, u^i ~ N(-K_t^i x, Sigma_t^i).
//
// The means solve the *unregularized* [theory §2] game whose weights R^i have
// tau/2 added to player i's own diagonal block ([Reg-LQ] eq. 20, the
// "deterministic auxiliary game"); its value matrices Z_t^i are the P_t^i of
// [theory §4]. So `solve_entropy_lq_game` builds that shifted-R game, runs the core
// recursion `solve_lq_game` on it (no second copy of the Riccati stage), and
// then makes one cheap backward pass for the covariances and constants:
//
//   S_ii       = tau/2 I + R^i_[ii] + B^i' P^i_{t+1} B^i
//   Sigma_t^i  = tau/2 S_ii^{-1}   (= (I + 2 (R^i_[ii] + B^i'P^i_{t+1}B^i)/tau)^{-1})
//   p_t^i      = p_{t+1}^i + <R~^i, Sigma_t> - tau/2 (m_i + log det Sigma_t^i)
//                + <W_t + sum_j B^j Sigma_t^j B^j', P^i_{t+1}>
//
// where R~^i is the shifted weight and Sigma_t the block-diagonal joint
// covariance, so <R~^i, Sigma_t> = tr(R^i Sigma_t) + tau/2 tr(Sigma_t^i).
#pragma once

#include "gamesolve/lq_game.hpp"

namespace gamesolve {

/// An entropy-regularized game: `game` holds A, B, Q, R (joint, per player,
/// [theory §1] layout) and QT; q, r, M, c, qT must be absent. `W` (n*n per stage,
/// optional: nullptr means no process noise) is the noise covariance.
/// Only `game.batch == 1` is used (game b = 0).
struct EntropyLQData {
  LQGameData game;
  double tau = 0.0;
  Series W;
};

/// Output buffers (one game): K (T, m, n), Sigma (T, m, m) (written
/// block-diagonal, off-diagonal blocks zero), P (T+1, N, n, n), p (T+1, N),
/// status (T) with the core's StageStatus codes; optional `contraction` (T):
/// [Reg-LQ] Lemma IV.1's factor 2 gamma_B^2 max_i ||P_{t+1}^i||_F (N-1) / tau.
struct EntropySolutionView {
  OutSeries K, Sigma, P, p;
  OutSeries contraction;  ///< optional (data == nullptr: not written)
  std::int32_t* status = nullptr;
  Index status_size = 0;
};

/// Summary of one entropy-regularized solve.
struct EntropyReport {
  SolveReport core;           ///< the mean (shifted-R) recursion's report
  Index bad_stage = -1;       ///< first stage (from the end) where S_ii was not positive definite
  Index bad_player = -1;      ///< the player at that stage
  double gamma_B = 0.0;       ///< max_{t,i} ||B_t^i||_F
  double gamma_P = 0.0;       ///< max_{t=0..T,i} ||P_t^i||_F (NaN if the pass stopped early)
  /// [Reg-LQ] Assumption III.3, tau > 2 gamma_B^2 gamma_P (N-1) (uniqueness of this equilibrium).
  bool assumption_holds = false;
};

/// Result of `check_entropy_values`: `code` is 0 when the data pass, else the
/// first failed check, at stage `t` (-1 for QT) and player `i` (-1 if none).
enum EntropyCheckCode : int {
  kEntropyOk = 0,
  kQAsymmetric = 1,       ///< Q_t^i non-finite or not symmetric (relative tolerance 1e-10, as the Python layer)
  kQTAsymmetric = 2,      ///< Q_T^i non-finite or not symmetric
  kRAsymmetric = 3,       ///< R_t^i non-finite or not symmetric
  kRNotBlockDiagonal = 4, ///< R_t^i weighs a product u^j'u^k, j != k
  kROwnNotPD = 5,         ///< own block R_t^{ii} not positive definite (check.hpp positive_definite)
  kWAsymmetric = 6,       ///< W_t non-finite or not symmetric
  kWNotPSD = 7            ///< W_t has an eigenvalue < -1e-12 max |eig|
};
struct EntropyCheck {
  int code = kEntropyOk;
  Index t = -1, i = -1;
};

/// Value checks of the data, the ones `gamesolve.entropy_lq_game` makes in
/// Python (except finiteness: non-finite data make the solve report
/// non-finite stages or NaN values): symmetry of Q, QT, R, W; R^i
/// block-diagonal with positive-definite own blocks; W positive semidefinite.
/// Sizes must already be consistent (`check_entropy_game`). Each distinct
/// stage block is checked once.
EntropyCheck check_entropy_values(const EntropyLQData& data);

/// `check_entropy_values`; with `lq_checked`, only the entropy-specific rules (R^i
/// block-diagonal, W symmetric positive semidefinite), for data that passed the LQ game's
/// checks (gamesolve.lq_game: Q, QT, R symmetric and finite, every R^{ii} positive definite).
EntropyCheck check_entropy_values(const EntropyLQData& data, bool lq_checked);

/// Throws std::invalid_argument unless the data and output buffers are
/// consistent (tau > 0 and finite, no linear terms, every access in bounds).
void check_entropy_game(const EntropyLQData& data, const EntropySolutionView& out);

/// Linear-Gaussian Nash equilibrium of [theory §4] (values are not checked: see
/// `check_entropy_values`). If some S_ii is not positive
/// definite (the player's stage problem is unbounded below: possible only if
/// a Q^i or Q_T^i is indefinite), the pass stops there, the report names the
/// stage and player and the remaining Sigma, p entries are NaN.
EntropyReport solve_entropy_lq_game(const EntropyLQData& data, const EntropySolutionView& out,
                                    const SolveOptions& opts = {});

}  // namespace gamesolve
