import math

import torch

from genforge.models.baseline import pixel_categorical_bits_per_dim


def test_uniform_data_costs_log2_levels_bits():
    gen = torch.Generator().manual_seed(0)
    train = torch.randint(0, 4, (20000, 3), generator=gen)
    test = torch.randint(0, 4, (5000, 3), generator=gen)
    assert pixel_categorical_bits_per_dim(train, test, 4) == pytest_approx(2.0)


def test_constant_pixels_cost_almost_nothing():
    x = torch.zeros(1000, 5, dtype=torch.long)
    assert pixel_categorical_bits_per_dim(x, x, 17) < 0.03


def pytest_approx(value):
    import pytest

    return pytest.approx(value, abs=0.01)


def test_digits_baseline_matches_reported_2_43_region():
    from genforge.data import load_dataset

    d = load_dataset("digits")
    bpd = pixel_categorical_bits_per_dim(d.split("train")["x"], d.split("test")["x"], 17)
    assert 2.3 < bpd < 2.6 and math.isfinite(bpd)
