# Type stubs of the private extension gamesolve._core (see cpp/bindings/).
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

hardware_threads: int

class RiccatiArrays:
    K: np.ndarray | None
    k: np.ndarray | None
    Z: np.ndarray | None
    zeta: np.ndarray | None
    s: np.ndarray | None
    stage_status: np.ndarray | None
    min_rcond: float
    n_min_norm_stages: int
    n_nonfinite_stages: int
    n_not_convex_stages: int
    n_ill_conditioned_stages: int
    max_min_norm_residual: float
    game_fields: dict[str, object] | None

def solve_lq_games(
    dims: Sequence[int], n: int, T: int, batch: int,
    A: npt.ArrayLike, B: npt.ArrayLike, Q: npt.ArrayLike, q: npt.ArrayLike | None,
    R: npt.ArrayLike, r: npt.ArrayLike | None, M: npt.ArrayLike | None, c: npt.ArrayLike | None,
    QT: npt.ArrayLike, qT: npt.ArrayLike | None,
    n_threads: int = 0, rcond_tol: float = 1e-12, rank_tol: float = 1e-10, keep: str = "all",
    check_R: bool = False,
) -> RiccatiArrays: ...

# every field of python/gamesolve/lq/game.py's LQGame (dims, n, T, batch, A, ..., qT, state_dims), canonical
_GameValues = dict[str, object]

def read_lq_game(
    A: object, B: object, Q: object, R: object, horizon: object, q: object, r: object, M: object, c: object,
    QT: object, qT: object, dims: object, batched: bool, sym_rtol: float,
) -> _GameValues: ...
def read_and_solve_lq_game(
    A: object, B: object, Q: object, R: object, horizon: object, q: object, r: object, M: object, c: object,
    QT: object, qT: object, dims: object, batched: bool, sym_rtol: float, n_threads: int, rcond_tol: float,
    rank_tol: float, keep: str,
) -> RiccatiArrays: ...
def solve_lq_game_data(
    game: object, n_threads: int = 0, rcond_tol: float = 1e-12, rank_tol: float = 1e-10, keep: str = "all",
) -> RiccatiArrays: ...

def evaluate_strategies(
    dims: Sequence[int], n: int, T: int, batch: int,
    A: npt.ArrayLike, B: npt.ArrayLike, Q: npt.ArrayLike, q: npt.ArrayLike | None,
    R: npt.ArrayLike, r: npt.ArrayLike | None, M: npt.ArrayLike | None, c: npt.ArrayLike | None,
    QT: npt.ArrayLike, qT: npt.ArrayLike | None, K: npt.ArrayLike, k: npt.ArrayLike,
) -> RiccatiArrays: ...

# entropy-regularized LQ games, cpp/bindings/bind_entropy.cpp
class EntropyCheckCode:
    ok: EntropyCheckCode
    Q_asymmetric: EntropyCheckCode
    QT_asymmetric: EntropyCheckCode
    R_asymmetric: EntropyCheckCode
    R_not_block_diagonal: EntropyCheckCode
    R_own_not_pd: EntropyCheckCode
    W_asymmetric: EntropyCheckCode
    W_not_psd: EntropyCheckCode
    def __int__(self) -> int: ...

class EntropyCheck:
    @property
    def code(self) -> EntropyCheckCode: ...
    @property
    def t(self) -> int: ...
    @property
    def i(self) -> int: ...

class EntropyOutcome:
    K: np.ndarray
    Sigma: np.ndarray
    P: np.ndarray
    p: np.ndarray
    contraction: np.ndarray
    status: np.ndarray
    assumption_holds: bool
    gamma_B: float
    gamma_P: float
    bad_stage: int
    bad_player: int
    min_norm_stages: int
    nonfinite_stages: int
    min_rcond: float
    finite: bool
    sigma_positive: bool  # every diagonal entry of every Sigma_t > 0
    scales: list[float]  # read_and_solve_entropy only: max|x| of A, B, Q, R, QT, noise_cov (0: none)
    game: _GameValues | None  # read_and_solve_entropy only
    noise_cov: np.ndarray | None  # read_and_solve_entropy only
    check: EntropyCheck  # read_and_solve_entropy only (not ok: nothing was solved)

def entropy_solve(
    dims: Sequence[int], A: npt.ArrayLike, B: npt.ArrayLike, Q: npt.ArrayLike, R: npt.ArrayLike,
    QT: npt.ArrayLike, W: npt.ArrayLike | None, tau: float, T: int,
) -> EntropyOutcome: ...
def read_and_solve_entropy(
    A: object, B: object, Q: object, R: object, horizon: object, QT: object, dims: object, W: object,
    tau: float, sym_rtol: float,
) -> EntropyOutcome: ...
def entropy_check(
    dims: Sequence[int], A: npt.ArrayLike, B: npt.ArrayLike, Q: npt.ArrayLike, R: npt.ArrayLike,
    QT: npt.ArrayLike, W: npt.ArrayLike | None, T: int, lq_checked: bool = False,
) -> EntropyCheck: ...

# infinite-horizon LQ Nash, cpp/bindings/bind_lq_nash.cpp
class NashMethod:
    auto: NashMethod
    lyapunov: NashMethod
    riccati: NashMethod
    newton: NashMethod
    name: str
    __members__: dict[str, NashMethod]
    def __int__(self) -> int: ...

class NashStatus:
    converged: NashStatus
    max_iterations: NashStatus
    stalled: NashStatus
    lost_stability: NashStatus
    non_finite: NashStatus
    singular: NashStatus
    bad_start: NashStatus
    no_stabilizing_start: NashStatus
    uncertified: NashStatus
    bad_scale: NashStatus
    name: str
    def __int__(self) -> int: ...

class LQNashOptions:
    def __init__(self, *, method: NashMethod = ..., tol: float = 1e-10, max_iter: int = 1000,
                 anderson_depth: int = 5, stall_window: int = 40, polish: bool = True) -> None: ...
    method: NashMethod
    tol: float
    max_iter: int
    anderson_depth: int
    stall_window: int
    polish: bool

class NashStage:
    method: NashMethod
    accelerated: bool
    iterations: int
    status: NashStatus
    residual: float
    start: int

class LQNashResult:
    K: np.ndarray
    P: np.ndarray
    converged: bool
    iterations: int
    status: NashStatus
    res_K: float
    res_P: float
    residual: float
    spectral_radius: float
    error_estimate: float
    start: str
    method: str
    history: np.ndarray
    stages: list[NashStage]

max_anderson_depth: int

def lq_nash(
    A: npt.ArrayLike, B: npt.ArrayLike, Q: npt.ArrayLike, R: npt.ArrayLike, M: npt.ArrayLike | None,
    dims: Sequence[int], K0: npt.ArrayLike | None, options: LQNashOptions,
) -> LQNashResult: ...
class LQNashRead:
    game: _GameValues
    result: LQNashResult

def read_and_solve_lq_nash(
    A: object, B: object, Q: object, R: object, dims: object, M: object, K0: object, options: LQNashOptions,
    scale: float, sym_rtol: float,
) -> LQNashRead: ...
def guided_game(
    A: npt.ArrayLike, B: npt.ArrayLike, Q: npt.ArrayLike, R: npt.ArrayLike, dims: Sequence[int],
    K_guide: npt.ArrayLike, rho: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...
def lq_policy_value(
    A: npt.ArrayLike, B: npt.ArrayLike, Q: npt.ArrayLike, R: npt.ArrayLike, M: npt.ArrayLike | None,
    dims: Sequence[int], K: npt.ArrayLike,
) -> tuple[np.ndarray | None, float]: ...
def lq_nash_jacobian(
    A: npt.ArrayLike, B: npt.ArrayLike, Q: npt.ArrayLike, R: npt.ArrayLike, M: npt.ArrayLike | None,
    dims: Sequence[int], K: npt.ArrayLike,
) -> tuple[np.ndarray, np.ndarray] | None: ...
def max_abs(a: npt.ArrayLike) -> float: ...
def stein_solve(A: npt.ArrayLike, C: npt.ArrayLike) -> tuple[np.ndarray, float, float]: ...

# closed-loop rollouts of the built-in dynamics (iLQGames, [theory §6]), cpp/bindings/bind_rollout.cpp
def rollout_feedback(
    blocks: Sequence[tuple[int, int, int, float, float]],
    x0: npt.ArrayLike, xs: npt.ArrayLike, us: npt.ArrayLike, K: npt.ArrayLike, k: npt.ArrayLike,
    alpha: npt.ArrayLike,
) -> tuple[np.ndarray, np.ndarray]: ...

# Markov games: exact evaluation and the softmax learners (docs/markov.md), cpp/bindings/bind_markov.cpp.
# Profiles and parameters are padded stacks (B, N, S, A_max).
class MarkovKernel:
    def __init__(self, P: npt.ArrayLike, r: npt.ArrayLike, mu: npt.ArrayLike, actions: Sequence[int],
                 gamma: float) -> None: ...
    # method 0 pg (log-barrier: lam > 0), 1 npg, 2 npg-br; returns (theta, policies, nash_gap (B, T+1), poa (B, T+1))
    def learn(self, theta0: npt.ArrayLike, method: int, iterations: int, step: float, lam: float,
              inner_steps: int, optimum: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]: ...
    # (gains (B, N), values V^i(mu) (B, N))
    def player_gains(self, pol: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]: ...
    # (V (B, N, S), values (B, N), advantages (B, N, S, A_max), d_mu (B, S))
    def evaluate(self, pol: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]: ...
