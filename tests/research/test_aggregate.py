"""genforge.research.aggregate agrees with rliable (golden values from
tests/golden/make_aggregate_goldens.py: the same figures and, with the same seed, the same stratified
bootstrap intervals), gives hand-checked values on small cases, and refuses what it cannot summarise."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from genforge.core.errors import ConfigError
from genforge.research.aggregate import (
    aggregate_interval,
    aggregate_summary,
    poi_interval,
    probability_of_improvement,
)

GOLDEN = json.loads((Path(__file__).parents[1] / "golden" / "aggregate.json").read_text())


@pytest.mark.parametrize("case", GOLDEN["aggregates"], ids=lambda c: f"{c['input']}-{c['aggregate']}")
def test_aggregates_and_their_intervals_equal_rliable(case):
    scores = GOLDEN["inputs"][case["input"]]
    mine = aggregate_interval(scores, case["aggregate"], gamma=1.0, reps=case["reps"], seed=case["seed"])
    assert mine["value"] == pytest.approx(case["value"], abs=1e-12)
    assert mine["ci"] == pytest.approx(case["ci"], abs=1e-9)


@pytest.mark.parametrize("case", GOLDEN["probability_of_improvement"], ids=lambda c: c["input"])
def test_probability_of_improvement_and_its_interval_equal_rliable(case):
    x, y = GOLDEN["pairs"][case["input"]]
    mine = poi_interval(x, y, reps=case["reps"], seed=case["seed"])
    assert mine["value"] == pytest.approx(case["value"], abs=1e-12)
    assert mine["ci"] == pytest.approx(case["ci"], abs=1e-9)


def test_hand_checked_small_cases():
    # 1 beats 0.5 only; each 2 ties one 2 and beats 0.5: (1 + 1.5 + 1.5) / 9
    x, y = [1.0, 2.0, 2.0], [2.0, 0.5, 3.0]
    assert probability_of_improvement(x, y) == pytest.approx(4 / 9)
    assert probability_of_improvement(x, y, direction="lower") == pytest.approx(1 - 4 / 9)
    assert probability_of_improvement(x, x) == 0.5
    scores = np.arange(1.0, 9.0)  # 8 runs, one task: the IQM drops 1, 2 and 7, 8
    assert aggregate_interval(scores, "iqm", reps=200)["value"] == pytest.approx(4.5)
    two_tasks = [[1.0, 10.0], [3.0, 20.0]]  # task means 2 and 15
    assert aggregate_interval(two_tasks, "median", reps=200)["value"] == pytest.approx(8.5)
    assert aggregate_interval(two_tasks, "mean", reps=200)["value"] == pytest.approx(8.5)
    gap = aggregate_interval([0.5, 1.5], "optimality_gap", gamma=1.0, reps=200)["value"]
    assert gap == pytest.approx(0.25)  # 1 - mean(0.5, 1)
    lower_gap = aggregate_interval([0.5, 1.5], "optimality_gap", gamma=1.0, direction="lower", reps=200)
    assert lower_gap["value"] == pytest.approx(0.25)  # mean(1, 1.5) - 1


def test_stratified_resamples_keep_each_task_and_the_interval_holds_the_value():
    rng = np.random.default_rng(0)
    scores = np.column_stack([rng.normal(0, 1, 6), rng.normal(100, 1, 6)])
    out = aggregate_interval(scores, "median", reps=2000, seed=3)
    # the median of two task means always lies near 50: a resample never loses a task
    assert 45 < out["ci"][0] <= out["value"] <= out["ci"][1] < 55
    summary = aggregate_summary(scores, reps=1000, seed=1)
    assert set(summary) >= {"iqm", "median", "mean"} and "optimality_gap" not in summary
    assert summary["iqm"] == aggregate_interval(scores, "iqm", reps=1000, seed=1)


def test_constant_scores_have_no_interval():
    out = aggregate_interval([2.0, 2.0, 2.0], "iqm", reps=200)
    assert out["value"] == 2.0 and all(math.isnan(v) for v in out["ci"])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: aggregate_interval([1.0], "iqm"), "needs at least 2"),
        (lambda: aggregate_interval([1.0, math.nan], "iqm"), "not a finite number"),
        (lambda: aggregate_interval([1.0, 2.0], "mode"), "unknown aggregate"),
        (lambda: aggregate_interval([1.0, 2.0], "optimality_gap"), "gamma"),
        (lambda: aggregate_interval([1.0, 2.0], "iqm", reps=10), "reps"),
        (lambda: poi_interval([[1.0, 2.0]] * 2, [1.0, 2.0]), "same tasks"),
        (lambda: aggregate_interval([1.0, 2.0], "iqm", confidence=1.5), "confidence"),
    ],
)
def test_bad_input_is_one_line(call, message):
    with pytest.raises(ConfigError, match=message):
        call()
