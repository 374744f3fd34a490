"""How close a synthetic table is to the real one, and how much it gives away: the figures of
``genforge tabular report``, with SDMetrics' definitions (SDMetrics is MIT; we compute them ourselves so
the report needs nothing beyond scikit-learn and scipy).

- **Column shapes**: per column, 1 - KS statistic (numeric, present cells; ``KSComplement``) or 1 - total
  variation distance of the category shares (categorical, missing as a category; ``TVComplement``),
  averaged over columns.
- **Pair trends**: per pair of columns, 1 - |r_real - r_synth| / 2 with Pearson's r (two numeric columns,
  rows where both are present; ``CorrelationSimilarity``), else 1 - total variation distance of the joint
  shares (``ContingencySimilarity``), numeric columns cut into 10 bins at the real column's
  ``histogram_bin_edges``; averaged over pairs.
- **ML efficacy**: a logistic regression trained on the candidate rows, tested on real rows neither the
  synthesizer nor the classifier saw: F1 of the positive class (and accuracy).
- **Privacy**: distance to the closest training record (DCR, Gower distance of
  :mod:`genforge.tabular.distance`) of each candidate row, the share of exact copies (DCR = 0), the
  nearest-neighbour distance ratio (NNDR, nearest / second nearest), and a distance membership attack:
  training rows and holdout rows scored by minus their distance to the nearest synthetic row (ROC AUC
  from :func:`genforge.metrics.membership.membership_advantage`).
- **Fairness**: per sensitive column, each group's share and its positive-label rate.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np

from genforge.data.tabular import Table, TableEncoder
from genforge.metrics.membership import membership_advantage
from genforge.tabular.distance import MixedDistance

Columns = dict[str, np.ndarray]
BINS = 10


def _shares(values: np.ndarray, categories: list[str]) -> np.ndarray:
    index = {c: i for i, c in enumerate(categories)}
    codes = np.array([index.get(v, -1) for v in values])
    return np.bincount(codes[codes >= 0], minlength=len(categories)) / max(len(values), 1)


def ks_complement(real: np.ndarray, synthetic: np.ndarray) -> float:
    """1 - the two-sample Kolmogorov-Smirnov statistic of the present cells (numbers as strings)."""
    from scipy.stats import ks_2samp

    a = real[real != ""].astype(np.float64)
    b = synthetic[synthetic != ""].astype(np.float64)
    if len(a) == 0 or len(b) == 0:
        return 0.0 if len(a) != len(b) else 1.0
    return 1.0 - float(ks_2samp(a, b).statistic)


def tv_complement(real: np.ndarray, synthetic: np.ndarray) -> float:
    """1 - total variation distance of the category shares (missing ``""`` is a category)."""
    categories = sorted(set(real.tolist()) | set(synthetic.tolist()))
    return 1.0 - 0.5 * float(np.abs(_shares(real, categories) - _shares(synthetic, categories)).sum())


def _binned(values: np.ndarray, edges: np.ndarray | None) -> np.ndarray:
    if edges is None:
        return values
    present = values != ""
    out = np.full(len(values), "", dtype=object)
    numbers = values[present].astype(np.float64)
    out[present] = np.clip(np.searchsorted(edges, numbers, side="right") - 1, 0, len(edges) - 2).astype(str)
    return out


def _edges(values: np.ndarray, numeric: bool) -> np.ndarray | None:
    present = values[values != ""]
    return np.histogram_bin_edges(present.astype(np.float64), bins=BINS) if numeric and len(present) else None


def pair_similarity(real: Columns, synthetic: Columns, a: str, b: str, types: dict[str, str]) -> float:
    """Correlation similarity (two numeric columns) or contingency similarity (any other pair)."""
    if types[a] == types[b] == "numeric":
        rs = [_pearson(t[a], t[b]) for t in (real, synthetic)]
        if all(r is not None for r in rs):
            return 1.0 - abs(rs[0] - rs[1]) / 2.0
    edges = {c: _edges(real[c], types[c] == "numeric") for c in (a, b)}
    joint = [np.char.add(np.char.add(_binned(t[a], edges[a]).astype(str), "\x1f"),
                         _binned(t[b], edges[b]).astype(str)) for t in (real, synthetic)]  # fmt: skip
    return tv_complement(joint[0], joint[1])


def _pearson(x: np.ndarray, y: np.ndarray) -> float | None:
    both = (x != "") & (y != "")
    if both.sum() < 2:
        return None
    u, v = x[both].astype(np.float64), y[both].astype(np.float64)
    if u.std() == 0 or v.std() == 0:
        return None
    return float(np.corrcoef(u, v)[0, 1])


def shapes_and_trends(real: Columns, synthetic: Columns, types: dict[str, str]) -> dict[str, Any]:
    """Column shapes and pair trends, per column/pair and averaged."""
    names = [c for c in real if c in synthetic]
    shapes = {
        c: ks_complement(real[c], synthetic[c])
        if types[c] == "numeric"
        else tv_complement(real[c], synthetic[c])
        for c in names
    }
    pairs = {f"{a}|{b}": pair_similarity(real, synthetic, a, b, types) for a, b in combinations(names, 2)}
    return {
        "column_shapes": float(np.mean(list(shapes.values()))),
        "pair_trends": float(np.mean(list(pairs.values()))) if pairs else 1.0,
        "columns": shapes,
        "pairs": pairs,
    }


def _as_table(table: Table, columns: Columns) -> Table:
    rows = len(next(iter(columns.values())))
    split = {"train": np.arange(rows)}
    return Table(table.name, columns, table.types, table.target, table.positive, table.sensitive, split)


def ml_efficacy(
    table: Table, candidate: Columns, test_rows: np.ndarray, seed: int = 0
) -> dict[str, Any] | None:
    """Train a logistic regression on ``candidate`` rows, test on ``test_rows`` of the real table."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score

    if table.target is None or table.target not in candidate:
        return None
    names = [c for c in candidate if c != table.target and table.types[c] != "id"]
    fake = _as_table(table, candidate)
    labels = fake.labels()
    if len(set(labels.tolist())) < 2:
        return {"f1": 0.0, "accuracy": None, "note": "the candidate rows hold one label only"}
    encoder = TableEncoder(names, table.types).fit(fake, fake.splits["train"])
    model = LogisticRegression(max_iter=2000, random_state=seed)
    model.fit(encoder.transform(fake, fake.splits["train"]), labels)
    predicted = model.predict(encoder.transform(table, test_rows))
    truth = table.labels(test_rows)
    return {"f1": float(f1_score(truth, predicted)), "accuracy": float(accuracy_score(truth, predicted))}


def privacy(
    train: Columns, holdout: Columns, candidate: Columns, types: dict[str, str], max_rows: int = 5000
) -> dict[str, Any]:
    """DCR, exact copies and NNDR of ``candidate`` against ``train``, with the holdout's own figures as
    the reference a synthesizer should not beat; and the distance membership attack."""
    names = [c for c in candidate if c in train]
    distance = MixedDistance(names, types).fit(train)
    train_codes = distance.encode(train)
    out: dict[str, Any] = {}
    for label, rows in (("synthetic", candidate), ("holdout", holdout)):
        codes = distance.encode(rows, np.arange(min(max_rows, len(rows[names[0]]))))
        nearest, _ = distance.nearest(codes, train_codes, k=2)
        d1, d2 = nearest[:, 0].numpy(), nearest[:, 1].numpy()
        out[label] = {
            "dcr_median": float(np.median(d1)),
            "exact_copies": float((d1 <= 1e-12).mean()),
            "nndr_median": float(np.median(np.where(d2 > 0, d1 / np.maximum(d2, 1e-12), 1.0))),
        }
    holdout_dcr = out["holdout"]["dcr_median"]
    out["dcr_ratio"] = out["synthetic"]["dcr_median"] / holdout_dcr if holdout_dcr > 0 else None
    synth_codes = distance.encode(candidate)
    count = min(max_rows // 2, len(holdout[names[0]]), len(train[names[0]]))
    members, _ = distance.nearest(distance.encode(train, np.arange(count)), synth_codes)
    others, _ = distance.nearest(distance.encode(holdout, np.arange(count)), synth_codes)
    attack = membership_advantage(-members[:, 0].numpy(), -others[:, 0].numpy())
    attack.pop("roc")
    out["distance_attack"] = attack
    return out


def fairness(table: Table, real: Columns, candidate: Columns) -> dict[str, Any]:
    """Per sensitive (categorical) column: group shares and positive-label rates, real vs candidate."""
    out: dict[str, Any] = {}
    for column in table.sensitive:
        if column not in candidate or table.types.get(column) != "categorical":
            continue
        groups: dict[str, Any] = {}
        for group in sorted(set(real[column].tolist())):
            entry = {}
            for label, rows in (("real", real), ("synthetic", candidate)):
                mask = rows[column] == group
                entry[f"{label}_share"] = float(mask.mean())
                if table.target in rows and mask.any():
                    entry[f"{label}_positive_rate"] = float(
                        (rows[table.target][mask] == table.positive).mean()
                    )
            groups[group] = entry
        gaps = [abs(g["real_share"] - g["synthetic_share"]) for g in groups.values()]
        out[column] = {"groups": groups, "max_share_gap": max(gaps)}
    return out
