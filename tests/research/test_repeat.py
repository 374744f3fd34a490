"""repeat() trains a run's configuration again under each seed: the run's own seed reproduces its figure,
a second call keeps what is finished, and an interrupted seed is resumed."""

import json

import pytest

from genforge.cli.main import main
from genforge.core.errors import ConfigError
from genforge.research.repeat import repeat, seed_list
from genforge.research.runsets import read_figure, resolve_runs
from tests.research.conftest import one_thread


@pytest.fixture(scope="module")
def repeated(vae_sets, tmp_path_factory):
    source = resolve_runs(str(vae_sets / "b"))[0]
    out = tmp_path_factory.mktemp("repeat") / "seeds"
    with one_thread():
        return source, out, repeat(source, [0, 1], out=out, metric="val_loss")


def test_the_runs_own_seed_reproduces_its_figure(repeated):
    source, _, result = repeated
    assert [r["action"] for r in result.runs] == ["trained", "trained"]
    assert result.runs[0]["value"] == read_figure(source, "val_loss")
    assert result.summary["n"] == 2 and result.summary["ci_t"][0] < result.summary["mean"]


def test_a_second_call_keeps_finished_seeds(repeated):
    source, out, result = repeated
    again = repeat(source, [0, 1], out=out, metric="val_loss")
    assert [r["action"] for r in again.runs] == ["kept", "kept"]
    assert again.summary == result.summary


def test_a_folder_of_another_configuration_is_refused(repeated, vae_sets):
    _, out, _ = repeated
    other = resolve_runs(str(vae_sets / "a"))[0]
    with pytest.raises(ConfigError, match="another configuration"):
        repeat(other, 2, out=out)


def test_seed_lists_are_checked():
    assert seed_list(3) == [0, 1, 2]
    with pytest.raises(ConfigError, match="at least 2"):
        seed_list(1)
    with pytest.raises(ConfigError, match="repeat a value"):
        seed_list([1, 1])


def test_cli_json(repeated, capsys):
    source, out, result = repeated
    args = ["repeat", str(source.path), "--seed-list", "0", "1", "--out", str(out), "--metric", "val_loss"]
    code = main([*args, "--detect", "0.5", "--gamma", "150", "--json"])
    record = json.loads(capsys.readouterr().out)
    assert code == 0 and record["kind"] == "genforge.repeat"
    assert record["summary"]["mean"] == pytest.approx(result.summary["mean"])
    assert record["summary"]["detect"]["seeds_per_side"] >= 2
    strat = record["summary"]["stratified"]
    values = [r["value"] for r in record["runs"]]
    assert strat["mean"]["value"] == pytest.approx(sum(values) / 2) == strat["iqm"]["value"]
    assert strat["optimality_gap"]["value"] == pytest.approx(sum(max(v, 150) for v in values) / 2 - 150)
    assert main([*args, "--gamma", "150"]) == 0
    assert "stratified bootstrap interval" in capsys.readouterr().out


def test_an_interrupted_seed_is_resumed_and_ends_like_an_uninterrupted_one(tmp_path):
    from genforge.pipelines.training import train

    settings = {"overrides": {"final_eval": False, "log_every": 1}, "max_steps": 4}

    def stop_at_step_2(event):
        if event["step"] == 2:
            raise KeyboardInterrupt

    with one_thread():
        source = train("vae", "digits", out=tmp_path / "source", seed=0, **settings).run
        reference = train("vae", "digits", out=tmp_path / "reference", seed=1, **settings).run
        config = source.read_config()
        same = {**config["model"], **{f"train.{k}": v for k, v in config["train"].items()}}
        cut = train("vae", "digits", overrides=same, out=tmp_path / "seeds", seed=1, progress=stop_at_step_2)
        assert cut.status == "interrupted"
        result = repeat(source, [0, 1], out=tmp_path / "seeds", metric="val_loss")
    assert [r["action"] for r in result.runs] == ["trained", "resumed"]
    assert result.runs[0]["value"] == read_figure(source, "val_loss")
    assert result.runs[1]["value"] == read_figure(reference, "val_loss")
