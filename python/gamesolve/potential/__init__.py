"""Near-potential games: NePPO's search for a potential whose cooperative solution is near Nash.

Modules (equations in ``docs/neppo.md``):

* :mod:`gamesolve.potential.family` -- the :class:`PotentialFamily` interface (Phi_theta and its
  cooperative solution), deviations and the players' gaps;
* :mod:`gamesolve.potential.search` -- the smooth-max objective, the two-point zeroth-order
  gradient and :func:`neppo` (re-exported as ``gamesolve.neppo``);
* :mod:`gamesolve.potential.tabular` -- reward potentials of Markov and normal-form games and
  their cooperative solution (exact, or at a temperature);
* :mod:`gamesolve.potential.lq` -- potential costs of LQ games and their LQR;
* :mod:`gamesolve.potential.games` -- the papers' toy game, the alpha family with its
  quadratic mixed-strategy potential, and the LQ demo.
"""

from . import family, games, lq, search, tabular
from .family import (PotentialFamily, as_potential, deviate, potential_gaps, register_deviation,
                     register_responses, responses)
from .games import MixedQuadraticPotential
from .lq import CostPotential, potential_game, weighted_costs
from .search import (NePPOHistory, NePPOResult, NePPOSettings, box, neppo, objective, smooth_max,
                     unit_directions, zeroth_order_gradient)
from .tabular import RewardPotential, common_value, team_policy, weighted_rewards

__all__ = ["neppo", "objective", "smooth_max", "zeroth_order_gradient", "unit_directions", "box", "NePPOResult",
           "NePPOSettings", "NePPOHistory", "PotentialFamily", "RewardPotential", "CostPotential",
           "MixedQuadraticPotential", "potential_gaps", "deviate", "register_deviation", "register_responses",
           "responses", "as_potential", "team_policy", "common_value", "weighted_rewards", "weighted_costs",
           "potential_game", "family", "search", "tabular", "lq", "games"]
