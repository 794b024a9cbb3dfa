"""gamesolve: Nash equilibria of dynamic games (C++/Eigen core, numpy API)."""

from . import examples
from .lq import (
    LQGameSolution,
    evaluate_lq_strategy,
    get_num_threads,
    set_num_threads,
    solve_lq_game,
    solve_lq_games,
)
# issue 3: infinite-horizon LQ Nash and policy-gradient analysis
from .lq_nash import LQNashSolution, guided_lq_nash, lq_nash
from .policy_gradient import (
    PGTrajectory,
    lq_cost,
    pseudo_gradient,
    pseudo_gradient_jacobian,
    simulate_policy_gradient,
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
    # issue 3
    "lq_nash",
    "LQNashSolution",
    "guided_lq_nash",
    "lq_cost",
    "pseudo_gradient",
    "pseudo_gradient_jacobian",
    "simulate_policy_gradient",
    "PGTrajectory",
]
