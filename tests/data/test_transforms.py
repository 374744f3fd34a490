import math

import pytest
import torch

from genforge.core.errors import ConfigError
from genforge.data.transforms import (
    Binarize,
    Compose,
    Dequantize,
    FromSymmetric,
    GaussianNoise,
    Quantize,
    RandomHorizontalFlip,
    RandomShift,
    Standardize,
    ToSymmetric,
    ToUnit,
    dequantization_correction,
    parse_augmentations,
)

LEVELS = torch.tensor([[[[0, 8, 16]]]], dtype=torch.uint8)


def test_scaling_to_unit_and_symmetric_ranges():
    assert ToUnit(17)(LEVELS).flatten().tolist() == [0.0, 0.5, 1.0]
    assert ToSymmetric(17)(LEVELS).flatten().tolist() == [-1.0, 0.0, 1.0]
    assert FromSymmetric()(torch.tensor([-2.0, 0.0, 1.0])).tolist() == [0.0, 0.5, 1.0]


def test_dequantize_stays_inside_each_levels_bin():
    x = torch.randint(0, 17, (1000,))
    y = Dequantize(17)(x, torch.Generator().manual_seed(0))
    assert ((y * 17).floor().long() == x).all()
    assert dequantization_correction(64, 17) == pytest.approx(-64 * math.log(17))


def test_binarize_threshold_and_stochastic():
    assert Binarize(num_levels=17)(LEVELS).flatten().tolist() == [0.0, 1.0, 1.0]
    p = torch.full((20000,), 0.3)
    sample = Binarize(stochastic=True)(p, torch.Generator().manual_seed(0))
    assert set(sample.unique().tolist()) <= {0.0, 1.0} and abs(sample.mean().item() - 0.3) < 0.02


def test_quantize_inverts_to_unit():
    x = torch.randint(0, 17, (50,))
    assert torch.equal(Quantize(17)(ToUnit(17)(x)), x)
    with pytest.raises(ConfigError):
        Quantize(1)


def test_standardize_fit_gives_zero_mean_unit_variance_and_inverts():
    x = torch.randn(500, 3) * torch.tensor([1.0, 5.0, 0.1]) + torch.tensor([2.0, -1.0, 0.0])
    t = Standardize().fit(x)
    z = t(x)
    assert torch.allclose(z.mean(0), torch.zeros(3), atol=1e-5)
    assert torch.allclose(z.std(0, correction=0), torch.ones(3), atol=1e-4)
    assert torch.allclose(t.inverse(z), x, atol=1e-4)
    with pytest.raises(ConfigError, match="must be fitted"):
        Standardize()(x)


def test_flip_and_shift_preserve_content():
    x = torch.arange(2 * 1 * 4 * 4).view(2, 1, 4, 4)
    flipped = RandomHorizontalFlip(p=1.0)(x, torch.Generator().manual_seed(0))
    assert torch.equal(flipped, x.flip(-1))
    shifted = RandomShift(1)(x, torch.Generator().manual_seed(0))
    assert shifted.shape == x.shape and shifted.dtype == x.dtype
    assert torch.equal(RandomShift(0)(x), x)
    # every shifted pixel is either the fill value or a value present in the source image
    for i in range(2):
        assert set(shifted[i].unique().tolist()) <= set(x[i].unique().tolist()) | {0}


def test_noise_and_compose_are_seeded():
    x = torch.zeros(100, 2)
    pipe = Compose([GaussianNoise(0.1)])
    a, b = pipe(x, torch.Generator().manual_seed(1)), pipe(x, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and 0.05 < a.std().item() < 0.15


def test_parse_augmentations_names_unknown():
    assert [type(t).__name__ for t in parse_augmentations(["hflip", "shift=2"])] == [
        "RandomHorizontalFlip",
        "RandomShift",
    ]
    with pytest.raises(ConfigError, match="unknown augmentation 'rotate'"):
        parse_augmentations(["rotate"])
