"""Gymnasium environments as a small vector the learner steps itself, with a state that can be saved.

Gymnasium's own ``SyncVectorEnv`` resets finished episodes inside ``step`` (autoreset) and keeps its state
in Python objects only pickle could save. Exact resume needs every environment's state in JSON, so the
learner holds a plain list of environments: :class:`EnvVector` steps them, resets a finished one at once
(returning the last observation of the finished episode separately, to bootstrap a truncated episode's
value), and :meth:`EnvVector.state` / :meth:`EnvVector.load_state` capture what the classic-control
environments consist of: their physical state and scalar attributes, their numpy RNG state, the time
limit's step count, and the running episode returns.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from genforge.core.errors import ConfigError, require

# environments the docs and tests use; any registered gymnasium id works
CLASSIC_CONTROL = ("CartPole-v1", "Acrobot-v1", "MountainCar-v0", "Pendulum-v1")


def make_env(env_id: str):
    """One gymnasium environment; an unknown id is one line listing the classic-control ones."""
    gym = require("gymnasium", "rl")
    try:
        return gym.make(env_id, disable_env_checker=True)
    except gym.error.Error as exc:
        from genforge.core.suggest import did_you_mean

        hint = did_you_mean(env_id, list(gym.registry)) or f" (classic control: {', '.join(CLASSIC_CONTROL)})"
        raise ConfigError(f"unknown environment id '{env_id}'{hint}: {str(exc).splitlines()[0]}") from None


def space_info(env) -> dict[str, Any]:
    """Observation size and action space of ``env``: discrete ``n`` or continuous ``dim`` with bounds."""
    gym = require("gymnasium", "rl")
    obs_space, act_space = env.observation_space, env.action_space
    if not isinstance(obs_space, gym.spaces.Box) or len(obs_space.shape) != 1:
        raise ConfigError(f"only flat Box observations are supported, {env.spec.id} has {obs_space}")
    if isinstance(act_space, gym.spaces.Discrete):
        return {"obs_dim": obs_space.shape[0], "discrete": True, "num_actions": int(act_space.n)}
    if isinstance(act_space, gym.spaces.Box) and len(act_space.shape) == 1:
        return {
            "obs_dim": obs_space.shape[0],
            "discrete": False,
            "action_dim": act_space.shape[0],
            "low": act_space.low.tolist(),
            "high": act_space.high.tolist(),
        }
    raise ConfigError(f"only Discrete or flat Box actions are supported, {env.spec.id} has {act_space}")


def _time_limit(env):
    gym = require("gymnasium", "rl")
    while env is not None:
        if isinstance(env, gym.wrappers.TimeLimit):
            return env
        env = getattr(env, "env", None)
    return None


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return {"ndarray": value.tolist(), "dtype": str(value.dtype)}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return {"tuple": [_jsonable(v) for v in value]}
    return value


def _from_jsonable(value: Any) -> Any:
    if isinstance(value, dict) and "ndarray" in value:
        return np.asarray(value["ndarray"], dtype=value["dtype"])
    if isinstance(value, dict) and "tuple" in value:
        return tuple(_from_jsonable(v) for v in value["tuple"])
    return value


def _scalar_state(unwrapped) -> dict[str, Any]:
    """The attributes that make up a classic-control environment's state (numbers, arrays, None)."""
    simple = (int, float, bool, np.ndarray, np.generic, type(None))
    out = {}
    for name, value in vars(unwrapped).items():
        if name.startswith("_") or name in ("spec", "render_mode", "metadata", "screen", "clock"):
            continue
        if isinstance(value, simple) or (
            isinstance(value, tuple) and all(isinstance(v, simple) for v in value)
        ):
            out[name] = _jsonable(value)
    return out


class EnvVector:
    """``num_envs`` copies of ``env_id``; environment ``i`` is first reset with seed ``seed * 1000 + i``."""

    def __init__(self, env_id: str, num_envs: int, seed: int) -> None:
        self.env_id = env_id
        self.envs = [make_env(env_id) for _ in range(num_envs)]
        self.info = space_info(self.envs[0])
        self.obs = np.stack([env.reset(seed=seed * 1000 + i)[0] for i, env in enumerate(self.envs)]).astype(
            np.float32
        )
        self.episode_return = np.zeros(num_envs)
        self.episode_length = np.zeros(num_envs, dtype=np.int64)

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, ...]:
        """Step every environment: ``(next_obs, rewards, terminated, truncated, final_obs, finished)``.

        ``next_obs`` is the first observation of a new episode where one ended; ``final_obs`` holds the
        last observation of the ended episode there; ``finished`` lists ``(return, length)`` of the
        episodes that ended in this step."""
        n = len(self.envs)
        rewards = np.zeros(n, dtype=np.float32)
        terminated, truncated = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
        final_obs = self.obs.copy()
        finished = []
        for i, env in enumerate(self.envs):
            obs, reward, term, trunc, _ = env.step(actions[i])
            rewards[i], terminated[i], truncated[i] = reward, term, trunc
            self.episode_return[i] += reward
            self.episode_length[i] += 1
            final_obs[i] = obs
            if term or trunc:
                finished.append((float(self.episode_return[i]), int(self.episode_length[i])))
                self.episode_return[i], self.episode_length[i] = 0.0, 0
                obs, _ = env.reset()
            self.obs[i] = obs
        return self.obs.copy(), rewards, terminated, truncated, final_obs, finished

    def state(self) -> dict[str, Any]:
        """Everything needed to continue exactly, as JSON."""
        envs = []
        for env in self.envs:
            limit = _time_limit(env)
            envs.append(
                {
                    "attributes": _scalar_state(env.unwrapped),
                    "rng": env.unwrapped.np_random.bit_generator.state,
                    "elapsed_steps": None if limit is None else limit._elapsed_steps,
                }
            )
        return {
            "envs": envs,
            "obs": self.obs.tolist(),
            "episode_return": self.episode_return.tolist(),
            "episode_length": self.episode_length.tolist(),
        }

    def load_state(self, state: dict[str, Any]) -> None:
        if len(state["envs"]) != len(self.envs):
            raise ConfigError(f"the checkpoint holds {len(state['envs'])} environments, not {len(self.envs)}")
        for env, saved in zip(self.envs, state["envs"], strict=True):
            for name, value in saved["attributes"].items():
                setattr(env.unwrapped, name, _from_jsonable(value))
            env.unwrapped.np_random.bit_generator.state = saved["rng"]
            limit = _time_limit(env)
            if limit is not None:
                limit._elapsed_steps = saved["elapsed_steps"]
        self.obs = np.asarray(state["obs"], dtype=np.float32)
        self.episode_return = np.asarray(state["episode_return"], dtype=np.float64)
        self.episode_length = np.asarray(state["episode_length"], dtype=np.int64)

    def close(self) -> None:
        for env in self.envs:
            env.close()
