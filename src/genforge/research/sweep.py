"""Hyperparameter sweeps over Optuna: ``sweep(family, data, space, ...)``, ``resume_sweep(name)``,
``study_summary(name)``.

A study is one folder ``<root>/<name>/``: ``study.json`` (what is swept and how: family, data, fixed
overrides, the validated space, metric and direction, step budget, seed, sampler, pruner), Optuna's
storage (``study.journal``, Optuna's journal file, by default: safe for several processes; or
``study.db``, SQLite through Optuna's RDB storage) and ``trials/<number>/``, each trial an ordinary run directory trained by
:func:`genforge.pipelines.training.train` with the study's seed, so trials differ by their parameters
only. The trainer's progress events report the training value of the metric to the trial, so the pruner
(median or Hyperband) stops bad trials early.

Resuming gives the same trials as an uninterrupted study: before each trial the sampler is rebuilt with
a seed derived from the study's seed and the number of trials already finished, so the next parameters
are a function of the finished history alone. A trial cut short by Ctrl-C (or a killed process) is
marked failed, its run directory removed, and the same parameters are drawn again on resume.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genforge import __version__
from genforge.core.errors import ConfigError, require
from genforge.core.io import atomic_write_json, read_json_object
from genforge.core.paths import check_output_dir
from genforge.research.runsets import metric_direction
from genforge.research.space import SearchSpace, parse_space
from genforge.research.trials import (
    INTERRUPTED,
    PRUNERS,
    SAMPLERS,
    STORAGES,
    check_jobs,
    load_study,
    open_storage,
    optuna_module,
    run_parallel,
    run_study,
    training_objective,
)

STUDY_FILE = "study.json"
DEFAULT_ROOT = Path("studies")


@dataclass
class SweepResult:
    name: str
    folder: str
    finished: int
    target: int
    stopped: str  # "trials" (the target was reached) or "time" (--max-minutes ran out)
    best: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "genforge.sweep", "version": 1, **self.__dict__}


# study.json keys every reader relies on, with their JSON types
STUDY_KEYS: dict[str, type | tuple[type, ...]] = {
    "name": str,
    "family": str,
    "data": str,
    "data_options": dict,
    "fixed": dict,
    "space": dict,
    "metric": str,
    "direction": str,
    "trials": int,
    "max_steps": int,
    "seed": int,
    "sampler": str,
    "pruner": str,
    "storage": str,
}


def study_folder(name: str, root: str | Path = DEFAULT_ROOT) -> Path:
    if not name or any(ch in name for ch in "/\\") or name.startswith("."):
        raise ConfigError(f"a study name is one plain word (no slashes), got '{name}'")
    return Path(root) / name


def read_study(name: str, root: str | Path = DEFAULT_ROOT) -> tuple[dict[str, Any], Path]:
    folder = study_folder(name, root)
    if not (folder / STUDY_FILE).is_file():
        raise ConfigError(f"no study '{name}' under {root}/ (start one with: genforge sweep run ...)")
    record = read_json_object(folder / STUDY_FILE)
    for key, kind in STUDY_KEYS.items():
        if not isinstance(record.get(key), kind) or isinstance(record.get(key), bool):
            problem = "has no" if key not in record else "has a malformed"
            raise ConfigError(f"{folder / STUDY_FILE} {problem} '{key}': the file is damaged")
    for key, allowed in (("sampler", SAMPLERS), ("pruner", PRUNERS), ("storage", STORAGES)):
        if record[key] not in allowed:
            raise ConfigError(
                f"{folder / STUDY_FILE} names an unknown {key} '{record[key]}': the file is damaged"
            )
    return record, folder


def _run_trials(
    record: dict[str, Any],
    folder: Path,
    max_minutes: float | None,
    on_trial: Callable[[int, int], Any] | None,
    jobs: int = 1,
) -> SweepResult:
    if jobs != 1:
        finished, stopped = run_parallel(record, folder, jobs=jobs, max_minutes=max_minutes)
        summary = study_summary(record["name"], folder.parent)
        return SweepResult(record["name"], str(folder), finished, record["trials"], stopped, summary["best"])
    finished, stopped = run_study(
        load_study(record, folder),
        parse_space(record["space"]),
        training_objective(record),
        target=record["trials"],
        sampler=record["sampler"],
        seed=record["seed"],
        folder=folder,
        max_minutes=max_minutes,
        on_trial=on_trial,
    )
    summary = study_summary(record["name"], folder.parent)
    return SweepResult(record["name"], str(folder), finished, record["trials"], stopped, summary["best"])


def sweep(
    family: str,
    data: str,
    space: SearchSpace | dict[str, Any],
    *,
    metric: str = "val_loss",
    direction: str | None = None,
    trials: int = 20,
    max_steps: int = 200,
    max_minutes: float | None = None,
    sampler: str = "tpe",
    pruner: str = "median",
    storage: str = "journal",
    name: str | None = None,
    root: str | Path = DEFAULT_ROOT,
    overrides: dict[str, Any] | None = None,
    data_options: dict[str, Any] | None = None,
    seed: int = 0,
    on_trial: Callable[[int, int], Any] | None = None,
    jobs: int = 1,
) -> SweepResult:
    """Start study ``name`` (default ``<family>-<data>``): ``trials`` trainings of ``family`` on ``data``
    for ``max_steps`` steps each, parameters drawn from ``space``, judged by ``metric``. Everything is
    validated before the first trial; an existing study of that name is refused (resume it instead)."""
    space = space if isinstance(space, SearchSpace) else parse_space(space)
    for value, allowed, what in (
        (sampler, SAMPLERS, "sampler"),
        (pruner, PRUNERS, "pruner"),
        (storage, STORAGES, "storage"),
    ):
        if value not in allowed:
            raise ConfigError(f"unknown {what} '{value}' (choose {', '.join(allowed)})")
    if trials < 1 or max_steps < 1:
        raise ConfigError(f"trials and max_steps must be at least 1, got {trials} and {max_steps}")
    check_jobs(jobs, storage)
    if sampler == "cmaes":
        require("cmaes", "research")
    if sampler == "grid":  # every point once at most: a larger target would repeat points
        trials = min(trials, math.prod(len(v) for v in space.grid().values()))
    direction = metric_direction(metric, direction)
    fixed = dict(overrides or {})
    space.check_against(family, fixed)
    name = name or f"{family}-{data.split(':')[0]}"
    folder = check_output_dir(study_folder(name, root))
    if (folder / STUDY_FILE).exists():
        raise ConfigError(
            f"study '{name}' already exists in {folder}: resume it (genforge sweep resume {name}) or pick another --study"
        )
    optuna = optuna_module()
    record = {
        "kind": "genforge.study",
        "version": 1,
        "name": name,
        "family": family,
        "data": data,
        "data_options": dict(data_options or {}),
        "fixed": fixed,
        "space": space.to_json(),
        "metric": metric,
        "direction": direction,
        "trials": trials,
        "max_steps": max_steps,
        "seed": seed,
        "sampler": sampler,
        "pruner": pruner,
        "storage": storage,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "versions": {"genforge": __version__, "optuna": optuna.__version__, "python": sys.version.split()[0]},
    }
    folder.mkdir(parents=True, exist_ok=True)
    # storage without study.json: a start killed before its first trial; it holds nothing to keep
    (folder / STORAGES[storage]).unlink(missing_ok=True)
    optuna.create_study(
        study_name=name,
        storage=open_storage(record, folder),
        direction="minimize" if direction == "lower" else "maximize",
    )
    atomic_write_json(folder / STUDY_FILE, record)  # written last: its presence marks a usable study
    return _run_trials(record, folder, max_minutes, on_trial, jobs)


def resume_sweep(
    name: str,
    *,
    root: str | Path = DEFAULT_ROOT,
    trials: int | None = None,
    max_minutes: float | None = None,
    on_trial: Callable[[int, int], Any] | None = None,
    jobs: int = 1,
) -> SweepResult:
    """Continue study ``name`` until it has its trials (or ``trials``, a new target): finished trials
    are kept, an interrupted one runs again with the same parameters."""
    record, folder = read_study(name, root)
    check_jobs(jobs, record["storage"])
    if trials is not None:
        if trials < 1:
            raise ConfigError(f"trials must be at least 1, got {trials}")
        record = {**record, "trials": trials}
        atomic_write_json(folder / STUDY_FILE, record)
    return _run_trials(record, folder, max_minutes, on_trial, jobs)


def study_summary(name: str, root: str | Path = DEFAULT_ROOT) -> dict[str, Any]:
    """The study record, every trial (number, state, value, parameters, run) and the best one, and
    Optuna's parameter importances when at least two trials completed."""
    record, folder = read_study(name, root)
    study = load_study(record, folder)
    rows = [
        {
            "number": t.number,
            "state": "interrupted" if t.user_attrs.get(INTERRUPTED) else t.state.name.lower(),
            "value": t.value if t.state.name == "COMPLETE" else None,
            "last_step": t.last_step,
            "params": t.params,
            "run": t.user_attrs.get("run"),
            "error": t.user_attrs.get("error"),
        }
        for t in study.get_trials(deepcopy=False)
    ]
    complete = [r for r in rows if r["state"] == "complete"]
    lower = record["direction"] == "lower"
    best = min(complete, key=lambda r: r["value"] if lower else -r["value"]) if complete else None
    importances: dict[str, float] = {}
    if len(complete) >= 2:
        try:
            importances = dict(optuna_module().importance.get_param_importances(study))
        except (RuntimeError, ValueError):
            importances = {}
    return {"study": record, "folder": str(folder), "trials": rows, "best": best, "importances": importances}
