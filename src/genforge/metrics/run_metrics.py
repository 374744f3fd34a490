"""Sample-based metrics of a trained run against its dataset's test split (``genforge eval --metrics``).

Draws ``n`` samples from the model (seeded, in batches), takes the test split as the real set, maps
both through one feature extractor and computes the requested metrics. Images use the ``digits``
extractor when they are 1 x 8 x 8 (results labelled ``fd_digits`` … never "FID") and the fixed
``random-cnn`` otherwise; 2-D point data is compared in its own coordinates. Each metric's entry
carries its N, the extractor name and the extractor's SHA-256.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from genforge.core.errors import ConfigError
from genforge.metrics.base import FeatureSource

SAMPLE_METRICS = ("fd", "kid", "is", "prdc", "mmd")
MODEL_METRICS = ("nll",)  # likelihood terms: averaged over the split by the evaluator itself
SAMPLE_BATCH = 500


def draw_samples(model: Any, n: int, seed: int, batch_size: int = SAMPLE_BATCH) -> torch.Tensor:
    """``n`` samples from ``model.sample`` in batches with one seeded generator (float, CPU)."""
    generator = torch.Generator().manual_seed(seed)
    parts = []
    with torch.no_grad():
        for start in range(0, n, batch_size):
            parts.append(model.sample(min(batch_size, n - start), generator=generator).detach().float().cpu())
    return torch.cat(parts)


def _real_set(loaded_run: Any, split: str) -> torch.Tensor:
    """A data split as floats: images in [0, 1] (``level / (num_levels - 1)``), points as they are."""
    info = loaded_run.dataset.info
    x = loaded_run.dataset.split(split)["x"]
    if info.kind == "image":
        return x.float() / (info.num_levels - 1)
    return x.float()


def evaluate_samples(loaded_run: Any, metrics: list[str], n: int, seed: int) -> dict[str, Any]:
    """Sample-based metrics of ``loaded_run`` (a ``pipelines.training.LoadedRun``): one entry per metric.

    ``metrics`` may name ``fd``, ``kid``, ``is``, ``prdc``, ``mmd``; ``nll`` is accepted and left to the
    evaluator's likelihood terms. Returns ``{"samples": {...}, "fd": {...}, ...}``.
    """
    unknown = [m for m in metrics if m not in SAMPLE_METRICS + MODEL_METRICS]
    if unknown:
        known = ", ".join(SAMPLE_METRICS + MODEL_METRICS)
        raise ConfigError(f"unknown metric(s) {', '.join(unknown)} (known: {known})")
    wanted = [m for m in SAMPLE_METRICS if m in metrics]
    if not wanted:
        return {}
    if n < 2:
        raise ConfigError(f"sample-based metrics need --n of at least 2, got {n}")
    info = loaded_run.dataset.info
    if info.kind not in ("image", "points"):
        raise ConfigError(f"sample-based metrics work on image or point data, not {info.kind}")

    start = time.perf_counter()
    fake = draw_samples(loaded_run.model, n, seed)
    sample_seconds = time.perf_counter() - start
    real, train = _real_set(loaded_run, "test"), _real_set(loaded_run, "train")
    out: dict[str, Any] = {
        "samples": {
            "n": n,
            "seed": seed,
            "seconds": round(sample_seconds, 2),
            "real_split": "test",
            "n_real": len(real),
        }
    }
    real_logits = fake_logits = None
    if info.kind == "image":
        from genforge.metrics.extractors import extract, load_extractor, resolve_extractor_spec

        extractor = load_extractor(resolve_extractor_spec("auto", tuple(real.shape[1:])))
        source = extractor.bind(tuple(real.shape[1:])).source
        # no clamping: the model protocol promises samples in [0, 1], and extract() refuses any that are not
        real_feats, train_feats, fake_feats = (extract(extractor, x) for x in (real, train, fake))
        if extractor.num_classes:
            real_logits = extract(extractor, real, output="logits")
            fake_logits = extract(extractor, fake, output="logits")
    else:
        source = FeatureSource("points", None)
        real_feats, train_feats, fake_feats = (x.double().numpy() for x in (real, train, fake))
    out.update(_compute(wanted, real_feats, fake_feats, fake_logits, source, seed))
    _add_references(out, real_feats, train_feats, real_logits, source, seed)
    out["samples"]["seconds_total"] = round(time.perf_counter() - start, 2)
    return {**_headline(out, source, n, len(real)), **out}


def _headline(out: dict[str, Any], source: FeatureSource, n: int, n_real: int) -> dict[str, Any]:
    """Flat headline figures (for one-line summaries and tables) ahead of the detailed per-metric entries."""
    head: dict[str, Any] = {}
    for name in ("fd", "kid", "is", "mmd"):
        entry = out.get(name) or {}
        label = next(iter(entry), None)
        if label and label != "skipped" and isinstance(entry[label], float):
            head[label] = entry[label]
    for key in ("precision", "recall", "density", "coverage"):
        if key in out.get("prdc", {}):
            head[key] = out["prdc"][key]
    return {**head, **source.describe(), "n_generated": n, "n_real": n_real}


def _add_references(
    out: dict[str, Any],
    real: np.ndarray,
    train: np.ndarray,
    real_logits: np.ndarray | None,
    source: FeatureSource,
    seed: int,
) -> None:
    """What real data scores, for scale: FD of the training split against the test split (a floor for the
    model's FD) and the Inception-style score of the test split (what a perfect model would get)."""
    if "fd" in out:
        from genforge.metrics.frechet import frechet_distance

        label = next(iter(out["fd"]))
        out["fd"][f"{label}_train_vs_test"] = frechet_distance(real, train, source)[label]
        out["fd"]["n_train"] = len(train)
    if "is" in out and real_logits is not None:
        from genforge.metrics.inception_score import inception_score

        label = next(iter(out["is"]))
        out["is"][f"{label}_test_split"] = inception_score(real_logits, splits=10, seed=seed, source=source)[
            label
        ]


def _compute(
    wanted: list[str],
    real: np.ndarray,
    fake: np.ndarray,
    logits: np.ndarray | None,
    source: FeatureSource,
    seed: int,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "fd" in wanted:
        from genforge.metrics.frechet import frechet_distance

        out["fd"] = frechet_distance(real, fake, source)
    if "kid" in wanted:
        from genforge.metrics.kid import kernel_distance

        size = min(1000, len(real), len(fake))
        out["kid"] = kernel_distance(real, fake, subsets=100, subset_size=size, seed=seed, source=source)
    if "is" in wanted:
        if logits is None:
            out["is"] = {
                "skipped": f"the {source.name} extractor has no classifier for an Inception-style score"
            }
        else:
            from genforge.metrics.inception_score import inception_score

            out["is"] = inception_score(logits, splits=10, seed=seed, source=source)
    if "prdc" in wanted:
        from genforge.metrics.prdc import precision_recall_density_coverage

        out["prdc"] = precision_recall_density_coverage(real, fake, source=source)
    if "mmd" in wanted:
        from genforge.metrics.kid import mmd_rbf

        out["mmd"] = mmd_rbf(real, fake, seed=seed, source=source)
    return out
