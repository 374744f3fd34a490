"""``--track mlflow`` on the loops with their own progress events (``rl train``, ``meta train``,
``finetune embed``), against a real MLflow SQLite store: the same tracker as ``train --track``."""

import json
from pathlib import Path

import pytest

from genforge.cli.main import main
from genforge.core.runs import Run
from tests.research.conftest import one_thread
from tests.research.test_tracking import _client, _history, migrated_db, target  # noqa: F401 (fixtures)


def _tracked(capsys, argv, target):  # noqa: F811
    with one_thread():
        code = main([*argv, "--track", target.label, "--experiment", "loops", "--json", "--quiet"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["notes"][-1].startswith("tracked in MLflow: run "), out["notes"]
    run = Run(Path(out["run"]))
    mlflow_id = json.loads((run.path / "tracking.json").read_text())["mlflow"]["run_id"]
    client = _client(target)
    mlflow_run = client.get_run(mlflow_id)
    assert mlflow_run.info.status == "FINISHED" and mlflow_run.data.tags["genforge.run_id"] == run.id
    return run, client, mlflow_id


def _train_history(run, key):
    return [
        (r["step"], r[key]) for r in run.read_metrics() if r.get("split", "train") == "train" and key in r
    ]


def test_rl_train_track_sends_every_update(target, tmp_path, capsys):  # noqa: F811
    small = ["--set", "num_envs=2", "--set", "rollout_steps=16", "--set", "eval_episodes=2"]
    argv = ["rl", "train", "a2c", "--steps", "64", "--out", str(tmp_path / "runs"), *small]
    run, client, mlflow_id = _tracked(capsys, argv, target)
    sent = _history(client, mlflow_id, "train_value_loss")
    assert [s for s, _ in sent] == [32, 64] and sent == _train_history(run, "value_loss")
    data = client.get_run(mlflow_id).data
    assert data.params["family"] == "a2c" and data.metrics["mean_reward"] == run.read_eval()["mean_reward"]


def test_rl_train_track_with_seeds_is_refused(target, tmp_path, capsys):  # noqa: F811
    argv = ["rl", "train", "a2c", "--steps", "64", "--seeds", "2", "--out", str(tmp_path / "runs")]
    assert main([*argv, "--track", target.label]) == 2
    err = capsys.readouterr().err
    assert "--track follows one run" in err and err.count("\n") == 1 and not (tmp_path / "runs").exists()


def test_meta_train_track_sends_the_meta_loss(target, tmp_path, capsys):  # noqa: F811
    argv = [
        "meta",
        "train",
        "reptile",
        "--iterations",
        "4",
        "--set",
        "log_every=2",
        "--out",
        str(tmp_path / "r"),
    ]
    run, client, mlflow_id = _tracked(capsys, argv, target)
    sent = _history(client, mlflow_id, "train_meta_loss")
    assert [s for s, _ in sent] == [2, 4] and sent == _train_history(run, "meta_loss")


@pytest.mark.slow  # loads MiniLM (~15 s idle)
def test_finetune_embed_track_sends_its_run_at_the_end(target, tmp_path, capsys):  # noqa: F811
    pairs = tmp_path / "pairs.jsonl"
    texts = [("How do I sort a list?", "Call list.sort()."), ("How do I read JSON?", "Call json.load."),
             ("How do I get the time?", "Call time.time()."), ("How do I count?", "Use Counter.")]  # fmt: skip
    pairs.write_text("".join(json.dumps({"anchor": a, "positive": p}) + "\n" for a, p in texts))
    argv = ["finetune", "embed", "--pairs", str(pairs), "--max-steps", "2", "--set", "holdout=0",
            "--set", "batch_size=2", "--out", str(tmp_path / "runs")]  # fmt: skip
    run, client, mlflow_id = _tracked(capsys, argv, target)
    sent = _history(client, mlflow_id, "train_loss")
    assert [s for s, _ in sent] == [1, 2] and sent == _train_history(run, "loss")
    artifacts = {f.path for f in client.list_artifacts(mlflow_id)}
    assert {"config.json", "metrics.jsonl", "eval.json"} <= artifacts
