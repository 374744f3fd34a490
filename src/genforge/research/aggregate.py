"""Aggregate figures over runs and tasks with stratified bootstrap intervals, as Agarwal et al. (2021,
"Deep RL at the edge of the statistical precipice") define them and their rliable library computes them.

Scores are a matrix ``(runs, tasks)``: one row per run (seed), one column per task (dataset, metric
setting); a figure measured on one dataset is one column. The aggregates:

- **IQM**: the mean of the middle 50 % of all ``runs x tasks`` scores (25 % cut from each end).
- **median**: the median over tasks of each task's mean over runs.
- **mean**: the mean over tasks of each task's mean over runs.
- **optimality gap**: how far the scores fall short of a target ``gamma``: ``gamma - mean(min(s, gamma))``
  (for a lower-is-better figure, ``mean(max(s, gamma)) - gamma``).
- **probability of improvement** ``P(X > Y)``: for each task, the chance that a random run of X beats a
  random run of Y (the Mann-Whitney U statistic over ``n_x n_y``, ties counting one half), averaged over
  tasks.

The intervals are percentile intervals of a *stratified* bootstrap: each resample draws runs with
replacement within each task (``scores[idx[r, t], t]``), so every task keeps its weight; the probability
of improvement resamples X and Y independently. ``task_bootstrap=True`` also draws the tasks with
replacement (how much the figure depends on which tasks were picked). Performance profiles (score
distributions: the fraction of all runs x tasks scores above each threshold tau, or of the per-task
means) with their stratified bands are in :mod:`genforge.research.profiles`. The resample indices are drawn exactly as rliable draws
them (``RandomState.choice(n_runs, (n_runs, n_tasks))`` per resample, X before Y) and the interval is
``numpy.percentile`` of the resampled figures, so with the same seed the figures agree with rliable's to
the last bit (``tests/golden/make_aggregate_goldens.py``). Own code: rliable is not a dependency.

Each figure is oriented by the metric's direction: for a lower-is-better figure, "X improves on Y"
means X's score is lower.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import stats

from genforge.core.errors import ConfigError
from genforge.research.stats import DEFAULT_CONFIDENCE, _check_confidence

DEFAULT_REPS = 50_000  # rliable's default for aggregate intervals
DEFAULT_POI_REPS = 2_000  # rliable's examples use 2,000 for the probability of improvement
AGGREGATES = ("iqm", "median", "mean", "optimality_gap")


def as_scores(scores: Any, what: str = "scores", minimum: int = 2) -> np.ndarray:
    """A ``(runs, tasks)`` float matrix (a vector is one task), refused with the reason when it has
    fewer than ``minimum`` runs or a value that is not a finite number."""
    array = np.asarray(scores, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2 or array.shape[1] < 1:
        raise ConfigError(f"{what}: need a (runs, tasks) matrix, got shape {array.shape}")
    if array.shape[0] < minimum:
        raise ConfigError(
            f"{what}: {array.shape[0]} run(s), and a bootstrap interval needs at least {minimum}: run more seeds"
        )
    if not np.all(np.isfinite(array)):
        raise ConfigError(f"{what}: a value is not a finite number")
    return array


def aggregate_iqm(scores: np.ndarray) -> float:
    return float(stats.trim_mean(scores, 0.25, axis=None))


def aggregate_median(scores: np.ndarray) -> float:
    return float(np.median(np.mean(scores, axis=0)))


def aggregate_mean(scores: np.ndarray) -> float:
    return float(np.mean(np.mean(scores, axis=0)))


def aggregate_optimality_gap(scores: np.ndarray, gamma: float = 1.0, direction: str = "higher") -> float:
    if direction == "lower":
        return float(np.mean(np.maximum(scores, gamma)) - gamma)
    return float(gamma - np.mean(np.minimum(scores, gamma)))


def probability_of_improvement(x: Any, y: Any, direction: str = "higher") -> float:
    """``P(X > Y)`` (``P(X < Y)`` for a lower-is-better figure) averaged over tasks; ties count one half."""
    x, y = as_scores(x, "X", 1), as_scores(y, "Y", 1)
    if x.shape[1] != y.shape[1]:
        raise ConfigError(f"X and Y must have the same tasks, got {x.shape[1]} and {y.shape[1]}")
    return float(np.mean(_task_poi(x, y, direction)))


def _task_poi(x: np.ndarray, y: np.ndarray, direction: str) -> np.ndarray:
    """Per task, the Mann-Whitney U of X against Y over ``n_x n_y``: x[..., i, t] vs y[..., j, t]."""
    a, b = (x, y) if direction != "lower" else (-x, -y)
    greater = (a[..., :, None, :] > b[..., None, :, :]).sum(axis=(-3, -2))
    ties = (a[..., :, None, :] == b[..., None, :, :]).sum(axis=(-3, -2))
    return (greater + 0.5 * ties) / (x.shape[-2] * y.shape[-2])


def _statistic(name: str, gamma: float | None, direction: str) -> Callable[[np.ndarray], np.ndarray]:
    """``name`` over a stack of resamples ``(reps, runs, tasks)`` -> ``(reps,)``."""
    if name == "iqm":
        return lambda s: stats.trim_mean(s.reshape(s.shape[0], -1), 0.25, axis=1)
    if name == "median":
        return lambda s: np.median(s.mean(axis=1), axis=1)
    if name == "mean":
        return lambda s: s.mean(axis=1).mean(axis=1)
    if name == "optimality_gap":
        if gamma is None:
            raise ConfigError("the optimality gap needs a target score gamma")
        if direction == "lower":
            return lambda s: np.maximum(s, gamma).mean(axis=(1, 2)) - gamma
        return lambda s: gamma - np.minimum(s, gamma).mean(axis=(1, 2))
    raise ConfigError(f"unknown aggregate '{name}' (choose {', '.join(AGGREGATES)})")


def stratified_indices(rng: np.random.RandomState, shape: tuple[int, int]) -> np.ndarray:
    """One stratified resample's run indices, drawn as rliable draws them."""
    return rng.choice(shape[0], shape, replace=True)


def stratified_resamples(
    scores: np.ndarray, reps: int, seed: int, task_bootstrap: bool = False
) -> np.ndarray:
    """``reps`` stratified resamples ``(reps, runs, tasks)`` of ``scores``, drawn as rliable's
    ``StratifiedBootstrap`` draws them. With ``task_bootstrap`` each resample also draws its tasks with
    replacement (``choice(tasks, (1, tasks))`` after the run indices): element ``[r, t]`` is
    ``scores[runs_idx[r, t], task_idx[t]]``, the sensitivity to which tasks were chosen."""
    rng = np.random.RandomState(seed)
    runs, tasks = scores.shape
    if not task_bootstrap:
        # one call draws the same stream as ``reps`` calls of shape (runs, tasks): legacy randint is chunk-free
        index = rng.choice(runs, (reps, runs, tasks), replace=True)
        return np.take_along_axis(np.broadcast_to(scores, (reps, runs, tasks)), index, axis=1)
    out = np.empty((reps, runs, tasks))
    for r in range(reps):  # run then task indices for each resample (different bounds: no batching)
        index = rng.choice(runs, (runs, tasks), replace=True)
        out[r] = scores[index, rng.choice(tasks, (1, tasks), replace=True)]
    return out


def _percentile_interval(values: np.ndarray, confidence: float) -> list[float]:
    alpha = (1.0 - confidence) / 2
    low, high = np.percentile(values, [100 * alpha, 100 * (1 - alpha)])
    return [float(low), float(high)]


def aggregate_interval(
    scores: Any,
    name: str = "iqm",
    *,
    gamma: float | None = None,
    direction: str = "higher",
    reps: int = DEFAULT_REPS,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
    task_bootstrap: bool = False,
) -> dict[str, Any]:
    """The aggregate ``name`` of ``scores`` and its stratified bootstrap percentile interval:
    ``{"value", "ci"}``. A constant matrix gets ``ci`` NaN (a zero-width interval would claim certainty).
    ``task_bootstrap`` resamples the tasks too (rliable's ``task_bootstrap=True``)."""
    scores = as_scores(scores)
    confidence = _check_confidence(confidence)
    if reps < 100:
        raise ConfigError(f"reps must be at least 100, got {reps}")
    statistic = _statistic(name, gamma, direction)
    value = float(statistic(scores[None])[0])
    if np.ptp(scores, axis=0 if not task_bootstrap else None).max() == 0:
        return {"value": value, "ci": [math.nan, math.nan]}
    resampled = stratified_resamples(scores, reps, seed, task_bootstrap)
    return {"value": value, "ci": _percentile_interval(statistic(resampled), confidence)}


def poi_interval(
    x: Any,
    y: Any,
    *,
    direction: str = "higher",
    reps: int = DEFAULT_POI_REPS,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
) -> dict[str, Any]:
    """``P(X improves on Y)`` and its stratified bootstrap percentile interval (X and Y resampled
    independently, each within its tasks): ``{"value", "ci"}``."""
    x, y = as_scores(x, "X"), as_scores(y, "Y")
    if x.shape[1] != y.shape[1]:
        raise ConfigError(f"X and Y must have the same tasks, got {x.shape[1]} and {y.shape[1]}")
    confidence = _check_confidence(confidence)
    if reps < 100:
        raise ConfigError(f"reps must be at least 100, got {reps}")
    value = float(np.mean(_task_poi(x, y, direction)))
    rng = np.random.RandomState(seed)
    columns = np.arange(x.shape[1])
    xs = np.empty((reps, *x.shape))
    ys = np.empty((reps, *y.shape))
    for r in range(reps):  # X then Y for each resample, as rliable draws them (bounds differ: no batching)
        xs[r] = x[stratified_indices(rng, x.shape), columns]
        ys[r] = y[stratified_indices(rng, y.shape), columns]
    values = _task_poi(xs, ys, direction).mean(axis=-1)
    return {"value": value, "ci": _percentile_interval(values, confidence)}


def aggregate_summary(
    scores: Any,
    *,
    direction: str = "higher",
    gamma: float | None = None,
    reps: int = DEFAULT_REPS,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
    task_bootstrap: bool = False,
) -> dict[str, Any]:
    """IQM, median and mean (and the optimality gap when ``gamma`` is given), each with its stratified
    bootstrap interval, every one from the same seed as rliable's ``get_interval_estimates`` would give
    each on its own."""
    names = [n for n in AGGREGATES if n != "optimality_gap" or gamma is not None]
    out: dict[str, Any] = {
        "method": "stratified bootstrap"
        + (" over runs and tasks" if task_bootstrap else "")
        + ", percentile",
        "reps": reps,
        "confidence": confidence,
        "seed": seed,
    }
    for name in names:
        out[name] = aggregate_interval(
            scores,
            name,
            gamma=gamma,
            direction=direction,
            reps=reps,
            confidence=confidence,
            seed=seed,
            task_bootstrap=task_bootstrap,
        )
    if gamma is not None:
        out["gamma"] = gamma
    return out
