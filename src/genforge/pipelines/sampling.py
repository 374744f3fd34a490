"""Sampling from trained runs: sample grids and latent interpolations (the API behind ``genforge sample``).

A picture is written in the format its file name says (PNG, JPEG or WebP); text samples as ``.txt``.
The output path is checked before the model is loaded, so a bad ``--out`` costs nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from genforge.core.errors import ConfigError
from genforge.core.paths import check_output_file
from genforge.core.runs import Run
from genforge.core.seed import make_generator
from genforge.data import Dataset
from genforge.models.base import GenerativeModel
from genforge.pipelines.loading import as_run, load_run
from genforge.pipelines.runs import next_step
from genforge.pipelines.scenes import draw_scene_predictions
from genforge.render.images import image_format, save_image_grid, save_points_plot, save_text_samples
from genforge.trainer.config import DEFAULT_NUM_SAMPLES

# the file a sample of each data kind becomes when no extension is given
SAMPLE_SUFFIX = {"image": ".png", "points": ".png", "tokens": ".txt"}
MAX_SAMPLES = 10_000


def sample_path(kind: str, out: str | Path | None, default: Path) -> Path:
    """Where samples of data ``kind`` go: ``out`` (its extension must suit the kind; without one the
    kind's own is added) or ``default``; checked to be writable."""
    path = Path(out) if out is not None else default
    if path.is_dir():
        raise ConfigError(f"{path} is a folder: give a file name to write")
    if not path.suffix:
        path = path.with_suffix(SAMPLE_SUFFIX[kind])
    if kind == "tokens":
        if path.suffix.lower() != ".txt":
            raise ConfigError(f"text samples are written as .txt, not {path.suffix} ({path})")
    else:
        image_format(path)
    if out is None:
        default.parent.mkdir(parents=True, exist_ok=True)  # the run's own samples/ folder
    return check_output_file(path)


def render_samples(
    model: GenerativeModel, dataset: Dataset | None, path: Path, n: int, seed: int, **opts: Any
) -> Path:
    """Draw exactly ``n`` samples and write them to ``path`` as the data kind's natural picture/text:
    an image grid, a scatter plot beside the data (and the density, for models that have one), or texts."""
    generator = make_generator(seed)
    kind = model.info.kind
    if dataset is not None and (model.has("detect") or model.has("segment")):
        return draw_scene_predictions(model, dataset, path, n)  # what it found in test scenes
    if kind == "image":
        return save_image_grid(model.sample(n, generator=generator, **opts), path)
    if kind == "points":
        density = model.log_prob if model.has("log_prob") else None
        return save_points_plot(
            model.sample(n, generator=generator, **opts),
            path,
            data=dataset.split("test")["x"] if dataset is not None else None,
            log_density=density,
            title=f"{n} samples",
        )
    if kind == "tokens" and dataset is not None and "decode" in dataset.extra:
        ids = model.sample(n, generator=generator, **opts)
        return save_text_samples([dataset.extra["decode"](row.tolist()) for row in ids], path)
    raise ConfigError(f"{kind} data has no samples to draw")


def sample_writer(run: Run, dataset: Dataset, num_samples: int | None, seed: int):
    """The callback the trainer uses to write ``samples/step-N.png`` (``.txt`` for text); None for data
    with nothing to draw (seq2seq pairs)."""
    kind = dataset.info.kind
    if kind not in SAMPLE_SUFFIX:
        return None
    n = num_samples or DEFAULT_NUM_SAMPLES[kind]

    def write(model: GenerativeModel, step: int) -> None:
        if not model.has("sample"):  # an encoder trained on images (CLIP) draws nothing
            return
        path = (run.samples_dir / f"step-{step:06d}").with_suffix(SAMPLE_SUFFIX[kind])
        render_samples(model, dataset, path, n, seed)

    return write


def sample(
    run: str | Path | Run,
    n: int | None = None,
    *,
    out: str | Path | None = None,
    seed: int = 0,
    temperature: float = 1.0,
    **opts: Any,
) -> Path:
    """Draw ``n`` samples from ``run`` (EMA weights if any; default 64 images, 2000 points, 4 texts) and
    write them to ``out`` (``.png``/``.jpg``/``.webp`` for images and points, ``.txt`` for text); the
    default ``out`` is ``RUN/samples/sample-seed<seed>.png``."""
    run = as_run(run)
    config = run.read_config()
    kind = config["data_info"]["kind"]
    if kind not in SAMPLE_SUFFIX:
        raise ConfigError(f"a {config['family']} run has no samples to draw: {next_step(run, config)}")
    n = DEFAULT_NUM_SAMPLES[kind] if n is None else n
    if not 1 <= n <= MAX_SAMPLES:
        raise ConfigError(f"-n must be between 1 and {MAX_SAMPLES:,}, got {n}")
    if temperature < 0:
        raise ConfigError(f"--temperature must be >= 0, got {temperature}")
    path = sample_path(kind, out, run.samples_dir / f"sample-seed{seed}")
    loaded = load_run(run)
    with torch.no_grad():
        return render_samples(loaded.model, loaded.dataset, path, n, seed, temperature=temperature, **opts)


def interpolate(
    run: str | Path | Run, steps: int = 8, *, out: str | Path | None = None, seed: int = 0, rows: int = 8
) -> Path:
    """Latent interpolation grid: ``rows`` pairs of test images (all splits if the test split is too
    small) encoded, ``steps`` points linearly between their latents, decoded (VAE, flows). Families with
    a decoder but no encoder (GAN) interpolate between random latents instead."""
    if not 2 <= steps <= 64:
        raise ConfigError(f"--interpolate needs 2 to 64 steps, got {steps}")
    run = as_run(run)
    target = sample_path("image", out, run.samples_dir / f"interpolate-seed{seed}")
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
    return save_image_grid(images, target, nrow=steps)
