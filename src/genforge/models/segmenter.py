"""Semantic segmentation of scenes (``scenes:DIR``): a class for every pixel, background or a digit.

A :class:`~genforge.nn.dense.DenseTrunk` and a 1x1 head give logits over ``1 + num_classes`` classes
per pixel, trained with cross-entropy against the scene's ``semantic`` mask. ``segment(x)`` returns the
argmax mask; :mod:`genforge.pipelines.scenes` turns masks into IoU and mIoU on the test split.
"""

from __future__ import annotations

import torch
from pydantic import Field
from torch import nn

from genforge.core.config import Config
from genforge.core.errors import ConfigError
from genforge.data.info import DataInfo
from genforge.data.transforms import ToSymmetric
from genforge.models.base import GenerativeModel, register_model
from genforge.nn.dense import DenseTrunk


class SegmenterConfig(Config):
    width: int = Field(16, ge=4, le=128, description="channels at full resolution")


def check_scenes(info: DataInfo, family: str) -> None:
    if not info.extra.get("scenes"):
        raise ConfigError(
            f"{family} trains on scenes: --data scenes:DIR (make them with 'genforge data make scenes')"
        )
    if info.shape[1] % 4 or info.shape[2] % 4:
        raise ConfigError(f"{family} needs a canvas divisible by 4, got {info.shape[1]}x{info.shape[2]}")


@register_model(
    "segmenter", config=SegmenterConfig, data_kinds=("image",), train_defaults={"lr": 2e-3, "batch_size": 32}
)
class Segmenter(GenerativeModel):
    """Per-pixel classes ``(B, H, W)`` (0 = background, 1 + digit) of scenes ``(B, 1, H, W)``."""

    def __init__(self, config: SegmenterConfig, info: DataInfo) -> None:
        super().__init__(config, info)
        check_scenes(info, "segmenter")
        self.num_outputs = 1 + (info.num_classes or 0)
        self.trunk = DenseTrunk(info.shape[0], config.width)
        self.head = nn.Conv2d(config.width, self.num_outputs, 1)
        self.to_input = ToSymmetric(info.num_levels)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(self.to_input(x)))

    def loss(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"loss": nn.functional.cross_entropy(self.logits(batch["x"]), batch["semantic"].long())}

    @torch.no_grad()
    def segment(self, x: torch.Tensor) -> torch.Tensor:
        """Predicted class per pixel (B, H, W)."""
        return self.logits(x).argmax(1)

    @torch.no_grad()
    def eval_terms(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        correct = (self.segment(batch["x"]) == batch["semantic"]).double().flatten(1).mean(1)
        return {"pixel_accuracy": correct}
