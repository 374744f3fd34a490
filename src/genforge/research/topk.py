"""``compare_top(study, top=K)``: are the K best configurations of a sweep really different?

A sweep trains every trial once, under the study's one seed, so the trials' own figures cannot tell a
better configuration from a lucky one. Each of the K best complete trials is therefore repeated over
``seeds`` (:func:`genforge.research.repeat.repeat`, resumable: seeds already trained are kept), into
``<study>/top/<trial number>/`` by default, and every pair of them is compared exactly as
``genforge compare A B`` compares two sets of runs (paired by seed,
:func:`genforge.research.compare.compare`). The result is one JSON record
(``kind: genforge.sweep-comparison``) holding each trial's summary over seeds and every pairwise
comparison record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genforge import __version__
from genforge.core.errors import ConfigError
from genforge.research.bayes import check_rope
from genforge.research.compare import Comparison, compare
from genforge.research.repeat import repeat
from genforge.research.stats import DEFAULT_CONFIDENCE
from genforge.research.sweep import DEFAULT_ROOT, read_study, study_summary

PREFIX = "sweep:"
RESULT_KIND = "genforge.sweep-comparison"


@dataclass
class TopComparison:
    """The K best trials of a study, each over seeds, and the comparison of every pair of them."""

    study: str
    metric: str
    direction: str
    trials: list[dict[str, Any]]
    comparisons: list[Comparison]
    settings: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": RESULT_KIND,
            "version": 1,
            "study": self.study,
            "metric": self.metric,
            "direction": self.direction,
            "trials": self.trials,
            "comparisons": [
                {"a_trial": a, "b_trial": b, **c.to_dict()}
                for (a, b), c in zip(self.pairs(), self.comparisons, strict=True)
            ],
            "settings": self.settings,
            "genforge": __version__,
        }

    def pairs(self) -> list[tuple[int, int]]:
        """Trial numbers of each comparison, better-ranked trial first (A)."""
        numbers = [t["number"] for t in self.trials]
        return [(numbers[i], numbers[j]) for i in range(len(numbers)) for j in range(i + 1, len(numbers))]


def study_name(reference: str) -> str | None:
    """``"sweep:NAME"`` -> ``"NAME"``; anything else -> None."""
    return reference[len(PREFIX) :] if reference.startswith(PREFIX) else None


def compare_top(
    name: str,
    top: int = 3,
    *,
    root: str | Path = DEFAULT_ROOT,
    metric: str | None = None,
    direction: str | None = None,
    seeds: int = 3,
    out: str | Path | None = None,
    rope: float = 0.0,
    method: str = "correlated-t",
    rho: float = 0.0,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
    on_seed: Callable[[int, int, str], Any] | None = None,
) -> TopComparison:
    """Repeat the ``top`` best complete trials of study ``name`` over seeds ``0..seeds-1`` and compare
    every pair (see the module docstring). ``metric`` defaults to the study's; ``on_seed(trial, seed,
    action)`` is told before each seed is trained or kept."""
    check_rope(rope)
    if top < 2:
        raise ConfigError(f"--top must be at least 2 to compare trials, got {top}")
    if seeds < 2:
        raise ConfigError(
            f"--seeds must be at least 2 (a paired comparison needs 2 seeds a side), got {seeds}"
        )
    record, folder = read_study(name, root)
    summary = study_summary(name, root)
    lower = record["direction"] == "lower"
    complete = [t for t in summary["trials"] if t["state"] == "complete" and t["run"]]
    if len(complete) < 2:
        raise ConfigError(
            f"study '{name}' has {len(complete)} complete trial(s): comparing its best needs at least 2"
        )
    best = sorted(complete, key=lambda t: (t["value"] if lower else -t["value"], t["number"]))[:top]
    metric = metric or record["metric"]
    if metric == record["metric"] and direction is None:
        direction = record["direction"]
    base = Path(out) if out is not None else folder / "top"
    trials, folders = [], []
    for trial in best:
        number = trial["number"]
        tell = None if on_seed is None else (lambda s, action, n=number: on_seed(n, s, action))
        result = repeat(
            trial["run"],
            seeds,
            out=base / str(number),
            metric=metric,
            direction=direction,
            confidence=confidence,
            bootstrap_seed=seed,
            on_seed=tell,
        )
        direction = result.direction
        folders.append(result.folder)
        trials.append(
            {
                "number": number,
                "params": trial["params"],
                "sweep_value": trial["value"],
                "run": trial["run"],
                "repeats": result.folder,
                "summary": result.summary,
            }
        )
    comparisons = [
        compare(
            folders[i],
            folders[j],
            metric,
            rope=rope,
            direction=direction,
            method=method,
            rho=rho,
            confidence=confidence,
            seed=seed,
        )
        for i in range(len(folders))
        for j in range(i + 1, len(folders))
    ]
    settings = {"top": len(best), "seeds": seeds, "method": method, "rope": rope, "rho": rho}
    settings |= {"confidence": confidence, "seed": seed, "studies": str(root)}
    return TopComparison(name, metric, str(direction), trials, comparisons, settings)
