"""The per-token pieces of RL-tuning (:mod:`genforge.rl.tune`): masked means, RLOO and GRPO advantages, the k3
KL estimator, GAE over generated tokens, PPO's clipped policy and value losses, and the value head.

Pure functions of tensors, so each is checked on its own against its definition (``tests/rl``).
"""

from __future__ import annotations

import torch
from torch import nn


def masked_mean(values: torch.Tensor, mask: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    if dim is None:
        return (values * mask).sum() / mask.sum().clamp_min(1.0)
    return (values * mask).sum(dim) / mask.sum(dim).clamp_min(1.0)


def rloo_advantages(scores: torch.Tensor) -> torch.Tensor:
    """``score_i - mean_{j != i} score_j`` over the last axis (k >= 2)."""
    k = scores.shape[-1]
    return (scores - scores.mean(-1, keepdim=True)) * k / (k - 1)


def grpo_advantages(rewards: torch.Tensor, eps: float = 1e-4) -> torch.Tensor:
    """``(R_i - mean R) / (std R + eps)`` over the last axis (unbiased std, as TRL)."""
    return (rewards - rewards.mean(-1, keepdim=True)) / (rewards.std(-1, keepdim=True) + eps)


def k3_kl(log_prob: torch.Tensor, ref_log_prob: torch.Tensor) -> torch.Tensor:
    """Per-token k3 estimator of KL(pi || ref) (Schulman 2020): non-negative, unbiased."""
    diff = ref_log_prob - log_prob
    return diff.exp() - diff - 1


def gae_tokens(
    rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float, lam: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Advantages and returns (k, T) over generated tokens; positions outside ``mask`` are 0 and end
    the episode (the value after the last token is 0)."""
    steps = rewards.shape[1]
    advantages = torch.zeros_like(rewards)
    running = torch.zeros(rewards.shape[0])
    for t in reversed(range(steps)):
        next_value = values[:, t + 1] * mask[:, t + 1] if t + 1 < steps else torch.zeros(rewards.shape[0])
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        running = (delta + gamma * lam * running * (mask[:, t + 1] if t + 1 < steps else 0.0)) * mask[:, t]
        advantages[:, t] = running
    return advantages, (advantages + values) * mask


def ppo_token_losses(
    log_prob: torch.Tensor,
    old_log_prob: torch.Tensor,
    advantages: torch.Tensor,
    values: torch.Tensor,
    old_values: torch.Tensor,
    returns: torch.Tensor,
    mask: torch.Tensor,
    clip_range: float,
    value_clip: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Masked-mean clipped policy loss, clipped value loss (half squared error, as TRL) and clip fraction."""
    ratio = (log_prob - old_log_prob).exp()
    unclipped = -advantages * ratio
    clipped = -advantages * ratio.clamp(1 - clip_range, 1 + clip_range)
    policy = masked_mean(torch.max(unclipped, clipped), mask)
    error = (values - returns).pow(2)
    if value_clip > 0:
        moved = old_values + (values - old_values).clamp(-value_clip, value_clip)
        error = torch.max(error, (moved - returns).pow(2))
    fraction = masked_mean(((ratio - 1).abs() > clip_range).float(), mask)
    return policy, 0.5 * masked_mean(error, mask), fraction


class ValueHead(nn.Module):
    """One linear layer from the GPT's final hidden states to a per-token value."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.linear = nn.Linear(width, 1)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.linear(hidden).squeeze(-1)
