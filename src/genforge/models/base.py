"""The model protocol every generative family implements, and the model registry.

A family is one ``nn.Module`` subclass in one file under ``models/``, registered with
``@register_model("name", config=ItsConfig)``. It is built as ``Family(config, info)`` where ``info``
describes the data (:class:`DataInfo`). Batches are dicts: ``batch["x"]`` holds the data in its
dataset representation (images: integer levels ``(B, C, H, W)`` in ``[0, num_levels)``; points:
float ``(B, 2)``; tokens: ``(B, T)`` ids) and ``batch["y"]`` class labels when the data has them.

Required:
  ``loss(batch) -> dict[str, Tensor]``   key ``"loss"`` is minimised; other scalar terms are logged.
  ``sample(n, *, generator=None, **opts) -> Tensor``   images as ``(n, C, H, W)`` floats in ``[0, 1]``.
Optional (a family has them where the math does):
  ``log_prob(x) -> Tensor (B,)``   log-likelihood in nats of each example in its dataset
      representation (discrete images: log-probability of the integer levels, or a lower bound).
  ``encode(x) -> z`` / ``decode(z) -> images in [0, 1]``   latent round trip (VAE, flows).
  ``eval_terms(batch) -> dict[str, Tensor (B,)]``   per-example evaluation terms, averaged by ``eval``.
  ``optimizer_groups() -> dict[str, list[Parameter]]`` and ``train_step(batch, optimizers, step)``
      only for families that need more than one optimizer (GANs).
  ``ema_exclude``   state-dict key prefixes the trainer's EMA leaves live (a GAN's discriminator).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from genforge.core.config import Config
from genforge.core.errors import ConfigError
from genforge.core.registry import Registry
from genforge.data.info import DataInfo

MODELS = Registry(
    "model family",
    modules=[
        "genforge.models.vae",
        "genforge.models.gan",
        "genforge.models.pixelcnn",
        "genforge.models.realnvp",
        "genforge.models.gpt",
        "genforge.models.rnn_lm",
        "genforge.models.seq2seq",
        "genforge.models.diffusion",
        "genforge.models.tvae",
        "genforge.models.ctgan",
        "genforge.models.clip",
        "genforge.models.segmenter",
        "genforge.models.detector",
    ],
)


def register_model(name: str, *, config: type[Config], data_kinds: tuple[str, ...] = ("image",), **meta: Any):
    """Register a family. ``train_defaults`` in ``meta`` overrides the trainer's defaults for it."""
    return MODELS.register(name, config=config, data_kinds=data_kinds, **meta)


class GenerativeModel(nn.Module):
    """Small shared base: holds config and data info, and derives bits/dim from ``log_prob``."""

    def __init__(self, config: Config, info: DataInfo) -> None:
        super().__init__()
        self.config = config
        self.info = info

    def loss(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def sample(self, n: int, *, generator: torch.Generator | None = None, **opts: Any) -> torch.Tensor:
        # families that only encode (CLIP) or predict (detector, segmenter) inherit this
        raise ConfigError(f"a {type(self).__name__} model draws no samples")

    def has(self, capability: str) -> bool:
        """True if this family implements an optional method (``log_prob``, ``encode`` …)."""
        method = getattr(type(self), capability, None)
        return method is not None and method is not getattr(GenerativeModel, capability, None)

    def eval_terms(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Default evaluation: bits per dimension from ``log_prob`` where the family has one."""
        if not hasattr(self, "log_prob"):
            return {}
        return {"bits_per_dim": bits_per_dim(self.log_prob(batch["x"]), self.info.num_dims)}

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def bits_per_dim(log_prob_nats: torch.Tensor, num_dims: int) -> torch.Tensor:
    """Negative log-likelihood in nats per example -> bits per dimension."""
    return -log_prob_nats / (num_dims * math.log(2.0))


def build_model(family: str, config: dict[str, Any] | Config | None, info: DataInfo) -> GenerativeModel:
    """Validate ``config`` for ``family`` and build the model for data described by ``info``."""
    entry = MODELS.get(family)
    if info.kind not in entry.meta["data_kinds"]:
        kinds = ", ".join(entry.meta["data_kinds"])
        raise ConfigError(f"model '{family}' works on {kinds} data, not on {info.kind} data")
    cfg_cls: type[Config] = entry.meta["config"]
    cfg = config if isinstance(config, cfg_cls) else cfg_cls.build(config or {}, where=f"{family} model")
    return entry.obj(cfg, info)
