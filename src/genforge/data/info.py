"""What a model needs to know about its data to build itself.

Datasets describe themselves with a :class:`DataInfo`; model families (``models/``) read it. It lives with
the datasets, one layer below nothing: ``data/`` never imports ``models/``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DataInfo:
    """What a model needs to know about its data to build itself."""

    kind: str  # "image" | "points" | "tokens" | "pairs"
    shape: tuple[int, ...]  # per example: (C, H, W), (2,), (T,)
    num_levels: int | None = None  # discrete values per image channel (17 for digits, 256 for 8-bit)
    num_classes: int | None = None
    vocab_size: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def num_dims(self) -> int:
        return math.prod(self.shape)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "shape": list(self.shape),
            "num_levels": self.num_levels,
            "num_classes": self.num_classes,
            "vocab_size": self.vocab_size,
            "extra": self.extra,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DataInfo:
        return cls(
            kind=d["kind"],
            shape=tuple(d["shape"]),
            num_levels=d.get("num_levels"),
            num_classes=d.get("num_classes"),
            vocab_size=d.get("vocab_size"),
            extra=d.get("extra", {}),
        )
