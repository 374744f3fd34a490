"""The metric protocol: every class has update/compute/reset/merge and a state round trip, and agrees with
its functional twin; merged worker states equal one state."""

from __future__ import annotations

import importlib
import math
import pkgutil

import numpy as np
import pytest
import torch
from sklearn import metrics as skm

import genforge.metrics
from genforge.core.errors import ConfigError, DataError
from genforge.data import load_dataset
from genforge.metrics import classification as cls
from genforge.metrics import image, likelihood
from genforge.metrics.base import Metric
from genforge.metrics.frechet import FrechetDistance
from genforge.metrics.inception_score import InceptionScore
from genforge.metrics.kid import RBFMMD, KernelDistance, mmd_rbf
from genforge.metrics.prdc import PrecisionRecallDensityCoverage
from genforge.metrics.text import TextMetrics

# every concrete metric class and its functional twin(s)
TWINS = {
    FrechetDistance: "frechet.frechet_distance",
    KernelDistance: "kid.kernel_distance",
    RBFMMD: "kid.mmd_rbf",
    PrecisionRecallDensityCoverage: "prdc.precision_recall_density_coverage",
    InceptionScore: "inception_score.inception_score",
    image.PSNR: "image.psnr",
    image.SSIM: "image.ssim",
    image.MSSSIM: "image.ms_ssim",
    image.LPIPSDistance: "image.lpips_distance",
    likelihood.NegativeLogLikelihood: "likelihood.negative_log_likelihood",
    likelihood.Perplexity: "likelihood.perplexity",
    cls.ClassificationMetrics: "classification.classification_report",
    cls.PrecisionRecallCurve: "classification.precision_recall_curve",
    TextMetrics: "text.text_metrics",
}
PROTOCOL = ("update", "compute", "reset", "_merge_state", "state_dict", "load_state_dict")


def _concrete_metric_classes() -> set[type]:
    for info in pkgutil.iter_modules(genforge.metrics.__path__):
        importlib.import_module(f"genforge.metrics.{info.name}")
    found, todo = set(), [Metric]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("genforge.metrics") and not sub.__name__.startswith("_"):
                found.add(sub)
    return {
        c for c in found if getattr(c, "name", "metric") != "metric" and c.__name__ != "PairedImageMetric"
    }


def test_every_metric_class_implements_the_protocol_and_has_a_functional_twin():
    classes = _concrete_metric_classes()
    assert classes == set(TWINS), classes ^ set(TWINS)
    for klass, twin in TWINS.items():
        for method in PROTOCOL:
            owner = next(c for c in klass.__mro__ if method in c.__dict__)
            assert owner is not Metric, f"{klass.__name__}.{method} is not implemented"
        module, function = twin.split(".")
        assert callable(getattr(importlib.import_module(f"genforge.metrics.{module}"), function))


@pytest.fixture(scope="module")
def image_pairs():
    x = load_dataset("digits").split("test")["x"][:24].float() / 16
    noise = torch.rand(x.shape, generator=torch.Generator().manual_seed(0))
    return x, (x + 0.1 * noise).clamp(0, 1)


@pytest.mark.parametrize(
    "klass,twin,options",
    [
        (image.PSNR, image.psnr, {"data_range": 1.0}),
        (image.SSIM, image.ssim, {"data_range": 1.0, "kernel_size": 3}),
        (image.MSSSIM, image.ms_ssim, {"data_range": 1.0, "kernel_size": 1, "weights": (0.5, 0.5)}),
        (image.LPIPSDistance, image.lpips_distance, {}),
    ],
)
def test_paired_image_metrics_merge_round_trip_and_equal_their_twin(image_pairs, klass, twin, options):
    x, y = image_pairs
    left, right = klass(**options), klass(**options)
    left.update(x[:10], y[:10])
    right.update(x[10:], y[10:])
    merged = left.merge(right).compute()
    want = twin(x, y, **options)
    assert merged[klass.name] == pytest.approx(want[klass.name], rel=1e-12)
    np.testing.assert_allclose(merged[f"{klass.name}_per_image"], want[f"{klass.name}_per_image"], rtol=1e-12)
    assert merged["n"] == len(x)
    restored = klass(**options).load_state_dict(left.state_dict())
    assert restored.compute()[klass.name] == merged[klass.name]
    left.reset()
    with pytest.raises(DataError, match="no image pairs"):
        left.compute()


def test_image_metrics_need_an_explicit_data_range_and_refuse_unknown_options():
    with pytest.raises(ConfigError, match="needs data_range"):
        image.PSNR()
    with pytest.raises(ConfigError, match="needs data_range"):
        image.SSIM(kernel_size=3)
    with pytest.raises(ConfigError, match="kernel"):
        image.SSIM(data_range=1.0, kernel=3)
    with pytest.raises(ConfigError, match="data_range"):
        image.PSNR(data_range=-1.0)
    with pytest.raises(ConfigError):
        image.SSIM(data_range=1.0).merge(image.SSIM(data_range=255.0))


def test_rbf_mmd_merge_equals_the_function():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(70, 3)), rng.normal(size=(60, 3)) + 0.3
    a, b = RBFMMD(block_size=16), RBFMMD(block_size=16)
    a.update(x[:30], real=True)
    b.update(x[30:], real=True)
    b.update(y, real=False)
    merged = a.merge(b).compute()
    assert merged["mmd2_rbf"] == pytest.approx(mmd_rbf(x, y)["mmd2_rbf"], rel=1e-12)
    assert RBFMMD(block_size=7).settings() == RBFMMD(block_size=16).settings()  # speed only
    with pytest.raises(ConfigError, match="bandwidth_rule"):
        RBFMMD(bandwidth_rule="median")


def test_feature_set_metrics_refuse_options_their_function_fills_itself():
    with pytest.raises(ConfigError, match="subset_indices"):
        KernelDistance(subset_indices=[(np.arange(3), np.arange(3))])
    with pytest.raises(ConfigError):
        PrecisionRecallDensityCoverage(k_pr=3).merge(PrecisionRecallDensityCoverage(k_pr=4))


def test_precision_recall_curve_metric_merges_and_equals_scikit_learn():
    rng = np.random.default_rng(1)
    t = rng.integers(0, 2, 200)
    s = np.round(rng.random(200) + 0.3 * t, 2)  # ties, as real scores have
    a, b = cls.PrecisionRecallCurve(), cls.PrecisionRecallCurve()
    a.update(t[:80], s[:80])
    b.update(t[80:], s[80:])
    got = a.merge(b).compute()
    precision, recall, thresholds = skm.precision_recall_curve(t, s)
    assert got["precision"] == precision.tolist() and got["recall"] == recall.tolist()
    assert got["thresholds"] == thresholds.tolist() and got["n"] == 200
    assert got["average_precision"] == pytest.approx(skm.average_precision_score(t, s), rel=1e-15)
    restored = cls.PrecisionRecallCurve().load_state_dict(a.state_dict())
    assert restored.compute() == got
    a.reset()
    with pytest.raises(DataError, match="no scores"):
        a.compute()


def test_negative_log_likelihood_twin_equals_the_class():
    nll = np.array([100.0, 120.0, 110.0])
    result = likelihood.negative_log_likelihood(nll, 64)
    assert result["nll_nats"] == pytest.approx(110.0) and result["n"] == 3
    assert result["bits_per_dim"] == pytest.approx(110.0 / (64 * math.log(2)))


def test_feature_set_metric_settings_include_the_twins_defaults():
    kid = KernelDistance(subsets=5, subset_size=50)
    assert kid.settings()["subsets"] == 5 and kid.settings()["degree"] == 3
    assert kid.settings()["extractor"] == "precomputed"
