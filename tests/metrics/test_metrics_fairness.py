"""Group fairness metrics equal fairlearn's on real tables (golden file), and bad inputs are one clear error."""

import json
from pathlib import Path

import numpy as np
import pytest

from genforge.core.errors import DataError
from genforge.metrics.fairness import GROUP_RATES, MISSING_GROUP, fairness_metrics

GOLDEN = json.loads((Path(__file__).parents[1] / "golden" / "fairness.json").read_text())


def _case_id(case):
    return f"{case['data']}-{'+'.join(case['sensitive'])}"


@pytest.mark.parametrize("case", GOLDEN["cases"], ids=_case_id)
def test_rates_and_disparities_equal_fairlearn_on_real_tables(case):
    inputs = GOLDEN["inputs"][case["data"]]
    y = [int(c) for c in inputs["y_true"]]
    p = [int(c) for c in inputs["y_pred"]]
    names = case["sensitive"]
    columns = {n: inputs["sensitive"][n] for n in names}
    report = fairness_metrics(y, p, columns, bootstrap=0)
    expected = case["expected"]
    got_groups = {g["group"]: g for g in report["groups"]}
    assert sorted(got_groups) == sorted(expected["groups"])
    for group, rates in expected["groups"].items():
        for rate in GROUP_RATES:
            want, got = rates[rate], got_groups[group][rate]
            assert (np.isnan(want) and np.isnan(got)) or abs(want - got) < 1e-12, (group, rate, want, got)
    for name, want in expected["disparities"].items():
        assert abs(report["disparities"][name] - want) < 1e-12, (name, report["disparities"][name], want)


def test_bootstrap_intervals_are_seeded_and_hold_the_point_estimate():
    rng = np.random.default_rng(0)
    sex = rng.choice(["F", "M"], 2000)
    y = rng.integers(0, 2, 2000)
    p = (rng.random(2000) < np.where(sex == "M", 0.6, 0.4)).astype(int)
    first = fairness_metrics(y, p, sex, bootstrap=300, seed=5)
    again = fairness_metrics(y, p, sex, bootstrap=300, seed=5)
    other = fairness_metrics(y, p, sex, bootstrap=300, seed=6)
    assert first["intervals"] == again["intervals"] != other["intervals"]
    low, high = first["intervals"]["demographic_parity_difference"]
    assert low < first["disparities"]["demographic_parity_difference"] < high
    assert low > 0.1 and high < 0.3  # true difference 0.2, n = 2000


def test_missing_sensitive_values_form_their_own_group_and_are_said():
    report = fairness_metrics(
        [0, 1, 1, 0, 1, 0], [0, 1, 0, 0, 1, 1], ["F", "M", "", "F", "?", "M"], bootstrap=0
    )
    assert MISSING_GROUP in {g["group"] for g in report["groups"]}
    assert any("2 rows have no sensitive" in w for w in report["warnings"])
    assert any("below the minimum size" in w for w in report["warnings"])


@pytest.mark.parametrize(
    ("y", "p", "groups", "message"),
    [
        ([0, 1, 1], [0, 1, 1], ["F", "F", "F"], "at least two groups"),
        ([0, 1, 2], [0, 1, 1], ["F", "M", "F"], "must be binary"),
        ([0, 1, 1], [0, 1], ["F", "M", "F"], "misaligned"),
    ],
)
def test_bad_inputs_are_one_clear_error(y, p, groups, message):
    with pytest.raises(DataError, match=message):
        fairness_metrics(y, p, groups, bootstrap=0)


def test_string_labels_need_and_accept_a_positive_label():
    y, p, g = [">50K", "<=50K", ">50K", "<=50K"], ["<=50K", "<=50K", ">50K", ">50K"], ["F", "F", "M", "M"]
    with pytest.raises(DataError, match="--pos-label"):
        fairness_metrics(y, p, g, bootstrap=0)
    report = fairness_metrics(y, p, g, pos_label=">50K", bootstrap=0)
    assert report["disparities"]["demographic_parity_difference"] == 1.0
