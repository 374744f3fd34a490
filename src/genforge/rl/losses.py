"""Advantage estimation and the three policy-gradient losses, as pure functions of tensors.

GAE (Schulman et al. 2016): ``delta_t = r_t + gamma V(s_{t+1}) (1 - done_t) - V(s_t)``,
``A_t = delta_t + gamma lambda (1 - done_t) A_{t+1}``; returns are ``A_t + V(s_t)``. With lambda = 1 the
advantage is the Monte-Carlo return minus the baseline (REINFORCE with baseline, A2C's n-step return).
PPO (Schulman et al. 2017): ``-min(ratio A, clip(ratio, 1 - eps, 1 + eps) A)`` with optional value
clipping ``max((V - R)^2, (V_old + clip(V - V_old, -c, c) - R)^2)`` as in OpenAI Baselines' PPO2.
A2C and REINFORCE use the plain ``-log pi(a|s) A``.
"""

from __future__ import annotations

import torch


def gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    dones: torch.Tensor,
    last_value: torch.Tensor,
    gamma: float,
    lam: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Advantages and returns, each (T, N), from rewards, values and episode ends (T, N) and the value of
    the observation after the last step (N,). ``dones[t]`` marks that the episode ended at step t (a
    truncated episode's bootstrap value is already in its reward)."""
    steps = rewards.shape[0]
    advantages = torch.zeros_like(rewards)
    running = torch.zeros_like(last_value)
    for t in reversed(range(steps)):
        next_value = last_value if t == steps - 1 else values[t + 1]
        alive = 1.0 - dones[t]
        delta = rewards[t] + gamma * next_value * alive - values[t]
        running = delta + gamma * lam * alive * running
        advantages[t] = running
    return advantages, advantages + values


def policy_loss(
    log_prob: torch.Tensor, old_log_prob: torch.Tensor, advantages: torch.Tensor, clip_range: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Policy loss and the fraction of clipped ratios; ``clip_range`` 0 is the plain policy gradient."""
    if clip_range <= 0:
        return -(log_prob * advantages).mean(), torch.zeros(())
    ratio = (log_prob - old_log_prob).exp()
    clipped = ratio.clamp(1 - clip_range, 1 + clip_range)
    loss = -torch.min(ratio * advantages, clipped * advantages).mean()
    return loss, ((ratio - 1).abs() > clip_range).float().mean()


def value_loss(
    values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor, value_clip: float
) -> torch.Tensor:
    """Mean squared error of the value (clipped around the old values when ``value_clip`` > 0), as SB3."""
    error = (values - returns).pow(2)
    if value_clip > 0:
        moved = old_values + (values - old_values).clamp(-value_clip, value_clip)
        error = torch.max(error, (moved - returns).pow(2))
    return error.mean()
