"""Policy-gradient agents on gymnasium's classic control: advantage maths, environment state round trips,
learning, exact resume after a real SIGINT, and bad input."""

import os
import signal

import numpy as np
import pytest
import torch

from genforge.core.errors import CheckpointError, ConfigError
from genforge.core.runs import Run
from genforge.rl.envs import EnvVector
from genforge.rl.learner import evaluate_policy, resume_rl, train_rl
from genforge.rl.losses import gae, policy_loss, value_loss

SMALL = {"num_envs": 4, "rollout_steps": 16, "epochs": 2, "minibatch_size": 32, "checkpoint_every": 2}


def test_gae_with_lambda_one_is_the_discounted_return_minus_the_baseline():
    rewards = torch.tensor([[1.0], [2.0], [3.0], [4.0]])
    values = torch.tensor([[0.5], [0.25], [1.0], [2.0]])
    dones = torch.tensor([[0.0], [1.0], [0.0], [0.0]])  # the episode ends after step 1
    last = torch.tensor([10.0])
    adv, ret = gae(rewards, values, dones, last, gamma=0.9, lam=1.0)
    expected_returns = [1 + 0.9 * 2, 2.0, 3 + 0.9 * 4 + 0.81 * 10, 4 + 0.9 * 10]
    assert torch.allclose(ret.squeeze(1), torch.tensor(expected_returns))
    assert torch.allclose(adv, ret - values)


def test_gae_with_lambda_zero_is_the_one_step_td_error():
    rewards, values = torch.tensor([[1.0], [2.0]]), torch.tensor([[0.5], [0.25]])
    adv, _ = gae(rewards, values, torch.zeros(2, 1), torch.tensor([3.0]), gamma=0.5, lam=0.0)
    assert torch.allclose(adv.squeeze(1), torch.tensor([1 + 0.5 * 0.25 - 0.5, 2 + 0.5 * 3 - 0.25]))


def test_ppo_objective_clips_the_ratio_on_the_side_the_advantage_favours():
    old = torch.zeros(4)
    new = torch.log(torch.tensor([1.5, 0.5, 1.5, 0.5]))
    adv = torch.tensor([1.0, 1.0, -1.0, -1.0])
    loss, fraction = policy_loss(new, old, adv, clip_range=0.2)
    # min(r A, clip(r) A): 1.2, 0.5, -1.5, -0.8 -> loss is minus their mean
    assert loss.item() == pytest.approx(-(1.2 + 0.5 - 1.5 - 0.8) / 4)
    assert fraction.item() == 1.0
    plain, _ = policy_loss(new, old, adv, clip_range=0.0)
    assert plain.item() == pytest.approx(-(new * adv).mean().item())


def test_value_clipping_takes_the_larger_error():
    values, old, returns = torch.tensor([2.0]), torch.tensor([0.0]), torch.tensor([3.0])
    assert value_loss(values, old, returns, 0.0).item() == pytest.approx(1.0)
    assert value_loss(values, old, returns, 0.5).item() == pytest.approx(2.5**2)


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Acrobot-v1", "MountainCar-v0", "Pendulum-v1"])
def test_environment_state_round_trips_so_the_same_actions_give_the_same_future(env_id):
    envs = EnvVector(env_id, 2, seed=4)
    rng = np.random.default_rng(0)
    discrete = envs.info["discrete"]

    def actions():
        if discrete:
            return rng.integers(0, envs.info["num_actions"], 2)
        return rng.uniform(-2, 2, (2, envs.info["action_dim"])).astype(np.float32)

    for _ in range(30):
        envs.step(actions())
    saved = envs.state()
    plan = [actions() for _ in range(300)]  # long enough for episodes to end and reset mid-way
    first = [envs.step(a)[:4] for a in plan]
    again = EnvVector(env_id, 2, seed=99)
    again.load_state(saved)
    second = [again.step(a)[:4] for a in plan]
    for a, b in zip(first, second, strict=True):
        for x, y in zip(a, b, strict=True):
            np.testing.assert_array_equal(x, y)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted small PPO run (8 updates), trained once."""
    out = tmp_path_factory.mktemp("rl-ref")
    return train_rl("ppo", "CartPole-v1", steps=512, out=out, seed=3, overrides={**SMALL, "eval_episodes": 2})


def test_sigint_mid_run_then_resume_ends_exactly_like_the_uninterrupted_run(reference, tmp_path):
    def interrupt(event):
        if event["update"] == 3:
            os.kill(os.getpid(), signal.SIGINT)

    part = train_rl(
        "ppo",
        "CartPole-v1",
        steps=512,
        out=tmp_path,
        seed=3,
        overrides={**SMALL, "eval_episodes": 2},
        progress=interrupt,
    )
    assert part.status == "interrupted" and part.updates == 3 and part.evaluation is None
    done = resume_rl(part.run.path)
    assert done.status == "completed" and done.updates == 8
    a, b = reference.run.load_checkpoint(), done.run.load_checkpoint()
    assert a.step == b.step == 512 and a.tensors.keys() == b.tensors.keys()
    assert [k for k in a.tensors if not torch.equal(a.tensors[k], b.tensors[k])] == []
    assert a.meta["envs"] == b.meta["envs"] and a.meta["recent_returns"] == b.meta["recent_returns"]

    def log(run):
        return [{k: v for k, v in r.items()} for r in run.read_metrics()]

    assert log(reference.run) == log(done.run)
    assert done.evaluation == {**reference.evaluation, "run": done.run.id}


def test_resuming_a_finished_run_is_refused(reference):
    with pytest.raises(ConfigError, match="already finished its 512 steps"):
        resume_rl(reference.run.path)


@pytest.mark.parametrize("algo", ["ppo", "a2c", "reinforce"])
def test_each_algorithm_learns_cartpole_beyond_a_random_policy(algo, tmp_path):
    # a random policy lasts about 22 steps on CartPole; 12k steps of any of the three more than double it
    result = train_rl(
        algo, "CartPole-v1", steps=12_000, out=tmp_path, seed=0, overrides={"eval_episodes": 10}
    )
    assert result.status == "completed"
    assert result.evaluation["mean_reward"] > 60, result.evaluation
    records = Run(result.run.path).read_metrics()
    assert records[-1]["mean_return"] > records[0].get("mean_return", 0)


def test_pendulum_trains_and_evaluates_with_continuous_actions(tmp_path):
    result = train_rl(
        "ppo", "Pendulum-v1", steps=256, out=tmp_path, seed=0, overrides={**SMALL, "eval_episodes": 1}
    )
    assert result.evaluation["episodes"] == 1 and -2000 < result.evaluation["mean_reward"] < 0


def test_evaluation_is_a_pure_function_of_the_seed(reference):
    first = evaluate_policy(reference.run.path, 3, seed=5)
    assert evaluate_policy(reference.run.path, 3, seed=5) == first
    low, high = first["ci95"]
    assert low <= first["mean_reward"] <= high and first["episodes"] == 3


def test_unknown_environment_is_one_line_and_creates_no_run(tmp_path):
    with pytest.raises(ConfigError, match="unknown environment id 'CartPol-v1'.*CartPole-v1"):
        train_rl("ppo", "CartPol-v1", out=tmp_path / "runs")
    assert not (tmp_path / "runs").exists()


def test_unknown_config_key_is_named(tmp_path):
    with pytest.raises(ConfigError, match="gama"):
        train_rl("ppo", overrides={"gama": 0.9}, out=tmp_path)


def test_a_checkpoint_of_another_shape_is_a_checkpoint_error(reference, tmp_path):
    other = train_rl(
        "ppo", "Acrobot-v1", steps=64, out=tmp_path, seed=0, overrides={**SMALL, "eval_episodes": 1}
    )
    ref_ckpt = reference.run.checkpoint_dir
    for f in other.run.checkpoint_dir.iterdir():
        f.unlink()
    for f in ref_ckpt.iterdir():
        (other.run.checkpoint_dir / f.name).write_bytes(f.read_bytes())
    with pytest.raises(CheckpointError, match="does not fit its config"):
        evaluate_policy(other.run.path, 1)
