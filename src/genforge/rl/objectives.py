"""The per-token pieces of RL-tuning (:mod:`genforge.rl.tune`): token log-probs and entropies, masked means
and whitening, RLOO and GRPO advantages and losses, the k3 KL estimator, PPO's per-token rewards, GAE over
generated tokens, PPO's clipped policy and value losses, and the value head.

Pure functions of tensors, so each is checked on its own against its definition (``tests/rl``) and against
golden values computed by TRL's own code on a fixed batch (``tests/golden/make_rl_goldens.py``,
``tests/rl/test_trl_goldens.py``; docs/rl.md lists where TRL's definitions differ).
"""

from __future__ import annotations

import torch
from torch import nn


def masked_mean(values: torch.Tensor, mask: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    if dim is None:
        return (values * mask).sum() / mask.sum().clamp_min(1.0)
    return (values * mask).sum(dim) / mask.sum(dim).clamp_min(1.0)


def token_log_probs(logits: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-probabilities of ``targets`` under ``logits`` (..., V) and the entropy of each distribution."""
    if logits.dtype not in (torch.float32, torch.float64):
        logits = logits.float()
    log_probs = logits.log_softmax(-1)
    chosen = log_probs.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    return chosen, -(log_probs.exp() * log_probs).sum(-1)


def masked_whiten(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``(x - mean) / sqrt(var + 1e-8)`` with the mean and unbiased variance over the ``mask``ed entries."""
    mean = masked_mean(values, mask)
    count = mask.sum()
    variance = masked_mean((values - mean) ** 2, mask) * count / (count - 1).clamp_min(1.0)
    return (values - mean) * torch.rsqrt(variance + 1e-8)


def rloo_advantages(scores: torch.Tensor) -> torch.Tensor:
    """``score_i - mean_{j != i} score_j`` over the last axis (k >= 2)."""
    k = scores.shape[-1]
    return (scores - scores.mean(-1, keepdim=True)) * k / (k - 1)


def rloo_loss(log_prob: torch.Tensor, mask: torch.Tensor, advantages: torch.Tensor) -> torch.Tensor:
    """REINFORCE with the leave-one-out advantages (k,): ``mean_i -A_i sum_t log pi(y_it)``."""
    return -(advantages * (log_prob * mask).sum(-1)).mean()


def grpo_advantages(rewards: torch.Tensor, eps: float = 1e-4, scale: bool = True) -> torch.Tensor:
    """``(R_i - mean R) / (std R + eps)`` over the last axis (unbiased std, as TRL); ``scale=False`` keeps
    ``R_i - mean R`` (Dr. GRPO, TRL's ``scale_rewards="none"``)."""
    centred = rewards - rewards.mean(-1, keepdim=True)
    return centred / (rewards.std(-1, keepdim=True) + eps) if scale else centred


def grpo_loss(
    log_prob: torch.Tensor,
    old_log_prob: torch.Tensor,
    ref_log_prob: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    clip_range: float,
    kl_coef: float,
    norm: str = "sequence",
) -> torch.Tensor:
    """GRPO's clipped surrogate plus ``kl_coef`` times the k3 KL per token, averaged by ``norm``:
    ``sequence`` — over each sequence's tokens, then over sequences (DeepSeekMath; TRL ``loss_type="grpo"``);
    ``token`` — over all tokens of the batch (TRL ``bnpo``, and ``dapo`` on one device);
    ``constant`` — the token sum over ``sequences x T`` (Dr. GRPO; TRL ``dr_grpo``)."""
    advantages = advantages if advantages.dim() == log_prob.dim() else advantages.unsqueeze(-1)
    ratio = (log_prob - old_log_prob).exp()
    surrogate = torch.min(ratio * advantages, ratio.clamp(1 - clip_range, 1 + clip_range) * advantages)
    per_token = -surrogate + kl_coef * k3_kl(log_prob, ref_log_prob) if kl_coef else -surrogate
    if norm == "sequence":
        return masked_mean(per_token, mask, dim=-1).mean()
    if norm == "token":
        return masked_mean(per_token, mask)
    if norm == "constant":
        return (per_token * mask).sum() / mask.numel()
    raise ValueError(f"unknown GRPO normalisation {norm!r}: use sequence, token or constant")


def k3_kl(log_prob: torch.Tensor, ref_log_prob: torch.Tensor) -> torch.Tensor:
    """Per-token k3 estimator of KL(pi || ref) (Schulman 2020): non-negative, unbiased."""
    diff = ref_log_prob - log_prob
    return diff.exp() - diff - 1


def ppo_token_rewards(
    scores: torch.Tensor, kl: torch.Tensor, mask: torch.Tensor, kl_coef: float
) -> torch.Tensor:
    """Per-token rewards (k, T) of PPO-RLHF (Ziegler et al. 2019): ``-kl_coef * KL_t`` on every token and the
    sequence's score (k,) added on its last generated token."""
    rewards = -kl_coef * kl
    last = (mask.sum(-1).long() - 1).clamp_min(0)
    rewards[torch.arange(len(last)), last] += scores
    return rewards


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
