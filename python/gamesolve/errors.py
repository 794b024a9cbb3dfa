"""Exceptions raised by gamesolve.

Every error subclasses a builtin so that callers can catch it without knowing
gamesolve: bad input is a :class:`ValueError`, a numerical failure is a
:class:`numpy.linalg.LinAlgError`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["GamesolveError", "InputError", "SolveError", "ConvergenceError", "SingularStageWarning", "NotConvexWarning"]


class GamesolveError(Exception):
    """Base class of every gamesolve error."""


class InputError(GamesolveError, ValueError):
    """An argument has the wrong shape, non-finite entries, or violates a
    structural requirement (symmetry, definiteness, stabilizability)."""


class SolveError(GamesolveError, np.linalg.LinAlgError):
    """A numerical solve failed (overflow, no stabilizing solution, ...)."""


class ConvergenceError(SolveError):
    """An iterative method did not reach its tolerance and the caller asked for
    an exception rather than an unconverged result."""


class SingularStageWarning(RuntimeWarning):
    """A stage system was singular or ill-conditioned; the minimum-norm
    solution was returned for that stage."""


class NotConvexWarning(RuntimeWarning):
    """Some player's own cost-to-go is not convex in its control at some stage: its best
    response is unbounded below, so the returned profile (a stationary point of the stage
    systems) is no Nash equilibrium. The result's status is ``Status.NOT_CONVEX``."""
