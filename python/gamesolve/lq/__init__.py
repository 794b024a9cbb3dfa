"""Linear-quadratic games.

Modules, one per idea (notation and equations in ``docs/theory.md``):

* :mod:`gamesolve.lq.game` -- the LQ game (:class:`LQGame`), built and checked once by
  :func:`lq_game` / :func:`lq_games`;
* :mod:`gamesolve.lq.finite` -- finite-horizon feedback Nash equilibria (coupled
  Riccati recursion), batched solves and policy evaluation;
* :mod:`gamesolve.lq.infinite` -- infinite-horizon feedback Nash (coupled algebraic
  Riccati equations, ``lq_nash``) and the guided game;
* :mod:`gamesolve.lq.policy_gradient` -- costs, pseudo-gradients and their Jacobian
  for stationary linear policies;
* :mod:`gamesolve.lq.entropy` -- entropy-regularized LQ games and their policy
  optimization.
"""

from . import entropy, finite, game, infinite, policy_gradient
from .entropy import *  # noqa: F403
from .finite import *  # noqa: F403
from .game import *  # noqa: F403
from .infinite import *  # noqa: F403
from .policy_gradient import *  # noqa: F403

__all__ = [*game.__all__, *finite.__all__, *infinite.__all__, *policy_gradient.__all__, *entropy.__all__]
