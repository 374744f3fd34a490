"""The RL-tuning estimators and losses of genforge.rl.objectives, checked against their definitions."""

import torch

from genforge.rl.objectives import (
    gae_tokens,
    grpo_advantages,
    k3_kl,
    masked_mean,
    ppo_token_losses,
    rloo_advantages,
)


def test_rloo_advantage_is_the_score_minus_the_mean_of_the_others():
    scores = torch.tensor([[1.0, 0.0, 3.0, -2.0], [0.5, 0.5, 0.5, 2.5]])
    expected = torch.stack(
        [
            torch.stack([row[i] - torch.cat([row[:i], row[i + 1 :]]).mean() for i in range(4)])
            for row in scores
        ]
    )
    torch.testing.assert_close(rloo_advantages(scores), expected)


def test_grpo_advantages_are_standardised_within_the_group():
    rewards = torch.tensor([[0.0, 1.0, 1.0, 0.0, 1.0, 1.0]])
    advantages = grpo_advantages(rewards)
    torch.testing.assert_close(advantages.mean(), torch.tensor(0.0), atol=1e-6, rtol=0)
    torch.testing.assert_close(advantages.std(), torch.tensor(1.0), atol=1e-3, rtol=0)
    assert torch.equal(grpo_advantages(torch.ones(1, 4)), torch.zeros(1, 4))  # no signal, no push


def test_k3_estimator_is_non_negative_and_averages_to_the_kl_on_policy_samples():
    generator = torch.Generator().manual_seed(0)
    p = torch.tensor([0.5, 0.3, 0.2])
    q = torch.tensor([0.2, 0.3, 0.5])
    tokens = torch.multinomial(p, 200_000, replacement=True, generator=generator)
    estimates = k3_kl(p.log()[tokens], q.log()[tokens])
    exact = float((p * (p / q).log()).sum())
    assert float(estimates.min()) >= 0.0
    assert abs(float(estimates.mean()) - exact) < 0.01
    assert float(k3_kl(p.log(), p.log()).abs().max()) == 0.0


def test_gae_with_lambda_one_is_the_return_to_go_minus_the_value_and_stops_at_the_end():
    rewards = torch.tensor([[0.1, 0.2, 1.0, 0.0], [0.0, 0.0, 0.0, 2.0]])
    values = torch.tensor([[0.5, 0.4, 0.3, 9.0], [0.1, 0.2, 0.3, 0.4]])
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0], [1.0, 1.0, 1.0, 1.0]])  # the first ends after 3 tokens
    advantages, returns = gae_tokens(rewards, values, mask, gamma=1.0, lam=1.0)
    to_go = torch.tensor([[1.3, 1.2, 1.0, 0.0], [2.0, 2.0, 2.0, 2.0]])
    torch.testing.assert_close(advantages, (to_go - values) * mask)
    torch.testing.assert_close(returns, to_go * mask)


def test_gae_with_lambda_zero_is_the_one_step_td_error():
    rewards = torch.tensor([[0.0, 1.0, 0.5]])
    values = torch.tensor([[0.2, 0.7, 0.1]])
    advantages, _ = gae_tokens(rewards, values, torch.ones(1, 3), gamma=0.9, lam=0.0)
    torch.testing.assert_close(
        advantages, torch.tensor([[0.0 + 0.9 * 0.7 - 0.2, 1.0 + 0.9 * 0.1 - 0.7, 0.5 - 0.1]])
    )


def test_ppo_losses_at_ratio_one_and_when_clipped():
    mask = torch.tensor([[1.0, 1.0, 0.0]])
    advantages = torch.tensor([[1.0, -2.0, 5.0]])
    zeros = torch.zeros(1, 3)
    policy, value, fraction = ppo_token_losses(
        zeros, zeros, advantages, zeros, zeros, zeros + 1, mask, 0.2, 0.2
    )
    assert float(policy) == float(-masked_mean(advantages, mask)) == 0.5
    assert float(value) == 0.5 and float(fraction) == 0.0
    # ratio e^1 on a positive advantage is clipped at 1.2; on a negative one the unclipped term is kept
    log_prob = torch.tensor([[1.0, 1.0, 0.0]])
    policy, _, fraction = ppo_token_losses(log_prob, zeros, advantages, zeros, zeros, zeros, mask, 0.2, 0.0)
    expected = (-1.0 * 1.2 + 2.0 * torch.e) / 2
    assert abs(float(policy) - expected) < 1e-6 and float(fraction) == 1.0
    # the value update is clipped around the old value
    values = torch.tensor([[1.0, 1.0, 1.0]])
    _, value, _ = ppo_token_losses(zeros, zeros, advantages, values, zeros, values, mask, 0.2, 0.2)
    assert abs(float(value) - 0.5 * 0.8**2) < 1e-6
