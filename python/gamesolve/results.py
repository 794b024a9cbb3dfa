"""The result vocabulary shared by every solver: :class:`Status` and :class:`Info`.

Every iterative solver of gamesolve (``lq_nash``, iLQGames, entropy policy
optimization, and the learners to come) reports

* ``.status`` -- a :class:`Status`: why it stopped, in one vocabulary;
* ``.info`` -- an :class:`Info`: iterations, the final residual, the residual
  history and the wall time.

Direct (non-iterative) solves, such as the finite-horizon coupled Riccati
recursion, report :attr:`Status.SOLVED`. A result is usable as an equilibrium
when ``status.ok`` is true; ``converged`` attributes of results are exactly that.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Status", "Info"]


class Status(enum.StrEnum):
    """Why a solver stopped.

    A ``StrEnum``: members compare equal to their string values, so
    ``result.status == "converged"`` works as well as
    ``result.status is Status.CONVERGED``.
    """

    #: The iteration met its tolerance; the answer is certified by its residual.
    CONVERGED = "converged"
    #: A direct method finished (no iteration, no tolerance involved).
    SOLVED = "solved"
    #: The iteration limit was reached before the tolerance.
    MAX_ITERATIONS = "max_iterations"
    #: The residual stopped decreasing (no progress over the stall window).
    STALLED = "stalled"
    #: The iterates left the region where the method is defined: non-finite
    #: numbers, or a closed loop that lost stability.
    DIVERGED = "diverged"
    #: No step length decreased the merit function.
    LINE_SEARCH_FAILED = "line_search_failed"
    #: Some player's best-response problem is not convex (its cost is unbounded
    #: below in its own control), so the profile is no equilibrium.
    NOT_CONVEX = "not_convex"

    @property
    def ok(self) -> bool:
        """True for :attr:`CONVERGED` and :attr:`SOLVED`."""
        return self in (Status.CONVERGED, Status.SOLVED)


@dataclass(frozen=True, repr=False)
class Info:
    """How a solve went.

    Attributes
    ----------
    iterations : int
        Iterations performed (0 for a direct solve).
    residual : float
        The final residual the stopping rule tested (NaN if none was computed).
    residuals : (iterations,) ndarray
        The residual after each iteration (may be empty when not recorded).
    time : float
        Wall time of the solve in seconds.
    """

    iterations: int = 0
    residual: float = float("nan")
    residuals: np.ndarray = field(default_factory=lambda: np.empty(0))
    time: float = 0.0

    def __repr__(self) -> str:
        return f"Info(iterations={self.iterations}, residual={self.residual:.3g}, time={self.time * 1e3:.3g} ms)"


def summary(name: str, status: Status | str, parts: dict) -> str:
    """A one-line ``__repr__`` for results: ``Name(status, key=value, ...)``.

    Arrays are shown by shape only, floats with 3 significant digits.
    """

    def fmt(v):
        if isinstance(v, np.ndarray):
            return f"<{'x'.join(map(str, v.shape)) or 'scalar'} array>"
        if isinstance(v, float):
            return f"{v:.3g}"
        return repr(v)

    return f"{name}({str(status)}, " + ", ".join(f"{k}={fmt(v)}" for k, v in parts.items()) + ")"
