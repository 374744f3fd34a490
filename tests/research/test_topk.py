"""``compare sweep:NAME --top K``: a study's best trials repeated over seeds and compared pair by pair,
exactly as ``compare A B`` compares two folders of runs."""

import json

import pytest

from genforge.cli.main import main
from genforge.core.errors import ConfigError
from genforge.research.compare import compare
from genforge.research.sweep import study_summary
from genforge.research.topk import compare_top, study_name
from tests.research.conftest import one_thread


def test_the_best_trials_are_repeated_and_compared_like_folders_of_runs(uninterrupted, tmp_path):
    with one_thread():
        result = compare_top("plain", 2, root=uninterrupted, seeds=2, out=tmp_path, rope=0.5)
    complete = [t for t in study_summary("plain", uninterrupted)["trials"] if t["state"] == "complete"]
    best_two = [t["number"] for t in sorted(complete, key=lambda t: t["value"])[:2]]
    assert [t["number"] for t in result.trials] == best_two
    assert result.pairs() == [tuple(best_two)]
    for trial in result.trials:
        assert trial["summary"]["n"] == 2
        assert sorted(p.name for p in (tmp_path / str(trial["number"])).iterdir())  # two run directories
    # the pairwise record is the one compare() gives on the same folders
    again = compare(result.trials[0]["repeats"], result.trials[1]["repeats"], "val_loss", rope=0.5)
    record = result.to_dict()["comparisons"][0]
    assert record["p_a_better"] == again.p_a_better and record["pairs"] == again.pairs
    assert record["a_trial"] == best_two[0]
    # a second call keeps every trained seed
    kept = []
    compare_top("plain", 2, root=uninterrupted, seeds=2, out=tmp_path, on_seed=lambda *a: kept.append(a[2]))
    assert kept == ["kept"] * 4


def test_cli_compare_sweep_top_prints_and_saves_the_record(uninterrupted, tmp_path, capsys):
    saved = tmp_path / "top.json"
    args = ["compare", "sweep:plain", "--top", "2", "--seeds", "2", "--studies", str(uninterrupted)]
    with one_thread():
        assert main([*args, "--out", str(tmp_path / "rep"), "--save", str(saved)]) == 0
    out = capsys.readouterr().out
    assert "verdict" in out and "t-interval" in out
    record = json.loads(saved.read_text())
    assert record["kind"] == "genforge.sweep-comparison" and len(record["comparisons"]) == 1
    assert record["metric"] == "val_loss" and record["direction"] == "lower"


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--top", "1"], "at least 2"),
        (["--seeds", "1"], "at least 2"),
        (["runs-b"], "no second set"),
        (["--plot", "x.png"], "not available with sweep"),
        (["--rope", "-1"], "ROPE"),
    ],
)
def test_bad_sweep_comparisons_are_one_line(uninterrupted, extra, message, capsys):
    code = main(["compare", "sweep:plain", *extra, "--studies", str(uninterrupted)])
    assert code != 0
    err = capsys.readouterr().err
    assert message.lower() in err.lower() and "Traceback" not in err


def test_unknown_study_and_references():
    assert study_name("sweep:abc") == "abc" and study_name("runs/") is None
    with pytest.raises(ConfigError, match="no study 'nope'"):
        compare_top("nope", 2, root="/nonexistent")
