"""A small encoder-decoder for dense (per-pixel) predictions: the trunk of the scene detector and segmenter.

Two halvings with residual blocks down, the mirror up with skip connections (a UNet without time
embedding, Ronneberger et al. 2015). ``output_stride`` says where the decoder stops: 1 ends at full
resolution (the segmenter: a class per pixel), 4 ends at the quarter-resolution bottleneck (the detector:
CenterNet predicts at stride 4, Zhou et al. 2019), which skips the two most expensive stages. At stride 4
an extra residual block widens the view so a centre cell sees a 32-pixel digit whole. ``depth`` 3 adds a
third halving (two residual blocks at an eighth of the resolution, then up and merged with the quarter):
a full-resolution pixel then sees the whole digit it belongs to, which naming that digit needs.
"""

from __future__ import annotations

import torch
from torch import nn

from genforge.nn.conv import ResBlock

OUTPUT_STRIDES = (1, 2, 4)
DEPTHS = (2, 3)


class DenseTrunk(nn.Module):
    """Images ``(B, C, H, W)`` (H, W divisible by 4) -> features ``(B, out_channels, H/s, W/s)`` for the
    output stride ``s``; ``out_channels`` is ``width * s``. ``depth`` (2 or 3) is the number of halvings;
    with 3, H and W must be divisible by 8."""

    def __init__(self, in_channels: int, width: int = 16, output_stride: int = 1, depth: int = 2) -> None:
        super().__init__()
        if output_stride not in OUTPUT_STRIDES:
            raise ValueError(f"output_stride must be one of {OUTPUT_STRIDES}, got {output_stride}")
        if depth not in DEPTHS:
            raise ValueError(f"depth must be one of {DEPTHS}, got {depth}")
        self.output_stride = output_stride
        self.depth = depth
        self.out_channels = width * output_stride
        self.stem = nn.Conv2d(in_channels, width, 3, padding=1)
        self.down1 = nn.Sequential(nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), ResBlock(2 * width))
        self.down2 = nn.Sequential(
            nn.Conv2d(2 * width, 4 * width, 3, stride=2, padding=1),
            ResBlock(4 * width),
            *([ResBlock(4 * width)] if output_stride == 4 else []),
        )
        if depth == 3:
            self.down3 = nn.Sequential(
                nn.Conv2d(4 * width, 8 * width, 3, stride=2, padding=1),
                ResBlock(8 * width),
                ResBlock(8 * width),
            )
            self.up3 = nn.Sequential(
                nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(8 * width, 4 * width, 3, padding=1)
            )
            self.merge3 = ResBlock(8 * width, 4 * width)
        if output_stride <= 2:
            self.up2 = nn.Sequential(
                nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(4 * width, 2 * width, 3, padding=1)
            )
            self.merge2 = ResBlock(4 * width, 2 * width)
        if output_stride == 1:
            self.up1 = nn.Sequential(
                nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(2 * width, width, 3, padding=1)
            )
            self.merge1 = ResBlock(2 * width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        full = self.stem(x)
        half = self.down1(full)
        quarter = self.down2(half)
        if self.depth == 3:
            quarter = self.merge3(torch.cat([self.up3(self.down3(quarter)), quarter], 1))
        if self.output_stride == 4:
            return quarter
        half = self.merge2(torch.cat([self.up2(quarter), half], 1))
        if self.output_stride == 2:
            return half
        return self.merge1(torch.cat([self.up1(half), full], 1))


def centre_focal_loss(logits: torch.Tensor, heat: torch.Tensor) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss (alpha 2, beta 4; Zhou et al. 2019, eq. 1), summed over
    the heatmap: ``logits`` and target ``heat`` (B, C, H, W), 1 at object centres and a Gaussian bump
    around them. Divide by the number of objects."""
    p = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4)
    focal = torch.where(heat == 1, (1 - p) ** 2 * p.log(), (1 - heat) ** 4 * p**2 * (1 - p).log())
    return -focal.sum()


def gaussian_bump(height: int, width: int, px: int, py: int, sigma: float) -> torch.Tensor:
    """(H, W) Gaussian of std ``sigma`` (cells), 1 at the cell (``py``, ``px``)."""
    ys = torch.arange(height, dtype=torch.float32).view(-1, 1)
    xs = torch.arange(width, dtype=torch.float32).view(1, -1)
    return torch.exp(-((xs - px) ** 2 + (ys - py) ** 2) / (2 * sigma**2))
