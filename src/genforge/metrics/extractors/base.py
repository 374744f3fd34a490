"""What every feature extractor shares: the frozen-network protocol, resizing conventions and hashing.

An extractor maps images ``(N, C, H, W)`` in [0, 1] to features ``(N, D)`` (and, when it has a
classifier, logits ``(N, K)``). It reports ``name``, ``sha256`` and ``resize`` so results carry them.
Each kind of extractor is one file in this package that subclasses :class:`Extractor`, says how it is
named on the command line (``argument``, ``resize_modes``, ``listing()``) and registers itself with
``@register_extractor("name")`` (see :mod:`genforge.metrics.extractors`).
"""

from __future__ import annotations

import hashlib
import os
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from genforge.core.errors import ConfigError, DataError
from genforge.metrics.base import FeatureSource


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def sha256_tensors(tensors: dict[str, torch.Tensor]) -> str:
    """Hash of named tensors (names, shapes, dtypes and bytes, in name order)."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        digest.update(f"{name}|{tuple(t.shape)}|{t.dtype}\n".encode())
        digest.update(t.numpy().tobytes())
    return digest.hexdigest()


def resize_bilinear(x: torch.Tensor, size: int) -> torch.Tensor:
    """torch bilinear resize (align_corners=False), antialiased when shrinking."""
    shrinking = size < max(x.shape[-2:])
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=shrinking)


def resize_tf1(x: torch.Tensor, size: int) -> torch.Tensor:
    """TensorFlow 1.x ``resize_bilinear(align_corners=False)``: source coordinate ``dst * in / out``
    (no half-pixel offset), the upper neighbour clamped to the border."""

    def axis_weights(n_in: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        src = torch.arange(size, dtype=torch.float64) * (n_in / size)
        lower = src.floor().long().clamp(max=n_in - 1)
        upper = (lower + 1).clamp(max=n_in - 1)
        return lower, upper, (src - lower).to(x.dtype)

    top, bottom, wy = axis_weights(x.shape[-2])
    left, right, wx = axis_weights(x.shape[-1])
    rows = x[..., top, :] + (x[..., bottom, :] - x[..., top, :]) * wy[:, None]
    return rows[..., left] + (rows[..., right] - rows[..., left]) * wx


class Extractor(nn.Module):
    """A frozen image -> feature network. Images are ``(N, C, H, W)`` floats in [0, 1].

    Class attributes say how the extractor is named and listed: ``argument`` (what follows ``name:``,
    e.g. ``PATH``; None for none) and whether it is required, and ``resize_modes`` (the ``--resize``
    values it accepts besides ``auto``).
    """

    name: ClassVar[str] = "extractor"
    argument: ClassVar[str | None] = None
    argument_required: ClassVar[bool] = False
    resize_modes: ClassVar[tuple[str, ...]] = ("none", "bilinear")
    feature_dim = 0
    num_classes: int | None = None

    def __init__(self, *, sha256: str, resize: str, channels: int | None, size: int | None) -> None:
        super().__init__()
        self.sha256 = sha256
        self.resize = resize
        self.channels = channels
        self.size = size

    @classmethod
    def from_spec(cls, argument: str, resize: str, **extra: Any) -> Extractor:
        """Build from the text after ``name:`` (empty when none was given) and a resize mode."""
        if argument:
            raise ConfigError(f"the {cls.name} extractor takes no argument, got '{cls.name}:{argument}'")
        return cls(resize=resize)

    @classmethod
    def spec_syntax(cls) -> str:
        """How the extractor is written on the command line: ``digits``, ``inception:PATH``, ``pixels[:SIZE]``."""
        if cls.argument is None:
            return cls.name
        return f"{cls.name}:{cls.argument}" if cls.argument_required else f"{cls.name}[:{cls.argument}]"

    @classmethod
    def listing(cls) -> dict[str, Any]:
        """One row of ``genforge metrics extractors``: name, input, feature_dim, sha256, about."""
        raise NotImplementedError

    @property
    def source(self) -> FeatureSource:
        return FeatureSource(self.name, self.sha256)

    def check(self, images: torch.Tensor) -> None:
        if images.ndim != 4:
            raise DataError(
                f"{self.name} extractor takes (N, C, H, W) images, got shape {tuple(images.shape)}"
            )
        c, h, w = images.shape[1:]
        if self.channels is not None and c != self.channels:
            raise DataError(f"{self.name} extractor takes {self.channels}-channel images, got {c} channels")
        if self.size is not None and self.resize == "none" and (h, w) != (self.size, self.size):
            raise DataError(
                f"{self.name} extractor takes {self.size}x{self.size} images, got {h}x{w}: "
                "pass --resize bilinear to resize them"
            )

    def to_input(self, images: torch.Tensor) -> torch.Tensor:
        self.check(images)
        if self.size is not None and images.shape[-2:] != (self.size, self.size) and self.resize != "none":
            images = resize_bilinear(images, self.size)
        return images

    def bind(self, image_shape: tuple[int, ...]) -> Extractor:
        """Fix what depends on the input shape ``(C, H, W)`` (hash, feature size) before extracting."""
        self.check(torch.empty((0, *image_shape)))
        return self

    def features(self, images: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        raise DataError(
            f"the {self.name} extractor has no classifier: use digits or inception:PATH for this score"
        )

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "sha256": self.sha256,
            "resize": self.resize,
            "feature_dim": self.feature_dim,
        }
