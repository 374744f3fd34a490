"""Freeze pycocotools' COCOeval box mAP on random scenes into tests/golden/detection_map.json.

    .venv/bin/pip install 'genforge[advanced-bench]'   # pycocotools, never a dependency of the library
    .venv/bin/python tests/golden/make_detection_goldens.py

Each case is a set of images with ground-truth boxes of a few categories and scored detections near
them (jittered copies, misses, duplicates, false alarms, ties in score). tests/metrics/test_detection.py
recomputes mAP@[.5:.95], mAP@0.5 and mAP@0.75 with genforge.metrics.detection and compares to 1e-6.
"""

from __future__ import annotations

import contextlib
import io
import json
from importlib.metadata import version
from pathlib import Path

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

HERE = Path(__file__).resolve().parent


def random_case(rng: np.random.Generator, num_images: int, num_categories: int, jitter: float) -> dict:
    images = []
    for _ in range(num_images):
        n = int(rng.integers(0, 6))
        xy = rng.uniform(0, 48, size=(n, 2))
        wh = rng.uniform(4, 16, size=(n, 2))
        gt = np.round(np.concatenate([xy, wh], 1), 2)
        labels = rng.integers(1, num_categories + 1, size=n)
        det_boxes, det_labels, det_scores = [], [], []
        for box, label in zip(gt, labels, strict=True):
            for _ in range(int(rng.integers(0, 3))):  # misses (0) and duplicates (2)
                moved = box + rng.normal(0, jitter, size=4) * np.array([1, 1, 0.5, 0.5])
                moved[2:] = np.clip(moved[2:], 1, None)
                det_boxes.append(moved)
                det_labels.append(label if rng.uniform() > 0.1 else rng.integers(1, num_categories + 1))
                det_scores.append(rng.choice([0.9, 0.5, rng.uniform()]))  # some tied scores
        for _ in range(int(rng.integers(0, 3))):  # false alarms
            det_boxes.append(np.concatenate([rng.uniform(0, 48, 2), rng.uniform(4, 16, 2)]))
            det_labels.append(rng.integers(1, num_categories + 1))
            det_scores.append(rng.uniform())
        images.append(
            {
                "gt_boxes": gt.tolist(),
                "gt_labels": labels.tolist(),
                "det_boxes": np.round(np.array(det_boxes).reshape(-1, 4), 3).tolist(),
                "det_labels": [int(v) for v in det_labels],
                "det_scores": [round(float(v), 4) for v in det_scores],
            }
        )
    return {"num_categories": num_categories, "images": images}


def coco_map(case: dict) -> dict:
    gt = {"images": [], "annotations": [], "categories": []}
    gt["categories"] = [{"id": c} for c in range(1, case["num_categories"] + 1)]
    dets = []
    for i, image in enumerate(case["images"]):
        gt["images"].append({"id": i + 1, "width": 64, "height": 64})
        for box, label in zip(image["gt_boxes"], image["gt_labels"], strict=True):
            gt["annotations"].append(
                {"id": len(gt["annotations"]) + 1, "image_id": i + 1, "category_id": label,
                 "bbox": box, "area": box[2] * box[3], "iscrowd": 0}
            )  # fmt: skip
        for box, label, score in zip(
            image["det_boxes"], image["det_labels"], image["det_scores"], strict=True
        ):
            dets.append({"image_id": i + 1, "category_id": label, "bbox": box, "score": score})
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = gt
        coco.createIndex()
        evaluator = COCOeval(coco, coco.loadRes(dets), "bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return {"map": evaluator.stats[0], "map_50": evaluator.stats[1], "map_75": evaluator.stats[2]}


def main() -> None:
    rng = np.random.default_rng(0)
    cases = []
    for num_images, num_categories, jitter in ((5, 2, 1.5), (20, 3, 0.3), (40, 10, 1.5), (60, 5, 0.5)):
        case = random_case(rng, num_images, num_categories, jitter)
        case["pycocotools"] = coco_map(case)
        cases.append(case)
    out = {"pycocotools_version": version("pycocotools"), "cases": cases}
    (HERE / "detection_map.json").write_text(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
