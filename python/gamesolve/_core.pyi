# Type stubs of the private extension gamesolve._core (see cpp/bindings/).
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

hardware_threads: int
max_anderson_depth: int

def solve_lq_games(
    dims: Sequence[int], n: int, T: int, batch: int,
    A: npt.ArrayLike, B: npt.ArrayLike, Q: npt.ArrayLike, q: npt.ArrayLike | None,
    R: npt.ArrayLike, r: npt.ArrayLike | None, M: npt.ArrayLike | None, c: npt.ArrayLike | None,
    QT: npt.ArrayLike, qT: npt.ArrayLike | None,
    n_threads: int = 0, rcond_tol: float = 1e-12, rank_tol: float = 1e-10,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]: ...

def solve_lq_fast(
    A: object, B: object, Q: object, R: object, horizon: object, q: object, r: object, M: object, c: object,
    QT: object, qT: object, dims: object, batched: bool, n_threads: int, rcond_tol: float, rank_tol: float,
    sym_rtol: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, float, int, int,
           tuple[int, ...], np.ndarray | None, np.ndarray | None] | None: ...

def evaluate_strategies(
    dims: Sequence[int], n: int, T: int, batch: int,
    A: npt.ArrayLike, B: npt.ArrayLike, Q: npt.ArrayLike, q: npt.ArrayLike | None,
    R: npt.ArrayLike, r: npt.ArrayLike | None, M: npt.ArrayLike | None, c: npt.ArrayLike | None,
    QT: npt.ArrayLike, qT: npt.ArrayLike | None, K: npt.ArrayLike, k: npt.ArrayLike,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...

# entropy-regularized LQ games ([theory §4]), cpp/bindings/bind_entropy.cpp
def entropy_solve(
    dims: Sequence[int], A: object, B: object, Q: object, R: object, QT: object | None, W: object | None,
    tau: float, horizon: int, validate: bool,
) -> int | tuple: ...
def entropy_check_values(
    dims: Sequence[int], n: int, T: int,
    A: npt.ArrayLike, B: npt.ArrayLike, Q: npt.ArrayLike, R: npt.ArrayLike, QT: npt.ArrayLike,
    W: npt.ArrayLike | None,
) -> tuple[int, int, int]: ...
# ---- issue 3: infinite-horizon LQ Nash (cpp/bindings/bind_lq_nash.cpp)
# (K, P, closed_loop, converged, iterations, status, residual, method, res_K, res_P, history, stages),
# stages a list of (method, accelerated, iterations, status, residual)
_NashOut = tuple[np.ndarray, np.ndarray, np.ndarray, bool, int, int, float, str, float, float, np.ndarray,
                 list[tuple[int, bool, int, int, float]]]
def lq_nash(
    A: npt.ArrayLike, B: npt.ArrayLike, Q: npt.ArrayLike, R: npt.ArrayLike, M: npt.ArrayLike | None,
    dims: Sequence[int], K0: npt.ArrayLike | None, method: int, tol: float, max_iter: int,
    anderson_depth: int, stall_window: int, polish: bool,
) -> _NashOut: ...
def lq_nash_fast(
    A: object, B: object, Q: object, R: object, dims: object, K0: object, method: object, tol: object,
    max_iter: object, anderson_depth: object, stall_window: object, polish: object, sym_rtol: float,
) -> tuple[_NashOut, np.ndarray, tuple[int, ...]] | None: ...
def guided_lq_nash_fast(
    A: object, B: object, Q: object, R: object, dims: object, K_guide: object, rho: object, K0: object,
    method: object, tol: object, max_iter: object, sym_rtol: float,
) -> tuple[_NashOut, np.ndarray, tuple[int, ...]] | None: ...
def guided_game(
    A: npt.ArrayLike, B: npt.ArrayLike, Q: npt.ArrayLike, R: npt.ArrayLike, dims: Sequence[int],
    K_guide: npt.ArrayLike, rho: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...
def lq_nash_check_fast(
    A: object, B: object, Q: object, R: object, dims: object, sym_rtol: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, ...]] | None: ...
def lq_policy_value(
    A: npt.ArrayLike, B: npt.ArrayLike, Q: npt.ArrayLike, R: npt.ArrayLike, M: npt.ArrayLike | None,
    dims: Sequence[int], K: npt.ArrayLike,
) -> tuple[np.ndarray | None, float]: ...
def lq_nash_jacobian(
    A: npt.ArrayLike, B: npt.ArrayLike, Q: npt.ArrayLike, R: npt.ArrayLike, M: npt.ArrayLike | None,
    dims: Sequence[int], K: npt.ArrayLike,
) -> tuple[np.ndarray, np.ndarray] | None: ...
def stein_solve(A: npt.ArrayLike, C: npt.ArrayLike) -> tuple[np.ndarray, float, float]: ...

# closed-loop rollouts of the built-in dynamics (iLQGames, [theory §6]), cpp/bindings/bind_rollout.cpp
def rollout_feedback(
    blocks: Sequence[tuple[int, int, int, float, float]],
    x0: npt.ArrayLike, xs: npt.ArrayLike, us: npt.ArrayLike, K: npt.ArrayLike, k: npt.ArrayLike,
    alpha: npt.ArrayLike,
) -> tuple[np.ndarray, np.ndarray]: ...
