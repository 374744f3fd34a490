"""Convolutional building blocks shared by the image families."""

from __future__ import annotations

import torch
from torch import nn


def group_norm(channels: int) -> nn.GroupNorm:
    """GroupNorm with the largest group count <= 8 that divides ``channels``."""
    groups = next(g for g in (8, 4, 2, 1) if channels % g == 0)
    return nn.GroupNorm(groups, channels)


class ResBlock(nn.Module):
    """Pre-activation residual block: norm -> SiLU -> conv3x3 -> norm -> SiLU -> conv3x3, plus a skip
    (1x1 conv when the channel count changes). Keeps spatial size."""

    def __init__(self, in_ch: int, out_ch: int | None = None, norm: bool = True) -> None:
        super().__init__()
        out_ch = out_ch or in_ch
        self.body = nn.Sequential(
            group_norm(in_ch) if norm else nn.Identity(),
            nn.SiLU(),
            nn.Conv2d(in_ch, out_ch, 3, padding=1),
            group_norm(out_ch) if norm else nn.Identity(),
            nn.SiLU(),
            nn.Conv2d(out_ch, out_ch, 3, padding=1),
        )
        self.skip = nn.Identity() if in_ch == out_ch else nn.Conv2d(in_ch, out_ch, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.skip(x) + self.body(x)
