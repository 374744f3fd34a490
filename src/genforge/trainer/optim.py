"""Optimizers, learning-rate schedules and gradient clipping.

Schedules are pure functions of the step (``lr_at(step)``), applied by setting each param group's ``lr``
before the optimizer step; they carry no state, so a resumed run continues on exactly the same curve.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch

from genforge.core.errors import ConfigError

SCHEDULES = ("constant", "step", "cosine", "warmup_cosine", "onecycle")


def parameter_groups(params: Iterable[torch.nn.Parameter], weight_decay: float) -> list[dict]:
    """Optimizer parameter groups: weight matrices, convolution kernels and embeddings decayed by
    ``weight_decay``; biases and normalisation gains (tensors with fewer than two dimensions) never.

    This is GPT-1's rule ("w = 0.01 on all non bias or gain weights", Radford et al. 2018, sec. 4.1) and
    nanoGPT's ``configure_optimizers``: decaying a LayerNorm gain towards 0 shrinks the whole layer's
    output, and decaying a bias has no regularising use. Without weight decay there is one group.
    """
    params = [p for p in params if p.requires_grad]
    if weight_decay == 0:
        return [{"params": params, "weight_decay": 0.0}]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    return [g for g in groups if g["params"]]


def make_optimizer(params: Iterable[torch.nn.Parameter], cfg) -> torch.optim.Optimizer:
    """Build the optimizer named by ``cfg.optimizer`` (adam, adamw, sgd) from a TrainConfig, with the
    weight-decay groups of :func:`parameter_groups`."""
    groups = parameter_groups(params, cfg.weight_decay)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(groups, lr=cfg.lr, betas=tuple(cfg.betas))
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=cfg.lr, betas=tuple(cfg.betas))
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov)
    raise ConfigError(f"unknown optimizer '{cfg.optimizer}' (use adam, adamw or sgd)")


def lr_factor(step: int, cfg, total_steps: int | None) -> float:
    """Multiplier of the base learning rate at ``step`` (0-based) for ``cfg.schedule``.

    ``constant``; ``step`` (times ``gamma`` every ``step_size`` steps); ``cosine`` (to ``min_lr_ratio``
    over the run); ``warmup_cosine`` (linear warm-up for ``warmup_steps``, then cosine); ``onecycle``
    (Smith & Topin 2017: linear up to the peak at 30 % of the run, cosine down to ``min_lr_ratio``).
    Schedules that need the run length use ``total_steps`` (``max_steps``); a time-only budget
    (``--max-minutes``) has no known length, so they fall back to ``cosine_steps``.
    """
    name = cfg.schedule
    if name not in SCHEDULES:
        raise ConfigError(f"unknown schedule '{name}' (use {', '.join(SCHEDULES)})")
    if name == "constant":
        return 1.0
    if name == "step":
        return cfg.gamma ** (step // max(cfg.step_size, 1))
    total = max(total_steps or cfg.cosine_steps, 1)
    floor = cfg.min_lr_ratio
    if name == "cosine":
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(step / total, 1.0)))
    if name == "warmup_cosine":
        warm = cfg.warmup_steps
        if step < warm:
            return (step + 1) / warm
        progress = min((step - warm) / max(total - warm, 1), 1.0)
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))
    peak = max(int(0.3 * total), 1)  # onecycle
    start = 1.0 / 25.0
    if step < peak:
        return start + (1 - start) * step / peak
    progress = min((step - peak) / max(total - peak, 1), 1.0)
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def clip_gradients(params: Iterable[torch.nn.Parameter], max_norm: float) -> float:
    """Clip the global gradient norm to ``max_norm`` (no-op when <= 0); returns the norm before clipping."""
    params = [p for p in params if p.grad is not None]
    if max_norm <= 0 or not params:
        return float(torch.norm(torch.stack([p.grad.norm() for p in params]))) if params else 0.0
    return float(torch.nn.utils.clip_grad_norm_(params, max_norm))


class EMA:
    """Exponential moving average of a module's parameters and floating buffers.

    ``shadow = decay * shadow + (1 - decay) * value`` after every step, with the usual warm-up
    ``decay_t = min(decay, (1 + t) / (10 + t))`` so early averages are not dominated by the init.
    State-dict keys starting with one of ``exclude`` keep their live values (a GAN averages its
    generator only: an averaged critic would score samples with weights it never trained with).
    """

    def __init__(self, module: torch.nn.Module, decay: float, exclude: tuple[str, ...] = ()) -> None:
        self.decay = decay
        self.updates = 0
        self.shadow = {
            k: v.detach().clone()
            for k, v in module.state_dict().items()
            if v.dtype.is_floating_point and not k.startswith(exclude)
        }

    @torch.no_grad()
    def update(self, module: torch.nn.Module) -> None:
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for name, value in module.state_dict().items():
            if name in self.shadow:
                self.shadow[name].mul_(decay).add_(value.detach(), alpha=1 - decay)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.shadow

    def load_state_dict(self, state: dict[str, torch.Tensor], updates: int) -> None:
        for name, value in state.items():
            self.shadow[name].copy_(value)
        self.updates = updates

    def weights_for(self, module: torch.nn.Module) -> dict[str, torch.Tensor]:
        """A full state dict of ``module`` with averaged floating tensors."""
        return {k: self.shadow.get(k, v) for k, v in module.state_dict().items()}
