"""Classification metrics with scikit-learn's semantics, computed from mergeable label counts.

Precision / recall / F-beta / support (``average`` = ``"binary"``, ``"micro"``, ``"macro"``,
``"weighted"`` or ``None``; ``zero_division`` = ``"warn"``, 0, 1 or ``nan``; ``labels`` order and
``pos_label`` as in :func:`sklearn.metrics.precision_recall_fscore_support`), accuracy and the confusion
matrix (with ``normalize``). The precision-recall curve of scores is in :mod:`.pr_curve`.

Why not call scikit-learn: the guardrail and fairness work accumulates predictions batch by batch and
across workers, which scikit-learn's one-shot functions do not support. Everything here is computed
from per-label counts (:class:`~genforge.metrics.labels.ConfusionCounts`) that ``update`` and ``merge``
like every other metric, and the tests compare every branch with scikit-learn itself. Multilabel (2-D
indicator) targets are not supported and are refused with a clear message.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Literal

import numpy as np
from pydantic import Field, field_validator

from genforge.core.errors import ConfigError, DataError, GenforgeError
from genforge.metrics.base import Metric, Options, State, one_shot, to_numpy
from genforge.metrics.labels import ConfusionCounts, check_pair, check_zero_division, jsonable_label
from genforge.metrics.registry import register_metric

AVERAGES = ("binary", "micro", "macro", "weighted", None)


class UndefinedMetricWarning(UserWarning):
    """A precision/recall/F-score divided by zero and was set by ``zero_division``."""


class ClassificationOptions(Options):
    """Options of :func:`classification_report` (and :class:`ClassificationMetrics`)."""

    average: Literal["binary", "micro", "macro", "weighted"] | None = Field(
        "macro", description="how per-label scores are averaged (none: per-label rows only)"
    )
    labels: list[Any] | None = Field(None, description="labels to score, in this order (default: all seen)")
    pos_label: int | str | None = Field(1, description="positive class for average binary")
    beta: float = Field(1.0, ge=0, description="F-beta weight of recall")
    zero_division: Literal["warn", 0, 1] | float = Field(
        "warn", description="value of a 0/0 precision or recall: warn (0 and a warning), 0, 1 or nan"
    )

    @field_validator("average", mode="before")
    @classmethod
    def _none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and value.lower() == "none" else value

    @field_validator("labels", mode="before")
    @classmethod
    def _listed(cls, value: Any) -> Any:
        return None if value is None else np.asarray(to_numpy(value)).reshape(-1).tolist()

    @field_validator("zero_division", mode="before")
    @classmethod
    def _zero_division(cls, value: Any) -> Any:
        value = float("nan") if isinstance(value, str) and value.lower() == "nan" else value
        try:
            check_zero_division(value)
        except GenforgeError as exc:
            raise ValueError(str(exc)) from None
        return value


def _resolve_labels(counts: ConfusionCounts, average: str | None, labels: Any, pos_label: Any) -> list[Any]:
    if average not in AVERAGES:
        raise ConfigError(f"average must be one of binary, micro, macro, weighted or None, got {average!r}")
    present = counts.labels
    if average == "binary":
        if len(present) > 2:
            raise ConfigError(
                f"the labels are multiclass ({len(present)} classes) but average='binary': "
                "choose average micro, macro, weighted or None"
            )
        if pos_label not in present.tolist() and len(present) >= 2:
            raise ConfigError(
                f"pos_label={pos_label!r} is not a valid label: it should be one of {present.tolist()}"
            )
        return [pos_label]
    if pos_label not in (None, 1):
        warnings.warn(
            f"pos_label ({pos_label!r}) is ignored when average != 'binary' (got {average!r}); "
            "use labels=[pos_label] to score a single class",
            UserWarning,
            stacklevel=3,
        )
    if labels is None:
        return present.tolist()
    return np.asarray(to_numpy(labels)).reshape(-1).tolist()


def _divide(num: np.ndarray, den: np.ndarray, zero_value: float, warn: bool, what: str) -> np.ndarray:
    mask = den == 0
    out = num / np.where(mask, 1.0, den)
    if mask.any():
        out[mask] = zero_value
        if warn:
            warnings.warn(
                f"{what} is ill-defined and set to 0.0 for labels with no {_NO[what]} samples; "
                "use zero_division to control this",
                UndefinedMetricWarning,
                stacklevel=4,
            )
    return out


_NO = {"precision": "predicted", "recall": "true", "f-score": "true nor predicted"}


def _nanaverage(values: np.ndarray, weights: np.ndarray | None) -> float:
    """Average ignoring NaN; with all-zero weights, the unweighted average (scikit-learn's rule)."""
    if values.shape[0] == 0:
        return math.nan
    keep = ~np.isnan(values)
    if not keep.any():
        return math.nan
    if weights is None:
        return float(np.mean(values[keep]))
    v, w = values[keep], weights[keep]
    if w.sum() == 0:
        return float(np.mean(v))
    return float(np.average(v, weights=w))


def prfs_from_counts(
    counts: ConfusionCounts,
    *,
    beta: float = 1.0,
    labels: Any = None,
    pos_label: Any = 1,
    average: str | None = None,
    zero_division: Any = "warn",
) -> tuple[Any, Any, Any, Any]:
    """(precision, recall, F-beta, support) from accumulated counts; see
    :func:`precision_recall_fscore_support`."""
    zero_value = check_zero_division(zero_division)
    if beta < 0:
        raise ConfigError(f"beta must be >= 0, got {beta}")
    chosen = _resolve_labels(counts, average, labels, pos_label)
    tp, pred, true = counts.per_label(chosen)
    if average == "micro":
        tp, pred, true = tp.sum(keepdims=True), pred.sum(keepdims=True), true.sum(keepdims=True)
    warn = isinstance(zero_division, str)
    precision = _divide(tp, pred, zero_value, warn, "precision")
    recall = _divide(tp, true, zero_value, warn, "recall")
    if math.isinf(beta):
        f_score = recall
    elif beta == 0:
        f_score = precision
    else:
        beta2 = beta * beta
        f_score = _divide((1 + beta2) * tp, beta2 * true + pred, zero_value, warn, "f-score")
    if average is None:
        support = true if counts.weighted else true.astype(np.int64)
        return precision, recall, f_score, support
    weights = true if average == "weighted" else None
    return _nanaverage(precision, weights), _nanaverage(recall, weights), _nanaverage(f_score, weights), None


def precision_recall_fscore_support(
    y_true: Any,
    y_pred: Any,
    *,
    beta: float = 1.0,
    labels: Any = None,
    pos_label: Any = 1,
    average: str | None = None,
    zero_division: Any = "warn",
    sample_weight: Any = None,
) -> tuple[Any, Any, Any, Any]:
    """Precision, recall, F-beta and support exactly as scikit-learn defines them.

    ``y_true``/``y_pred``: 1-D label vectors (ints or strings). ``average=None`` returns per-label arrays
    in the order of ``labels`` (default: sorted labels present in either vector) and the support
    (count of true samples per label); any other ``average`` returns three floats and ``None``.
    """
    counts = ConfusionCounts().update(y_true, y_pred, sample_weight)
    return prfs_from_counts(
        counts, beta=beta, labels=labels, pos_label=pos_label, average=average, zero_division=zero_division
    )


def accuracy_score(y_true: Any, y_pred: Any, *, normalize: bool = True, sample_weight: Any = None) -> float:
    """Fraction (or weighted count when ``normalize=False``) of exactly matching labels."""
    t, p, w = check_pair(y_true, y_pred, sample_weight)
    correct = (t == p).astype(np.float64)
    if not normalize:
        return float(correct.sum() if w is None else correct @ w)
    if len(t) == 0:
        return math.nan
    return float(np.average(correct, weights=w))


def _matrix_from_counts(
    counts: ConfusionCounts, labels: Any, normalize: str | None
) -> tuple[np.ndarray, list]:
    if normalize not in (None, "true", "pred", "all"):
        raise ConfigError(f"normalize must be one of true, pred, all or None, got {normalize!r}")
    chosen = counts.labels.tolist() if labels is None else np.asarray(to_numpy(labels)).reshape(-1).tolist()
    if labels is not None:
        if not chosen:
            raise ConfigError("labels must contain at least one label")
        true_seen = {t for t, _ in counts.pairs}
        if counts.pairs and not true_seen.intersection(chosen):
            raise ConfigError("at least one of the given labels must occur in y_true")
    cm = counts.matrix(chosen)
    if normalize is not None:
        with np.errstate(all="ignore"):
            if normalize == "true":
                cm = cm / cm.sum(axis=1, keepdims=True)
            elif normalize == "pred":
                cm = cm / cm.sum(axis=0, keepdims=True)
            else:
                cm = cm / cm.sum()
        cm = np.nan_to_num(cm)
    elif not counts.weighted:
        cm = cm.astype(np.int64)
    return cm, chosen


def confusion_matrix(
    y_true: Any, y_pred: Any, *, labels: Any = None, sample_weight: Any = None, normalize: str | None = None
) -> np.ndarray:
    """Confusion matrix ``(K, K)`` (rows: true, columns: predicted) in the order of ``labels``.

    Samples whose true or predicted label is not in ``labels`` are left out; ``normalize`` divides by
    row sums (``"true"``), column sums (``"pred"``) or the total (``"all"``), 0 where a sum is 0.
    """
    counts = ConfusionCounts().update(y_true, y_pred, sample_weight)
    return _matrix_from_counts(counts, labels, normalize)[0]


def report_from_counts(counts: ConfusionCounts, options: ClassificationOptions) -> dict[str, Any]:
    """Self-describing summary: averaged precision/recall/F-beta first, then accuracy, per-label rows
    and the confusion matrix."""
    average, labels, pos_label = options.average, options.labels, options.pos_label
    beta, zero_division = options.beta, options.zero_division
    f_key = "f1" if beta == 1 else f"f{beta:g}"
    out: dict[str, Any] = {}
    if average is not None:
        p, r, f, _ = prfs_from_counts(
            counts,
            beta=beta,
            labels=labels,
            pos_label=pos_label,
            average=average,
            zero_division=zero_division,
        )
        out.update({"precision": p, "recall": r, f_key: f, "average": average})
    per_labels = None if average == "binary" else labels
    p, r, f, s = prfs_from_counts(
        counts, beta=beta, labels=per_labels, average=None, zero_division=zero_division
    )
    chosen = _resolve_labels(counts, None, per_labels, None)
    correct = sum(w for (t, pr), w in counts.pairs.items() if t == pr)
    total = counts.num_samples
    cm, cm_labels = _matrix_from_counts(counts, per_labels, None)
    out.update(
        {
            "accuracy": correct / total if total else math.nan,
            "num_samples": int(total) if not counts.weighted else total,
            "labels": [jsonable_label(x) for x in chosen],
            "per_label": [
                {
                    "label": jsonable_label(lab),
                    "precision": float(pi),
                    "recall": float(ri),
                    f_key: float(fi),
                    "support": si.item(),
                }
                for lab, pi, ri, fi, si in zip(chosen, p, r, f, s, strict=True)
            ],
            "confusion_matrix": cm.tolist(),
            "confusion_matrix_labels": [jsonable_label(x) for x in cm_labels],
            "zero_division": zero_division
            if not isinstance(zero_division, float) or not math.isnan(zero_division)
            else "nan",
        }
    )
    return out


def classification_report(
    y_true: Any, y_pred: Any, *, sample_weight: Any = None, **options: Any
) -> dict[str, Any]:
    """Functional twin of :class:`ClassificationMetrics`; ``options``: :class:`ClassificationOptions`."""
    return one_shot(ClassificationMetrics(**options), y_true, y_pred, sample_weight)


@register_metric(
    "classify",
    kind="classification",
    function=classification_report,
    summary="precision / recall / F1 / confusion matrix (scikit-learn semantics)",
)
class ClassificationMetrics(Metric):
    """Streaming precision/recall/F-beta, accuracy and confusion matrix.

    ``update(y_true, y_pred, sample_weight=None)`` per batch; ``compute()`` returns
    :func:`report_from_counts` with the options given to the constructor.
    """

    name = "classification"
    options_class = ClassificationOptions
    states = {"counts": State(ConfusionCounts, "merge")}

    def settings(self) -> dict[str, Any]:
        return {k: str(v) for k, v in self.options.model_dump().items()}  # str: nan equals nan

    def update(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        self.counts.update(y_true, y_pred, sample_weight)

    def compute(self) -> dict[str, Any]:
        if not self.counts.pairs:
            raise DataError("no labels were given to the classification metric")
        return report_from_counts(self.counts, self.options)
