"""Entropy-regularized general-sum LQ games and policy optimization (``docs/entropy.md``).

Modules: :mod:`.game` (the game and its rules), :mod:`.nash` (the exact equilibrium),
:mod:`.evaluation` (policy value, best response, epsilon: the equilibrium protocol),
:mod:`.po` (Algorithm 1).

Reference: M. A. uz Zaman, S. Aggarwal, M. Bastopcu, T. Başar, "Policy
Optimization finds Nash Equilibrium in Regularized General-Sum LQ Games"
(below: Zaman et al.).

Notation (``docs/theory.md``, sections 1 and 4). N players, state x in R^n,
player i's control u^i in R^{m_i}, joint control u in R^m. Dynamics

    x_{t+1} = A_t x_t + B_t u_t + w_t,        w_t ~ N(0, W_t)   (W = ``noise_cov``)

and player i pays, with **no 1/2** on the quadratic terms,

    sum_t [ x_t'Q_t^i x_t + u_t'R_t^i u_t + tau KL(pi_t^i(.|x_t) || N(0, I)) ] + x_T'Q_T^i x_T.

R^i is player i's weight on the joint control; it must be block-diagonal
(player i may weigh the other players' controls, R^{ij}, but not products of
two players' controls), and its own block R^{ii} must be positive definite.
Own-control weights (a list of N (m_i, m_i) matrices) are the R^{ii} of an
otherwise-zero R^i. The game is an :class:`EntropyLQGame`: a finite-horizon
:class:`~gamesolve.lq.game.LQGame` (validated by ``lq_game``) plus tau and W,
with the entropy-specific rules checked once, in C++.

Policies are linear Gaussian: u^i ~ N(-K_t^i x, Sigma_t^i) (Zaman et al.
write N(K x, Sigma): their K is our -K). The value of player i under a
linear-Gaussian profile is x'P_t^i x + p_t^i.

Derivation of the Nash recursion (Zaman et al. Thm. III.1 in our units). At
stage t, with the others playing N(-K^j x, Sigma^j), player i minimizes over pi

    E_pi[u'(R^{ii} + B^i'P^i B^i) u + 2 u'B^i'P^i (A - B^{-i}K^{-i}) x] + tau KL(pi || N(0, I)) + const.

Lemma III.2 gives the Gaussian minimizer with mean -K^i x and covariance
Sigma^i = (I + 2 (R^{ii} + B^i'P^i B^i) / tau)^{-1} = tau/2 S_ii^{-1},
S_ii = tau/2 I + R^{ii} + B^i'P^i B^i. Since tau KL(N(mu, Sigma) || N(0, I)) =
tau/2 mu'mu + tau/2 (tr Sigma - m_i - log det Sigma), the means are the feedback
Nash equilibrium of the finite-horizon LQ game with R^i -> R~^i = R^i + tau/2 E_ii
(tau/2 added to player i's own block; Zaman et al. eq. 20), and P^i is that
game's Z^i. The constants follow from taking expectations over the Gaussian
controls and the noise (Zaman et al. eq. 24):

    p_t^i = p_{t+1}^i + <R~^i, Sigma_t> - tau/2 (m_i + log det Sigma_t^i)
            + <W_t + B_t Sigma_t B_t', P_{t+1}^i>,

Sigma_t the block-diagonal joint covariance and <X, Y> = tr(X'Y).

The best response of player i to linear-Gaussian opponents is the N = 1 game
obtained by folding the others into the data: A -> A - B^{-i}K^{-i},
Q^i -> Q^i + K^{-i}'R^i_{[-i,-i]}K^{-i}, W -> W + B^{-i}Sigma^{-i}B^{-i}' and the
constant tr(R^i_{[-i,-i]} Sigma^{-i}) per stage; it is solved by the same C++
recursion. Policy value and best response are this family's implementation of
the equilibrium protocol (:mod:`gamesolve.equilibrium`; profile (K, Sigma),
value the expected cost from x0 ~ (x0, x0_cov)), and :func:`entropy_epsilon`
is its Nash gap.
"""

from . import evaluation, game, nash, po
from .evaluation import *  # noqa: F403
from .game import *  # noqa: F403
from .nash import *  # noqa: F403
from .po import *  # noqa: F403

__all__ = [*game.__all__, *nash.__all__, *evaluation.__all__, *po.__all__]
