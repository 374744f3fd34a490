"""The actor-critic network: separate tanh MLPs for the policy and the value, as Stable-Baselines3's
default ``MlpPolicy`` (orthogonal initialisation, gain sqrt(2) for hidden layers, 0.01 for the policy
head and 1 for the value head). Discrete actions get a categorical policy; continuous actions a
diagonal Gaussian with a state-independent log standard deviation, clipped to the action bounds when
the environment is stepped."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn
from torch.distributions import Categorical, Independent, Normal


def mlp(in_dim: int, out_dim: int, hidden: int, layers: int, head_gain: float) -> nn.Sequential:
    dims = [in_dim] + [hidden] * layers
    modules: list[nn.Module] = []
    for a, b in zip(dims[:-1], dims[1:], strict=True):
        linear = nn.Linear(a, b)
        nn.init.orthogonal_(linear.weight, math.sqrt(2))
        nn.init.zeros_(linear.bias)
        modules += [linear, nn.Tanh()]
    head = nn.Linear(dims[-1], out_dim)
    nn.init.orthogonal_(head.weight, head_gain)
    nn.init.zeros_(head.bias)
    return nn.Sequential(*modules, head)


class ActorCritic(nn.Module):
    """``dist(obs)`` is the action distribution, ``value(obs)`` (B,) the state value."""

    def __init__(self, space: dict[str, Any], hidden: int = 64, layers: int = 2) -> None:
        super().__init__()
        self.discrete = bool(space["discrete"])
        out = space["num_actions"] if self.discrete else space["action_dim"]
        self.pi = mlp(space["obs_dim"], out, hidden, layers, 0.01)
        self.vf = mlp(space["obs_dim"], 1, hidden, layers, 1.0)
        self.log_std = None if self.discrete else nn.Parameter(torch.zeros(out))

    def dist(self, obs: torch.Tensor):
        out = self.pi(obs)
        if self.discrete:  # argument validation costs more than the network at these sizes
            return Categorical(logits=out, validate_args=False)
        scale = self.log_std.exp().expand_as(out)
        return Independent(Normal(out, scale, validate_args=False), 1, validate_args=False)

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        return self.vf(obs).squeeze(-1)

    @torch.no_grad()
    def act(self, obs: torch.Tensor, generator: torch.Generator | None, deterministic: bool = False):
        """Actions for ``obs`` (B, obs_dim): sampled with ``generator`` (or the mode), and their log-probs."""
        if self.discrete:  # without a Distribution object: this runs once per environment step
            log_probs = self.pi(obs).log_softmax(-1)
            if deterministic:
                action = log_probs.argmax(-1)
            else:
                action = torch.multinomial(log_probs.exp(), 1, generator=generator).squeeze(-1)
            return action, log_probs.gather(-1, action.unsqueeze(-1)).squeeze(-1)
        dist = self.dist(obs)
        if deterministic:
            action = dist.mean
        else:
            base = dist.base_dist
            action = base.loc + base.scale * torch.randn(base.loc.shape, generator=generator)
        return action, dist.log_prob(action)
