"""gamesolve: Nash equilibria of dynamic games (C++/Eigen core, numpy API)."""

from . import examples
from .entropy import (
    EntropyLQGame,
    EntropyLQSolution,
    EntropyPOResult,
    EpsilonReport,
    entropy_best_response,
    entropy_epsilon,
    entropy_lq_game,
    entropy_lq_nash,
    entropy_po,
    entropy_policy_value,
)
from .lq import (
    LQGameSolution,
    evaluate_lq_strategy,
    get_num_threads,
    set_num_threads,
    solve_lq_game,
    solve_lq_games,
)
from .errors import ConvergenceError, GamesolveError, InputError, SingularStageWarning, SolveError

__version__ = "0.1.0"

__all__ = [
    "solve_lq_game",
    "solve_lq_games",
    "evaluate_lq_strategy",
    "LQGameSolution",
    "set_num_threads",
    "get_num_threads",
    "examples",
    "GamesolveError",
    "InputError",
    "SolveError",
    "ConvergenceError",
    "SingularStageWarning",
    # entropy-regularized LQ games (SPEC 4, paper 001)
    "EntropyLQGame",
    "EntropyLQSolution",
    "EntropyPOResult",
    "EpsilonReport",
    "entropy_lq_game",
    "entropy_lq_nash",
    "entropy_po",
    "entropy_policy_value",
    "entropy_best_response",
    "entropy_epsilon",
]
