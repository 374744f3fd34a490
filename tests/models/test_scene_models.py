"""The scene detector (centre heatmaps + sizes) and segmenter (per-pixel classes): targets, learning on
tiny scenes, decoding, figures on the test split and wrong data as one clear error."""

import pytest
import torch

from genforge.core.errors import ConfigError
from genforge.data import load_dataset
from genforge.data.scenes import SceneConfig, make_scenes
from genforge.models.base import build_model
from genforge.pipelines.scenes import scene_figures


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    out = tmp_path_factory.mktemp("scenes") / "s"
    make_scenes(out, SceneConfig(n=40, canvas=32, max_scale=3, max_objects=2), seed=0)
    return load_dataset(f"scenes:{out}")


def test_heatmap_target_peaks_at_the_box_centre_with_its_size(scenes):
    model = build_model("detector", {"width": 4}, scenes.info)
    boxes = torch.tensor([[[7, 4, 6, 10, 8], [-1, -1, -1, -1, -1]]], dtype=torch.float32)
    heat, centres = model.targets(boxes, 32, 32)
    assert heat.shape == (1, 10, 32, 32)
    assert float(heat[0, 7, 10, 9]) == 1.0  # centre (9, 10): x + w/2, y + h/2
    assert (heat == 1).sum() == 1 and float(heat[0, :7].max()) == 0.0
    assert centres.tolist() == [[0, 10, 9, 10, 8, 0.0, 0.0]]


@pytest.mark.parametrize("family", ["detector", "segmenter"])
def test_a_few_steps_lower_the_loss_and_figures_come_out(family, scenes):
    torch.manual_seed(0)
    model = build_model(family, {"width": 8}, scenes.info)
    batch = {k: v[:16] for k, v in scenes.split("train").items()}
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = float(model.loss(batch)["loss"].detach())
    for _ in range(15):
        opt.zero_grad()
        model.loss(batch)["loss"].backward()
        opt.step()
    assert float(model.loss(batch)["loss"].detach()) < first
    model.eval()
    figures = scene_figures(model, scenes, "test")
    keys = {"map", "map_50", "map_75"} if family == "detector" else {"miou", "iou"}
    assert set(figures) == keys
    value = figures["map"] if family == "detector" else figures["miou"]
    assert 0.0 <= value <= 1.0


def test_detections_are_boxes_with_classes_and_descending_scores(scenes):
    model = build_model("detector", {"width": 4, "max_detections": 7}, scenes.info).eval()
    found = model.detect(scenes.split("test")["x"][:2])
    assert len(found) == 2
    for item in found:
        assert item["boxes"].shape == (7, 4) and item["labels"].shape == (7,)
        assert torch.all(item["scores"][:-1] >= item["scores"][1:])
        assert torch.all(item["boxes"][:, 2:] >= 1)


@pytest.mark.parametrize("family", ["detector", "segmenter"])
def test_scene_models_refuse_other_data(family):
    with pytest.raises(ConfigError, match="--data scenes:DIR"):
        build_model(family, {}, load_dataset("digits").info)
