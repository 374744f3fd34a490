"""Semantic and instance segmentation of scenes (``scenes:DIR``): a class for every pixel, background or a
digit, and with ``task="instance"`` which digit each pixel belongs to.

A :class:`~genforge.nn.dense.DenseTrunk` stops at a quarter of the resolution (``output_stride`` 4: its
features see a whole digit and cost a fraction of a full-resolution decoder); they are upsampled
(bilinear) and joined with a small full-resolution branch (two 3x3 convolutions) that draws the strokes'
edges, and a 1x1 head gives, per pixel, background and ``num_classes`` digits. With ``head="factored"``
(the default) that is a foreground logit (binary cross-entropy over every pixel) and digit logits
(cross-entropy over the digit pixels only): in one softmax over background and digits the background's
many pixels drown the digit classes (after 157 steps such a model called foreground right, IoU 0.88,
and the digit of only 0.23 of the digit pixels). ``segment(x)`` gives every 8-connected foreground
component one digit, the one whose probabilities sum highest over it (``vote="component"``; ``"pixel"``
keeps each pixel's own argmax); :mod:`genforge.pipelines.scenes` turns masks into IoU and mIoU on the
test split.

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

import numpy as np
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
    width: int = Field(8, ge=4, le=128, description="channels of the trunk's first stage")
    task: Literal["semantic", "instance"] = Field(
        "semantic", description="a class per pixel, or also which digit (centre heatmap + offsets)"
    )
    offset_weight: float = Field(0.1, ge=0.0, le=10.0, description="instance: weight of the offset L1 loss")
    min_centre: float = Field(
        0.1, gt=0.0, lt=1.0, description="instance: least heatmap peak kept as a centre"
    )
    depth: Literal[2, 3] = Field(2, description="halvings in the trunk (3 adds an eighth-resolution stage)")
    output_stride: Literal[1, 2, 4] = Field(
        4,
        description="the trunk's decoder stops this many times coarser; its features are upsampled and "
        "joined with a small full-resolution branch that draws the strokes' edges",
    )
    local_width: int = Field(8, ge=2, le=64, description="channels of the full-resolution branch")
    head: Literal["joint", "factored"] = Field(
        "factored",
        description="one softmax over background and digits, or foreground (sigmoid, loss over every "
        "pixel) times the digit (softmax, loss over the digit pixels only, so background does not drown it)",
    )
    vote: Literal["pixel", "component"] = Field(
        "component",
        description="semantic: each pixel's own argmax, or one class per connected foreground component "
        "(the sum of its pixels' digit probabilities)",
    )


def check_scenes(info: DataInfo, family: str, divisor: int = 4) -> None:
    if not info.extra.get("scenes"):
        raise ConfigError(
            f"{family} trains on scenes: --data scenes:DIR (make them with 'genforge data make scenes')"
        )
    if info.shape[1] % divisor or info.shape[2] % divisor:
        raise ConfigError(
            f"{family} needs a canvas divisible by {divisor}, got {info.shape[1]}x{info.shape[2]}"
            + (" (or --set depth=2, which needs 4)" if divisor == 8 else "")
        )


@register_model(
    "segmenter", config=SegmenterConfig, data_kinds=("image",), train_defaults={"lr": 2e-3, "batch_size": 32}
)
class Segmenter(GenerativeModel):
    """Per-pixel classes ``(B, H, W)`` (0 = background, 1 + digit) of scenes ``(B, 1, H, W)``."""

    def __init__(self, config: SegmenterConfig, info: DataInfo) -> None:
        super().__init__(config, info)
        check_scenes(info, "segmenter", 2**config.depth)
        self.num_outputs = 1 + (info.num_classes or 0)
        self.trunk = DenseTrunk(info.shape[0], config.width, config.output_stride, config.depth)
        channels = self.trunk.out_channels
        if config.output_stride > 1:
            self.local = nn.Sequential(
                nn.Conv2d(info.shape[0], config.local_width, 3, padding=1),
                nn.SiLU(),
                nn.Conv2d(config.local_width, config.local_width, 3, padding=1),
                nn.SiLU(),
            )
            channels += config.local_width
        self.head = nn.Conv2d(channels, self.num_outputs, 1)
        self.task = config.task
        if self.task == "instance":
            self.centre = nn.Conv2d(channels, 1, 1)
            nn.init.constant_(self.centre.bias, -2.19)  # sigmoid = 0.1 at the start (CenterNet's prior)
            self.offset = nn.Conv2d(channels, 2, 1)
        self.to_input = ToSymmetric(info.num_levels)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Full-resolution features: the trunk's, upsampled (bilinear) and joined with the local branch's
        when the trunk stops coarser."""
        x = self.to_input(x)
        h = self.trunk(x)
        if self.trunk.output_stride == 1:
            return h
        up = nn.functional.interpolate(h, size=x.shape[2:], mode="bilinear", align_corners=False)
        return torch.cat([up, self.local(x)], 1)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Log-probabilities (B, 1 + C, H, W) of background and each digit."""
        return self.log_probabilities(self.head(self.features(x)))

    def log_probabilities(self, raw: torch.Tensor) -> torch.Tensor:
        """The head's output as log-probabilities; ``factored``: channel 0 is the foreground logit and
        the rest the digit logits, ``log p(digit) = log p(foreground) + log p(digit | foreground)``."""
        if self.config.head == "joint":
            return raw.log_softmax(1)
        fg = raw[:, :1]
        return torch.cat(
            [nn.functional.logsigmoid(-fg), nn.functional.logsigmoid(fg) + raw[:, 1:].log_softmax(1)], 1
        )

    def pixel_loss(self, raw: torch.Tensor, semantic: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of the head's output ``raw`` against the classes (B, H, W)."""
        semantic = semantic.long()
        if self.config.head == "joint":
            return nn.functional.cross_entropy(raw, semantic)
        digit = semantic > 0
        fg = nn.functional.binary_cross_entropy_with_logits(raw[:, 0], digit.float())
        if not digit.any():
            return fg + raw[:, 1:].sum() * 0
        classes = raw[:, 1:].permute(0, 2, 3, 1)[digit]  # (P, C) at the digit pixels
        return fg + nn.functional.cross_entropy(classes, semantic[digit] - 1)

    def instance_heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The class head's output (B, 1 + C, H, W; see ``log_probabilities``), centre logits (B, 1, H, W),
        offsets (B, 2, H, W) in pixels."""
        h = self.features(x)
        return self.head(h), self.centre(h), self.offset(h)

    def loss(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if self.task == "semantic":
            return {"loss": self.pixel_loss(self.head(self.features(batch["x"])), batch["semantic"])}
        raw, centre, offset = self.instance_heads(batch["x"])
        classes = self.pixel_loss(raw, batch["semantic"])
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
        raw, centre, offset = self.instance_heads(x)
        probability = self.log_probabilities(raw).exp()
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
            logits = self.logits(x)
            if self.config.vote == "pixel":
                return logits.argmax(1)
            return component_vote(logits.exp())
        classes, found = self._classes_and_instances(x)
        for pixels, objects in zip(classes, found, strict=True):
            for mask, label in zip(objects["masks"], objects["labels"], strict=True):
                pixels[mask] = label + 1
        return classes

    @torch.no_grad()
    def eval_terms(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        correct = (self.segment(batch["x"]) == batch["semantic"]).double().flatten(1).mean(1)
        return {"pixel_accuracy": correct}


def component_vote(probability: torch.Tensor) -> torch.Tensor:
    """Classes (B, H, W) from probabilities (B, 1 + C, H, W): background where it wins, and every
    8-connected component of the rest in the one digit whose probabilities sum highest over it."""
    from scipy import ndimage

    classes = probability.argmax(1)
    digits = probability[:, 1:]
    for i in range(len(classes)):
        foreground = classes[i] > 0
        components, count = ndimage.label(foreground.numpy(), structure=np.ones((3, 3)))
        if not count:
            continue
        owner = torch.from_numpy(components).long()[foreground] - 1  # (P,)
        totals = torch.zeros(count, digits.shape[1]).index_add_(0, owner, digits[i][:, foreground].T)
        classes[i][foreground] = totals.argmax(1)[owner] + 1
    return classes


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
