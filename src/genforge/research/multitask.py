"""Several metrics and datasets at once: the runs × tasks matrix that rliable's aggregates take.

A *task* is one figure on one dataset (``val_loss``, or ``digits:fd_digits`` when the runs span several
datasets). ``compare_tasks(a, b, ["val_loss", "bits_per_dim"])`` pairs A's and B's runs by seed within
each task, keeps the seeds every task shares (one row of the matrix per seed), and gives

- per task: each side's mean and the posterior of "A better" on that task alone;
- over all tasks: each side's IQM, median and mean with stratified bootstrap intervals
  (:func:`genforge.research.aggregate.aggregate_summary`), rliable's probability of improvement
  (:func:`genforge.research.aggregate.poi_interval`) and the posterior of "A better" on the per-seed
  mean over tasks.

Figures of different metrics live on different scales and point different ways (a lower loss, a higher
accuracy), so they are *normalised* before they are aggregated. ``minmax`` (the default for a comparison)
maps each task onto [0, 1] by the lowest and highest value of that task over the runs of both sides, turned
so that 1 is the better end: ``(x - min) / (max - min)`` for a higher-is-better figure, ``(max - x) /
(max - min)`` for a lower-is-better one. This is rliable's recipe (its Atari scores are normalised by a
random and a human baseline) with the pooled range of the compared runs as the baseline; a task where
every run scored the same carries no information and is 0.5 for every run. ``none`` aggregates the raw
figures: it is only allowed when every metric points the same way, and then the largest-scale task
dominates the IQM. Each metric's direction comes from :func:`genforge.research.runsets.metric_direction`.
The ROPE of a normalised comparison is in normalised units (a fraction of each task's range).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from genforge import __version__
from genforge.core.errors import ConfigError
from genforge.research.aggregate import aggregate_summary, poi_interval
from genforge.research.bayes import Posterior, check_rope
from genforge.research.compare import compare_values, verdict_of
from genforge.research.runsets import RunFigure, collect, metric_direction
from genforge.research.stats import DEFAULT_CONFIDENCE

NORMALISATIONS = ("minmax", "none")
RESULT_KIND = "genforge.comparison.tasks"


def parse_metrics(text: str | Sequence[str]) -> list[str]:
    """``"a,b,c"`` (or a list) -> ``["a", "b", "c"]``, refusing an empty name or a repeated one."""
    names = [m.strip() for m in text.split(",")] if isinstance(text, str) else [str(m) for m in text]
    if not names or any(not n for n in names):
        raise ConfigError(f"--metric: give comma-separated figure names, got '{text}'")
    if len(set(names)) != len(names):
        raise ConfigError(f"--metric names a figure twice: {', '.join(names)}")
    return names


def directions_for(metrics: Sequence[str], direction: str | None = None) -> list[str]:
    """Each metric's direction: ``direction`` is one word for all, a comma list (one per metric), or
    None (the registry's for each)."""
    if direction is None:
        return [metric_direction(m) for m in metrics]
    words = [w.strip() for w in direction.split(",")]
    if len(words) == 1:
        words = words * len(metrics)
    if len(words) != len(metrics):
        raise ConfigError(
            f"--direction gives {len(words)} directions for {len(metrics)} metrics: give one for all or one each"
        )
    return [metric_direction(m, w) for m, w in zip(metrics, words, strict=True)]


def check_normalise(normalise: str, metrics: Sequence[str], directions: Sequence[str]) -> str:
    """The direction of the aggregated scores (``higher`` once normalised); mixed directions without
    normalisation are refused."""
    if normalise not in NORMALISATIONS:
        raise ConfigError(f"unknown normalisation '{normalise}' (choose {', '.join(NORMALISATIONS)})")
    if normalise == "minmax":
        return "higher"
    if len(set(directions)) > 1:
        named = ", ".join(f"{m} ({d} is better)" for m, d in zip(metrics, directions, strict=True))
        raise ConfigError(
            f"the metrics point different ways ({named}): aggregate them normalised (--normalise minmax)"
        )
    return directions[0]


def normalise_columns(values: np.ndarray, directions: Sequence[str], normalise: str) -> np.ndarray:
    """``values`` ``(runs, tasks)`` normalised per task over all its rows (see the module docstring)."""
    if normalise == "none":
        return values.astype(np.float64)
    low, high = values.min(axis=0), values.max(axis=0)
    span = high - low
    safe = np.where(span > 0, span, 1.0)
    higher = np.array([d == "higher" for d in directions])
    scaled = np.where(higher, (values - low) / safe, (high - values) / safe)
    return np.where(span > 0, scaled, 0.5)


def statement(normalise: str) -> str:
    if normalise == "minmax":
        return (
            "min-max per task over the runs of both sides, 1 = the better end (rliable's normalisation with "
            "the pooled range as baseline)"
        )
    return "none: raw figures (every metric points the same way)"


def _by_task(
    figures: dict[str, list[RunFigure]], side: str, ref: str
) -> dict[tuple[str, str], dict[int, float]]:
    out: dict[tuple[str, str], dict[int, float]] = {}
    for metric, found in figures.items():
        for f in found:
            cell = out.setdefault((f.data, metric), {})
            if f.seed in cell:
                raise ConfigError(
                    f"{side} ({ref}) has two runs of {f.data} with seed {f.seed}: pairs are made by seed, "
                    "so keep one run per dataset and seed"
                )
            cell[f.seed] = f.value
    return out


def datasets_of(reference: str) -> list[str]:
    """The datasets the runs ``reference`` names were trained on."""
    from genforge.research.runsets import resolve_runs

    return sorted({run.read_config()["data"]["spec"] for run in resolve_runs(reference)})


@dataclass
class TaskComparison:
    """The outcome of :func:`compare_tasks`; ``to_dict()`` is the stable JSON record."""

    a: str
    b: str
    metrics: list[str]
    tasks: list[dict[str, Any]]
    seeds: list[int]
    scores_a: list[list[float]]
    scores_b: list[list[float]]
    aggregate_a: dict[str, Any]
    aggregate_b: dict[str, Any]
    improvement: dict[str, Any]
    posterior: Posterior
    settings: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def verdict(self, threshold: float = 0.95) -> str:
        return verdict_of(self.posterior, threshold, " over the tasks")

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": RESULT_KIND,
            "version": 1,
            "a": {"ref": self.a, "aggregate": self.aggregate_a, "scores": self.scores_a},
            "b": {"ref": self.b, "aggregate": self.aggregate_b, "scores": self.scores_b},
            "metrics": self.metrics,
            "tasks": self.tasks,
            "seeds": self.seeds,
            "normalisation": statement(self.settings["normalise"]),
            "probability_of_improvement": self.improvement,
            "p_a_better": self.posterior.p_a_better,
            "p_equivalent": self.posterior.p_equivalent,
            "p_b_better": self.posterior.p_b_better,
            "verdict": self.verdict(),
            "posterior": self.posterior.to_dict(),
            "settings": self.settings,
            "notes": self.notes,
            "genforge": __version__,
        }


def compare_tasks(
    a: str,
    b: str,
    metrics: str | Sequence[str],
    *,
    normalise: str = "minmax",
    rope: float = 0.0,
    direction: str | None = None,
    method: str = "correlated-t",
    rho: float = 0.0,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
    reps: int | None = None,
) -> TaskComparison:
    """Compare runs A and B over several metrics and/or datasets (see the module docstring)."""
    check_rope(rope)
    metrics = parse_metrics(metrics)
    directions = directions_for(metrics, direction)
    score_direction = check_normalise(normalise, metrics, directions)
    a, b = str(a), str(b)
    sides = {s: _by_task({m: collect(r, m) for m in metrics}, s, r) for s, r in (("A", a), ("B", b))}
    data_a, data_b = sorted({d for d, _ in sides["A"]}), sorted({d for d, _ in sides["B"]})
    if data_a != data_b:
        raise ConfigError(
            f"A was trained on {', '.join(data_a)} and B on {', '.join(data_b)}: each side needs runs of the "
            "same datasets"
        )
    keys = [(d, m) for d in data_a for m in metrics]
    seeds = sorted(set.intersection(*(set(sides[s][k]) for s in sides for k in keys)))
    every = sorted(set().union(*(set(sides[s][k]) for s in sides for k in keys)))
    notes = [f"seed {s} is missing from some task or side and is left out" for s in every if s not in seeds]
    if len(seeds) < 2:
        raise ConfigError(
            f"A and B share {len(seeds)} seed(s) across all tasks; a paired comparison needs at least 2 runs "
            "a side with the same seeds on every task"
        )
    raw = {s: np.array([[sides[s][k][seed] for k in keys] for seed in seeds]) for s in sides}
    task_dirs = [directions[metrics.index(m)] for _, m in keys]
    both = normalise_columns(np.vstack([raw["A"], raw["B"]]), task_dirs, normalise)
    norm = {"A": both[: len(seeds)], "B": both[len(seeds) :]}
    names = [m if len(data_a) == 1 else f"{d}:{m}" for d, m in keys]
    tasks = []
    for i, (name, (data, metric)) in enumerate(zip(names, keys, strict=True)):
        post = compare_values(
            norm["A"][:, i],
            norm["B"][:, i],
            direction=score_direction,
            rope=rope,
            method=method,
            rho=rho,
            seed=seed,
        )
        tasks.append(
            {"task": name, "data": data, "metric": metric, "direction": task_dirs[i],
             "mean_a": float(raw["A"][:, i].mean()), "mean_b": float(raw["B"][:, i].mean()),
             "low": float(min(raw["A"][:, i].min(), raw["B"][:, i].min())),
             "high": float(max(raw["A"][:, i].max(), raw["B"][:, i].max())),
             "p_a_better": post.p_a_better, "p_equivalent": post.p_equivalent, "p_b_better": post.p_b_better}
        )  # fmt: skip
    posterior = compare_values(
        norm["A"].mean(axis=1), norm["B"].mean(axis=1), direction=score_direction, rope=rope, method=method,
        rho=rho, seed=seed,
    )  # fmt: skip
    extra = {"reps": reps} if reps is not None else {}
    aggregate = {
        s: aggregate_summary(norm[s], direction=score_direction, confidence=confidence, seed=seed, **extra)
        for s in sides
    }
    improvement = poi_interval(
        norm["A"], norm["B"], direction=score_direction, confidence=confidence, seed=seed
    )
    settings = {"normalise": normalise, "direction": score_direction, "method": method, "rope": rope,
                "rho": rho, "confidence": confidence, "seed": seed}  # fmt: skip
    return TaskComparison(
        a, b, metrics, tasks, seeds, norm["A"].tolist(), norm["B"].tolist(), aggregate["A"], aggregate["B"],
        improvement, posterior, settings, notes,
    )  # fmt: skip
