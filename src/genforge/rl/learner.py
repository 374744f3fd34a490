"""Train, resume and evaluate policy-gradient agents (PPO, A2C, REINFORCE) on gymnasium environments.

:func:`train_rl` is the one call behind ``genforge rl train`` and :func:`evaluate_policy` behind
``genforge rl eval``. A run directory is laid out like every genforge run (:mod:`genforge.core.runs`):
``config.json``, ``metrics.jsonl`` (one record per update: episode returns, losses, KL, clip fraction),
``checkpoints/`` and ``eval.json``.

Exact resume: a checkpoint is written between updates and holds the network, the Adam state, the
learner's ``torch.Generator`` (actions and minibatch order come only from it) and, as JSON, every
environment's state (:class:`genforge.rl.envs.EnvVector`). Ctrl-C and SIGTERM finish the update in
progress and checkpoint it, so an interrupted run resumed with :func:`resume_rl` ends bit-for-bit equal
to an uninterrupted one. A truncated episode (time limit) bootstraps its last value into the reward,
as Stable-Baselines3 does, so a 500-step cap is not mistaken for failure.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genforge.core.errors import CheckpointError, ConfigError
from genforge.core.io import flatten_state, unflatten_state
from genforge.core.runs import Run, new_run, resolve_run
from genforge.core.seed import make_generator, torch_rng_stream
from genforge.rl.config import RLConfig
from genforge.rl.envs import EnvVector, make_env, space_info
from genforge.rl.losses import gae, policy_loss, value_loss
from genforge.rl.policy import ActorCritic
from genforge.trainer.signals import StopSignals

RECENT_EPISODES = 100  # the training curve's "mean return" is over this many latest episodes
ProgressFn = Callable[[dict[str, Any]], None]


@dataclass
class RLResult:
    run: Run
    status: str  # "completed" | "time_budget" | "interrupted"
    env_steps: int
    updates: int
    elapsed_s: float
    evaluation: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)


class Learner:
    """One agent, its environments and its optimiser; :meth:`fit` runs updates until a budget."""

    def __init__(self, config: RLConfig, run: Run, seed: int) -> None:
        self.config, self.run, self.seed = config, run, seed
        self.envs = EnvVector(config.env, config.num_envs, seed)
        with torch_rng_stream(seed=seed):
            self.policy = ActorCritic(self.envs.info, config.hidden, config.layers)
        self.optimizer = torch.optim.Adam(self.policy.parameters(), lr=config.lr, eps=1e-5)
        self.generator = make_generator(seed + 1)
        self.updates = 0
        self.elapsed_before = 0.0
        self.recent: deque[float] = deque(maxlen=RECENT_EPISODES)
        self.episodes = 0

    @property
    def env_steps(self) -> int:
        return self.updates * self.config.batch_size

    def _progress_remaining(self) -> float:
        return 1.0 - self.updates / self.config.num_updates

    # -- one update ---------------------------------------------------------------------------------
    def collect(self) -> dict[str, torch.Tensor]:
        """One rollout of ``rollout_steps`` steps in every environment."""
        cfg, envs = self.config, self.envs
        keys = ("obs", "actions", "log_probs", "values", "rewards", "dones")
        buf: dict[str, list] = {k: [] for k in keys}
        low = high = None
        if not envs.info["discrete"]:
            low, high = np.asarray(envs.info["low"]), np.asarray(envs.info["high"])
        for _ in range(cfg.rollout_steps):
            obs = torch.from_numpy(envs.obs.copy())
            action, log_prob = self.policy.act(obs, self.generator)
            with torch.no_grad():
                value = self.policy.value(obs)
            env_action = action.numpy() if low is None else np.clip(action.numpy(), low, high)
            _, rewards, terminated, truncated, final_obs, finished = envs.step(env_action)
            cut = truncated & ~terminated
            if cut.any():
                with torch.no_grad():
                    bootstrap = self.policy.value(torch.from_numpy(final_obs[cut]))
                rewards[cut] += cfg.gamma * bootstrap.numpy()
            for episode_return, _ in finished:
                self.recent.append(episode_return)
                self.episodes += 1
            for k, v in zip(keys, (obs, action, log_prob, value), strict=False):
                buf[k].append(v)
            buf["rewards"].append(torch.from_numpy(rewards))
            buf["dones"].append(torch.from_numpy((terminated | truncated).astype(np.float32)))
        rollout = {k: torch.stack(v) for k, v in buf.items()}
        with torch.no_grad():
            last_value = self.policy.value(torch.from_numpy(envs.obs.copy()))
        adv, returns = gae(
            rollout["rewards"], rollout["values"], rollout["dones"], last_value, cfg.gamma, cfg.gae_lambda
        )
        rollout["advantages"], rollout["returns"] = adv, returns
        return {k: v.flatten(0, 1) for k, v in rollout.items()}

    def learn(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        """Gradient steps on one rollout; mean loss terms."""
        cfg = self.config
        remaining = self._progress_remaining()
        lr = cfg.lr * (remaining if cfg.lr_schedule == "linear" else 1.0)
        clip = cfg.clip_range * (remaining if cfg.clip_schedule == "linear" else 1.0)
        if cfg.clip_range > 0:
            clip = max(clip, 1e-8)  # the last update keeps a ratio objective, not a switch to plain PG
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        size = len(batch["obs"])
        mb = min(cfg.minibatch_size, size)
        sums: dict[str, float] = {}
        count = 0
        for _ in range(cfg.epochs):
            order = torch.randperm(size, generator=self.generator)
            for start in range(0, size - mb + 1, mb):
                ids = order[start : start + mb]
                terms = self._gradient_step({k: v[ids] for k, v in batch.items()}, clip)
                for k, v in terms.items():
                    sums[k] = sums.get(k, 0.0) + v
                count += 1
        return {**{k: v / count for k, v in sums.items()}, "lr": lr, "clip_range": clip}

    def _gradient_step(self, mb: dict[str, torch.Tensor], clip: float) -> dict[str, float]:
        cfg = self.config
        dist = self.policy.dist(mb["obs"])
        log_prob = dist.log_prob(mb["actions"])
        advantages = mb["advantages"]
        if cfg.normalize_advantages and len(advantages) > 1:
            advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
        pg, clip_fraction = policy_loss(
            log_prob, mb["log_probs"], advantages, clip if cfg.clip_range > 0 else 0.0
        )
        vl = value_loss(self.policy.value(mb["obs"]), mb["values"], mb["returns"], cfg.value_clip)
        entropy = dist.entropy().mean()
        loss = pg + cfg.vf_coef * vl - cfg.ent_coef * entropy
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(self.policy.parameters(), cfg.max_grad_norm)
        self.optimizer.step()
        with torch.no_grad():
            log_ratio = log_prob - mb["log_probs"]
            approx_kl = ((log_ratio.exp() - 1) - log_ratio).mean()  # Schulman's low-variance estimator
        return {
            "policy_loss": float(pg.detach()),
            "value_loss": float(vl.detach()),
            "entropy": float(entropy.detach()),
            "approx_kl": float(approx_kl),
            "clip_fraction": float(clip_fraction),
        }

    # -- checkpoints --------------------------------------------------------------------------------
    def save(self, status: str, elapsed: float) -> None:
        tensors = {f"policy.{k}": v for k, v in self.policy.state_dict().items()}
        opt_tensors, skeleton = flatten_state(self.optimizer.state_dict(), "optim")
        tensors.update(opt_tensors)
        tensors["rng.generator"] = self.generator.get_state()
        meta = {
            "status": status,
            "updates": self.updates,
            "env_steps": self.env_steps,
            "elapsed_s": elapsed,
            "optimizer": skeleton,
            "envs": self.envs.state(),
            "recent_returns": list(self.recent),
            "episodes": self.episodes,
        }
        self.run.save_checkpoint(self.env_steps, tensors, meta)

    def load(self) -> list[str]:
        checkpoint = self.run.load_checkpoint()
        meta, tensors = checkpoint.meta, checkpoint.tensors
        try:
            self.policy.load_state_dict({k[7:]: v for k, v in tensors.items() if k.startswith("policy.")})
            self.optimizer.load_state_dict(unflatten_state(meta["optimizer"], tensors))
            self.generator.set_state(tensors["rng.generator"])
            self.envs.load_state(meta["envs"])
            self.updates = int(meta["updates"])
        except (KeyError, RuntimeError, ValueError, TypeError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise CheckpointError(f"checkpoint of {self.run.path} does not fit this agent: {first}") from None
        self.elapsed_before = float(meta.get("elapsed_s", 0.0))
        self.recent = deque(meta.get("recent_returns", []), maxlen=RECENT_EPISODES)
        self.episodes = int(meta.get("episodes", 0))
        return checkpoint.notes

    # -- the loop -----------------------------------------------------------------------------------
    def fit(self, max_minutes: float | None = None, progress: ProgressFn | None = None) -> tuple[str, float]:
        """Run updates until ``total_steps`` (or ``max_minutes`` of this session, or a stop signal);
        checkpoint every ``checkpoint_every`` updates and at the end. Returns (status, elapsed seconds)."""
        start = time.perf_counter()
        cfg = self.config
        status = "completed"
        self.run.drop_metrics_after(self.env_steps)
        with StopSignals() as stop:
            if self.updates == 0 and not self.run.checkpoint_steps():
                self.save("running", self.elapsed_before)
            while self.updates < cfg.num_updates:
                if stop.received:
                    status = "interrupted"
                    break
                if max_minutes is not None and time.perf_counter() - start >= max_minutes * 60:
                    status = "time_budget"
                    break
                batch = self.collect()
                terms = self.learn(batch)
                self.updates += 1
                record = {"step": self.env_steps, "split": "train", "update": self.updates, **terms}
                if self.recent:
                    record["mean_return"] = float(np.mean(self.recent))
                record["episodes"] = self.episodes
                self.run.log([record])
                if progress:
                    progress(
                        {**record, "total_steps": cfg.num_updates * cfg.batch_size, "run": str(self.run.path)}
                    )
                if self.updates % cfg.checkpoint_every == 0:
                    self.save("running", self.elapsed_before + time.perf_counter() - start)
            elapsed = self.elapsed_before + time.perf_counter() - start
            self.save(status, elapsed)
        return status, elapsed


def _write_config(run: Run, config: RLConfig, space: dict[str, Any], seed: int) -> None:
    run.write_config(
        {
            "family": config.algo,
            "kind": "rl",
            "model": {"hidden": config.hidden, "layers": config.layers},
            "train": config.model_dump(),
            "data": {"spec": f"gym:{config.env}"},
            "data_info": {"kind": "env", "shape": [space["obs_dim"]], **space},
            "seed": seed,
        }
    )


def train_rl(
    algo: str,
    env: str = "CartPole-v1",
    *,
    steps: int | None = None,
    out: str | Path = "runs",
    seed: int = 0,
    overrides: dict[str, Any] | None = None,
    max_minutes: float | None = None,
    progress: ProgressFn | None = None,
) -> RLResult:
    """Train ``algo`` (ppo, a2c, reinforce) on gymnasium ``env`` for ``steps`` environment steps into a
    new run under ``out``; evaluates the final policy (``eval_episodes``) into ``eval.json``."""
    values = {**(overrides or {}), "env": env}
    if steps is not None:
        values["total_steps"] = steps
    config = RLConfig.for_algo(algo, values)
    space = space_info(make_env(config.env))  # an unknown id fails here, before a run directory exists
    run = new_run(out, f"{algo}-{config.env}")
    _write_config(run, config, space, seed)
    return _fit(Learner(config, run, seed), max_minutes, progress, [])


def resume_rl(
    run: str | Path | Run, *, max_minutes: float | None = None, progress: ProgressFn | None = None
) -> RLResult:
    """Continue an RL run from its latest checkpoint to its ``total_steps``."""
    run = run if isinstance(run, Run) else resolve_run(run)
    config_json = run.read_config()
    if config_json.get("kind") != "rl":
        raise ConfigError(
            f"run {run.id} is a {config_json['family']} run, not an RL run: resume it with genforge train --resume"
        )
    config = RLConfig.build(config_json["train"], where=f"{run.config_path}")
    learner = Learner(config, run, int(config_json["seed"]))
    notes = learner.load()
    if learner.updates >= config.num_updates:
        raise ConfigError(
            f"run {run.id} already finished its {config.total_steps} steps; train a new run for more"
        )
    return _fit(learner, max_minutes, progress, notes)


def _fit(
    learner: Learner, max_minutes: float | None, progress: ProgressFn | None, notes: list[str]
) -> RLResult:
    with learner.run.training_lock():
        status, elapsed = learner.fit(max_minutes, progress)
    learner.envs.close()
    evaluation = None
    if status == "completed":
        evaluation = evaluate_policy(learner.run, learner.config.eval_episodes, seed=learner.seed)
    return RLResult(learner.run, status, learner.env_steps, learner.updates, elapsed, evaluation, notes)


def load_policy(run: Run) -> tuple[ActorCritic, dict[str, Any]]:
    """The run's latest policy and its config.json."""
    config_json = run.read_config()
    if config_json.get("kind") != "rl":
        raise ConfigError(
            f"run {run.id} is a {config_json['family']} run, not an RL run (genforge rl train makes one)"
        )
    config = RLConfig.build(config_json["train"], where=f"{run.config_path}")
    policy = ActorCritic(config_json["data_info"], config.hidden, config.layers)
    tensors = run.load_checkpoint().tensors
    try:
        policy.load_state_dict({k[7:]: v for k, v in tensors.items() if k.startswith("policy.")})
    except RuntimeError as exc:
        raise CheckpointError(
            f"checkpoint of {run.path} does not fit its config: {str(exc).splitlines()[0]}"
        ) from None
    return policy, config_json


def evaluate_policy(
    run: str | Path | Run, episodes: int = 100, *, seed: int = 0, deterministic: bool = True
) -> dict[str, Any]:
    """Mean episode return of the run's policy over ``episodes`` fresh episodes (environment seeds
    ``10**6 + 1000 * seed + k``, never used in training), with a normal-approximation 95 % interval;
    written to the run's ``eval.json``."""
    if not 1 <= episodes <= 100_000:
        raise ConfigError(f"--episodes must be between 1 and 100000, got {episodes}")
    run = run if isinstance(run, Run) else resolve_run(run)
    policy, config_json = load_policy(run)
    env = make_env(config_json["train"]["env"])
    generator = make_generator(seed)
    returns = []
    info = config_json["data_info"]
    for k in range(episodes):
        obs, _ = env.reset(seed=10**6 + 1000 * seed + k)
        total, done = 0.0, False
        while not done:
            action, _ = policy.act(torch.as_tensor(obs, dtype=torch.float32)[None], generator, deterministic)
            act = action[0].numpy() if not info["discrete"] else int(action[0])
            if not info["discrete"]:
                act = np.clip(act, info["low"], info["high"])
            obs, reward, terminated, truncated, _ = env.step(act)
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    env.close()
    values = np.asarray(returns)
    std = float(values.std(ddof=1)) if episodes > 1 else 0.0
    result = {
        "run": run.id,
        "algo": config_json["family"],
        "env": config_json["train"]["env"],
        "episodes": episodes,
        "deterministic": deterministic,
        "mean_reward": float(values.mean()),
        "std_reward": std,
        "ci95": [
            float(values.mean() - 1.96 * std / np.sqrt(episodes)),
            float(values.mean() + 1.96 * std / np.sqrt(episodes)),
        ],
        "min_reward": float(values.min()),
        "max_reward": float(values.max()),
        "env_steps": int(run.latest_checkpoint_meta().get("env_steps", 0)),
    }
    run.write_eval(result)
    return result
