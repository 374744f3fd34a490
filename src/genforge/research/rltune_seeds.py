"""``genforge rl tune RUN --seeds N``: one tune run per seed and the reward gain and KL summarised over seeds.

Each seed is an ordinary tune run (:func:`genforge.pipelines.rltune.tune_gpt`, seeds ``seed .. seed + N - 1``)
whose end-of-run evaluation (``eval.json``) gives the per-seed figures: the reward gain (tuned minus parent
mean reward on the same fresh completions) and the tuned model's mean sequence KL to the parent. Over seeds
each is :func:`genforge.research.stats.summarize` (mean, std, IQM, Student-t and bootstrap intervals), as
``rl train --seeds`` does; ``ci95`` is the Student-t interval. A run that stops without an evaluation
(Ctrl-C, exploding KL) stops the series and is named so it can be resumed with ``rl tune --resume``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genforge.core.errors import ConfigError
from genforge.core.runs import Run
from genforge.pipelines.rltune import tune_gpt
from genforge.research.stats import summarize
from genforge.rl.tune import TuneConfig, TuneResult

MAX_SEEDS = 100
FIGURES = ("reward_gain", "kl", "tuned_reward", "reference_reward")


@dataclass
class TuneSeedsResult:
    results: list[TuneResult]
    summary: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON of ``rl tune --seeds N --json``."""
        return {**self.summary, "status": "completed", "evaluations": [r.evaluation for r in self.results]}


def summarize_tune_seeds(evaluations: list[dict[str, Any]], *, seed: int = 0) -> dict[str, Any]:
    """Per figure of :data:`FIGURES`: the mean over seeds, its 95 % Student-t interval (``ci95``), the
    per-seed values and the full :func:`~genforge.research.stats.summarize` row."""
    out: dict[str, Any] = {"seeds": len(evaluations), "runs": [e["run"] for e in evaluations]}
    for figure in FIGURES:
        values = [float(e[figure]) for e in evaluations]
        stats = summarize(values, seed=seed)
        out[figure] = {"mean": stats["mean"], "ci95": stats["ci_t"], "per_seed": values, "stats": stats}
    return out


def tune_gpt_seeds(
    parent: str | Path | Run,
    reward: str,
    *,
    config: TuneConfig | None = None,
    seeds: int = 3,
    seed: int = 0,
    out: str | Path = "runs",
    max_minutes: float | None = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> TuneSeedsResult:
    """Tune ``parent`` toward ``reward`` under seeds ``seed .. seed + seeds - 1`` (one run each under
    ``out``, ``max_minutes`` per run) and summarise their evaluations over seeds."""
    if not 2 <= seeds <= MAX_SEEDS:
        raise ConfigError(
            f"--seeds must be between 2 and {MAX_SEEDS} (one seed is a plain rl tune), got {seeds}"
        )
    results = []
    for k in range(seeds):
        result = tune_gpt(
            parent, reward, config=config, out=out, seed=seed + k, max_minutes=max_minutes, progress=progress
        )
        results.append(result)
        if result.evaluation is None:
            raise ConfigError(
                f"run {result.run.path} (seed {seed + k}) stopped early ({result.status}"
                f"{': ' + result.message if result.message else ''}); resume it with "
                f"genforge rl tune --resume {result.run.path}, then run the remaining seeds"
            )
    return TuneSeedsResult(results, summarize_tune_seeds([r.evaluation for r in results], seed=seed))
