"""Performance profiles and the task bootstrap against rliable 1.2.0's own figures
(tests/golden/profiles.json, written by tests/golden/make_profile_goldens.py), plus hand-checked cases."""

import json
from pathlib import Path

import numpy as np
import pytest

from genforge.core.errors import ConfigError
from genforge.research.aggregate import aggregate_interval
from genforge.research.profiles import performance_profile, profiles_png, thresholds

GOLDEN = json.loads((Path(__file__).parent.parent / "golden" / "profiles.json").read_text())


@pytest.mark.parametrize(
    "case", GOLDEN["profiles"], ids=lambda c: f"{c['input']}-avg{c['average']}-task{c['task_bootstrap']}"
)
def test_profiles_and_bands_equal_rliable(case):
    scores = GOLDEN["inputs"][case["input"]]
    got = performance_profile(
        scores, case["taus"], average=case["average"], task_bootstrap=case["task_bootstrap"],
        reps=case["reps"], seed=case["seed"],
    )  # fmt: skip
    for key in ("profile", "low", "high"):
        np.testing.assert_allclose(got[key], case[key], rtol=0, atol=1e-9)


@pytest.mark.parametrize("case", GOLDEN["task_bootstrap"], ids=lambda c: f"{c['input']}-{c['aggregate']}")
def test_task_bootstrap_intervals_equal_rliable(case):
    scores = GOLDEN["inputs"][case["input"]]
    got = aggregate_interval(
        scores, case["aggregate"], reps=case["reps"], seed=case["seed"], task_bootstrap=True
    )
    assert got["value"] == pytest.approx(case["value"], abs=1e-9)
    np.testing.assert_allclose(got["ci"], case["ci"], rtol=0, atol=1e-9)


def test_hand_checked_profiles_and_direction():
    scores = [[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]]
    p = performance_profile(scores, [0.5, 2.5, 5.5, 7.0], reps=200)
    assert p["profile"] == [1.0, 4 / 6, 1 / 6, 0.0]
    assert performance_profile(scores, [2.5, 5.5], average=True, reps=200)["profile"] == [
        0.5,
        0.0,
    ]  # means 2, 5
    low = performance_profile(scores, [2.5, 5.5], direction="lower", reps=200)
    assert low["profile"] == [2 / 6, 5 / 6]
    assert all(lo <= v <= hi for lo, v, hi in zip(p["low"], p["profile"], p["high"], strict=True))
    # the task bootstrap widens the band of a figure whose tasks differ
    runs = aggregate_interval(scores, "mean", reps=2000, seed=1)["ci"]
    tasks = aggregate_interval(scores, "mean", reps=2000, seed=1, task_bootstrap=True)["ci"]
    assert tasks[1] - tasks[0] > runs[1] - runs[0]
    assert thresholds(scores, 3) == [1.0, 3.5, 6.0]


def test_picture_and_bad_input():
    p = performance_profile([[1.0], [2.0], [3.0]], [0.0, 1.5, 4.0], reps=200)
    assert profiles_png({"A": p}, "val_loss")[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ConfigError, match="threshold"):
        performance_profile([[1.0], [2.0]], [])
    with pytest.raises(ConfigError, match="direction"):
        performance_profile([[1.0], [2.0]], [1.0], direction="up")
    with pytest.raises(ConfigError, match="at least 2"):
        performance_profile([[1.0]], [1.0])


def test_cli_compare_draws_both_sides_profiles(vae_sets, tmp_path, capsys):
    from genforge.cli.main import main

    picture = tmp_path / "profile.png"
    args = [str(vae_sets / "a"), str(vae_sets / "b"), "--metric", "val_loss", "--profile", str(picture)]
    assert main(["compare", *args, "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and record["profile"] == str(picture)
    a, b = (record["profiles"][side] for side in ("A", "B"))
    values_a = [p["a"] for p in record["pairs"]]
    # lower is better: the share of A's runs below each threshold, A (25 steps) ahead of B (2 steps)
    for tau, share in zip(a["taus"], a["profile"], strict=True):
        assert share == pytest.approx(np.mean(np.array(values_a) < tau))
    assert a["direction"] == "lower" and sum(a["profile"]) > sum(b["profile"])
    assert main(["compare", *args[:-1], str(tmp_path / "p.txt")]) == 2
    assert "Traceback" not in capsys.readouterr().err
