"""Anchor-free object detection on scenes (``scenes:DIR``): centre heatmaps and box sizes (CenterNet,
Zhou et al. 2019, "Objects as Points"), in plain torch.

A :class:`~genforge.nn.dense.DenseTrunk` feeds three 1x1 heads on a grid ``output_stride`` times coarser
than the image (4 by default, as in the paper: a 16x16 grid for a 64x64 scene, about five times cheaper
to train than full resolution): a heatmap per class (sigmoid) whose peaks are object centres, the box
width and height at the centre, and the centre's offset inside its cell, all in grid units. Training
targets come from the scene's boxes: a Gaussian bump per object on its class's heatmap (standard
deviation a sixth of the box's larger side, peak 1 at the centre cell), trained with CenterNet's
penalty-reduced focal loss (alpha 2, beta 4) normalised by the number of objects; size and offset
with an L1 loss at the centre cells (size weighted 0.1 as in the paper). ``detect`` keeps the local
maxima (3x3) of the heatmaps, the ``max_detections`` highest, and returns ``[x, y, w, h]`` boxes with
their class and score; :mod:`genforge.pipelines.scenes` scores them with COCO mAP.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field
from torch import nn

from genforge.core.config import Config
from genforge.data.info import DataInfo
from genforge.data.transforms import ToSymmetric
from genforge.models.base import GenerativeModel, register_model
from genforge.models.segmenter import check_scenes
from genforge.nn.dense import DenseTrunk, centre_focal_loss, gaussian_bump


class DetectorConfig(Config):
    width: int = Field(16, ge=4, le=128, description="channels at full resolution")
    output_stride: Literal[1, 2, 4] = Field(4, description="the heads' grid is this many times coarser")
    size_weight: float = Field(0.1, ge=0.0, le=10.0, description="weight of the box-size L1 loss")
    max_detections: int = Field(100, ge=1, le=1000, description="detections kept per image")
    giou_weight: float = Field(
        0.0,
        ge=0.0,
        le=10.0,
        description="weight of a GIoU loss on the decoded box at each centre (0: off; an IoU-aware "
        "size loss, Rezatofighi et al. 2019)",
    )


@register_model(
    "detector", config=DetectorConfig, data_kinds=("image",), train_defaults={"lr": 2e-3, "batch_size": 32}
)
class Detector(GenerativeModel):
    """Boxes of digits in scenes ``(B, 1, H, W)``."""

    def __init__(self, config: DetectorConfig, info: DataInfo) -> None:
        super().__init__(config, info)
        check_scenes(info, "detector")
        self.num_classes = info.num_classes or 1
        self.stride = config.output_stride
        self.trunk = DenseTrunk(info.shape[0], config.width, self.stride)
        channels = self.trunk.out_channels
        self.heatmap = nn.Conv2d(channels, self.num_classes, 1)
        nn.init.constant_(self.heatmap.bias, -2.19)  # sigmoid = 0.1 at the start (CenterNet's prior)
        self.size = nn.Conv2d(channels, 2, 1)
        self.offset = nn.Conv2d(channels, 2, 1)
        self.to_input = ToSymmetric(info.num_levels)

    def heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = self.trunk(self.to_input(x))
        return self.heatmap(h), self.size(h), self.offset(h)

    def targets(self, boxes: torch.Tensor, height: int, width: int):
        """Heatmaps (B, C, H, W) on the heads' grid (``height`` x ``width`` cells) and the centre cells
        ``[image, row, column, w, h, offset x, offset y]`` (grid units) from ``boxes`` (B, K, 5) rows
        ``[label, x, y, w, h]`` in image pixels (label -1 pads)."""
        b = boxes.shape[0]
        heat = torch.zeros(b, self.num_classes, height, width)
        real = (boxes[..., 0] >= 0).nonzero().tolist()
        centres = []
        for i, k in real:
            label, x, y, w, h = (boxes[i, k] / torch.tensor([1.0] + [self.stride] * 4)).tolist()
            cx, cy = x + w / 2, y + h / 2
            px, py = min(int(cx), width - 1), min(int(cy), height - 1)
            bump = gaussian_bump(height, width, px, py, max(w, h) / 6)
            heat[i, int(label)] = torch.maximum(heat[i, int(label)], bump)
            centres.append((i, py, px, w, h, cx - px, cy - py))
        return heat, torch.tensor(centres, dtype=torch.float32).view(-1, 7)

    def loss(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        x = batch["x"]
        logits, size, offset = self.heads(x)
        heat, centres = self.targets(batch["boxes"], logits.shape[2], logits.shape[3])
        num = max(len(centres), 1)
        heat_loss = centre_focal_loss(logits, heat) / num
        if len(centres):
            i, py, px = centres[:, 0].long(), centres[:, 1].long(), centres[:, 2].long()
            sizes, offsets = size[i, :, py, px], offset[i, :, py, px]
            size_loss = (sizes - centres[:, 3:5]).abs().sum() / num
            offset_loss = (offsets - centres[:, 5:7]).abs().sum() / num
            # boxes (centre, size) relative to the centre cell, predicted and true
            box_loss = (
                giou_loss(
                    torch.cat([offsets, sizes], 1), torch.cat([centres[:, 5:7], centres[:, 3:5]], 1)
                ).sum()
                / num
            )
        else:
            size_loss = offset_loss = box_loss = logits.sum() * 0
        total = heat_loss + self.config.size_weight * size_loss + offset_loss
        terms = {"heatmap": heat_loss.detach(), "size": size_loss.detach(), "offset": offset_loss.detach()}
        if self.config.giou_weight:
            total = total + self.config.giou_weight * box_loss
            terms["giou"] = box_loss.detach()
        return {"loss": total, **terms}

    @torch.no_grad()
    def detect(self, x: torch.Tensor) -> list[dict[str, torch.Tensor]]:
        """Per image: ``boxes`` (D, 4) as ``[x, y, w, h]`` in image pixels, ``labels`` (D,), ``scores``
        (D,)."""
        logits, size, offset = self.heads(x)
        heat = torch.sigmoid(logits)
        peaks = heat * (nn.functional.max_pool2d(heat, 3, stride=1, padding=1) == heat)
        b, c, h, w = heat.shape
        scores, index = peaks.flatten(1).topk(min(self.config.max_detections, c * h * w), dim=1)
        labels, cell = index // (h * w), index % (h * w)  # (B, K)
        at_cell = cell.unsqueeze(1).expand(-1, 2, -1)
        sizes = size.flatten(2).gather(2, at_cell).clamp_min(1 / self.stride)  # (B, 2, K)
        centres = torch.stack([cell % w, cell // w], 1) + offset.flatten(2).gather(2, at_cell)
        boxes = torch.cat([centres - sizes / 2, sizes], 1).transpose(1, 2) * self.stride  # (B, K, 4)
        out = []
        for i in range(b):
            keep = scores[i] > 0
            out.append({"boxes": boxes[i][keep], "labels": labels[i][keep], "scores": scores[i][keep]})
        return out


def giou_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``1 - GIoU`` (Rezatofighi et al. 2019) per row of boxes ``(N, 4)`` given as ``[cx, cy, w, h]``:
    0 for the same box, up to 2 for far apart ones; a predicted size below 0 counts as 0."""
    pw, ph = pred[:, 2].clamp_min(0), pred[:, 3].clamp_min(0)
    tw, th = target[:, 2], target[:, 3]
    p0, p1 = pred[:, :2] - torch.stack([pw, ph], 1) / 2, pred[:, :2] + torch.stack([pw, ph], 1) / 2
    t0, t1 = target[:, :2] - target[:, 2:] / 2, target[:, :2] + target[:, 2:] / 2
    inter = (torch.minimum(p1, t1) - torch.maximum(p0, t0)).clamp_min(0).prod(1)
    union = pw * ph + tw * th - inter
    hull = (torch.maximum(p1, t1) - torch.minimum(p0, t0)).prod(1)
    iou = inter / union.clamp_min(1e-9)
    return 1 - iou + (hull - union) / hull.clamp_min(1e-9)
