"""Nonlinear games and iLQGames.

Modules, one per idea (notation and equations in ``docs/theory.md``):

* :mod:`gamesolve.nonlinear.game` -- a game: dynamics, per-player costs, sizes;
* :mod:`gamesolve.nonlinear.approximation` -- its local LQ game (linearization, quadraticization);
* :mod:`gamesolve.nonlinear.dynamics` -- built-in dynamics with analytic Jacobians;
* :mod:`gamesolve.nonlinear.costs` -- built-in cost terms with analytic derivatives;
* :mod:`gamesolve.nonlinear.solve` -- iLQGames (iterated LQ games): the entry point;
  :mod:`~gamesolve.nonlinear.iteration` (the loop), :mod:`~gamesolve.nonlinear.local` (the local
  LQ game's solve, rollout, Nash residual), :mod:`~gamesolve.nonlinear.result` (its result);
* :mod:`gamesolve.nonlinear.nash` -- policy value, local best response and Nash gap (the equilibrium protocol).
"""

from . import (
    approximation,
    costs,
    dynamics,
    game,
    iteration,
    local,
    nash,
    result,
    solve,
)
from .approximation import LQApproximation, fd_hessian, fd_jacobian
from .game import *  # noqa: F403
from .solve import *  # noqa: F403

__all__ = ["costs", "dynamics", "LQApproximation", "fd_jacobian", "fd_hessian", *game.__all__, *solve.__all__]
