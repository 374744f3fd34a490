"""Turn samples into pictures people look at: image grids, 2-D density/sample plots, text.

Grids are assembled with torch ops and written with Pillow (no torchvision); plots use matplotlib's
Agg backend, imported only when a plot is drawn. A picture is written in the format its file name says
(:data:`IMAGE_FORMATS`: PNG, JPEG or WebP, encoded by Pillow); any other extension is refused.
"""

from __future__ import annotations

import io as _io
import math
from collections.abc import Callable
from pathlib import Path

import torch

from genforge.core.errors import ConfigError
from genforge.core.io import atomic_write_bytes, atomic_write_text

IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}


def image_format(path: str | Path) -> str:
    """Pillow's format name for the extension of ``path``; an extension we cannot write is a ConfigError."""
    suffix = Path(path).suffix.lower()
    if suffix not in IMAGE_FORMATS:
        raise ConfigError(
            f"cannot write a picture to {Path(path).name}: use a .png, .jpg/.jpeg or .webp file name"
        )
    return IMAGE_FORMATS[suffix]


def encode_picture(picture, fmt: str) -> bytes:
    """A Pillow image as ``fmt`` bytes: PNG, JPEG (quality 95, RGB or grey) or lossless WebP."""
    buffer = _io.BytesIO()
    if fmt == "JPEG":
        if picture.mode not in ("L", "RGB"):
            picture = picture.convert("RGB")
        picture.save(buffer, format="JPEG", quality=95)
    elif fmt == "WEBP":
        picture.save(buffer, format="WEBP", lossless=True)
    else:
        picture.save(buffer, format=fmt)
    return buffer.getvalue()


def save_picture(png: bytes, path: str | Path) -> Path:
    """Write PNG bytes (from matplotlib) to ``path`` in the format its extension names."""
    fmt = image_format(path)
    if fmt != "PNG":
        from PIL import Image

        with Image.open(_io.BytesIO(png)) as picture:
            png = encode_picture(picture, fmt)
    return atomic_write_bytes(path, png)


def image_grid(
    images: torch.Tensor,
    nrow: int | None = None,
    padding: int = 2,
    pad_value: float = 0.5,
    upscale: int | None = None,
) -> torch.Tensor:
    """``(N, C, H, W)`` in ``[0, 1]`` -> one ``(C, H', W')`` grid image; small images are upscaled
    (nearest) so an 8x8 digit is visible."""
    n, c, h, w = images.shape
    nrow = nrow or max(1, math.ceil(math.sqrt(n)))
    if upscale is None:
        upscale = max(1, 64 // max(h, w))
    if upscale > 1:
        images = torch.nn.functional.interpolate(images, scale_factor=upscale, mode="nearest")
        h, w = h * upscale, w * upscale
    rows = math.ceil(n / nrow)
    grid = torch.full((c, rows * (h + padding) + padding, nrow * (w + padding) + padding), pad_value)
    for i in range(n):
        r, col = divmod(i, nrow)
        top, left = padding + r * (h + padding), padding + col * (w + padding)
        grid[:, top : top + h, left : left + w] = images[i]
    return grid


def image_bytes(image: torch.Tensor, fmt: str = "PNG") -> bytes:
    """``(C, H, W)`` in ``[0, 1]`` (C = 1 or 3) -> encoded bytes (``fmt``: PNG, JPEG or WEBP)."""
    from PIL import Image

    array = (image.clamp(0, 1) * 255).round().to(torch.uint8)
    array = array[0] if array.shape[0] == 1 else array.permute(1, 2, 0)
    return encode_picture(Image.fromarray(array.contiguous().numpy()), fmt)


def save_image_grid(images: torch.Tensor, path: str | Path, nrow: int | None = None) -> Path:
    """A grid of ``images`` ``(N, C, H, W)`` in ``[0, 1]`` written to ``path`` (PNG, JPEG or WebP)."""
    fmt = image_format(path)
    return atomic_write_bytes(path, image_bytes(image_grid(images.detach().float().cpu(), nrow=nrow), fmt))


def save_points_plot(
    samples: torch.Tensor,
    path: str | Path,
    data: torch.Tensor | None = None,
    log_density: Callable[[torch.Tensor], torch.Tensor] | None = None,
    title: str = "",
) -> Path:
    """Scatter of ``samples`` (and ``data`` for comparison) and, if given, the model density on a grid."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = 2 + (log_density is not None)
    fig, axes = plt.subplots(1, panels, figsize=(4 * panels, 4), squeeze=False)
    lim = 4.0
    ax = axes[0][0]
    if data is not None:
        ax.scatter(data[:, 0], data[:, 1], s=2, alpha=0.4, c="tab:blue")
    ax.set_title("data")
    ax = axes[0][1]
    ax.scatter(samples[:, 0], samples[:, 1], s=2, alpha=0.4, c="tab:orange")
    ax.set_title("samples")
    if log_density is not None:
        ticks = torch.linspace(-lim, lim, 200)
        gx, gy = torch.meshgrid(ticks, ticks, indexing="xy")
        points = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)
        with torch.no_grad():
            density = torch.cat([log_density(chunk) for chunk in points.split(4096)]).exp().reshape(200, 200)
        ax = axes[0][2]
        ax.imshow(density.numpy(), origin="lower", extent=(-lim, lim, -lim, lim), cmap="magma")
        ax.set_title("model density")
    for ax in axes[0]:
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
    if title:
        fig.suptitle(title)
    buffer = _io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return save_picture(buffer.getvalue(), path)


def save_text_samples(texts: list[str], path: str | Path) -> Path:
    body = "\n\n".join(f"--- sample {i}\n{t}" for i, t in enumerate(texts))
    return atomic_write_text(path, body + "\n")
