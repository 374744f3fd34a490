"""``random-cnn[:SEED]``: a fixed random 3-layer CNN with global-average-pooled 128-d features.

Weights come from a ``torch.Generator`` seeded with SEED (default 0); the SHA-256 is computed from the
generated weights, so a change in torch's generator shows up as a different hash rather than silently
different numbers. ``auto`` uses it for images that are not 1 x 8 x 8.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from genforge.core.errors import ConfigError, DataError
from genforge.metrics.extractors import register_extractor
from genforge.metrics.extractors.base import Extractor, sha256_tensors


@register_extractor("random-cnn")
class RandomCNNExtractor(Extractor):
    """Fixed random CNN: conv3x3(C->32) ReLU, conv3x3/2(32->64) ReLU, conv3x3/2(64->128) ReLU, global mean.

    Weights are He-normal from a seeded generator; inputs are mapped to [-1, 1] first."""

    name = "random-cnn"
    argument = "SEED"
    feature_dim = 128

    def __init__(self, seed: int = 0, resize: str = "auto") -> None:
        super().__init__(sha256="", resize="none" if resize == "auto" else resize, channels=None, size=None)
        self.seed = seed
        self._nets: dict[int, nn.Sequential] = {}

    def _net(self, channels: int) -> nn.Sequential:
        if channels not in self._nets:
            gen = torch.Generator().manual_seed(self.seed)
            layers: list[nn.Module] = []
            for c_in, c_out, stride in ((channels, 32, 1), (32, 64, 2), (64, 128, 2)):
                conv = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1)
                with torch.no_grad():
                    conv.weight.copy_(
                        torch.randn(conv.weight.shape, generator=gen) * (2.0 / (c_in * 9)) ** 0.5
                    )
                    conv.bias.zero_()
                layers += [conv, nn.ReLU()]
            net = nn.Sequential(*layers).eval().requires_grad_(False)
            self._nets[channels] = net
        return self._nets[channels]

    def weights_sha256(self, channels: int) -> str:
        return sha256_tensors(self._net(channels).state_dict())

    def bind(self, image_shape: tuple[int, ...]) -> Extractor:
        super().bind(image_shape)
        if min(image_shape[1:]) < 4:
            raise DataError(
                f"random-cnn takes images of at least 4x4 pixels, got {image_shape[1]}x{image_shape[2]}"
            )
        self.sha256 = self.weights_sha256(image_shape[0])
        return self

    def features(self, images: torch.Tensor) -> torch.Tensor:
        x = self.to_input(images)
        return self._net(x.shape[1])(x * 2.0 - 1.0).mean(dim=(2, 3))

    @classmethod
    def from_spec(cls, argument: str, resize: str, **extra: Any) -> Extractor:
        if argument and not argument.isdigit():
            raise ConfigError(f"random-cnn takes an integer argument (random-cnn:N), got '{argument}'")
        return cls(int(argument) if argument else 0, resize)

    @classmethod
    def listing(cls) -> dict[str, Any]:
        return {
            "name": cls.spec_syntax(),
            "input": "any (>= 4x4)",
            "feature_dim": 128,
            "sha256": "per channels",
            "about": "fixed random 3-layer CNN, global-average-pooled",
        }
