"""Pictures of a comparison: the posterior of the mean difference (A better to the right) with the
region of practical equivalence shaded; and of a study: its trials as parallel coordinates (matplotlib's
Agg backend, imported only when drawn)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from genforge.core.errors import ConfigError
from genforge.render.images import save_picture
from genforge.research.bayes import Posterior
from genforge.research.figures import png_bytes, pyplot


def posterior_png(posterior: Posterior, metric: str) -> bytes:
    """PNG bytes of ``posterior``'s density of the mean improvement of A over B in ``metric``."""
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    if posterior.method == "signed-rank":  # no density of the mean: the share of draws each region wins
        labels = ["B better", "practically equal", "A better"]
        shares = [posterior.p_b_better, posterior.p_equivalent, posterior.p_a_better]
        ax.bar(labels, shares, color=["#c44e52", "#999999", "#4c72b0"])
        ax.set_ylim(0, 1)
        ax.set_ylabel("posterior probability")
    elif posterior.draws is not None:
        ax.hist(posterior.draws, bins=80, density=True, color="#4c72b0", alpha=0.8)
    elif posterior.scale > 0:
        dist = stats.t(posterior.df, loc=posterior.loc, scale=posterior.scale)
        lo, hi = dist.ppf(0.001), dist.ppf(0.999)
        grid = np.linspace(min(lo, -posterior.rope), max(hi, posterior.rope), 400)
        ax.plot(grid, dist.pdf(grid), color="#4c72b0")
        ax.fill_between(grid, dist.pdf(grid), alpha=0.25, color="#4c72b0")
    else:
        ax.axvline(posterior.loc, color="#4c72b0")
    if posterior.rope > 0 and posterior.method != "signed-rank":
        ax.axvspan(-posterior.rope, posterior.rope, color="#999999", alpha=0.25, label="ROPE")
        ax.legend(fontsize=8)
    if posterior.method != "signed-rank":
        ax.axvline(0.0, color="#333333", linewidth=0.8)
        ax.set_xlabel(f"improvement of A over B in {metric} (A better →)")
        ax.set_ylabel("posterior density")
    ax.set_title(
        f"P(A better) {posterior.p_a_better:.3f} · P(equal) {posterior.p_equivalent:.3f} · "
        f"P(B better) {posterior.p_b_better:.3f}",
        fontsize=9,
    )
    ax.grid(alpha=0.3)
    return png_bytes(fig)


def save_posterior(posterior: Posterior, metric: str, path: str | Path) -> Path:
    """Write :func:`posterior_png` to ``path`` (PNG, JPEG or WebP by extension)."""
    return save_picture(posterior_png(posterior, metric), path)


def _axis_values(spec: dict[str, Any], values: list[Any]) -> tuple[list[float], list[float], list[str]]:
    """One parameter's values on a 0..1 axis (log-scaled when the space says so; a categorical's choices
    evenly spaced), with tick positions and labels; a trial without the parameter (a condition not met)
    is NaN."""
    if spec.get("type") == "categorical":
        choices = [str(c) for c in spec["choices"]]
        span = max(len(choices) - 1, 1)
        where = {c: i / span for i, c in enumerate(choices)}
        ticks = [where[c] for c in choices]
        return [where.get(str(v), math.nan) if v is not None else math.nan for v in values], ticks, choices
    low, high = float(spec["low"]), float(spec["high"])
    scale = (math.log, math.exp) if spec.get("log") else (float, float)
    lo, hi = scale[0](low), scale[0](high)
    width = (hi - lo) or 1.0
    ticks = [0.0, 0.5, 1.0]
    labels = [f"{scale[1](lo + t * width):.3g}" for t in ticks]
    return [(scale[0](float(v)) - lo) / width if v is not None else math.nan for v in values], ticks, labels


def parallel_coordinates_png(summary: dict[str, Any]) -> bytes:
    """PNG bytes of a study's complete trials as parallel coordinates: one axis per parameter of the
    space (in the space's order) and a last axis for the objective, one line per trial coloured by its
    objective (the best trial drawn last and thick); a trial whose condition left a parameter out steps
    over that axis. ``summary`` is
    :func:`genforge.research.sweep.study_summary`'s record."""
    plt = pyplot()

    study = summary["study"]
    space = study["space"]["params"]
    trials = [t for t in summary["trials"] if t["state"] == "complete" and t["value"] is not None]
    if not trials:
        raise ConfigError(f"study '{study['name']}' has no complete trial to plot yet")
    names = list(space)
    columns, ticks, labels = [], [], []
    for name in names:
        column, tick, label = _axis_values(space[name], [t["params"].get(name) for t in trials])
        columns.append(column)
        ticks.append(tick)
        labels.append(label)
    objective = np.array([t["value"] for t in trials], dtype=np.float64)
    lo, hi = float(objective.min()), float(objective.max())
    width = (hi - lo) or 1.0
    columns.append(list((objective - lo) / width))
    ticks.append([0.0, 0.5, 1.0])
    labels.append([f"{lo + t * width:.4g}" for t in (0.0, 0.5, 1.0)])
    matrix = np.array(columns, dtype=np.float64).T  # trials x axes
    lower = study["direction"] == "lower"
    order = np.argsort(-objective if lower else objective)  # the best last, on top
    cmap = plt.get_cmap("viridis_r" if lower else "viridis")
    fig, ax = plt.subplots(figsize=(max(4.0, 1.6 * len(columns) + 1.5), 3.8))
    x = np.arange(len(columns))
    for rank, i in enumerate(order):
        best = rank == len(order) - 1
        drawn = ~np.isnan(matrix[i])  # an unmet condition's axis is stepped over
        ax.plot(
            x[drawn],
            matrix[i][drawn],
            color=cmap((objective[i] - lo) / width),
            linewidth=2.6 if best else 1.2,
            alpha=1.0 if best else 0.75,
            marker="o",
            markersize=3,
        )
    for k in x:
        ax.axvline(k, color="#333333", linewidth=0.8)
        for tick, label in zip(ticks[k], labels[k], strict=True):
            ax.annotate(label, (k, tick), xytext=(3, 0), textcoords="offset points", fontsize=7, va="center")
    ax.set_xticks(x, [*names, study["metric"]], fontsize=8)
    ax.set_yticks([])
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlim(-0.2, len(columns) - 0.4)
    best_trial = trials[order[-1]]
    ax.set_title(
        f"study {study['name']}: {len(trials)} complete trials, best trial {best_trial['number']} "
        f"({study['metric']} {best_trial['value']:.4g}, {study['direction']} is better)",
        fontsize=9,
    )
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)
    return png_bytes(fig)


def save_parallel_coordinates(summary: dict[str, Any], path: str | Path) -> Path:
    """Write :func:`parallel_coordinates_png` to ``path`` (PNG, JPEG or WebP by extension)."""
    return save_picture(parallel_coordinates_png(summary), path)
