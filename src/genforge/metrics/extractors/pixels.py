"""``pixels[:SIZE]``: the flattened pixels (optionally resized to ``SIZE x SIZE``), a transparent fallback
for any domain. Its SHA-256 is that of its definition and size, so results still name what made them.
"""

from __future__ import annotations

import hashlib
from typing import Any

import torch

from genforge.core.errors import ConfigError
from genforge.metrics.extractors import register_extractor
from genforge.metrics.extractors.base import Extractor


@register_extractor("pixels")
class PixelsExtractor(Extractor):
    """The flattened pixels, optionally resized to ``SIZE x SIZE``."""

    name = "pixels"
    argument = "SIZE"

    def __init__(self, size: int | None = None, resize: str = "auto") -> None:
        tag = f"genforge-pixels-v1:{size or 'native'}"
        super().__init__(
            sha256=hashlib.sha256(tag.encode()).hexdigest(),
            resize=("bilinear" if size else "none") if resize == "auto" else resize,
            channels=None,
            size=size,
        )

    def bind(self, image_shape: tuple[int, ...]) -> Extractor:
        super().bind(image_shape)
        c, h, w = image_shape
        self.feature_dim = c * self.size * self.size if self.size else c * h * w
        return self

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.to_input(images).flatten(1)

    @classmethod
    def from_spec(cls, argument: str, resize: str, **extra: Any) -> Extractor:
        if argument and not argument.isdigit():
            raise ConfigError(f"pixels takes an integer argument (pixels:N), got '{argument}'")
        return cls(int(argument) if argument else None, resize)

    @classmethod
    def listing(cls) -> dict[str, Any]:
        return {
            "name": cls.spec_syntax(),
            "input": "any",
            "feature_dim": "C*H*W",
            "sha256": "per size",
            "about": "flattened pixels",
        }
