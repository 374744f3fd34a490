"""Experiment tracking in MLflow, beside genforge's own run store.

genforge's run directory stays the source of truth; MLflow is a second view of it, written live while a
run trains (``genforge train ... --track mlflow``) or afterwards (``genforge track export``), and read
back into run directories (``genforge track import``). The optional ``genforge[mlflow]`` extra brings
MLflow's client (``mlflow-skinny``) and its SQLAlchemy store; no MLflow server is needed.

Where things go: ``--track mlflow`` is ``sqlite:///mlruns/mlflow.db`` under the working directory;
``--track mlflow:sqlite:///PATH/mlflow.db`` names the database. Artifacts go to ``mlartifacts/`` next to
the database (MLflow would otherwise write ``./mlruns`` wherever the user stands), set on the experiment
genforge creates (``genforge`` unless ``--experiment`` says otherwise). MLflow's telemetry is turned off
before MLflow is imported, and an HTTP tracking server (``mlflow:http://127.0.0.1:5000``) is tried once,
without MLflow's retries, so an unreachable store is one line at once rather than minutes of back-off.

Live logging rides on the trainer's progress events: each event reads the records the run appended to
``metrics.jsonl`` since the last one (training and validation alike) and buffers them; the buffer goes to
MLflow in one ``log_batch`` call every few seconds, and at the end of training with the evaluation's
figures and the run's files as artifacts. A tracking store that fails mid-run never stops training: the
run is complete in genforge's store and the result's notes say how to send it later.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genforge.core.errors import ConfigError, GenforgeError, require
from genforge.core.io import atomic_write_json, read_json_object
from genforge.core.runs import Run

DEFAULT_DB = Path("mlruns") / "mlflow.db"
DEFAULT_EXPERIMENT = "genforge"
ARTIFACT_DIR = "mlartifacts"
TRACKING_FILE = "tracking.json"  # in the run directory: which MLflow run mirrors it, up to which step
RUN_ID_TAG = "genforge.run_id"
RUN_FILES = ("config.json", "metrics.jsonl", "eval.json", "model_card.md")
SKIPPED_KEYS = {"step", "split", "event"}
MAX_PARAMS, MAX_METRICS = 100, 1000  # MLflow's limits for one log_batch call
PARAM_LIMIT = 6000  # MLflow's longest parameter value


class TrackingError(GenforgeError):
    """The tracking store cannot be reached, is locked, or refused a write."""


@dataclass(frozen=True)
class TrackingTarget:
    """An MLflow tracking store: its URI and, for a SQLite file, the artifact folder beside it."""

    uri: str
    artifact_root: str | None = None

    @property
    def label(self) -> str:
        return f"mlflow:{self.uri}"


def parse_target(spec: str, *, cwd: str | os.PathLike | None = None) -> TrackingTarget:
    """``mlflow`` or ``mlflow:URI`` (``sqlite:///PATH`` or ``http(s)://HOST``) as a :class:`TrackingTarget`."""
    kind, _, uri = spec.partition(":")
    if kind != "mlflow":
        raise ConfigError(f"unknown tracker '{spec}': use mlflow or mlflow:sqlite:///PATH/mlflow.db")
    base = Path(cwd) if cwd is not None else Path.cwd()
    if not uri:
        return _sqlite_target(base / DEFAULT_DB)
    if uri.startswith("sqlite:///"):
        path = Path(uri[len("sqlite:///") :])
        if not path.name or uri.endswith("/"):
            raise ConfigError(f"tracking URI {uri} names no database file: sqlite:///PATH/mlflow.db")
        return _sqlite_target(path if path.is_absolute() else base / path)
    if uri.startswith(("http://", "https://")):
        return TrackingTarget(uri.rstrip("/"))
    raise ConfigError(
        f"unsupported MLflow tracking URI '{uri}': use sqlite:///PATH/mlflow.db or http(s)://HOST:PORT"
    )


def _sqlite_target(path: Path) -> TrackingTarget:
    path = path.resolve()
    if path.exists() and not path.is_file():
        raise ConfigError(f"tracking database {path} is a folder, not a file")
    return TrackingTarget(f"sqlite:///{path}", (path.parent / ARTIFACT_DIR).as_uri())


def mlflow_module():
    """MLflow, imported with telemetry off and no HTTP retries (or one line saying how to install it)."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    mlflow = require("mlflow", "mlflow")
    logging.getLogger("mlflow").setLevel(logging.WARNING)  # not its "creating tables" lines on stderr
    return mlflow


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


@dataclass
class Store:
    """An open MLflow tracking store with the experiment runs are written to."""

    target: TrackingTarget
    experiment: str
    client: Any = field(repr=False)
    experiment_id: str = ""

    def call(self, what: str, fn, *args, **kwargs):
        """Run one MLflow call; any failure becomes one :class:`TrackingError` line."""
        try:
            return fn(*args, **kwargs)
        except GenforgeError:
            raise
        except Exception as exc:  # MLflow, SQLAlchemy and HTTP errors alike
            raise TrackingError(f"MLflow store {self.target.uri}: {what} failed: {_reason(exc)}") from None

    def runs(self, filter_string: str = "") -> list[Any]:
        """Every run of the experiment (oldest first), or those matching ``filter_string``."""
        found: list[Any] = []
        token = None
        while True:
            page = self.call(
                "searching runs",
                self.client.search_runs,
                [self.experiment_id],
                filter_string=filter_string,
                max_results=1000,
                order_by=["attributes.start_time ASC"],
                page_token=token,
            )
            found.extend(page)
            token = page.token
            if not token:
                return found


def open_store(target: TrackingTarget, experiment: str = DEFAULT_EXPERIMENT, *, create: bool = True) -> Store:
    """Connect to ``target`` and find (or, with ``create``, make) ``experiment``; a SQLite store's
    folder is created and its schema migrated on first use (MLflow's migrations take ~10 s once)."""
    if not experiment or not experiment.strip():
        raise ConfigError("name an MLflow experiment: --experiment NAME")
    mlflow = mlflow_module()
    if target.uri.startswith("sqlite:///"):
        database = Path(target.uri[len("sqlite:///") :])
        if not create and not database.is_file():
            raise TrackingError(f"no MLflow database at {database}")
        database.parent.mkdir(parents=True, exist_ok=True)
    store = Store(target, experiment, client=None)
    store.client = store.call("connecting", mlflow.MlflowClient, tracking_uri=target.uri)
    found = store.call("reading experiments", store.client.get_experiment_by_name, experiment)
    if found is not None:
        if found.lifecycle_stage == "deleted":
            raise TrackingError(f"MLflow experiment '{experiment}' is deleted in {target.uri}: restore it")
        store.experiment_id = found.experiment_id
        return store
    if not create:
        raise TrackingError(f"no MLflow experiment '{experiment}' in {target.uri}")
    location = f"{target.artifact_root}/{experiment}" if target.artifact_root else None
    store.experiment_id = store.call(
        "creating the experiment", store.client.create_experiment, experiment, artifact_location=location
    )
    return store


# what a run holds, as MLflow entities --------------------------------------------------------------
def flat_params(config: dict[str, Any]) -> dict[str, str]:
    """A run's config as MLflow parameters: ``model.lr``, ``train.max_steps``, ``data.spec``, ``seed`` …"""
    params: dict[str, str] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict) and value:
            for key, item in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), item)
            return
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        params[prefix] = text[:PARAM_LIMIT]

    for key in ("family", "seed", "parameters", "model", "train", "data"):
        if key in config:
            walk(key, config[key])
    return params


def record_metrics(record: dict[str, Any]) -> dict[str, float]:
    """The figures of one ``metrics.jsonl`` record as ``{split}_{key}`` (``val_loss``, ``train_kl``)."""
    split = record.get("split")
    if split not in ("train", "val"):
        return {}
    return {
        f"{split}_{key}": float(value)
        for key, value in record.items()
        if key not in SKIPPED_KEYS
        and isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
    }


def eval_figures(evaluation: dict[str, Any] | None) -> dict[str, float]:
    """The numbers of ``eval.json`` by the names ``compare`` reads them under: top-level figures
    (``bits_per_dim``) and those of its metric groups (``fd_digits`` under ``metrics.fd``)."""
    evaluation = evaluation or {}
    groups = [g for g in (evaluation.get("metrics") or {}).values() if isinstance(g, dict)]
    figures: dict[str, float] = {}
    for source in (evaluation, *groups):
        for key, value in source.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                figures.setdefault(key, float(value))
    return figures


def run_tags(run: Run, config: dict[str, Any]) -> dict[str, str]:
    return {
        RUN_ID_TAG: run.id,
        "genforge.run_path": str(run.path.resolve()),
        "genforge.family": str(config.get("family", "")),
        "genforge.data": str(config.get("data", {}).get("spec", "")),
        "mlflow.runName": run.id,
    }


def read_tracking(run: Run) -> dict[str, Any]:
    path = run.artifact(TRACKING_FILE)
    return read_json_object(path) if path.exists() else {}


def write_tracking(run: Run, store: Store, mlflow_run_id: str, last_step: dict[str, int]) -> None:
    atomic_write_json(
        run.artifact(TRACKING_FILE),
        {
            "mlflow": {
                "uri": store.target.uri,
                "experiment": store.experiment,
                "experiment_id": store.experiment_id,
                "run_id": mlflow_run_id,
                "last_step": last_step,
            }
        },
    )


class MetricBuffer:
    """Metrics waiting for one ``log_batch`` call, with the last step sent per split (no step twice)."""

    def __init__(self, last_step: dict[str, int] | None = None) -> None:
        self.pending: list[Any] = []
        self.last_step = dict(last_step or {})

    def add_record(self, record: dict[str, Any], timestamp_ms: int) -> None:
        from mlflow.entities import Metric

        if "split" not in record and "event" not in record:  # finetune embed's loss per step: training
            record = {**record, "split": "train"}
        split, step = record.get("split"), record.get("step")
        if not isinstance(step, int) or split not in ("train", "val"):
            return
        if step <= self.last_step.get(split, -1):
            return
        self.last_step[split] = step
        for key, value in record_metrics(record).items():
            self.pending.append(Metric(key, value, timestamp_ms, step))

    def add(self, figures: dict[str, float], step: int, timestamp_ms: int) -> None:
        from mlflow.entities import Metric

        self.pending.extend(Metric(k, v, timestamp_ms, step) for k, v in figures.items())

    def flush(self, store: Store, mlflow_run_id: str) -> int:
        sent = 0
        while self.pending:
            chunk, self.pending = self.pending[:MAX_METRICS], self.pending[MAX_METRICS:]
            store.call("logging metrics", store.client.log_batch, mlflow_run_id, metrics=chunk)
            sent += len(chunk)
        return sent


def log_params_and_tags(store: Store, mlflow_run_id: str, run: Run, config: dict[str, Any]) -> None:
    from mlflow.entities import Param, RunTag

    params = [Param(k, v) for k, v in flat_params(config).items()]
    tags = [RunTag(k, v) for k, v in run_tags(run, config).items()]
    store.call("logging tags", store.client.log_batch, mlflow_run_id, tags=tags)
    for i in range(0, len(params), MAX_PARAMS):
        store.call("logging params", store.client.log_batch, mlflow_run_id, params=params[i : i + MAX_PARAMS])


def log_run_files(store: Store, mlflow_run_id: str, run: Run) -> list[str]:
    """The run's config, metrics, evaluation, model card and latest sample as artifacts."""
    sent = []
    for name in RUN_FILES:
        path = run.path / name
        if path.is_file():
            store.call(f"uploading {name}", store.client.log_artifact, mlflow_run_id, str(path))
            sent.append(name)
    samples = sorted(run.samples_dir.glob("step-*")) if run.samples_dir.is_dir() else []
    if samples:
        store.call("uploading samples", store.client.log_artifact, mlflow_run_id, str(samples[-1]), "samples")
        sent.append(f"samples/{samples[-1].name}")
    return sent


def now_ms() -> int:
    return int(time.time() * 1000)
