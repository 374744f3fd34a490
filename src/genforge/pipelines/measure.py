"""Metrics on files a user brings: the one Python call behind ``genforge metrics NAME FILE...``.

:func:`measure` looks the metric up in the registry and reads its files by the metric's kind (one
:class:`Reader` per kind: which files, in which order, and which :class:`ReadOptions` apply): two feature
or image sets (``feature-set``), one image set (``image-score``), two aligned image sets (``pairwise``),
two label files (``classification``), labels and scores (``scores``), or sentences and references
(``text``). Images go through a feature extractor when the metric needs features (the real set's
features cached by extractor hash, resize mode and N); every file that is not what the kind expects is
one line naming it (:mod:`genforge.metrics.inputs`). Feature files are handled with numpy alone, so
``metrics fd a.npz b.npz`` never imports torch. A metric of a new kind needs a reader here; a new metric
of a known kind needs nothing here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from genforge.core.config import Config
from genforge.core.errors import ConfigError, DataError
from genforge.core.paths import check_output_dir
from genforge.metrics.base import PRECOMPUTED, FeatureSource
from genforge.metrics.inputs import MetricInput, read_input, read_labels, read_lines, read_scores
from genforge.metrics.registry import KINDS, MetricSpec, metric_spec


def default_cache_dir() -> str:
    return str(Path(os.environ.get("GENFORGE_CACHE", ".genforge-cache")) / "stats")


class ReadOptions(Config):
    """How :func:`measure` reads its inputs; each kind of metric uses the fields its :class:`Reader` lists."""

    extractor: str = Field(
        "auto",
        description="feature extractor for images: auto (digits for 1x8x8 images, else random-cnn) or "
        "NAME[:ARG] as listed by 'genforge metrics extractors' (inception:PATH takes the FID weights file)",
    )
    resize: Literal["auto", "none", "bilinear", "tf1"] = Field(
        "auto",
        description="how images reach the extractor's input size: auto (its convention), none (sizes must "
        "match), bilinear (torch, antialiased when shrinking), tf1 (TensorFlow-1 bilinear, as torch-fidelity)",
    )
    n: int | None = Field(None, ge=1, description="use a seeded subset of this many samples per set")
    batch_size: int = Field(256, ge=1, description="images per extractor batch")
    cache_dir: str | None = Field(
        default_factory=default_cache_dir,
        description="cache real-set features in this folder (default .genforge-cache/stats, or "
        "$GENFORGE_CACHE/stats; None: no cache)",
    )
    column: int | str | None = Field(
        None, description="CSV column (index or header name) holding the labels or scores"
    )


@dataclass(frozen=True)
class Input:
    """One positional input of a kind: its name (the CLI's metavar), help, and whether it takes many files."""

    name: str
    help: str
    many: bool = False


@dataclass(frozen=True)
class Reader:
    """How metrics of one kind read their files: the inputs, the :class:`ReadOptions` fields that apply,
    option defaults the files imply, and the function that reads and computes."""

    inputs: tuple[Input, ...]
    settings: tuple[str, ...]
    run: Callable[[MetricSpec, list[Path], ReadOptions, dict[str, Any], int], dict[str, Any]]
    defaults: Mapping[str, Any] = field(default_factory=dict)


SET_HELP = "a .npz (key 'features' (N, D) or 'images'), a .npy or a folder of images"


def measure(
    metric: str,
    inputs: Sequence[str | os.PathLike],
    *,
    options: Mapping[str, Any] | None = None,
    reading: ReadOptions | Mapping[str, Any] | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Compute the registered ``metric`` on files and return its self-describing result.

    ``inputs``: the files the metric's kind reads (see :data:`READERS`, e.g. ``[real, fake]``);
    ``options``: the metric's options (its :class:`~genforge.metrics.base.Options`; ``seed`` defaults to
    ``seed``); ``reading``: :class:`ReadOptions`. ``seed`` also draws the ``n``-subsets. Options and
    paths are checked before any file is read; bad input is a one-line :class:`GenforgeError`.
    """
    spec = metric_spec(metric)
    reader = reader_for(spec)
    if not isinstance(reading, ReadOptions):
        reading = ReadOptions.build(reading, where="input option")
    paths = [Path(p).expanduser() for p in inputs]
    fixed = [i.name for i in reader.inputs if not i.many]
    many = any(i.many for i in reader.inputs)
    if len(paths) < len(fixed) or (len(paths) > len(fixed) and not many):
        names = " ".join(i.name + (" ..." if i.many else "") for i in reader.inputs)
        raise ConfigError(f"{spec.name} takes {names}, got {len(paths)} file(s)")
    implied = {k: v for k, v in reader.defaults.items() if k in spec.options.model_fields}
    options = {**implied, **dict(options or {})}
    if "seed" in spec.options.model_fields:
        options.setdefault("seed", seed)
    spec.options.parse(options, spec.name)
    return reader.run(spec, paths, reading, options, seed)


def reader_for(spec: MetricSpec) -> Reader:
    """The reader of ``spec``'s kind, or a ConfigError for metrics that take model outputs, not files."""
    reader = READERS.get(spec.kind)
    if reader is None:
        raise ConfigError(
            f"{spec.name} measures {KINDS[spec.kind]}, not files: call "
            f"{spec.function.__module__}.{spec.function.__name__} from Python"
        )
    return reader


# feature and image sets ----------------------------------------------------------------------------
def _subsample(item: MetricInput, n: int | None, seed: int) -> tuple[np.ndarray, int | None]:
    """The first-``n`` of a seeded permutation (all items when ``n`` is None or not smaller)."""
    if n is None or n >= item.num:
        return item.array, None
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
    item: MetricInput, reading: ReadOptions, seed: int, *, cache: bool, output: str = "features"
) -> _Features:
    """Features (or logits) of ``item``; images go through the extractor ``reading`` names, read from
    (and, after :meth:`_Features.commit`, written to) the cache when ``cache`` and a cache folder is set."""
    if item.kind == "features":
        if output != "features":
            raise DataError(
                f"{item.source} holds features, but this metric needs images (it runs a classifier)"
            )
        if reading.extractor not in ("auto", "precomputed"):
            raise ConfigError(f"{item.source} already holds features: drop --extractor {reading.extractor}")
        return _Features(_subsample(item, reading.n, seed)[0], PRECOMPUTED)
    from genforge.metrics.cache import FeatureCache
    from genforge.metrics.extractors import extract, load_extractor, resolve_extractor_spec

    spec = resolve_extractor_spec(reading.extractor, item.array.shape[1:])
    extractor = load_extractor(spec, resize=reading.resize).bind(item.array.shape[1:])
    images, subset = _subsample(item, reading.n, seed)
    batch = reading.batch_size
    if not cache or reading.cache_dir is None:
        return _Features(extract(extractor, images, batch_size=batch, output=output), extractor.source)
    store = FeatureCache(Path(reading.cache_dir).expanduser())
    key = store.key(
        source=item.fingerprint,
        extractor_sha256=extractor.sha256,
        resize=extractor.resize,
        n=len(images),
        subset_seed=seed if subset else None,
        output=output,
    )
    hit = store.load(key)
    if hit is not None:
        return _Features(hit, extractor.source)
    features = extract(extractor, images, batch_size=batch, output=output)
    meta = {"source": item.source, "extractor": extractor.name, "output": output}
    return _Features(features, extractor.source, pending=(store, key, meta))


def _two_sets(paths: list[Path]) -> tuple[MetricInput, MetricInput]:
    first, second = read_input(paths[0]), read_input(paths[1])
    if first.kind != second.kind:
        raise DataError(
            f"{first.source} holds {first.kind} but {second.source} holds {second.kind}: "
            "give two feature files or two image sets"
        )
    return first, second


def _run_sets(spec: MetricSpec, paths: list[Path], reading: ReadOptions, options: dict, seed: int) -> dict:
    if reading.cache_dir is not None:
        check_output_dir(reading.cache_dir)  # before anything is read or extracted
    real_item, fake_item = _two_sets(paths)
    if real_item.kind == "images" and real_item.array.shape[1:] != fake_item.array.shape[1:]:
        a, b = real_item.array.shape[1:], fake_item.array.shape[1:]
        raise DataError(
            f"real images are {a[0]}x{a[1]}x{a[2]} but fake images are {b[0]}x{b[1]}x{b[2]} "
            "(channels x height x width): both sets must have one shape"
        )
    real = _features_of(real_item, reading, seed, cache=True)
    fake = _features_of(fake_item, reading, seed, cache=False)
    result = spec.function(real.array, fake.array, source=real.source, **options)
    real.commit()  # only now: a command that fails on bad input leaves no cache entry behind
    return {**result, "real": real_item.source, "fake": fake_item.source}


def _run_score(spec: MetricSpec, paths: list[Path], reading: ReadOptions, options: dict, seed: int) -> dict:
    item = read_input(paths[0])
    logits = _features_of(item, reading, seed, cache=False, output="logits")
    return {**spec.function(logits.array, source=logits.source, **options), "images": item.source}


def _run_pairs(spec: MetricSpec, paths: list[Path], reading: ReadOptions, options: dict, seed: int) -> dict:
    ref, dis = _two_sets(paths)
    if ref.kind != "images":
        raise DataError(f"{ref.source} holds features: {spec.name} compares images")
    if ref.array.shape != dis.array.shape:
        raise DataError(
            f"{spec.name} compares images pairwise: {ref.source} has shape {ref.array.shape} but "
            f"{dis.source} has {dis.array.shape}"
        )
    result = spec.function(ref.array, dis.array, **options)
    return {**result, "reference": ref.source, "distorted": dis.source}


def _same_length(first: Path, a: Any, second: Path, b: Any, what: str) -> None:
    if len(a) != len(b):
        raise DataError(
            f"{first} has {len(a)} {what} but {second} has {len(b)}: they must align line by line"
        )


def _run_labels(spec: MetricSpec, paths: list[Path], reading: ReadOptions, options: dict, seed: int) -> dict:
    t, p = read_labels(paths[0], reading.column), read_labels(paths[1], reading.column)
    _same_length(paths[0], t, paths[1], p, "labels")
    return {**spec.function(t, p, **options), "y_true": str(paths[0]), "y_pred": str(paths[1])}


def _run_scores(spec: MetricSpec, paths: list[Path], reading: ReadOptions, options: dict, seed: int) -> dict:
    t, s = read_labels(paths[0], reading.column), read_scores(paths[1], reading.column)
    _same_length(paths[0], t, paths[1], s, "labels")
    return {**spec.function(t, s, **options), "y_true": str(paths[0]), "y_score": str(paths[1])}


def _run_text(spec: MetricSpec, paths: list[Path], reading: ReadOptions, options: dict, seed: int) -> dict:
    hypotheses = read_lines(paths[0])
    references = [read_lines(p) for p in paths[1:]]
    for path, lines in zip(paths[1:], references, strict=True):
        _same_length(path, lines, paths[0], hypotheses, "lines")
    result = spec.function(hypotheses, references or None, **options)
    return {**result, "hypotheses": str(paths[0]), "references": [str(p) for p in paths[1:]]}


EXTRACTION = ("extractor", "resize", "n", "batch_size")
READERS: dict[str, Reader] = {
    "feature-set": Reader(
        (Input("real", f"real set: {SET_HELP}"), Input("fake", "generated set, same forms as REAL")),
        (*EXTRACTION, "cache_dir"),
        _run_sets,
    ),
    "image-score": Reader((Input("images", f"image set: {SET_HELP}"),), EXTRACTION, _run_score),
    "pairwise": Reader(
        (
            Input("reference", "reference images (folder, .npz or .npy), paired by order"),
            Input("distorted", "images to compare, same count and shape"),
        ),
        (),
        _run_pairs,
        defaults={"data_range": 1.0},  # images are read into [0, 1]
    ),
    "classification": Reader(
        (
            Input("y_true", "true labels: one per line (or a CSV, see --column)"),
            Input("y_pred", "predicted labels, same length"),
        ),
        ("column",),
        _run_labels,
    ),
    "scores": Reader(
        (
            Input("y_true", "true binary labels: one per line (or a CSV, see --column)"),
            Input("y_score", "scores, one real number per line, higher meaning positive"),
        ),
        ("column",),
        _run_scores,
    ),
    "text": Reader(
        (
            Input("hypotheses", "generated text, one sentence per line"),
            Input("references", "reference files, one sentence per line, aligned", many=True),
        ),
        (),
        _run_text,
    ),
}
