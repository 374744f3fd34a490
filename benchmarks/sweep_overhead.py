"""Per-trial overhead of genforge's sweep loop against a bare Optuna ``study.optimize``, on a trivial
objective ((x - 2)^2 + (y + 1)^2), same sampler (TPE, seeded), same storage, side by side.

    .venv/bin/python benchmarks/sweep_overhead.py [--trials 200] [--storage journal|sqlite|both] [--jobs 2]

genforge's loop (``research.sweep.run_study``) rebuilds the sampler from (seed, finished trials) before
each trial, so a resumed study draws the same trials, and scans the study for unfinished trials; this
is what it costs. It prints seconds per trial for each and the ratio genforge / Optuna, for Optuna's
journal file and its SQLite (RDB) storage. With ``--jobs 2`` it then runs the same number of trials
in two worker processes on one journal file (``research.trials.run_parallel``) and counts storage
errors (a worker's exception, or a trial that did not complete).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import optuna
from optuna.storages.journal import JournalFileBackend

from genforge.research.space import parse_space
from genforge.research.trials import run_parallel, run_study

SPACE = {
    "params": {"x": {"type": "float", "low": -10, "high": 10}, "y": {"type": "float", "low": -10, "high": 10}}
}


def _storage(kind: str, folder: Path):
    if kind == "journal":
        return optuna.storages.JournalStorage(JournalFileBackend(str(folder / "study.journal")))
    return optuna.storages.RDBStorage(f"sqlite:///{folder / 'study.db'}")


def bare(kind: str, trials: int, folder: Path) -> float:
    study = optuna.create_study(storage=_storage(kind, folder), sampler=optuna.samplers.TPESampler(seed=0))
    start = time.perf_counter()
    study.optimize(
        lambda t: (t.suggest_float("x", -10, 10) - 2) ** 2 + (t.suggest_float("y", -10, 10) + 1) ** 2,
        n_trials=trials,
    )
    return (time.perf_counter() - start) / trials


def genforge_loop(kind: str, trials: int, folder: Path) -> float:
    study = optuna.create_study(storage=_storage(kind, folder))
    space = parse_space(SPACE)
    start = time.perf_counter()
    run_study(
        study,
        space,
        lambda trial, params, out: (params["x"] - 2) ** 2 + (params["y"] + 1) ** 2,
        target=trials,
        sampler="tpe",
        seed=0,
        folder=folder,
    )
    return (time.perf_counter() - start) / trials


def trivial_objective(record: dict):
    """The worker's objective (module level: it is sent to the worker processes)."""
    return lambda trial, params, out: (params["x"] - 2) ** 2 + (params["y"] + 1) ** 2


def parallel(trials: int, jobs: int, folder: Path) -> tuple[float, int, int]:
    """(seconds per trial, complete trials, storage errors) for ``jobs`` workers on one journal file."""
    record = {"name": "par", "storage": "journal", "sampler": "tpe", "pruner": "none", "seed": 0}
    record.update({"space": SPACE, "trials": trials, "max_steps": 1})
    optuna.create_study(study_name="par", storage=_storage("journal", folder))
    errors = 0
    start = time.perf_counter()
    try:
        run_parallel(record, folder, jobs=jobs, make_objective=trivial_objective)
    except Exception as exc:  # a storage error in a worker surfaces here
        print(f"worker error: {exc}")
        errors += 1
    seconds = time.perf_counter() - start
    study = optuna.load_study(study_name="par", storage=_storage("journal", folder))
    states = [t.state.name for t in study.get_trials(deepcopy=False)]
    errors += sum(s != "COMPLETE" for s in states)
    return seconds / max(len(states), 1), states.count("COMPLETE"), errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--storage", choices=["journal", "sqlite", "both"], default="both")
    parser.add_argument("--jobs", type=int, default=2, help="workers for the parallel run (0: skip it)")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    kinds = ["journal", "sqlite"] if args.storage == "both" else [args.storage]
    print(f"{'storage':<8} {'optuna s/trial':>15} {'genforge s/trial':>17} {'genforge/optuna':>16}")
    for kind in kinds:
        with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
            reference = bare(kind, args.trials, Path(a))
            ours = genforge_loop(kind, args.trials, Path(b))
        print(f"{kind:<8} {reference:>15.4f} {ours:>17.4f} {ours / reference:>15.2f}x")
    if args.jobs > 0:
        with tempfile.TemporaryDirectory() as c:
            per_trial, complete, errors = parallel(args.trials, args.jobs, Path(c))
        print(
            f"{args.jobs} parallel jobs, journal: {complete} trials complete, {errors} storage errors, "
            f"{per_trial:.4f} s/trial wall (worker start-up included)"
        )


if __name__ == "__main__":
    main()
