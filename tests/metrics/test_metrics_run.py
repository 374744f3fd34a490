"""Sample-based metrics of a model against its dataset's test split (the ``genforge eval --metrics`` hook)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from genforge.core.errors import ConfigError, DataError
from genforge.data import load_dataset
from genforge.metrics.extractors import extract, load_extractor
from genforge.metrics.frechet import frechet_distance
from genforge.metrics.kid import mmd_rbf
from genforge.metrics.prdc import precision_recall_density_coverage
from genforge.metrics.run_metrics import draw_samples, evaluate_samples
from genforge.models.base import build_model


@pytest.fixture(scope="module")
def digits_run():
    dataset = load_dataset("digits")
    model = build_model("vae", {}, dataset.info).eval()
    return SimpleNamespace(model=model, dataset=dataset)


def test_image_run_metrics_carry_n_extractor_and_hash(digits_run):
    result = evaluate_samples(digits_run, ["fd", "kid", "is", "prdc", "nll"], num_samples=300, seed=0)
    assert {"samples", "fd", "kid", "is", "prdc"} <= set(result) and "mmd" not in result
    assert (
        result["fd_digits"] == result["fd"]["fd_digits"]
        and result["precision"] == result["prdc"]["precision"]
    )
    assert (result["extractor"], result["n_generated"]) == ("digits", 300)
    n_test = digits_run.dataset.size("test")
    for name in ("fd", "kid", "prdc"):
        entry = result[name]
        assert entry["extractor"] == "digits" and len(entry["extractor_sha256"]) == 64
        assert (entry["n_real"], entry["n_fake"]) == (n_test, 300)
    assert "fd_digits" in result["fd"] and "fid" not in result["fd"]
    assert result["fd"]["fd_digits_train_vs_test"] < result["fd"]["fd_digits"]  # an untrained VAE is far off
    assert result["is"]["is_digits_test_split"] > result["is"]["is_digits"]
    assert result["kid"]["subset_size"] == n_test
    # the same figures recomputed by hand from the same seeded samples and the real splits
    extractor = load_extractor("digits")
    test, train = (digits_run.dataset.split(s)["x"].float() / 16 for s in ("test", "train"))
    fake = extract(extractor, draw_samples(digits_run.model, 300, seed=0))
    real = extract(extractor, test)
    assert result["fd"]["fd_digits"] == frechet_distance(real, fake, extractor.source)["fd_digits"]
    reference = frechet_distance(real, extract(extractor, train), extractor.source)["fd_digits"]
    assert result["fd"]["fd_digits_train_vs_test"] == reference


def test_same_seed_gives_the_same_samples_and_metrics(digits_run):
    a = draw_samples(digits_run.model, 40, seed=3, batch_size=16)
    b = draw_samples(digits_run.model, 40, seed=3, batch_size=16)
    assert a.shape == (40, 1, 8, 8) and bool((a == b).all())
    first = evaluate_samples(digits_run, ["fd"], num_samples=150, seed=1)["fd"]["fd_digits"]
    assert evaluate_samples(digits_run, ["fd"], num_samples=150, seed=1)["fd"]["fd_digits"] == first


def test_point_data_is_compared_in_its_own_coordinates():
    dataset = load_dataset("toy2d:moons")
    run = SimpleNamespace(model=build_model("realnvp", {}, dataset.info).eval(), dataset=dataset)
    result = evaluate_samples(run, ["fd", "prdc", "mmd", "is"], num_samples=200, seed=0)
    assert result["fd"]["extractor"] == "points" and "fd_points" in result["fd"]
    assert result["fd"]["feature_dim"] == 2
    fake = draw_samples(run.model, 200, seed=0).double().numpy()
    real = dataset.split("test")["x"].double().numpy()
    want = precision_recall_density_coverage(real, fake)
    assert "skipped" in result["is"] and result["prdc"]["precision"] == want["precision"]
    assert result["mmd"]["mmd2_rbf"] == mmd_rbf(real, fake, seed=0)["mmd2_rbf"]


def test_unknown_metrics_and_likelihood_only_requests(digits_run):
    with pytest.raises(ConfigError, match="unknown metric"):
        evaluate_samples(digits_run, ["fid"], num_samples=10, seed=0)
    assert evaluate_samples(digits_run, ["nll"], num_samples=10, seed=0) == {}


def test_samples_outside_the_unit_interval_are_refused_not_clamped(digits_run):
    class Overshooting:
        def sample(self, n, *, generator=None):
            return torch.full((n, 1, 8, 8), 1.5)

    run = SimpleNamespace(model=Overshooting(), dataset=digits_run.dataset)
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        evaluate_samples(run, ["fd"], num_samples=20, seed=0)
