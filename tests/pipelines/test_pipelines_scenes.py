"""``segment_classical`` (the scikit-image baseline scored like the networks) and the scene pictures."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from genforge.core.errors import DataError
from genforge.data import load_dataset
from genforge.data.scenes import SceneConfig, make_scenes
from genforge.metrics.detection import confusion_counts, mean_iou
from genforge.models.base import build_model
from genforge.models.classical_scenes import ClassicalConfig
from genforge.pipelines.scenes import draw_scene_predictions, segment_classical


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    out = tmp_path_factory.mktemp("scenes") / "s"
    make_scenes(out, SceneConfig(n=160, canvas=32, max_scale=3, max_objects=2), seed=0)
    return out


@pytest.mark.parametrize("method", ["otsu", "watershed"])
def test_the_classical_pipeline_beats_all_background_and_is_deterministic(scenes, method):
    config = ClassicalConfig(method=method)
    result = segment_classical(scenes, config)
    again = segment_classical(scenes, config)
    test = load_dataset(f"scenes:{scenes}").split("test")["semantic"].numpy()
    background = mean_iou(confusion_counts(np.zeros_like(test), test, 11))["miou"]
    assert result["num_scenes"] == 40
    assert result["miou"] > background + 0.05
    assert result["map_50"] > 0.05 and result["mask_map_50"] > 0.05
    for key in ("miou", "map", "map_50", "mask_map", "iou", "train_objects"):
        assert result[key] == again[key]


def test_the_classical_picture_is_a_png_grid_of_sixteen_enlarged_scenes(scenes, tmp_path):
    result = segment_classical(scenes, picture=tmp_path / "objects.png")
    with Image.open(io.BytesIO((tmp_path / "objects.png").read_bytes())) as picture:
        assert picture.format == "PNG" and picture.mode == "RGB"
        assert picture.size == (4 * (128 + 4) + 4, 4 * (128 + 4) + 4)  # 4x4 scenes of 32 px, enlarged 4x
    assert result["picture"] == str(tmp_path / "objects.png")


def test_a_missing_scenes_folder_is_one_data_error_and_writes_nothing(tmp_path):
    with pytest.raises(DataError, match="genforge data make scenes"):
        segment_classical(tmp_path / "missing", picture=tmp_path / "never.png")
    assert not (tmp_path / "never.png").exists()


@pytest.mark.parametrize(("family", "options"), [("detector", {}), ("segmenter", {"task": "instance"})])
def test_a_scene_model_draws_what_it_found_on_test_scenes(scenes, tmp_path, family, options):
    dataset = load_dataset(f"scenes:{scenes}")
    torch.manual_seed(0)
    model = build_model(family, {"width": 4, **options}, dataset.info).eval()
    if (
        family == "segmenter"
    ):  # untrained, the factored head calls nothing foreground: make it call everything
        with torch.no_grad():
            model.head.bias[0] = 20.0
    path = draw_scene_predictions(model, dataset, tmp_path / f"{family}.png", n=6)
    with Image.open(path) as picture:
        assert picture.format == "PNG" and picture.size == (4 * 132 + 4, 2 * 132 + 4)
        pixels = np.asarray(picture)
    assert (pixels[..., 0] != pixels[..., 1]).any()  # coloured boxes or masks on grey scenes
