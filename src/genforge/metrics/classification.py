"""Classification metrics with scikit-learn's semantics, computed from mergeable label counts.

Precision / recall / F-beta / support (``average`` = ``"binary"``, ``"micro"``, ``"macro"``,
``"weighted"`` or ``None``; ``zero_division`` = ``"warn"``, 0, 1 or ``nan``; ``labels`` order and
``pos_label`` as in :func:`sklearn.metrics.precision_recall_fscore_support`), accuracy, the confusion
matrix (with ``normalize``) and the precision-recall curve / average precision of binary scores.

Why not call scikit-learn: the guardrail and fairness work accumulates predictions batch by batch and
across workers, which scikit-learn's one-shot functions do not support. Everything here is computed
from per-label counts (:class:`ConfusionCounts`) that ``update`` and ``merge`` like every other metric, and
the tests compare every branch with scikit-learn itself. Multilabel (2-D indicator) targets are not
supported and are refused with a clear message.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any, Self

import numpy as np

from genforge.core.errors import ConfigError, DataError
from genforge.metrics.base import Metric, to_numpy

AVERAGES = ("binary", "micro", "macro", "weighted", None)


class UndefinedMetricWarning(UserWarning):
    """A precision/recall/F-score divided by zero and was set by ``zero_division``."""


def _as_labels(y: Any, what: str) -> np.ndarray:
    arr = to_numpy(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise DataError(
            f"{what} must be a 1-D vector of class labels, got shape {tuple(arr.shape)} "
            "(multilabel indicator matrices are not supported)"
        )
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise DataError(f"{what} contains NaN or infinite values")
        if not np.all(arr == np.round(arr)):
            raise DataError(f"{what} has non-integer numbers: these look like scores, not class labels")
    elif arr.dtype.kind == "O":
        kinds = {type(v) for v in arr.tolist()}
        if all(issubclass(k, str) for k in kinds):
            arr = arr.astype(str)
        elif not all(issubclass(k, (int, float, bool, np.number)) for k in kinds):
            raise DataError(f"{what} mixes label types ({', '.join(sorted(k.__name__ for k in kinds))})")
    return arr


def _check_pair(
    y_true: Any, y_pred: Any, sample_weight: Any = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    t, p = _as_labels(y_true, "y_true"), _as_labels(y_pred, "y_pred")
    if len(t) != len(p):
        raise DataError(f"y_true has {len(t)} labels but y_pred has {len(p)}")
    if (t.dtype.kind in "US") != (p.dtype.kind in "US"):
        raise DataError("y_true and y_pred mix string and number labels: use one kind for both")
    w = None
    if sample_weight is not None:
        w = np.asarray(to_numpy(sample_weight), dtype=np.float64).reshape(-1)
        if len(w) != len(t):
            raise DataError(f"sample_weight has {len(w)} entries but there are {len(t)} labels")
    return t, p, w


def _check_zero_division(zero_division: Any) -> float:
    if isinstance(zero_division, str) and zero_division == "warn":
        return 0.0
    if isinstance(zero_division, (int, float)) and not isinstance(zero_division, bool):
        if zero_division in (0, 1):
            return float(zero_division)
        if math.isnan(zero_division):
            return math.nan
    raise ConfigError(f"zero_division must be 'warn', 0, 1 or nan, got {zero_division!r}")


class ConfusionCounts:
    """Sparse confusion counts ``(true label, predicted label) -> weight``: the mergeable state behind
    every metric in this module. ``labels`` is the sorted set of labels seen in either vector."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.pairs: dict[tuple[Any, Any], float] = {}
        self.weighted = False

    @property
    def labels(self) -> np.ndarray:
        seen = {label for pair in self.pairs for label in pair}
        return np.array(sorted(seen)) if seen else np.array([], dtype=np.int64)

    @property
    def num_samples(self) -> float:
        return sum(self.pairs.values())

    def update(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Self:
        t, p, w = _check_pair(y_true, y_pred, sample_weight)
        if len(t) == 0:
            return self
        if self.pairs:
            known_str = isinstance(next(iter(self.pairs))[0], str)
            if known_str != (t.dtype.kind in "US"):
                raise DataError(
                    "labels in this batch are of another kind (string vs number) than earlier batches"
                )
        self.weighted = self.weighted or w is not None
        pairs = np.empty(len(t), dtype=[("t", t.dtype), ("p", p.dtype)])
        pairs["t"], pairs["p"] = t, p
        unique, inverse = np.unique(pairs, return_inverse=True)
        weights = np.bincount(inverse.reshape(-1), weights=w, minlength=len(unique))
        for (true_label, pred_label), weight in zip(unique.tolist(), weights.tolist(), strict=True):
            key = (true_label, pred_label)
            self.pairs[key] = self.pairs.get(key, 0.0) + weight
        return self

    def merge(self, other: ConfusionCounts) -> Self:
        for key, weight in other.pairs.items():
            self.pairs[key] = self.pairs.get(key, 0.0) + weight
        self.weighted = self.weighted or other.weighted
        return self

    def per_label(self, labels: Sequence[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(tp, predicted, true)`` sums, each ``(len(labels),)`` float64, in the order of ``labels``."""
        index = {label: i for i, label in enumerate(labels)}
        tp, pred, true = (np.zeros(len(labels)) for _ in range(3))
        for (t, p), weight in self.pairs.items():
            if t == p and t in index:
                tp[index[t]] += weight
            if p in index:
                pred[index[p]] += weight
            if t in index:
                true[index[t]] += weight
        return tp, pred, true

    def matrix(self, labels: Sequence[Any]) -> np.ndarray:
        """Confusion matrix ``(K, K)``: rows true labels, columns predicted, in the order of ``labels``."""
        index = {label: i for i, label in enumerate(labels)}
        cm = np.zeros((len(labels), len(labels)))
        for (t, p), weight in self.pairs.items():
            if t in index and p in index:
                cm[index[t], index[p]] += weight
        return cm


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
    zero_value = _check_zero_division(zero_division)
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
    t, p, w = _check_pair(y_true, y_pred, sample_weight)
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


def _binary_truth(y_true: Any, pos_label: Any) -> np.ndarray:
    t = _as_labels(y_true, "y_true")
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


def _jsonable_label(label: Any) -> Any:
    return label.item() if hasattr(label, "item") else label


def report_from_counts(
    counts: ConfusionCounts,
    *,
    average: str | None = "macro",
    labels: Any = None,
    pos_label: Any = 1,
    beta: float = 1.0,
    zero_division: Any = "warn",
) -> dict[str, Any]:
    """Self-describing summary: averaged precision/recall/F-beta first, then accuracy, per-label rows
    and the confusion matrix."""
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
            "labels": [_jsonable_label(x) for x in chosen],
            "per_label": [
                {
                    "label": _jsonable_label(lab),
                    "precision": float(pi),
                    "recall": float(ri),
                    f_key: float(fi),
                    "support": si.item(),
                }
                for lab, pi, ri, fi, si in zip(chosen, p, r, f, s, strict=True)
            ],
            "confusion_matrix": cm.tolist(),
            "confusion_matrix_labels": [_jsonable_label(x) for x in cm_labels],
            "zero_division": zero_division
            if not isinstance(zero_division, float) or not math.isnan(zero_division)
            else "nan",
        }
    )
    return out


def classification_report(y_true: Any, y_pred: Any, **options: Any) -> dict[str, Any]:
    """Functional twin of :class:`ClassificationMetrics`: see :func:`report_from_counts` for options."""
    sample_weight = options.pop("sample_weight", None)
    return report_from_counts(ConfusionCounts().update(y_true, y_pred, sample_weight), **options)


class ClassificationMetrics(Metric):
    """Streaming precision/recall/F-beta, accuracy and confusion matrix.

    ``update(y_true, y_pred, sample_weight=None)`` per batch; ``compute()`` returns
    :func:`report_from_counts` with the options given to the constructor.
    """

    name = "classification"

    def __init__(
        self,
        *,
        average: str | None = "macro",
        labels: Any = None,
        pos_label: Any = 1,
        beta: float = 1.0,
        zero_division: Any = "warn",
    ) -> None:
        if average not in AVERAGES:
            raise ConfigError(
                f"average must be one of binary, micro, macro, weighted or None, got {average!r}"
            )
        _check_zero_division(zero_division)
        self.options = {
            "average": average,
            "labels": None if labels is None else list(labels),
            "pos_label": pos_label,
            "beta": beta,
            "zero_division": zero_division,
        }
        self.counts = ConfusionCounts()

    def settings(self) -> dict[str, Any]:
        return {k: str(v) for k, v in self.options.items()}

    def reset(self) -> None:
        self.counts.reset()

    def update(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        self.counts.update(y_true, y_pred, sample_weight)

    def compute(self) -> dict[str, Any]:
        if not self.counts.pairs:
            raise DataError("no labels were given to the classification metric")
        return report_from_counts(self.counts, **self.options)

    def _merge_state(self, other: ClassificationMetrics) -> None:
        self.counts.merge(other.counts)

    def state_dict(self) -> dict[str, np.ndarray]:
        keys = list(self.counts.pairs)
        return {
            "true": np.array([k[0] for k in keys]),
            "pred": np.array([k[1] for k in keys]),
            "weight": np.array([self.counts.pairs[k] for k in keys], dtype=np.float64),
            "weighted": np.array(self.counts.weighted),
        }

    def load_state_dict(self, state: dict[str, np.ndarray]) -> Self:
        self.counts.reset()
        self.counts.weighted = bool(state["weighted"])
        for t, p, w in zip(
            state["true"].tolist(), state["pred"].tolist(), state["weight"].tolist(), strict=True
        ):
            self.counts.pairs[(t, p)] = w
        return self


class PrecisionRecallCurve(Metric):
    """Streaming precision-recall curve and average precision of binary scores.

    ``update(y_true, y_score, sample_weight=None)`` per batch (the state is the labels and scores
    themselves: a curve needs every distinct score); ``compute()`` gives :func:`precision_recall_curve`
    and :func:`average_precision_score` of everything seen, as lists.
    """

    name = "precision_recall_curve"

    def __init__(self, *, pos_label: Any = None) -> None:
        self.pos_label = pos_label
        self.reset()

    def settings(self) -> dict[str, Any]:
        return {"pos_label": str(self.pos_label)}

    def reset(self) -> None:
        self.truth: list[np.ndarray] = []
        self.scores: list[np.ndarray] = []
        self.weights: list[np.ndarray] = []

    def update(self, y_true: Any, y_score: Any, sample_weight: Any = None) -> None:
        t = _as_labels(y_true, "y_true")
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
        precision, recall, thresholds = precision_recall_curve(
            t, s, pos_label=self.pos_label, sample_weight=w
        )
        pos_label = 1 if self.pos_label is None else self.pos_label
        return {
            "average_precision": average_precision_score(t, s, pos_label=pos_label, sample_weight=w),
            "metric": "precision_recall_curve",
            "n": len(t),
            "pos_label": _jsonable_label(pos_label),
            "precision": precision.tolist(),
            "recall": recall.tolist(),
            "thresholds": thresholds.tolist(),
        }

    def _merge_state(self, other: PrecisionRecallCurve) -> None:
        for mine, theirs in (
            (self.truth, other.truth),
            (self.scores, other.scores),
            (self.weights, other.weights),
        ):
            mine.extend(theirs)

    def state_dict(self) -> dict[str, np.ndarray]:
        if not self.truth:
            return {"truth": np.zeros(0, np.int64), "scores": np.zeros(0), "weights": np.zeros(0)}
        return {
            "truth": np.concatenate(self.truth),
            "scores": np.concatenate(self.scores),
            "weights": np.concatenate(self.weights),
        }

    def load_state_dict(self, state: dict[str, np.ndarray]) -> Self:
        self.reset()
        if len(state["truth"]):
            self.truth, self.scores, self.weights = [state["truth"]], [state["scores"]], [state["weights"]]
        return self
