"""The result of :func:`gamesolve.ilqgames` and its iteration log."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..results import Info, summary
from .game import Game

__all__ = ["ILQGamesResult", "IterationRecord"]

#: Iteration records whose costs are still to be evaluated, at most this many member trajectories.
_LOG_CHUNK = 4096


@dataclass(frozen=True)
class IterationRecord:
    """One iteration of :func:`ilqgames` (arrays over the members active in it).

    Attributes
    ----------
    iteration : int
    active : (B,) int array
        Batch indices of the members iterated.
    alpha : (B,) array
        Accepted step sizes (0 where the line search failed).
    step : (B,) array
        Trajectory change of the accepted step, ``max_t |x_t - xs_t|_inf``.
    nash_residual : (B,) array
        Last computed first-order Nash residual (it is evaluated only once a
        member's trajectory change is at most ``tol``; NaN before).
    costs : (B, N) array
        Players' total costs after the step.
    singular_stages : int
        LQ stage systems solved for the minimum-norm equilibrium.
    """

    iteration: int
    active: np.ndarray
    alpha: np.ndarray
    step: np.ndarray
    nash_residual: np.ndarray
    costs: np.ndarray
    singular_stages: int


@dataclass(frozen=True, repr=False)
class ILQGamesResult:
    """Result of :func:`ilqgames`. A batched call adds a leading batch axis to every array.

    Attributes
    ----------
    xs : ([B,] T+1, n) array
        State trajectory under the returned strategies.
    us : ([B,] T, m) array
        Controls along it.
    K : ([B,] T, m, n) array
        Feedback gains.
    k : ([B,] T, m) array
        Feedforward terms of the strategies in the global [theory §1] form
        ``u_t = -K_t x_t - k_t``, i.e. ``k_t = -(us_t + K_t xs_t)``.
    costs : ([B,] N) array
        Players' total costs of (xs, us).
    converged : bool or (B,) bool array
    iterations : int or (B,) int array
        LQ solves performed for each member.
    status : Status or (B,) object array of Status
        ``converged`` / ``max_iterations`` / ``line_search_failed`` / ``diverged``
        (:class:`gamesolve.Status`).
    nash_residual : float or (B,) array
        First-order Nash residual at the returned solution (NaN if the trajectory
        change never dropped below ``tol``, so it was never evaluated).
    step : float or (B,) array
        Trajectory change of the last accepted step.
    log : tuple of IterationRecord
    timings : dict
        Seconds spent in ``rollout``, ``derivatives``, ``lq_solve``,
        ``line_search`` (backtracking rollouts and acceptance tests) and
        ``residual``, summed over the iterations.
    info : Info
        ``iterations``, ``residual`` (= ``nash_residual``), ``residuals`` (the Nash
        residual of the trajectory after each iteration, NaN where it was not
        evaluated) and the wall ``time`` of the call. Batched: the most
        iterations, the largest final residual, residuals ``(B, iterations)``.
    game : Game
        The game solved (for :meth:`nash_gap`).
    """

    xs: np.ndarray
    us: np.ndarray
    K: np.ndarray
    k: np.ndarray
    costs: np.ndarray
    converged: object
    iterations: object
    status: object
    nash_residual: object
    step: object
    log: tuple
    timings: dict
    info: Info
    game: Game

    def __repr__(self) -> str:
        status = self.status
        if np.ndim(status):
            status = f"{int(np.count_nonzero(self.converged))}/{np.size(status)} converged"
        return summary("ILQGamesResult", status, {"iterations": self.iterations, "costs": self.costs,
                                                 "nash_residual": self.nash_residual, "K": self.K})

    def nash_gap(self, x0=None, **options):
        """The Nash gap of the returned feedback strategies from ``x0`` (default: ``xs[..., 0, :]``), by the
        nonlinear family's local best responses (:func:`gamesolve.nonlinear.nash.best_response`;
        ``options`` go to its iLQR solve)."""
        from . import nash

        x0 = self.xs[..., 0, :] if x0 is None else x0
        return nash.nash_gap(self.game, self, x0=x0, horizon=self.us.shape[-2], **options)


class _Log:
    """The iteration records: their players' costs are evaluated in batches of iterations (one vectorized
    :meth:`Game.total_costs` call instead of one per iteration), at once when printing."""

    def __init__(self, game, verbose):
        self.game, self.verbose, self.records, self.pending, self.n_pending = game, verbose, [], [], 0

    def add(self, it, parts, s):
        if len(parts) == 1:  # one chunk (each part's arrays are its own)
            act, alpha, step, resid = parts[0][:4]
        else:
            act, alpha, step, resid = (np.concatenate([p[j] for p in parts]) for j in range(4))
        rec = IterationRecord(it, act, alpha, step, resid, None, sum(p[4] for p in parts))
        self.pending.append((rec, s.X[act], s.U[act]))
        self.n_pending += act.size
        if self.verbose or self.n_pending >= _LOG_CHUNK:
            self.flush()
        if self.verbose:
            rmax = f"{np.nanmax(resid):.3e}" if np.isfinite(resid).any() else "nan"
            print(f"iLQGames it {it:3d}: active {act.size:5d}  alpha min {alpha.min():.3g}  "
                  f"step max {np.max(step):.3e}  residual max {rmax}  "
                  f"costs[0] {np.array2string(self.records[-1].costs[0], precision=4)}")

    def flush(self):
        if self.pending:
            X, U = (np.concatenate([p[j] for p in self.pending]) for j in (1, 2))
            costs = self.game.total_costs(X, U)
            off = 0
            for rec, x, _ in self.pending:
                self.records.append(replace(rec, costs=costs[off:off + x.shape[0]]))
                off += x.shape[0]
        self.pending.clear()
        self.n_pending = 0

    def close(self):
        self.flush()
        return tuple(self.records)
