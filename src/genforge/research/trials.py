"""The Optuna side of a sweep: storages, seeded samplers, pruners, and the trial loop in one process
(:func:`run_study`) or several (:func:`run_parallel`).

Storage is Optuna's journal file by default: an append-only log that several processes share through
file locks, where SQLite under parallel workers fails with "database is locked" (Optuna's FAQ advises
against it); SQLite, or any RDB URL Optuna takes, on request. With ``jobs`` > 1 each worker is a
process of its own that reads the shared history before every trial, stops when finished plus running
trials reach the target, and trains on ``cpu_count // jobs`` torch threads. Only one worker makes a
study reproducible: parallel workers finish in an order the machine decides.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from genforge.core.errors import ConfigError, GenforgeError, require
from genforge.pipelines.training import train
from genforge.research.runsets import read_figure
from genforge.research.space import SearchSpace, parse_space

STORAGES = {"sqlite": "study.db", "journal": "study.journal"}
SAMPLERS = ("tpe", "random", "grid", "cmaes")
PRUNERS = ("median", "hyperband", "none")
INTERRUPTED = "interrupted"  # the user attr of a trial that was cut short (re-run on resume)


def optuna_module():
    optuna = require("optuna", "research")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def open_storage(record: dict[str, Any], folder: Path) -> Any:
    optuna = optuna_module()
    path = folder / STORAGES[record["storage"]]
    if record["storage"] == "journal":
        from optuna.storages.journal import JournalFileBackend

        return optuna.storages.JournalStorage(JournalFileBackend(str(path)))
    return optuna.storages.RDBStorage(f"sqlite:///{path}")


def _grid_sampler(optuna: Any) -> type:
    """Optuna's GridSampler without its ``study.stop()`` after the last point, which is only allowed
    inside ``study.optimize``: the trial loop here (ask and tell) stops at the grid's size itself."""

    class GridSampler(optuna.samplers.GridSampler):
        def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
            return None

    return GridSampler


def _trial_seed(sampler: str, seed: int, count: int) -> int:
    """The sampler's seed before a trial: a function of the study's seed and the trials so far, so a
    resumed study draws what an uninterrupted one draws. The grid keeps the study's seed: it maps trial
    numbers to points through one seeded shuffle, and unvisited points are read from the history."""
    return seed if sampler == "grid" else seed * 100_003 + count


def _sampler(name: str, seed: int, space: SearchSpace) -> Any:
    """A seeded Optuna sampler; CMA-ES samples categorical and conditional parameters independently
    (randomly), as Optuna's CmaEsSampler does for what it cannot model."""
    optuna = optuna_module()
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "grid":
        return _grid_sampler(optuna)(space.grid(), seed=seed)
    if name == "cmaes":
        require("cmaes", "research")
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    return optuna.samplers.TPESampler(seed=seed)


def _pruner(record: dict[str, Any]) -> Any:
    optuna = optuna_module()
    if record["pruner"] == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0)
    if record["pruner"] == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=record["max_steps"])
    return optuna.pruners.NopPruner()


def load_study(record: dict[str, Any], folder: Path) -> Any:
    optuna = optuna_module()
    path = folder / STORAGES[record["storage"]]
    try:
        return optuna.load_study(
            study_name=record["name"],
            storage=open_storage(record, folder),
            sampler=_sampler(record["sampler"], record["seed"], parse_space(record["space"])),
            pruner=_pruner(record),
        )
    except KeyError:
        raise ConfigError(f"{path} holds no study '{record['name']}': the file is damaged") from None
    except Exception as exc:  # sqlite/sqlalchemy/journal errors of a damaged file, whatever their class
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(
            f"{path} cannot be read as an Optuna storage ({first}): the file is damaged"
        ) from None


def is_finished(trial: Any) -> bool:
    return trial.state.is_finished() and not trial.user_attrs.get(INTERRUPTED)


def reclaim_unfinished(study: Any, folder: Path) -> None:
    """Trials left running by a killed process become failed, interrupted ones; their runs go."""
    optuna = optuna_module()
    for trial in study.get_trials(deepcopy=False):
        if not trial.state.is_finished():
            study._storage.set_trial_user_attr(trial._trial_id, INTERRUPTED, True)
            study._storage.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.FAIL)
            shutil.rmtree(folder / "trials" / str(trial.number), ignore_errors=True)


def _reporter(trial: Any, metric: str) -> Callable[[dict[str, Any]], None]:
    """Progress callback: the training value of the metric becomes the trial's intermediate value."""
    optuna = optuna_module()
    key = metric.split("_", 1)[1] if metric.startswith(("val_", "train_")) else metric

    def report(event: dict[str, Any]) -> None:
        value = (event.get("terms") or {}).get(key)
        if isinstance(value, float):
            trial.report(value, event["step"])
            if trial.should_prune():
                raise optuna.TrialPruned()

    return report


# (trial, params, trial folder) -> value; raises optuna.TrialPruned, KeyboardInterrupt or GenforgeError
Objective = Callable[[Any, dict[str, Any], Path], float]


def training_objective(record: dict[str, Any]) -> Objective:
    """Train the study's family with the trial's parameters into the trial's folder; the value is the
    study's metric of that run."""

    def objective(trial: Any, params: dict[str, Any], out: Path) -> float:
        result = train(
            record["family"],
            record["data"],
            overrides={**record["fixed"], **params},
            data_options=record["data_options"],
            out=out,
            seed=record["seed"],
            max_steps=record["max_steps"],
            progress=_reporter(trial, record["metric"]),
        )
        if result.status == "interrupted":
            raise KeyboardInterrupt
        trial.set_user_attr("run", str(result.run.path))
        return read_figure(result.run, record["metric"])

    return objective


def _run_trial(study: Any, space: SearchSpace, objective: Objective, folder: Path) -> None:
    optuna = optuna_module()
    trial = study.ask()
    params = space.suggest(trial)
    out = folder / "trials" / str(trial.number)
    try:
        value = objective(trial, params, out)
    except optuna.TrialPruned:
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        return
    except KeyboardInterrupt:
        trial.set_user_attr(INTERRUPTED, True)
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        shutil.rmtree(out, ignore_errors=True)
        raise
    except GenforgeError as exc:  # a diverged or refused configuration is a result of the sweep
        trial.set_user_attr("error", str(exc))
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        return
    study.tell(trial, value)


def run_study(
    study: Any,
    space: SearchSpace,
    objective: Objective,
    *,
    target: int,
    sampler: str,
    seed: int,
    folder: Path,
    max_minutes: float | None = None,
    on_trial: Callable[[int, int], Any] | None = None,
) -> tuple[int, str]:
    """Run trials of ``study`` until ``target`` have finished or ``max_minutes`` have passed (checked
    between trials); returns (finished trials, "trials" or "time")."""
    reclaim_unfinished(study, folder)
    deadline = None if max_minutes is None else time.monotonic() + max_minutes * 60
    # counted once, then kept here: one process runs the study, and re-reading every trial from an
    # RDB storage per trial costs more than the trial loop itself
    finished = sum(is_finished(t) for t in study.get_trials(deepcopy=False))
    while True:
        if finished >= target:
            return finished, "trials"
        if deadline is not None and time.monotonic() >= deadline:
            return finished, "time"
        if on_trial is not None:
            on_trial(finished, target)
        # the next parameters depend on the finished history and this seed only (see module docstring)
        study.sampler = _sampler(sampler, _trial_seed(sampler, seed, finished), space)
        _run_trial(study, space, objective, folder)
        finished += 1


def check_jobs(jobs: int, storage: str) -> None:
    """``jobs`` workers can share ``storage``: at least 1, at most 4 per core, SQLite for 1 only."""
    limit = (os.cpu_count() or 1) * 4
    if not 1 <= jobs <= limit:
        raise ConfigError(f"jobs must be between 1 and {limit}, got {jobs}")
    if jobs > 1 and storage == "sqlite":
        raise ConfigError(
            "parallel jobs need the journal storage (SQLite locks under several writers): --storage journal"
        )


def _worker(
    record: dict[str, Any],
    folder: str,
    index: int,
    deadline: float | None,
    threads: int,
    make_objective: Callable[[dict[str, Any]], Objective],
) -> int:
    """One parallel worker: trials until the study has its target (finished + running) or time is up."""
    import torch

    optuna = optuna_module()
    torch.set_num_threads(threads)
    folder_path = Path(folder)
    study = load_study(record, folder_path)
    space = parse_space(record["space"])
    objective = make_objective(record)
    done = 0
    while True:
        trials = study.get_trials(deepcopy=False)
        finished = sum(is_finished(t) for t in trials)
        running = sum(t.state == optuna.trial.TrialState.RUNNING for t in trials)
        if finished + running >= record["trials"] or (deadline is not None and time.time() >= deadline):
            return done
        seed = _trial_seed(record["sampler"], record["seed"], len(trials))
        seed = seed if record["sampler"] == "grid" else seed * 31 + index  # workers draw apart
        study.sampler = _sampler(record["sampler"], seed, space)
        _run_trial(study, space, objective, folder_path)
        done += 1


def run_parallel(
    record: dict[str, Any],
    folder: Path,
    *,
    jobs: int,
    max_minutes: float | None = None,
    make_objective: Callable[[dict[str, Any]], Objective] = training_objective,
) -> tuple[int, str]:
    """Run the study's trials in ``jobs`` processes on its shared storage; returns (finished trials,
    "trials" or "time"). ``make_objective`` (a module-level function: it is sent to the workers) builds
    each worker's objective from the study record."""
    check_jobs(jobs, record["storage"])
    study = load_study(record, folder)
    reclaim_unfinished(study, folder)
    deadline = None if max_minutes is None else time.time() + max_minutes * 60
    threads = max(1, (os.cpu_count() or 1) // jobs)
    with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
        futures = [
            pool.submit(_worker, record, str(folder), k, deadline, threads, make_objective)
            for k in range(jobs)
        ]
        for future in futures:
            future.result()
    finished = sum(is_finished(t) for t in load_study(record, folder).get_trials(deepcopy=False))
    return finished, "trials" if finished >= record["trials"] else "time"
