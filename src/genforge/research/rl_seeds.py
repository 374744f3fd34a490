"""``genforge rl train ALGO --seeds N``: one RL run per seed and the evaluation summarised over seeds.

The per-seed figure is each run's mean evaluation reward (:func:`genforge.rl.learner.evaluate_policy`);
the summary over seeds is :func:`genforge.research.stats.summarize` (mean, std, IQM, Student-t and
bootstrap percentile/BCa intervals), the code ``genforge repeat`` uses, so a few seeds get a Student-t
interval rather than a normal one that is too narrow at n = 3. Seeds are ``seed, seed + 1, ...``; a run
that stops early (Ctrl-C, time budget) is named so it can be resumed with ``rl train --resume``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genforge.core.errors import ConfigError
from genforge.research.stats import summarize
from genforge.rl.learner import RLResult, train_rl

MAX_SEEDS = 100


@dataclass
class RLSeedsResult:
    results: list[RLResult]
    summary: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON of ``rl train --seeds N --json``."""
        evaluations = [r.evaluation for r in self.results]
        return {**self.summary, "status": "completed", "evaluations": evaluations}


def summarize_rl_seeds(evaluations: list[dict[str, Any]], *, seed: int = 0) -> dict[str, Any]:
    """Mean of the per-seed mean rewards with its 95 % Student-t interval (``ci95``), and the full
    :func:`~genforge.research.stats.summarize` row (bootstrap intervals drawn from ``seed``)."""
    means = [float(e["mean_reward"]) for e in evaluations]
    stats = summarize(means, seed=seed)
    return {
        "seeds": len(means),
        "mean_reward": stats["mean"],
        "ci95": stats["ci_t"],
        "per_seed": means,
        "runs": [e["run"] for e in evaluations],
        "stats": stats,
    }


def train_rl_seeds(
    algo: str,
    env: str = "CartPole-v1",
    *,
    seeds: int = 3,
    seed: int = 0,
    steps: int | None = None,
    out: str | Path = "runs",
    overrides: dict[str, Any] | None = None,
    max_minutes: float | None = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> RLSeedsResult:
    """Train ``algo`` on ``env`` under seeds ``seed .. seed + seeds - 1`` (one run each under ``out``)
    and summarise their evaluations over seeds."""
    if not 2 <= seeds <= MAX_SEEDS:
        raise ConfigError(
            f"--seeds must be between 2 and {MAX_SEEDS} (one seed is a plain rl train), got {seeds}"
        )
    results = []
    for k in range(seeds):
        result = train_rl(
            algo, env, steps=steps, out=out, seed=seed + k, overrides=overrides,
            max_minutes=max_minutes, progress=progress,
        )  # fmt: skip
        results.append(result)
        if result.evaluation is None:
            raise ConfigError(
                f"run {result.run.path} (seed {seed + k}) stopped early ({result.status}): resume it with "
                f"genforge rl train --resume {result.run.path}, then run the remaining seeds"
            )
    return RLSeedsResult(results, summarize_rl_seeds([r.evaluation for r in results], seed=seed))
