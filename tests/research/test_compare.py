"""compare() on real runs: pairs by seed, orients by the metric's direction, and refuses what it cannot
compare with one line; the CLI prints the same record with --json and draws the posterior."""

import json
import shutil

import pytest

from genforge.cli.main import main
from genforge.core.errors import ConfigError, RunNotFound
from genforge.core.io import atomic_write_json, read_json_object
from genforge.research.compare import compare
from genforge.research.runsets import metric_direction, read_figure, resolve_runs


def test_longer_training_is_better_with_high_probability(vae_sets):
    result = compare(vae_sets / "a", vae_sets / "b", "val_loss")
    assert result.direction == "lower"
    assert [p["seed"] for p in result.pairs] == [0, 1, 2]
    assert all(p["a"] < p["b"] and p["a_improvement"] > 0 for p in result.pairs)
    assert result.p_a_better >= 0.95
    swapped = compare(vae_sets / "b", vae_sets / "a", "val_loss")
    assert swapped.p_b_better == pytest.approx(result.p_a_better)
    # every 25-step run beats every 2-step run: rliable's probability of improvement is 1, and
    # 0.5 when both sides are the same runs
    improvement = result.to_dict()["probability_of_improvement"]
    assert improvement["value"] == 1.0 and swapped.improvement["value"] == 0.0
    assert improvement["ci"] == [1.0, 1.0]
    assert compare(vae_sets / "a", vae_sets / "a", "val_loss").improvement["value"] == 0.5


def test_figures_are_read_from_the_runs_own_log(vae_sets):
    run = resolve_runs(str(vae_sets / "a"))[0]
    last_val = [r for r in run.read_metrics() if r.get("split") == "val"][-1]
    assert last_val["step"] == 25  # a step budget ends with a validation record
    assert read_figure(run, "val_loss") == last_val["loss"]


def test_a_glob_names_the_same_runs_as_the_folder(vae_sets):
    by_glob = compare(str(vae_sets / "a" / "*"), str(vae_sets / "b"), "val_loss")
    assert by_glob.p_a_better == compare(vae_sets / "a", vae_sets / "b", "val_loss").p_a_better


def test_a_wide_rope_calls_small_differences_equal(vae_sets):
    result = compare(vae_sets / "a", vae_sets / "a", "val_loss", rope=1.0)
    assert result.p_equivalent == 1.0


def test_unknown_figure_names_what_the_run_has(vae_sets):
    with pytest.raises(ConfigError, match="has no figure 'val_los'.*did you mean 'val_loss'"):
        compare(vae_sets / "a", vae_sets / "b", "val_los", direction="lower")


def test_unknown_direction_asks_for_it():
    with pytest.raises(ConfigError, match="--direction"):
        metric_direction("val_widgets")
    assert metric_direction("fd_digits") == "lower" and metric_direction("precision") == "higher"


def test_fewer_than_two_shared_seeds_is_refused(vae_sets):
    single = resolve_runs(str(vae_sets / "b"))[0]
    with pytest.raises(ConfigError, match="at least 2 runs a side"):
        compare(vae_sets / "a", single.path, "val_loss")


def test_runs_of_different_data_are_refused(vae_sets, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(vae_sets / "b", other)
    for run in resolve_runs(str(other)):
        config = read_json_object(run.config_path)
        atomic_write_json(run.config_path, {**config, "data": {**config["data"], "spec": "toy2d:moons"}})
    with pytest.raises(ConfigError, match="different data"):
        compare(vae_sets / "a", other, "val_loss")


def test_two_runs_with_one_seed_on_a_side_are_refused(vae_sets, tmp_path):
    doubled = tmp_path / "doubled"
    shutil.copytree(vae_sets / "b", doubled)
    first = resolve_runs(str(doubled))[0]
    shutil.copytree(first.path, doubled / f"{first.id}-copy")
    with pytest.raises(ConfigError, match="two runs with seed"):
        compare(vae_sets / "a", doubled, "val_loss")


def test_a_missing_folder_is_run_not_found(tmp_path):
    with pytest.raises(RunNotFound):
        compare(tmp_path / "nope", tmp_path / "nope", "val_loss")


def test_cli_json_record_plot_and_saved_file(vae_sets, tmp_path, capsys):
    plot, saved = tmp_path / "posterior.png", tmp_path / "comparison.json"
    args = [str(vae_sets / "a"), str(vae_sets / "b"), "--metric", "val_loss", "--rope", "0.5"]
    code = main(["compare", *args, "--plot", str(plot), "--save", str(saved), "--json"])
    record = json.loads(capsys.readouterr().out)
    assert code == 0
    assert record["kind"] == "genforge.comparison" and record["direction"] == "lower"
    assert record["p_a_better"] + record["p_equivalent"] + record["p_b_better"] == pytest.approx(1.0)
    assert record["a"]["summary"]["n"] == 3 and len(record["a"]["summary"]["ci_bca"]) == 2
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(saved.read_text())["p_a_better"] == record["p_a_better"]


def test_cli_human_output_and_a_negative_rope(vae_sets, capsys):
    assert main(["compare", str(vae_sets / "a"), str(vae_sets / "b"), "--metric", "val_loss"]) == 0
    out = capsys.readouterr().out
    assert "P(A better)" in out and "A is better" in out
    code = main(["compare", str(vae_sets / "a"), str(vae_sets / "b"), "--metric", "val_loss", "--rope", "-1"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "non-negative" in err and err.count("\n") == 1


@pytest.mark.parametrize("method", ["bayesian-bootstrap", "signed-rank"])
def test_every_method_finds_longer_training_better(vae_sets, method, tmp_path):
    result = compare(vae_sets / "a", vae_sets / "b", "val_loss", method=method)
    assert result.p_a_better >= 0.95 and result.settings["method"] == method
    from genforge.research.plot import save_posterior

    assert save_posterior(result.posterior, "val_loss", tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"
