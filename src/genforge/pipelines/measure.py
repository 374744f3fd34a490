"""Metrics on files a user brings: the Python API behind ``genforge metrics ...``.

Each function reads its inputs (saved features, image arrays or image folders, label CSVs, text files),
runs images through a feature extractor when needed (with the real set's features cached by extractor
hash, resize mode and N), and returns the metric's self-describing result dict. Feature files are
handled with numpy alone, so ``metrics fd a.npz b.npz`` never imports torch.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from genforge.core.errors import ConfigError, DataError
from genforge.metrics.base import PRECOMPUTED, FeatureSource
from genforge.metrics.inputs import MetricInput, read_input

SET_METRICS = ("fd", "kid", "prdc", "mmd")
PAIRED_METRICS = ("psnr", "ssim", "ms-ssim", "lpips")
DEFAULT_CACHE_DIR = Path(os.environ.get("GENFORGE_CACHE", ".genforge-cache")) / "stats"


def _subsample(item: MetricInput, n: int | None, seed: int) -> tuple[np.ndarray, int | None]:
    """The first-``n`` of a seeded permutation (all items when ``n`` is None or not smaller)."""
    if n is None or n >= item.num:
        return item.array, None
    if n < 1:
        raise ConfigError(f"--n must be positive, got {n}")
    order = np.random.default_rng(seed).permutation(item.num)[:n]
    return item.array[np.sort(order)], n


class _Features:
    """Features (or logits) ``(N, D)`` of one input, where they came from, and, for images computed
    just now, the cache entry to write once the whole command has succeeded."""

    def __init__(self, array: np.ndarray, source: FeatureSource, pending: Any = None) -> None:
        self.array, self.source, self._pending = array, source, pending

    def commit(self) -> None:
        """Write the pending cache entry (a failed command never calls this: no entry is written)."""
        if self._pending is not None:
            cache, key, meta = self._pending
            cache.save(key, self.array, meta)
            self._pending = None


def _features_of(
    item: MetricInput,
    extractor_spec: str,
    *,
    n: int | None,
    seed: int,
    batch_size: int,
    resize: str,
    cache_dir: Path | None,
    output: str = "features",
) -> _Features:
    """Features (or logits) of ``item``; images go through the extractor named by ``extractor_spec``,
    read from (and, after :meth:`_Features.commit`, written to) the cache under ``cache_dir``."""
    if item.kind == "features":
        if output != "features":
            raise DataError(
                f"{item.source} holds features, but this metric needs images (it runs a classifier)"
            )
        if extractor_spec not in ("auto", "precomputed"):
            raise ConfigError(f"{item.source} already holds features: drop --extractor {extractor_spec}")
        return _Features(_subsample(item, n, seed)[0], PRECOMPUTED)
    from genforge.metrics.cache import FeatureCache
    from genforge.metrics.extractors import extract, load_extractor, resolve_extractor_spec

    spec = resolve_extractor_spec(extractor_spec, item.array.shape[1:])
    extractor = load_extractor(spec, resize=resize).bind(item.array.shape[1:])
    images, subset = _subsample(item, n, seed)
    if cache_dir is None:
        return _Features(extract(extractor, images, batch_size=batch_size, output=output), extractor.source)
    cache = FeatureCache(cache_dir)
    key = cache.key(
        source=item.fingerprint,
        extractor_sha256=extractor.sha256,
        resize=extractor.resize,
        n=len(images),
        subset_seed=seed if subset else None,
        output=output,
    )
    hit = cache.load(key)
    if hit is not None:
        return _Features(hit, extractor.source)
    features = extract(extractor, images, batch_size=batch_size, output=output)
    meta = {"source": item.source, "extractor": extractor.name, "output": output}
    return _Features(features, extractor.source, pending=(cache, key, meta))


def compare_sets(
    metric: str,
    real: str | os.PathLike,
    fake: str | os.PathLike,
    *,
    extractor: str = "auto",
    n: int | None = None,
    seed: int = 0,
    batch_size: int = 256,
    resize: str = "auto",
    cache_dir: str | os.PathLike | None = None,
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``fd`` / ``kid`` / ``prdc`` / ``mmd`` between a real and a fake set (features files or images).

    ``n`` subsamples each set (seeded); the real set's features are cached under ``cache_dir`` (None: no
    cache). ``options`` go to the metric function (e.g. ``{"k": 5}`` for prdc, ``{"subset_size": 100}``
    for kid, ``{"bandwidth": 1.0}`` for mmd).
    """
    if metric not in SET_METRICS:
        raise ConfigError(f"unknown set metric '{metric}' (known: {', '.join(SET_METRICS)})")
    real_item, fake_item = read_input(real), read_input(fake)
    if real_item.kind != fake_item.kind:
        raise DataError(
            f"{real_item.source} holds {real_item.kind} but {fake_item.source} holds {fake_item.kind}: "
            "give two feature files or two image sets"
        )
    if real_item.kind == "images" and real_item.array.shape[1:] != fake_item.array.shape[1:]:
        a, b = real_item.array.shape[1:], fake_item.array.shape[1:]
        raise DataError(
            f"real images are {a[0]}x{a[1]}x{a[2]} but fake images are {b[0]}x{b[1]}x{b[2]} "
            "(channels x height x width): both sets must have one shape"
        )
    common = {"extractor_spec": extractor, "n": n, "seed": seed, "batch_size": batch_size, "resize": resize}
    real = _features_of(real_item, cache_dir=Path(cache_dir) if cache_dir else None, **common)
    fake_feats = _features_of(fake_item, cache_dir=None, **common).array
    real_feats, source = real.array, real.source
    options = dict(options or {})
    if metric == "fd":
        from genforge.metrics.frechet import frechet_distance

        result = frechet_distance(real_feats, fake_feats, source)
    elif metric == "kid":
        from genforge.metrics.kid import kernel_distance

        result = kernel_distance(
            real_feats, fake_feats, source=source, seed=options.pop("seed", seed), **options
        )
    elif metric == "prdc":
        from genforge.metrics.prdc import precision_recall_density_coverage

        result = precision_recall_density_coverage(real_feats, fake_feats, source=source, **options)
    else:
        from genforge.metrics.kid import mmd_rbf

        result = mmd_rbf(real_feats, fake_feats, source=source, **options)
    real.commit()  # only now: a command that fails on bad input leaves no cache entry behind
    return {**result, "real": real_item.source, "fake": fake_item.source}


def score_set(
    images: str | os.PathLike,
    *,
    extractor: str = "auto",
    n: int | None = None,
    seed: int = 0,
    batch_size: int = 256,
    resize: str = "auto",
    splits: int = 10,
) -> dict[str, Any]:
    """Inception(-style) score of one image set under a classifier extractor (digits or inception)."""
    from genforge.metrics.inception_score import inception_score

    item = read_input(images)
    logits = _features_of(
        item, extractor, n=n, seed=seed, batch_size=batch_size, resize=resize, cache_dir=None, output="logits"
    )
    result = inception_score(logits.array, splits=splits, seed=seed, source=logits.source)
    return {**result, "images": item.source}


def compare_pairs(
    metric: str,
    reference: str | os.PathLike,
    distorted: str | os.PathLike,
    *,
    data_range: float = 1.0,
    batch_size: int = 256,
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """PSNR / SSIM / MS-SSIM / LPIPS-style distance between two image sets paired by order."""
    if metric not in PAIRED_METRICS:
        raise ConfigError(f"unknown paired metric '{metric}' (known: {', '.join(PAIRED_METRICS)})")
    ref, dis = read_input(reference), read_input(distorted)
    for item in (ref, dis):
        if item.kind != "images":
            raise DataError(f"{item.source} holds features: {metric} compares images")
    if ref.array.shape != dis.array.shape:
        raise DataError(
            f"{metric} compares images pairwise: {ref.source} has shape {ref.array.shape} but "
            f"{dis.source} has {dis.array.shape}"
        )
    from genforge.metrics import image

    options = dict(options or {})
    if metric == "lpips":
        result = image.lpips_distance(ref.array, dis.array, batch_size=batch_size, **options)
    else:
        fn = {"psnr": image.psnr, "ssim": image.ssim, "ms-ssim": image.ms_ssim}[metric]
        result = fn(ref.array, dis.array, data_range=data_range, **options)
    return {**result, "reference": ref.source, "distorted": dis.source}


def read_labels(path: str | os.PathLike, column: int | str | None = None) -> np.ndarray:
    """One label per line (or per row of a CSV, taking ``column``); ints where every value is an int."""
    import csv

    p = Path(path)
    if not p.is_file():
        raise DataError(f"label file {p} does not exist")
    with p.open(newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.reader(handle) if row and any(cell.strip() for cell in row)]
    if not rows:
        raise DataError(f"label file {p} is empty")
    index = 0
    if isinstance(column, str):
        header = [cell.strip() for cell in rows[0]]
        if column not in header:
            raise DataError(f"{p} has no column '{column}' (header: {', '.join(header)})")
        index, rows = header.index(column), rows[1:]
    elif isinstance(column, int):
        index = column
    try:
        values = [row[index].strip() for row in rows]
    except IndexError:
        raise DataError(f"{p}: some rows have no column {index}") from None
    return _parse_labels(values, p)


def _parse_labels(values: list[str], path: Path) -> np.ndarray:
    for cast in (int, float):
        try:
            parsed = [cast(v) for v in values]
        except ValueError:
            continue
        if cast is float and all(float(v).is_integer() for v in parsed):
            return np.array([int(v) for v in parsed])
        if cast is int:
            return np.array(parsed)
        raise DataError(f"{path} holds non-integer numbers: class labels must be integers or strings")
    return np.array(values)


def classify_files(
    y_true: str | os.PathLike,
    y_pred: str | os.PathLike,
    *,
    column: int | str | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Classification report (scikit-learn semantics) from two label files of equal length."""
    from genforge.metrics.classification import classification_report

    t, p = read_labels(y_true, column), read_labels(y_pred, column)
    if len(t) != len(p):
        raise DataError(f"{y_true} has {len(t)} labels but {y_pred} has {len(p)}")
    return {**classification_report(t, p, **options), "y_true": str(y_true), "y_pred": str(y_pred)}
