"""gamesolve: Nash equilibria of dynamic games (C++/Eigen core, numpy API).

The public names are those of each module's ``__all__``: finite-horizon LQ
games (:mod:`gamesolve.lq`, SPEC 2), iLQGames for nonlinear games
(:mod:`gamesolve.games`, :mod:`gamesolve.ilqgames`, SPEC 6) with built-in
:mod:`gamesolve.dynamics` and :mod:`gamesolve.costs`, entropy-regularized LQ
games (:mod:`gamesolve.entropy`, SPEC 4), infinite-horizon LQ Nash and the
policy-gradient analysis of paper 000 (``gamesolve.lq_nash`` module, SPEC 3;
:mod:`gamesolve.policy_gradient`), errors, and the papers' games in
:mod:`gamesolve.examples`. (``gamesolve.ilqgames`` is the function; the module
is ``sys.modules["gamesolve.ilqgames"]``.)
"""

from . import costs, dynamics, examples
from . import entropy as _entropy
from . import errors as _errors
from . import games as _games
from . import ilqgames as _ilqgames_module
from . import lq as _lq
from . import lq_nash as _lq_nash_module
from . import policy_gradient as _policy_gradient
from ._cpu import CpuInfo, cpu_info  # the ISA level of the compiled core
from .entropy import *  # noqa: F403
from .errors import *  # noqa: F403
from .games import *  # noqa: F403
from .ilqgames import *  # noqa: F403  (binds gamesolve.ilqgames to the function, SPEC 11)
from .lq import *  # noqa: F403
from .lq_nash import *  # noqa: F403  (binds gamesolve.lq_nash to the function, SPEC 11)
from .policy_gradient import *  # noqa: F403

__version__ = "0.1.0"

__all__ = ["examples", "costs", "dynamics", "cpu_info", "CpuInfo", *_lq.__all__, *_games.__all__, *_ilqgames_module.__all__,
           *_entropy.__all__, *_errors.__all__,
           *_lq_nash_module.__all__, *_policy_gradient.__all__]
