"""Class-label vectors and the confusion counts every classification metric is computed from.

:func:`as_labels` accepts 1-D vectors of integers (or integral floats) or strings and refuses scores,
NaN, mixed kinds and multilabel indicator matrices with one line each. :class:`ConfusionCounts` holds
``(true label, predicted label) -> weight``: it updates batch by batch and merges across workers exactly,
which scikit-learn's one-shot functions cannot, and it is the state of
:class:`~genforge.metrics.classification.ClassificationMetrics`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Self

import numpy as np

from genforge.core.errors import ConfigError, DataError
from genforge.metrics.base import to_numpy


def as_labels(y: Any, what: str) -> np.ndarray:
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


def check_pair(
    y_true: Any, y_pred: Any, sample_weight: Any = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    t, p = as_labels(y_true, "y_true"), as_labels(y_pred, "y_pred")
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


def check_zero_division(zero_division: Any) -> float:
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
        t, p, w = check_pair(y_true, y_pred, sample_weight)
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

    def to_arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        """The counts as arrays: true and predicted labels, weights, and whether weights were given."""
        keys = list(self.pairs)
        return {
            f"{prefix}true": np.array([k[0] for k in keys]),
            f"{prefix}pred": np.array([k[1] for k in keys]),
            f"{prefix}weight": np.array([self.pairs[k] for k in keys], dtype=np.float64),
            f"{prefix}weighted": np.array(self.weighted),
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], prefix: str = "") -> ConfusionCounts:
        counts = cls()
        counts.weighted = bool(arrays[f"{prefix}weighted"])
        true, pred, weight = (arrays[f"{prefix}{k}"].tolist() for k in ("true", "pred", "weight"))
        for t, p, w in zip(true, pred, weight, strict=True):
            counts.pairs[(t, p)] = w
        return counts


def jsonable_label(label: Any) -> Any:
    """A label as a plain JSON value (numpy scalars to Python)."""
    return label.item() if hasattr(label, "item") else label
