"""Detection and segmentation figures of a scene run on a split: COCO mAP for a detector, IoU/mIoU for a
segmenter (what ``genforge eval`` reports for these families, ``--metrics map,miou``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from genforge.data import Dataset
from genforge.metrics.detection import ImageBoxes, confusion_counts, mean_average_precision, mean_iou

SCENE_METRICS = ("map", "miou")  # computed by the family itself, never from samples


def ground_truth_boxes(boxes: torch.Tensor) -> list[ImageBoxes]:
    """Padded rows ``[label, x, y, w, h]`` (label -1 pads) -> one :class:`ImageBoxes` per image."""
    out = []
    for rows in boxes.numpy():
        real = rows[rows[:, 0] >= 0]
        out.append(ImageBoxes(real[:, 1:5].astype(np.float64), real[:, 0].astype(np.int64)))
    return out


@torch.no_grad()
def scene_figures(model: Any, dataset: Dataset, split: str = "test", batch_size: int = 64) -> dict[str, Any]:
    """mAP (detector: ``detect``) or mIoU (segmenter: ``segment``) on ``split``; {} for other models."""
    if model.has("detect"):
        detections, truth = [], []
        for batch in dataset.batches(split, batch_size):
            for found in model.detect(batch["x"]):
                detections.append(
                    ImageBoxes(
                        found["boxes"].double().numpy(),
                        found["labels"].numpy(),
                        found["scores"].double().numpy(),
                    )
                )
            truth += ground_truth_boxes(batch["boxes"])
        result = mean_average_precision(detections, truth)
        return {"map": result["map"], "map_50": result["map_50"], "map_75": result["map_75"]}
    if model.has("segment"):
        confusion = np.zeros((model.num_outputs, model.num_outputs), dtype=np.int64)
        for batch in dataset.batches(split, batch_size):
            confusion += confusion_counts(
                model.segment(batch["x"]).numpy(), batch["semantic"].numpy(), model.num_outputs
            )
        return mean_iou(confusion)
    return {}
