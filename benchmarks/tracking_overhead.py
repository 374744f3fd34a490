"""Tracking cost: 1,000 metric points and 20 params for one run, written to genforge's run store and to
MLflow's SQLite backend, per call and batched, side by side as ratios.

    .venv/bin/python benchmarks/tracking_overhead.py [--points 1000] [--repeats 3]

genforge per call is ``Run.log([record])`` once per point (an fsynced-free append to metrics.jsonl, as
the trainer does) after ``Run.write_config`` with the params; batched is one ``Run.log`` of every
record. MLflow per call is ``MlflowClient.log_param`` / ``log_metric`` once each; batched is
``log_batch`` (MLflow's limit of 1,000 metrics a call). Each figure is the best of ``--repeats`` runs on
a database that is already migrated; MLflow's first-database cost (creating and migrating a new SQLite
file) is measured once and printed apart, as it is paid once per database, not per run.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from genforge.core.runs import new_run
from genforge.research.tracking import mlflow_module

PARAMS = {f"param_{i}": i * 0.5 for i in range(20)}


def _genforge(folder: Path, points: int, batched: bool) -> float:
    start = time.perf_counter()
    run = new_run(folder, "bench")
    run.write_config({"params": PARAMS})
    records = [{"step": s, "split": "train", "loss": 1.0 / (s + 1)} for s in range(points)]
    if batched:
        run.log(records)
    else:
        for record in records:
            run.log([record])
    return time.perf_counter() - start


def _mlflow(client, experiment_id: str, points: int, batched: bool) -> float:
    from mlflow.entities import Metric, Param

    start = time.perf_counter()
    run_id = client.create_run(experiment_id).info.run_id
    stamp = int(time.time() * 1000)
    if batched:
        client.log_batch(run_id, params=[Param(k, str(v)) for k, v in PARAMS.items()])
        metrics = [Metric("loss", 1.0 / (s + 1), stamp, s) for s in range(points)]
        for i in range(0, points, 1000):
            client.log_batch(run_id, metrics=metrics[i : i + 1000])
    else:
        for key, value in PARAMS.items():
            client.log_param(run_id, key, str(value))
        for s in range(points):
            client.log_metric(run_id, "loss", 1.0 / (s + 1), timestamp=stamp, step=s)
    client.set_terminated(run_id)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    mlflow = mlflow_module()
    folder = Path(tempfile.mkdtemp(prefix="tracking-bench-"))
    try:
        uri = f"sqlite:///{folder / 'mlflow.db'}"
        start = time.perf_counter()
        client = mlflow.MlflowClient(tracking_uri=uri)
        client.search_experiments()
        first_db = time.perf_counter() - start
        experiment_id = client.create_experiment("bench", artifact_location=(folder / "art").as_uri())
        rows = []
        for mode, batched in (("per call", False), ("batched", True)):
            ours = min(_genforge(folder / "runs", args.points, batched) for _ in range(args.repeats))
            theirs = min(_mlflow(client, experiment_id, args.points, batched) for _ in range(args.repeats))
            rows.append((mode, ours, theirs))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"{args.points} metric points + {len(PARAMS)} params, one run, best of {args.repeats}")
    print(f"{'mode':<9} {'genforge s':>11} {'MLflow SQLite s':>16} {'MLflow / genforge':>18}")
    for mode, ours, theirs in rows:
        print(f"{mode:<9} {ours:>11.4f} {theirs:>16.3f} {theirs / ours:>17.1f}x")
    print(f"MLflow first database (create + schema migrations): {first_db:.2f} s, once per database")


if __name__ == "__main__":
    main()
