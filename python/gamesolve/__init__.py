"""gamesolve: Nash equilibria of dynamic games (C++/Eigen core, numpy API)."""

from . import examples
from .errors import ConvergenceError, GamesolveError, InputError, SingularStageWarning, SolveError

__version__ = "0.1.0"

__all__ = [
    "examples",
    "GamesolveError",
    "InputError",
    "SolveError",
    "ConvergenceError",
    "SingularStageWarning",
]
