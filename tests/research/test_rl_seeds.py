"""``train_rl_seeds``: one RL run per seed and a Student-t interval over seeds."""

import numpy as np
import pytest
from scipy import stats

from genforge.core.errors import ConfigError
from genforge.research.rl_seeds import summarize_rl_seeds, train_rl_seeds

SMALL = {"num_envs": 2, "rollout_steps": 16, "eval_episodes": 2}


def test_the_interval_over_seeds_is_student_t_not_normal():
    evaluations = [{"mean_reward": m, "run": f"r{i}"} for i, m in enumerate([100.0, 180.0, 150.0])]
    summary = summarize_rl_seeds(evaluations)
    values = np.array([100.0, 180.0, 150.0])
    half = stats.t.ppf(0.975, df=2) * values.std(ddof=1) / np.sqrt(3)
    assert summary["mean_reward"] == pytest.approx(values.mean())
    assert summary["ci95"] == pytest.approx([values.mean() - half, values.mean() + half])
    assert half > 1.96 * values.std(ddof=1) / np.sqrt(3)  # wider than the normal interval at n = 3
    assert summary["runs"] == ["r0", "r1", "r2"] and summary["stats"]["n"] == 3


def test_seeds_are_consecutive_runs_each_evaluated(tmp_path):
    result = train_rl_seeds("a2c", seeds=2, seed=5, steps=32, out=tmp_path, overrides=SMALL)
    assert [r.run.read_config()["seed"] for r in result.results] == [5, 6]
    assert result.summary["per_seed"] == [r.evaluation["mean_reward"] for r in result.results]
    assert len(list(tmp_path.iterdir())) == 2


def test_fewer_than_two_seeds_is_refused_before_training(tmp_path):
    with pytest.raises(ConfigError, match="--seeds must be between 2"):
        train_rl_seeds("a2c", seeds=1, out=tmp_path)
    assert list(tmp_path.iterdir()) == []
