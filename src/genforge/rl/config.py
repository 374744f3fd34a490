"""The one config of an RL run, with each algorithm's defaults.

``ppo`` defaults are RL-Zoo's CartPole-v1 hyperparameters for Stable-Baselines3 PPO (8 environments, 32
steps each per update, 20 epochs of one 256-sample minibatch, gamma 0.98, GAE lambda 0.8, learning
rate and clip range decayed linearly to 0); ``a2c`` is A2C with 8 environments and 5-step rollouts
(Mnih et al. 2016, one update per rollout); ``reinforce`` is REINFORCE with a learned value baseline
(Williams 1992): Monte-Carlo returns over 512-step rollouts per environment (lambda = 1, one update).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from genforge.core.config import Config

ALGORITHM_DEFAULTS: dict[str, dict[str, Any]] = {
    "ppo": {},
    "a2c": {
        "rollout_steps": 5,
        "epochs": 1,
        "minibatch_size": 40,
        "gamma": 0.99,
        "gae_lambda": 1.0,
        "lr": 7e-4,
        "lr_schedule": "constant",
        "clip_range": 0.0,
    },
    "reinforce": {
        "num_envs": 4,
        "rollout_steps": 512,
        "epochs": 1,
        "minibatch_size": 2048,
        "gamma": 0.99,
        "gae_lambda": 1.0,
        "lr": 2e-3,
        "lr_schedule": "constant",
        "clip_range": 0.0,
        "normalize_advantages": True,
    },
}


class RLConfig(Config):
    algo: Literal["ppo", "a2c", "reinforce"] = Field("ppo", description="algorithm: ppo, a2c or reinforce")
    env: str = Field("CartPole-v1", description="gymnasium environment id")
    total_steps: int = Field(100_000, ge=1, le=100_000_000, description="environment steps to train for")
    num_envs: int = Field(8, ge=1, le=256, description="environments stepped side by side")
    rollout_steps: int = Field(32, ge=1, le=100_000, description="steps per environment in each rollout")
    epochs: int = Field(20, ge=1, le=1000, description="passes over each rollout (ppo)")
    minibatch_size: int = Field(256, ge=1, description="samples per gradient step")
    gamma: float = Field(0.98, ge=0.0, le=1.0, description="discount factor")
    gae_lambda: float = Field(0.8, ge=0.0, le=1.0, description="GAE lambda (1 = Monte-Carlo returns)")
    lr: float = Field(1e-3, gt=0.0, description="Adam learning rate")
    lr_schedule: Literal["linear", "constant"] = Field(
        "linear", description="lr: linear decay to 0 or constant"
    )
    clip_range: float = Field(
        0.2, ge=0.0, description="PPO ratio clip epsilon (0 = no ratio, plain policy gradient)"
    )
    clip_schedule: Literal["linear", "constant"] = Field(
        "linear", description="clip range: linear decay or constant"
    )
    value_clip: float = Field(
        0.0, ge=0.0, description="clip value updates to this distance from the old values (0 = off)"
    )
    normalize_advantages: bool = Field(True, description="standardise advantages per minibatch")
    ent_coef: float = Field(0.0, ge=0.0, description="entropy bonus weight")
    vf_coef: float = Field(0.5, ge=0.0, description="value loss weight")
    max_grad_norm: float = Field(0.5, ge=0.0, description="clip the global gradient norm (0 = off)")
    hidden: int = Field(64, ge=1, le=4096, description="units per hidden layer (policy and value nets)")
    layers: int = Field(2, ge=1, le=8, description="hidden layers per net")
    eval_episodes: int = Field(20, ge=1, le=10_000, description="episodes of the evaluation at the end")
    checkpoint_every: int = Field(10, ge=1, description="checkpoint every this many updates")

    @classmethod
    def for_algo(cls, algo: str, values: dict[str, Any] | None = None) -> RLConfig:
        """The config of ``algo``: its defaults, then ``values`` (validated; unknown keys are named)."""
        return cls.build(
            {**ALGORITHM_DEFAULTS.get(algo, {}), **(values or {}), "algo": algo}, where=f"rl {algo}"
        )

    @property
    def batch_size(self) -> int:
        return self.num_envs * self.rollout_steps

    @property
    def num_updates(self) -> int:
        return max(1, -(-self.total_steps // self.batch_size))
