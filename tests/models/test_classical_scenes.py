"""The classical scene baseline: Otsu foreground, components or watershed, an SVM per object."""

import numpy as np
import pytest

from genforge.core.errors import ConfigError
from genforge.models.classical_scenes import ClassicalConfig, ClassicalSegmenter


def _two_touching_discs() -> np.ndarray:
    ys, xs = np.mgrid[:40, :40]
    image = np.full((40, 40), 10.0)
    image[(xs - 12) ** 2 + (ys - 20) ** 2 <= 64] = 200
    image[(xs - 26) ** 2 + (ys - 20) ** 2 <= 64] = 200
    return image


def test_components_keep_touching_discs_together_and_the_watershed_splits_them():
    image = _two_touching_discs()
    assert ClassicalSegmenter(ClassicalConfig(method="otsu")).objects(image).max() == 1
    split = ClassicalSegmenter(ClassicalConfig(method="watershed", smoothing=0, min_distance=5)).objects(
        image
    )
    assert split.max() == 2
    assert split[20, 12] != split[20, 26] and split[20, 12] > 0 and split[20, 26] > 0


def test_specks_under_min_area_and_a_flat_image_have_no_objects():
    image = np.zeros((20, 20))
    image[2:4, 2:4] = 255  # 4 pixels
    image[10:16, 10:16] = 255  # 36 pixels
    objects = ClassicalSegmenter(ClassicalConfig(min_area=8)).objects(image)
    assert objects.max() == 1 and objects[12, 12] == 1 and objects[3, 3] == 0
    assert ClassicalSegmenter().objects(np.full((20, 20), 7.0)).max() == 0


def test_predicting_before_fitting_is_a_clear_error():
    with pytest.raises(ConfigError, match="call fit"):
        ClassicalSegmenter().predict(_two_touching_discs())
