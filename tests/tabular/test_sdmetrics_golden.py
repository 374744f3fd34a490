"""Column shapes, pair trends and DCR equal SDMetrics' on frozen golden values
(tests/golden/make_tabular_goldens.py wrote them with SDMetrics itself)."""

import json
from pathlib import Path

import numpy as np
import pytest

from genforge.tabular.distance import MixedDistance
from genforge.tabular.quality import shapes_and_trends

GOLDEN = json.loads((Path(__file__).parents[1] / "golden" / "tabular.json").read_text())


def _columns(key):
    return {k: np.array(v, dtype=object).astype(str) for k, v in GOLDEN[key].items()}


def test_column_shapes_and_pair_trends_equal_sdmetrics():
    ours = shapes_and_trends(_columns("real"), _columns("synthetic"), GOLDEN["types"])
    assert set(ours["columns"]) == set(GOLDEN["column_shapes"])
    for column, expected in GOLDEN["column_shapes"].items():
        assert ours["columns"][column] == pytest.approx(expected, abs=1e-6), column
    for pair, expected in GOLDEN["pair_trends"].items():
        assert ours["pairs"][pair] == pytest.approx(expected, abs=1e-6), pair


def test_dcr_equals_sdmetrics():
    real, fake = _columns("real"), _columns("synthetic")
    distance = MixedDistance(list(real), GOLDEN["types"]).fit(real)
    nearest, _ = distance.nearest(distance.encode(fake, np.arange(60)), distance.encode(real))
    assert nearest[:, 0].numpy() == pytest.approx(np.array(GOLDEN["dcr_first_60"]), abs=1e-6)
