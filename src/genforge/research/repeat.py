"""``repeat(run, seeds=5)``: train one run's configuration again under several seeds and summarise a
figure over them (mean ± std, Student-t, bootstrap percentile and BCa intervals, the IQM).

The new runs are ordinary run directories in one folder (by default ``<run's folder>/repeat-<run id>``),
one per seed, so the folder is a set of runs that :func:`genforge.research.compare` pairs by seed with
another. Repeating is resumable: a seed whose run finished is kept, a seed whose run was interrupted is
resumed exactly where it stopped (the trainer's exact resume), a seed without a run is trained; so
Ctrl-C and running the same command again gives the uninterrupted result.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from genforge.core.errors import ConfigError, GenforgeError
from genforge.core.paths import check_output_dir
from genforge.core.runs import Run, list_runs
from genforge.metrics.run_metrics import headline
from genforge.pipelines.loading import as_run
from genforge.pipelines.training import resume, train
from genforge.research.aggregate import aggregate_summary
from genforge.research.multitask import (
    check_normalise,
    directions_for,
    normalise_columns,
    parse_metrics,
    statement,
)
from genforge.research.runsets import read_figure
from genforge.research.stats import DEFAULT_CONFIDENCE, seeds_needed, summarize

FINISHED = ("completed", "time_budget", "early_stopped")
MAX_SEEDS = 1000


@dataclass
class RepeatResult:
    """The runs of a repeat (one per seed), the figure of each and its summary over the seeds."""

    source: str
    folder: str
    metric: str
    direction: str
    runs: list[dict[str, Any]]
    summary: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    tasks: dict[str, Any] | None = None  # several metrics: each one's summary and the aggregate over them

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "genforge.repeat",
            "version": 1,
            "source": self.source,
            "folder": self.folder,
            "metric": self.metric,
            "direction": self.direction,
            "runs": self.runs,
            "summary": self.summary,
            "notes": self.notes,
            **({"tasks": self.tasks} if self.tasks is not None else {}),
        }


def seed_list(seeds: int | Sequence[int]) -> list[int]:
    """``5`` -> ``[0, 1, 2, 3, 4]``; a list is checked for repeats. At least 2 seeds (an interval needs 2)."""
    values = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if len(values) < 2:
        raise ConfigError(f"repeat needs at least 2 seeds to give an interval, got {len(values)}")
    if len(values) > MAX_SEEDS:
        raise ConfigError(f"repeat takes at most {MAX_SEEDS} seeds, got {len(values)}")
    if len(set(values)) != len(values):
        raise ConfigError(f"the seeds repeat a value: {values}")
    return values


def default_metric(run: Run) -> str:
    """The figure a run is judged by (its headline: bits/dim, FD …), else the validation loss."""
    figure = headline(run.read_eval() or {})
    return figure["metric"] if figure["value"] is not None else "val_loss"


def _existing(folder: Path, config: dict[str, Any]) -> dict[int, Run]:
    """Runs already in ``folder`` by seed; a run of another configuration there is refused."""
    found: dict[int, Run] = {}
    for run in list_runs(folder):
        other = run.read_config()
        same = all(other.get(k) == config.get(k) for k in ("family", "model", "train", "data"))
        if not same:
            raise ConfigError(
                f"{folder} already holds run {run.id} of another configuration: give repeat a fresh --out"
            )
        found.setdefault(other["seed"], run)
    return found


def _finished(run: Run) -> bool:
    return run.latest_checkpoint_meta().get("status") in FINISHED


def repeat(
    run: str | Path | Run,
    seeds: int | Sequence[int] = 5,
    *,
    out: str | Path | None = None,
    metric: str | Sequence[str] | None = None,
    direction: str | None = None,
    normalise: str = "none",
    confidence: float = DEFAULT_CONFIDENCE,
    bootstrap_seed: int = 0,
    detect: float | None = None,
    gamma: float | None = None,
    on_seed: Callable[[int, str], Any] | None = None,
) -> RepeatResult:
    """Train ``run``'s configuration under each of ``seeds`` (an int n means seeds 0..n-1) into ``out``
    and summarise ``metric`` (default: the run's headline figure) over them. ``metric`` may name several
    figures (``"val_loss,val_recon"`` or a list): each is summarised, and ``tasks`` holds the seeds x metrics
    aggregate (normalised by ``normalise``, :mod:`genforge.research.multitask`); ``summary`` is the first's. ``on_seed(seed, action)``
    is told before each seed is trained, resumed or kept. With ``detect``, the summary also says how many
    seeds a side a difference of that size needs (80 % power at the same confidence). ``summary["stratified"]``
    holds rliable's aggregates (IQM, median, mean; the optimality gap below target ``gamma`` when given)
    with stratified bootstrap intervals (:mod:`genforge.research.aggregate`)."""
    source = as_run(run)
    config = source.read_config()
    seeds = seed_list(seeds)
    metrics = parse_metrics(metric) if metric else [default_metric(source)]
    directions = directions_for(metrics, direction)
    score_direction = check_normalise(normalise, metrics, directions) if len(metrics) > 1 else directions[0]
    metric, direction = metrics[0], directions[0]
    folder = check_output_dir(out if out is not None else source.path.parent / f"repeat-{source.id}")
    folder.mkdir(parents=True, exist_ok=True)
    existing = _existing(folder, config)
    overrides = {**config["model"], **{f"train.{k}": v for k, v in config["train"].items()}}
    rows, notes = [], []
    for seed in seeds:
        current = existing.get(seed)
        if current is not None and _finished(current):
            action = "kept"
        elif current is not None:
            action = "resumed"
        else:
            action = "trained"
        if on_seed is not None:
            on_seed(seed, action)
        if action == "resumed":
            result = resume(current)
        elif action == "trained":
            result = train(
                config["family"],
                config["data"]["spec"],
                overrides=overrides,
                data_options=config["data"].get("options") or {},
                out=folder,
                seed=seed,
            )
        if action != "kept":
            if result.status == "interrupted":
                raise KeyboardInterrupt
            current = result.run
        try:
            values = {m: read_figure(current, m) for m in metrics}
        except GenforgeError as exc:
            raise ConfigError(f"seed {seed}: {exc}") from None
        row = {"seed": seed, "run": str(current.path), "value": values[metric], "action": action}
        rows.append({**row, "values": values} if len(metrics) > 1 else row)
    if config["train"].get("max_steps") is None:
        notes.append("the runs have a time budget, not a step budget: seeds may have trained unequal steps")
    values = [r["value"] for r in rows]
    summary = summarize(values, confidence=confidence, seed=bootstrap_seed)
    summary["stratified"] = aggregate_summary(
        values, direction=direction, gamma=gamma, confidence=confidence, seed=bootstrap_seed
    )
    if detect is not None:
        summary["detect"] = {
            "difference": detect,
            "power": 0.8,
            "seeds_per_side": seeds_needed(summary["std"], detect, confidence=confidence),
        }
    tasks = None
    if len(metrics) > 1:
        matrix = np.array([[r["values"][m] for m in metrics] for r in rows])
        scores = normalise_columns(matrix, directions, normalise)
        tasks = {
            "metrics": metrics,
            "directions": directions,
            "normalisation": "min-max per metric over this repeat's own runs (shows the spread, not the level)"
            if normalise == "minmax"
            else statement(normalise),
            "summaries": {m: summarize(matrix[:, i], confidence=confidence, seed=bootstrap_seed)
                          for i, m in enumerate(metrics)},
            "aggregate": aggregate_summary(
                scores, direction=score_direction, gamma=gamma, confidence=confidence, seed=bootstrap_seed
            ),
        }  # fmt: skip
    return RepeatResult(str(source.path), str(folder), metric, direction, rows, summary, notes, tasks)
