"""A small encoder-decoder for dense (per-pixel) predictions: the trunk of the scene detector and segmenter.

Two halvings with residual blocks down, the mirror up with skip connections (a UNet without time
embedding, Ronneberger et al. 2015), ending at full resolution with ``width`` channels, so every pixel
sees about 40 pixels around it: enough for digits up to 32 pixels on the scene canvases.
"""

from __future__ import annotations

import torch
from torch import nn

from genforge.nn.conv import ResBlock


class DenseTrunk(nn.Module):
    """Images ``(B, C, H, W)`` (H, W divisible by 4) -> features ``(B, width, H, W)``."""

    def __init__(self, in_channels: int, width: int = 16) -> None:
        super().__init__()
        self.stem = nn.Conv2d(in_channels, width, 3, padding=1)
        self.down1 = nn.Sequential(nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), ResBlock(2 * width))
        self.down2 = nn.Sequential(
            nn.Conv2d(2 * width, 4 * width, 3, stride=2, padding=1), ResBlock(4 * width)
        )
        self.up2 = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(4 * width, 2 * width, 3, padding=1)
        )
        self.merge2 = ResBlock(4 * width, 2 * width)
        self.up1 = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(2 * width, width, 3, padding=1)
        )
        self.merge1 = ResBlock(2 * width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        full = self.stem(x)
        half = self.down1(full)
        quarter = self.down2(half)
        half = self.merge2(torch.cat([self.up2(quarter), half], 1))
        return self.merge1(torch.cat([self.up1(half), full], 1))
