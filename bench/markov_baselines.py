"""Baselines for bench_markov.py: the same exact learners written two other ways.

* ``learn_loops`` -- straightforward numpy: loops over initializations, players and states
  (one linear solve per evaluation, policy iteration per player for the Nash gap);
* ``learn_torch`` -- the updates vectorized over initializations and players in torch (CPU,
  float64), a port of gamesolve.markov's former numpy kernels (the shape of a PyTorch
  implementation such as the paper's).

Both return ``(poa, gap)`` histories (B, iterations + 1) and must match ``gamesolve.markov.learn``
(bench_markov.py checks it). Methods: "pg", "npg", "npg-br" (``K`` inner steps), "log-barrier" (``lam``).
"""

from __future__ import annotations

import numpy as np


# ---------------------------------------------------------------- straightforward numpy loops
def _softmax_rows(t):
    e = np.exp(t - t.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _evaluate_loops(game, pols):
    """V (N, S), marginal Q list of (S, A_i), d (S,), value (N,) for one profile, by loops."""
    lay, N, S, g = game.joint, game.n_players, game.n_states, game.gamma
    P_pi, r_pi = np.zeros((S, S)), np.zeros((N, S))
    pi_minus = np.zeros((N, S, lay.A))
    for s in range(S):
        w = np.ones(lay.A)
        for i in range(N):
            w = w * pols[i][s, lay.index[i]]
        P_pi[s] = w @ lay.P[s]
        r_pi[:, s] = lay.r[:, s] @ w
        for i in range(N):
            others = np.ones(lay.A)
            for j in range(N):
                if j != i:
                    others = others * pols[j][s, lay.index[j]]
            pi_minus[i, s] = others
    M = np.linalg.inv(np.eye(S) - g * P_pi)
    V = r_pi @ M.T
    q = []
    for i in range(N):
        Q = lay.r[i] + g * lay.P @ V[i]
        q.append(np.stack([np.bincount(lay.index[i], pi_minus[i, s] * Q[s], game.n_actions[i]) for s in range(S)]))
    return V, q, game.mu @ M, V @ game.mu, pi_minus


def _induced_loops(game, pi_minus, i):
    lay, S, A_i = game.joint, game.n_states, game.n_actions[i]
    P_i, r_i = np.zeros((S, A_i, S)), np.zeros((S, A_i))
    for s in range(S):
        for k in range(A_i):
            w = pi_minus[i, s] * (lay.index[i] == k)
            P_i[s, k] = w @ lay.P[s]
            r_i[s, k] = w @ lay.r[i, s]
    return P_i, r_i


def _eval_mdp_loops(P_i, r_i, p, gamma):
    S = len(r_i)
    P_pi = np.stack([p[s] @ P_i[s] for s in range(S)])
    V = np.linalg.solve(np.eye(S) - gamma * P_pi, np.sum(p * r_i, -1))
    return V, r_i + gamma * P_i @ V


def _br_value_loops(game, P_i, r_i, start):
    act = start.copy()
    A_i = r_i.shape[1]
    while True:
        V, Q = _eval_mdp_loops(P_i, r_i, np.eye(A_i)[act], game.gamma)
        changed = False
        for s in range(len(act)):
            if Q[s].max() > Q[s, act[s]] + 1e-12 * (1 + abs(Q[s, act[s]])):
                act[s], changed = int(Q[s].argmax()), True
        if not changed:
            return game.mu @ V


def learn_loops(game, method, theta0, *, iterations, step, K=5, lam=0.0):
    """theta0: (B, N, S, A) (equal action counts). Returns (poa, gap), each (B, iterations + 1)."""
    from gamesolve.markov.exact import optimal_welfare

    B, N, S, A = theta0.shape
    g, opt = game.gamma, optimal_welfare(game)
    poa, gap = np.zeros((B, iterations + 1)), np.zeros((B, iterations + 1))
    for b in range(B):
        theta = [theta0[b, i].copy() for i in range(N)]
        for t in range(iterations + 1):
            pols = [_softmax_rows(th) for th in theta]
            V, q, d, value, pi_minus = _evaluate_loops(game, pols)
            mdps = [_induced_loops(game, pi_minus, i) for i in range(N)]
            br = [_br_value_loops(game, *mdps[i], q[i].argmax(-1)) for i in range(N)]
            gap[b, t] = max(br[i] - value[i] for i in range(N))
            poa[b, t] = value.sum() / opt
            if t == iterations:
                break
            adv = [q[i] - V[i][:, None] for i in range(N)]
            if method in ("pg", "log-barrier"):
                for i in range(N):
                    step_i = d[:, None] * pols[i] * adv[i]
                    if lam:
                        step_i = step_i + lam * (1 - A * pols[i]) / (S * A)
                    theta[i] = theta[i] + step * step_i
            elif method == "npg":
                for i in range(N):
                    theta[i] = theta[i] + step / (1 - g) * adv[i]
            else:  # npg-br
                cand, gains = [], []
                for i in range(N):
                    th, a = theta[i].copy(), adv[i]
                    for k in range(K):
                        if k:
                            Vi, Qi = _eval_mdp_loops(*mdps[i], _softmax_rows(th), g)
                            a = Qi - Vi[:, None]
                        th = th + step / (1 - g) * a
                    Vi, _ = _eval_mdp_loops(*mdps[i], _softmax_rows(th), g)
                    cand.append(th)
                    gains.append(game.mu @ Vi - value[i])
                best = int(np.argmax(gains))
                theta[best] = cand[best]
    return poa, gap


# ---------------------------------------------------------------- torch, vectorized
def learn_torch(game, method, theta0, *, iterations, step, K=5, lam=0.0):
    """The vectorized exact learner in torch (CPU, float64). Same contract as learn_loops."""
    import torch

    from gamesolve.markov.exact import optimal_welfare

    lay, N, S, g = game.joint, game.n_players, game.n_states, game.gamma
    P = torch.tensor(lay.P)
    r = torch.tensor(lay.r)
    PR = torch.tensor(lay.PR)
    P_flat_T = torch.tensor(lay.P_flat.T.copy())
    onehot = torch.tensor(lay.onehot)
    index = torch.tensor(lay.index)
    mu = torch.tensor(game.mu)
    eye = torch.eye(S, dtype=torch.float64)
    opt = optimal_welfare(game)
    theta = torch.tensor(theta0)
    B, A = theta.shape[0], lay.A
    Amax = theta.shape[-1]

    def evaluate(pol):
        f = [pol[:, i][..., index[i]] for i in range(N)]
        pre, suf = [torch.ones_like(f[0])] * N, [torch.ones_like(f[0])] * N
        for i in range(1, N):
            pre[i] = pre[i - 1] * f[i - 1]
            suf[N - 1 - i] = suf[N - i] * f[N - i]
        pi_minus = torch.stack([pre[i] * suf[i] for i in range(N)], 1)
        pi = pi_minus[:, 0] * f[0]
        pr = (pi[:, :, None, :] @ PR)[:, :, 0, :]
        M = torch.linalg.inv(eye - g * pr[..., :S])
        V = (M @ pr[..., S:]).transpose(1, 2)
        Q = r + g * (V @ P_flat_T).reshape(B, N, S, A)
        q = (pi_minus * Q) @ onehot
        return V, q, mu @ M, V @ mu, pi_minus

    def induced(pi_minus):
        W = pi_minus[..., None, :] * onehot.transpose(1, 2)[None, :, None]  # (B, N, S, Amax, A)
        W = W.permute(2, 0, 1, 3, 4).reshape(S, B * N * Amax, A)
        P_i = (W @ P).reshape(S, B, N, Amax, S).permute(1, 2, 0, 3, 4).contiguous()
        return P_i, (pi_minus * r) @ onehot

    def eval_mdp(P_i, r_i, p):
        P_pi = (p[..., None] * P_i).sum(-2)
        V = torch.linalg.solve(eye - g * P_pi, (p * r_i).sum(-1)[..., None])
        return V[..., 0], r_i + g * (P_i.reshape(B, N, S * Amax, S) @ V).reshape(r_i.shape)

    def br_values(P_i, r_i, q):
        act = q.argmax(-1)
        while True:
            V, Q = eval_mdp(P_i, r_i, torch.nn.functional.one_hot(act, Amax).double())
            cur = Q.gather(-1, act[..., None])[..., 0]
            better = Q.max(-1).values > cur + 1e-12 * (1 + cur.abs())
            if not bool(better.any()):
                return V @ mu
            act = torch.where(better, Q.argmax(-1), act)

    poa, gap = np.zeros((B, iterations + 1)), np.zeros((B, iterations + 1))
    rows = torch.arange(B)
    for t in range(iterations + 1):
        pol = torch.softmax(theta, -1)
        V, q, d, value, pi_minus = evaluate(pol)
        P_i, r_i = induced(pi_minus)
        br = br_values(P_i, r_i, q)
        gap[:, t] = (br - value).max(-1).values.numpy()
        poa[:, t] = (value.sum(-1) / opt).numpy()
        if t == iterations:
            break
        adv = q - V[..., None]
        if method in ("pg", "log-barrier"):
            upd = d[:, None, :, None] * pol * adv
            if lam:
                upd = upd + lam * (1 - Amax * pol) / (S * Amax)
            theta = theta + step * upd
        elif method == "npg":
            theta = theta + step / (1 - g) * adv
        else:
            th, a = theta, adv
            for k in range(K):
                if k:
                    Vi, Qi = eval_mdp(P_i, r_i, torch.softmax(th, -1))
                    a = Qi - Vi[..., None]
                th = th + step / (1 - g) * a
            Vi, _ = eval_mdp(P_i, r_i, torch.softmax(th, -1))
            best = (Vi @ mu - value).argmax(-1)
            theta = theta.clone()
            theta[rows, best] = th[rows, best]
    return poa, gap
