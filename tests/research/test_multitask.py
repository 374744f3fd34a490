"""Several metrics / datasets as tasks: the runs x tasks matrix, its normalisation and its bad input."""

import json
import shutil

import numpy as np
import pytest

from genforge.cli.main import main
from genforge.core.errors import ConfigError
from genforge.core.io import atomic_write_json, read_json_object
from genforge.research.multitask import compare_tasks, directions_for, normalise_columns, parse_metrics
from genforge.research.repeat import repeat
from genforge.research.runsets import read_figure, resolve_runs
from tests.research.conftest import one_thread

METRICS = ["val_loss", "val_recon_nats", "val_kl_nats"]


def test_minmax_turns_every_task_so_one_is_the_better_end():
    values = np.array([[1.0, 10.0, 5.0], [3.0, 30.0, 5.0], [2.0, 20.0, 5.0]])
    scores = normalise_columns(values, ["lower", "higher", "lower"], "minmax")
    assert scores[:, 0].tolist() == [1.0, 0.0, 0.5]  # lower is better: the lowest value scores 1
    assert scores[:, 1].tolist() == [0.0, 1.0, 0.5]
    assert scores[:, 2].tolist() == [0.5, 0.5, 0.5]  # a constant task carries no information
    assert normalise_columns(values, ["lower"] * 3, "none").tolist() == values.tolist()


def test_directions_come_from_the_registry_or_one_each():
    assert directions_for(["val_loss", "accuracy"]) == ["lower", "higher"]
    assert directions_for(["a", "b"], "higher,lower") == ["higher", "lower"]
    assert directions_for(["a", "b"], "lower") == ["lower", "lower"]
    with pytest.raises(ConfigError, match="2 metrics"):
        directions_for(["a", "b"], "lower,higher,lower")
    with pytest.raises(ConfigError, match="twice"):
        parse_metrics("val_loss,val_loss")
    with pytest.raises(ConfigError, match="comma-separated"):
        parse_metrics("val_loss,,x")


def test_three_metrics_make_a_seeds_by_tasks_matrix(vae_sets):
    result = compare_tasks(str(vae_sets / "a"), str(vae_sets / "b"), METRICS, reps=1000)
    assert [t["task"] for t in result.tasks] == METRICS and result.seeds == [0, 1, 2]
    assert np.array(result.scores_a).shape == (3, 3)
    # each normalised task spans exactly [0, 1] over the six runs of both sides
    both = np.array(result.scores_a + result.scores_b)
    assert both.min(axis=0).tolist() == [0.0] * 3 and both.max(axis=0).tolist() == [1.0] * 3
    runs = resolve_runs(str(vae_sets / "a"))
    assert result.tasks[0]["mean_a"] == pytest.approx(np.mean([read_figure(r, "val_loss") for r in runs]))
    # 25 steps beat 2 on the losses; the aggregate posterior says A is better over the tasks
    assert result.tasks[0]["p_a_better"] > 0.95 and result.posterior.p_a_better > 0.9
    assert result.aggregate_a["iqm"]["value"] > result.aggregate_b["iqm"]["value"]
    record = result.to_dict()
    assert record["kind"] == "genforge.comparison.tasks" and "min-max" in record["normalisation"]


def test_mixed_directions_need_normalisation(vae_sets):
    with pytest.raises(ConfigError, match="point different ways"):
        compare_tasks(
            str(vae_sets / "a"),
            str(vae_sets / "b"),
            ["val_loss", "x"],
            normalise="none",
            direction="lower,higher",
        )


def test_a_metric_absent_from_a_run_is_one_line(vae_sets, capsys):
    code = main(["compare", str(vae_sets / "a"), str(vae_sets / "b"), "--metric", "val_loss,val_fd"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error:") and "no figure 'val_fd'" in err and err.count("\n") == 1


def _add_relabelled(source, target, spec):
    """Copies of the runs in ``source`` into ``target`` as runs of dataset ``spec``."""
    for run in resolve_runs(str(source)):
        copy = target / f"{run.id}-moons"
        shutil.copytree(run.path, copy)
        config = read_json_object(copy / "config.json")
        atomic_write_json(copy / "config.json", {**config, "data": {**config["data"], "spec": spec}})


def test_several_datasets_are_tasks_and_must_match(vae_sets, tmp_path, capsys):
    for side in ("a", "b"):
        shutil.copytree(vae_sets / side, tmp_path / side)
        _add_relabelled(vae_sets / side, tmp_path / side, "toy2d:moons")
    result = compare_tasks(str(tmp_path / "a"), str(tmp_path / "b"), "val_loss", reps=1000)
    assert [t["task"] for t in result.tasks] == ["digits:val_loss", "toy2d:moons:val_loss"]
    code = main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--metric", "val_loss", "--json"])
    record = json.loads(capsys.readouterr().out)
    assert code == 0 and len(record["tasks"]) == 2
    for copy in (tmp_path / "b").glob("*-moons"):
        shutil.rmtree(copy)
    code = main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--metric", "val_loss"])
    err = capsys.readouterr().err
    assert code == 2 and "same datasets" in err and err.count("\n") == 1


def test_cli_human_output_profile_and_saved_record(vae_sets, tmp_path, capsys):
    profile, saved = tmp_path / "profile.png", tmp_path / "tasks.json"
    args = [str(vae_sets / "a"), str(vae_sets / "b"), "--metric", ",".join(METRICS)]
    assert main(["compare", *args, "--profile", str(profile), "--save", str(saved)]) == 0
    out = capsys.readouterr().out
    assert "3 tasks" in out and "IQM of the scores" in out and "probability of improvement" in out
    assert profile.read_bytes()[:4] == b"\x89PNG"
    assert json.loads(saved.read_text())["metrics"] == METRICS


def test_repeat_summarises_each_metric_and_aggregates_them(vae_sets, tmp_path, capsys):
    source = resolve_runs(str(vae_sets / "b"))[0]
    out = tmp_path / "seeds"
    with one_thread():
        result = repeat(source, [0, 1], out=out, metric="val_loss,val_recon_nats")
    tasks = result.tasks
    assert tasks["metrics"] == ["val_loss", "val_recon_nats"] and tasks["directions"] == ["lower", "lower"]
    headline = {k: v for k, v in result.summary.items() if k != "stratified"}
    assert tasks["summaries"]["val_loss"] == headline  # the first metric is the headline summary
    assert [r["values"]["val_recon_nats"] for r in result.runs] == [
        read_figure(resolve_runs(r["run"])[0], "val_recon_nats") for r in result.runs
    ]
    assert tasks["aggregate"]["iqm"]["value"] > 0
    args = ["repeat", str(source.path), "--seed-list", "0", "1", "--out", str(out)]
    assert main([*args, "--metric", "val_loss,val_recon_nats"]) == 0
    assert "IQM over seeds x metrics" in capsys.readouterr().out
    code = main([*args, "--metric", "val_loss,val_elbo_bits_per_dim", "--direction", "lower,higher"])
    err = capsys.readouterr().err
    assert code == 2 and "--normalise minmax" in err and err.count("\n") == 1
