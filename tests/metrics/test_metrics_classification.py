"""Classification metrics equal scikit-learn exactly, in every averaging / zero_division / labels branch."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from sklearn import metrics as skm

from genforge.core.errors import ConfigError, DataError
from genforge.metrics import classification as cls
from genforge.metrics import pr_curve


def _same(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape
    assert np.array_equal(a, b, equal_nan=True), (a, b)


def _cases():
    rng = np.random.default_rng(0)
    for trial in range(12):
        k = int(rng.integers(2, 7))
        n = int(rng.integers(1, 60))
        t = rng.integers(0, k, n)
        p = np.where(rng.random(n) < 0.5, t, rng.integers(0, k + 1, n))
        yield trial, t, p


@pytest.mark.parametrize("average", ["micro", "macro", "weighted", None])
@pytest.mark.parametrize("zero_division", ["warn", 0, 1, math.nan])
@pytest.mark.parametrize("beta", [1.0, 0.5, 2.0])
def test_prfs_equals_scikit_learn_on_random_label_vectors(average, zero_division, beta):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _, t, p in _cases():
            want = skm.precision_recall_fscore_support(
                t, p, average=average, zero_division=zero_division, beta=beta
            )
            got = cls.precision_recall_fscore_support(
                t, p, average=average, zero_division=zero_division, beta=beta
            )
            for g, w in zip(got[:3], want[:3], strict=True):
                _same(g, w)
            if average is None:
                assert got[3].tolist() == want[3].tolist()
            else:
                assert got[3] is None


def test_binary_average_uses_pos_label_like_scikit_learn():
    t, p = np.array([0, 1, 1, 0, 1]), np.array([1, 1, 0, 0, 1])
    for pos in (0, 1):
        want = skm.precision_recall_fscore_support(t, p, average="binary", pos_label=pos)
        assert cls.precision_recall_fscore_support(t, p, average="binary", pos_label=pos) == want
    # all labels negative and pos_label absent: allowed, zero_division decides
    want = skm.precision_recall_fscore_support([0, 0], [0, 0], average="binary", zero_division=1)
    assert cls.precision_recall_fscore_support([0, 0], [0, 0], average="binary", zero_division=1) == want


def test_binary_average_on_multiclass_labels_or_bad_pos_label_is_an_error():
    with pytest.raises(ConfigError, match="multiclass"):
        cls.precision_recall_fscore_support([0, 1, 2], [0, 1, 2], average="binary")
    with pytest.raises(ConfigError, match="pos_label"):
        cls.precision_recall_fscore_support(["a", "b"], ["a", "b"], average="binary", pos_label="c")
    with pytest.raises(ConfigError, match="average"):
        cls.precision_recall_fscore_support([0, 1], [0, 1], average="samples")


def test_explicit_labels_choose_and_order_the_scored_classes():
    t, p = [0, 1, 2, 2, 3, 3], [0, 2, 2, 1, 3, 0]
    for labels in ([3, 0], [5, 1, 2], [2]):
        for average in (None, "micro", "macro", "weighted"):
            want = skm.precision_recall_fscore_support(t, p, labels=labels, average=average, zero_division=0)
            got = cls.precision_recall_fscore_support(t, p, labels=labels, average=average, zero_division=0)
            for g, w in zip(got[:3], want[:3], strict=True):
                _same(g, w)


def test_string_labels_and_sample_weights_match_scikit_learn():
    t = np.array(["cat", "dog", "dog", "bird", "cat", "bird"])
    p = np.array(["cat", "cat", "dog", "bird", "dog", "dog"])
    w = np.array([1.0, 2.0, 0.5, 1.0, 3.0, 0.0])
    for average in (None, "macro", "weighted", "micro"):
        want = skm.precision_recall_fscore_support(t, p, average=average, sample_weight=w, zero_division=0)
        got = cls.precision_recall_fscore_support(t, p, average=average, sample_weight=w, zero_division=0)
        for g, ww in zip(got, want, strict=True):
            if ww is None:
                assert g is None
            else:
                _same(g, ww)
    _same(cls.confusion_matrix(t, p, sample_weight=w), skm.confusion_matrix(t, p, sample_weight=w))
    assert cls.accuracy_score(t, p, sample_weight=w) == skm.accuracy_score(t, p, sample_weight=w)


@pytest.mark.parametrize("normalize", [None, "true", "pred", "all"])
def test_confusion_matrix_matches_scikit_learn(normalize):
    for _, t, p in _cases():
        _same(
            cls.confusion_matrix(t, p, normalize=normalize), skm.confusion_matrix(t, p, normalize=normalize)
        )
    t, p = [0, 1, 2, 2], [0, 2, 2, 1]
    _same(cls.confusion_matrix(t, p, labels=[2, 0]), skm.confusion_matrix(t, p, labels=[2, 0]))


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("drop", [False, True])
def test_precision_recall_curve_and_average_precision_match_scikit_learn(weighted, drop):
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 120)
    score = np.round(rng.random(120) + 0.3 * y, 1)  # many ties
    w = rng.random(120) if weighted else None
    want = skm.precision_recall_curve(y, score, sample_weight=w, drop_intermediate=drop)
    got = pr_curve.precision_recall_curve(y, score, sample_weight=w, drop_intermediate=drop)
    for g, ww in zip(got, want, strict=True):
        np.testing.assert_allclose(g, ww, rtol=1e-12)
    assert pr_curve.average_precision_score(y, score, sample_weight=w) == pytest.approx(
        skm.average_precision_score(y, score, sample_weight=w), rel=1e-12
    )


def test_streaming_updates_and_merged_workers_equal_the_one_shot_report():
    rng = np.random.default_rng(2)
    t, p = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    one = cls.classification_report(t, p, average="weighted")
    a, b = cls.ClassificationMetrics(average="weighted"), cls.ClassificationMetrics(average="weighted")
    for start in range(0, 120, 40):
        a.update(t[start : start + 40], p[start : start + 40])
    b.update(t[120:], p[120:])
    merged = a.merge(b).compute()
    assert merged == one
    restored = cls.ClassificationMetrics(average="weighted").load_state_dict(a.state_dict())
    assert restored.compute() == one
    with pytest.raises(ConfigError):
        a.merge(cls.ClassificationMetrics(average="macro"))


def test_report_lists_averages_first_and_per_label_rows():
    report = cls.classification_report([0, 1, 1, 2], [0, 1, 2, 2], average="macro")
    assert list(report)[:3] == ["precision", "recall", "f1"]
    assert report["labels"] == [0, 1, 2]
    assert [row["support"] for row in report["per_label"]] == [1, 2, 1]
    assert report["accuracy"] == 0.75 and report["confusion_matrix"][1] == [0, 1, 1]


def test_bad_label_vectors_are_one_line_errors():
    with pytest.raises(DataError, match="has 2 labels"):
        cls.precision_recall_fscore_support([0, 1], [0, 1, 1])
    with pytest.raises(DataError, match="multilabel"):
        cls.precision_recall_fscore_support(np.zeros((3, 2)), np.zeros((3, 2)))
    with pytest.raises(DataError, match="non-integer"):
        cls.precision_recall_fscore_support([0.5, 1.0], [0.0, 1.0])
    with pytest.raises(DataError, match="mix string"):
        cls.precision_recall_fscore_support(["a", "b"], [0, 1])
    with pytest.raises(ConfigError, match="zero_division"):
        cls.precision_recall_fscore_support([0, 1], [0, 1], zero_division=2)


def test_zero_division_warn_warns_and_gives_zero():
    with pytest.warns(cls.UndefinedMetricWarning):
        p, _, _, _ = cls.precision_recall_fscore_support([0, 1], [0, 0], average=None)
    assert p.tolist() == [0.5, 0.0]
