"""Precision-recall curve and average precision of binary scores, with scikit-learn's semantics.

One point per distinct score in decreasing-recall order, then a final ``(precision=1, recall=0)``
point without a threshold; average precision is the area under that step curve. Written here (numpy
only) so scores can be accumulated batch by batch and merged across workers; the tests compare every
branch with scikit-learn.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from pydantic import Field

from genforge.core.errors import ConfigError, DataError
from genforge.metrics.base import Metric, Options, State, one_shot, to_numpy
from genforge.metrics.labels import as_labels, jsonable_label
from genforge.metrics.registry import register_metric


class PRCurveOptions(Options):
    """Options of :func:`precision_recall_report`."""

    pos_label: int | str | None = Field(
        None, description="the positive class (default: 1, with labels in {0, 1} or {-1, 1})"
    )


def _binary_truth(y_true: Any, pos_label: Any) -> np.ndarray:
    t = as_labels(y_true, "y_true")
    present = np.unique(t)
    if pos_label is None:
        allowed = [{0, 1}, {-1, 1}, {0}, {-1}, {1}]
        if t.dtype.kind in "US" or set(present.tolist()) not in allowed:
            raise ConfigError(
                f"y_true takes values {present.tolist()[:5]} and pos_label is not given: "
                "use labels in {0, 1} or {-1, 1}, or pass pos_label"
            )
        pos_label = 1
    elif len(present) > 2:
        raise DataError(f"a precision-recall curve needs binary y_true, got {len(present)} classes")
    return (t == pos_label).astype(np.float64)


def precision_recall_curve(
    y_true: Any,
    y_score: Any,
    *,
    pos_label: Any = None,
    sample_weight: Any = None,
    drop_intermediate: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(precision, recall, thresholds) for binary ``y_true`` and real ``y_score`` (higher = positive).

    As scikit-learn: one point per distinct score in decreasing-recall order, then a final
    ``(precision=1, recall=0)`` point without a threshold.
    """
    truth = _binary_truth(y_true, pos_label)
    score = np.asarray(to_numpy(y_score), dtype=np.float64).reshape(-1)
    if len(score) != len(truth):
        raise DataError(f"y_true has {len(truth)} entries but y_score has {len(score)}")
    if not np.isfinite(score).all():
        raise DataError("y_score contains NaN or infinite values")
    weight = None
    if sample_weight is not None:
        weight = np.asarray(to_numpy(sample_weight), dtype=np.float64).reshape(-1)
        keep = weight != 0
        truth, score, weight = truth[keep], score[keep], weight[keep]
    order = np.argsort(-score, kind="stable")
    score, truth = score[order], truth[order]
    weight = None if weight is None else weight[order]
    ends = np.r_[np.nonzero(np.diff(score))[0], truth.size - 1]
    tps = np.cumsum(truth * (1.0 if weight is None else weight))[ends]
    fps = 1 + ends - tps if weight is None else np.cumsum((1 - truth) * weight)[ends]
    thresholds = score[ends]
    if drop_intermediate and fps.shape[0] > 2:
        keep = np.r_[True, np.logical_or(np.diff(tps[:-1]), np.diff(tps[1:])), True]
        fps, tps, thresholds = fps[keep], tps[keep], thresholds[keep]
    predicted = tps + fps
    precision = np.divide(tps, predicted, out=np.zeros_like(tps), where=predicted != 0)
    if tps[-1] == 0:
        warnings.warn(
            "no positive class in y_true: recall is set to 1 for all thresholds", UserWarning, stacklevel=2
        )
        recall = np.ones_like(tps)
    else:
        recall = tps / tps[-1]
    return np.r_[precision[::-1], 1.0], np.r_[recall[::-1], 0.0], thresholds[::-1]


def average_precision_score(
    y_true: Any, y_score: Any, *, pos_label: Any = 1, sample_weight: Any = None
) -> float:
    """Area under the step precision-recall curve, ``sum_n (R_n - R_{n-1}) P_n`` (binary targets)."""
    precision, recall, _ = precision_recall_curve(
        y_true, y_score, pos_label=pos_label, sample_weight=sample_weight
    )
    return float(max(0.0, -np.sum(np.diff(recall) * precision[:-1])))


def precision_recall_report(
    y_true: Any, y_score: Any, *, sample_weight: Any = None, **options: Any
) -> dict[str, Any]:
    """Functional twin of :class:`PrecisionRecallCurve`: the curve (as lists), its thresholds and the
    average precision of binary ``y_true`` against real ``y_score``; ``options``: :class:`PRCurveOptions`."""
    return one_shot(PrecisionRecallCurve(**options), y_true, y_score, sample_weight)


@register_metric(
    "pr-curve",
    kind="scores",
    function=precision_recall_report,
    summary="precision-recall curve and average precision of binary scores (scikit-learn semantics)",
)
class PrecisionRecallCurve(Metric):
    """Streaming precision-recall curve and average precision of binary scores.

    ``update(y_true, y_score, sample_weight=None)`` per batch (the state is the labels and scores
    themselves: a curve needs every distinct score); ``compute()`` gives :func:`precision_recall_curve`
    and :func:`average_precision_score` of everything seen, as lists.
    """

    name = "precision_recall_curve"
    options_class = PRCurveOptions
    states = {"truth": State(merge="cat"), "scores": State(merge="cat"), "weights": State(merge="cat")}

    def settings(self) -> dict[str, Any]:
        return {"pos_label": str(self.options.pos_label)}

    def update(self, y_true: Any, y_score: Any, sample_weight: Any = None) -> None:
        t = as_labels(y_true, "y_true")
        s = np.asarray(to_numpy(y_score), dtype=np.float64).reshape(-1)
        if len(s) != len(t):
            raise DataError(f"y_true has {len(t)} entries but y_score has {len(s)}")
        w = np.ones(len(t)) if sample_weight is None else np.asarray(to_numpy(sample_weight), np.float64)
        if w.shape != (len(t),):
            raise DataError(f"sample_weight has {w.size} entries but there are {len(t)} labels")
        if self.truth and (self.truth[0].dtype.kind in "US") != (t.dtype.kind in "US"):
            raise DataError(
                "labels in this batch are of another kind (string vs number) than earlier batches"
            )
        self.truth.append(t)
        self.scores.append(s)
        self.weights.append(w)

    def compute(self) -> dict[str, Any]:
        if not self.truth:
            raise DataError("no scores were given to the precision-recall curve")
        t, s, w = (np.concatenate(parts) for parts in (self.truth, self.scores, self.weights))
        pos_label = self.options.pos_label
        precision, recall, thresholds = precision_recall_curve(t, s, pos_label=pos_label, sample_weight=w)
        pos_label = 1 if pos_label is None else pos_label
        return {
            "average_precision": average_precision_score(t, s, pos_label=pos_label, sample_weight=w),
            "metric": "precision_recall_curve",
            "n": len(t),
            "pos_label": jsonable_label(pos_label),
            "precision": precision.tolist(),
            "recall": recall.tolist(),
            "thresholds": thresholds.tolist(),
        }
