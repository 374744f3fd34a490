"""The scene detector (centre heatmaps + sizes) and segmenter (per-pixel classes): targets, learning on
tiny scenes, decoding, figures on the test split and wrong data as one clear error."""

import pytest
import torch
from torch import nn

from genforge.core.errors import ConfigError
from genforge.data import load_dataset
from genforge.data.scenes import SceneConfig, make_scenes
from genforge.models.base import build_model
from genforge.models.segmenter import component_vote, instance_targets
from genforge.pipelines.scenes import scene_figures


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    out = tmp_path_factory.mktemp("scenes") / "s"
    make_scenes(out, SceneConfig(n=40, canvas=32, max_scale=3, max_objects=2), seed=0)
    return load_dataset(f"scenes:{out}")


@pytest.mark.parametrize(
    ("stride", "centre"),
    [(1, [0, 10, 9, 10, 8, 0.0, 0.0]), (4, [0, 2, 2, 2.5, 2, 0.25, 0.5])],
)
def test_heatmap_target_peaks_at_the_box_centre_with_its_size_in_grid_units(scenes, stride, centre):
    model = build_model("detector", {"width": 4, "output_stride": stride}, scenes.info)
    boxes = torch.tensor([[[7, 4, 6, 10, 8], [-1, -1, -1, -1, -1]]], dtype=torch.float32)
    side = 32 // stride
    heat, centres = model.targets(boxes, side, side)
    assert heat.shape == (1, 10, side, side)
    # centre (9, 10) in pixels: x + w/2, y + h/2; cell (2, 2) with offset (0.25, 0.5) at stride 4
    assert float(heat[0, 7, centre[1], centre[2]]) == 1.0
    assert (heat == 1).sum() == 1 and float(heat[0, :7].max()) == 0.0
    assert centres.tolist() == [centre]


def test_the_detector_heads_run_at_its_output_stride(scenes):
    x = scenes.split("test")["x"][:2]
    for stride in (1, 2, 4):
        model = build_model("detector", {"width": 4, "output_stride": stride}, scenes.info)
        logits, size, offset = model.heads(x)
        assert logits.shape == (2, 10, 32 // stride, 32 // stride)
        assert size.shape == offset.shape == (2, 2, 32 // stride, 32 // stride)


@pytest.mark.parametrize(
    ("family", "task"), [("detector", None), ("segmenter", "semantic"), ("segmenter", "instance")]
)
def test_a_few_steps_lower_the_loss_and_figures_come_out(family, task, scenes):
    torch.manual_seed(0)
    model = build_model(family, {"width": 8, **({"task": task} if task else {})}, scenes.info)
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
    if task == "instance":
        keys |= {"mask_map", "mask_map_50", "mask_map_75"}
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


def test_instance_targets_point_every_digit_pixel_at_its_box_centre(scenes):
    batch = scenes.split("train")
    heat, vectors, owned = instance_targets(batch["boxes"][:4], batch["instances"][:4])
    ys, xs = torch.meshgrid(torch.arange(32), torch.arange(32), indexing="ij")
    for i in range(4):
        for k, (label, x, y, w, h) in enumerate(batch["boxes"][i].tolist()):
            if label < 0:
                continue
            mask = batch["instances"][i] == k + 1
            px, py = int(x + w / 2), int(y + h / 2)
            assert float(heat[i, 0, py, px]) == 1.0
            assert torch.equal(xs[mask] + vectors[i, 0][mask].long(), torch.full_like(xs[mask], px))
            assert torch.equal(ys[mask] + vectors[i, 1][mask].long(), torch.full_like(ys[mask], py))
    assert torch.equal(owned.bool(), batch["instances"][:4] > 0)


def test_instances_are_disjoint_masks_of_foreground_pixels(scenes):
    torch.manual_seed(0)
    model = build_model("segmenter", {"width": 4, "task": "instance", "min_centre": 0.05}, scenes.info).eval()
    x = scenes.split("test")["x"][:4]
    classes = model.segment(x)
    for found, pixels in zip(model.instances(x), classes, strict=True):
        masks = found["masks"]
        assert masks.shape[1:] == (32, 32) and len(found["labels"]) == len(found["scores"]) == len(masks)
        if len(masks):
            assert int(masks.sum(0).max()) <= 1
            assert torch.all(pixels[masks.any(0)] > 0)


def test_a_semantic_segmenter_has_no_instances(scenes):
    model = build_model("segmenter", {"width": 4}, scenes.info)
    with pytest.raises(ConfigError, match="--task instance"):
        model.instances(scenes.split("test")["x"][:1])


def test_the_component_vote_gives_each_connected_digit_one_class():
    probability = torch.zeros(1, 4, 6, 8)
    probability[0, 0] = 1.0  # background everywhere but two blobs
    left = (slice(1, 4), slice(0, 3))
    probability[0, 0][left] = 0.0
    probability[0, 1][left] = 0.6  # class 1 leads on most of the blob
    probability[0, 2][left] = 0.4
    probability[0, 1, 1, 0], probability[0, 2, 1, 0] = 0.1, 0.9  # one pixel prefers class 2
    right = (slice(2, 5), slice(5, 7))  # not 8-connected to the left blob
    probability[0, 0][right] = 0.2
    probability[0, 3][right] = 0.8
    classes = component_vote(probability)
    assert classes[0, 1, 0] == 1 and torch.all(classes[0][left] == 1)
    assert torch.all(classes[0][right] == 3)
    background = torch.ones(6, 8, dtype=torch.bool)
    background[left] = background[right] = False
    assert torch.all(classes[0][background] == 0)


def test_a_three_level_segmenter_keeps_full_resolution_and_needs_a_canvas_divisible_by_8(scenes, tmp_path):
    model = build_model("segmenter", {"width": 4, "depth": 3}, scenes.info)
    assert model.logits(scenes.split("test")["x"][:2]).shape == (2, 11, 32, 32)
    out = tmp_path / "s36"
    make_scenes(out, SceneConfig(n=8, canvas=36, max_scale=2, max_objects=1), seed=0)
    info = load_dataset(f"scenes:{out}").info
    with pytest.raises(ConfigError, match="divisible by 8"):
        build_model("segmenter", {"width": 4, "depth": 3}, info)
    assert build_model("segmenter", {"width": 4, "depth": 2}, info).trunk.depth == 2


def test_giou_loss_is_zero_for_the_same_box_and_follows_its_definition():
    from genforge.models.detector import giou_loss

    boxes = torch.tensor([[1.0, 1.0, 2.0, 2.0], [0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 2.0, 2.0]])
    others = torch.tensor([[1.0, 1.0, 2.0, 2.0], [1.0, 0.0, 2.0, 2.0], [3.0, 0.0, 2.0, 2.0]])
    loss = giou_loss(boxes, others)
    # half overlap: IoU 2/6, hull 3x2 = union; apart by a gap of 1: IoU 0, hull 5x2 = 10, union 8
    assert torch.allclose(loss, torch.tensor([0.0, 1 - 2 / 6, 1 + (10 - 8) / 10]))


def test_the_giou_term_joins_the_detector_loss_when_weighted(scenes):
    batch = {k: v[:4] for k, v in scenes.split("train").items()}
    torch.manual_seed(0)
    plain = build_model("detector", {"width": 4}, scenes.info)
    torch.manual_seed(0)
    weighted = build_model("detector", {"width": 4, "giou_weight": 2.0}, scenes.info)
    a, b = plain.loss(batch), weighted.loss(batch)
    assert "giou" not in a and float(b["giou"]) > 0
    assert torch.allclose(b["loss"], a["loss"] + 2.0 * b["giou"])


def test_the_factored_head_gives_probabilities_and_weighs_digit_pixels_on_their_own(scenes):
    model = build_model("segmenter", {"width": 4, "head": "factored"}, scenes.info)
    torch.manual_seed(0)
    raw = torch.randn(2, 11, 32, 32)
    assert torch.allclose(model.log_probabilities(raw).exp().sum(1), torch.ones(2, 32, 32), atol=1e-5)
    semantic = torch.zeros(2, 32, 32, dtype=torch.long)
    semantic[0, :4, :4] = 3
    expected = nn.functional.binary_cross_entropy_with_logits(
        raw[:, 0], (semantic > 0).float()
    ) + nn.functional.cross_entropy(raw[0, 1:, :4, :4].reshape(10, -1).T, torch.full((16,), 2))
    assert torch.allclose(model.pixel_loss(raw, semantic), expected)
    joint = build_model("segmenter", {"width": 4, "head": "joint"}, scenes.info)
    assert torch.allclose(joint.pixel_loss(raw, semantic), nn.functional.cross_entropy(raw, semantic))
