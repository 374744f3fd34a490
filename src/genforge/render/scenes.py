"""Pictures of scenes with what a model found in them: boxes with digit and score, and class masks
laid over the image in the class's colour (one grid, drawn with Pillow).

A detector returns up to 100 boxes per scene, most of them near zero score, so only detections at or
above ``min_score`` are drawn; the scene is enlarged (nearest neighbour) so the labels stay legible.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genforge.core.io import atomic_write_bytes
from genforge.render.images import encode_picture, image_format

# one colour per digit 0-9 (RGB), distinct on a dark background
DIGIT_COLOURS = (
    (230, 60, 60), (60, 180, 75), (255, 200, 25), (70, 130, 240), (245, 130, 48),
    (170, 80, 210), (70, 220, 220), (240, 50, 230), (190, 240, 90), (250, 170, 190),
)  # fmt: skip


def scene_picture(
    images: torch.Tensor,
    *,
    detections: Sequence[Any] | None = None,
    semantic: Sequence[torch.Tensor] | None = None,
    min_score: float = 0.3,
    upscale: int = 4,
    columns: int = 4,
    alpha: float = 0.45,
):
    """A Pillow RGB grid of scenes ``images`` (N, 1, H, W) uint8, each with its ``detections`` (objects
    with ``boxes`` (D, 4) ``[x, y, w, h]`` in pixels, ``labels`` (D,) digits, ``scores`` (D,)) and its
    ``semantic`` mask (H, W) (0 = background, 1 + digit) blended in at ``alpha``."""
    from PIL import Image, ImageDraw, ImageFont

    n, _, height, width = images.shape
    side_h, side_w, pad = height * upscale, width * upscale, 4
    columns = max(1, min(columns, n))
    rows = math.ceil(n / columns)
    grid = Image.new("RGB", (columns * (side_w + pad) + pad, rows * (side_h + pad) + pad), (40, 40, 40))
    font = ImageFont.load_default()
    palette = np.asarray(((0, 0, 0), *DIGIT_COLOURS), dtype=np.float64)
    for i in range(n):
        scene = np.repeat(images[i, 0].cpu().numpy().astype(np.float64)[..., None], 3, axis=2)
        if semantic is not None:
            classes = np.asarray(semantic[i].cpu().numpy(), dtype=np.int64)
            tinted = (1 - alpha) * scene + alpha * palette[classes]
            scene = np.where((classes > 0)[..., None], tinted, scene)
        tile = Image.fromarray(np.clip(scene, 0, 255).astype(np.uint8)).resize(
            (side_w, side_h), Image.Resampling.NEAREST
        )
        if detections is not None:
            _draw_boxes(ImageDraw.Draw(tile), detections[i], min_score, upscale, font)
        top, left = pad + (i // columns) * (side_h + pad), pad + (i % columns) * (side_w + pad)
        grid.paste(tile, (left, top))
    return grid


def _draw_boxes(draw, found: Any, min_score: float, upscale: int, font) -> None:
    boxes, labels = np.asarray(found.boxes, dtype=np.float64), np.asarray(found.labels)
    scores = np.ones(len(labels)) if found.scores is None else np.asarray(found.scores, dtype=np.float64)
    for (x, y, w, h), digit, score in zip(boxes, labels, scores, strict=True):
        if score < min_score:
            continue
        colour = DIGIT_COLOURS[int(digit) % len(DIGIT_COLOURS)]
        x0, y0, x1, y1 = x * upscale, y * upscale, (x + w) * upscale - 1, (y + h) * upscale - 1
        draw.rectangle((x0, y0, x1, y1), outline=colour, width=2)
        text = f"{int(digit)} {score:.2f}"
        left, top, right, bottom = draw.textbbox((x0, y0), text, font=font)
        lift = bottom - top + 2
        top = y0 - lift if y0 >= lift else y0  # inside the box when there is no room above it
        draw.rectangle((x0, top, x0 + right - left + 2, top + lift), fill=colour)
        draw.text((x0 + 1, top), text, fill=(0, 0, 0), font=font)


def save_scene_picture(images: torch.Tensor, path: str | Path, **options: Any) -> Path:
    """:func:`scene_picture` written to ``path`` (PNG, JPEG or WebP by its extension)."""
    fmt = image_format(path)
    return atomic_write_bytes(path, encode_picture(scene_picture(images, **options), fmt))
