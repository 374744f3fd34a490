"""Performance profiles (Agarwal et al. 2021): the whole distribution of scores instead of one aggregate.

For a ``(runs, tasks)`` score matrix and thresholds ``tau``, the *score distribution* is the fraction of
all ``runs x tasks`` scores above each ``tau`` (rliable's ``score_distributions``, its default); the
*average-score distribution* (``average=True``) is the fraction of tasks whose mean over runs is above
``tau``. For a lower-is-better figure "above" becomes "below", so a curve further right is still better.
Each point gets a percentile band of the stratified bootstrap (runs drawn within each task, and tasks too
with ``task_bootstrap``), from resamples drawn exactly as rliable draws them
(:func:`genforge.research.aggregate.stratified_resamples`), so with the same seed the bands are rliable's
``create_performance_profile`` bands (``tests/golden/make_profile_goldens.py``). A curve that crosses
another is the honest answer that neither method dominates.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from genforge.core.errors import ConfigError
from genforge.research.aggregate import _percentile_interval, as_scores, stratified_resamples
from genforge.research.figures import png_bytes, pyplot
from genforge.research.stats import DEFAULT_CONFIDENCE, _check_confidence

DEFAULT_PROFILE_REPS = 2_000  # rliable's default for create_performance_profile


def _profile(stack: np.ndarray, taus: np.ndarray, average: bool, direction: str) -> np.ndarray:
    """``stack`` ``(reps, runs, tasks)`` -> ``(reps, len(taus))``."""
    values = stack.mean(axis=1) if average else stack.reshape(stack.shape[0], -1)
    if direction == "lower":
        return (values[:, :, None] < taus).mean(axis=1)
    return (values[:, :, None] > taus).mean(axis=1)


def thresholds(scores: Any, count: int = 51) -> list[float]:
    """``count`` evenly spaced thresholds from the lowest to the highest score."""
    array = as_scores(scores, minimum=1)
    return [float(t) for t in np.linspace(array.min(), array.max(), count)]


def performance_profile(
    scores: Any,
    taus: Any,
    *,
    average: bool = False,
    direction: str = "higher",
    task_bootstrap: bool = False,
    reps: int = DEFAULT_PROFILE_REPS,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
) -> dict[str, Any]:
    """The score distribution of ``scores`` at each threshold of ``taus`` with its bootstrap band:
    ``{"taus", "profile", "low", "high", ...}`` (see the module docstring)."""
    scores = as_scores(scores)
    taus = np.asarray(taus, dtype=np.float64).ravel()
    if taus.size == 0 or not np.all(np.isfinite(taus)):
        raise ConfigError("performance profile: give at least one finite threshold tau")
    if direction not in ("higher", "lower"):
        raise ConfigError(f"direction must be higher or lower, got '{direction}'")
    confidence = _check_confidence(confidence)
    if reps < 100:
        raise ConfigError(f"reps must be at least 100, got {reps}")
    profile = _profile(scores[None], taus, average, direction)[0]
    draws = _profile(stratified_resamples(scores, reps, seed, task_bootstrap), taus, average, direction)
    bands = np.array([_percentile_interval(draws[:, i], confidence) for i in range(taus.size)])
    return {
        "kind": "average-score distribution" if average else "score distribution",
        "direction": direction,
        "taus": taus.tolist(),
        "profile": profile.tolist(),
        "low": bands[:, 0].tolist(),
        "high": bands[:, 1].tolist(),
        "method": "stratified bootstrap"
        + (" over runs and tasks" if task_bootstrap else "")
        + ", percentile",
        "reps": reps,
        "confidence": confidence,
        "seed": seed,
    }


def profiles_png(profiles: dict[str, dict[str, Any]], metric: str) -> bytes:
    """PNG bytes of several named profiles on one axis, each with its band (matplotlib's Agg backend)."""
    plt = pyplot()

    if not profiles:
        raise ConfigError("no performance profile to draw")
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for name, p in profiles.items():
        (line,) = ax.plot(p["taus"], p["profile"], label=name)
        ax.fill_between(p["taus"], p["low"], p["high"], color=line.get_color(), alpha=0.2, linewidth=0)
    first = next(iter(profiles.values()))
    word = "below" if first["direction"] == "lower" else "above"
    ax.set_xlabel(f"{metric} threshold τ")
    ax.set_ylabel(f"fraction of {'tasks (mean)' if first['kind'].startswith('average') else 'runs'} {word} τ")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return png_bytes(fig)


def save_comparison_profiles(comparison, path, *, confidence: float = DEFAULT_CONFIDENCE, seed: int = 0):
    """Draw the score distributions of both sides of a :class:`genforge.research.compare.Comparison`
    (each side's runs as one task, 51 thresholds spanning both sides) to ``path``; the two profiles."""
    from genforge.render.images import save_picture

    a = [[p["a"]] for p in comparison.pairs]
    b = [[p["b"]] for p in comparison.pairs]
    taus = thresholds(a + b)
    found = {
        side: performance_profile(
            values, taus, direction=comparison.direction, confidence=confidence, seed=seed
        )
        for side, values in (("A", a), ("B", b))
    }
    out = save_picture(profiles_png(found, comparison.metric), path)
    return {"picture": str(out), **found}
