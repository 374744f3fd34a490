"""One trainer for every family.

The trainer owns the loop: deterministic batching, optimizer steps (or the family's own ``train_step``
for multi-optimizer families), learning-rate schedules, gradient clipping, EMA, validation and early
stopping, step/time budgets, NaN detection, periodic samples and atomic checkpoints, Ctrl-C handling,
and exact resume.

Determinism and exact resume: the batch order is a pure function of ``(seed, step)`` (one seeded
permutation per epoch), schedules are pure functions of the step, and the only other randomness
(dropout, reparameterisation noise, dequantization noise, GAN latents) comes from torch's global RNG,
whose state is saved in every checkpoint. Validation and sample writing run inside ``fork_rng`` so they
never perturb the training stream. A run stopped at step ``s`` and resumed therefore ends with the same
weights as one that was never stopped.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from pydantic import Field

from genforge.core.config import Config
from genforge.core.errors import ConfigError, TrainingDiverged
from genforge.core.io import flatten_state, unflatten_state
from genforge.core.runs import Run
from genforge.data import Dataset
from genforge.models.base import GenerativeModel
from genforge.trainer.optim import EMA, clip_gradients, lr_factor, make_optimizer, set_lr

DEFAULT_MAX_MINUTES = 5.0


class TrainConfig(Config):
    optimizer: Literal["adam", "adamw", "sgd"] = Field("adam", description="optimizer: adam, adamw or sgd")
    lr: float = Field(1e-3, gt=0, description="base learning rate")
    betas: tuple[float, float] = Field((0.9, 0.999), description="Adam/AdamW betas")
    weight_decay: float = Field(0.0, ge=0, description="weight decay (decoupled for adamw)")
    momentum: float = Field(0.9, ge=0, lt=1, description="SGD momentum")
    nesterov: bool = Field(False, description="Nesterov momentum for SGD")
    schedule: Literal["constant", "step", "cosine", "warmup_cosine", "onecycle"] = Field(
        "constant", description="learning-rate schedule"
    )
    warmup_steps: int = Field(100, ge=1, description="linear warm-up steps for warmup_cosine")
    step_size: int = Field(1000, ge=1, description="steps between decays for the step schedule")
    gamma: float = Field(0.5, gt=0, description="decay factor for the step schedule")
    min_lr_ratio: float = Field(
        0.0, ge=0, le=1, description="final lr as a fraction of lr (cosine, onecycle)"
    )
    cosine_steps: int = Field(
        5000, ge=1, description="schedule length when only --max-minutes bounds the run"
    )
    batch_size: int = Field(128, ge=1, description="examples per step")
    max_steps: int | None = Field(None, ge=1, description="stop after this many optimizer steps")
    max_minutes: float | None = Field(
        None, gt=0, description="stop after this much wall time in this session"
    )
    grad_clip: float = Field(0.0, ge=0, description="clip the global gradient norm (0 = off)")
    ema_decay: float = Field(0.0, ge=0, lt=1, description="EMA of weights used for sampling/eval (0 = off)")
    eval_every: int = Field(200, ge=1, description="validate every this many steps")
    eval_batches: int = Field(8, ge=1, description="validation batches per evaluation")
    sample_every: int = Field(500, ge=1, description="write a sample grid every this many steps")
    checkpoint_every: int = Field(500, ge=1, description="checkpoint every this many steps")
    log_every: int = Field(25, ge=1, description="append training metrics every this many steps")
    early_stop_patience: int = Field(
        0, ge=0, description="stop after this many evaluations without improvement (0 = off)"
    )
    num_samples: int = Field(64, ge=1, le=1024, description="samples in each grid written during training")


@dataclass
class TrainResult:
    run: Run
    status: str  # "completed" | "time_budget" | "early_stopped" | "interrupted"
    step: int
    elapsed_s: float
    metrics: dict[str, float] = field(default_factory=dict)


ProgressFn = Callable[[dict[str, Any]], None]
SampleFn = Callable[[GenerativeModel, int], None]


class Trainer:
    """Train ``model`` on ``dataset`` into ``run``; ``fit()`` may be called on a fresh or resumed state."""

    def __init__(
        self,
        model: GenerativeModel,
        dataset: Dataset,
        config: TrainConfig,
        run: Run,
        *,
        seed: int = 0,
        progress: ProgressFn | None = None,
        write_samples: SampleFn | None = None,
    ) -> None:
        self.model = model
        self.dataset = dataset
        self.config = config
        self.run = run
        self.seed = seed
        self.progress = progress
        self.write_samples = write_samples
        groups = (
            model.optimizer_groups()
            if hasattr(model, "optimizer_groups")
            else {"main": list(model.parameters())}
        )
        self.optimizers = {name: make_optimizer(params, config) for name, params in groups.items()}
        exclude = tuple(getattr(model, "ema_exclude", ()))
        self.ema = EMA(model, config.ema_decay, exclude) if config.ema_decay > 0 else None
        self.step = 0
        self.elapsed_before = 0.0
        self.best_val = math.inf
        self.evals_since_best = 0
        n = dataset.size("train")
        if n == 0:
            raise ConfigError(f"dataset {dataset.spec} has an empty training split")
        self.batch_size = min(config.batch_size, n)
        self.steps_per_epoch = max(n // self.batch_size, 1)

    # batching ------------------------------------------------------------------------------------
    def batch_at(self, step: int) -> dict[str, torch.Tensor]:
        """The training batch of (0-based) ``step``: a pure function of the seed and the step."""
        epoch, index = divmod(step, self.steps_per_epoch)
        split = self.dataset.split("train")
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        perm = torch.randperm(len(split["x"]), generator=gen)
        ids = perm[index * self.batch_size : (index + 1) * self.batch_size]
        batch = {k: v[ids] for k, v in split.items()}
        if self.dataset.augment is not None:
            aug_gen = torch.Generator().manual_seed(self.seed * 7_919 + step)
            batch = self.dataset.augment(batch, aug_gen)
        return batch

    # one step ------------------------------------------------------------------------------------
    def _train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        self.model.train()
        factor = lr_factor(self.step, self.config, self.config.max_steps)
        for opt in self.optimizers.values():
            set_lr(opt, self.config.lr * factor)
        if hasattr(self.model, "train_step"):
            terms = dict(self.model.train_step(batch, self.optimizers, self.step))
        else:
            opt = self.optimizers["main"]
            opt.zero_grad(set_to_none=True)
            out = self.model.loss(batch)
            loss = out["loss"]
            if not torch.isfinite(loss):
                return {"loss": float(loss.detach())}
            loss.backward()
            grad_norm = clip_gradients(self.model.parameters(), self.config.grad_clip)
            opt.step()
            terms = {k: float(v.detach()) for k, v in out.items()}
            terms["grad_norm"] = grad_norm
        terms["lr"] = self.config.lr * factor
        return terms

    # validation ----------------------------------------------------------------------------------
    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Mean loss terms over up to ``eval_batches`` validation batches (does not touch training RNG)."""
        self.model.eval()
        totals: dict[str, float] = {}
        count = 0
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed + 17)
            limit = self.config.eval_batches * self.batch_size
            for batch in self.dataset.batches("val", self.batch_size, limit=limit):
                out = self.model.loss(batch)
                size = len(batch["x"])
                for k, v in out.items():
                    totals[k] = totals.get(k, 0.0) + float(v) * size
                count += size
        return {k: v / max(count, 1) for k, v in totals.items()}

    # checkpoints ---------------------------------------------------------------------------------
    def state_tensors(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        tensors = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        meta: dict[str, Any] = {"optimizers": {}, "ema_updates": None}
        for name, opt in self.optimizers.items():
            opt_tensors, skeleton = flatten_state(opt.state_dict(), f"optim.{name}")
            tensors.update(opt_tensors)
            meta["optimizers"][name] = skeleton
        if self.ema is not None:
            tensors.update({f"ema.{k}": v for k, v in self.ema.state_dict().items()})
            meta["ema_updates"] = self.ema.updates
        tensors["rng.torch"] = torch.get_rng_state()
        return tensors, meta

    def save_checkpoint(self, status: str, elapsed: float) -> None:
        tensors, meta = self.state_tensors()
        meta.update(
            {
                "status": status,
                "epoch": self.step // self.steps_per_epoch,
                "elapsed_s": elapsed,
                "best_val": None if math.isinf(self.best_val) else self.best_val,
                "evals_since_best": self.evals_since_best,
                "seed": self.seed,
            }
        )
        self.run.save_checkpoint(self.step, tensors, meta)

    def load_checkpoint(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        """Restore everything :meth:`save_checkpoint` wrote (model, optimizers, EMA, RNG, counters)."""
        model_state = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
        self.model.load_state_dict(model_state)
        for name, opt in self.optimizers.items():
            opt.load_state_dict(unflatten_state(meta["optimizers"][name], tensors))
        if self.ema is not None and meta.get("ema_updates") is not None:
            ema_state = {k[len("ema.") :]: v for k, v in tensors.items() if k.startswith("ema.")}
            self.ema.load_state_dict(ema_state, meta["ema_updates"])
        torch.set_rng_state(tensors["rng.torch"])
        self.step = int(meta["step"])
        self.elapsed_before = float(meta.get("elapsed_s", 0.0))
        best = meta.get("best_val")
        self.best_val = math.inf if best is None else float(best)
        self.evals_since_best = int(meta.get("evals_since_best", 0))

    def _samples(self) -> None:
        if self.write_samples is None:
            return
        self.model.eval()
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            if self.ema is not None:
                live = {k: v.clone() for k, v in self.model.state_dict().items()}
                self.model.load_state_dict(self.ema.weights_for(self.model))
                self.write_samples(self.model, self.step)
                self.model.load_state_dict(live)
            else:
                self.write_samples(self.model, self.step)

    # the loop ------------------------------------------------------------------------------------
    def fit(self) -> TrainResult:
        cfg = self.config
        max_steps = cfg.max_steps
        max_seconds = cfg.max_minutes * 60 if cfg.max_minutes else None
        if max_steps is None and max_seconds is None:
            max_seconds = DEFAULT_MAX_MINUTES * 60
        start = time.perf_counter()
        window: dict[str, float] = {}
        window_count = 0
        window_start = start
        status = "completed"
        last_val: dict[str, float] = {}
        last_train: dict[str, float] = {}
        try:
            while max_steps is None or self.step < max_steps:
                if max_seconds is not None and time.perf_counter() - start >= max_seconds:
                    status = "time_budget"
                    break
                batch = self.batch_at(self.step)
                terms = self._train_step(batch)
                if not all(math.isfinite(v) for v in terms.values() if isinstance(v, float)):
                    bad = next(k for k, v in terms.items() if not math.isfinite(v))
                    raise TrainingDiverged(self._divergence_message(bad, terms[bad]))
                self.step += 1
                if self.ema is not None:
                    self.ema.update(self.model)
                for k, v in terms.items():
                    window[k] = window.get(k, 0.0) + v
                window_count += 1
                now = time.perf_counter()
                if self.step % cfg.log_every == 0 or self.step == max_steps:
                    rate = window_count * self.batch_size / max(now - window_start, 1e-9)
                    record = {k: v / window_count for k, v in window.items()}
                    last_train = record
                    self.run.log(
                        [
                            {
                                "step": self.step,
                                "split": "train",
                                **record,
                                "samples_per_s": rate,
                                "elapsed_s": self.elapsed_before + now - start,
                            }
                        ]
                    )
                    if self.progress:
                        self.progress(
                            {
                                "step": self.step,
                                "max_steps": max_steps,
                                "max_seconds": max_seconds,
                                "elapsed_s": now - start,
                                "terms": record,
                                "samples_per_s": rate,
                            }
                        )
                    window, window_count, window_start = {}, 0, now
                if self.step % cfg.eval_every == 0:
                    last_val = self.validate()
                    self.run.log([{"step": self.step, "split": "val", **last_val}])
                    if self._early_stop(last_val["loss"]):
                        status = "early_stopped"
                        break
                if self.step % cfg.sample_every == 0:
                    self._samples()
                if self.step % cfg.checkpoint_every == 0:
                    self.save_checkpoint("running", self.elapsed_before + time.perf_counter() - start)
        except KeyboardInterrupt:
            status = "interrupted"
        elapsed = self.elapsed_before + time.perf_counter() - start
        self.save_checkpoint(status, elapsed)
        if status != "interrupted":
            self._samples()
        if window_count:
            last_train = {k: v / window_count for k, v in window.items()}
        final = {f"train_{k}": v for k, v in last_train.items()}
        final.update({f"val_{k}": v for k, v in last_val.items()})
        return TrainResult(run=self.run, status=status, step=self.step, elapsed_s=elapsed, metrics=final)

    def _early_stop(self, val_loss: float) -> bool:
        if val_loss < self.best_val - 1e-6:
            self.best_val = val_loss
            self.evals_since_best = 0
            return False
        self.evals_since_best += 1
        patience = self.config.early_stop_patience
        return patience > 0 and self.evals_since_best >= patience

    def _divergence_message(self, term: str, value: float) -> str:
        steps = self.run.checkpoint_steps()
        kept = (
            f"the last good checkpoint (step {steps[-1]}) is kept"
            if steps
            else "no checkpoint had been written yet"
        )
        return (
            f"training diverged: '{term}' became {value} at step {self.step + 1}; {kept} in {self.run.path}. "
            "Lower the learning rate (--set lr=...) or enable clipping (--set grad_clip=1.0)"
        )
