"""Neural softmax policies trained with exact policy gradients (needs torch).

Each player i has its own network from the one-hot global state to its action distribution,
the architecture of Chen, Zhang and Doan (table G.2):
one-hot(s) (S) -> FC(H) -> ReLU -> FC(H) -> ReLU -> Linear(A_i) -> softmax, with H = 2^N
by default (the activation is not stated in the paper; ReLU is our choice). Initial weights
follow torch's ``nn.Linear`` default (uniform in +-1/sqrt(fan_in)), seeded.

Gradients are exact: the values V^i(mu) = mu' (I - gamma P_pi)^-1 r_pi^i are computed in
torch from the networks' policies by a linear solve, and each player differentiates its own
value with respect to its own weights (the others' policies detached), plus the optional log
barrier lambda sum_{s,a_i} log pi^i(a_i|s) / (S A_i). ``optimizer="sgd"`` is plain gradient
ascent (the paper's NN-PG); ``"adam"`` is torch's Adam (NN-Adam). All initializations train
as one batch. The recorded Nash gap and POA are exact (the compiled kernel, as in
:func:`gamesolve.markov.learn`).

Install torch for CPU with ``pip install torch==2.13.0``.
"""

from __future__ import annotations

import time

import numpy as np

from ..errors import InputError
from .exact import welfare_optimum
from .game import MarkovGame
from .learners import LearnResult, finish, metrics

__all__ = ["learn_neural"]


def _torch():
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - exercised only without torch
        raise ImportError("gamesolve.markov.neural needs torch (pip install torch==2.13.0)") from exc
    return torch


def _init_weights(torch, gen, B, N, S, H, A):
    """Batched layers (B, N, fan_in, fan_out), torch nn.Linear's default uniform init."""
    def layer(fan_in, fan_out):
        bound = 1.0 / np.sqrt(fan_in)
        W = (torch.rand((B, N, fan_in, fan_out), generator=gen, dtype=torch.float64) * 2 - 1) * bound
        b = (torch.rand((B, N, 1, fan_out), generator=gen, dtype=torch.float64) * 2 - 1) * bound
        return [W.requires_grad_(), b.requires_grad_()]

    return layer(S, H) + layer(H, H) + layer(H, A)


def _logits(params, mask):
    """Logits (B, N, S, A_max) of every state's one-hot input (the first layer's rows)."""
    W1, b1, W2, b2, W3, b3 = params
    h = (W1 + b1).relu()
    h = (h @ W2 + b2).relu()
    z = h @ W3 + b3
    return z.masked_fill(~mask[:, None, :], float("-inf"))


def _own_values(torch, game, pol):
    """sum_i V^i(pi^i, sg(pi^-i))(mu) summed into one objective per batch element, and V^i(mu) (B, N).

    Differentiating the objective gives each player the gradient of its own value in its own
    weights. In a team game (every r^i equal) that is the gradient of the common value, and one
    profile suffices; otherwise profile i has player i live and the others detached.
    """
    lay, N, S = game.joint, game.n_players, game.n_states
    index = torch.as_tensor(lay.index)
    f = torch.stack([pol[:, i][..., index[i]] for i in range(N)], 1)  # (B, N, S, A) live factors
    P = torch.tensor(lay.P)
    r = torch.tensor(lay.r)  # (N, S, A)
    mu = torch.tensor(game.mu)
    eye = torch.eye(S, dtype=torch.float64)
    if lay.team:
        pi = f.prod(1)  # (B, S, A)
        P_pi = torch.einsum("bsa,sat->bst", pi, P)
        r_pi = torch.einsum("bsa,sa->bs", pi, r[0])
        V = torch.linalg.solve(eye - game.gamma * P_pi, r_pi[..., None])[..., 0] @ mu  # (B,)
        return V, V[:, None].expand(-1, N)
    mixed = torch.where(torch.eye(N, dtype=torch.bool)[None, :, :, None, None], f[:, None], f.detach()[:, None])
    pi = mixed.prod(2)  # (B, N_profile, S, A): profile i has player i live
    P_pi = torch.einsum("bisa,sat->bist", pi, P)
    r_pi = torch.einsum("bisa,isa->bis", pi, r)
    V = torch.linalg.solve(eye - game.gamma * P_pi, r_pi[..., None])[..., 0] @ mu  # (B, N)
    return V.sum(-1), V


def learn_neural(game: MarkovGame, *, iterations: int, step: float, n_inits: int | None = None, seed: int = 0,
                 optimizer: str = "sgd", lam: float = 0.0, hidden: int | None = None,
                 tol: float = 1e-6) -> LearnResult:
    """Train the neural softmax policies by exact policy gradient (``"sgd"``) or Adam.

    Parameters
    ----------
    game : MarkovGame
    iterations, step : int, float
        Number of updates and the learning rate.
    n_inits : int, optional
        Batch of independent initializations (results gain a leading axis); None: one run.
    seed : int
    optimizer : {"sgd", "adam"}
    lam : float
        Log-barrier coefficient >= 0.
    hidden : int, optional
        Hidden width H (default 2^N).
    tol : float
        Status CONVERGED when every final Nash gap is <= ``tol``.

    Returns
    -------
    LearnResult
        As :func:`gamesolve.markov.learn`; ``.theta`` holds the final logits.
    """
    torch = _torch()
    t_start = time.perf_counter()
    if optimizer not in ("sgd", "adam"):
        raise InputError(f"optimizer must be 'sgd' or 'adam', got {optimizer!r}")
    if not step > 0 or not lam >= 0:
        raise InputError(f"step must be positive and lam non-negative, got step={step}, lam={lam}")
    N, S, lay = game.n_players, game.n_states, game.joint
    B = 1 if n_inits is None else int(n_inits)
    H = 2 ** N if hidden is None else int(hidden)
    gen = torch.Generator().manual_seed(int(seed))
    params = _init_weights(torch, gen, B, N, S, H, lay.A_max)
    mask = torch.as_tensor(lay.mask)
    counts = mask.sum(-1).to(torch.float64)[:, None, None]
    opt = torch.optim.Adam(params, lr=step) if optimizer == "adam" else None
    optimum = welfare_optimum(game)
    gaps = np.full((B, iterations + 1), np.nan)
    poa = np.full_like(gaps, np.nan)
    for t in range(iterations + 1):
        logits = _logits(params, mask)
        pol = torch.softmax(logits, -1)
        pol_np = pol.detach().numpy()
        gaps[:, t], poa[:, t] = metrics(game, pol_np, optimum)
        if t == iterations:
            break
        objective = _own_values(torch, game, pol)[0].sum()
        if lam:
            logp = torch.log_softmax(logits, -1).masked_fill(~mask[:, None, :], 0.0)
            objective = objective + lam * (logp / (S * counts)).sum()
        grads = torch.autograd.grad(objective, params)
        with torch.no_grad():
            if opt is None:
                for p, g in zip(params, grads):
                    p += step * g
            else:
                for p, g in zip(params, grads):
                    p.grad = -g
                opt.step()
    theta = logits.detach().masked_fill(~mask[:, None, :], 0.0).numpy()
    return finish(f"nn-{optimizer}", game, gaps, poa, pol_np, theta, () if n_inits is None else (B,), tol, t_start)
