"""Markov (potential) games: exact values, Nash gap, price of anarchy and softmax policy-gradient learners.

Modules (notation and equations in ``docs/markov.md``):

* :mod:`gamesolve.markov.game` -- :class:`MarkovGame` (validated once) and the Coordination Game;
* :mod:`gamesolve.markov.exact` -- values, Q-functions, advantages, visitation, best responses
  (policy iteration), Nash gap (through :mod:`gamesolve.equilibrium`), price of anarchy;
* :mod:`gamesolve.markov.learners` -- ``learn``: softmax PG, log-barrier PG, NPG, NPG-BR,
  batched over initializations;
* :mod:`gamesolve.markov.sampled` -- REINFORCE-style estimates from simulated episodes;
* :mod:`gamesolve.markov.neural` -- neural softmax policies (needs torch; imported on demand).
"""

from . import exact, game, learners, sampled
from .exact import advantages, best_response, optimal_welfare, player_gaps, q_values, visitation
from .exact import nash_gap, price_of_anarchy, values
from .game import MarkovGame, coordination_game
from .learners import LearnResult, learn

__all__ = ["MarkovGame", "coordination_game", "values", "nash_gap", "price_of_anarchy", "learn",
           "LearnResult", "q_values", "advantages", "visitation", "best_response", "player_gaps",
           "optimal_welfare"]
