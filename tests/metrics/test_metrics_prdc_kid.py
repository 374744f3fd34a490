"""Blocked k-NN precision/recall/density/coverage, KID and RBF-MMD against brute force."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from genforge.core.errors import ConfigError, DataError
from genforge.metrics.inception_score import InceptionScore, inception_score
from genforge.metrics.kid import KernelDistance, kernel_distance, mmd_rbf
from genforge.metrics.prdc import (
    PrecisionRecallDensityCoverage,
    kth_neighbour_sq_distances,
    precision_recall_density_coverage,
)


def _brute_prdc(real, fake, k_pr, k_dc):
    rr, ff, rf = cdist(real, real), cdist(fake, fake), cdist(real, fake)
    r_pr, r_dc = np.sort(rr, axis=1)[:, k_pr], np.sort(rr, axis=1)[:, k_dc]
    f_pr = np.sort(ff, axis=1)[:, k_pr]
    return {
        "precision": (rf < r_pr[:, None]).any(axis=0).mean(),
        "recall": (rf < f_pr[None, :]).any(axis=1).mean(),
        "density": (rf < r_dc[:, None]).sum(axis=0).mean() / k_dc,
        "coverage": (rf.min(axis=1) < r_dc).mean(),
    }


@pytest.mark.parametrize("block", [1, 7, 64, 10_000])
def test_prdc_is_the_same_for_every_block_size_and_equals_brute_force(block):
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(90, 5)), rng.normal(size=(70, 5)) * 1.3 + 0.2
    got = precision_recall_density_coverage(real, fake, k_pr=3, k_dc=5, block_size=block)
    want = _brute_prdc(real, fake, 3, 5)
    for key, value in want.items():
        assert got[key] == pytest.approx(value, abs=1e-12), key


def test_the_knn_core_never_holds_more_than_a_block_of_distances():
    # numpy reports its buffers to tracemalloc: the peak is what the pass allocated beyond the inputs
    rng = np.random.default_rng(8)
    real, fake = rng.normal(size=(4000, 4)), rng.normal(size=(3000, 4))
    block = 256
    tracemalloc.start()
    try:
        precision_recall_density_coverage(real, fake, block_size=block)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    one_block = block * block * 8  # 0.5 MiB of float64 distances
    full = len(real) * len(fake) * 8  # 96 MB: the N x M matrix the reference builds
    assert peak < 6 * one_block and peak < full / 30, (peak, one_block)  # measured: 1.7 MiB


def test_kth_neighbour_excludes_the_point_itself():
    x = np.array([[0.0], [1.0], [3.0], [7.0]])
    sq = kth_neighbour_sq_distances(x, (1, 2), block_size=2)
    assert sq[1].tolist() == [1.0, 1.0, 4.0, 16.0]
    assert sq[2].tolist() == [9.0, 4.0, 9.0, 36.0]


def test_identical_sets_have_full_precision_recall_and_coverage():
    x = np.random.default_rng(1).normal(size=(60, 4))
    got = precision_recall_density_coverage(x, x.copy(), block_size=16)
    assert got["precision"] == got["recall"] == got["coverage"] == 1.0


def test_prdc_merge_of_two_workers_equals_one_pass():
    rng = np.random.default_rng(2)
    real, fake = rng.normal(size=(80, 3)), rng.normal(size=(60, 3))
    a, b = PrecisionRecallDensityCoverage(block_size=16), PrecisionRecallDensityCoverage(block_size=16)
    a.update(real[:30], real=True)
    a.update(fake[:20], real=False)
    b.update(real[30:], real=True)
    b.update(fake[20:], real=False)
    merged = a.merge(b).compute()
    assert merged == precision_recall_density_coverage(real, fake, block_size=16)
    restored = PrecisionRecallDensityCoverage(block_size=16).load_state_dict(a.state_dict())
    assert restored.compute() == merged


def test_prdc_needs_more_points_than_k():
    with pytest.raises(DataError, match="at least 6"):
        precision_recall_density_coverage(np.zeros((5, 2)), np.zeros((10, 2)))
    with pytest.raises(ConfigError):
        precision_recall_density_coverage(np.zeros((9, 2)), np.zeros((9, 2)), k_pr=0)


def test_kid_of_a_set_against_itself_is_near_zero_and_shift_increases_it():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 8))
    same = kernel_distance(x, x.copy(), subsets=20, subset_size=100)["kd"]
    shifted = kernel_distance(x, x + 1.0, subsets=20, subset_size=100)["kd"]
    assert abs(same) < 0.1 * shifted


def test_kid_accepts_explicit_subset_indices_and_rejects_oversized_subsets():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(50, 4)), rng.normal(size=(40, 4))
    idx = [(np.arange(10), np.arange(10, 20))]
    got = kernel_distance(x, y, subset_indices=idx)
    k = lambda a, b: (a @ b.T / 4 + 1) ** 3  # noqa: E731
    xs, ys = x[:10], y[10:20]
    kxx, kyy, kxy = k(xs, xs), k(ys, ys), k(xs, ys)
    want = (kxx.sum() - np.trace(kxx)) / 90 + (kyy.sum() - np.trace(kyy)) / 90 - 2 * kxy.mean()
    assert got["kd"] == pytest.approx(want, rel=1e-12)
    with pytest.raises(DataError, match="subset size"):
        kernel_distance(x, y, subset_size=41)


def test_kid_merge_equals_one_pass():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(120, 4)), rng.normal(size=(110, 4))
    a, b = KernelDistance(subsets=5, subset_size=50), KernelDistance(subsets=5, subset_size=50)
    a.update(x[:60], real=True)
    b.update(x[60:], real=True)
    a.update(y, real=False)
    assert a.merge(b).compute()["kd"] == kernel_distance(x, y, subsets=5, subset_size=50)["kd"]


def test_rbf_mmd_tiles_equal_the_dense_formula():
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(45, 3)), rng.normal(size=(38, 3)) + 0.5
    got = mmd_rbf(x, y, bandwidth=1.5, block_size=8)["mmd2_rbf"]
    k = lambda a, b: np.exp(-cdist(a, b, "sqeuclidean") / (2 * 1.5**2))  # noqa: E731
    kxx, kyy = k(x, x), k(y, y)
    want = (kxx.sum() - 45) / (45 * 44) + (kyy.sum() - 38) / (38 * 37) - 2 * k(x, y).mean()
    assert got == pytest.approx(want, rel=1e-10)
    assert mmd_rbf(x, y)["bandwidth_rule"] == "median pairwise distance"


def test_inception_score_of_confident_uniform_classes_is_the_class_count():
    logits = np.tile(np.eye(5) * 50.0, (20, 1))
    assert inception_score(logits, splits=4, shuffle=False)["is"] == pytest.approx(5.0, rel=1e-9)
    assert inception_score(np.zeros((40, 5)), splits=4)["is"] == pytest.approx(1.0)


def test_inception_score_streaming_and_merge_equal_the_function():
    logits = np.random.default_rng(7).normal(size=(100, 6))
    a, b = InceptionScore(splits=5), InceptionScore(splits=5)
    a.update(logits[:33])
    b.update(logits[33:])
    assert a.merge(b).compute() == inception_score(logits, splits=5)
    with pytest.raises(DataError):
        inception_score(logits[:3], splits=5)
