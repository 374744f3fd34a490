"""Inception Score (Salimans et al. 2016) from classifier logits: ``exp(E_x KL(p(y|x) || p(y)))``.

Conventions (those of torch-fidelity, so numbers are comparable): the logits are shuffled with
``numpy.random.RandomState(seed).permutation`` (skip with ``shuffle=False``), cut into ``splits``
contiguous chunks ``[i N / splits, (i + 1) N / splits)``, the score is computed per chunk with
``p(y)`` the chunk's mean prediction, and the result is the mean and the population std (ddof = 0) of
the per-chunk scores. Computed in float64 from log-softmax, so no probability underflows to log(0).
With the ``digits`` extractor the value is an Inception-*style* score (``is_digits``), bounded by 10.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from genforge.metrics.base import (
    PRECOMPUTED,
    FeatureMetric,
    FeatureSource,
    Options,
    State,
    as_features,
    check_min_samples,
    metric_label,
)
from genforge.metrics.registry import register_metric


class ISOptions(Options):
    """Options of :func:`inception_score`."""

    splits: int = Field(10, ge=1, description="number of splits")
    shuffle: bool = Field(True, description="shuffle the logits (seeded) before splitting")
    seed: int = Field(2020, description="seed of the shuffle")


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax of ``(N, K)`` logits (float64, max-shifted)."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def inception_score(logits: Any, *, source: FeatureSource = PRECOMPUTED, **options: Any) -> dict[str, Any]:
    """Inception score of ``(N, K)`` class logits (unnormalised log-probabilities): mean and std over
    splits. ``options``: :class:`ISOptions` (``splits=10, shuffle=True, seed=2020``)."""
    opts = ISOptions.parse(options, "is")
    splits, shuffle, seed = opts.splits, opts.shuffle, opts.seed
    x = as_features(logits, "logits")
    check_min_samples(len(x), splits, "the Inception score", "(one per split)")
    if shuffle:
        x = x[np.random.RandomState(seed).permutation(len(x))]
    log_p = log_softmax(x)
    p = np.exp(log_p)
    n = len(x)
    scores = []
    for i in range(splits):
        chunk = slice(i * n // splits, (i + 1) * n // splits)
        log_marginal = np.log(p[chunk].mean(axis=0, keepdims=True))
        kl = (p[chunk] * (log_p[chunk] - log_marginal)).sum(axis=1).mean()
        scores.append(float(np.exp(kl)))
    label = metric_label("is", source)
    return {
        label: float(np.mean(scores)),
        f"{label}_std": float(np.std(scores)),
        "metric": "inception_score",
        **source.describe(),
        "splits": splits,
        "shuffle_seed": seed if shuffle else None,
        "n": n,
        "num_classes": x.shape[1],
    }


@register_metric(
    "is",
    kind="image-score",
    function=inception_score,
    summary="Inception(-style) score of one image set under a classifier extractor",
    reference=True,
)
class InceptionScore(FeatureMetric):
    """Streaming Inception score: ``update(logits)`` per batch (logits kept: N x K floats)."""

    name = "inception_score"
    options_class = ISOptions
    states = {"logits": State(merge="cat")}

    def update(self, logits: Any) -> None:
        self.logits.append(as_features(logits, "logits"))

    def compute(self) -> dict[str, Any]:
        all_logits = np.concatenate(self.logits) if self.logits else np.zeros((0, 1))
        return inception_score(all_logits, source=self.source, **self.options.model_dump())
