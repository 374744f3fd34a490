"""Summaries of a figure measured over seeds: mean ± std, Student-t, bootstrap percentile and BCa
confidence intervals, the interquartile mean, and how many seeds a given difference needs.

The bootstrap is written here rather than called from ``scipy.stats.bootstrap`` for two reasons: the
interquartile mean needs the same resamples as the mean (one resample matrix, several statistics), and
the report must state exactly which resamples it used. The resamples are drawn exactly as scipy draws
them (``numpy.random.default_rng(seed).integers(0, n, (n_resamples, n))``) and the intervals follow
Efron & Tibshirani (1993) 14.3 and 15.4 as scipy does, so ``tests/golden/make_research_stats.py`` can
check every interval against ``scipy.stats.bootstrap`` to 1e-9 on the same seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy import special, stats

from genforge.core.errors import ConfigError

DEFAULT_RESAMPLES = 9999
DEFAULT_CONFIDENCE = 0.95


def as_values(values: Sequence[float], what: str = "values", minimum: int = 2) -> np.ndarray:
    """``values`` as a float64 vector, refused with the reason when there are fewer than ``minimum``
    or one is not a finite number."""
    array = np.asarray(values, dtype=np.float64).ravel()
    if array.size < minimum:
        raise ConfigError(
            f"{what}: {array.size} value(s), and a confidence interval needs at least {minimum}: "
            "run more seeds"
        )
    if not np.all(np.isfinite(array)):
        raise ConfigError(f"{what}: a value is not a finite number ({array.tolist()})")
    return array


def _check_confidence(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ConfigError(f"confidence must lie strictly between 0 and 1, got {confidence}")
    return float(confidence)


def interquartile_mean(values: np.ndarray, axis: int = -1) -> np.ndarray:
    """Mean of the middle 50 % (Agarwal et al. 2021, "Deep RL at the edge of the statistical precipice"):
    ``scipy.stats.trim_mean`` with 25 % cut from each end."""
    return stats.trim_mean(values, 0.25, axis=axis)


def student_t_interval(
    values: Sequence[float], confidence: float = DEFAULT_CONFIDENCE
) -> tuple[float, float]:
    """Two-sided Student-t interval of the mean (n - 1 degrees of freedom)."""
    x = as_values(values)
    confidence = _check_confidence(confidence)
    sem = x.std(ddof=1) / math.sqrt(x.size)
    half = stats.t.ppf(0.5 + confidence / 2, df=x.size - 1) * sem
    return float(x.mean() - half), float(x.mean() + half)


def bootstrap_distribution(
    values: np.ndarray, statistic: Callable[..., np.ndarray], n_resamples: int, seed: int
) -> np.ndarray:
    """The statistic on ``n_resamples`` resamples with replacement (drawn as scipy draws them)."""
    index = np.random.default_rng(seed).integers(0, values.size, (n_resamples, values.size))
    return statistic(values[index], axis=-1)


def _percentile_of_score(distribution: np.ndarray, score: float) -> float:
    below = np.count_nonzero(distribution < score) + np.count_nonzero(distribution <= score)
    return below / (2 * distribution.size)


def bca_levels(
    values: np.ndarray, statistic: Callable[..., np.ndarray], distribution: np.ndarray, alpha: float
) -> tuple[float, float]:
    """Bias-corrected and accelerated quantile levels (Efron & Tibshirani 1993, eq. 14.10 and 14.15):
    bias ``z0`` from the share of resampled statistics below the estimate, acceleration ``a`` from the
    jackknife."""
    estimate = float(statistic(values, axis=-1))
    z0 = special.ndtri(_percentile_of_score(distribution, estimate))
    leave_one_out = np.array([statistic(np.delete(values, i), axis=-1) for i in range(values.size)])
    n = float(values.size)
    influence = (n - 1) * (leave_one_out.mean() - leave_one_out)
    acceleration = (np.sum(influence**3) / n**3) / (6 * (np.sum(influence**2) / n**2) ** 1.5)
    z_alpha = float(special.ndtri(alpha))
    levels = []
    for z in (z_alpha, -z_alpha):
        shifted = z0 + z
        levels.append(float(special.ndtr(z0 + shifted / (1 - acceleration * shifted))))
    return levels[0], levels[1]


def bootstrap_interval(
    values: Sequence[float],
    statistic: Callable[..., np.ndarray] = np.mean,
    *,
    method: str = "bca",
    confidence: float = DEFAULT_CONFIDENCE,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> tuple[float, float]:
    """Two-sided bootstrap interval of ``statistic`` (``percentile`` or ``bca``); ``(nan, nan)`` when
    the values do not vary (BCa is undefined there and a percentile interval would claim certainty)."""
    x = as_values(values)
    confidence = _check_confidence(confidence)
    if method not in ("percentile", "bca"):
        raise ConfigError(f"bootstrap method must be percentile or bca, got '{method}'")
    if n_resamples < 100:
        raise ConfigError(f"n_resamples must be at least 100, got {n_resamples}")
    if np.ptp(x) == 0:
        return math.nan, math.nan
    distribution = bootstrap_distribution(x, statistic, n_resamples, seed)
    alpha = (1 - confidence) / 2
    if method == "bca":
        low, high = bca_levels(x, statistic, distribution, alpha)
    else:
        low, high = alpha, 1 - alpha
    lower, upper = np.quantile(distribution, [low, high])
    return float(lower), float(upper)


def seeds_needed(std: float, difference: float, confidence: float = 0.95, power: float = 0.8) -> int | None:
    """Seeds per side for a two-sample test at ``confidence`` to detect ``difference`` with ``power``
    when the per-seed standard deviation is ``std`` (normal approximation,
    ``n = 2 ((z_{1-α/2} + z_power) σ / Δ)²``); None when ``std`` is 0 or ``difference`` is 0."""
    if std <= 0 or difference == 0 or not math.isfinite(std):
        return None
    z = stats.norm.ppf(0.5 + confidence / 2) + stats.norm.ppf(power)
    return max(2, math.ceil(2 * (z * std / abs(difference)) ** 2))


def summarize(
    values: Sequence[float],
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> dict[str, Any]:
    """Everything a table row over seeds needs: n, mean, std (n - 1), min, max, IQM, the Student-t
    interval, the bootstrap percentile and BCa intervals of the mean and the percentile interval of the
    IQM, all at ``confidence`` with ``n_resamples`` resamples drawn from ``seed``."""
    x = as_values(values)
    out: dict[str, Any] = {
        "n": int(x.size),
        "mean": float(x.mean()),
        "std": float(x.std(ddof=1)),
        "min": float(x.min()),
        "max": float(x.max()),
        "iqm": float(interquartile_mean(x)),
        "confidence": _check_confidence(confidence),
        "n_resamples": n_resamples,
        "bootstrap_seed": seed,
    }
    out["ci_t"] = list(student_t_interval(x, confidence))
    for method in ("percentile", "bca"):
        out[f"ci_{method}"] = list(
            bootstrap_interval(x, method=method, confidence=confidence, n_resamples=n_resamples, seed=seed)
        )
    out["ci_iqm"] = list(
        bootstrap_interval(
            x,
            interquartile_mean,
            method="percentile",
            confidence=confidence,
            n_resamples=n_resamples,
            seed=seed,
        )
    )
    return out
