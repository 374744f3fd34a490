"""Runs into and out of MLflow after the fact: ``export_runs`` and ``import_runs``.

Export sends finished run directories to an MLflow experiment: parameters (the flattened config),
every training and validation record of ``metrics.jsonl`` at its step (timestamped from the run's
creation time plus its elapsed seconds), the evaluation's figures, and the run's files as artifacts.
A run already in the experiment (tag ``genforge.run_id``) is skipped, so exporting a folder again
sends only the new runs; a run that fails half-way is deleted from MLflow again.

Import writes one run directory per MLflow run of an experiment. A run genforge exported comes back
as it left (``config.json``, ``metrics.jsonl``, ``eval.json`` and the model card, from its artifacts;
no checkpoints). Any other MLflow run becomes a record-only run directory: metrics named
``val_*``/``train_*`` become validation/training records at their steps, other metrics the figures of
``eval.json`` (their latest values), and the parameters ``family``, ``data`` and ``seed``, when present,
fill the config, so ``genforge compare`` reads imported runs like its own. Each directory is written
under a temporary name and renamed when complete.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from pathlib import Path
from typing import Any

from genforge.core.errors import ConfigError
from genforge.core.io import append_jsonl, atomic_write_json
from genforge.core.paths import check_output_dir
from genforge.core.runs import Run
from genforge.research.runsets import resolve_runs
from genforge.research.tracking import (
    RUN_ID_TAG,
    MetricBuffer,
    Store,
    TrackingTarget,
    eval_figures,
    flat_params,
    log_params_and_tags,
    log_run_files,
    open_store,
    write_tracking,
)

RESTORED_FILES = ("config.json", "metrics.jsonl", "eval.json", "model_card.md")


def _created_ms(config: dict[str, Any]) -> int:
    try:
        return int(time.mktime(time.strptime(str(config.get("created")), "%Y-%m-%dT%H:%M:%S")) * 1000)
    except ValueError:
        return int(time.time() * 1000)


def _existing(store: Store) -> dict[str, str]:
    """genforge run id -> MLflow run id, for the runs of the experiment genforge sent."""
    return {r.data.tags[RUN_ID_TAG]: r.info.run_id for r in store.runs() if RUN_ID_TAG in r.data.tags}


def export_runs(reference: str, target: TrackingTarget, experiment: str) -> list[dict[str, Any]]:
    """Send the runs ``reference`` names (a run, a folder of runs or a glob) to ``experiment``."""
    runs = resolve_runs(reference)
    store = open_store(target, experiment)
    existing = _existing(store)
    results = []
    for run in runs:
        if run.id in existing:
            results.append({"run": str(run.path), "status": "skipped", "reason": "already in the experiment"})
            continue
        if run.is_training():
            results.append({"run": str(run.path), "status": "skipped", "reason": "training now"})
            continue
        results.append(_export_one(store, run))
    return results


def _export_one(store: Store, run: Run) -> dict[str, Any]:
    config = run.read_config()
    start = _created_ms(config)
    created = store.call(
        "creating a run", store.client.create_run, store.experiment_id, start_time=start, run_name=run.id
    )
    mlflow_run_id = created.info.run_id
    try:
        log_params_and_tags(store, mlflow_run_id, run, config)
        buffer = MetricBuffer()
        records = run.read_metrics() if run.metrics_path.exists() else []
        for record in records:
            elapsed = record.get("elapsed_s")
            offset = int(elapsed * 1000) if isinstance(elapsed, (int, float)) else 0
            buffer.add_record(record, start + offset)
        last = max((r["step"] for r in records if isinstance(r.get("step"), int)), default=0)
        buffer.add(eval_figures(run.read_eval()), last, start)
        sent = buffer.flush(store, mlflow_run_id)
        files = log_run_files(store, mlflow_run_id, run)
        status = "KILLED" if run.latest_checkpoint_meta().get("status") == "interrupted" else "FINISHED"
        store.call("ending the run", store.client.set_terminated, mlflow_run_id, status=status)
    except BaseException:
        with contextlib.suppress(Exception):  # the store failed once; that first error is reported
            store.client.delete_run(mlflow_run_id)
        raise
    write_tracking(run, store, mlflow_run_id, buffer.last_step)
    return {
        "run": str(run.path),
        "status": "exported",
        "mlflow_run_id": mlflow_run_id,
        "metric_values": sent,
        "params": len(flat_params(config)),
        "artifacts": files,
    }


def import_runs(target: TrackingTarget, experiment: str, out: str | Path) -> list[dict[str, Any]]:
    """One run directory under ``out`` per run of ``experiment`` (see the module docstring)."""
    out = check_output_dir(out)
    store = open_store(target, experiment, create=False)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for mlflow_run in store.runs():
        run_id = mlflow_run.info.run_id
        name = mlflow_run.data.tags.get(RUN_ID_TAG) or f"mlflow-{run_id}"
        dest = out / name
        if dest.exists():
            results.append({"run": str(dest), "mlflow_run_id": run_id, "status": "skipped"})
            continue
        temp = out / f".import-{name}.tmp"
        shutil.rmtree(temp, ignore_errors=True)
        temp.mkdir()
        try:
            restored = RUN_ID_TAG in mlflow_run.data.tags and _restore(store, run_id, temp)
            if not restored:
                _synthesize(store, mlflow_run, temp)
            Run(temp).read_config()  # what was written reads back as a run
            write_tracking(Run(temp), store, run_id, {})
            temp.rename(dest)
        except BaseException:
            shutil.rmtree(temp, ignore_errors=True)
            raise
        kind = "restored" if restored else "imported"
        results.append({"run": str(dest), "mlflow_run_id": run_id, "status": kind})
    return results


def _restore(store: Store, mlflow_run_id: str, folder: Path) -> bool:
    """The run's own files from its artifacts; False when it has no ``config.json`` there."""
    names = {a.path for a in store.call("listing artifacts", store.client.list_artifacts, mlflow_run_id)}
    if "config.json" not in names:
        return False
    for name in RESTORED_FILES:
        if name in names:
            store.call(
                f"downloading {name}",
                store.client.download_artifacts,
                mlflow_run_id,
                name,
                str(folder),
            )
    return True


def _synthesize(store: Store, mlflow_run: Any, folder: Path) -> None:
    params = mlflow_run.data.params
    run_id = mlflow_run.info.run_id
    try:
        seed = int(params.get("seed", 0))
    except ValueError:
        raise ConfigError(
            f"MLflow run {run_id}: parameter seed={params['seed']!r} is not an integer"
        ) from None
    records: dict[tuple[str, int], dict[str, Any]] = {}
    figures: dict[str, float] = {}
    for key in sorted(mlflow_run.data.metrics):
        history = store.call("reading metrics", store.client.get_metric_history, run_id, key)
        split, _, name = key.partition("_")
        if split in ("train", "val") and name:
            for point in history:
                record = records.setdefault((split, point.step), {"step": point.step, "split": split})
                record[name] = point.value
        elif history:
            figures[key] = max(history, key=lambda p: (p.step, p.timestamp)).value
    config = {
        "family": params.get("family", "mlflow"),
        "model": {},
        "train": {},
        "data": {"spec": params.get("data", f"mlflow:{store.experiment}"), "options": {}},
        "data_info": {"kind": "external", "shape": []},
        "seed": seed,
        "params": dict(params),
        "imported": {"from": store.target.uri, "experiment": store.experiment, "run_id": run_id},
    }
    run = Run(folder)
    run.write_config(config)
    ordered = sorted(records.values(), key=lambda r: (r["step"], r["split"] != "train"))
    if ordered:
        append_jsonl(run.metrics_path, ordered)
    if figures:
        atomic_write_json(run.eval_path, figures)
