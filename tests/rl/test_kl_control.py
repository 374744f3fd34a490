"""The adaptive KL coefficient (``--kl-target``): its definition, and what a tiny tune run does with it."""

import json

import pytest
from PIL import Image

from genforge.core.errors import ConfigError
from genforge.pipelines.rltune import resume_tune, tune_gpt
from genforge.rl.curves import CURVES_FILE
from genforge.rl.kl_control import adaptive_kl_coef
from genforge.rl.tune import TuneConfig

SMALL = {"prompts_per_step": 1, "samples_per_prompt": 4, "max_new_tokens": 8, "eval_samples": 8}


def test_the_coefficient_follows_the_proportional_rule_with_a_clipped_error():
    # KL 6 against a target of 5: error 0.2, 16 samples over a horizon of 160 -> x (1 + 0.2 * 0.1)
    assert adaptive_kl_coef(0.1, 6.0, 5.0, 16, 160.0) == pytest.approx(0.1 * 1.02, abs=1e-15)
    # KL 5.5: error 0.1 -> x 1.01; at the target it stays; below it falls
    assert adaptive_kl_coef(0.1, 5.5, 5.0, 16, 160.0) == pytest.approx(0.101, abs=1e-15)
    assert adaptive_kl_coef(0.1, 5.0, 5.0, 16, 160.0) == 0.1
    assert adaptive_kl_coef(0.1, 4.5, 5.0, 16, 160.0) == pytest.approx(0.099, abs=1e-15)
    # the error is clipped at +-0.2 however far the KL is from the target
    assert adaptive_kl_coef(0.1, 500.0, 5.0, 16, 160.0) == adaptive_kl_coef(0.1, 6.0, 5.0, 16, 160.0)
    assert adaptive_kl_coef(0.1, 0.0, 5.0, 16, 160.0) == pytest.approx(0.1 * 0.98, abs=1e-15)
    # a longer horizon moves it more slowly
    assert adaptive_kl_coef(0.1, 6.0, 5.0, 16, 1600.0) == pytest.approx(0.1 * 1.002, abs=1e-15)


def _records(run):
    return [r for r in run.read_metrics() if r.get("split") == "train"]


@pytest.mark.parametrize("algo", ["grpo", "ppo"])
def test_a_tune_run_moves_its_coefficient_by_the_rule_and_draws_its_curves(
    tiny_gpt_run, letter_rules, tmp_path, algo
):
    config = TuneConfig(algo=algo, max_steps=6, lr=1e-2, kl_coef=0.1, kl_target=0.05, kl_horizon=8, ppo_epochs=2,
                        **SMALL)  # fmt: skip
    result = tune_gpt(tiny_gpt_run, f"rules:{letter_rules}", config=config, out=tmp_path, seed=0)
    assert result.status == "completed"
    records = _records(result.run)
    assert records[0]["kl_coef"] == 0.1 and records[0]["kl"] == 0.0  # the first batch is the reference's
    for before, after in zip(records, records[1:], strict=False):
        assert after["kl_coef"] == pytest.approx(
            adaptive_kl_coef(before["kl_coef"], before["kl"], 0.05, 4, 8.0), rel=1e-12
        )
    # lr 1e-2 drives the KL far above 0.05 nats, so the coefficient must have grown after the first fall
    assert records[1]["kl_coef"] == pytest.approx(0.1 * (1 - 0.2 * 4 / 8))
    assert max(r["kl"] for r in records) > 0.06 and records[-1]["kl_coef"] > records[1]["kl_coef"]
    with Image.open(result.run.artifact(CURVES_FILE)) as picture:
        assert picture.format == "PNG" and picture.height > picture.width * 0.9  # four stacked panels


def test_a_fixed_coefficient_is_logged_unchanged_and_draws_three_panels(tiny_gpt_run, letter_rules, tmp_path):
    config = TuneConfig(max_steps=3, lr=1e-3, kl_coef=0.07, **SMALL)
    result = tune_gpt(tiny_gpt_run, f"rules:{letter_rules}", config=config, out=tmp_path, seed=0)
    assert [r["kl_coef"] for r in _records(result.run)] == [0.07, 0.07, 0.07]
    with Image.open(result.run.artifact(CURVES_FILE)) as picture:
        assert picture.format == "PNG" and picture.height < picture.width  # reward, KL, entropy


def test_resume_continues_with_the_adapted_coefficient(tiny_gpt_run, letter_rules, tmp_path):
    config = TuneConfig(algo="rloo", max_steps=4, lr=1e-2, kl_coef=0.1, kl_target=0.05, kl_horizon=8,
                        checkpoint_every=1, **SMALL)  # fmt: skip
    whole = tune_gpt(tiny_gpt_run, f"rules:{letter_rules}", config=config, out=tmp_path / "a", seed=1)
    half = tune_gpt(
        tiny_gpt_run, f"rules:{letter_rules}", config=config.model_copy(update={"max_steps": 2}),
        out=tmp_path / "b", seed=1,
    )  # fmt: skip
    saved = json.loads(half.run.config_path.read_text())
    saved["rltune"]["max_steps"] = 4  # the same run asked to go on to 4 updates
    half.run.write_config(saved)
    resumed = resume_tune(half.run)
    assert resumed.steps == 4
    assert [r["kl_coef"] for r in _records(resumed.run)] == [r["kl_coef"] for r in _records(whole.run)]
    assert _records(resumed.run)[2]["kl_coef"] != 0.1


def test_an_adaptive_kl_from_a_zero_coefficient_is_refused_and_leaves_no_run(tiny_gpt_run, tmp_path):
    config = TuneConfig(kl_coef=0.0, kl_target=5.0, **SMALL)
    with pytest.raises(ConfigError, match="needs a starting kl_coef above 0"):
        tune_gpt(tiny_gpt_run, "guard", config=config, out=tmp_path)
    assert list(tmp_path.iterdir()) == []
