"""Feature extractors: the shipped digits CNN, the FID InceptionV3 (against torch-fidelity), fallbacks, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from metrics_inception_weights import random_fid_inception_state

from genforge.core.errors import CheckpointError, ConfigError, DataError
from genforge.core.io import save_tensors
from genforge.data import load_dataset
from genforge.metrics.extractors import (
    extract,
    load_extractor,
    resize_tf1,
    resolve_extractor_spec,
    sha256_file,
)
from genforge.metrics.extractors.digits import DIGITS_CARD, DIGITS_WEIGHTS

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


@pytest.fixture(scope="module")
def digits_test():
    split = load_dataset("digits").split("test")
    return split["x"].float() / 16, split["y"]


def test_shipped_digits_extractor_classifies_the_test_split_as_recorded(digits_test):
    x, y = digits_test
    extractor = load_extractor("digits")
    card = json.loads(DIGITS_CARD.read_text())
    accuracy = float((extract(extractor, x, output="logits").argmax(1) == y.numpy()).mean())
    assert accuracy == pytest.approx(card["test_accuracy"], abs=1e-6)
    assert accuracy >= 0.97
    assert extractor.sha256 == sha256_file(DIGITS_WEIGHTS) == card["sha256"]


def test_digits_features_are_128_dimensional_and_deterministic(digits_test):
    x, _ = digits_test
    extractor = load_extractor("digits")
    first = extract(extractor, x[:50], batch_size=7)
    second = extract(extractor, x[:50], batch_size=50)
    assert first.shape == (50, 128)
    np.testing.assert_allclose(first, second, rtol=1e-5, atol=1e-6)


def test_digits_extractor_refuses_rgb_and_other_sizes_with_one_line():
    extractor = load_extractor("digits")
    with pytest.raises(DataError, match="1-channel"):
        extract(extractor, torch.rand(2, 3, 8, 8))
    with pytest.raises(DataError, match="--resize bilinear"):
        extract(extractor, torch.rand(2, 1, 16, 16))
    assert extract(load_extractor("digits", resize="bilinear"), torch.rand(2, 1, 16, 16)).shape == (2, 128)


def test_auto_extractor_is_digits_for_8x8_grey_and_random_cnn_otherwise():
    assert resolve_extractor_spec("auto", (1, 8, 8)) == "digits"
    assert resolve_extractor_spec("auto", (3, 32, 32)) == "random-cnn"
    assert resolve_extractor_spec("pixels", (1, 8, 8)) == "pixels"


def test_random_cnn_is_fixed_by_its_seed_and_hash_names_the_weights():
    images = torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    a, b, c = load_extractor("random-cnn"), load_extractor("random-cnn"), load_extractor("random-cnn:1")
    np.testing.assert_array_equal(extract(a, images), extract(b, images))
    assert a.sha256 == b.sha256 != c.bind((3, 16, 16)).sha256
    assert (
        a.sha256 != load_extractor("random-cnn").bind((1, 16, 16)).sha256
    )  # other channel count, other weights


def test_pixels_extractor_flattens_and_resizes():
    images = torch.rand(3, 1, 8, 8)
    np.testing.assert_allclose(
        extract(load_extractor("pixels"), images), images.flatten(1).double().numpy(), rtol=1e-7
    )
    assert extract(load_extractor("pixels:4"), images).shape == (3, 16)


def test_unknown_or_malformed_extractor_specs_are_config_errors():
    for spec in ("vgg", "pixels:big", "inception"):
        with pytest.raises(ConfigError):
            load_extractor(spec)
    with pytest.raises(ConfigError, match="tf1"):
        load_extractor("digits", resize="tf1")


def test_inception_refuses_a_missing_or_wrong_weights_file(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_extractor(f"inception:{tmp_path / 'nope.pth'}")
    wrong = tmp_path / "wrong.pth"
    wrong.write_bytes(b"not the FID weights")
    with pytest.raises(CheckpointError, match="refusing"):
        load_extractor(f"inception:{wrong}")


def test_tf1_resize_samples_without_half_pixel_offset():
    x = torch.arange(4.0).view(1, 1, 1, 4).expand(1, 1, 2, 4)
    # TensorFlow 1: source = dst * in / out -> 0, 0.5, 1, ..., 3 (clamped upper neighbour)
    out = resize_tf1(x, 8)
    assert out[0, 0, 0].tolist() == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.0]


@pytest.mark.slow
def test_fid_inception_architecture_matches_torch_fidelity_with_the_same_random_weights(tmp_path):
    """What this proves, and what it does not.

    Proves: with one seeded *random* state dict loaded into both networks (torch-fidelity loads it
    strictly, so genforge's parameter names and shapes are exactly those torch-fidelity's network, and
    hence the standard weights file, uses), genforge's FID InceptionV3 graph — layers, TF-style pools,
    batch-norm epsilon, the TF1 resize of a 37 x 53 uint8 image to 299 x 299 and the (x - 128) / 128
    scaling — gives torch-fidelity's pool3 features and unbiased logits on two images (first 8 of 2,048
    features, the row sums, first 8 logits) to rtol 1e-4.

    Does not prove: anything about the real FID weights, which cannot be downloaded here and have never
    been loaded by genforge; no FID value computed with them has been compared with a reference. The
    SHA-256 refusal of other files is tested separately (test_inception_refuses_a_missing_or_wrong_weights_file).
    """
    gold = json.loads((GOLDEN / "metrics.json").read_text())["inception_random_weights_seed0"]
    with np.load(GOLDEN / "metrics_inputs.npz") as archive:
        images = torch.from_numpy(archive["inception_images"]).float() / 255.0
    state = random_fid_inception_state(0)
    pth = tmp_path / "weights.pth"
    torch.save(
        state, pth
    )  # the standard weights are a PyTorch state-dict file; read back with weights_only=True
    extractor = load_extractor(f"inception:{pth}", expected_sha256=sha256_file(pth))
    assert extractor.name == "inception-custom"  # not the FID weights: its results are never called FID
    pool3 = extract(extractor, images)
    logits = extract(extractor, images, output="logits")
    np.testing.assert_allclose(pool3[:, :8], gold["pool3_first8"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(pool3.sum(axis=1), gold["pool3_sum"], rtol=1e-4)
    np.testing.assert_allclose(logits[:, :8], gold["logits_unbiased_first8"], rtol=1e-4, atol=1e-5)
    # the same weights as safetensors give the same features
    st = tmp_path / "weights.safetensors"
    save_tensors(st, state)
    again = extract(load_extractor(f"inception:{st}", expected_sha256=sha256_file(st)), images)
    np.testing.assert_allclose(again, pool3, rtol=1e-6)
