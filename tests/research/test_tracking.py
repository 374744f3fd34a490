"""MLflow tracking against a real MLflow SQLite store: live logging through the trainer's progress
events, export and import that round-trip genforge runs, foreign MLflow runs read by ``compare``, and
the bad inputs (unknown tracker, unreachable or locked store, missing experiment) as one line each.

MLflow's first database costs ~10 s of schema migrations, so one migrated database is made per test
session and each test works on a copy of it."""

import json
import shutil
import sqlite3

import pytest

from genforge.cli.main import main
from genforge.core.errors import ConfigError, MissingDependency
from genforge.core.runs import Run, list_runs
from genforge.pipelines.training import train
from genforge.research.runsets import read_figure
from genforge.research.track_io import export_runs, import_runs
from genforge.research.tracker import LiveTracker
from genforge.research.tracking import (
    TRACKING_FILE,
    TrackingError,
    mlflow_module,
    open_store,
    parse_target,
)
from tests.research.conftest import one_thread


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    mlflow_module().MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def target(migrated_db, tmp_path):
    shutil.copy(migrated_db, tmp_path / "mlflow.db")
    return parse_target(f"mlflow:sqlite:///{tmp_path / 'mlflow.db'}")


def _client(target):
    return mlflow_module().MlflowClient(tracking_uri=target.uri)


def _history(client, run_id, key):
    return [(m.step, m.value) for m in client.get_metric_history(run_id, key)]


def _records(run, split, key):
    return [(r["step"], r[key]) for r in run.read_metrics() if r.get("split") == split]


def test_live_tracking_sends_batches_while_training_and_the_files_at_the_end(target, tmp_path):
    seen_during_training = []

    def watch(event):  # runs before the tracker reads the event's records
        if event["step"] == 20:
            found = _client(target).search_runs([tracker.store.experiment_id])
            seen_during_training.extend(_history(_client(target), found[0].info.run_id, "train_loss"))

    tracker = LiveTracker(target, "live", progress=watch, flush_seconds=0.0)
    overrides = {"final_eval": False, "log_every": 5, "eval_every": 10}
    with one_thread():
        result = train(
            "vae", "digits", overrides=overrides, out=tmp_path / "runs", max_steps=30, progress=tracker
        )
    notes = tracker.finish(result)
    assert notes[0].startswith(f"tracked in MLflow: run {tracker.mlflow_run_id}")
    assert [step for step, _ in seen_during_training] == [5, 10, 15]
    client = _client(target)
    mlflow_run = client.get_run(tracker.mlflow_run_id)
    assert mlflow_run.info.status == "FINISHED"
    assert mlflow_run.data.params["family"] == "vae"
    assert mlflow_run.data.params["train.max_steps"] == "30"
    assert mlflow_run.data.params["data.spec"] == "digits"
    assert mlflow_run.data.tags["genforge.run_id"] == result.run.id
    assert _history(client, tracker.mlflow_run_id, "train_loss") == _records(result.run, "train", "loss")
    assert _history(client, tracker.mlflow_run_id, "val_loss") == _records(result.run, "val", "loss")
    artifacts = {a.path for a in client.list_artifacts(tracker.mlflow_run_id)}
    assert {"config.json", "metrics.jsonl", "samples"} <= artifacts
    assert mlflow_run.info.artifact_uri.startswith((tmp_path / "mlartifacts" / "live").as_uri())
    assert (tmp_path / "mlartifacts" / "live").is_dir() and not (tmp_path / "mlruns").exists()
    recorded = json.loads((result.run.path / TRACKING_FILE).read_text())["mlflow"]
    assert recorded["run_id"] == tracker.mlflow_run_id and recorded["last_step"] == {"train": 30, "val": 30}


def test_export_skips_what_is_there_and_import_gives_the_runs_back(vae_sets, target, tmp_path):
    exported = export_runs(str(vae_sets / "a"), target, "sets")
    assert [r["status"] for r in exported] == ["exported"] * 3
    assert [r["status"] for r in export_runs(str(vae_sets / "a"), target, "sets")] == ["skipped"] * 3
    imported = import_runs(target, "sets", tmp_path / "back")
    assert [r["status"] for r in imported] == ["restored"] * 3
    for original in list_runs(vae_sets / "a"):
        copy = Run(tmp_path / "back" / original.id)
        assert copy.config_path.read_bytes() == original.config_path.read_bytes()
        assert copy.metrics_path.read_bytes() == original.metrics_path.read_bytes()
        assert read_figure(copy, "val_loss") == read_figure(original, "val_loss")
    assert [r["status"] for r in import_runs(target, "sets", tmp_path / "back")] == ["skipped"] * 3


def test_foreign_mlflow_runs_import_as_runs_compare_can_read(target, tmp_path):
    store = open_store(target, "foreign")
    client = store.client
    for seed in (0, 1):
        run_id = client.create_run(store.experiment_id).info.run_id
        client.log_param(run_id, "seed", str(seed))
        client.log_param(run_id, "data", "cifar10")
        for step, value in ((1, 2.5), (2, 2.0 - seed)):
            client.log_metric(run_id, "val_loss", value, step=step)
        client.log_metric(run_id, "accuracy", 0.5 + seed / 10, step=2)
    runs = [
        Run(tmp_path / "in" / r["run"].split("/")[-1])
        for r in import_runs(target, "foreign", tmp_path / "in")
    ]
    assert [r.read_config()["seed"] for r in runs] == [0, 1]
    assert [r.read_config()["data"]["spec"] for r in runs] == ["cifar10", "cifar10"]
    assert [read_figure(r, "val_loss") for r in runs] == [2.0, 1.0]
    assert [read_figure(r, "accuracy") for r in runs] == [0.5, 0.6]


def test_cli_train_track_and_track_export_json(target, tmp_path, capsys):
    uri = target.label
    argv = ["train", "vae", "--data", "digits", "--max-steps", "3", "--set", "final_eval=false"]
    with one_thread():
        code = main([*argv, "--out", str(tmp_path / "runs"), "--track", uri, "--experiment", "cli", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["notes"][-1].startswith("tracked in MLflow: run ")
    assert (
        main(["track", "export", str(tmp_path / "runs"), "--to", uri, "--experiment", "cli", "--json"]) == 0
    )
    assert [r["status"] for r in json.loads(capsys.readouterr().out)["runs"]] == ["skipped"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("wandb", "unknown tracker 'wandb'"),
        ("mlflow:postgresql://u@h/db", "unsupported MLflow tracking URI"),
        ("mlflow:sqlite:///", "names no database file"),
    ],
)
def test_a_bad_tracking_spec_is_refused(spec, message):
    with pytest.raises(ConfigError, match=message):
        parse_target(spec)


def test_an_unknown_tracker_is_refused_before_any_run_is_made(tmp_path, capsys):
    argv = ["train", "vae", "--data", "digits", "--max-steps", "2", "--out", str(tmp_path / "runs")]
    assert main([*argv, "--track", "wandb"]) == 2
    assert capsys.readouterr().err.count("\n") == 1 and not (tmp_path / "runs").exists()


def test_an_unreachable_store_is_one_line():
    with pytest.raises(TrackingError, match="http://127.0.0.1:9"):
        open_store(parse_target("mlflow:http://127.0.0.1:9"), "x")


def test_a_locked_store_is_one_line(target):
    holder = sqlite3.connect(target.uri[len("sqlite:///") :], timeout=0)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(TrackingError, match="locked"):
            open_store(target, "locked")
    finally:
        holder.rollback()
        holder.close()


def test_importing_a_missing_experiment_is_refused(target, tmp_path):
    with pytest.raises(TrackingError, match="no MLflow experiment 'nope'"):
        import_runs(target, "nope", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_without_mlflow_installed_the_error_says_how_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "mlflow", None)
    with pytest.raises(MissingDependency, match=r"pip install 'genforge\[mlflow\]'"):
        mlflow_module()


def test_a_resumed_run_continues_its_mlflow_run_without_sending_a_step_twice(target, tmp_path):
    from genforge.pipelines.training import resume

    overrides = {"final_eval": False, "log_every": 5, "eval_every": 5}
    first = LiveTracker(target, "resume")
    with one_thread():
        result = train(
            "vae", "digits", overrides=overrides, out=tmp_path / "runs", max_steps=10, progress=first
        )
    first.finish(result)
    again = LiveTracker(target, "resume")
    with one_thread():
        result = resume(result.run, max_steps=20, progress=again)
    again.finish(result)
    assert again.mlflow_run_id == first.mlflow_run_id
    client = _client(target)
    assert _history(client, first.mlflow_run_id, "train_loss") == _records(result.run, "train", "loss")
    assert [s for s, _ in _history(client, first.mlflow_run_id, "val_loss")] == [5, 10, 15, 20]
    assert client.get_run(first.mlflow_run_id).info.status == "FINISHED"
