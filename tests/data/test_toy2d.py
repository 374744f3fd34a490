import pytest
import torch

from genforge.core.errors import DataError
from genforge.data import load_dataset
from genforge.data.toy2d import SHAPES, sample_toy2d


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_each_shape_is_seeded_2d_and_bounded(name):
    a, b = sample_toy2d(name, 500, seed=1), sample_toy2d(name, 500, seed=1)
    assert a.shape == (500, 2) and torch.equal(a, b)
    assert a.abs().max() < 6


def test_toy2d_dataset_has_three_splits():
    d = load_dataset("toy2d:moons", {"num_points": 1000})
    assert d.info.kind == "points" and d.size("train") == 1000 and d.size("test") == 100


def test_unknown_shape_and_missing_shape_are_errors():
    with pytest.raises(DataError, match="unknown toy2d shape 'spiral'"):
        load_dataset("toy2d:spiral")
    with pytest.raises(DataError, match="toy2d needs a shape"):
        load_dataset("toy2d")
