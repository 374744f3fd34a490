"""Metric values against golden numbers from the reference implementations (tests/golden/make_metrics_goldens.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from genforge.metrics import classification as cls
from genforge.metrics import pr_curve
from genforge.metrics.frechet import frechet_distance
from genforge.metrics.image import ms_ssim_values, psnr_values, ssim_values
from genforge.metrics.inception_score import inception_score
from genforge.metrics.kid import kernel_distance
from genforge.metrics.prdc import precision_recall_density_coverage

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


@pytest.fixture(scope="module")
def gold():
    return json.loads((GOLDEN / "metrics.json").read_text())


@pytest.fixture(scope="module")
def data():
    with np.load(GOLDEN / "metrics_inputs.npz", allow_pickle=False) as archive:
        return {k: archive[k] for k in archive.files}


@pytest.mark.parametrize("case,a,b", [("pair", "fd_a", "fd_b"), ("singular", "fd_small_a", "fd_small_b")])
def test_frechet_distance_equals_torch_fidelity_to_1e_6(gold, data, case, a, b):
    with pytest.warns(UserWarning) if case == "singular" else _no_warning():
        got = frechet_distance(data[a], data[b])["fd"]
    assert got == pytest.approx(gold["fd"][case]["torch_fidelity"], rel=1e-6)
    assert got == pytest.approx(gold["fd"][case]["torchmetrics"], rel=1e-6)


class _no_warning:
    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("error")

    def __exit__(self, *exc):
        self._ctx.__exit__(*exc)


def test_kid_equals_torch_fidelity_on_the_same_subsets(gold, data):
    ref = gold["kid"]
    got = kernel_distance(
        data["kid_real"],
        data["kid_fake"],
        subsets=ref["subsets"],
        subset_size=ref["subset_size"],
        seed=ref["seed"],
    )
    assert got["kd"] == pytest.approx(ref["mean"], rel=1e-9, abs=1e-12)
    assert got["kd_std"] == pytest.approx(ref["std"], rel=1e-9)


@pytest.mark.parametrize("key", ["splits10_seed2020", "splits7_seed5"])
def test_inception_score_equals_torch_fidelity(gold, data, key):
    ref = gold["is"][key]
    got = inception_score(data["is_logits"], splits=ref["splits"], seed=ref["seed"])
    assert got["is"] == pytest.approx(ref["mean"], rel=1e-9)
    assert got["is_std"] == pytest.approx(ref["std"], rel=1e-9)


@pytest.mark.parametrize("k", [3, 5])
def test_prdc_equals_the_prdc_package_exactly(gold, data, k):
    got = precision_recall_density_coverage(
        data["prdc_real"], data["prdc_fake"], k_pr=k, k_dc=k, block_size=64
    )
    for key in ("precision", "recall", "density", "coverage"):
        assert got[key] == gold["prdc"][f"k{k}"][key], key


@pytest.mark.parametrize("average", ["micro", "macro", "weighted", None])
@pytest.mark.parametrize("zero", [0.0, 1.0, "nan"])
def test_precision_recall_f1_equal_scikit_learn_golden(gold, data, average, zero):
    ref = gold["classification"][f"{average}_{zero}"]
    zero_division = math.nan if zero == "nan" else zero
    p, r, f, s = cls.precision_recall_fscore_support(
        data["cls_true"], data["cls_pred"], average=average, zero_division=zero_division
    )
    np.testing.assert_array_equal(np.asarray(p), np.asarray(ref["precision"], dtype=float))
    np.testing.assert_array_equal(np.asarray(r), np.asarray(ref["recall"], dtype=float))
    np.testing.assert_array_equal(np.asarray(f), np.asarray(ref["f1"], dtype=float))
    assert (s is None) == (ref["support"] is None)
    if s is not None:
        assert s.tolist() == ref["support"]


def test_label_order_and_binary_beta_match_scikit_learn_golden(gold, data):
    ref = gold["classification"]["labels_4_2_0"]
    p, r, f, s = cls.precision_recall_fscore_support(
        data["cls_true"], data["cls_pred"], labels=[4, 2, 0], zero_division=0
    )
    assert [p.tolist(), r.tolist(), f.tolist(), s.tolist()] == [
        ref["precision"],
        ref["recall"],
        ref["f1"],
        ref["support"],
    ]
    ref = gold["classification"]["binary_beta0.5"]
    p, r, f, _ = cls.precision_recall_fscore_support(
        data["bin_true"], data["bin_pred"], average="binary", beta=0.5
    )
    assert (p, r, f) == (ref["precision"], ref["recall"], ref["f05"])


def test_confusion_matrix_and_pr_curve_match_scikit_learn_golden(gold, data):
    ref = gold["classification"]
    assert cls.confusion_matrix(data["cls_true"], data["cls_pred"]).tolist() == ref["confusion_matrix"]
    normalized = cls.confusion_matrix(data["cls_true"], data["cls_pred"], normalize="true")
    np.testing.assert_allclose(normalized, ref["confusion_matrix_true"], rtol=0, atol=1e-15)
    precision, recall, thresholds = pr_curve.precision_recall_curve(data["bin_true"], data["pr_scores"])
    assert precision.tolist() == ref["pr_curve"]["precision"]
    assert recall.tolist() == ref["pr_curve"]["recall"]
    assert thresholds.tolist() == ref["pr_curve"]["thresholds"]
    assert pr_curve.average_precision_score(data["bin_true"], data["pr_scores"]) == ref["average_precision"]


def test_psnr_and_ssim_match_torchmetrics_and_scikit_image(gold, data):
    a, b = data["img_a"], data["img_b"]
    # torchmetrics keeps data_range in float32, so its PSNR carries float32 round-off
    np.testing.assert_allclose(psnr_values(b, a, data_range=1.0).numpy(), gold["psnr"], rtol=1e-7)
    np.testing.assert_allclose(ssim_values(a, b, data_range=1.0).numpy(), gold["ssim_valid"], rtol=1e-10)
    np.testing.assert_allclose(
        ssim_values(b, a, data_range=1.0, padding="reflect").numpy(), gold["ssim_reflect"], rtol=1e-10
    )


def test_ms_ssim_matches_torchmetrics(gold, data):
    def up(x):
        return torch.nn.functional.interpolate(
            torch.from_numpy(x), size=(192, 192), mode="bilinear", align_corners=False
        )

    got = ms_ssim_values(up(data["ms_base_b"]), up(data["ms_base_a"]), data_range=1.0, padding="reflect")
    # torchmetrics holds the five scale weights as float32: ~1e-9 relative difference
    np.testing.assert_allclose(got.numpy(), gold["ms_ssim_reflect"], rtol=1e-8)
