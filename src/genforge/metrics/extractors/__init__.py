"""Feature extractors for image metrics, registered by name; none is downloaded at run time.

An extractor is written ``NAME`` or ``NAME:ARG`` (``digits``, ``inception:PATH``, ``pixels[:SIZE]``,
``random-cnn[:SEED]``; ``genforge metrics extractors`` lists them). Each is one file in this package:
an :class:`~.base.Extractor` subclass registered with ``@register_extractor("name")``, its module listed in
:data:`EXTRACTOR_MODULES`. ``auto`` picks ``digits`` for 1 x 8 x 8 images and ``random-cnn`` otherwise.
Every extractor reports ``name``, ``sha256`` and ``resize`` so results carry them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from genforge.core.errors import ConfigError, DataError, ModelNotFound
from genforge.core.registry import Registry
from genforge.metrics.extractors.base import (
    Extractor,
    resize_bilinear,
    resize_tf1,
    sha256_file,
    sha256_tensors,
)

__all__ = [
    "EXTRACTORS",
    "Extractor",
    "describe_extractors",
    "extract",
    "load_extractor",
    "register_extractor",
    "resize_bilinear",
    "resize_tf1",
    "resolve_extractor_spec",
    "sha256_file",
    "sha256_tensors",
]

EXTRACTOR_MODULES = [
    "genforge.metrics.extractors.digits",
    "genforge.metrics.extractors.inception",
    "genforge.metrics.extractors.pixels",
    "genforge.metrics.extractors.random_cnn",
]
EXTRACTORS = Registry("extractor", modules=EXTRACTOR_MODULES)
RESIZE_MODES = ("auto", "none", "bilinear", "tf1")


def register_extractor(name: str):
    """Class decorator: register an :class:`Extractor` subclass under ``name`` (what users type)."""

    def decorator(cls: type[Extractor]) -> type[Extractor]:
        if cls.name != name:
            raise ValueError(f"extractor class {cls.__name__} is named {cls.name!r}, registered as {name!r}")
        return EXTRACTORS.register(name)(cls)

    return decorator


def resolve_extractor_spec(spec: str, image_shape: tuple[int, ...]) -> str:
    """``auto`` -> ``digits`` for 1x8x8 images, ``random-cnn`` otherwise; other specs unchanged."""
    if spec != "auto":
        return spec
    return "digits" if tuple(image_shape) == (1, 8, 8) else "random-cnn"


def load_extractor(spec: str, *, resize: str = "auto", expected_sha256: str | None = None) -> Extractor:
    """Build the extractor named by ``spec`` (``NAME`` or ``NAME:ARG``, see ``genforge metrics extractors``).
    ``expected_sha256`` overrides the FID weights hash (for converted Inception files)."""
    if resize not in RESIZE_MODES:
        raise ConfigError(f"resize must be one of {', '.join(RESIZE_MODES)}, got {resize!r}")
    name, _, argument = spec.partition(":")
    try:
        cls = EXTRACTORS.get(name).obj
    except ModelNotFound:
        known = ", ".join(entry.obj.spec_syntax() for entry in EXTRACTORS.entries())
        raise ConfigError(f"unknown extractor '{spec}' (registered: {known})") from None
    if resize != "auto" and resize not in cls.resize_modes:
        raise ConfigError(
            f"the {name} extractor takes --resize auto, {' or '.join(cls.resize_modes)}, not {resize}"
            + (" (tf1 is the Inception convention)" if resize == "tf1" else "")
        )
    return cls.from_spec(argument, resize, expected_sha256=expected_sha256)


@torch.inference_mode()
def extract(
    extractor: Extractor, images: Any, *, batch_size: int = 256, output: str = "features"
) -> np.ndarray:
    """Run ``images`` (numpy or torch ``(N, C, H, W)`` in [0, 1]) through the extractor in batches.

    ``output``: ``"features"`` -> ``(N, D)``; ``"logits"`` -> ``(N, K)``. Returns float64 numpy.
    """
    if output not in ("features", "logits"):
        raise ConfigError(f"output must be features or logits, got {output!r}")
    x = images if isinstance(images, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(images))
    x = x.float()
    if len(x) == 0:
        raise DataError("no images to extract features from")
    if x.min() < 0 or x.max() > 1:
        raise DataError("images must lie in [0, 1] before feature extraction")
    extractor.bind(tuple(x.shape[1:]))
    run = extractor.features if output == "features" else extractor.logits
    parts = [run(x[start : start + batch_size]).double().numpy() for start in range(0, len(x), batch_size)]
    return np.concatenate(parts)


def describe_extractors() -> list[dict[str, Any]]:
    """One row per registered extractor for ``genforge metrics extractors`` (digits first)."""
    return [entry.obj.listing() for entry in EXTRACTORS.entries()]
