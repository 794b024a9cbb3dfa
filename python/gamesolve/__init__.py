"""gamesolve: Nash equilibria of dynamic games (C++/Eigen core, numpy API).

The public names are those of each module's ``__all__``: finite-horizon LQ
games (:mod:`gamesolve.lq`, SPEC 2), entropy-regularized LQ games
(:mod:`gamesolve.entropy`, SPEC 4), errors, and the papers' games in
:mod:`gamesolve.examples`.
"""

from . import entropy as _entropy
from . import errors as _errors
from . import examples
from . import lq as _lq
from .entropy import *  # noqa: F403
from .errors import *  # noqa: F403
from .lq import *  # noqa: F403

__version__ = "0.1.0"

__all__ = ["examples", *_lq.__all__, *_errors.__all__, *_entropy.__all__]
