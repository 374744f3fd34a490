"""Sampling from trained runs: sample grids and latent interpolations (the API behind ``genforge sample``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from genforge.core.errors import ConfigError
from genforge.core.runs import Run
from genforge.core.seed import make_generator
from genforge.pipelines.training import load_run, render_samples
from genforge.render.images import save_image_grid


def sample(
    run: str | Path | Run,
    n: int = 64,
    *,
    out: str | Path | None = None,
    seed: int = 0,
    temperature: float = 1.0,
    **opts: Any,
) -> Path:
    """Draw ``n`` samples from ``run`` (EMA weights if any) and write them to ``out`` (PNG for images and
    points, TXT for text); default ``out`` is ``RUN/samples/sample-seed<seed>.png``."""
    if n < 1:
        raise ConfigError(f"-n must be at least 1, got {n}")
    if temperature < 0:
        raise ConfigError(f"--temperature must be >= 0, got {temperature}")
    loaded = load_run(run)
    stem = Path(out).with_suffix("") if out else loaded.run.samples_dir / f"sample-seed{seed}"
    with torch.no_grad():
        path = render_samples(loaded.model, loaded.dataset, stem, n, seed, temperature=temperature, **opts)
    if path is None:
        raise ConfigError(f"family {loaded.config['family']} has no picture to draw; use its own command")
    if out and Path(out).suffix and path != Path(out):
        path.replace(out)
        path = Path(out)
    return path


def interpolate(
    run: str | Path | Run, steps: int = 8, *, out: str | Path | None = None, seed: int = 0, rows: int = 8
) -> Path:
    """Latent interpolation grid: ``rows`` pairs of test images (all splits if the test split is too
    small) encoded, ``steps`` points linearly between
    their latents, decoded (VAE, flows). Families with a decoder but no encoder (GAN) interpolate between
    random latents instead."""
    if steps < 2:
        raise ConfigError(f"--interpolate needs at least 2 steps, got {steps}")
    loaded = load_run(run)
    model = loaded.model
    if model.info.kind != "image":
        raise ConfigError("interpolation grids are for image models")
    generator = make_generator(seed)
    with torch.no_grad():
        if model.has("encode") and model.has("decode"):
            pool = loaded.dataset.split("test")["x"]
            if len(pool) < 2 * rows:  # a small folder: draw the end points from all splits
                pool = torch.cat([loaded.dataset.split(s)["x"] for s in ("test", "val", "train")])
            rows = min(rows, len(pool) // 2)
            ids = torch.randperm(len(pool), generator=generator)[: 2 * rows]
            z = model.encode(pool[ids])
            start, end = z[:rows], z[rows : 2 * rows]
        elif model.has("decode") and hasattr(model, "latent_dim"):
            start = torch.randn(rows, model.latent_dim, generator=generator)
            end = torch.randn(rows, model.latent_dim, generator=generator)
        else:
            raise ConfigError(f"family {loaded.config['family']} has no latent space to interpolate")
        weights = torch.linspace(0, 1, steps).view(1, steps, *([1] * (start.dim() - 1)))
        path_z = start.unsqueeze(1) * (1 - weights) + end.unsqueeze(1) * weights  # (rows, steps, ...)
        images = model.decode(path_z.reshape(rows * steps, *start.shape[1:]))
    target = Path(out) if out else loaded.run.samples_dir / f"interpolate-seed{seed}.png"
    return save_image_grid(images, target, nrow=steps)
