"""The report's figures on hand-checked inputs: shapes, pair trends, Gower distances, DCR, copula."""

import numpy as np
import pytest
import torch

from genforge.data.tabular import infer_types
from genforge.tabular.copula import GaussianCopula
from genforge.tabular.distance import MixedDistance
from genforge.tabular.quality import ks_complement, pair_similarity, privacy, shapes_and_trends, tv_complement
from tests.tabular.tabular_testdata import people_columns


def _s(*values):
    return np.array(values, dtype=object).astype(str)


def test_column_shape_scores_by_hand():
    assert tv_complement(_s("a", "a", "b", "b"), _s("a", "b", "b", "b")) == pytest.approx(0.75)
    assert tv_complement(_s("a", ""), _s("a", "a")) == pytest.approx(0.5)  # missing is a category
    assert ks_complement(_s("1", "2", "3", "4"), _s("3", "4", "5", "6")) == pytest.approx(0.5)
    assert ks_complement(_s("1", "", "3"), _s("1", "3")) == pytest.approx(1.0)  # present cells only


def test_pair_trends_by_hand():
    types = {"x": "numeric", "y": "numeric", "c": "categorical"}
    real = {"x": _s(1, 2, 3, 4), "y": _s(2, 4, 6, 8), "c": _s("a", "a", "b", "b")}
    flipped = {"x": _s(1, 2, 3, 4), "y": _s(8, 6, 4, 2), "c": _s("a", "b", "a", "b")}
    assert pair_similarity(real, flipped, "x", "y", types) == pytest.approx(0.0)  # r = 1 vs r = -1
    assert pair_similarity(real, real, "x", "c", types) == pytest.approx(1.0)
    # real joint (x bin, c): low x with a, high x with b; flipped: each half mixed -> TV 0.5
    assert pair_similarity(real, flipped, "x", "c", types) == pytest.approx(0.5)
    same = shapes_and_trends(real, real, types)
    assert same["column_shapes"] == 1.0 and same["pair_trends"] == 1.0


def test_gower_distance_by_hand():
    table = {"n": _s("0", "10", ""), "c": _s("a", "b", "a")}
    distance = MixedDistance(["n", "c"], {"n": "numeric", "c": "categorical"}).fit(table)
    codes = distance.encode(table)
    d = distance.pairwise(codes, codes)
    expected = torch.tensor([[0.0, 1.0, 0.5], [1.0, 0.0, 1.0], [0.5, 1.0, 0.0]], dtype=torch.float64)
    assert torch.allclose(d, expected)  # (|0-10|/10 + 1)/2; missing vs present counts 1
    half = {"n": _s("5"), "c": _s("a")}
    assert distance.pairwise(distance.encode(half), codes)[0].tolist() == pytest.approx([0.25, 0.75, 0.5])


def test_copies_of_the_training_rows_are_exact_copies():
    columns = {k: v for k, v in people_columns(200).items() if k != "customer_id"}
    types = infer_types(columns)
    train = {k: v[:100] for k, v in columns.items()}
    holdout = {k: v[100:] for k, v in columns.items()}
    result = privacy(train, holdout, train, types)
    assert result["synthetic"]["exact_copies"] == 1.0 and result["synthetic"]["dcr_median"] == 0.0
    assert result["holdout"]["exact_copies"] == 0.0 and result["dcr_ratio"] == 0.0
    assert result["distance_attack"]["auc"] == 1.0  # every member has a copy, no non-member does


def test_copula_keeps_marginals_dependence_and_missing_rates():
    columns = {k: v for k, v in people_columns(3000).items() if k != "customer_id"}
    types = infer_types(columns)
    copula = GaussianCopula().fit(columns, types, seed=0)
    again = GaussianCopula.from_dict(copula.to_dict())
    fake = again.sample(3000, np.random.default_rng(1))
    assert list(fake) == list(columns)
    report = shapes_and_trends(columns, fake, types)
    assert report["column_shapes"] > 0.95
    assert abs((fake["score"] == "").mean() - (columns["score"] == "").mean()) < 0.02
    assert set(fake["plan"]) == {"basic", "premium", "gold"}
    assert all("." not in v for v in fake["age"])  # integers stay integers
    # the label rises with the amount: the copula keeps that monotone dependence, which independent
    # columns lose (0.51); the plan is basic for the low mode only, not monotone, and it cannot (0.52)
    rng = np.random.default_rng(2)
    independent = shapes_and_trends(
        columns, {k: v[rng.permutation(len(v))] for k, v in columns.items()}, types
    )
    assert report["pairs"]["amount|label"] > independent["pairs"]["amount|label"] + 0.15
    assert report["pairs"]["sex|label"] > 0.95  # no dependence invented
