"""Downsampling and upsampling convolutional stacks sized from an image shape.

The VAE encoder and the GAN discriminator are the same shape of network (strided convolutions down to a
small grid, then a flat feature vector); the VAE decoder and the DCGAN generator are its mirror (a linear
map to a small grid, then transposed convolutions up to the image size). Both are built here once and
sized from ``(C, H, W)``, so 8x8 digits get one halving and 32x32 images three (Radford et al. 2016,
DCGAN, for the 4x4-kernel stride-2 layout).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from genforge.nn.conv import ResBlock, group_norm

Norm = Literal["batch", "group", "none"]
Activation = Literal["silu", "relu", "leaky_relu"]


def num_halvings(height: int, width: int, min_size: int = 4) -> int:
    """How many times an ``height x width`` grid can be halved exactly while staying >= ``min_size``."""
    count = 0
    while height % 2 == 0 and width % 2 == 0 and min(height, width) // 2 >= min_size:
        height, width, count = height // 2, width // 2, count + 1
    return count


def _norm(kind: Norm, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "group":
        return group_norm(channels)
    return nn.Identity()


def _activation(kind: Activation) -> nn.Module:
    if kind == "leaky_relu":
        return nn.LeakyReLU(0.2)
    if kind == "relu":
        return nn.ReLU()
    return nn.SiLU()


def _widths(base_channels: int, levels: int, max_channels: int) -> list[int]:
    """Channel count at each resolution level, doubling from ``base_channels`` (level 0 = full size)."""
    return [min(base_channels * 2**i, max_channels) for i in range(levels + 1)]


class ConvEncoder(nn.Module):
    """Images ``(B, C, H, W)`` -> features ``(B, feature_dim)``.

    A 3x3 stem, then per halving a 4x4 stride-2 convolution (doubling channels up to ``max_channels``)
    with ``res_blocks`` residual blocks before it, then a flatten. ``feature_dim`` is the flattened size.
    """

    def __init__(
        self,
        shape: tuple[int, int, int],
        base_channels: int = 32,
        max_channels: int = 256,
        norm: Norm = "group",
        activation: Activation = "silu",
        res_blocks: int = 0,
        min_size: int = 4,
    ) -> None:
        super().__init__()
        channels, height, width = shape
        levels = num_halvings(height, width, min_size)
        widths = _widths(base_channels, levels, max_channels)
        layers: list[nn.Module] = [nn.Conv2d(channels, widths[0], 3, padding=1), _activation(activation)]
        for i in range(levels):
            layers += [ResBlock(widths[i], norm=norm == "group") for _ in range(res_blocks)]
            layers += [
                nn.Conv2d(widths[i], widths[i + 1], 4, stride=2, padding=1),
                _norm(norm, widths[i + 1]),
                _activation(activation),
            ]
        layers += [ResBlock(widths[-1], norm=norm == "group") for _ in range(res_blocks)]
        self.net = nn.Sequential(*layers, nn.Flatten())
        self.grid = (height // 2**levels, width // 2**levels)
        self.feature_dim = widths[-1] * self.grid[0] * self.grid[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class ConvDecoder(nn.Module):
    """Vectors ``(B, in_features)`` -> maps ``(B, out_channels, H, W)`` (unnormalised: logits or values).

    A linear layer onto the coarsest grid the matching :class:`ConvEncoder` reaches, then per halving a
    4x4 stride-2 transposed convolution (halving channels), then a 3x3 output convolution.
    """

    def __init__(
        self,
        in_features: int,
        out_channels: int,
        size: tuple[int, int],
        base_channels: int = 32,
        max_channels: int = 256,
        norm: Norm = "group",
        activation: Activation = "silu",
        res_blocks: int = 0,
        min_size: int = 4,
    ) -> None:
        super().__init__()
        height, width = size
        levels = num_halvings(height, width, min_size)
        widths = _widths(base_channels, levels, max_channels)
        self.grid = (height // 2**levels, width // 2**levels)
        self.project = nn.Linear(in_features, widths[-1] * self.grid[0] * self.grid[1])
        self.top_channels = widths[-1]
        layers: list[nn.Module] = []
        for i in reversed(range(levels)):
            layers += [ResBlock(widths[i + 1], norm=norm == "group") for _ in range(res_blocks)]
            layers += [
                _norm(norm, widths[i + 1]),
                _activation(activation),
                nn.ConvTranspose2d(widths[i + 1], widths[i], 4, stride=2, padding=1),
            ]
        layers += [ResBlock(widths[0], norm=norm == "group") for _ in range(res_blocks)]
        layers += [
            _norm(norm, widths[0]),
            _activation(activation),
            nn.Conv2d(widths[0], out_channels, 3, padding=1),
        ]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.project(z).view(z.shape[0], self.top_channels, *self.grid)
        return self.net(h)
