"""Detection and segmentation figures of a scene run on a split: COCO mAP for a detector, IoU/mIoU for a
segmenter (what ``genforge eval`` reports for these families, ``--metrics map,miou``), and the same
figures for the classical scikit-image baseline (``genforge segment classical``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genforge.core.paths import check_output_file
from genforge.data import Dataset, load_dataset
from genforge.metrics.detection import ImageBoxes, confusion_counts, mean_average_precision, mean_iou
from genforge.models.classical_scenes import ClassicalConfig, ClassicalSegmenter
from genforge.render.images import image_format
from genforge.render.scenes import save_scene_picture

SCENE_METRICS = ("map", "miou")  # computed by the family itself, never from samples
PICTURE_SCENES = 16  # scenes drawn in a picture of what a model found


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
            detections += [_objects(found) for found in model.detect(batch["x"])]
            truth += ground_truth_boxes(batch["boxes"])
        result = mean_average_precision(detections, truth)
        return {"map": result["map"], "map_50": result["map_50"], "map_75": result["map_75"]}
    if model.has("segment"):
        confusion = np.zeros((model.num_outputs, model.num_outputs), dtype=np.int64)
        found, truth = [], []
        for batch in dataset.batches(split, batch_size):
            confusion += confusion_counts(
                model.segment(batch["x"]).numpy(), batch["semantic"].numpy(), model.num_outputs
            )
            if getattr(model, "task", "semantic") == "instance":
                found += [_objects(item) for item in model.instances(batch["x"])]
                truth += [
                    ground_truth_objects(boxes, semantic, instances)
                    for boxes, semantic, instances in zip(
                        batch["boxes"], batch["semantic"].numpy(), batch["instances"].numpy(), strict=True
                    )
                ]
        figures = mean_iou(confusion)
        if found:
            masks = mean_average_precision(found, truth, iou="mask")
            figures.update(
                {"mask_map": masks["map"], "mask_map_50": masks["map_50"], "mask_map_75": masks["map_75"]}
            )
        return figures
    return {}


def _objects(found: dict[str, torch.Tensor]) -> ImageBoxes:
    """A model's detections or instances (tensors) as :class:`ImageBoxes`."""
    masks = found.get("masks")
    return ImageBoxes(
        found["boxes"].double().numpy(),
        found["labels"].numpy(),
        found["scores"].double().numpy(),
        None if masks is None else masks.numpy(),
    )


@torch.no_grad()
def draw_scene_predictions(
    model: Any, dataset: Dataset, path: str | Path, n: int = PICTURE_SCENES, split: str = "test"
) -> Path:
    """The first ``n`` scenes of ``split`` with a detector's boxes (digit and score, those >= 0.3) or a
    segmenter's classes laid over them, written to ``path`` (what ``genforge sample`` draws for them)."""
    images = dataset.split(split)["x"][:n]
    if model.has("detect"):
        found = [
            ImageBoxes(d["boxes"].numpy(), d["labels"].numpy(), d["scores"].numpy())
            for d in model.detect(images)
        ]
        return save_scene_picture(images, path, detections=found)
    return save_scene_picture(images, path, semantic=list(model.segment(images)))


def segment_classical(
    scenes: str | Path,
    config: ClassicalConfig | None = None,
    *,
    split: str = "test",
    picture: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """The scikit-image baseline on the scenes folder ``scenes``: fit its classifier on the training
    split, segment ``split`` and score it like the networks (mIoU, box and mask mAP); optionally draw
    the first :data:`PICTURE_SCENES` scenes with their objects to ``picture`` (.png). Deterministic: no random draw."""
    config = config or ClassicalConfig()
    if picture is not None:
        picture = check_output_file(picture)
        image_format(picture)
    dataset = load_dataset(f"scenes:{scenes}")
    train = dataset.split("train")
    start = time.perf_counter()
    model = ClassicalSegmenter(config).fit(
        train["x"][:, 0].numpy(), train["semantic"].numpy(), train["instances"].numpy()
    )
    fit_seconds = time.perf_counter() - start
    data = dataset.split(split)
    images, semantic, instances = data["x"][:, 0].numpy(), data["semantic"].numpy(), data["instances"].numpy()
    num_outputs = 1 + (dataset.info.num_classes or 0)
    confusion = np.zeros((num_outputs, num_outputs), dtype=np.int64)
    found, truth, drawn = [], [], []
    start = time.perf_counter()
    for i, image in enumerate(images):
        out = model.predict(image)
        confusion += confusion_counts(out["semantic"], semantic[i], num_outputs)
        if picture is not None and i < PICTURE_SCENES:
            drawn.append(torch.from_numpy(out["semantic"]))
        found.append(ImageBoxes(out["boxes"], out["labels"], out["scores"], out["masks"]))
        truth.append(ground_truth_objects(data["boxes"][i], semantic[i], instances[i]))
        if progress is not None:
            progress(i + 1, len(images))
    seconds = time.perf_counter() - start
    boxes = mean_average_precision(found, truth)
    masks = mean_average_precision(found, truth, iou="mask")
    result: dict[str, Any] = {
        "method": config.method,
        "scenes": str(scenes),
        "split": split,
        "num_scenes": len(images),
        **mean_iou(confusion),
        "map": boxes["map"],
        "map_50": boxes["map_50"],
        "map_75": boxes["map_75"],
        "mask_map": masks["map"],
        "mask_map_50": masks["map_50"],
        "mask_map_75": masks["map_75"],
        "train_objects": model.train_objects_,
        "fit_seconds": fit_seconds,
        "scenes_per_second": len(images) / max(seconds, 1e-9),
        "config": config.model_dump(),
    }
    if picture is not None:
        count = len(drawn)
        result["picture"] = str(
            save_scene_picture(
                data["x"][:count], picture, detections=found[:count], semantic=drawn, min_score=0
            )
        )
    return result


def ground_truth_objects(boxes: torch.Tensor, semantic: np.ndarray, instances: np.ndarray) -> ImageBoxes:
    """One scene's ground truth with instance masks: ``boxes`` rows ``[label, x, y, w, h]`` (label -1
    pads) and the instance mask, whose object ``k + 1`` is row ``k``."""
    rows = boxes.numpy()
    rows = rows[rows[:, 0] >= 0]
    masks = np.stack([instances == k + 1 for k in range(len(rows))]) if len(rows) else None
    return ImageBoxes(rows[:, 1:5].astype(np.float64), rows[:, 0].astype(np.int64), masks=masks)
