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
from genforge.metrics import image, likelihood, lpips, pr_curve
from genforge.metrics.base import Metric, Options
from genforge.metrics.kid import RBFMMD, KernelDistance, mmd_rbf
from genforge.metrics.prdc import PrecisionRecallDensityCoverage
from genforge.metrics.registry import KINDS, metric_specs

# Data for one registered metric of each kind, split between two workers: (args of worker A, args of
# worker B, args of the whole), and the options a metric needs on that data.
RNG = np.random.default_rng(0)
_F, _G = RNG.normal(size=(40, 3)), RNG.normal(size=(36, 3)) + 0.3
_X = torch.rand(12, 1, 8, 8, generator=torch.Generator().manual_seed(0))
_Y = (_X + 0.1 * torch.rand(_X.shape, generator=torch.Generator().manual_seed(1))).clamp(0, 1)
_T, _P = RNG.integers(0, 3, 60), RNG.integers(0, 3, 60)
_B, _S = RNG.integers(0, 2, 60), np.round(RNG.random(60), 2)
_LOGITS, _TARGETS = (
    torch.randn(4, 5, 7, generator=torch.Generator().manual_seed(2)),
    torch.randint(0, 7, (4, 5)),
)
_HYP = ["the cat sat on the mat", "a dog runs", "birds sing at dawn", "it rains"]
_REF = ["the cat is on the mat", "a dog is running", "birds sing in the morning", "it is raining"]
OPTIONS = {
    "psnr": {"data_range": 1.0},
    "ssim": {"data_range": 1.0, "kernel_size": 3},
    "ms-ssim": {"data_range": 1.0, "kernel_size": 1, "weights": (0.5, 0.5)},
    "kid": {"subsets": 3, "subset_size": 20},
    "is": {"splits": 2},
    "nll": {"num_dims": 64},
}


def _split_updates(spec):
    """Updates for worker A and worker B, and the functional form's arguments over all the data."""
    if spec.kind == "feature-set":
        return [(_F[:25], True), (_G[:10], False)], [(_F[25:], True), (_G[10:], False)], (_F, _G)
    if spec.kind == "image-score":
        return [(_F[:25],)], [(_F[25:],)], (_F,)
    if spec.kind == "pairwise":
        return [(_X[:5], _Y[:5])], [(_X[5:], _Y[5:])], (_X, _Y)
    if spec.kind == "classification":
        return [(_T[:20], _P[:20])], [(_T[20:], _P[20:])], (_T, _P)
    if spec.kind == "scores":
        return [(_B[:20], _S[:20])], [(_B[20:], _S[20:])], (_B, _S)
    if spec.kind == "text":
        return [(_HYP[:2], _REF[:2])], [(_HYP[2:], _REF[2:])], (_HYP, _REF)
    if spec.name == "nll":
        nll = RNG.random(30) * 100
        return [(nll[:10],)], [(nll[10:],)], (nll,)
    return [(_LOGITS[:1], _TARGETS[:1])], [(_LOGITS[1:], _TARGETS[1:])], (_LOGITS, _TARGETS)


def _metric_classes_with_a_name() -> set[type]:
    """Every Metric subclass in genforge.metrics that names its results (bases such as
    PairedImageMetric do not)."""
    for info in pkgutil.iter_modules(genforge.metrics.__path__):
        importlib.import_module(f"genforge.metrics.{info.name}")
    found, todo = set(), [Metric]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("genforge.metrics") and "name" in vars(sub):
                found.add(sub)
    return found


def test_every_metric_class_in_the_package_is_registered_with_a_function_options_and_kind():
    specs = metric_specs()
    assert _metric_classes_with_a_name() == {s.streaming for s in specs}
    for spec in specs:
        assert spec.kind in KINDS and callable(spec.function) and issubclass(spec.options, Options)
        assert spec.streaming.states, f"{spec.name} declares no streaming state"
        for hand_written in ("reset", "merge", "state_dict", "load_state_dict", "_merge_state"):
            owner = next(c for c in spec.streaming.__mro__ if hand_written in vars(c) or c is object)
            assert owner in (Metric, object), f"{spec.name} writes its own {hand_written}"


@pytest.mark.parametrize("spec", metric_specs(), ids=lambda s: s.name)
def test_every_registered_metric_merges_round_trips_and_equals_its_functional_form(spec):
    options = OPTIONS.get(spec.name, {})
    first, second, whole = _split_updates(spec)
    a, b = spec.streaming(**options), spec.streaming(**options)
    for args in first:
        a.update(*args)
    for args in second:
        b.update(*args)
    saved = a.state_dict()
    assert all(isinstance(v, np.ndarray) for v in saved.values())  # plain arrays, nothing pickled
    merged = a.merge(b).compute()
    want = spec.function(*whole, **options)
    keys = [k for k in want if isinstance(want[k], float)]
    assert keys and [merged[k] for k in keys] == pytest.approx([want[k] for k in keys], rel=1e-9, nan_ok=True)
    restored = spec.streaming(**options).load_state_dict(saved)
    for args in second:
        restored.update(*args)
    assert [restored.compute()[k] for k in keys] == pytest.approx([merged[k] for k in keys], rel=1e-12)
    a.reset()
    assert a.state_dict().keys() == spec.streaming(**options).state_dict().keys()
    with pytest.raises(DataError):
        a.compute()


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
        (lpips.LPIPSDistance, lpips.lpips_distance, {}),
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
    a, b = pr_curve.PrecisionRecallCurve(), pr_curve.PrecisionRecallCurve()
    a.update(t[:80], s[:80])
    b.update(t[80:], s[80:])
    got = a.merge(b).compute()
    precision, recall, thresholds = skm.precision_recall_curve(t, s)
    assert got["precision"] == precision.tolist() and got["recall"] == recall.tolist()
    assert got["thresholds"] == thresholds.tolist() and got["n"] == 200
    assert got["average_precision"] == pytest.approx(skm.average_precision_score(t, s), rel=1e-15)
    restored = pr_curve.PrecisionRecallCurve().load_state_dict(a.state_dict())
    assert restored.compute() == got
    a.reset()
    with pytest.raises(DataError, match="no scores"):
        a.compute()


def test_negative_log_likelihood_twin_equals_the_class():
    nll = np.array([100.0, 120.0, 110.0])
    result = likelihood.negative_log_likelihood(nll, num_dims=64)
    assert result["nll_nats"] == pytest.approx(110.0) and result["n"] == 3
    assert result["bits_per_dim"] == pytest.approx(110.0 / (64 * math.log(2)))


def test_feature_set_metric_settings_include_the_twins_defaults():
    kid = KernelDistance(subsets=5, subset_size=50)
    assert kid.settings()["subsets"] == 5 and kid.settings()["degree"] == 3
    assert kid.settings()["extractor"] == "precomputed"
