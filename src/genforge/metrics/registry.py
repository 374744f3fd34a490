"""The metric registry: every metric genforge knows, with its function, streaming class, options and kind.

A metric is one file that defines its functional form, its streaming :class:`~genforge.metrics.base.Metric`
class (with its :class:`~genforge.metrics.base.Options` config) and registers them once::

    @register_metric("kid", kind="feature-set", function=kernel_distance, summary="kernel distance ...")
    class KernelDistance(FeatureSetMetric):
        options_class = KIDOptions

``genforge metrics`` (its subcommands and their flags), ``pipelines.measure`` (which files a metric reads)
and ``genforge eval --metrics`` (which metrics score generated samples) are all built from this registry;
the module's name goes in :data:`METRIC_MODULES`, so the registry finds it without importing every metric
up front. Importing this module and the metric modules does not import torch (image metrics import it
when they compute), so ``genforge metrics fd a.npz b.npz`` starts on numpy alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from genforge.core.errors import ConfigError
from genforge.core.registry import Registry
from genforge.metrics.base import Metric, Options

METRIC_MODULES = [
    "genforge.metrics.frechet",
    "genforge.metrics.kid",
    "genforge.metrics.prdc",
    "genforge.metrics.inception_score",
    "genforge.metrics.image",
    "genforge.metrics.lpips",
    "genforge.metrics.likelihood",
    "genforge.metrics.classification",
    "genforge.metrics.pr_curve",
    "genforge.metrics.text",
]
METRICS = Registry("metric", modules=METRIC_MODULES)

# What a metric compares; each kind has one shape of input (see pipelines/measure.py for the files).
KINDS = {
    "feature-set": "a real and a generated set of features (images go through a feature extractor)",
    "image-score": "one set of images, from a classifier extractor's logits",
    "pairwise": "aligned pairs of images (reference, distorted)",
    "likelihood": "per-example negative log-likelihoods or token logits of a model",
    "classification": "true and predicted class labels",
    "scores": "true binary labels and real-valued scores",
    "text": "generated sentences, against aligned references when given",
}
RESERVED = ("list", "extractors")  # subcommands of ``genforge metrics`` that are not metrics


@dataclass(frozen=True)
class MetricSpec:
    """A registered metric. ``name`` is what users type (``fd``, ``ms-ssim``); ``streaming.name`` is the
    key its value is reported under. ``reference``: ``genforge eval`` also scores real data for scale
    (the training split against the test split, or the test split itself)."""

    name: str
    kind: str
    function: Callable[..., dict[str, Any]]
    streaming: type[Metric]
    summary: str
    reference: bool = False

    @property
    def options(self) -> type[Options]:
        return self.streaming.options_class


def register_metric(
    name: str,
    *,
    kind: str,
    function: Callable[..., dict[str, Any]],
    summary: str,
    reference: bool = False,
) -> Callable[[type[Metric]], type[Metric]]:
    """Class decorator: register ``name`` with its streaming class (the decorated class), its functional
    form ``function`` (same options, one call), its ``kind`` (a key of :data:`KINDS`) and a one-line
    ``summary`` (the CLI's help)."""
    if kind not in KINDS:
        raise ValueError(f"metric kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if name in RESERVED:
        raise ValueError(f"'{name}' is a genforge metrics subcommand, not a metric name")

    def decorator(streaming: type[Metric]) -> type[Metric]:
        spec = MetricSpec(name, kind, function, streaming, summary, reference)
        METRICS.register(name, spec=spec)(streaming)
        return streaming

    return decorator


def metric_spec(name: str) -> MetricSpec:
    """The registered metric ``name``; an unknown name is one line listing the registered ones."""
    return METRICS.get(name).meta["spec"]


def metric_specs(kinds: tuple[str, ...] | None = None) -> list[MetricSpec]:
    """Every registered metric (sorted by name), or those of the given kinds."""
    specs = [entry.meta["spec"] for entry in METRICS.entries()]
    return [s for s in specs if kinds is None or s.kind in kinds]


def describe_metrics() -> list[dict[str, Any]]:
    """One row per metric for ``genforge metrics list``: name, kind, summary and options with defaults."""
    rows = []
    for spec in metric_specs():
        fields = spec.options.model_fields
        options = {
            n: ("required" if f.is_required() else f.default) for n, f in fields.items() if n != "seed"
        }
        rows.append(
            {
                "name": spec.name,
                "kind": spec.kind,
                "summary": spec.summary,
                "class": spec.streaming.__name__,
                "function": spec.function.__name__,
                "options": options,
            }
        )
    return rows


def check_kind(spec: MetricSpec, kinds: tuple[str, ...], what: str) -> None:
    """ConfigError unless ``spec`` is of one of ``kinds`` (``what`` says what the caller computes)."""
    if spec.kind not in kinds:
        names = ", ".join(s.name for s in metric_specs(kinds))
        raise ConfigError(f"{spec.name} compares {KINDS[spec.kind]}; {what} takes {names}")
