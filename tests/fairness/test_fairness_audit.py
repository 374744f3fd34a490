"""fairness audit/mitigate from Python and the CLI, on real tables."""

import csv
import json

import numpy as np
import pytest

from genforge.cli.main import main
from genforge.core.errors import DataError
from genforge.fairness.audit import audit_model, audit_predictions
from genforge.fairness.mitigate import MitigationConfig, mitigate, reweighing_weights


def _write_predictions(path, n=600, seed=1):
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M", "X"], n, p=[0.45, 0.45, 0.1])
    y = rng.integers(0, 2, n)
    p = (rng.random(n) < 0.3 + 0.4 * y + np.where(sex == "M", 0.1, 0)).clip(0, 1).astype(int)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["label", "pred", "sex"])
        writer.writerows(zip(y, p, sex, strict=True))
    return y, p, sex


def test_cli_audit_of_a_predictions_file_matches_the_definitions(tmp_path, capsys):
    y, p, sex = _write_predictions(tmp_path / "preds.csv")
    code = main(["fairness", "audit", "--predictions", str(tmp_path / "preds.csv"), "--sensitive", "sex",
                 "--bootstrap", "200", "--json"])  # fmt: skip
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    selection = [p[sex == g].mean() for g in "FMX"]
    tpr = [p[(sex == g) & (y == 1)].mean() for g in "FMX"]
    fpr = [p[(sex == g) & (y == 0)].mean() for g in "FMX"]
    d = out["disparities"]
    assert abs(d["demographic_parity_difference"] - (max(selection) - min(selection))) < 1e-12
    assert abs(d["equalized_odds_difference"] - max(max(tpr) - min(tpr), max(fpr) - min(fpr))) < 1e-12
    assert abs(d["disparate_impact"] - min(selection) / max(selection)) < 1e-12
    assert len(out["intervals"]) == len(d)


def test_cli_audit_table_fits_in_80_columns(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    _write_predictions(tmp_path / "preds.csv")
    assert (
        main(["fairness", "audit", "--predictions", str(tmp_path / "preds.csv"), "--sensitive", "sex"]) == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines and max(len(line) for line in lines) <= 80


def test_audit_names_a_missing_sensitive_column(tmp_path):
    _write_predictions(tmp_path / "preds.csv")
    with pytest.raises(DataError, match="no column race"):
        audit_predictions(tmp_path / "preds.csv", y_true="label", y_pred="pred", sensitive=["race"])


def test_audit_of_a_logistic_regression_on_german_credit_reports_both_sexes():
    result = audit_model("german-credit", sensitive=["sex"])
    assert {g["group"] for g in result["groups"]} == {"female", "male"}
    assert result["audited"]["rows"] == 150 and result["overall"]["accuracy"] > 0.65


def test_reweighing_makes_group_and_label_independent():
    rng = np.random.default_rng(0)
    groups = rng.choice(["a", "b"], 1000, p=[0.3, 0.7])
    labels = (rng.random(1000) < np.where(groups == "a", 0.2, 0.6)).astype(int)
    w = reweighing_weights(labels, groups)
    for g in ("a", "b"):
        rate = np.average(labels[groups == g], weights=w[groups == g])
        assert abs(rate - labels.mean()) < 1e-12


@pytest.mark.parametrize("method", ["threshold", "expgrad", "reweigh"])
def test_mitigation_reports_before_and_after_on_the_test_split(method):
    config = MitigationConfig(method=method, constraint="demographic_parity")
    result = mitigate("german-credit", sensitive="sex", config=config, seed=0)
    assert result["rows"] == 150 and result["seed"] == 0
    assert set(result["before"]) == set(result["after"])
    again = mitigate("german-credit", sensitive="sex", config=config, seed=0)
    assert again["after"] == result["after"]  # randomized predictions are seeded


def test_cli_audit_of_a_synthesizers_rows_against_the_real_table(tmp_path, capsys):
    from tests.tabular.tabular_testdata import write_people_csv

    people = write_people_csv(tmp_path / "people.csv", rows=400)
    argv = ["tabular", "train", "copula", "--data", f"csv:{people}", "--target", "label",
            "--out", str(tmp_path / "runs"), "--json"]  # fmt: skip
    assert main(argv) == 0
    run = str(tmp_path / "runs" / json.loads(capsys.readouterr().out)["run"])
    audit = ["fairness", "audit", "--samples", run, "--reference", f"csv:{people}", "--sensitive", "sex",
             "--rows", "200", "--seed", "3", "--json"]  # fmt: skip
    assert main(audit) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["audited"]["rows"] == 200 and out["audited"]["test_rows"] == 60
    groups = out["groups"]["sex"]["groups"]
    assert set(groups) == {"Female", "Male"}
    for source in ("real", "synthetic"):
        assert abs(sum(g[f"{source}_share"] for g in groups.values()) - 1) < 1e-12
        assert all(0 <= g[f"{source}_positive_rate"] <= 1 for g in groups.values())
    assert out["groups"]["sex"]["max_share_gap"] < 0.15  # a copula keeps the marginal
    real, synthetic = out["train_on"]["real"], out["train_on"]["synthetic"]
    assert real["accuracy"] > 0.75 and synthetic["accuracy"] > 0.6  # the label follows the amount
    assert 0 <= synthetic["demographic_parity_difference"] <= 1
    assert main(audit) == 0 and json.loads(capsys.readouterr().out) == out  # seeded
    assert main([*audit[:6], "--sensitive", "nationality"]) != 0
    err = capsys.readouterr().err
    assert "no column nationality" in err and "Traceback" not in err
    assert main(["fairness", "audit", "--samples", run, "--sensitive", "sex"]) != 0
    err = capsys.readouterr().err
    assert "--samples needs --reference" in err and "Traceback" not in err
