"""Membership inference: the attack's figures on known score sets, and against a real run from the CLI."""

import json

import numpy as np
import pytest

from genforge.cli.main import main
from genforge.core.errors import DataError
from genforge.metrics.membership import membership_advantage
from genforge.pipelines.training import train


def test_separated_scores_give_auc_1_and_full_tpr_at_low_fpr():
    result = membership_advantage([5, 6, 7, 8], [1, 2, 3, 4])
    assert result["auc"] == 1.0 and result["advantage"] == 1.0 and result["tpr_at_fpr_0.001"] == 1.0


def test_scores_from_one_distribution_give_auc_near_half():
    rng = np.random.default_rng(0)
    result = membership_advantage(rng.normal(size=5000), rng.normal(size=5000))
    assert abs(result["auc"] - 0.5) < 0.02 and result["tpr_at_fpr_0.01"] < 0.03


def test_empty_or_nan_scores_are_refused():
    with pytest.raises(DataError, match="members and non-members"):
        membership_advantage([], [1.0])
    with pytest.raises(DataError, match="NaN"):
        membership_advantage([float("nan")], [1.0])


def test_cli_attacks_a_trained_run_and_writes_mia_json(tmp_path, capsys):
    run = train("vae", "digits", out=tmp_path, seed=0, max_steps=5,
                overrides={"base_channels": 4, "max_channels": 8, "final_eval": False}).run  # fmt: skip
    code = main(["privacy", "mia", str(run.path), "--max-examples", "60", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert 0 <= out["auc"] <= 1 and out["members"] == out["nonmembers"] == 60
    assert json.loads(run.artifact("mia.json").read_text())["auc"] == out["auc"]
    card = run.model_card_path.read_text()
    assert "## Membership inference" in card and f"AUC {out['auc']:.4f}" in card
    assert main(["card", str(run.path), "--out", str(tmp_path / "CARD.md"), "--json"]) == 0
    written = json.loads(capsys.readouterr().out)
    assert written["front_matter"]["membership_inference"]["auc"] == out["auc"]
    assert written["front_matter"]["family"] == "vae" and (tmp_path / "CARD.html").exists()
    again = main(["privacy", "mia", str(run.path), "--max-examples", "60", "--json"])
    assert again == 0 and json.loads(capsys.readouterr().out)["auc"] == out["auc"]  # seeded
