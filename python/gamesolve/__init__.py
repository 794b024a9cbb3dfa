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
from .errors import ConvergenceError, GamesolveError, InputError, SingularStageWarning, SolveError

__version__ = "0.1.0"

__all__ = [
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
