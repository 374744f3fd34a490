"""``genforge rl train`` and ``rl eval`` as a user types them."""

import json

from genforge.cli.main import main

SMALL = ["--set", "num_envs=2", "--set", "rollout_steps=16", "--set", "eval_episodes=2"]


def run(capsys, *args):
    capsys.readouterr()
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    return code, out.out, out.err


def test_train_then_eval_reports_a_mean_reward_and_writes_eval_json(capsys, tmp_path):
    code, out, err = run(
        capsys, "rl", "train", "a2c", "--steps", 64, "--out", tmp_path, "--quiet", "--json", *SMALL
    )
    assert code == 0, err
    trained = json.loads(out)
    assert trained["status"] == "completed" and trained["env_steps"] == 64 and trained["updates"] == 2
    code, out, err = run(capsys, "rl", "eval", trained["run"], "--episodes", 3, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["algo"] == "a2c" and result["env"] == "CartPole-v1" and result["episodes"] == 3
    assert 8 <= result["mean_reward"] <= 500
    assert json.loads((tmp_path / trained["run"].split("/")[-1] / "eval.json").read_text()) == result
    code, out, err = run(capsys, "rl", "eval", trained["run"], "--episodes", 3)
    assert code == 0 and "mean reward" in out


def test_resume_with_new_settings_is_refused(capsys, tmp_path):
    code, out, err = run(capsys, "rl", "train", "--resume", tmp_path, "--set", "lr=1")
    assert code == 2 and err.startswith("error: --resume continues a run with its own config")


def test_eval_of_a_generative_run_says_it_is_not_an_rl_run(capsys, tmp_path):
    code, out, err = run(
        capsys, "train", "vae", "--data", "digits", "--max-steps", 1, "--out", tmp_path, "--quiet"
    )
    assert code == 0, err
    (vae_run,) = tmp_path.iterdir()
    code, out, err = run(capsys, "rl", "eval", vae_run)
    assert code == 2 and "is a vae run, not an RL run" in err


def test_several_seeds_give_one_run_each_and_a_mean_over_seeds(capsys, tmp_path):
    code, out, err = run(
        capsys,
        "rl",
        "train",
        "reinforce",
        "--steps",
        32,
        "--seeds",
        2,
        "--out",
        tmp_path,
        "--quiet",
        "--json",
        *SMALL,
    )
    assert code == 0, err
    summary = json.loads(out)
    assert summary["seeds"] == 2 and len(summary["runs"]) == 2 and len(list(tmp_path.iterdir())) == 2
    per_seed = [e["mean_reward"] for e in summary["evaluations"]]
    assert summary["per_seed"] == per_seed and summary["mean_reward"] == sum(per_seed) / 2
    low, high = summary["ci95"]
    assert low <= summary["mean_reward"] <= high


def test_tune_a_gpt_run_then_eval_it_then_resume_is_refused_when_finished(capsys, tmp_path):
    code, out, err = run(capsys, "train", "gpt", "--data", "text:lee", "--block-size", 16, "--max-steps", 2,
                         "--set", "num_layers=1", "--set", "embed_dim=16", "--set", "num_heads=2",
                         "--out", tmp_path / "base", "--quiet", "--json")  # fmt: skip
    assert code == 0, err
    base = json.loads(out)["run"]
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - {type: regex, pattern: '[a-z]', cap: 4}\n")
    code, out, err = run(capsys, "rl", "tune", base, "--reward", f"rules:{rules}", "--algo", "grpo", "--kl", 0.1,
                         "--max-steps", 2, "--set", "max_new_tokens=6", "--set", "samples_per_prompt=3",
                         "--set", "eval_samples=6", "--out", tmp_path / "tuned", "--quiet", "--json")  # fmt: skip
    assert code == 0, err
    tuned = json.loads(out)
    assert tuned["status"] == "completed" and tuned["steps"] == 2 and tuned["evaluation"]["samples"] == 6
    code, out, err = run(capsys, "rl", "eval", tuned["run"], "--samples", 3, "--json")
    assert code == 0, err
    assert json.loads(out)["samples"] == 3 and json.loads(out)["updates"] == 2
    code, out, err = run(capsys, "rl", "tune", "--resume", tuned["run"])
    assert code == 2 and "already finished its 2 updates" in err
    code, out, err = run(capsys, "rl", "tune", base, "--reward", "rules:/nonexistent.yaml")
    assert code == 2 and err.startswith("error: reward rule file /nonexistent.yaml does not exist")
    code, out, err = run(capsys, "rl", "tune", base, "--reward", "guard", "--set", "kl_coeff=1")
    assert code == 2 and "unknown rl tune key 'kl_coeff'" in err
