"""genforge's RL-tune terms (rl/objectives.py, rl/kl_control.py) against values TRL's own code computed on one
fixed batch (tests/golden/rl_trl.json, made by tests/golden/make_rl_goldens.py with TRL 1.16.0 for GRPO/RLOO
and TRL 0.11.4, the last with the Ziegler-style PPOTrainer, for PPO and the adaptive KL controller)."""

import json
from pathlib import Path

import pytest
import torch

from genforge.rl.kl_control import adaptive_kl_coef
from genforge.rl.objectives import (
    gae_tokens,
    grpo_advantages,
    grpo_loss,
    k3_kl,
    masked_mean,
    masked_whiten,
    ppo_token_losses,
    ppo_token_rewards,
    rloo_advantages,
    rloo_loss,
    token_log_probs,
)

GOLDEN = json.loads((Path(__file__).parents[1] / "golden" / "rl_trl.json").read_text())
TOL = {"atol": 1e-6, "rtol": 0}
S = GOLDEN["settings"]
# TRL's GRPO loss_type -> genforge's grpo_norm (dapo on one device without accumulation is bnpo)
GRPO_NORMS = {"grpo": "sequence", "bnpo": "token", "dapo": "token", "dr_grpo": "constant"}


def t(name):
    return torch.tensor(GOLDEN[name], dtype=torch.float64)


@pytest.fixture
def x():
    out = {k: torch.tensor(v, dtype=torch.float64) for k, v in GOLDEN["inputs"].items() if k != "targets"}
    out["targets"] = torch.tensor(GOLDEN["inputs"]["targets"])
    return out


def close(actual, expected):
    torch.testing.assert_close(
        torch.as_tensor(actual, dtype=torch.float64), torch.as_tensor(expected, dtype=torch.float64), **TOL
    )


def test_token_log_probs_and_entropies_match_trl(x):
    log_prob, entropy = token_log_probs(x["logits"], x["targets"])
    close(log_prob, t("token_log_prob"))
    close(entropy, t("token_entropy"))


def test_grpo_advantages_match_trl_scaled_and_unscaled(x):
    rewards = x["rewards"].view(GOLDEN["groups"], GOLDEN["k"])
    close(grpo_advantages(rewards).reshape(-1), t("grpo_advantages"))
    close(grpo_advantages(rewards, scale=False).reshape(-1), t("grpo_advantages_unscaled"))


@pytest.mark.parametrize("loss_type", sorted(GRPO_NORMS))
def test_grpo_loss_and_its_gradient_match_trl(x, loss_type):
    log_prob = x["log_prob"].clone().requires_grad_(True)
    loss = grpo_loss(log_prob, x["old_log_prob"], x["ref_log_prob"], t("grpo_advantages"), x["mask"],
                     S["clip_range"], S["kl_coef"], GRPO_NORMS[loss_type])  # fmt: skip
    (grad,) = torch.autograd.grad(loss, log_prob)
    expected = GOLDEN[f"grpo_loss_{loss_type}"]
    close(loss.detach(), expected["loss"])
    close(grad, expected["grad"])
    assert torch.count_nonzero(grad * (1 - x["mask"])) == 0  # tokens after the end get no gradient


def test_k3_kl_matches_what_trl_logs(x):
    close(masked_mean(k3_kl(x["log_prob"], x["ref_log_prob"]), x["mask"]), GOLDEN["grpo_logged_k3_kl"])


def test_rloo_advantages_and_on_policy_gradient_match_trl(x):
    kl = (x["old_log_prob"] - x["ref_log_prob"]) * x["mask"]
    scores = x["rewards"] - S["kl_coef"] * kl.sum(-1)
    close(scores, t("rloo_scores"))
    advantages = rloo_advantages(scores.view(GOLDEN["groups"], GOLDEN["k"])).reshape(-1)
    close(advantages, t("rloo_advantages"))
    log_prob = x["log_prob"].clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(rloo_loss(log_prob, x["mask"], advantages), log_prob)
    # TRL's loss is the clipped ratio of sequence probabilities; at ratio 1 (one step per batch, as genforge
    # and TRL's default num_iterations=1) its value is -mean(A) and its gradient is REINFORCE's
    close(grad, GOLDEN["rloo_loss"]["grad"])
    close(-advantages.mean(), GOLDEN["rloo_loss"]["loss"])


def test_ppo_token_rewards_gae_and_whitening_match_trl_ppo_trainer(x):
    mask = x["mask"]
    kl = (x["old_log_prob"] - x["ref_log_prob"]) * mask
    rewards = ppo_token_rewards(x["rewards"], kl, mask, S["kl_coef"])
    close(rewards * mask, t("ppo_token_rewards") * mask)  # TRL leaves -beta*KL past the end; GAE masks it
    advantages, returns = gae_tokens(rewards * mask, x["values"] * mask, mask, S["gamma"], S["lam"])
    close(returns, t("ppo_returns") * mask)
    close(masked_whiten(advantages, mask) * mask, t("ppo_advantages") * mask)
    close(masked_whiten(x["values"], mask), t("masked_whiten_values"))


def test_ppo_policy_and_value_losses_and_entropy_match_trl_ppo_trainer(x):
    mask = x["mask"]
    policy, value, fraction = ppo_token_losses(
        x["log_prob"], x["old_log_prob"], t("ppo_advantages"), x["new_values"], x["values"] * mask,
        t("ppo_returns"), mask, S["clip_range"], S["value_clip"],
    )  # fmt: skip
    close(policy, GOLDEN["ppo_policy_loss"])
    close(value, GOLDEN["ppo_value_loss"])
    _, entropy = token_log_probs(x["logits"], x["targets"])
    close(masked_mean(entropy, mask), GOLDEN["ppo_entropy"])
    # the clip fraction is defined differently (docs/rl.md): genforge counts ratios outside [1 - eps, 1 + eps]
    # like SB3, TRL only those where the clipped term is the larger loss, so TRL's is never above genforge's
    assert float(fraction) >= GOLDEN["ppo_clipfrac"]


def test_the_adaptive_kl_coefficient_follows_trl_adaptive_kl_controller():
    a = GOLDEN["adaptive"]
    coef, coefs = a["init"], []
    for kl in a["kls"]:
        coef = adaptive_kl_coef(coef, kl, a["target"], a["samples"], a["horizon"])
        coefs.append(coef)
    close(coefs, GOLDEN["adaptive_kl_coefs"])
