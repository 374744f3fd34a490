"""Fréchet distance: properties that hold whatever the reference says."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from scipy import linalg

from genforge.core.errors import ConfigError, DataError
from genforge.metrics.base import FeatureSource
from genforge.metrics.frechet import (
    FrechetDistance,
    GaussianStats,
    frechet_distance,
    frechet_distance_from_moments,
    trace_sqrt_product,
)


def _sets(seed=0, n=500, d=12):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, d)) * rng.uniform(0.5, 3, d) + rng.normal(size=d)
    b = rng.normal(size=(n + 37, d)) @ (np.eye(d) + 0.4 * rng.normal(size=(d, d))) + 1.0
    return a, b


def test_fd_of_a_set_with_itself_is_zero():
    a, _ = _sets()
    assert abs(frechet_distance(a, a)["fd"]) < 1e-9


def test_fd_is_unchanged_by_an_orthogonal_transform_of_the_features():
    a, b = _sets(1)
    q, _ = np.linalg.qr(np.random.default_rng(2).normal(size=(12, 12)))
    assert frechet_distance(a @ q, b @ q)["fd"] == pytest.approx(frechet_distance(a, b)["fd"], rel=1e-9)


def test_fd_in_one_dimension_is_the_closed_form():
    rng = np.random.default_rng(3)
    a, b = rng.normal(1.0, 2.0, 300), rng.normal(-0.5, 0.7, 400)
    expected = (a.mean() - b.mean()) ** 2 + (a.std(ddof=1) - b.std(ddof=1)) ** 2
    assert frechet_distance(a, b)["fd"] == pytest.approx(expected, rel=1e-12)


def test_fd_equals_the_scipy_sqrtm_formula():
    a, b = _sets(4)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    expected = ((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(s1 + s2 - 2 * linalg.sqrtm(s1 @ s2).real)
    assert frechet_distance(a, b)["fd"] == pytest.approx(expected, rel=1e-9)


def test_trace_sqrt_handles_a_singular_first_covariance():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(5, 10))
    s1 = np.cov(x, rowvar=False)  # rank 4
    s2 = np.cov(rng.normal(size=(50, 10)), rowvar=False)
    expected = np.sqrt(np.linalg.eigvals(s1 @ s2).astype(complex)).real.sum()
    assert trace_sqrt_product(s1, s2) == pytest.approx(expected, rel=1e-7)


def test_merging_two_half_states_equals_one_full_state():
    a, b = _sets(6)
    full = FrechetDistance()
    full.update(a, real=True)
    full.update(b, real=False)
    left, right = FrechetDistance(), FrechetDistance()
    left.update(a[:123], real=True)
    left.update(b[:10], real=False)
    right.update(a[123:], real=True)
    right.update(b[10:], real=False)
    merged = left.merge(right).compute()
    assert merged["fd"] == pytest.approx(full.compute()["fd"], rel=1e-12)
    assert merged["n_real"] == len(a) and merged["n_fake"] == len(b)


def test_streaming_batches_equal_the_one_shot_function_and_state_round_trips():
    a, b = _sets(7)
    metric = FrechetDistance()
    for chunk in np.array_split(a, 7):
        metric.update(torch.from_numpy(chunk), real=True)
    for chunk in np.array_split(b, 3):
        metric.update(chunk, real=False)
    restored = FrechetDistance().load_state_dict(metric.state_dict())
    assert restored.compute()["fd"] == pytest.approx(frechet_distance(a, b)["fd"], rel=1e-12)
    metric.reset()
    assert metric.real.n == 0


def test_running_stats_stay_accurate_with_a_large_offset():
    rng = np.random.default_rng(8)
    x = rng.normal(size=(4000, 3)) + 1e6
    stats = GaussianStats()
    for chunk in np.array_split(x, 40):
        stats.update(chunk)
    np.testing.assert_allclose(stats.covariance(), np.cov(x, rowvar=False), rtol=1e-8, atol=1e-10)


def test_fewer_samples_than_dimensions_warns_and_is_reported():
    rng = np.random.default_rng(9)
    with pytest.warns(UserWarning, match="smaller than the feature dimension"):
        result = frechet_distance(rng.normal(size=(10, 20)), rng.normal(size=(10, 20)))
    assert result["warnings"] and np.isfinite(result["fd"])


def test_mismatched_dimensions_and_too_few_samples_are_one_line_errors():
    with pytest.raises(DataError, match="dimensions"):
        frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(DataError, match="at least 2"):
        frechet_distance(np.zeros((1, 3)), np.ones((5, 3)))
    with pytest.raises(DataError, match="NaN"):
        frechet_distance(np.full((5, 3), np.nan), np.ones((5, 3)))
    with pytest.raises(DataError):
        frechet_distance_from_moments(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))


def test_result_is_labelled_by_extractor_never_fid_for_digits():
    a, b = _sets(10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        digits = frechet_distance(a, b, FeatureSource("digits", "abc"))
    assert "fd_digits" in digits and "fid" not in digits
    assert digits["extractor"] == "digits" and digits["extractor_sha256"] == "abc"
    assert "fid" in frechet_distance(a, b, FeatureSource("inception", "def"))
    custom = frechet_distance(a, b, FeatureSource("inception-custom", "123"))  # other Inception weights
    assert "fd_inception_custom" in custom and "fid" not in custom


def test_merging_metrics_with_other_extractors_is_refused():
    with pytest.raises(ConfigError):
        FrechetDistance(FeatureSource("digits", "a")).merge(FrechetDistance(FeatureSource("pixels", "b")))
