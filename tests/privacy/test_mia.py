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


# LiRA ----------------------------------------------------------------------------------------------


def digit_folder(path, count):
    """``count`` of scikit-learn's 8x8 digits as PNG files: a small image dataset (80/10/10 split)."""
    from PIL import Image
    from sklearn.datasets import load_digits

    path.mkdir()
    for i, image in enumerate(load_digits().images[:count]):
        Image.fromarray((image * 16).clip(0, 255).astype(np.uint8)).save(path / f"{i:04d}.png")
    return f"folder:{path}"


def test_shadow_assignment_puts_every_example_in_half_the_shadows_and_is_seeded():
    from genforge.privacy.mia import shadow_assignment

    keep = shadow_assignment(500, 8, seed=3)
    assert keep.shape == (8, 500) and (keep.sum(axis=0) == 4).all()
    assert abs(keep.sum(axis=1).mean() - 250) < 1e-9 and (keep.sum(axis=1) > 200).all()
    assert (shadow_assignment(500, 8, seed=3) == keep).all()
    assert not (shadow_assignment(500, 8, seed=4) == keep).all()


def test_odd_shadow_count_is_one_line(tmp_path, capsys):
    code = main(["privacy", "mia", str(tmp_path), "--attack", "lira", "--shadows", "3"])
    assert code != 0
    err = capsys.readouterr().err
    assert "even number of shadow models" in err and "Traceback" not in err


@pytest.mark.slow
def test_cli_lira_finds_members_of_an_overfit_model_and_is_deterministic_with_seed(tmp_path, capsys):
    # 80 training images, 100 steps: a small VAE that memorises its training split
    data = digit_folder(tmp_path / "digits", 100)
    run = train("vae", data, out=tmp_path / "runs", seed=0, max_steps=100,
                overrides={"base_channels": 4, "max_channels": 8, "final_eval": False}).run  # fmt: skip
    args = ["privacy", "mia", str(run.path), "--attack", "lira", "--shadows", "2", "--seed", "0", "--json"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["attack"] == "lira" and out["members"] == out["nonmembers"] == 10
    lira = out["lira"]
    assert lira["shadows"] == 2 and lira["shadow_steps"] == 100  # the run's own budget by default
    assert lira["pool"] == 90 and lira["shadow_train_size"] == 45 and lira["sd_in"] > 0
    assert out["auc"] > 0.5 and 0 <= out["offline"]["auc"] <= 1
    assert json.loads(run.artifact("mia.json").read_text())["lira"] == lira
    card = run.model_card_path.read_text()
    assert "lira attack" in card and "LiRA: 2 shadow models" in card and "offline variant AUC" in card
    assert main([*args[:-3], "--shadow-steps", "100", "--seed", "0", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["auc"] == out["auc"] and again["lira"]["sd_out"] == lira["sd_out"]
    assert not list(run.path.glob("**/shadow-*"))  # the shadows' runs are removed
