"""Synthetic detection/segmentation scenes: digits pasted on a canvas, with exact boxes, labels and masks.

:func:`make_scenes` (``genforge data make scenes``) draws ``n`` grey canvases; on each it pastes 1 to
``max_objects`` scikit-learn digits, each scaled by a whole factor (2 to ``max_scale``, nearest
neighbour), at a random place, in order, so a later digit hides what it overlaps of an earlier one
(occlusion). It adds clutter (short random strokes at low intensity, never part of an object) and
Gaussian pixel noise. Ground truth is computed after pasting from what is visible: a digit's mask is
its pixels at level >= 1/4 of the maximum that no later digit covers; its box is the tight box of that
mask (``[x, y, w, h]`` in pixels, COCO's convention); a digit with nothing visible is dropped.

The folder holds ``scenes.safetensors`` (``images`` (N, 1, H, W) uint8, ``semantic`` (N, H, W) uint8
with 0 = background and 1 + digit elsewhere, ``instances`` (N, H, W) uint8 object index + 1),
``annotations.json`` in COCO format (images, annotations with ``bbox``/``area``/``category_id`` =
digit + 1, categories) and ``scenes.json`` (the settings). ``scenes:DIR`` loads it as image data whose
splits carry ``semantic`` and ``instances`` masks and ``boxes`` ``(N, max_objects, 5)`` rows
``[label, x, y, w, h]`` (label -1 pads); the last scenes are the test split: a quarter, the
``test_fraction`` or ``test_scenes`` data option, or the ``--test-scenes N`` fixed when the folder was made.
Those fixed test scenes are drawn from a random stream of their own, so folders made with the same seed
and ``--test-scenes`` but a different ``--n`` share the same test scenes (and their first training scenes).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from pydantic import Field

from genforge.core.config import Config
from genforge.core.errors import ConfigError, DataError
from genforge.core.io import atomic_write_json, load_tensors, read_json_object, save_tensors
from genforge.core.paths import check_output_dir
from genforge.data import Dataset, register_dataset
from genforge.data.info import DataInfo

SCENES_FILE = "scenes.safetensors"
COCO_FILE = "annotations.json"
SETTINGS_FILE = "scenes.json"
MASK_LEVEL = 4  # of 16: a digit's pixel at or above it belongs to its mask
TEST_STREAM = 1  # the fixed test scenes come from the random stream seeded (seed, TEST_STREAM)
DEFAULT_TEST_FRACTION = 0.25


class SceneConfig(Config):
    n: int = Field(2000, ge=4, le=100_000, description="number of scenes")
    canvas: int = Field(64, ge=16, le=512, description="canvas side in pixels")
    max_objects: int = Field(5, ge=1, le=50, description="most digits on one canvas")
    max_scale: int = Field(4, ge=2, le=16, description="largest whole scale factor of an 8x8 digit")
    noise: float = Field(8.0, ge=0.0, le=64.0, description="std of the Gaussian pixel noise (of 255)")
    clutter: int = Field(3, ge=0, le=50, description="random strokes per canvas that are no object")
    test_scenes: int = Field(
        0,
        ge=0,
        le=100_000,
        description="the last scenes, drawn from their own random stream so they stay the same for any --n "
        "(0: none fixed, the loader's test_fraction decides)",
    )


def make_scenes(out: str | Path, config: SceneConfig | None = None, seed: int = 0) -> dict:
    """Draw scenes into the folder ``out`` (created; an existing scenes folder is an error)."""
    from sklearn.datasets import load_digits

    cfg = config or SceneConfig()
    if 8 * cfg.max_scale > cfg.canvas:
        raise ConfigError(
            f"a digit scaled {cfg.max_scale}x is {8 * cfg.max_scale} pixels and cannot fit a {cfg.canvas}-pixel "
            f"canvas: use --canvas >= {8 * cfg.max_scale} or a smaller --max-scale"
        )
    if cfg.test_scenes and cfg.n - cfg.test_scenes < 2:
        raise ConfigError(
            f"--test-scenes {cfg.test_scenes} leaves fewer than 2 of {cfg.n} scenes to train and validate on: "
            f"use --n >= {cfg.test_scenes + 2}"
        )
    out = check_output_dir(out)
    if (out / SCENES_FILE).exists():
        raise ConfigError(f"{out} already holds scenes: give a new --out folder")
    digits = load_digits()
    rng = np.random.default_rng(seed)
    size = cfg.canvas
    images = np.zeros((cfg.n, size, size), dtype=np.uint8)
    semantic = np.zeros((cfg.n, size, size), dtype=np.uint8)
    instances = np.zeros((cfg.n, size, size), dtype=np.uint8)
    coco = {"images": [], "annotations": [], "categories": [{"id": d + 1, "name": str(d)} for d in range(10)]}
    boxes: list[list[list[float]]] = []
    test_rng = np.random.default_rng([seed, TEST_STREAM])  # the fixed test scenes' own stream
    for i in range(cfg.n):
        stream = test_rng if i >= cfg.n - cfg.test_scenes else rng
        canvas, objects = _draw_scene(stream, digits.images, digits.target, cfg)
        images[i], semantic[i], instances[i] = canvas, *objects["masks"]
        coco["images"].append({"id": i + 1, "width": size, "height": size, "file_name": f"scene-{i}"})
        boxes.append(objects["boxes"])
        for label, x, y, w, h, area in objects["boxes"]:
            coco["annotations"].append(
                {"id": len(coco["annotations"]) + 1, "image_id": i + 1, "category_id": int(label) + 1,
                 "bbox": [x, y, w, h], "area": area, "iscrowd": 0}
            )  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    save_tensors(
        out / SCENES_FILE,
        {
            "images": torch.from_numpy(images).unsqueeze(1),
            "semantic": torch.from_numpy(semantic),
            "instances": torch.from_numpy(instances),
        },
    )
    atomic_write_json(out / COCO_FILE, coco)
    summary = {**cfg.model_dump(), "seed": seed, "objects": len(coco["annotations"])}
    atomic_write_json(out / SETTINGS_FILE, summary)
    return {"out": str(out), **summary}


def _draw_scene(
    rng: np.random.Generator, digit_images: np.ndarray, digit_labels: np.ndarray, cfg: SceneConfig
):
    size = cfg.canvas
    canvas = np.zeros((size, size), dtype=np.float64)
    owner = np.zeros((size, size), dtype=np.int64)  # object index + 1 of the visible mask pixel
    for _ in range(cfg.clutter):  # strokes: a short line of low intensity
        x0, y0 = rng.integers(0, size, 2)
        dx, dy = rng.integers(-6, 7, 2)
        for t in np.linspace(0, 1, 8):
            canvas[int(np.clip(y0 + t * dy, 0, size - 1)), int(np.clip(x0 + t * dx, 0, size - 1))] = 60
    count = int(rng.integers(1, cfg.max_objects + 1))
    picks = rng.integers(0, len(digit_images), count)
    labels = digit_labels[picks]
    for k, pick in enumerate(picks):
        scale = int(rng.integers(2, cfg.max_scale + 1))
        glyph = np.kron(digit_images[pick], np.ones((scale, scale)))  # levels 0..16
        side = glyph.shape[0]
        y, x = rng.integers(0, size - side + 1, 2)
        region = (slice(y, y + side), slice(x, x + side))
        ink = glyph > 0
        canvas[region] = np.where(ink, glyph * 255 / 16, canvas[region])
        owner[region] = np.where(ink, 0, owner[region])  # uncovered by this digit's ink
        owner[region] = np.where(glyph >= MASK_LEVEL, k + 1, owner[region])
    noisy = canvas + rng.normal(0, cfg.noise, canvas.shape) if cfg.noise else canvas
    image = np.clip(np.round(noisy), 0, 255).astype(np.uint8)
    semantic = np.zeros((size, size), dtype=np.uint8)
    instances = np.zeros((size, size), dtype=np.uint8)
    boxes = []
    for k, label in enumerate(labels):
        mask = owner == k + 1
        if not mask.any():
            continue  # hidden by later digits
        ys, xs = np.nonzero(mask)
        x0, y0 = int(xs.min()), int(ys.min())
        w, h = int(xs.max()) - x0 + 1, int(ys.max()) - y0 + 1
        semantic[mask] = label + 1
        instances[mask] = len(boxes) + 1
        boxes.append([int(label), x0, y0, w, h, int(mask.sum())])
    return image, {"masks": (semantic, instances), "boxes": boxes}


class SceneOptions(Config):
    test_fraction: float | None = Field(
        None, gt=0.0, lt=1.0, description="the last scenes kept for testing (default 0.25)"
    )
    test_scenes: int | None = Field(
        None, ge=1, le=100_000, description="the last this many scenes kept for testing"
    )


def test_count(n: int, options: SceneOptions, settings: dict, root: Path) -> int:
    """How many of the ``n`` scenes (the last) are the test split: ``test_scenes``, else
    ``test_fraction``, else the folder's fixed test scenes (``make scenes --test-scenes``), else a
    quarter."""
    if options.test_scenes is not None and options.test_fraction is not None:
        raise DataError("scenes data: give test_scenes or test_fraction, not both")
    if options.test_scenes is not None:
        count = options.test_scenes
    elif options.test_fraction is not None:
        count = max(1, int(round(n * options.test_fraction)))
    else:
        fixed = int(settings.get("test_scenes") or 0)
        count = fixed or max(1, int(round(n * DEFAULT_TEST_FRACTION)))
    if n - count - max(1, n // 10) < 1:
        raise DataError(
            f"{root}: {count} test scenes of {n} leave none to train on: ask for fewer test scenes"
        )
    return count


@register_dataset(
    "scenes",
    options=SceneOptions,
    kind="image",
    help="synthetic scenes of digits with boxes and masks, made by 'genforge data make scenes'",
    examples=["scenes:PATH/TO/SCENES"],
)
def scenes(arg: str | None, options: SceneOptions, artifacts: Path | None) -> Dataset:
    if not arg:
        raise DataError(
            "scenes data needs a folder: --data scenes:DIR (make one with 'genforge data make scenes')"
        )
    root = Path(arg).expanduser()
    if not (root / SCENES_FILE).is_file():
        raise DataError(
            f"{root} holds no {SCENES_FILE}: make scenes with 'genforge data make scenes --out {root}'"
        )
    tensors = load_tensors(root / SCENES_FILE)
    coco = read_json_object(root / COCO_FILE)
    images = tensors["images"]
    n, _, height, width = images.shape
    settings = read_json_object(root / SETTINGS_FILE)
    max_objects = settings.get("max_objects", 5)
    boxes = torch.full((n, max_objects, 5), -1.0)
    filled = [0] * n
    for ann in coco.get("annotations", []):
        i = int(ann["image_id"]) - 1
        x, y, w, h = ann["bbox"]
        if not (0 <= i < n) or x < 0 or y < 0 or x + w > width or y + h > height or w <= 0 or h <= 0:
            raise DataError(f"{root / COCO_FILE}: annotation {ann.get('id')} has a box outside its image")
        if filled[i] < max_objects:
            boxes[i, filled[i]] = torch.tensor([ann["category_id"] - 1, x, y, w, h], dtype=torch.float32)
            filled[i] += 1
    n_test = test_count(n, options, settings, root)
    n_val = max(1, n // 10)
    cuts = {
        "train": slice(0, n - n_test - n_val),
        "val": slice(n - n_test - n_val, n - n_test),
        "test": slice(n - n_test, n),
    }
    splits = {
        name: {
            "x": images[cut],
            "semantic": tensors["semantic"][cut].long(),
            "instances": tensors["instances"][cut].long(),
            "boxes": boxes[cut],
        }
        for name, cut in cuts.items()
    }
    info = DataInfo(
        kind="image",
        shape=(1, height, width),
        num_levels=256,
        num_classes=10,
        extra={"scenes": True, "max_objects": max_objects},
    )
    return Dataset(spec=f"scenes:{root}", info=info, splits=splits, description=f"{n} scenes from {root}")
