"""Classifier-free guidance sweep of a class-conditional diffusion run (``genforge eval RUN --guidance-sweep``).

For each guidance weight, :func:`guidance_sweep` draws ``num_samples`` images with the requested labels
cycled 0, 1, …, 9, 0, … (sample ``i`` asks for label ``i mod K``), every weight starting from the same
seeded noise so the rows differ only by the weight; it classifies them with the shipped digits CNN (the
extractor FD-digits uses) and reports, per weight, the fraction recognised as their requested label and
FD-digits against the test split (the computation of ``genforge eval --metrics fd``). The same classifier's
accuracy on the real test split is reported beside them for scale. ``picture`` writes one row per weight
(labels 0..K-1 left to right, weights top to bottom in the order given) with genforge's grid renderer.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genforge.core.errors import ConfigError
from genforge.core.paths import check_output_file
from genforge.core.runs import Run
from genforge.metrics.extractors import extract, load_extractor, resolve_extractor_spec
from genforge.metrics.frechet import frechet_distance
from genforge.pipelines.loading import load_run
from genforge.render.images import image_format, save_image_grid

MAX_WEIGHT = 50.0  # the diffusion config's bound on guidance
MAX_SAMPLES = 10_000
BATCH = 500  # samples per model.sample call


def parse_weights(text: str | Sequence[float]) -> list[float]:
    """``"0,1,3"`` (or a list of numbers) -> ``[0.0, 1.0, 3.0]``; anything else is one ConfigError line."""
    items = [s.strip() for s in text.split(",")] if isinstance(text, str) else list(text)
    weights = []
    for item in items:
        try:
            value = float(item)
        except (TypeError, ValueError):
            raise ConfigError(
                f"guidance weight '{item}' is not a number: give comma-separated weights, e.g. 0,1,3"
            ) from None
        if not np.isfinite(value) or not 0.0 <= value <= MAX_WEIGHT:
            raise ConfigError(f"guidance weight {item} is outside 0..{MAX_WEIGHT:g}: give e.g. 0,1,3")
        weights.append(value)
    if not weights:
        raise ConfigError("no guidance weights given: give comma-separated weights, e.g. 0,1,3")
    if len(set(weights)) != len(weights):
        raise ConfigError(f"guidance weights repeat ({','.join(f'{w:g}' for w in weights)}): give each once")
    return weights


def cycled_labels(n: int, num_classes: int) -> torch.Tensor:
    """The requested labels of ``n`` samples: ``i mod num_classes``."""
    return torch.arange(n) % num_classes


def draw_guided(
    model: Any,
    n: int,
    weight: float,
    seed: int,
    *,
    sampler: str | None = None,
    steps: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` samples of a class-conditional ``model`` at guidance ``weight`` with labels cycled 0..K-1, and
    the labels: ``model.sample`` in batches of :data:`BATCH` on one generator seeded with ``seed``."""
    labels = cycled_labels(n, model.num_classes)
    generator = torch.Generator().manual_seed(seed)
    opts = {k: v for k, v in {"sampler": sampler, "steps": steps}.items() if v is not None}
    parts = []
    with torch.no_grad():
        for start in range(0, n, BATCH):
            part = labels[start : start + BATCH]
            parts.append(
                model.sample(len(part), generator=generator, labels=part, guidance=weight, **opts)
                .float()
                .cpu()
            )
    return torch.cat(parts), labels


def _check_model(loaded: Any) -> None:
    model = loaded.model
    if loaded.config.get("family") != "diffusion":
        raise ConfigError(
            f"a guidance sweep needs a diffusion run, and {loaded.run.id} is a {loaded.config.get('family')} run"
        )
    if getattr(model, "num_classes", None) is None:
        raise ConfigError(
            f"run {loaded.run.id} is not class-conditional: a guidance sweep needs a diffusion model trained "
            "with --set cond=class"
        )
    shape = tuple(model.info.shape)
    if resolve_extractor_spec("auto", shape) != "digits" or model.num_classes != 10:
        raise ConfigError(
            f"a guidance sweep judges samples with the digits classifier, which takes 1x8x8 images of 10 "
            f"classes; run {loaded.run.id} makes {'x'.join(map(str, shape))} images of {model.num_classes}"
        )


def guidance_sweep(
    run: str | Path | Run,
    weights: str | Sequence[float],
    *,
    num_samples: int = 500,
    seed: int = 0,
    sampler: str | None = None,
    steps: int | None = None,
    picture: str | Path | None = None,
) -> dict[str, Any]:
    """Classifier accuracy (vs the requested label) and FD-digits of ``run``'s samples at each guidance
    weight: ``{"run", "rows": [{"guidance", "accuracy", "fd_digits", "per_class_accuracy", "seconds"}],
    "classifier_test_accuracy", "n", "seed", "sampler", "steps", "extractor", "extractor_sha256",
    "picture", "warnings"}``. Weight 1 is the plain conditional model, 0 the unconditional one."""
    weights = parse_weights(weights)
    if not 10 <= num_samples <= MAX_SAMPLES:
        raise ConfigError(
            f"a guidance sweep draws 10 to {MAX_SAMPLES} samples per weight (--n), got {num_samples}"
        )
    path = None
    if picture is not None:
        image_format(picture)
        path = check_output_file(picture)
    loaded = load_run(run)
    _check_model(loaded)
    model = loaded.model
    config = model.config
    extractor = load_extractor("digits")
    source = extractor.bind(tuple(model.info.shape)).source
    info = loaded.dataset.info
    test = loaded.dataset.split("test")
    real = test["x"].float() / (info.num_levels - 1)
    real_feats = extract(extractor, real)
    real_pred = extract(extractor, real, output="logits").argmax(axis=1)
    test_accuracy = float((real_pred == test["y"].numpy()).mean()) if "y" in test else None

    rows, shown, notes = [], [], {}
    for weight in weights:
        started = time.perf_counter()
        images, labels = draw_guided(model, num_samples, weight, seed, sampler=sampler, steps=steps)
        seconds = time.perf_counter() - started
        predicted = extract(extractor, images, output="logits").argmax(axis=1)
        hit = predicted == labels.numpy()
        with warnings.catch_warnings():  # a small N's bias note is kept in the result, not printed per weight
            warnings.simplefilter("ignore", UserWarning)
            fd = frechet_distance(real_feats, extract(extractor, images), source=source)
        notes.update(dict.fromkeys(fd["warnings"]))
        per_class = [float(hit[labels.numpy() == k].mean()) for k in range(model.num_classes)]
        rows.append(
            {
                "guidance": weight,
                "accuracy": float(hit.mean()),
                "fd_digits": fd["fd_digits"],
                "per_class_accuracy": per_class,
                "seconds": round(seconds, 2),
            }
        )
        shown.append(images[: model.num_classes])
    if path is not None:
        save_image_grid(torch.cat(shown), path, nrow=model.num_classes)
    return {
        "run": loaded.run.id,
        "step": loaded.step,
        "rows": rows,
        "classifier_test_accuracy": test_accuracy,
        "n": num_samples,
        "n_real": len(real),
        "seed": seed,
        "sampler": sampler or config.sampler,
        "steps": steps
        or (config.timesteps if (sampler or config.sampler) == "ddpm" else config.sample_steps),
        "spacing": config.spacing,
        **source.describe(),
        "picture": None if path is None else str(path),
        "warnings": list(notes),
    }
