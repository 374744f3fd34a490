"""Sample-based metrics of a trained run against its dataset's test split, and a run's headline figure.

:func:`evaluate_samples` (``genforge eval --metrics``) draws ``num_samples`` samples from the model
(seeded, in batches), takes the test split as the real set, maps both through one feature extractor and
computes the requested registered metrics: every ``feature-set`` metric (fd, kid, prdc, mmd) compares
the two sets, every ``image-score`` metric (is) scores the samples' logits; ``likelihood`` metrics (nll)
are the evaluator's own per-example terms and are accepted and left to it. Images use the ``digits``
extractor when they are 1 x 8 x 8 (results labelled ``fd_digits`` … never "FID") and the fixed
``random-cnn`` otherwise; 2-D point data is compared in its own coordinates. Each metric's entry carries
its N, the extractor name and the extractor's SHA-256; metrics registered with ``reference=True`` also
score real data for scale (FD of the training split against the test split: a floor for any model; IS
of the test split: what a perfect model would get).

:func:`headline` picks the one figure a run is judged by from its evaluation. torch is imported only by
the functions that sample, so reading a headline is cheap.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from genforge.core.errors import ConfigError
from genforge.metrics.base import FeatureSource
from genforge.metrics.registry import METRICS, MetricSpec, check_kind, metric_spec, metric_specs

if TYPE_CHECKING:
    import torch

SAMPLE_KINDS = ("feature-set", "image-score")
EVAL_KINDS = (*SAMPLE_KINDS, "likelihood")
DEFAULT_NUM_SAMPLES = 2000
SAMPLE_BATCH = 500
# Likelihood figures a run is judged by, in order of preference (what each family's eval reports).
LIKELIHOOD_FIGURES = ("bits_per_dim", "bits_per_dim_iwae", "perplexity", "nll_nats")


def draw_samples(model: Any, n: int, seed: int, batch_size: int = SAMPLE_BATCH) -> torch.Tensor:
    """``n`` samples from ``model.sample`` in batches with one seeded generator (float, CPU)."""
    import torch

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


def eval_metric_specs(metrics: list[str]) -> list[MetricSpec]:
    """The registered metrics ``genforge eval`` can compute, by name (duplicates dropped, order kept);
    an unknown name or a metric of another kind is one line listing the ones it takes."""
    specs = []
    for name in dict.fromkeys(metrics):
        if name not in METRICS:
            known = ", ".join(s.name for s in metric_specs(EVAL_KINDS))
            raise ConfigError(f"unknown metric '{name}' for genforge eval (it takes {known})")
        spec = metric_spec(name)
        check_kind(spec, EVAL_KINDS, "genforge eval")
        specs.append(spec)
    return specs


def _options(spec: MetricSpec, seed: int, n_real: int, n_fake: int) -> dict[str, Any]:
    """The metric's default options, with the run's seed where it has one, fitted to the set sizes."""
    values = {"seed": seed} if "seed" in spec.options.model_fields else {}
    return spec.options.parse(values, spec.name).for_sizes(n_real, n_fake).model_dump()


def evaluate_samples(loaded_run: Any, metrics: list[str], num_samples: int, seed: int) -> dict[str, Any]:
    """Sample-based metrics of ``loaded_run`` (anything with ``.model`` and ``.dataset``, such as a
    ``pipelines.training.LoadedRun``): ``{headline figures, "samples": {...}, "fd": {...}, ...}``."""
    wanted = [s for s in eval_metric_specs(metrics) if s.kind in SAMPLE_KINDS]
    if not wanted:
        return {}
    if num_samples < 2:
        raise ConfigError(f"sample-based metrics need at least 2 samples (--n), got {num_samples}")
    info = loaded_run.dataset.info
    if info.kind not in ("image", "points"):
        raise ConfigError(f"sample-based metrics work on image or point data, not {info.kind}")

    start = time.perf_counter()
    fake = draw_samples(loaded_run.model, num_samples, seed)
    sample_seconds = time.perf_counter() - start
    real, train = _real_set(loaded_run, "test"), _real_set(loaded_run, "train")
    samples = {"n": num_samples, "seed": seed, "seconds": round(sample_seconds, 2), "real_split": "test"}
    out: dict[str, Any] = {"samples": {**samples, "n_real": len(real)}}
    real_logits = fake_logits = None
    if info.kind == "image":
        from genforge.metrics.extractors import extract, load_extractor, resolve_extractor_spec

        extractor = load_extractor(resolve_extractor_spec("auto", tuple(real.shape[1:])))
        source = extractor.bind(tuple(real.shape[1:])).source
        # no clamping: the model protocol promises samples in [0, 1], and extract() refuses any that are not
        real_feats, train_feats, fake_feats = (extract(extractor, x) for x in (real, train, fake))
        if extractor.num_classes and any(s.kind == "image-score" for s in wanted):
            real_logits = extract(extractor, real, output="logits")
            fake_logits = extract(extractor, fake, output="logits")
    else:
        source = FeatureSource("points", None)
        real_feats, train_feats, fake_feats = (x.double().numpy() for x in (real, train, fake))
    for spec in wanted:
        options = _options(spec, seed, len(real_feats), len(fake_feats))
        if spec.kind == "feature-set":
            out[spec.name] = spec.function(real_feats, fake_feats, source=source, **options)
        elif fake_logits is None:
            out[spec.name] = {"skipped": f"the {source.name} extractor has no classifier for {spec.name}"}
        else:
            out[spec.name] = spec.function(fake_logits, source=source, **options)
    head = _flat_values(out, wanted)
    for spec in wanted:
        if spec.reference and "skipped" not in out[spec.name]:
            _add_reference(out[spec.name], spec, real_feats, train_feats, real_logits, source, seed)
    out["samples"]["seconds_total"] = round(time.perf_counter() - start, 2)
    return {**head, **source.describe(), "n_generated": num_samples, "n_real": len(real), **out}


def _flat_values(out: dict[str, Any], specs: list[MetricSpec]) -> dict[str, Any]:
    """Each metric's values (the numbers a result lists before its ``metric`` key, spreads left out),
    flat, for one-line summaries and tables."""
    head: dict[str, Any] = {}
    for spec in specs:
        for key, value in out[spec.name].items():
            if key == "metric" or not isinstance(value, float):
                break
            if not key.endswith("_std"):
                head[key] = value
    return head


def _add_reference(
    entry: dict[str, Any],
    spec: MetricSpec,
    real: np.ndarray,
    train: np.ndarray,
    real_logits: np.ndarray | None,
    source: FeatureSource,
    seed: int,
) -> None:
    """What real data scores, for scale: a set metric of the training split against the test split
    (``<label>_train_vs_test``), or a score of the test split itself (``<label>_test_split``)."""
    label = next(iter(entry))
    if spec.kind == "feature-set":
        options = _options(spec, seed, len(real), len(train))
        entry[f"{label}_train_vs_test"] = spec.function(real, train, source=source, **options)[label]
        entry["n_train"] = len(train)
    elif real_logits is not None:
        options = _options(spec, seed, len(real), len(real))
        entry[f"{label}_test_split"] = spec.function(real_logits, source=source, **options)[label]


def headline(evaluation: Mapping[str, Any]) -> dict[str, Any]:
    """The figure a run is judged by, from its evaluation (``evaluate_run``'s result or ``eval.json``),
    and what to read it against: ``{"metric", "value", "reference", "reference_name"}``.

    A likelihood figure where the family has one (test bits/dim, the IWAE bound for the VAE, perplexity
    for language models), against the independent per-pixel baseline for discrete images; otherwise
    (a GAN) the sample-based Fréchet distance (FD-digits for digits) against the training split's own
    distance to the test split. ``value`` is None when the evaluation has neither.
    """
    baseline = (evaluation.get("baseline") or {}).get("bits_per_dim")
    for key in LIKELIHOOD_FIGURES:
        if isinstance(evaluation.get(key), float):
            reference_name = "per-pixel baseline" if baseline is not None else "-"
            return {
                "metric": key,
                "value": evaluation[key],
                "reference": baseline,
                "reference_name": reference_name,
            }
    fd = (evaluation.get("metrics") or {}).get("fd") or {}
    label = next(iter(fd), None)
    if label and isinstance(fd[label], float):
        return {
            "metric": label,
            "value": fd[label],
            "reference": fd.get(f"{label}_train_vs_test"),
            "reference_name": "train-vs-test FD",
        }
    return {"metric": "-", "value": None, "reference": None, "reference_name": "-"}
