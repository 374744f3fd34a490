"""Produce tests/golden/rl_trl.json: RL-tuning loss terms computed by TRL's own code on one fixed batch.

    python3.11 -m venv /work/venv-trl && /work/venv-trl/bin/pip install torch==2.13.0 trl   # trl 1.16.0
    /work/venv-trl/bin/pip install --no-deps --target /work/trl-0.11 trl==0.11.4 tyro docstring-parser \\
        shtab typeguard                                                     # the last TRL with PPOTrainer
    /work/venv-trl/bin/python tests/golden/make_rl_goldens.py --legacy-trl /work/trl-0.11

Nothing here is genforge code. The batch (2 prompt groups x 4 completions, 6 generated tokens of a
9-token vocabulary, completions of different lengths, float64) is drawn from ``torch.manual_seed(20)``
and stored beside the values. What TRL computes, and how:

- TRL 1.16 (``trl.trainer``): ``utils.selective_log_softmax`` and ``utils.entropy_from_logits`` on the
  logits; ``GRPOTrainer._compute_loss`` and ``RLOOTrainer._compute_loss``, TRL's own methods, called on a
  stand-in trainer object that carries the settings they read and returns the stored per-token log-probs
  from ``_get_per_token_logps_and_entropies`` — the loss value and its gradient with respect to those
  log-probs (``torch.autograd``), for GRPO's ``loss_type`` grpo, bnpo, dapo and dr_grpo with ``beta`` = the
  KL weight, and the k3 KL TRL logs. The group advantages are written inside TRL's
  ``_generate_and_score_completions`` (not callable on its own): they are restated below from that
  method's lines with TRL's exposed ``utils.nanstd`` (GRPO: ``(R - group mean) / (nanstd + 1e-4)``;
  RLOO: ``R - beta sum_t (logp - ref)`` minus the mean of the other k - 1 of the group).
- TRL 0.11.4 (run in a subprocess with ``--legacy-trl``; later versions dropped this trainer):
  ``PPOTrainer.compute_rewards``, ``compute_advantages`` and ``loss`` called on a stand-in with a real
  ``PPOConfig`` and ``FixedKLController``, ``core.masked_whiten``, and ``trainer.utils.AdaptiveKLController``
  updated over a fixed sequence of measured KLs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace

import torch

HERE = Path(__file__).resolve().parent
OUT = HERE / "rl_trl.json"
GROUPS, K, T, V = 2, 4, 6, 9
SETTINGS = {"kl_coef": 0.1, "clip_range": 0.2, "value_clip": 0.2, "vf_coef": 0.1, "gamma": 1.0, "lam": 0.95}
ADAPTIVE = {"init": 0.05, "target": 6.0, "horizon": 160.0, "samples": 16,
            "kls": [0.0, 1.5, 4.0, 6.0, 6.9, 7.5, 12.0, 40.0, 9.0, 5.0, 2.0, 0.3]}  # fmt: skip


def make_inputs() -> dict:
    torch.manual_seed(20)
    b = GROUPS * K
    lengths = torch.tensor([6, 3, 5, 1, 6, 4, 2, 6])
    mask = (torch.arange(T)[None, :] < lengths[:, None]).double()
    log_prob = -torch.rand(b, T, dtype=torch.float64) * 3
    return {
        "logits": (torch.randn(b, T, V, dtype=torch.float64) * 2).tolist(),
        "targets": torch.randint(0, V, (b, T)).tolist(),
        "mask": mask.tolist(),
        "log_prob": log_prob.tolist(),
        "old_log_prob": (log_prob + 0.3 * torch.randn(b, T, dtype=torch.float64)).tolist(),
        "ref_log_prob": (log_prob + 0.5 * torch.randn(b, T, dtype=torch.float64)).tolist(),
        "rewards": torch.randn(b, dtype=torch.float64).tolist(),
        "values": (0.5 * torch.randn(b, T, dtype=torch.float64)).tolist(),
        "new_values": (0.5 * torch.randn(b, T, dtype=torch.float64)).tolist(),
    }


def tensors(inputs: dict) -> dict:
    out = {k: torch.tensor(v, dtype=torch.float64) for k, v in inputs.items() if k != "targets"}
    out["targets"] = torch.tensor(inputs["targets"])
    return out


def _trainer_stub(per_token_logps: torch.Tensor, **attributes) -> SimpleNamespace:
    """What GRPOTrainer/RLOOTrainer._compute_loss read from ``self`` (one process, no accumulation)."""
    from accelerate import Accelerator

    return SimpleNamespace(
        _get_per_token_logps_and_entropies=lambda *a, **k: (per_token_logps, torch.zeros_like(per_token_logps), None),
        aux_loss_enabled=False, top_entropy_quantile=1.0, off_policy_mask_threshold=None,
        importance_sampling_level="token", use_vllm=False, _entropy_bonus_enabled=False,
        model=SimpleNamespace(training=True), current_gradient_accumulation_steps=1, max_completion_length=T,
        accelerator=Accelerator(cpu=True), _metrics=defaultdict(lambda: defaultdict(list)),
        args=SimpleNamespace(use_bias_correction_kl=False, delta=None, steps_per_generation=1),
        epsilon_low=SETTINGS["clip_range"], epsilon_high=SETTINGS["clip_range"], **attributes,
    )  # fmt: skip


def _batch_inputs(x: dict, **extra) -> dict:
    b = x["mask"].shape[0]
    return {"prompt_ids": torch.zeros(b, 1, dtype=torch.long), "prompt_mask": torch.ones(b, 1),
            "completion_ids": x["targets"], "completion_mask": x["mask"], **extra}  # fmt: skip


def current_trl(inputs: dict) -> dict:
    import trl
    from trl.trainer.grpo_trainer import GRPOTrainer
    from trl.trainer.rloo_trainer import RLOOTrainer
    from trl.trainer.utils import entropy_from_logits, nanstd, selective_log_softmax

    x = tensors(inputs)
    beta, mask = SETTINGS["kl_coef"], x["mask"]
    out: dict = {"trl_version": trl.__version__, "torch_version": torch.__version__}
    out["token_log_prob"] = selective_log_softmax(x["logits"], x["targets"]).tolist()
    out["token_entropy"] = entropy_from_logits(x["logits"]).tolist()
    # GRPO advantages (GRPOTrainer._generate_and_score_completions, scale_rewards="group" and "none")
    grouped = x["rewards"].view(-1, K)
    centred = x["rewards"] - grouped.nanmean(1).repeat_interleave(K)
    std = nanstd(grouped, dim=1).repeat_interleave(K)
    out["grpo_advantages"] = (centred / (std + 1e-4)).tolist()
    out["grpo_advantages_unscaled"] = centred.tolist()
    advantages = centred / (std + 1e-4)
    for loss_type in ("grpo", "bnpo", "dapo", "dr_grpo"):
        log_prob = x["log_prob"].clone().requires_grad_(True)
        stub = _trainer_stub(log_prob, beta=beta, loss_type=loss_type)
        batch = _batch_inputs(x, advantages=advantages, old_per_token_logps=x["old_log_prob"],
                              ref_per_token_logps=x["ref_log_prob"], num_items_in_batch=mask.sum())  # fmt: skip
        loss = GRPOTrainer._compute_loss(stub, None, batch)
        (grad,) = torch.autograd.grad(loss, log_prob)
        out[f"grpo_loss_{loss_type}"] = {"loss": float(loss), "grad": grad.tolist()}
        out["grpo_logged_k3_kl"] = stub._metrics["train"]["kl"][0]
    # RLOO advantages (RLOOTrainer._generate_and_score_completions, normalize_advantages=False)
    scores = x["rewards"] - beta * ((x["old_log_prob"] - x["ref_log_prob"]) * mask).sum(-1)
    grouped = scores.view(-1, K)
    baseline = ((grouped.nansum(1, keepdim=True) - grouped) / (K - 1)).view(-1)
    rloo_advantages = scores - baseline
    out["rloo_scores"] = scores.tolist()
    out["rloo_advantages"] = rloo_advantages.tolist()
    log_prob = x["log_prob"].clone().requires_grad_(True)  # on-policy: old_logps are the current ones
    stub = _trainer_stub(log_prob)
    batch = _batch_inputs(x, advantages=rloo_advantages, old_logps=(x["log_prob"] * mask).sum(-1))
    loss = RLOOTrainer._compute_loss(stub, None, batch)
    (grad,) = torch.autograd.grad(loss, log_prob)
    out["rloo_loss"] = {"loss": float(loss), "grad": grad.tolist()}
    return out


def legacy_trl(inputs: dict) -> dict:
    import trl
    from trl.core import masked_whiten
    from trl.trainer.ppo_config import PPOConfig
    from trl.trainer.ppo_trainer import PPOTrainer
    from trl.trainer.utils import AdaptiveKLController, FixedKLController

    x = tensors(inputs)
    mask = x["mask"]
    config = PPOConfig(gamma=SETTINGS["gamma"], lam=SETTINGS["lam"], cliprange=SETTINGS["clip_range"],
                       cliprange_value=SETTINGS["value_clip"], vf_coef=SETTINGS["vf_coef"], kl_penalty="kl",
                       whiten_rewards=False)  # fmt: skip
    stub = SimpleNamespace(config=config, kl_ctl=FixedKLController(SETTINGS["kl_coef"]))
    stub._kl_penalty = lambda logprob, ref: PPOTrainer._kl_penalty(stub, logprob, ref)
    out: dict = {"legacy_trl_version": trl.__version__}
    rewards, _, kls = PPOTrainer.compute_rewards(
        stub, x["rewards"], x["old_log_prob"], x["ref_log_prob"], mask
    )
    out["ppo_token_rewards"] = rewards.tolist()
    values, advantages, returns = PPOTrainer.compute_advantages(stub, x["values"], rewards, mask)
    out["ppo_advantages"] = advantages.tolist()
    out["ppo_returns"] = returns.tolist()
    pg_loss, vf_loss, stats = PPOTrainer.loss(stub, x["old_log_prob"], values, x["logits"], x["new_values"],
                                              x["log_prob"], mask, advantages, returns)  # fmt: skip
    out["ppo_policy_loss"] = float(pg_loss)
    out["ppo_value_loss"] = float(vf_loss) / SETTINGS["vf_coef"]  # TRL returns it times vf_coef
    out["ppo_clipfrac"] = float(stats["policy/clipfrac"])
    out["ppo_entropy"] = float(stats["policy/entropy"])
    out["masked_whiten_values"] = masked_whiten(x["values"], mask).tolist()
    controller = AdaptiveKLController(ADAPTIVE["init"], ADAPTIVE["target"], ADAPTIVE["horizon"])
    coefs = []
    for kl in ADAPTIVE["kls"]:
        controller.update(kl, ADAPTIVE["samples"])
        coefs.append(float(controller.value))
    out["adaptive_kl_coefs"] = coefs
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--legacy-trl", help="folder holding trl 0.11.4 (pip install --target)")
    parser.add_argument("--part", choices=["legacy"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part == "legacy":
        print(json.dumps(legacy_trl(json.loads(sys.stdin.read()))))
        return
    if not args.legacy_trl:
        parser.error("--legacy-trl FOLDER is needed for the PPO terms (trl 0.11.4, see the docstring)")
    inputs = make_inputs()
    golden = {"inputs": inputs, "settings": SETTINGS, "adaptive": ADAPTIVE, "groups": GROUPS, "k": K}
    golden.update(current_trl(inputs))
    env = {**os.environ, "PYTHONPATH": args.legacy_trl}
    done = subprocess.run([sys.executable, __file__, "--part", "legacy"], input=json.dumps(inputs), env=env,
                          capture_output=True, text=True, check=True)  # fmt: skip
    golden.update(json.loads(done.stdout))
    OUT.write_text(json.dumps(golden, indent=1) + "\n")
    print(f"wrote {OUT} (trl {golden['trl_version']} and {golden['legacy_trl_version']})")


if __name__ == "__main__":
    main()
