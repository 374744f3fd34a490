"""``rl tune --seeds N``: one tune run per seed, reward gain and KL with Student-t intervals over seeds."""

import json

import numpy as np
import pytest
from scipy import stats

from genforge.cli.main import main
from genforge.core.errors import ConfigError
from genforge.research.rltune_seeds import summarize_tune_seeds, tune_gpt_seeds
from genforge.rl.tune import TuneConfig

SMALL = {"prompts_per_step": 1, "samples_per_prompt": 4, "max_new_tokens": 8, "eval_samples": 8}


def test_the_summary_is_the_mean_and_student_t_interval_of_each_figure():
    gains, kls = [0.1, 0.4, 0.25], [2.0, 3.5, 1.0]
    evaluations = [
        {"run": f"r{i}", "reward_gain": g, "kl": k, "tuned_reward": 0.5 + g, "reference_reward": 0.5}
        for i, (g, k) in enumerate(zip(gains, kls, strict=True))
    ]
    summary = summarize_tune_seeds(evaluations)
    for figure, values in (("reward_gain", gains), ("kl", kls)):
        x = np.array(values)
        half = stats.t.ppf(0.975, df=2) * x.std(ddof=1) / np.sqrt(3)
        assert summary[figure]["mean"] == pytest.approx(x.mean())
        assert summary[figure]["ci95"] == pytest.approx([x.mean() - half, x.mean() + half])
        assert summary[figure]["per_seed"] == values
    assert summary["seeds"] == 3 and summary["runs"] == ["r0", "r1", "r2"]


def test_seeds_are_consecutive_tune_runs_each_evaluated(tiny_gpt_run, letter_rules, tmp_path):
    config = TuneConfig(max_steps=2, lr=1e-3, **SMALL)
    result = tune_gpt_seeds(
        tiny_gpt_run, f"rules:{letter_rules}", config=config, seeds=2, seed=4, out=tmp_path / "runs"
    )
    assert [r.run.read_config()["seed"] for r in result.results] == [4, 5]
    gains = [r.evaluation["reward_gain"] for r in result.results]
    assert result.summary["reward_gain"]["per_seed"] == gains
    assert result.summary["kl"]["per_seed"] == [r.evaluation["kl"] for r in result.results]
    assert len(list((tmp_path / "runs").iterdir())) == 2
    with pytest.raises(ConfigError, match="--seeds must be between 2"):
        tune_gpt_seeds(tiny_gpt_run, f"rules:{letter_rules}", seeds=1, out=tmp_path / "none")
    assert not (tmp_path / "none").exists()


def test_the_cli_prints_the_summary_as_json(capsys, tiny_gpt_run, letter_rules, tmp_path):
    args = ["rl", "tune", str(tiny_gpt_run.path), "--reward", f"rules:{letter_rules}", "--seeds", "2",
            "--kl-target", "4", "--max-steps", "2", "--set", "max_new_tokens=6", "--set", "samples_per_prompt=3",
            "--set", "eval_samples=6", "--out", str(tmp_path), "--quiet"]  # fmt: skip
    capsys.readouterr()
    assert main([*args, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["seeds"] == 2 and len(summary["evaluations"]) == 2
    low, high = summary["reward_gain"]["ci95"]
    assert low <= summary["reward_gain"]["mean"] <= high
    assert all(json.loads((tmp_path / r / "config.json").read_text())["rltune"]["kl_target"] == 4 for r in
               summary["runs"])  # fmt: skip
    assert main([*args, "--max-steps", "1"]) == 0  # the table
    assert "reward gain" in capsys.readouterr().out
    assert main(["rl", "tune", "--resume", str(tmp_path / summary["runs"][0]), "--seeds", "2"]) == 2
    assert "drop RUN/--reward/--set/--seeds" in capsys.readouterr().err
