"""COCO box mAP equal to pycocotools' COCOeval (golden file) and IoU/mIoU on hand-made cases."""

import json
from pathlib import Path

import numpy as np
import pytest

from genforge.metrics.detection import (
    ImageBoxes,
    box_iou,
    confusion_counts,
    mask_iou,
    mean_average_precision,
    mean_iou,
)

GOLDEN = json.loads((Path(__file__).parents[1] / "golden" / "detection_map.json").read_text())


@pytest.mark.parametrize("index", range(len(GOLDEN["cases"])))
def test_map_equals_pycocotools_cocoeval(index):
    case = GOLDEN["cases"][index]
    gts = [ImageBoxes(np.array(im["gt_boxes"]), np.array(im["gt_labels"])) for im in case["images"]]
    dets = [
        ImageBoxes(np.array(im["det_boxes"]), np.array(im["det_labels"]), np.array(im["det_scores"]))
        for im in case["images"]
    ]
    ours = mean_average_precision(dets, gts)
    for key, value in case["pycocotools"].items():
        assert ours[key] == pytest.approx(value, abs=1e-6), key


def test_perfect_detections_score_one_and_a_shifted_box_only_at_low_thresholds():
    gt = [ImageBoxes(np.array([[0, 0, 10, 10], [20, 20, 10, 10]]), np.array([1, 2]))]
    perfect = [ImageBoxes(gt[0].boxes, gt[0].labels, np.array([0.9, 0.8]))]
    assert mean_average_precision(perfect, gt)["map"] == pytest.approx(1.0)
    shifted = [
        ImageBoxes(np.array([[2, 0, 10, 10], [20, 20, 10, 10]]), np.array([1, 2]), np.array([0.9, 0.8]))
    ]
    result = mean_average_precision(shifted, gt)  # IoU 80/120 = 0.667: a hit up to threshold 0.65
    assert result["map_50"] == pytest.approx(1.0)
    assert result["map"] == pytest.approx((1.0 + 4 / 10) / 2)


def test_box_iou_and_miou_by_hand():
    assert box_iou(np.array([[0, 0, 2, 2]]), np.array([[1, 1, 2, 2], [5, 5, 1, 1]])).tolist() == [
        [1 / 7, 0.0]
    ]
    target = np.array([[0, 0, 1, 1], [0, 0, 2, 2]])
    pred = np.array([[0, 0, 1, 2], [0, 0, 2, 2]])
    confusion = confusion_counts(pred, target, 3)
    result = mean_iou(confusion)
    assert result["iou"] == [1.0, pytest.approx(1 / 2), pytest.approx(2 / 3)]
    assert result["miou"] == pytest.approx((1 + 1 / 2 + 2 / 3) / 3)


def _filled(boxes: np.ndarray, side: int = 48) -> np.ndarray:
    masks = np.zeros((len(boxes), side, side), dtype=bool)
    for mask, (x, y, w, h) in zip(masks, boxes.astype(int), strict=True):
        mask[y : y + h, x : x + w] = True
    return masks


@pytest.mark.parametrize("seed", range(4))
def test_mask_map_of_filled_whole_pixel_boxes_equals_their_box_map(seed):
    """A box with whole-pixel corners and its filled mask have the same IoU with any other such pair, so
    mask mAP (COCO's segm evaluation) must equal box mAP on them."""
    rng = np.random.default_rng(seed)
    images = []
    for _ in range(6):
        gt = np.column_stack([rng.integers(0, 24, (3, 2)), rng.integers(4, 20, (3, 2))]).astype(np.float64)
        det = np.clip(gt + rng.integers(-3, 4, gt.shape), [0, 0, 1, 1], None)
        det = np.vstack([det, [[30, 30, 8, 8]]])  # a false detection
        images.append((gt, det, rng.integers(0, 3, 3), rng.integers(0, 3, 4), rng.random(4)))
    gts = [ImageBoxes(gt, labels, masks=_filled(gt)) for gt, _, labels, _, _ in images]
    dets = [ImageBoxes(det, labels, scores, _filled(det)) for _, det, _, labels, scores in images]
    boxes, masks = mean_average_precision(dets, gts), mean_average_precision(dets, gts, iou="mask")
    for key in ("map", "map_50", "map_75"):
        assert masks[key] == pytest.approx(boxes[key], abs=1e-12), key


def test_mask_iou_by_hand():
    a = np.zeros((1, 4, 4), dtype=bool)
    a[0, :2] = True  # 8 pixels
    b = np.zeros((2, 4, 4), dtype=bool)
    b[0, 1:3] = True  # 8 pixels, 4 shared
    np.testing.assert_allclose(mask_iou(a, b), [[4 / 12, 0.0]])
