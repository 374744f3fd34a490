"""Sweeps over Optuna: the space is validated before anything runs, an interrupted or crashed study
resumes to the same trials as an uninterrupted one, and the CLI shows the study."""

import json

import optuna
import pytest
from optuna.storages.journal import JournalFileBackend

from genforge.cli.main import main
from genforge.core.errors import ConfigError, GenforgeError
from genforge.research.space import load_space, parse_space
from genforge.research.sweep import STUDY_FILE, resume_sweep, study_summary, sweep
from tests.research.conftest import SETTINGS, SPACE, one_thread


def _journal(folder):
    return optuna.storages.JournalStorage(JournalFileBackend(str(folder / "study.journal")))


def _trials(name, root):
    rows = study_summary(name, root)["trials"]
    return [(t["params"], t["value"]) for t in rows if t["state"] == "complete"]


def test_a_study_records_every_trial_as_a_run(uninterrupted):
    summary = study_summary("plain", uninterrupted)
    assert [t["state"] for t in summary["trials"]] == ["complete"] * 3
    for trial in summary["trials"]:
        assert ("momentum" in trial["params"]) == (trial["params"]["optimizer"] == "sgd")
        assert (uninterrupted / "plain" / "trials" / str(trial["number"])).is_dir()
    assert summary["best"]["value"] == min(t["value"] for t in summary["trials"])


def test_interrupt_and_crash_then_resume_give_the_same_trials(uninterrupted, tmp_path):
    def stop_at_second(finished, target):
        if finished == 1:
            raise KeyboardInterrupt

    with one_thread(), pytest.raises(KeyboardInterrupt):
        sweep("vae", "digits", SPACE, name="cut", root=tmp_path, on_trial=stop_at_second, **SETTINGS)
    # a killed process leaves a trial running: resume marks it interrupted and draws it again
    optuna.load_study(study_name="cut", storage=_journal(tmp_path / "cut")).ask()
    (tmp_path / "cut" / "trials" / "1").mkdir(parents=True)
    with one_thread():
        result = resume_sweep("cut", root=tmp_path)
    assert result.finished == 3
    assert _trials("cut", tmp_path) == _trials("plain", uninterrupted)
    states = [t["state"] for t in study_summary("cut", tmp_path)["trials"]]
    assert states.count("interrupted") == 1
    assert not (tmp_path / "cut" / "trials" / "1").exists()  # the crashed trial's folder went


def test_an_existing_study_name_is_refused(uninterrupted):
    with pytest.raises(ConfigError, match="already exists"):
        sweep("vae", "digits", SPACE, name="plain", root=uninterrupted, **SETTINGS)


@pytest.mark.parametrize(
    ("param", "message"),
    [
        ({"type": "float", "low": 0.0, "high": 1.0, "log": True}, "log scale needs low > 0"),
        ({"type": "int", "low": 5, "high": 5}, "empty or inverted"),
        ({"type": "float", "low": 2.0, "high": 1.0}, "empty or inverted"),
        ({"type": "categorical", "choices": []}, "at least 1"),
        ({"type": "float", "low": 1, "high": 2, "when": {"later": 1}}, "not a parameter defined before"),
    ],
)
def test_bad_ranges_are_one_line(param, message):
    with pytest.raises(ConfigError, match=message):
        parse_space({"params": {"lr": param}})


def test_unknown_keys_and_refused_values_are_caught_before_any_trial(tmp_path):
    with pytest.raises(ConfigError, match="unknown config key 'lattent_dim'.*did you mean 'latent_dim'"):
        sweep(
            "vae", "digits", {"params": {"lattent_dim": {"type": "int", "low": 2, "high": 8}}}, root=tmp_path
        )
    with pytest.raises(ConfigError, match="'lr' = -1.0"):
        sweep("vae", "digits", {"params": {"lr": {"type": "float", "low": -1, "high": 1}}}, root=tmp_path)
    assert not any(tmp_path.iterdir())  # no study left behind


def test_space_files_are_read_as_yaml_and_damage_is_one_line(tmp_path):
    good = tmp_path / "space.yaml"
    good.write_text("params:\n  lr: {type: float, low: 1.0e-4, high: 1.0e-2, log: true}\n")
    assert load_space(good).params["lr"].log is True
    bad = tmp_path / "bad.yaml"
    bad.write_text("params: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_space(bad)


def test_cli_show_and_resume_of_a_finished_study(uninterrupted, capsys):
    assert main(["sweep", "show", "plain", "--studies", str(uninterrupted), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["study"]["name"] == "plain" and len(summary["trials"]) == 3
    assert main(["sweep", "resume", "plain", "--studies", str(uninterrupted), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["finished"] == 3
    assert (uninterrupted / "plain" / STUDY_FILE).is_file()


def test_damaged_study_files_are_one_line_each(uninterrupted, tmp_path):
    import shutil

    shutil.copytree(uninterrupted / "plain", tmp_path / "plain")
    (tmp_path / "plain" / "study.journal").write_bytes(b"not json\n{}\n")
    with pytest.raises(
        ConfigError, match="study.journal (cannot be read as an Optuna storage|holds no study)"
    ):
        study_summary("plain", tmp_path)
    (tmp_path / "plain" / STUDY_FILE).write_text('{"kind": "genforge.study"}')
    with pytest.raises(ConfigError, match="has no 'name': the file is damaged"):
        resume_sweep("plain", root=tmp_path)
    (tmp_path / "plain" / STUDY_FILE).write_text("{")
    with pytest.raises(GenforgeError, match="not valid JSON"):
        study_summary("plain", tmp_path)


def test_a_start_killed_before_study_json_can_start_again(tmp_path):
    folder = tmp_path / "again"
    folder.mkdir()
    optuna.create_study(study_name="again", storage=_journal(folder))
    settings = {**SETTINGS, "trials": 1}
    with one_thread():
        result = sweep("vae", "digits", SPACE, name="again", root=tmp_path, **settings)
    assert result.finished == 1


GRID = {
    "params": {
        "latent_dim": {"type": "int", "low": 2, "high": 4, "step": 2},
        "optimizer": {"type": "categorical", "choices": ["adam", "sgd"]},
    }
}


def test_the_grid_sampler_visits_every_point_once(tmp_path):
    settings = {**SETTINGS, "sampler": "grid", "trials": 10}
    with one_thread():
        result = sweep("vae", "digits", GRID, name="grid", root=tmp_path, **settings)
    assert (result.finished, result.target) == (4, 4)  # the target is capped at the grid's size
    seen = sorted((p["latent_dim"], p["optimizer"]) for p, _ in _trials("grid", tmp_path))
    assert seen == [(2, "adam"), (2, "sgd"), (4, "adam"), (4, "sgd")]


@pytest.mark.parametrize(
    ("space", "message"),
    [
        ({"params": {"lr": {"type": "float", "low": 1e-4, "high": 1e-2}}}, "needs a step for the float"),
        (
            {
                "params": {
                    **GRID["params"],
                    "momentum": {
                        "type": "float",
                        "low": 0.5,
                        "high": 0.9,
                        "step": 0.1,
                        "when": {"optimizer": "sgd"},
                    },
                }
            },
            "cannot sweep the conditional parameter 'momentum'",
        ),
    ],
)
def test_a_space_the_grid_cannot_enumerate_is_refused_before_any_trial(space, message, tmp_path):
    with pytest.raises(ConfigError, match=message):
        sweep("vae", "digits", space, root=tmp_path, sampler="grid")
    assert not any(tmp_path.iterdir())


def test_the_cmaes_sampler_runs_a_seeded_study(tmp_path):
    space = {
        "params": {
            "lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
            "latent_dim": {"type": "int", "low": 2, "high": 16},
        }
    }
    settings = {**SETTINGS, "sampler": "cmaes"}
    with one_thread():
        first = sweep("vae", "digits", space, name="a", root=tmp_path, **settings)
        sweep("vae", "digits", space, name="b", root=tmp_path, **settings)
    assert first.finished == 3
    assert _trials("a", tmp_path) == _trials("b", tmp_path)


def test_two_jobs_share_the_journal_without_storage_errors(tmp_path):
    settings = {**SETTINGS, "max_steps": 2}
    result = sweep("vae", "digits", SPACE, name="par", root=tmp_path, jobs=2, **settings)
    states = [t["state"] for t in study_summary("par", tmp_path)["trials"]]
    assert result.finished == 3 and states == ["complete"] * 3
    assert sorted(p.name for p in (tmp_path / "par" / "trials").iterdir()) == ["0", "1", "2"]


def test_parallel_jobs_on_sqlite_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="parallel jobs need the journal storage"):
        sweep("vae", "digits", SPACE, root=tmp_path, storage="sqlite", jobs=2)
    assert not any(tmp_path.iterdir())


def test_cli_show_draws_parallel_coordinates(uninterrupted, tmp_path, capsys):
    import numpy as np
    from PIL import Image

    picture = tmp_path / "pc.png"
    assert (
        main(["sweep", "show", "plain", "--studies", str(uninterrupted), "--plot", str(picture), "--json"])
        == 0
    )
    assert json.loads(capsys.readouterr().out)["plot"] == str(picture)
    with Image.open(picture) as image:
        assert image.format == "PNG" and image.size[0] > image.size[1] > 200
        colours = len(np.unique(np.asarray(image.convert("RGB")).reshape(-1, 3), axis=0))
    assert colours > 20  # lines coloured by objective, not an empty canvas
    assert (
        main(["sweep", "show", "plain", "--studies", str(uninterrupted), "--plot", str(tmp_path / "x.gif")])
        != 0
    )
    assert "cannot write a picture" in capsys.readouterr().err
