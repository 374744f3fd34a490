"""Per-trial overhead of genforge's sweep loop against a bare Optuna ``study.optimize``, on a trivial
objective ((x - 2)^2 + (y + 1)^2), same sampler (TPE, seeded), same storage, side by side.

    .venv/bin/python benchmarks/sweep_overhead.py [--trials 200] [--storage journal|sqlite|both]

genforge's loop (``research.sweep.run_study``) rebuilds the sampler from (seed, finished trials) before
each trial, so a resumed study draws the same trials, and scans the study for unfinished trials; this
is what it costs. It prints seconds per trial for each and the ratio genforge / Optuna, for Optuna's
journal file and its SQLite (RDB) storage.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import optuna
from optuna.storages.journal import JournalFileBackend

from genforge.research.space import parse_space
from genforge.research.sweep import run_study

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--storage", choices=["journal", "sqlite", "both"], default="both")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    kinds = ["journal", "sqlite"] if args.storage == "both" else [args.storage]
    print(f"{'storage':<8} {'optuna s/trial':>15} {'genforge s/trial':>17} {'genforge/optuna':>16}")
    for kind in kinds:
        with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
            reference = bare(kind, args.trials, Path(a))
            ours = genforge_loop(kind, args.trials, Path(b))
        print(f"{kind:<8} {reference:>15.4f} {ours:>17.4f} {ours / reference:>15.2f}x")


if __name__ == "__main__":
    main()
