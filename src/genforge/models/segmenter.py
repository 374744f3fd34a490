"""Semantic and instance segmentation of scenes (``scenes:DIR``): a class for every pixel, background or a
digit, and with ``task="instance"`` which digit each pixel belongs to.

A :class:`~genforge.nn.dense.DenseTrunk` and a 1x1 head give logits over ``1 + num_classes`` classes
per pixel, trained with cross-entropy against the scene's ``semantic`` mask. ``segment(x)`` returns the
argmax mask; :mod:`genforge.pipelines.scenes` turns masks into IoU and mIoU on the test split.

``task="instance"`` adds two heads in the manner of Panoptic-DeepLab (Cheng et al. 2020): a
class-agnostic centre heatmap (CenterNet's focal loss on a Gaussian bump at each digit's box centre)
and, at every digit pixel, the vector to its digit's centre (L1, weighted ``offset_weight``).
``instances(x)`` keeps the heatmap's 7x7 local maxima above ``min_centre`` as centres, gives each
foreground pixel to the centre nearest to where its vector points, names each instance by the
majority of its pixels' classes and scores it by centre height times that class's mean probability;
the pipeline scores the masks by COCO mask mAP.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field
from torch import nn

from genforge.core.config import Config
from genforge.core.errors import ConfigError
from genforge.data.info import DataInfo
from genforge.data.transforms import ToSymmetric
from genforge.models.base import GenerativeModel, register_model
from genforge.nn.dense import DenseTrunk, centre_focal_loss, gaussian_bump


class SegmenterConfig(Config):
    width: int = Field(16, ge=4, le=128, description="channels at full resolution")
    task: Literal["semantic", "instance"] = Field(
        "semantic", description="a class per pixel, or also which digit (centre heatmap + offsets)"
    )
    offset_weight: float = Field(0.1, ge=0.0, le=10.0, description="instance: weight of the offset L1 loss")
    min_centre: float = Field(
        0.1, gt=0.0, lt=1.0, description="instance: least heatmap peak kept as a centre"
    )


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
        self.task = config.task
        if self.task == "instance":
            self.centre = nn.Conv2d(config.width, 1, 1)
            nn.init.constant_(self.centre.bias, -2.19)  # sigmoid = 0.1 at the start (CenterNet's prior)
            self.offset = nn.Conv2d(config.width, 2, 1)
        self.to_input = ToSymmetric(info.num_levels)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(self.to_input(x)))

    def instance_heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Class logits (B, 1 + C, H, W), centre logits (B, 1, H, W), offsets (B, 2, H, W) in pixels."""
        h = self.trunk(self.to_input(x))
        return self.head(h), self.centre(h), self.offset(h)

    def loss(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if self.task == "semantic":
            return {"loss": nn.functional.cross_entropy(self.logits(batch["x"]), batch["semantic"].long())}
        logits, centre, offset = self.instance_heads(batch["x"])
        classes = nn.functional.cross_entropy(logits, batch["semantic"].long())
        heat, vectors, owned = instance_targets(batch["boxes"], batch["instances"])
        centre_loss = centre_focal_loss(centre, heat) / max(int((heat == 1).sum()), 1)
        offset_loss = ((offset - vectors).abs().sum(1) * owned).sum() / owned.sum().clamp_min(1)
        return {
            "loss": classes + centre_loss + self.config.offset_weight * offset_loss,
            "classes": classes.detach(),
            "centre": centre_loss.detach(),
            "offset": offset_loss.detach(),
        }

    @torch.no_grad()
    def instances(self, x: torch.Tensor) -> list[dict[str, torch.Tensor]]:
        """Per image: ``masks`` (K, H, W) bool, ``labels`` (K,) digits, ``scores`` (K,), ``boxes`` (K, 4)
        ``[x, y, w, h]``; an instance-task model only."""
        return self._classes_and_instances(x)[1]

    def _classes_and_instances(self, x: torch.Tensor):
        if self.task != "instance":
            raise ConfigError("instances need a segmenter trained with --task instance")
        logits, centre, offset = self.instance_heads(x)
        probability = logits.softmax(1)
        classes = probability.argmax(1)
        heat = torch.sigmoid(centre[:, 0])
        peaks = (nn.functional.max_pool2d(heat[:, None], 7, stride=1, padding=3)[:, 0] == heat) & (
            heat >= self.config.min_centre
        )
        height, width = heat.shape[1:]
        ys, xs = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
        out = []
        for i in range(len(x)):
            out.append(_group(classes[i], probability[i], heat[i], peaks[i], offset[i], xs, ys))
        return classes, out

    @torch.no_grad()
    def segment(self, x: torch.Tensor) -> torch.Tensor:
        """Predicted class per pixel (B, H, W). An instance-task model gives each instance's pixels its
        majority class (Panoptic-DeepLab's fusion), so one digit is one class."""
        if self.task == "semantic":
            return self.logits(x).argmax(1)
        classes, found = self._classes_and_instances(x)
        for pixels, objects in zip(classes, found, strict=True):
            for mask, label in zip(objects["masks"], objects["labels"], strict=True):
                pixels[mask] = label + 1
        return classes

    @torch.no_grad()
    def eval_terms(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        correct = (self.segment(batch["x"]) == batch["semantic"]).double().flatten(1).mean(1)
        return {"pixel_accuracy": correct}


def instance_targets(boxes: torch.Tensor, instances: torch.Tensor):
    """Centre heatmaps (B, 1, H, W), vectors to the centre (B, 2, H, W) in pixels and the pixels that
    own one (B, H, W) from ``boxes`` (B, K, 5) rows ``[label, x, y, w, h]`` (label -1 pads) and the
    instance masks (B, H, W), whose object ``k + 1`` is row ``k``."""
    b, height, width = instances.shape
    heat = torch.zeros(b, 1, height, width)
    vectors = torch.zeros(b, 2, height, width)
    ys, xs = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    for i, k in (boxes[..., 0] >= 0).nonzero().tolist():
        _, x, y, w, h = boxes[i, k].tolist()
        px, py = min(int(x + w / 2), width - 1), min(int(y + h / 2), height - 1)
        heat[i, 0] = torch.maximum(heat[i, 0], gaussian_bump(height, width, px, py, max(w, h) / 6))
        mask = instances[i] == k + 1
        vectors[i, 0][mask] = (px - xs[mask]).float()
        vectors[i, 1][mask] = (py - ys[mask]).float()
    return heat, vectors, (instances > 0).float()


def _group(classes, probability, heat, peaks, offset, xs, ys) -> dict[str, torch.Tensor]:
    """One image's instances: foreground pixels grouped by the centre nearest to where they point."""
    cy, cx = peaks.nonzero(as_tuple=True)
    foreground = classes > 0
    empty = {
        "masks": torch.zeros(0, *classes.shape, dtype=torch.bool),
        "labels": torch.zeros(0, dtype=torch.long),
    }
    if len(cy) == 0 or not foreground.any():
        return {**empty, "scores": torch.zeros(0), "boxes": torch.zeros(0, 4)}
    pointed = torch.stack([xs + offset[0], ys + offset[1]], -1)[foreground]  # (P, 2)
    owner = torch.cdist(pointed, torch.stack([cx, cy], -1).float()).argmin(1)
    masks, labels, scores, boxes = [], [], [], []
    for c in range(len(cy)):
        mask = torch.zeros_like(foreground)
        mask[foreground] = owner == c
        if not mask.any():
            continue
        label = int(torch.mode(classes[mask]).values)
        masks.append(mask)
        labels.append(label - 1)
        scores.append(heat[cy[c], cx[c]] * probability[label][mask].mean())
        row, col = mask.nonzero(as_tuple=True)
        boxes.append(
            torch.stack([col.min(), row.min(), col.max() - col.min() + 1, row.max() - row.min() + 1])
        )
    if not masks:
        return {**empty, "scores": torch.zeros(0), "boxes": torch.zeros(0, 4)}
    return {
        "masks": torch.stack(masks),
        "labels": torch.tensor(labels),
        "scores": torch.stack(scores),
        "boxes": torch.stack(boxes).float(),
    }
