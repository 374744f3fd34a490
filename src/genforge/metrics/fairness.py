"""Group fairness metrics of a binary classifier, with fairlearn's definitions, from per-group confusion counts.

Every figure comes from one table: for each group of the sensitive attribute(s), the 2x2 confusion counts
of (true label, prediction) (:class:`~genforge.metrics.labels.ConfusionCounts`, the same counts the
classification metrics use, so they update batch by batch and merge across workers). From them:

- per group: count, selection rate ``P(pred=1)``, true-positive rate ``P(pred=1 | y=1)``, false-positive
  rate ``P(pred=1 | y=0)``, accuracy;
- disparities, as fairlearn's ``MetricFrame`` ``difference()``/``ratio()`` with ``method="between_groups"``
  (largest minus smallest group value; smallest over largest): demographic parity difference and ratio
  (fairlearn ``demographic_parity_difference``/``_ratio``), equalized odds difference (the larger of the
  TPR and FPR differences) and ratio (the smaller of the two ratios), equal opportunity difference/ratio
  (TPR only), disparate impact (the selection-rate ratio, the "80 % rule") and average odds difference
  (the mean of the TPR and FPR differences: fairlearn's ``equalized_odds_difference(agg="mean")``);
- bootstrap percentile intervals of every disparity: resampling ``n`` rows with replacement is a
  multinomial draw over the ``4 x groups`` cells of the count table, so ``B`` resamples cost ``O(B x
  cells)``, not ``O(B x n)``.

Why not call fairlearn here: fairlearn needs pandas and recomputes from the full prediction vectors; this
module is the streaming, mergeable form, and ``tests/golden/make_fairness.py`` freezes fairlearn's values so
the test compares the two to 1e-12. A rate whose denominator is empty in a group (no positives) is 0, as
fairlearn's (scikit-learn's normalised confusion matrix); such a group is named in the warnings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from genforge.core.errors import DataError
from genforge.metrics.labels import ConfusionCounts

MISSING_GROUP = "(missing)"
GROUP_RATES = ("selection_rate", "true_positive_rate", "false_positive_rate", "accuracy")
DISPARITIES = (
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equalized_odds_difference",
    "equalized_odds_ratio",
    "equal_opportunity_difference",
    "equal_opportunity_ratio",
    "disparate_impact",
    "average_odds_difference",
)


def _distinct(column: Sequence[Any]) -> tuple[list[str], np.ndarray]:
    """The distinct values of ``column`` as stripped strings and each row's index into them (one
    ``np.unique`` pass: the per-value work is on the few distinct values, not the rows)."""
    arr = np.asarray(column, dtype=object) if not isinstance(column, np.ndarray) else column
    if arr.dtype.kind in "biuf":  # numbers sort as numbers (fast); only the distinct values become text
        uniq, inverse = np.unique(arr, return_inverse=True)
    else:
        uniq, inverse = np.unique(arr.astype(str), return_inverse=True)
    return [str(v).strip() for v in uniq.tolist()], inverse.reshape(-1)


def group_keys(columns: Sequence[Sequence[Any]], names: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """One group label per row: the value of one sensitive column, or ``a|b`` of several (intersectional
    groups). Empty or missing values form their own group, ``(missing)``; the notes say so."""
    notes = []
    keys = None
    for name, column in zip(names, columns, strict=True):
        values, inverse = _distinct(column)
        labels = np.array(
            [MISSING_GROUP if v in ("", "?", "nan", "None") else v for v in values], dtype=object
        )
        missing = int(np.isin(inverse, np.flatnonzero(labels == MISSING_GROUP)).sum())
        if missing:
            notes.append(f"{missing} rows have no {name}: they form their own group {MISSING_GROUP}")
        part = labels[inverse]
        keys = part if keys is None else keys + "|" + part
    return np.asarray(keys).astype(str), notes


def binary_labels(values: Sequence[Any], what: str, pos_label: Any = None) -> np.ndarray:
    """``values`` as a 0/1 int vector: numbers must be 0/1 (or ``pos_label`` names the positive value),
    strings need ``pos_label`` unless they are true/false."""
    uniq, inverse = _distinct(values)
    distinct = sorted(set(uniq))
    if pos_label is not None:
        positive = str(pos_label)
        if positive not in distinct and len(distinct) > 1:
            raise DataError(
                f"{what}: the positive label '{positive}' never occurs (values: {', '.join(distinct[:5])})"
            )
        if len(distinct) > 2:
            raise DataError(f"{what} is not binary: {len(distinct)} values ({', '.join(distinct[:5])} …)")
        return np.array([v == positive for v in uniq], dtype=np.int64)[inverse]
    canon = {"0": 0, "1": 1, "0.0": 0, "1.0": 1, "false": 0, "true": 1}
    if not {v.lower() for v in distinct} <= set(canon):
        shown = ", ".join(distinct[:5]) + (" …" if len(distinct) > 5 else "")
        raise DataError(
            f"{what} must be binary 0/1 (or true/false), got {len(distinct)} values ({shown}); "
            "name the positive value with --pos-label"
        )
    return np.array([canon[v.lower()] for v in uniq], dtype=np.int64)[inverse]


def group_counts(y_true: np.ndarray, y_pred: np.ndarray, groups: np.ndarray) -> dict[str, ConfusionCounts]:
    """Per-group confusion counts of 0/1 vectors (rows aligned)."""
    n = len(groups)
    if len(y_true) != n or len(y_pred) != n:
        raise DataError(
            f"rows are misaligned: {len(y_true)} true labels, {len(y_pred)} predictions, {n} sensitive values"
        )
    names, index = np.unique(groups, return_inverse=True)
    cells = np.bincount(index.reshape(-1) * 4 + y_true * 2 + y_pred, minlength=4 * len(names)).reshape(-1, 4)
    counts = {}
    for name, row in zip(names.tolist(), cells.tolist(), strict=True):
        counts[name] = ConfusionCounts()
        for (t, p), weight in zip(((0, 0), (0, 1), (1, 0), (1, 1)), row, strict=True):
            if weight:
                counts[name].pairs[(t, p)] = float(weight)
    return counts


def _cells(counts: ConfusionCounts) -> np.ndarray:
    """``[tn, fp, fn, tp]`` of a 0/1 confusion table."""
    return np.array([counts.pairs.get((t, p), 0.0) for t in (0, 1) for p in (0, 1)], dtype=np.float64)


def _share(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` with 0 where ``den`` is 0 (scikit-learn's normalised confusion matrix, hence fairlearn's)."""
    return np.divide(num, den, out=np.zeros_like(num, dtype=np.float64), where=den > 0)


def _rates(cells: np.ndarray) -> np.ndarray:
    """Rates ``(..., 4)`` [selection, TPR, FPR, accuracy] from cells ``(..., 4)`` = [tn, fp, fn, tp];
    a rate with an empty denominator is 0, as fairlearn's (the report warns about it)."""
    tn, fp, fn, tp = (cells[..., i] for i in range(4))
    total = tn + fp + fn + tp
    return np.stack(
        [_share(fp + tp, total), _share(tp, tp + fn), _share(fp, fp + tn), _share(tp + tn, total)], axis=-1
    )


def _disparities(rates: np.ndarray) -> dict[str, np.ndarray]:
    """Disparities from group rates ``(..., G, 4)`` (between groups, fairlearn's definitions)."""
    high, low = rates.max(axis=-2), rates.min(axis=-2)
    diff = high - low
    ratio = np.divide(low, high, out=np.full_like(low, np.nan), where=high > 0)  # 0/0 is NaN, as pandas
    return {
        "demographic_parity_difference": diff[..., 0],
        "demographic_parity_ratio": ratio[..., 0],
        "equalized_odds_difference": np.maximum(diff[..., 1], diff[..., 2]),
        "equalized_odds_ratio": np.minimum(ratio[..., 1], ratio[..., 2]),
        "equal_opportunity_difference": diff[..., 1],
        "equal_opportunity_ratio": ratio[..., 1],
        "disparate_impact": ratio[..., 0],
        "average_odds_difference": (diff[..., 1] + diff[..., 2]) / 2,
    }


def fairness_report(
    counts: dict[str, ConfusionCounts],
    *,
    min_group_size: int = 30,
    bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, Any]:
    """Per-group rates, overall rates, disparities and their bootstrap intervals from per-group counts.

    Returns a JSON-ready dict: ``groups`` (one record per group), ``overall``, ``disparities`` (floats),
    ``intervals`` (``[low, high]`` per disparity, ``confidence`` level, ``bootstrap`` resamples, seeded
    by ``seed``) and ``warnings`` (small groups, undefined rates).
    """
    if len(counts) < 2:
        only = ", ".join(f"{g} ({c.num_samples:.0f} rows)" for g, c in counts.items()) or "none"
        raise DataError(f"the sensitive attribute needs at least two groups to compare, got one: {only}")
    names = list(counts)
    cells = np.stack([_cells(counts[g]) for g in names])  # (G, 4)
    rates = _rates(cells)
    warnings = []
    small = [f"{g} ({cells[i].sum():.0f})" for i, g in enumerate(names) if cells[i].sum() < min_group_size]
    if small:
        warnings.append(
            f"groups below the minimum size {min_group_size}: {', '.join(small)}; their rates are noisy"
        )
    for i, g in enumerate(names):
        tn, fp, fn, tp = cells[i]
        for absent, rate, count in (
            ("positives", "true_positive_rate", tp + fn),
            ("negatives", "false_positive_rate", tn + fp),
        ):
            if count == 0:
                warnings.append(
                    f"group {g} has no true {absent}: its {rate} is undefined and set to 0 (as fairlearn)"
                )
    groups = [
        {
            "group": g,
            "count": int(cells[i].sum()),
            **dict(zip(GROUP_RATES, map(float, rates[i]), strict=True)),
            "confusion": dict(zip(("tn", "fp", "fn", "tp"), map(int, cells[i]), strict=True)),
        }
        for i, g in enumerate(names)
    ]
    point = {k: float(v) for k, v in _disparities(rates).items()}
    result: dict[str, Any] = {
        "groups": groups,
        "overall": {
            "count": int(cells.sum()),
            **dict(zip(GROUP_RATES, map(float, _rates(cells.sum(0))), strict=True)),
        },
        "disparities": point,
    }
    if bootstrap > 0:
        result["intervals"] = _bootstrap_intervals(cells, bootstrap, confidence, seed)
        result["interval_method"] = {
            "kind": "percentile bootstrap",
            "resamples": bootstrap,
            "confidence": confidence,
            "seed": seed,
        }
    result["warnings"] = warnings
    return result


def _bootstrap_intervals(
    cells: np.ndarray, resamples: int, confidence: float, seed: int
) -> dict[str, list[float]]:
    """Percentile intervals of every disparity over ``resamples`` row resamples (multinomial over cells)."""
    rng = np.random.default_rng(seed)
    flat = cells.reshape(-1)
    total = int(round(flat.sum()))
    draws = rng.multinomial(total, flat / flat.sum(), size=resamples).reshape(resamples, *cells.shape)
    values = _disparities(_rates(draws.astype(np.float64)))
    tail = (1 - confidence) / 2 * 100
    return {
        k: [float(np.nanpercentile(v, tail)), float(np.nanpercentile(v, 100 - tail))]
        for k, v in values.items()
    }


def fairness_metrics(
    y_true: Sequence[Any],
    y_pred: Sequence[Any],
    sensitive: Sequence[Any] | Mapping[str, Sequence[Any]],
    *,
    pos_label: Any = None,
    **options: Any,
) -> dict[str, Any]:
    """Functional form: labels, predictions and the sensitive column (or ``{name: column}`` for several,
    which gives intersectional groups) in, :func:`fairness_report` out."""
    named = dict(sensitive) if isinstance(sensitive, Mapping) else {"sensitive": sensitive}
    keys, notes = group_keys(list(named.values()), list(named))
    t = binary_labels(y_true, "the true labels", pos_label)
    p = binary_labels(y_pred, "the predictions", pos_label)
    report = fairness_report(group_counts(t, p, keys), **options)
    report["warnings"] = notes + report["warnings"]
    return report
