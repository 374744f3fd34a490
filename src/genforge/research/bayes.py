"""Bayesian comparison of two sets of paired measurements: the correlated Bayesian t-test and the
Bayesian bootstrap, each with a region of practical equivalence (ROPE).

Both take the paired differences ``d_i`` already oriented so that a positive ``d_i`` means A did better
on pair ``i`` (see :mod:`genforge.research.compare` for the orientation by the metric's direction).

*Correlated Bayesian t-test* (Corani & Benavoli 2015, "A Bayesian approach for comparing cross-validated
algorithms on multiple data sets", Machine Learning 100): under the Nadeau–Bengio (2003) correlation
``rho`` between differences (``rho = n_test / n_total`` for cross-validation, 0 for runs that differ only
by their seed) and a non-informative prior, the posterior of the mean difference is Student-t with
``n - 1`` degrees of freedom, location ``mean(d)`` and scale ``sqrt((1/n + rho/(1 - rho)) var(d))``. The
three probabilities are its mass above ``rope``, within ``[-rope, rope]`` and below ``-rope``; the
classical p-value is the Nadeau–Bengio corrected paired t-test on the same scale. Written here from
those equations with scipy's Student-t (baycomp, the reference implementation, is not a dependency:
``tests/golden/make_research_bayes.py`` checks these closed forms against scipy to 1e-9).

*Bayesian bootstrap* (Rubin 1981): the posterior of the mean difference is sampled as Dirichlet(1, …, 1)
weighted means of the differences; it assumes nothing about their distribution.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from genforge.core.errors import ConfigError
from genforge.research.stats import as_values

DEFAULT_DRAWS = 50_000


@dataclass(frozen=True)
class Posterior:
    """Posterior probabilities that A is better, practically equal, or B is better, plus the posterior
    of the mean difference: Student-t (``df``, ``loc``, ``scale``; ``scale`` 0 is a point mass) or, for
    the Bayesian bootstrap, ``draws``."""

    method: str
    p_a_better: float
    p_equivalent: float
    p_b_better: float
    rope: float
    loc: float
    scale: float
    df: float
    p_value: float | None
    draws: np.ndarray | None = None

    def to_dict(self) -> dict[str, float | str | None]:
        return {
            "method": self.method,
            "p_a_better": self.p_a_better,
            "p_equivalent": self.p_equivalent,
            "p_b_better": self.p_b_better,
            "rope": self.rope,
            "posterior_mean": self.loc,
            "posterior_scale": self.scale,
            "posterior_df": self.df,
            "p_value": self.p_value,
        }


def check_rope(rope: float) -> float:
    if not math.isfinite(rope) or rope < 0:
        raise ConfigError(
            f"--rope must be a non-negative number (the width of practical equality), got {rope}"
        )
    return float(rope)


def correlated_ttest(differences: Sequence[float], rope: float = 0.0, rho: float = 0.0) -> Posterior:
    """Posterior of the mean of ``differences`` (A better when positive) under the correlated t-test."""
    d = as_values(differences, "paired differences")
    rope = check_rope(rope)
    if not 0.0 <= rho < 1.0:
        raise ConfigError(f"rho (the correlation between differences) must lie in [0, 1), got {rho}")
    n = d.size
    loc = float(d.mean())
    df = float(n - 1)
    if np.ptp(d) == 0.0:  # every pair differs by the same amount: the posterior is a point mass
        better, worse = float(loc > rope), float(loc < -rope)
        return Posterior("correlated-t", better, 1.0 - better - worse, worse, rope, loc, 0.0, df, None)
    scale = float(math.sqrt((1.0 / n + rho / (1.0 - rho)) * d.var(ddof=1)))
    posterior = stats.t(df, loc=loc, scale=scale)
    below, above = float(posterior.cdf(-rope)), float(posterior.sf(rope))
    p_value = float(2 * stats.t.sf(abs(loc) / scale, df))
    return Posterior("correlated-t", above, 1.0 - above - below, below, rope, loc, scale, df, p_value)


def bayesian_bootstrap(
    differences: Sequence[float], rope: float = 0.0, draws: int = DEFAULT_DRAWS, seed: int = 0
) -> Posterior:
    """Posterior of the mean of ``differences`` sampled by the Bayesian bootstrap (``draws`` Dirichlet
    weight vectors from ``seed``)."""
    d = as_values(differences, "paired differences")
    rope = check_rope(rope)
    weights = np.random.default_rng(seed).dirichlet(np.ones(d.size), size=draws)
    means = weights @ d
    above = float(np.mean(means > rope))
    below = float(np.mean(means < -rope))
    return Posterior(
        "bayesian-bootstrap",
        above,
        1.0 - above - below,
        below,
        rope,
        float(means.mean()),
        float(means.std(ddof=1)),
        math.inf,
        None,
        draws=means,
    )


def signed_rank(
    differences: Sequence[float],
    rope: float = 0.0,
    prior: float = 0.5,
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
) -> Posterior:
    """The Bayesian signed-rank test (Benavoli, Mangili, Corani, Zaffalon & Ruggeri 2014, "A Bayesian
    Wilcoxon signed-rank test based on the Dirichlet process", ICML; Benavoli et al. 2017, JMLR 18): a
    Dirichlet process posterior over the distribution of the differences with ``prior``
    pseudo-observations at 0. Each draw weighs the observations (and the pseudo-observation); the mass of
    the pairwise sums ``z_i + z_j`` above ``2 rope``, below ``-2 rope`` (a tie counts half) and between,
    under the product weights ``w_i w_j``, says which region the draw favours; the probabilities are the
    shares of draws each region wins. With ``rope`` 0 there is no equivalence region. The weights are
    drawn with ``numpy.random.RandomState(seed)``, as baycomp draws them, so the same seed gives
    baycomp's probabilities (``tests/golden/make_research_goldens.py``). Made for differences measured on
    several datasets or tasks; no normality assumed."""
    d = as_values(differences, "paired differences")
    rope = check_rope(rope)
    if not math.isfinite(prior) or prior <= 0:
        raise ConfigError(f"the prior strength must be a positive number, got {prior}")
    z = np.concatenate(([0.0], d))
    sums = z[:, None] + z[None, :]
    above = (sums > 2 * rope) + 0.5 * (sums == 2 * rope)
    if rope > 0:
        below = (-sums > 2 * rope) + 0.5 * (-sums == 2 * rope)
        regions = [above, 1.0 - above - below, below]
    else:
        regions = [above, np.zeros_like(above), 1.0 - above]
    weights = np.random.RandomState(seed).dirichlet(np.concatenate(([prior], np.ones(d.size))), draws)
    # mass of each region per draw: w^T M w for the region's matrix M
    mass = np.stack([np.einsum("si,ij,sj->s", weights, m, weights) for m in regions], axis=1)
    better, equal, worse = (float(w) for w in np.bincount(mass.argmax(axis=1), minlength=3) / draws)
    return Posterior("signed-rank", better, equal, worse, rope, float(d.mean()), 0.0, math.inf, None)
