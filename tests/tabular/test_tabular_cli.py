"""``genforge tabular`` end to end on a small CSV: train (tvae, ctgan, copula), sample with a
condition, impute, report; and the bad inputs, each one line."""

import csv
import json

import pytest

from genforge.cli.main import main
from tests.tabular.tabular_testdata import write_people_csv

TINY = {
    "tvae": ["--set", "latent_dim=8", "--set", "hidden=[32]", "--set", "batch_size=100"],
    "ctgan": ["--set", "latent_dim=8", "--set", "generator_dims=[32]", "--set", "critic_dims=[32]",
              "--set", "batch_size=100"],
}  # fmt: skip


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _json(capsys, argv):
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def people(tmp_path_factory):
    return write_people_csv(tmp_path_factory.mktemp("tab") / "people.csv", rows=400)


@pytest.mark.parametrize("method", ["tvae", "ctgan"])
def test_neural_synthesizer_end_to_end(method, people, tmp_path, capsys):
    argv = ["tabular", "train", method, "--data", f"csv:{people}", "--target", "label", "--out", str(tmp_path),
            "--max-steps", "4", *TINY[method]]  # fmt: skip
    trained = _json(capsys, argv)
    assert trained["status"] == "completed" and trained["step"] == 4
    assert trained["dropped"] == ["customer_id"] and trained["log_columns"] == []  # named like an id
    out = tmp_path / "s.csv"
    sampled = _json(capsys, ["tabular", "sample", trained["path"], "-n", "30", "--out", str(out), "--seed", "3",
                             "--condition", "sex=Male"])  # fmt: skip
    rows = _rows(out)
    assert len(rows) == 30 and {r["sex"] for r in rows} == {"Male"}
    assert list(rows[0]) == ["amount", "age", "sex", "plan", "score", "label"]
    assert 0 < sampled["acceptance"] <= 1 and sampled["drawn"] >= 30
    again = tmp_path / "again.csv"
    _json(capsys, ["tabular", "sample", trained["path"], "-n", "30", "--out", str(again), "--seed", "3",
                   "--condition", "sex=Male"])  # fmt: skip
    assert again.read_text() == out.read_text()  # the same seed gives the same rows


def test_copula_sample_impute_and_report(people, tmp_path, capsys):
    trained = _json(capsys, ["tabular", "train", "copula", "--data", f"csv:{people}", "--target", "label",
                             "--preset", "finance", "--out", str(tmp_path)])  # fmt: skip
    assert trained["status"] == "fitted"
    assert trained["dropped"] == ["customer_id"] and trained["log_columns"] == ["amount"]
    out = tmp_path / "s.csv"
    _json(capsys, ["tabular", "sample", trained["path"], "-n", "200", "--out", str(out)])
    rows = _rows(out)
    assert "customer_id" not in rows[0] and min(float(r["amount"]) for r in rows) > 0  # log scale undone
    filled = tmp_path / "filled.csv"
    result = _json(capsys, ["tabular", "impute", str(people), "--run", trained["path"], "--out", str(filled)])
    original = _rows(people)
    imputed = _rows(filled)
    missing = sum(r["score"] == "" for r in original)
    assert result["filled_cells"] == {"score": missing} and all(r["score"] != "" for r in imputed)
    assert [r["amount"] for r in imputed] == [r["amount"] for r in original]  # observed cells kept
    html = tmp_path / "report.html"
    report = _json(capsys, ["tabular", "report", trained["path"], "--out", str(html), "-n", "50"])
    assert report["rows"] == 30  # capped by the holdout: half of the 60 test rows
    assert 0.5 < report["quality"]["synthetic"]["column_shapes"] <= 1
    assert report["ml_efficacy"]["holdout"]["f1"] > 0.8
    assert set(report["privacy"]) >= {"synthetic", "holdout", "dcr_ratio", "distance_attack"}
    assert "<table>" in html.read_text() and (tmp_path / trained["run"] / "report.json").is_file()
    card = (tmp_path / trained["run"] / "model_card.md").read_text()
    assert "## Synthetic data report" in card and "privacy verdict" in card


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--condition", "sex=Femal"], "nearest valid values: Female"),
        (["--condition", "amount=3"], "'amount' is numeric"),
        (["--condition", "sexx=Male"], "did you mean sex"),
        (["--condition", "sex"], "COLUMN=VALUE"),
        (["--condition", "plan=gold,sex=Male", "-n", "5000", "--max-tries", "1"], "fewer than the 5000"),
        (["-n", "0"], "-n must be between"),
    ],
)
def test_bad_sampling_requests_are_one_line(argv, message, people, tmp_path_factory, capsys):
    runs = tmp_path_factory.mktemp("runs")
    trained = _json(capsys, ["tabular", "train", "copula", "--data", f"csv:{people}", "--out", str(runs)])
    assert main(["tabular", "sample", trained["path"], *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_bad_training_requests_are_one_line(people, tmp_path, capsys):
    cases = [
        (["copula", "--data", f"csv:{people}", "--dp"], "no DP training"),
        (["tvae", "--data", f"csv:{people}", "--preset", "banking"], "unknown preset 'banking'"),
        (["tvae", "--data", f"csv:{people}", "--epsilon", "3"], "only apply with --dp"),
        (["tvae", "--data", f"csv:{tmp_path / 'none.csv'}"], "no such CSV file"),
    ]
    for argv, message in cases:
        assert main(["tabular", "train", *argv, "--out", str(tmp_path)]) == 2
        assert message in capsys.readouterr().err


def test_healthcare_preset_trains_tvae_under_dp_and_the_report_states_epsilon(people, tmp_path, capsys):
    argv = ["tabular", "train", "tvae", "--data", f"csv:{people}", "--preset", "healthcare", "--max-steps", "3",
            "--out", str(tmp_path), *TINY["tvae"]]  # fmt: skip
    trained = _json(capsys, argv)
    assert trained["dropped"] == ["customer_id"]
    assert 0 < trained["metrics"]["epsilon"] <= 5.0  # the preset's budget, spent over the 3 steps
    report = _json(capsys, ["tabular", "report", trained["path"], "-n", "20"])
    assert report["dp"]["epsilon"] == trained["metrics"]["epsilon"]
    assert report["privacy_verdict"]["dcr_ratio_at_least"] == 1.0  # the preset's stricter threshold


def test_ctgan_trains_its_critic_under_dp_and_the_report_states_epsilon(people, tmp_path, capsys):
    argv = ["tabular", "train", "ctgan", "--data", f"csv:{people}", "--target", "label", "--dp", "--epsilon", "3",
            "--delta", "1e-4", "--max-steps", "3", "--out", str(tmp_path), *TINY["ctgan"]]  # fmt: skip
    trained = _json(capsys, argv)
    assert trained["status"] == "completed" and 0 < trained["metrics"]["epsilon"] <= 3.0
    config = json.loads((tmp_path / trained["run"] / "config.json").read_text())
    assert config["model"]["pac"] == 1  # DP clips one row at a time: the engine turns PacGAN off
    ledger = json.loads((tmp_path / trained["run"] / "privacy.json").read_text())
    assert ledger["steps"] == 3 and ledger["sample_rate"] == pytest.approx(
        100 / 280
    )  # 70 % of 400 rows train
    report = _json(capsys, ["tabular", "report", trained["path"], "-n", "20"])
    assert report["dp"]["epsilon"] == trained["metrics"]["epsilon"]
    packed = [*argv[: -len(TINY["ctgan"])], *TINY["ctgan"], "--set", "pac=10"]
    assert main(packed) == 2
    err = capsys.readouterr().err
    assert "needs pac=1" in err and err.count("\n") == 1
