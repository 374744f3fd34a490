"""``evaluate_run``: test examples and generated samples are separate counts, every evaluation opens with
its headline, and a GAN is judged by FD-digits against the train-vs-test floor, not by a likelihood."""

from __future__ import annotations

import json

import pytest

from genforge.core.errors import ConfigError
from genforge.pipelines.evaluate import evaluate_run, headline
from genforge.pipelines.training import train


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    gan = train("gan", "digits", out=out, seed=0, max_steps=2, overrides={"base_channels": 8}).run
    vae = train("vae", "digits", out=out, seed=0, max_steps=2, overrides={"base_channels": 8}).run
    return gan, vae


def test_examples_and_samples_are_counted_separately(runs):
    gan, _ = runs
    result = evaluate_run(gan, num_examples=10, num_samples=64, seed=1)
    assert result["num_examples"] == 10
    fd = result["metrics"]["fd"]
    assert (fd["n_fake"], fd["n_real"], result["metrics"]["samples"]["seed"]) == (64, 270, 1)


def test_a_gan_is_judged_by_fd_digits_against_the_train_vs_test_floor(runs):
    gan, _ = runs
    result = evaluate_run(gan, num_samples=200)
    fd = result["metrics"]["fd"]
    assert list(result)[0] == "headline" and "baseline" not in result
    assert result["headline"] == {
        "metric": "fd_digits",
        "value": fd["fd_digits"],
        "reference": fd["fd_digits_train_vs_test"],
        "reference_name": "train-vs-test FD",
    }
    saved = json.loads(gan.eval_path.read_text(encoding="utf-8"))
    assert saved["headline"] == result["headline"] and headline(saved) == result["headline"]
    no_samples = evaluate_run(gan, metrics=[])
    assert "metrics" not in no_samples and no_samples["headline"]["value"] is None


def test_a_likelihood_family_is_judged_by_bits_per_dim_against_the_per_pixel_baseline(runs):
    _, vae = runs
    result = evaluate_run(vae, num_examples=20)
    assert "metrics" not in result  # no samples drawn unless asked for
    assert result["headline"] == {
        "metric": "bits_per_dim_iwae",
        "value": result["bits_per_dim_iwae"],
        "reference": result["baseline"]["bits_per_dim"],
        "reference_name": "per-pixel baseline",
    }


def test_bad_counts_and_metrics_are_one_line_errors(runs):
    gan, _ = runs
    with pytest.raises(ConfigError, match="num_examples must be at least 1"):
        evaluate_run(gan, num_examples=0)
    with pytest.raises(ConfigError, match="at least 2 samples"):
        evaluate_run(gan, num_samples=1)
    with pytest.raises(ConfigError, match="classify compares true and predicted class labels"):
        evaluate_run(gan, metrics=["classify"])
