"""Detection and segmentation figures: COCO's mAP@0.5 and mAP@[.5:.95] for boxes, IoU and mIoU for masks.

Written here, in NumPy, rather than taken from pycocotools (a C extension and a COCO-JSON round trip for
every call) or torchmetrics (its mAP needs torchvision, which does not import here). It follows
``COCOeval`` for boxes exactly, for the "all" area range and up to ``max_detections`` per image:

- per image and category, detections by descending score (stable), cut to ``max_detections``; each is
  matched greedily to the unmatched ground-truth box of highest IoU at least the threshold (IoU of
  ``[x, y, w, h]`` boxes without COCO's legacy +1);
- per category, detections of all images by descending score (stable mergesort), cumulative true and
  false positives, precision made monotone from the right, and read at 101 recall thresholds
  0, 0.01 … 1 (the first point whose recall reaches each threshold; 0 beyond the last);
- a category without ground truth is left out; mAP is the mean over categories and IoU thresholds
  (0.5, 0.55 … 0.95 for ``map``, 0.5 alone for ``map_50``).

``iou="mask"`` is COCO's ``segm`` evaluation: the same matching and precision with the IoU of the
instance masks (pixel sets) in place of the boxes'.

``tests/golden/detection_map.json`` holds pycocotools' figures on random boxes (made by
``tests/golden/make_detection_goldens.py``) that :func:`mean_average_precision` matches to 1e-6.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)
RECALL_THRESHOLDS = np.linspace(0.0, 1.0, 101)


@dataclass
class ImageBoxes:
    """Boxes of one image: ``boxes`` (N, 4) as ``[x, y, w, h]``, ``labels`` (N,), ``scores`` (N,) for
    detections (None for ground truth), and ``masks`` (N, H, W) bool for instance masks (mask mAP)."""

    boxes: np.ndarray
    labels: np.ndarray
    scores: np.ndarray | None = None
    masks: np.ndarray | None = None


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU (N, M) of ``[x, y, w, h]`` boxes ``a`` (N, 4) and ``b`` (M, 4)."""
    a, b = np.asarray(a, dtype=np.float64).reshape(-1, 4), np.asarray(b, dtype=np.float64).reshape(-1, 4)
    ax1, ay1 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx1, by1 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    w = np.minimum(ax1[:, None], bx1[None]) - np.maximum(a[:, None, 0], b[None, :, 0])
    h = np.minimum(ay1[:, None], by1[None]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.clip(w, 0, None) * np.clip(h, 0, None)
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def mask_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU (N, M) of boolean masks ``a`` (N, H, W) and ``b`` (M, H, W)."""
    a = np.asarray(a, dtype=bool).reshape(len(a), -1).astype(np.float64)
    b = np.asarray(b, dtype=bool).reshape(len(b), -1).astype(np.float64)
    inter = a @ b.T
    union = a.sum(1)[:, None] + b.sum(1)[None] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def _match(ious: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """(T, D) bool: detection d (in score order, rows of ``ious`` (D, G)) matched a ground-truth object
    at threshold t."""
    num_det, num_gt = ious.shape
    matched = np.zeros((len(thresholds), num_det), dtype=bool)
    for ti, threshold in enumerate(thresholds):
        taken = np.zeros(num_gt, dtype=bool)
        for d in range(num_det):
            best, best_iou = -1, min(threshold, 1 - 1e-10)
            for g in range(num_gt):
                if taken[g] or ious[d, g] < best_iou:
                    continue
                best, best_iou = g, ious[d, g]
            if best >= 0:
                taken[best] = True
                matched[ti, d] = True
    return matched


def _ious(det: ImageBoxes, gt: ImageBoxes, det_rows: np.ndarray, gt_rows: np.ndarray, iou: str) -> np.ndarray:
    """IoU (D, G) of the chosen detections and ground-truth objects of one image, by box or by mask."""
    if iou == "mask":
        if len(det_rows) == 0 or len(gt_rows) == 0:
            return np.zeros((len(det_rows), len(gt_rows)))
        return mask_iou(np.asarray(det.masks)[det_rows], np.asarray(gt.masks)[gt_rows])
    det_boxes = np.asarray(det.boxes, dtype=np.float64).reshape(-1, 4)[det_rows]
    return box_iou(det_boxes, np.asarray(gt.boxes, dtype=np.float64).reshape(-1, 4)[gt_rows])


def _precision_at_recalls(scores: np.ndarray, hits: np.ndarray, num_gt: int) -> np.ndarray:
    """(T, R) interpolated precision of one category at the recall thresholds."""
    order = np.argsort(-scores, kind="mergesort")
    out = np.zeros((hits.shape[0], len(RECALL_THRESHOLDS)))
    for ti in range(hits.shape[0]):
        tp = np.cumsum(hits[ti, order]).astype(np.float64)
        fp = np.cumsum(~hits[ti, order]).astype(np.float64)
        recall = tp / num_gt
        precision = tp / (fp + tp + np.spacing(1))
        precision = np.maximum.accumulate(precision[::-1])[::-1] if len(precision) else precision
        idx = np.searchsorted(recall, RECALL_THRESHOLDS, side="left")
        valid = idx < len(precision)
        out[ti, valid] = precision[idx[valid]]
    return out


def mean_average_precision(
    detections: Sequence[ImageBoxes],
    ground_truth: Sequence[ImageBoxes],
    *,
    max_detections: int = 100,
    iou_thresholds: np.ndarray = IOU_THRESHOLDS,
    iou: str = "box",
) -> dict[str, float]:
    """COCO box mAP (``iou="box"``) or mask mAP (``iou="mask"``: every entry carries ``masks``) of
    ``detections`` against ``ground_truth`` (one entry per image, same order):
    ``{"map": mAP@[.5:.95], "map_50": mAP@0.5, "map_75": mAP@0.75, "num_categories": C}`` (see module)."""
    if len(detections) != len(ground_truth):
        raise ValueError(f"{len(detections)} detection lists for {len(ground_truth)} images")
    if iou not in ("box", "mask"):
        raise ValueError(f"iou must be 'box' or 'mask', got {iou!r}")
    thresholds = np.asarray(iou_thresholds, dtype=np.float64)
    categories = sorted({int(c) for gt in ground_truth for c in np.asarray(gt.labels).ravel()})
    per_category = []
    for category in categories:
        scores, hits, num_gt = [], [], 0
        for det, gt in zip(detections, ground_truth, strict=True):
            theirs = np.asarray(gt.labels) == category
            num_gt += int(theirs.sum())
            mine = np.asarray(det.labels) == category
            det_scores = np.asarray(det.scores, dtype=np.float64)[mine]
            order = np.flatnonzero(mine)[np.argsort(-det_scores, kind="mergesort")[:max_detections]]
            scores.append(np.asarray(det.scores, dtype=np.float64)[order])
            hits.append(_match(_ious(det, gt, order, np.flatnonzero(theirs), iou), thresholds))
        per_category.append(
            _precision_at_recalls(np.concatenate(scores), np.concatenate(hits, axis=1), num_gt)
        )
    if not per_category:
        return {"map": float("nan"), "map_50": float("nan"), "map_75": float("nan"), "num_categories": 0}
    precision = np.stack(per_category)  # (C, T, R)

    def at(value: float) -> float:
        rows = np.isclose(thresholds, value)
        return float(precision[:, rows].mean()) if rows.any() else float("nan")

    return {
        "map": float(precision.mean()),
        "map_50": at(0.5),
        "map_75": at(0.75),
        "num_categories": len(categories),
    }


def confusion_counts(pred: np.ndarray, target: np.ndarray, num_classes: int) -> np.ndarray:
    """(num_classes, num_classes) pixel counts, rows = target class, columns = predicted class."""
    pred, target = np.asarray(pred).ravel().astype(np.int64), np.asarray(target).ravel().astype(np.int64)
    return np.bincount(target * num_classes + pred, minlength=num_classes**2).reshape(
        num_classes, num_classes
    )


def mean_iou(confusion: np.ndarray) -> dict[str, object]:
    """Per-class IoU ``TP / (TP + FP + FN)`` from a confusion matrix, and their mean over the classes
    that occur (in the target or the prediction)."""
    confusion = np.asarray(confusion, dtype=np.float64)
    tp = np.diag(confusion)
    union = confusion.sum(0) + confusion.sum(1) - tp
    present = union > 0
    iou = np.where(present, tp / np.where(present, union, 1), np.nan)
    return {"miou": float(np.nanmean(iou)) if present.any() else float("nan"), "iou": iou.tolist()}
