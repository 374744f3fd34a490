"""Task families for meta-learning, built offline from a seeded ``torch.Generator``.

A family says how to draw a batch of tasks (support and query sets), which network learns them, the
loss adapted on and the per-task score reported; :data:`TASKS` is the registry (one line per family).

- **sinusoid** regression (Finn et al. 2017): a task is ``y = A sin(x - phase)`` with amplitude ``A``
  uniform in [0.1, 5] and phase uniform in [0, pi]; inputs are uniform in [-5, 5]; ``shots`` support
  points to adapt on, ``query`` points to score the adapted model; scored by query MSE.
- **digits** few-shot classification, ``digits:NwayKshot`` (``digits.py``): N-way K-shot episodes,
  meta-train on digits 0-6 and their rotations, meta-test on 7-9; scored by query accuracy.
"""

from __future__ import annotations

import math
import re
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from genforge.core.errors import ConfigError
from genforge.meta.digits import (
    check_episode_shape,
    digits_batch,
    digits_episodes,
    digits_pool,
    mlp_classifier,
)


def sinusoid_batch(
    num_tasks: int, shots: int, query: int, generator: torch.Generator
) -> dict[str, torch.Tensor]:
    """``xs, ys`` (num_tasks, shots, 1), ``xq, yq`` (num_tasks, query, 1), ``amplitude``/``phase`` (num_tasks,)."""
    amplitude = 0.1 + 4.9 * torch.rand(num_tasks, generator=generator)
    phase = math.pi * torch.rand(num_tasks, generator=generator)
    x = -5.0 + 10.0 * torch.rand(num_tasks, shots + query, 1, generator=generator)
    y = amplitude.view(-1, 1, 1) * torch.sin(x - phase.view(-1, 1, 1))
    return {
        "xs": x[:, :shots],
        "ys": y[:, :shots],
        "xq": x[:, shots:],
        "yq": y[:, shots:],
        "amplitude": amplitude,
        "phase": phase,
    }


def regressor(hidden: int) -> nn.Module:
    """Finn et al.'s sinusoid learner: MLP 1-hidden-hidden-1 with ReLU."""
    return nn.Sequential(
        nn.Linear(1, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1)
    )


def mse(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (out - y).pow(2).mean()


class Sinusoid:
    metric = "mse"  # per task: query mean squared error, lower is better
    defaults: dict[str, Any] = {}
    eval_query = 100  # query points per task at evaluation

    def net(self, config: Any, pretrain: bool) -> nn.Module:
        return regressor(config.hidden)

    def episodes(self, config: Any, num_tasks: int, generator: torch.Generator, test: bool = False) -> dict:
        query = self.eval_query if test else config.query
        return sinusoid_batch(num_tasks, config.shots, query, generator)

    def pretrain_batch(self, config: Any, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """The points of a meta-batch of tasks, pooled: the baseline fits them all with one regressor."""
        batch = sinusoid_batch(config.meta_batch, config.shots, config.query, generator)
        return torch.cat([batch["xs"], batch["xq"]], 1), torch.cat([batch["ys"], batch["yq"]], 1)

    loss = staticmethod(mse)
    score = staticmethod(mse)

    def check(self, config: Any) -> None:
        if config.ways is not None:
            raise ConfigError("ways applies to classification tasks (digits), not to sinusoid regression")


def cross_entropy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits, y)


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (logits.argmax(-1) == y).float().mean()


class Digits:
    metric = "accuracy"  # per episode: fraction of query images classified right, higher is better
    # Finn et al. (2017) adapt Omniglot with SGD steps of 0.4; 15 query images per class as in their setup
    defaults: dict[str, Any] = {"ways": 3, "shots": 1, "query": 15, "hidden": 64, "inner_lr": 0.4}

    def net(self, config: Any, pretrain: bool) -> nn.Module:
        """``ways`` outputs; the pretrained baseline's head covers all meta-training classes instead
        (and is replaced by a fresh ``ways``-output head at evaluation)."""
        return mlp_classifier(config.hidden, digits_pool("train").num_classes if pretrain else config.ways)

    def episodes(self, config: Any, num_tasks: int, generator: torch.Generator, test: bool = False) -> dict:
        split = "test" if test else "train"
        return digits_episodes(num_tasks, config.ways, config.shots, config.query, generator, split)

    def pretrain_batch(self, config: Any, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """As many images as a meta-batch of episodes holds, labelled with their meta-training class."""
        return digits_batch(config.meta_batch * config.ways * (config.shots + config.query), generator)

    loss = staticmethod(cross_entropy)
    score = staticmethod(accuracy)

    def check(self, config: Any) -> None:
        if config.ways is None or config.ways < 2:
            raise ConfigError(f"digits episodes need --ways of at least 2, got {config.ways}")
        check_episode_shape(config.ways, config.shots, config.query)


TASKS = {"sinusoid": Sinusoid(), "digits": Digits()}

_DIGITS_SPEC = re.compile(r"(\d+)way-?(\d+)shots?")


def parse_task(spec: str) -> tuple[str, dict[str, Any]]:
    """``"sinusoid"`` -> ("sinusoid", {}); ``"digits:5way-1shot"`` -> ("digits", {"ways": 5, "shots": 1}).

    The family's defaults come first, so ``"digits"`` alone is 3-way 1-shot."""
    name, _, detail = spec.strip().partition(":")
    if name not in TASKS:
        raise ConfigError(f"unknown meta-learning task '{spec}' (available: sinusoid, digits:NwayKshot)")
    values = dict(TASKS[name].defaults)
    if not detail:
        return name, values
    match = _DIGITS_SPEC.fullmatch(detail.strip()) if name == "digits" else None
    if match is None:
        example = "digits:3way-1shot" if name == "digits" else "sinusoid (it takes no ':' part)"
        raise ConfigError(f"cannot read the task '{spec}': write it like {example}")
    ways, shots = int(match.group(1)), int(match.group(2))
    if shots < 1:
        raise ConfigError(f"task '{spec}' asks for 0 shots: each class needs at least one support image")
    return name, {**values, "ways": ways, "shots": shots}
