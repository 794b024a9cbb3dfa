"""Nonlinear games and iLQGames.

Modules, one per idea (notation and equations in ``docs/theory.md``):

* :mod:`gamesolve.nonlinear.game` -- a game: dynamics, per-player costs, sizes;
* :mod:`gamesolve.nonlinear.dynamics` -- built-in dynamics with analytic Jacobians;
* :mod:`gamesolve.nonlinear.costs` -- built-in cost terms with analytic derivatives;
* :mod:`gamesolve.nonlinear.solve` -- iLQGames (iterated LQ games).
"""

from . import costs, dynamics, game, solve
from .game import *  # noqa: F403
from .solve import *  # noqa: F403

__all__ = ["costs", "dynamics", *game.__all__, *solve.__all__]
