"""Freeze SDMetrics' column-shape, pair-trend and DCR scores into tests/golden/tabular.json.

The inputs are stored in the golden file with the expected values, so the test needs neither SDMetrics
nor pandas: a 300-row "real" table and a 200-row "synthetic" one (``tests/tabular/tabular_testdata``
with other seeds, the synthetic one perturbed: a shifted amount, a swapped plan share, more missing
scores). Numeric cells travel as strings, missing as "" (NaN for SDMetrics); categorical columns have no
missing cells (genforge counts missing as a category, SDMetrics' contingency drops nothing either).

Run with SDMetrics in a separate environment (it is not a genforge dependency):
``python -m venv /tmp/sdm && /tmp/sdm/bin/pip install sdmetrics==0.32.0 &&
PYTHONPATH=. /tmp/sdm/bin/python tests/golden/make_tabular_goldens.py``.
"""

import json
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import sdmetrics
from sdmetrics.column_pairs import ContingencySimilarity, CorrelationSimilarity
from sdmetrics.single_column import KSComplement, TVComplement
from sdmetrics.single_table.privacy.dcr_utils import calculate_dcr
from tests.tabular.tabular_testdata import people_columns

NUMERIC = ["amount", "age", "score"]
CATEGORICAL = ["sex", "plan", "label"]


def tables() -> tuple[dict, dict]:
    real = {k: v for k, v in people_columns(300, seed=3).items() if k != "customer_id"}
    fake = {k: v for k, v in people_columns(200, seed=4).items() if k != "customer_id"}
    rng = np.random.default_rng(5)
    fake["amount"] = np.array([f"{float(v) + 3.0:.2f}" for v in fake["amount"]])
    fake["plan"] = np.where(rng.random(200) < 0.2, "gold", fake["plan"])
    fake["score"] = np.where(rng.random(200) < 0.1, "", fake["score"])
    return real, fake


def frame(columns: dict) -> pd.DataFrame:
    data = {c: pd.to_numeric(pd.Series(columns[c]).replace("", np.nan)) for c in NUMERIC}
    data.update({c: pd.Series(columns[c], dtype=object) for c in CATEGORICAL})
    return pd.DataFrame(data)[list(columns)]


def main() -> None:
    real, fake = tables()
    r, s = frame(real), frame(fake)
    shapes = {c: float(KSComplement.compute(r[c], s[c])) for c in NUMERIC}
    shapes.update({c: float(TVComplement.compute(r[c], s[c])) for c in CATEGORICAL})
    pairs = {}
    for a, b in combinations(list(real), 2):
        if a in NUMERIC and b in NUMERIC:
            pairs[f"{a}|{b}"] = float(
                CorrelationSimilarity.compute(r[[a, b]], s[[a, b]], coefficient="Pearson")
            )
        else:
            continuous = [c for c in (a, b) if c in NUMERIC]
            score = ContingencySimilarity.compute(r[[a, b]], s[[a, b]], continuous_column_names=continuous)
            pairs[f"{a}|{b}"] = float(score)
    metadata = {"columns": {c: {"sdtype": "numerical" if c in NUMERIC else "categorical"} for c in real}}
    dcr = calculate_dcr(s.head(60), r, metadata)
    golden = {
        "about": f"SDMetrics {sdmetrics.__version__}; tests/golden/make_tabular_goldens.py",
        "real": {k: v.tolist() for k, v in real.items()},
        "synthetic": {k: v.tolist() for k, v in fake.items()},
        "types": {c: "numeric" if c in NUMERIC else "categorical" for c in real},
        "column_shapes": shapes,
        "pair_trends": pairs,
        "dcr_first_60": [float(v) for v in dcr],
    }
    path = Path(__file__).with_name("tabular.json")
    path.write_text(json.dumps(golden, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
