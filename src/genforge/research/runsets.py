"""Sets of runs as a comparison reads them: which runs a reference names, the figure each run reached,
and whether a higher or a lower figure is better.

A reference is a folder of run directories, a single run directory, or a quoted glob of run
directories. A figure is read by name from what the run itself wrote: ``val_<key>`` / ``train_<key>``
is ``<key>`` of the last validation / training record of ``metrics.jsonl`` (``val_loss``), any other
name is a number of ``eval.json`` (``bits_per_dim``), or of a metric group in it (``fd_digits`` under
``metrics.fd``).

The metric registry does not record directions, so :data:`DIRECTIONS` names them for the figures
genforge writes; any other figure needs ``direction=`` from the caller.
"""

from __future__ import annotations

import glob
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genforge.core.errors import ConfigError, GenforgeError, RunNotFound
from genforge.core.runs import Run, list_runs
from genforge.core.suggest import did_you_mean

# the direction of a figure, by its name without a split prefix; a name starting with a key here
# (fd_digits, kid_random-cnn) takes that key's direction
DIRECTIONS = {
    "loss": "lower",
    "nll": "lower",
    "nll_nats": "lower",
    "bits_per_dim": "lower",
    "bits_per_dim_iwae": "lower",
    "perplexity": "lower",
    "recon": "lower",
    "kl": "lower",
    "fd": "lower",
    "kid": "lower",
    "mmd": "lower",
    "lpips": "lower",
    "accuracy": "higher",
    "is": "higher",
    "precision": "higher",
    "recall": "higher",
    "density": "higher",
    "coverage": "higher",
    "f1": "higher",
    "bleu": "higher",
    "rouge": "higher",
    "psnr": "higher",
    "ssim": "higher",
    "ms-ssim": "higher",
    "reward": "higher",
}
SPLITS = ("val", "train")


def metric_direction(metric: str, direction: str | None = None) -> str:
    """``"lower"`` or ``"higher"``: the caller's ``direction`` when given, else :data:`DIRECTIONS`."""
    if direction is not None:
        if direction not in ("lower", "higher"):
            raise ConfigError(f"direction must be 'lower' or 'higher', got '{direction}'")
        return direction
    name = re.sub(r"^(val|train|test)_", "", metric)
    for key in sorted(DIRECTIONS, key=len, reverse=True):
        if name == key or name.startswith(f"{key}_"):
            return DIRECTIONS[key]
    raise ConfigError(
        f"genforge does not know whether a higher or a lower '{metric}' is better: "
        "pass --direction lower or --direction higher"
    )


def resolve_runs(reference: str) -> list[Run]:
    """The runs ``reference`` names (folder of runs, one run, or a glob), sorted by directory name."""
    path = Path(reference)
    if (path / "config.json").is_file():
        return [Run(path)]
    if any(ch in reference for ch in "*?["):
        runs = [Run(Path(p)) for p in sorted(glob.glob(reference)) if (Path(p) / "config.json").is_file()]
        if not runs:
            raise RunNotFound(f"the pattern '{reference}' matches no run directory")
        return runs
    if not path.is_dir():
        raise RunNotFound(f"{reference} is neither a run directory, a folder of runs nor a glob of runs")
    runs = list_runs(path)
    if not runs:
        raise RunNotFound(f"{reference} holds no run directory (no */config.json): train runs into it first")
    return runs


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _known_figures(run: Run, records: list[dict[str, Any]], evaluation: dict[str, Any]) -> list[str]:
    names = {
        f"{r['split']}_{k}"
        for r in records
        if r.get("split") in SPLITS
        for k, v in r.items()
        if k not in ("step", "split") and _number(v) is not None
    }
    names |= {k for k, v in evaluation.items() if _number(v) is not None}
    for group in (evaluation.get("metrics") or {}).values():
        if isinstance(group, dict):
            names |= {k for k, v in group.items() if _number(v) is not None}
    return sorted(names)


def read_figure(run: Run, metric: str) -> float:
    """The figure ``metric`` of ``run`` (see the module docstring); a missing one is one line naming
    the figures the run has."""
    records = run.read_metrics() if run.metrics_path.exists() else []
    split, _, key = metric.partition("_")
    if split in SPLITS and key:
        for record in reversed(records):
            if record.get("split") == split and _number(record.get(key)) is not None:
                return float(record[key])
    evaluation = run.read_eval() or {}
    if _number(evaluation.get(metric)) is not None:
        return float(evaluation[metric])
    for group in (evaluation.get("metrics") or {}).values():
        if isinstance(group, dict) and _number(group.get(metric)) is not None:
            return float(group[metric])
    known = _known_figures(run, records, evaluation)
    raise ConfigError(
        f"run {run.path} has no figure '{metric}' (it has: {', '.join(known) or 'none yet'})"
        f"{did_you_mean(metric, known)}"
    )


@dataclass(frozen=True)
class RunFigure:
    """One run's figure, with what pairs it (its seed) and what must agree across runs (its data)."""

    path: str
    seed: int
    data: str
    family: str
    value: float


def collect(reference: str, metric: str) -> list[RunFigure]:
    """``metric`` of every run ``reference`` names; a run with damaged files is one line naming it."""
    figures = []
    for run in resolve_runs(reference):
        try:
            config = run.read_config()
        except GenforgeError as exc:
            raise ConfigError(f"{reference}: {exc}") from None
        figures.append(
            RunFigure(
                str(run.path),
                config["seed"],
                config["data"]["spec"],
                config["family"],
                read_figure(run, metric),
            )
        )
    return figures
