"""PPO on CartPole-v1: genforge against Stable-Baselines3 with RL-Zoo's hyperparameters, side by side.

    .venv/bin/pip install 'genforge[rl,advanced-bench]'
    .venv/bin/python benchmarks/ppo_vs_sb3.py [--seeds 5] [--steps 100000] [--episodes 20]

Both train for the same environment steps with the same hyperparameters (8 environments x 32 steps,
batch 256, 20 epochs, gamma 0.98, GAE lambda 0.8, lr 1e-3 and clip 0.2 decayed linearly, no entropy
bonus, 64x64 tanh networks), then play ``--episodes`` evaluation episodes with the deterministic policy.
One row per seed and library; the last lines give how many seeds reach 475 and genforge's wall time as
a ratio of SB3's. Timings are on whatever else the CPU is doing: compare within one run.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from genforge.rl.learner import evaluate_policy, train_rl  # noqa: E402

GOAL = 475.0


def genforge_ppo(seed: int, steps: int, episodes: int, out: str) -> tuple[float, float]:
    started = time.perf_counter()
    result = train_rl("ppo", "CartPole-v1", steps=steps, out=out, seed=seed, overrides={"eval_episodes": 1})
    wall = time.perf_counter() - started
    return evaluate_policy(result.run, episodes, seed=seed)["mean_reward"], wall


def sb3_ppo(seed: int, steps: int, episodes: int) -> tuple[float, float]:
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.evaluation import evaluate_policy as sb3_evaluate

    def linear(start: float):
        return lambda remaining: remaining * start

    started = time.perf_counter()
    env = make_vec_env("CartPole-v1", n_envs=8, seed=seed)
    model = PPO(
        "MlpPolicy",
        env,
        n_steps=32,
        batch_size=256,
        gae_lambda=0.8,
        gamma=0.98,
        n_epochs=20,
        ent_coef=0.0,
        learning_rate=linear(1e-3),
        clip_range=linear(0.2),
        seed=seed,
        device="cpu",
    )
    model.learn(total_timesteps=steps)
    wall = time.perf_counter() - started
    eval_env = make_vec_env("CartPole-v1", n_envs=1, seed=10**6 + seed)
    mean, _ = sb3_evaluate(model, eval_env, n_eval_episodes=episodes, deterministic=True)
    return float(mean), wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--episodes", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)  # both libraries alike; small MLPs gain nothing from more threads
    out = tempfile.mkdtemp(prefix="gf-ppo-")
    rows = {"genforge": [], "sb3": []}
    print(f"{'seed':>4}  {'library':<9} {'mean reward':>11} {'wall s':>7}")
    for seed in range(args.seeds):
        for name, fn in (("genforge", lambda s: genforge_ppo(s, args.steps, args.episodes, out)),
                         ("sb3", lambda s: sb3_ppo(s, args.steps, args.episodes))):  # fmt: skip
            reward, wall = fn(seed)
            rows[name].append((reward, wall))
            print(f"{seed:>4}  {name:<9} {reward:>11.1f} {wall:>7.1f}", flush=True)
    for name, results in rows.items():
        reached = sum(r >= GOAL for r, _ in results)
        mean_wall = sum(w for _, w in results) / len(results)
        print(f"{name}: {reached}/{len(results)} seeds >= {GOAL:g}; mean wall {mean_wall:.1f} s")
    ratio = sum(w for _, w in rows["genforge"]) / sum(w for _, w in rows["sb3"])
    print(f"genforge wall time / SB3 wall time: {ratio:.2f}x (goal <= 1.0)")


if __name__ == "__main__":
    main()
