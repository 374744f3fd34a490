"""RL-tuning a GPT toward a reward with a per-token KL penalty to a frozen reference copy.

Each step samples ``samples_per_prompt`` completions (temperature 1, the policy itself) for each of
``prompts_per_step`` prompts, scores them with a reward ``texts -> floats`` and takes one update:

- ``rloo`` — REINFORCE with the leave-one-out baseline (Ahmadian et al. 2024, "Back to Basics"): the
  sequence score is ``R - kl_coef * sum_t KL_t`` and its advantage ``score_i - mean_{j != i} score_j``
  over the group of one prompt; loss ``-A_i * sum_t log pi(y_t)``.
- ``grpo`` — group-relative policy optimisation (Shao et al. 2024, DeepSeekMath eq. 3): advantage
  ``(R_i - mean R) / (std R + eps)`` on every token, loss per token ``-A ratio`` (clipped) plus
  ``kl_coef`` times the k3 estimator ``exp(ref - logp) - (ref - logp) - 1``, averaged per sequence.
- ``ppo`` — PPO with a value head on the GPT's final hidden states (Ziegler et al. 2019; Ouyang et al.
  2022): per-token reward ``-kl_coef * KL_t`` plus ``R`` on the last token, GAE, whitened advantages,
  ``ppo_epochs`` passes of the clipped objective with a clipped value loss.

With ``kl_target`` set, ``kl_coef`` is only the start: :mod:`genforge.rl.kl_control` adapts it after each update.
``KL_t = log pi(y_t) - log ref(y_t)`` on the sampled tokens (the k1 estimator, unbiased for the sequence
KL; a batch mean more than two standard errors below zero is warned about). A step whose samples are all
identical is a collapse warning. The loop has its own checkpoints like :mod:`genforge.rl.learner`: the
policy, value head, Adam state and the one ``torch.Generator`` that all sampling draws from, so a run
interrupted with Ctrl-C/SIGTERM and resumed ends bit-for-bit equal to an uninterrupted one. A KL above
``max_kl`` stops the run and sets aside checkpoints of the offending weights; a task reward without
variance for ``constant_reward_steps`` steps stops it too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from pydantic import Field
from torch import nn

from genforge.core.config import Config
from genforge.core.errors import CheckpointError, ConfigError
from genforge.core.io import flatten_state, unflatten_state
from genforge.core.runs import Run
from genforge.core.seed import make_generator, torch_rng_stream
from genforge.rl.kl_control import adaptive_kl_coef
from genforge.rl.objectives import (
    ValueHead,
    gae_tokens,
    grpo_advantages,
    grpo_loss,
    masked_mean,
    masked_whiten,
    ppo_token_losses,
    ppo_token_rewards,
    rloo_advantages,
    rloo_loss,
    token_log_probs,
)
from genforge.rl.rewards import RewardFn, checked_rewards
from genforge.trainer.signals import StopSignals

ProgressFn = Callable[[dict[str, Any]], None]


class TuneConfig(Config):
    algo: Literal["rloo", "grpo", "ppo"] = Field("rloo", description="rloo, grpo or ppo")
    kl_coef: float = Field(0.05, ge=0.0, description="weight of the per-token KL penalty to the reference")
    kl_target: float | None = Field(
        None, gt=0.0, description="adapt kl_coef toward this mean sequence KL in nats (None = fixed kl_coef)"
    )
    kl_horizon: float = Field(160.0, gt=0.0, description="samples over which the adaptive kl_coef moves")
    max_steps: int = Field(100, ge=1, le=1_000_000, description="updates to run")
    prompts: list[str] = Field(default_factory=lambda: [""], min_length=1, description="prompts, cycled")
    prompts_per_step: int = Field(2, ge=1, le=256, description="prompt groups per update")
    samples_per_prompt: int = Field(8, ge=2, le=256, description="completions per prompt (the group, k)")
    max_new_tokens: int = Field(32, ge=1, le=4096, description="tokens generated per completion")
    lr: float = Field(1e-4, gt=0.0, description="Adam learning rate")
    max_grad_norm: float = Field(1.0, ge=0.0, description="clip the global gradient norm (0 = off)")
    clip_range: float = Field(0.2, gt=0.0, description="ratio clip epsilon (grpo, ppo)")
    grpo_norm: Literal["sequence", "token", "constant"] = Field(
        "sequence",
        description="grpo loss average: per sequence (TRL grpo), per token (bnpo), constant (dr_grpo)",
    )
    grpo_scale_rewards: bool = Field(True, description="grpo: divide advantages by the group's reward std")
    ppo_epochs: int = Field(4, ge=1, le=100, description="passes over each batch (ppo)")
    value_clip: float = Field(0.2, ge=0.0, description="value clip around the old values (ppo, 0 = off)")
    vf_coef: float = Field(0.1, ge=0.0, description="value loss weight (ppo)")
    gamma: float = Field(1.0, ge=0.0, le=1.0, description="discount over tokens (ppo)")
    gae_lambda: float = Field(0.95, ge=0.0, le=1.0, description="GAE lambda (ppo)")
    max_kl: float = Field(50.0, gt=0.0, description="stop when the mean sequence KL exceeds this (nats)")
    constant_reward_steps: int = Field(
        20, ge=1, description="stop after this many steps in a row whose rewards all equal each other"
    )
    checkpoint_every: int = Field(10, ge=1, description="checkpoint every this many updates")
    log_samples: int = Field(2, ge=0, le=64, description="sample texts logged per step")
    eval_samples: int = Field(
        128, ge=1, le=100_000, description="fresh completions scored for eval.json at the end"
    )


@dataclass
class TuneResult:
    run: Run
    status: str  # completed | time_budget | interrupted | kl_exploded | constant_reward
    steps: int
    elapsed_s: float
    message: str = ""
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    evaluation: dict[str, Any] | None = None
    reward: str = ""


@dataclass
class Batch:
    """One group's sampled completions: ``tokens`` (k, P + T) with the prompt, ``mask`` (k, T) of
    generated tokens up to and including end-of-text, and their texts."""

    tokens: torch.Tensor
    prompt_length: int
    mask: torch.Tensor
    texts: list[str]


class Tuner:
    """RL-tunes ``policy`` (a GPT, in eval mode: no dropout) against the frozen ``reference`` copy.

    ``encode(prompt)`` gives prompt ids (starting with end-of-text), ``decode(ids)`` the completion text;
    ``reward(texts)`` scores completions. Records go to ``run``'s ``metrics.jsonl``; checkpoints hold the
    policy as ``model.*`` so ``genforge sample``/``generate`` read the run like any GPT run."""

    def __init__(
        self,
        config: TuneConfig,
        run: Run,
        policy: nn.Module,
        reference: nn.Module,
        encode: Callable[[str], list[int]],
        decode: Callable[[Sequence[int]], str],
        reward: RewardFn,
        eot_id: int,
        seed: int,
        reward_name: str = "reward",
    ) -> None:
        self.config, self.run, self.seed = config, run, seed
        self.policy, self.reference = policy.eval(), reference.eval()
        for p in self.reference.parameters():
            p.requires_grad_(False)
        self.encode, self.decode, self.reward, self.eot_id = encode, decode, reward, eot_id
        self.reward_name = reward_name
        self.prompt_ids = [encode(p) for p in config.prompts]
        context = getattr(policy, "context_length", None)
        longest = max(len(p) for p in self.prompt_ids) + config.max_new_tokens
        if context is not None and longest > context:
            raise ConfigError(
                f"a prompt plus max_new_tokens is {longest} tokens, over the model's context of {context}: "
                "shorten the prompts or lower max_new_tokens"
            )
        with torch_rng_stream(seed=seed):
            self.value_head = ValueHead(policy.token_embedding.weight.shape[1])
        params = list(policy.parameters()) + (
            list(self.value_head.parameters()) if config.algo == "ppo" else []
        )
        self.optimizer = torch.optim.Adam(params, lr=config.lr)
        self.generator = make_generator(seed + 1)
        if config.kl_target is not None and config.kl_coef <= 0:
            raise ConfigError("an adaptive KL (kl_target) needs a starting kl_coef above 0, e.g. --kl 0.05")
        self.kl_coef = config.kl_coef  # moved by the controller after each update when kl_target is set
        self.steps = 0
        self.notes: list[str] = []
        self.constant_steps = 0
        self.elapsed_before = 0.0

    # -- sampling and scoring -------------------------------------------------------------------------
    @torch.no_grad()
    def sample_group(
        self,
        prompt_ids: list[int],
        k: int,
        model: nn.Module | None = None,
        generator: torch.Generator | None = None,
    ) -> Batch:
        """``k`` completions of one prompt at temperature 1 from ``model`` (the policy), drawn from
        ``generator`` (the tuner's)."""
        steps = self.config.max_new_tokens
        model = model or self.policy
        generator = generator or self.generator
        prompt = torch.tensor(prompt_ids).repeat(k, 1)
        state = model.init_state(k, len(prompt_ids) + steps)
        logits, state = model.advance(prompt, state)
        out = torch.zeros(k, steps, dtype=torch.long)
        alive = torch.ones(k, dtype=torch.bool)
        mask = torch.zeros(k, steps)
        for t in range(steps):
            probs = logits.float().softmax(-1)
            token = torch.multinomial(probs, 1, generator=generator).squeeze(-1)
            token = torch.where(alive, token, torch.full_like(token, self.eot_id))
            out[:, t], mask[:, t] = token, alive.float()
            alive = alive & (token != self.eot_id)
            if not alive.any() or t == steps - 1:
                break
            logits, state = model.advance(token[:, None], state)
        texts = []
        for row in out.tolist():
            end = row.index(self.eot_id) if self.eot_id in row else len(row)
            texts.append(self.decode(row[:end]))
        return Batch(torch.cat([prompt, out], 1), len(prompt_ids), mask, texts)

    def _token_log_probs(self, model: nn.Module, batch: Batch, values: bool = False):
        """Log-probs (k, T) of the generated tokens, entropies (k, T), and values (k, T) when asked."""
        hidden = model.hidden_states(batch.tokens[:, :-1])[:, batch.prompt_length - 1 :]
        log_prob, entropy = token_log_probs(model.project(hidden), batch.tokens[:, batch.prompt_length :])
        return log_prob, entropy, (self.value_head(hidden) if values else None)

    @torch.no_grad()
    def evaluate(self, samples: int, seed: int) -> dict[str, Any]:
        """Mean reward of ``samples`` fresh completions of the reference and of the policy (the prompts
        cycled, a generator seeded with ``seed``), and the policy's mean sequence KL to the reference."""
        cfg = self.config
        out: dict[str, Any] = {"samples": samples, "seed": seed}
        for name, model in (("reference", self.reference), ("tuned", self.policy)):
            generator = make_generator(seed)
            rewards, kls = [], []
            for g in range(-(-samples // cfg.samples_per_prompt)):
                prompt = self.prompt_ids[g % len(self.prompt_ids)]
                batch = self.sample_group(prompt, cfg.samples_per_prompt, model, generator)
                rewards += checked_rewards(self.reward(batch.texts), self.reward_name)
                if model is self.policy:  # KL(policy || reference) on the policy's own samples
                    log_prob, _, _ = self._token_log_probs(self.policy, batch)
                    ref_log_prob, _, _ = self._token_log_probs(self.reference, batch)
                    kls += ((log_prob - ref_log_prob) * batch.mask).sum(1).tolist()
            out[f"{name}_reward"] = sum(rewards[:samples]) / samples
        out["kl"] = sum(kls[:samples]) / samples
        out["reward_gain"] = out["tuned_reward"] - out["reference_reward"]
        return out

    # -- one update -------------------------------------------------------------------------------------
    def step(self) -> dict[str, Any]:
        cfg = self.config
        groups = []
        for g in range(cfg.prompts_per_step):
            prompt = self.prompt_ids[(self.steps * cfg.prompts_per_step + g) % len(self.prompt_ids)]
            batch = self.sample_group(prompt, cfg.samples_per_prompt)
            rewards = torch.tensor(checked_rewards(self.reward(batch.texts), self.reward_name))
            with torch.no_grad():
                old_log_prob, _, old_values = self._token_log_probs(self.policy, batch, cfg.algo == "ppo")
                ref_log_prob, _, _ = self._token_log_probs(self.reference, batch)
            kl = (old_log_prob - ref_log_prob) * batch.mask
            groups.append(
                {"batch": batch, "rewards": rewards, "old": old_log_prob, "ref": ref_log_prob, "kl": kl,
                 "old_values": old_values}
            )  # fmt: skip
        rewards = torch.cat([g["rewards"] for g in groups])
        kl_seq = torch.cat([g["kl"].sum(1) for g in groups])
        texts = [t for g in groups for t in g["batch"].texts]
        record: dict[str, Any] = {
            "reward": float(rewards.mean()),
            "reward_std": float(rewards.std()) if len(rewards) > 1 else 0.0,
            "reward_min": float(rewards.min()),
            "reward_max": float(rewards.max()),
            "kl": float(kl_seq.mean()),
            "length": float(torch.cat([g["batch"].mask.sum(1) for g in groups]).mean()),
            "distinct": len(set(texts)) / len(texts),
        }
        if record["kl"] > cfg.max_kl:
            return {**record, "stop": "kl_exploded"}
        terms = self._ppo(groups) if cfg.algo == "ppo" else self._policy_gradient(groups)
        record.update(terms)
        record["kl_coef"] = self.kl_coef  # the coefficient this update used
        if cfg.kl_target is not None:
            self.kl_coef = adaptive_kl_coef(
                self.kl_coef, record["kl"], cfg.kl_target, len(kl_seq), cfg.kl_horizon
            )
        warnings = []
        # the k1 estimate is noisy near 0; a mean more than two standard errors below 0 is not noise
        kl_error = float(kl_seq.std() / len(kl_seq) ** 0.5) if len(kl_seq) > 1 else 0.0
        if record["kl"] < min(-1e-3, -2 * kl_error):
            warnings.append(
                f"negative KL estimate {record['kl']:.4f} (standard error {kl_error:.4f}): the samples do not "
                "come from the policy, or the reference is not the model the run started from"
            )
        if len(set(texts)) == 1:
            warnings.append("collapse: every sample of this step is the same text")
        record["warnings"] = warnings
        record["samples"] = texts[: cfg.log_samples]
        self.constant_steps = self.constant_steps + 1 if float(rewards.max() - rewards.min()) == 0 else 0
        return record

    def _clip(self) -> None:
        cfg = self.config
        if cfg.max_grad_norm > 0:
            params = [p for group in self.optimizer.param_groups for p in group["params"]]
            torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)

    def _policy_gradient(self, groups: list[dict[str, Any]]) -> dict[str, float]:
        """One on-policy gradient step of RLOO or GRPO over all groups."""
        cfg = self.config
        self.optimizer.zero_grad(set_to_none=True)
        loss_sum, entropy_sum = 0.0, 0.0
        for g in groups:
            batch = g["batch"]
            log_prob, entropy, _ = self._token_log_probs(self.policy, batch)
            if cfg.algo == "rloo":
                loss = rloo_loss(
                    log_prob, batch.mask, rloo_advantages(g["rewards"] - self.kl_coef * g["kl"].sum(1))
                )
            else:
                advantages = grpo_advantages(g["rewards"], scale=cfg.grpo_scale_rewards)
                loss = grpo_loss(log_prob, g["old"], g["ref"], advantages, batch.mask, cfg.clip_range, self.kl_coef,
                                 cfg.grpo_norm)  # fmt: skip
            (loss / len(groups)).backward()
            loss_sum += float(loss.detach())
            entropy_sum += float(masked_mean(entropy.detach(), batch.mask))
        self._clip()
        self.optimizer.step()
        return {"loss": loss_sum / len(groups), "entropy": entropy_sum / len(groups)}

    def _ppo(self, groups: list[dict[str, Any]]) -> dict[str, float]:
        """``ppo_epochs`` passes of clipped PPO over the groups (one group per minibatch, order drawn
        from the tuner's generator)."""
        cfg = self.config
        all_advantages = []
        for g in groups:
            mask = g["batch"].mask
            rewards = ppo_token_rewards(g["rewards"], g["kl"], mask, self.kl_coef)
            advantages, returns = gae_tokens(rewards, g["old_values"] * mask, mask, cfg.gamma, cfg.gae_lambda)
            g["returns"] = returns
            all_advantages.append(advantages)
        # whitened over every generated token of the update (TRL's masked_whiten)
        whitened = masked_whiten(torch.cat(all_advantages), torch.cat([g["batch"].mask for g in groups]))
        for g, advantages in zip(groups, whitened.split([len(a) for a in all_advantages]), strict=True):
            g["advantages"] = advantages
        sums = {"loss": 0.0, "policy_loss": 0.0, "value_loss": 0.0, "clip_fraction": 0.0, "entropy": 0.0}
        count = 0
        for _ in range(cfg.ppo_epochs):
            for index in torch.randperm(len(groups), generator=self.generator).tolist():
                g = groups[index]
                batch = g["batch"]
                log_prob, entropy, values = self._token_log_probs(self.policy, batch, values=True)
                policy, value, fraction = ppo_token_losses(
                    log_prob, g["old"], g["advantages"], values, g["old_values"], g["returns"], batch.mask,
                    cfg.clip_range, cfg.value_clip,
                )  # fmt: skip
                loss = policy + cfg.vf_coef * value
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self._clip()
                self.optimizer.step()
                for key, v in (("loss", loss), ("policy_loss", policy), ("value_loss", value),
                               ("clip_fraction", fraction), ("entropy", masked_mean(entropy, batch.mask))):  # fmt: skip
                    sums[key] += float(v.detach())
                count += 1
        return {k: v / count for k, v in sums.items()}

    # -- checkpoints ----------------------------------------------------------------------------------
    def save(self, status: str, elapsed: float) -> None:
        tensors = {f"model.{k}": v for k, v in self.policy.state_dict().items()}
        tensors.update({f"value_head.{k}": v for k, v in self.value_head.state_dict().items()})
        opt_tensors, skeleton = flatten_state(self.optimizer.state_dict(), "optim")
        tensors.update(opt_tensors)
        tensors["rng.generator"] = self.generator.get_state()
        meta = {
            "status": status,
            "updates": self.steps,
            "elapsed_s": elapsed,
            "optimizer": skeleton,
            "constant_steps": self.constant_steps,
            "kl_coef": self.kl_coef,
        }
        self.run.save_checkpoint(self.steps, tensors, meta)

    def load(self) -> list[str]:
        checkpoint = self.run.load_checkpoint()
        meta, tensors = checkpoint.meta, checkpoint.tensors
        try:
            self.policy.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
            self.value_head.load_state_dict(
                {k[11:]: v for k, v in tensors.items() if k.startswith("value_head.")}
            )
            self.optimizer.load_state_dict(unflatten_state(meta["optimizer"], tensors))
            self.generator.set_state(tensors["rng.generator"])
            self.steps = int(meta["updates"])
            self.constant_steps = int(meta["constant_steps"])
            self.kl_coef = float(meta.get("kl_coef", self.config.kl_coef))
        except (KeyError, RuntimeError, ValueError, TypeError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise CheckpointError(f"checkpoint of {self.run.path} does not fit this tuner: {first}") from None
        self.elapsed_before = float(meta.get("elapsed_s", 0.0))
        return checkpoint.notes

    # -- the loop ---------------------------------------------------------------------------------------
    def fit(self, max_minutes: float | None = None, progress: ProgressFn | None = None) -> TuneResult:
        """Run updates to ``max_steps`` (or ``max_minutes`` of this session, a stop signal, exploding KL
        or a constant reward); checkpoint every ``checkpoint_every`` updates and at the end."""
        cfg = self.config
        start = time.perf_counter()
        status, message, warnings = "completed", "", []
        self.run.drop_metrics_after(self.steps)
        with StopSignals() as stop:
            if self.steps == 0 and not self.run.checkpoint_steps():
                self.save("running", 0.0)
            while self.steps < cfg.max_steps:
                if stop.received:
                    status = "interrupted"
                    break
                if max_minutes is not None and time.perf_counter() - start >= max_minutes * 60:
                    status = "time_budget"
                    break
                record = self.step()
                if record.get("stop") == "kl_exploded":
                    status = "kl_exploded"
                    message = (
                        f"the mean sequence KL reached {record['kl']:.2f} nats (max_kl {cfg.max_kl}) at "
                        f"update {self.steps + 1}: stopped; the run keeps the checkpoint before it "
                        "(lower lr or raise kl_coef)"
                    )
                    self.run.set_aside_checkpoints_after(max(0, self.steps - 1))
                    elapsed = self._elapsed(start)
                    return TuneResult(
                        self.run, status, self.steps, elapsed, message, warnings, reward=self.reward_name
                    )
                self.steps += 1
                record = {"step": self.steps, "split": "train", **record}
                self.run.log([record])
                warnings.extend(f"update {self.steps}: {w}" for w in record["warnings"])
                if progress:
                    progress({**record, "total_steps": cfg.max_steps})
                if self.constant_steps >= cfg.constant_reward_steps:
                    status = "constant_reward"
                    message = (
                        f"every sample got the same reward ({record['reward']:.4g}) for {self.constant_steps} "
                        "updates in a row: no signal left to learn from; stopped"
                    )
                    break
                if self.steps % cfg.checkpoint_every == 0:
                    self.save("running", self._elapsed(start))
            elapsed = self._elapsed(start)
            self.save(status, elapsed)
        return TuneResult(self.run, status, self.steps, elapsed, message, warnings, reward=self.reward_name)

    def _elapsed(self, start: float) -> float:
        return self.elapsed_before + time.perf_counter() - start
