"""Image datasets: scikit-learn's bundled ``digits`` and a user's ``folder:PATH`` of PNG/JPEG files.

Images are stored as integer levels ``(N, C, H, W)`` (``uint8``); each model maps levels to the
representation it needs with :mod:`genforge.data.transforms`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import torch
from pydantic import Field

from genforge.core.config import Config
from genforge.core.errors import DataError
from genforge.data import Dataset, register_dataset, split_indices
from genforge.data.info import DataInfo
from genforge.data.transforms import Compose, parse_augmentations

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
SPLIT_SEED = 0


class ImageOptions(Config):
    image_size: int | None = Field(
        None, ge=4, le=512, description="resize images to this square size (pixels)"
    )
    channels: Literal["auto", "grey", "rgb"] = Field(
        "auto", description="colour mode; auto keeps RGB unless every image is grey"
    )
    augment: list[str] = Field(
        default_factory=list, description="training augmentations: hflip[=p], shift[=pixels]"
    )


def _augmenter(options: ImageOptions):
    transforms = parse_augmentations(options.augment)
    if any(type(t).__name__ == "GaussianNoise" for t in transforms):
        raise DataError(
            "noise augmentation is for continuous data; images are discrete levels (use hflip, shift)"
        )
    if not transforms:
        return None
    pipeline = Compose(transforms)

    def augment(batch, generator):
        return {**batch, "x": pipeline(batch["x"], generator)}

    return augment


def _resize_levels(x: torch.Tensor, size: int) -> torch.Tensor:
    """Resize uint8 images (N, C, H, W) with antialiased bilinear interpolation."""
    resized = torch.nn.functional.interpolate(
        x.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False
    )
    return resized.round().clamp(0, 255).to(torch.uint8)


def _image_dataset(spec, x, y, num_levels, num_classes, description, options) -> Dataset:

    idx = split_indices(len(x), (0.7, 0.15, 0.15) if y is not None else (0.8, 0.1, 0.1), SPLIT_SEED)
    splits = {}
    for name, ids in idx.items():
        splits[name] = {"x": x[ids]} if y is None else {"x": x[ids], "y": y[ids]}
    info = DataInfo(kind="image", shape=tuple(x.shape[1:]), num_levels=num_levels, num_classes=num_classes)
    return Dataset(spec=spec, info=info, splits=splits, description=description, augment=_augmenter(options))


def digits_tensors() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's digits as ``(images (1797, 1, 8, 8) uint8 with levels 0..16, labels long)``.

    Read with numpy from the CSV scikit-learn installs (what ``load_digits`` reads): importing
    scikit-learn costs seconds before a training run's first step, so it is imported only if the
    file is not where this scikit-learn version puts it.
    """
    import importlib.util

    import numpy as np

    spec = importlib.util.find_spec("sklearn")  # locates the package without importing it
    path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz" if spec and spec.origin else None
    if path is not None and path.is_file():
        data = np.loadtxt(path, delimiter=",")
        images, target = data[:, :-1].reshape(-1, 8, 8), data[:, -1].astype(int)
    else:
        from sklearn.datasets import load_digits

        bunch = load_digits()
        images, target = bunch.images, bunch.target
    x = torch.as_tensor(images, dtype=torch.uint8).unsqueeze(1)
    return x, torch.as_tensor(target, dtype=torch.long)


class DigitsOptions(ImageOptions):
    classes: list[int] | None = Field(
        None, description="keep only these digits (e.g. [7,8,9]) in every split; default all ten"
    )
    per_class: int | None = Field(
        None, ge=1, description="keep at most this many training images of each class (val/test unchanged)"
    )


def _select_classes(dataset: Dataset, classes: list[int] | None, per_class: int | None) -> Dataset:
    """The digits of ``classes`` only, and at most ``per_class`` training images each (first in split order)."""
    if classes is not None and (not classes or any(c not in range(10) for c in classes)):
        raise DataError(f"digits classes must be among 0..9, got {classes}")
    for name, split in dataset.splits.items():
        keep = torch.ones(len(split["y"]), dtype=torch.bool)
        if classes is not None:
            keep = torch.isin(split["y"], torch.tensor(classes))
        if per_class is not None and name == "train":
            seen = torch.zeros(10, dtype=torch.long)
            for i in keep.nonzero().flatten().tolist():
                label = int(split["y"][i])
                keep[i] = bool(seen[label] < per_class)
                seen[label] += 1
        dataset.splits[name] = {k: v[keep] for k, v in split.items()}
    return dataset


@register_dataset(
    "digits",
    options=DigitsOptions,
    kind="image",
    help="scikit-learn's 8x8 handwritten digits: 1,797 images, 17 grey levels, 10 classes (70/15/15 split)",
)
def digits(arg: str | None, options: DigitsOptions, artifacts: Path | None) -> Dataset:
    if arg:
        raise DataError(f"'digits' takes no argument (got 'digits:{arg}')")
    x, y = digits_tensors()
    num_levels = 17
    if options.image_size and options.image_size != 8:
        scaled = (x.float() * 255 / 16).round().to(torch.uint8)
        x, num_levels = _resize_levels(scaled, options.image_size), 256
    if options.channels == "rgb":
        x = x.expand(-1, 3, -1, -1).contiguous()
    dataset = _image_dataset("digits", x, y, num_levels, 10, "sklearn digits", options)
    if options.classes is None and options.per_class is None:
        return dataset
    return _select_classes(dataset, options.classes, options.per_class)


@register_dataset(
    "folder",
    options=ImageOptions,
    kind="image",
    help="your own PNG/JPEG files, searched recursively; resized with --image-size; RGB or grey (80/10/10 split)",
    examples=["folder:PATH/TO/IMAGES"],
)
def folder(arg: str | None, options: ImageOptions, artifacts: Path | None) -> Dataset:
    if not arg:
        raise DataError("folder data needs a path: --data folder:PATH/TO/IMAGES")
    root = Path(arg).expanduser()
    if not root.exists():
        raise DataError(f"image folder {root} does not exist")
    if not root.is_dir():
        raise DataError(f"{root} is not a directory: folder: expects a directory of images")
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"image folder {root} has no .png/.jpg/.jpeg/.bmp/.gif/.webp files")
    if len(files) < 10:
        raise DataError(
            f"image folder {root} has {len(files)} images; at least 10 are needed for train/val/test"
        )
    images = [_read_image(p) for p in files]
    mode = options.channels
    if mode == "auto":
        mode = "grey" if all(_is_grey(im) for im in images) else "rgb"
    arrays = []
    first_size = None
    for path, im in zip(files, images, strict=True):
        im = im.convert("L" if mode == "grey" else "RGB")
        if options.image_size:
            im = _square_resize(im, options.image_size)
        elif first_size is None:
            first_size = (path, im.size)
        elif im.size != first_size[1]:
            a, b = first_size[1], im.size
            raise DataError(
                f"mixed image sizes: {first_size[0].name} is {a[0]}x{a[1]} but {path} is {b[0]}x{b[1]}; "
                "pass --image-size N to resize all images"
            )
        arrays.append(
            torch.frombuffer(bytearray(im.tobytes()), dtype=torch.uint8).view(im.size[1], im.size[0], -1)
        )
    x = torch.stack(arrays).permute(0, 3, 1, 2).contiguous()
    return _image_dataset(f"folder:{root}", x, None, 256, None, f"{len(files)} images from {root}", options)


def _read_image(path: Path):
    """Decode one image file; an unreadable file or one larger than Pillow's decompression-bomb limit
    (``Image.MAX_IMAGE_PIXELS``, about 89 million pixels) is a DataError naming it, checked from the
    header before any pixel is decoded."""
    from PIL import Image, UnidentifiedImageError

    limit = Image.MAX_IMAGE_PIXELS or 0
    try:
        with Image.open(path) as im:
            width, height = im.size
            if limit and width * height > limit:
                raise DataError(_too_large(path, width, height, limit))
            im.load()
            return im.copy()
    except Image.DecompressionBombError:
        raise DataError(_too_large(path, None, None, limit)) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataError(f"cannot read image {path}: {exc}; remove or fix the file") from None


def _too_large(path: Path, width: int | None, height: int | None, limit: int) -> str:
    size = f"{width}x{height} pixels, " if width else ""
    return (
        f"image {path} has {size}more than the {limit:,} pixels an image may have here "
        "(a decompression bomb?): downscale it or remove it from the folder"
    )


def _is_grey(im) -> bool:
    if im.mode in ("L", "1", "I;16", "I", "F"):
        return True
    if im.mode in ("RGB", "RGBA"):
        from PIL import ImageChops

        r, g, b = im.convert("RGB").split()
        return ImageChops.difference(r, g).getbbox() is None and ImageChops.difference(g, b).getbbox() is None
    return False


def _square_resize(im, size: int):
    """Centre-crop to a square, then resize with Lanczos filtering."""
    from PIL import Image

    w, h = im.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    return im.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.LANCZOS)
