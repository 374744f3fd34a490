"""Reading what a user points a metric at: saved features, saved image arrays, or a folder of images.

* ``.npz``: an array under ``features`` (2-D, used as is) or ``images`` (4-D); a file holding a single
  array is read by its number of dimensions.
* ``.npy``: one array, 2-D features or 4-D images.
* a directory: every PNG/JPEG/BMP/GIF/WebP file below it (sorted paths), all of one size and colour mode.

Images come back as float32 ``(N, C, H, W)`` in ``[0, 1]``: ``uint8`` arrays are divided by 255, float
arrays must already lie in ``[0, 1]``, and ``(N, H, W, C)`` arrays with 1 or 3 channels last are
transposed. Needs numpy (and Pillow for folders), not torch.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genforge.core.errors import DataError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}


@dataclass
class MetricInput:
    """Features ``(N, D)`` float64 or images ``(N, C, H, W)`` float32 in [0, 1], with where they came from."""

    kind: str  # "features" | "images"
    array: np.ndarray
    source: str
    fingerprint: str  # changes when the file(s) change: part of cache keys

    @property
    def num(self) -> int:
        return int(self.array.shape[0])


def _fingerprint(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for p in paths:
        st = p.stat()
        digest.update(f"{p.resolve()}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def images_from_array(arr: np.ndarray, what: str) -> np.ndarray:
    """Validate an image array and return float32 ``(N, C, H, W)`` in [0, 1]."""
    if arr.ndim == 3:
        arr = arr[:, None]
    if arr.ndim != 4:
        raise DataError(f"{what}: images must be (N, C, H, W) or (N, H, W, C), got shape {tuple(arr.shape)}")
    if arr.shape[1] not in (1, 3) and arr.shape[-1] in (1, 3):
        arr = np.moveaxis(arr, -1, 1)
    if arr.shape[1] not in (1, 3):
        raise DataError(f"{what}: images must have 1 or 3 channels, got shape {tuple(arr.shape)}")
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    if arr.dtype.kind not in "fiu":
        raise DataError(f"{what}: images must be numbers, got dtype {arr.dtype}")
    out = arr.astype(np.float32)
    if out.size and (not np.isfinite(out).all() or out.min() < 0 or out.max() > 1):
        raise DataError(f"{what}: float images must lie in [0, 1] (save uint8 arrays for 0..255 images)")
    return out


def _from_array(arr: np.ndarray, source: str, fingerprint: str, key: str | None) -> MetricInput:
    if arr.shape[0] == 0:
        raise DataError(f"{source} holds an empty array")
    if key == "features" or (key is None and arr.ndim == 2):
        if arr.ndim != 2:
            raise DataError(f"{source}: 'features' must be a 2-D array (N, D), got shape {tuple(arr.shape)}")
        return MetricInput("features", arr, source, fingerprint)
    return MetricInput("images", images_from_array(arr, source), source, fingerprint)


def read_image_folder(root: Path) -> MetricInput:
    """All images below ``root`` as one float32 ``(N, C, H, W)`` array; sizes and modes must agree."""
    from PIL import Image, UnidentifiedImageError

    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"image folder {root} has no .png/.jpg/.jpeg/.bmp/.gif/.webp files")
    arrays, first = [], None
    for path in files:
        try:
            with Image.open(path) as im:
                im.load()
                mode = "L" if im.mode in ("L", "1", "I;16", "I", "F", "LA") else "RGB"
                arr = np.asarray(im.convert(mode), dtype=np.uint8)
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise DataError(f"cannot read image {path}: {exc}") from None
        arr = arr[None] if arr.ndim == 2 else np.moveaxis(arr, -1, 0)
        if first is None:
            first = (path, arr.shape)
        elif arr.shape != first[1]:
            (c0, h0, w0), (c1, h1, w1) = first[1], arr.shape
            raise DataError(
                f"images differ in size or channels: {first[0].name} is {c0}x{h0}x{w0} but {path} is "
                f"{c1}x{h1}x{w1} (channels x height x width); resize them to one size first"
            )
        arrays.append(arr)
    images = np.stack(arrays).astype(np.float32) / 255.0
    return MetricInput("images", images, f"{root} ({len(files)} images)", _fingerprint(files))


def read_input(path: str | os.PathLike) -> MetricInput:
    """Read features or images from a ``.npz`` / ``.npy`` file or an image directory (see module doc)."""
    p = Path(path).expanduser()
    if not p.exists():
        raise DataError(f"{p} does not exist")
    if p.is_dir():
        return read_image_folder(p)
    fingerprint = _fingerprint([p])
    if p.suffix == ".npy":
        try:
            arr = np.load(p, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise DataError(f"{p} is not a readable .npy array ({exc})") from None
        return _from_array(arr, str(p), fingerprint, None)
    if p.suffix == ".npz":
        try:
            with np.load(p, allow_pickle=False) as archive:
                keys = list(archive.keys())
                for key in ("features", "images"):
                    if key in keys:
                        return _from_array(archive[key], f"{p}[{key}]", fingerprint, key)
                if len(keys) == 1:
                    return _from_array(archive[keys[0]], f"{p}[{keys[0]}]", fingerprint, None)
        except (ValueError, OSError) as exc:
            raise DataError(f"{p} is not a readable .npz archive ({exc})") from None
        raise DataError(f"{p} has arrays {keys}: save the data under the key 'features' (N, D) or 'images'")
    raise DataError(f"{p}: expected a directory of images, a .npz or a .npy file")
