"""gamesolve: Nash equilibria of dynamic games (C++/Eigen core, numpy API).

Subpackages by game family (notation and equations in ``docs/theory.md``):

* :mod:`gamesolve.lq` -- linear-quadratic games: finite horizon, infinite horizon
  (``lq_nash``), policy-gradient analysis, entropy-regularized games;
* :mod:`gamesolve.nonlinear` -- nonlinear games (dynamics, costs) and iLQGames;
* :mod:`gamesolve.examples` -- the papers' games;
* :mod:`gamesolve.equilibrium` -- best response, policy value and Nash gap, one protocol
  for every game family;
* :mod:`gamesolve.results` -- the shared result vocabulary (:class:`Status`, :class:`Info`);
* :mod:`gamesolve.markov` -- Markov potential games and softmax policy gradients;
* :mod:`gamesolve.potential` -- near-potential games: NePPO (``neppo``) searches a potential
  family for a cooperative solution that is an approximate Nash equilibrium;
* :mod:`gamesolve.errors` -- the exceptions and warnings.

The public entry points are re-exported here.
"""

from . import equilibrium, errors, examples, lq, markov, nonlinear, potential, results
from ._cpu import CpuInfo, cpu_info  # the ISA level of the compiled core
from .errors import *  # noqa: F403
from .lq import *  # noqa: F403
from .nonlinear import *  # noqa: F403
from .nonlinear import costs, dynamics
from .potential import neppo
from .results import Info, Status

try:  # the installed distribution's version; a source tree on PYTHONPATH has no metadata
    from importlib.metadata import PackageNotFoundError as _NoMetadata
    from importlib.metadata import version as _dist_version

    __version__ = _dist_version("gamesolve")
except _NoMetadata:
    __version__ = "0.1.0"

__all__ = ["examples", "lq", "nonlinear", "markov", "potential", "equilibrium", "Status", "Info", "cpu_info", "CpuInfo",
           "neppo",
           *errors.__all__, *lq.__all__, *nonlinear.__all__]
