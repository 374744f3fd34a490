"""Reading what a user points a metric at, with one clear line for every file that is not what it should be.

* Feature and image sets: a ``.npz`` (an array under ``features``, 2-D, used as is, or ``images``, 4-D; an
  archive holding a single array is read by its number of dimensions), a ``.npy`` (one array), or a
  directory of PNG/JPEG/BMP/GIF/WebP files (sorted paths, all of one size and colour mode). Images come
  back as float32 ``(N, C, H, W)`` in ``[0, 1]``: ``uint8`` arrays are divided by 255, other arrays must
  already lie in ``[0, 1]``, and ``(N, H, W, C)`` arrays with 1 or 3 channels last are transposed.
* Labels: UTF-8 text, one label per line, or a CSV (``column`` by index or header name).
* Scores: UTF-8 text, one real number per line (or a CSV column).
* Sentences: UTF-8 text, one sentence per line.

Every reader turns a missing file, a directory where a file belongs, a wrong file type, invalid UTF-8,
an empty file, wrong keys or shapes, and NaN or infinite values into a :class:`DataError` naming the file
and the format it expected. Reading is linear in the file's size. Needs numpy (and Pillow for folders),
not torch.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genforge.core.errors import DataError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
SET_FORMAT = "a .npz (key 'features' (N, D) or 'images' (N, C, H, W)), a .npy or a folder of images"
LABEL_FORMAT = "UTF-8 text with one label per line, or a CSV file (choose the column with --column)"
SCORE_FORMAT = "UTF-8 text with one real number per line (or a CSV column)"
SENTENCE_FORMAT = "UTF-8 text with one sentence per line"
# What numpy raises for a damaged or foreign file: bad magic or header, a truncated array, a broken or
# corrupt zip member, a pickled object array (refused: allow_pickle=False), a header claiming too much.
_NUMPY_READ_ERRORS = (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error, KeyError, MemoryError)


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


def _features_from_array(arr: np.ndarray, what: str) -> np.ndarray:
    if arr.ndim != 2:
        raise DataError(f"{what}: features must be a 2-D array (N, D), got shape {tuple(arr.shape)}")
    if arr.dtype.kind not in "fiu" or arr.shape[1] == 0:
        raise DataError(
            f"{what}: features must be real numbers (N, D) with D >= 1, got {arr.dtype} {arr.shape}"
        )
    if not np.isfinite(arr).all():
        raise DataError(f"{what} holds NaN or infinite values: features must be finite numbers")
    return arr


def _from_array(arr: np.ndarray, source: str, fingerprint: str, key: str | None) -> MetricInput:
    if arr.ndim == 0 or arr.shape[0] == 0:
        raise DataError(f"{source} holds an empty or scalar array (shape {arr.shape}): expected {SET_FORMAT}")
    if key == "features" or (key is None and arr.ndim == 2):
        return MetricInput("features", _features_from_array(arr, source), source, fingerprint)
    if key is None and arr.ndim not in (3, 4):
        raise DataError(
            f"{source} holds an array of shape {tuple(arr.shape)}: expected features (N, D) or "
            "images (N, C, H, W) / (N, H, W, C)"
        )
    return MetricInput("images", images_from_array(arr, source), source, fingerprint)


def read_image_folder(root: Path) -> MetricInput:
    """All images below ``root`` as one float32 ``(N, C, H, W)`` array; sizes and modes must agree."""
    from PIL import Image

    try:
        files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    except OSError as exc:
        raise DataError(f"cannot list image folder {root}: {exc.strerror or exc}") from None
    if not files:
        raise DataError(f"image folder {root} has no .png/.jpg/.jpeg/.bmp/.gif/.webp files")
    arrays, first = [], None
    for path in files:
        try:
            with Image.open(path) as im:
                im.load()
                mode = "L" if im.mode in ("L", "1", "I;16", "I", "F", "LA") else "RGB"
                arr = np.asarray(im.convert(mode), dtype=np.uint8)
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            raise DataError(
                f"cannot read image {path} ({type(exc).__name__}): expected a PNG/JPEG/BMP/GIF/WebP image"
            ) from None
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


def _read_npz(path: Path, fingerprint: str) -> MetricInput:
    with np.load(path, allow_pickle=False) as archive:
        keys = list(archive.keys())
        for key in ("features", "images"):
            if key in keys:
                return _from_array(archive[key], f"{path}[{key}]", fingerprint, key)
        if len(keys) == 1:
            return _from_array(archive[keys[0]], f"{path}[{keys[0]}]", fingerprint, None)
    listed = ", ".join(keys[:10]) or "none"
    raise DataError(
        f"{path} has arrays [{listed}]: save the data under the key 'features' (N, D) or 'images'"
    )


def read_input(path: str | os.PathLike) -> MetricInput:
    """Read features or images from a ``.npz`` / ``.npy`` file or an image directory (see module doc)."""
    p = Path(path).expanduser()
    if not p.exists():
        raise DataError(f"{p} does not exist: expected {SET_FORMAT}")
    if p.is_dir():
        return read_image_folder(p)
    suffix = p.suffix.lower()
    if suffix not in (".npy", ".npz"):
        raise DataError(f"{p}: expected {SET_FORMAT}, not a {suffix or 'suffix-less'} file")
    fingerprint = _fingerprint([p])
    with p.open("rb") as handle:
        head = handle.read(6)
    if suffix == ".npz" and not head.startswith(b"PK"):
        npy = " (it is a .npy array: rename it)" if head == b"\x93NUMPY" else ""
        raise DataError(f"{p} is not a .npz (zip) archive{npy}: expected {SET_FORMAT}")
    if suffix == ".npy" and head != b"\x93NUMPY":
        npz = " (it is a .npz archive: rename it)" if head.startswith(b"PK") else ""
        raise DataError(f"{p} is not a .npy array file{npz}: expected {SET_FORMAT}")
    try:
        if suffix == ".npz":
            return _read_npz(p, fingerprint)
        return _from_array(np.load(p, allow_pickle=False), str(p), fingerprint, None)
    except _NUMPY_READ_ERRORS as exc:
        kind = "archive written by numpy.savez" if suffix == ".npz" else "array written by numpy.save"
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise DataError(
            f"{p} is not a readable .{suffix[1:]} {kind} ({reason}); expected {SET_FORMAT}"
        ) from None


# text files ----------------------------------------------------------------------------------------
def read_text(path: str | os.PathLike, expected: str) -> str:
    """The whole of a UTF-8 text file (a BOM is dropped), or one line naming the file and ``expected``."""
    p = Path(path).expanduser()
    if not p.exists():
        raise DataError(f"{p} does not exist: expected {expected}")
    if not p.is_file():
        raise DataError(f"{p} is not a file: expected {expected}")
    data = p.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{p} is not UTF-8 text (byte {exc.start} is not valid UTF-8): expected {expected}"
        ) from None
    if "\x00" in text:
        raise DataError(f"{p} holds NUL bytes, so it is a binary file: expected {expected}")
    if not text.strip():
        raise DataError(f"{p} is empty: expected {expected}")
    return text


def read_column(path: str | os.PathLike, column: int | str | None, expected: str) -> list[str]:
    """The cells of one column of a text or CSV file (blank rows skipped), stripped of whitespace.

    ``column`` is an index or a header name; without it the file must have a single column.
    """
    p = Path(path).expanduser()
    try:
        rows = [row for row in csv.reader(io.StringIO(read_text(p, expected))) if any(c.strip() for c in row)]
    except csv.Error as exc:
        raise DataError(f"{p} is not a readable CSV file ({exc}): expected {expected}") from None
    index = 0
    if isinstance(column, str):
        header = [cell.strip() for cell in rows[0]]
        if column not in header:
            raise DataError(f"{p} has no column '{column}' (header: {', '.join(header)[:200]})")
        index, rows = header.index(column), rows[1:]
    elif isinstance(column, int):
        index = column
    elif max(len(row) for row in rows) > 1:
        raise DataError(
            f"{p} has {max(len(r) for r in rows)} columns: choose one with --column (index or header name)"
        )
    values = []
    for number, row in enumerate(rows, start=1):
        if index >= len(row) or index < -len(row):
            raise DataError(f"{p}: row {number} has no column {index}")
        values.append(row[index].strip())
    if not values:
        raise DataError(f"{p} has a header but no rows: expected {expected}")
    return values


def read_labels(path: str | os.PathLike, column: int | str | None = None) -> np.ndarray:
    """Class labels from a text or CSV file: ints where every value is an integer, else strings."""
    values = read_column(path, column, LABEL_FORMAT)
    try:
        return np.array([int(v) for v in values])
    except ValueError:
        pass
    try:
        numbers = [float(v) for v in values]
    except ValueError:
        return np.array(values)  # string labels
    if all(math.isfinite(v) and v.is_integer() for v in numbers):
        return np.array([int(v) for v in numbers])
    raise DataError(f"{path} holds non-integer numbers: class labels must be integers or strings")


def read_scores(path: str | os.PathLike, column: int | str | None = None) -> np.ndarray:
    """Real-valued scores ``(N,)`` float64 from a text or CSV file."""
    values = read_column(path, column, SCORE_FORMAT)
    try:
        scores = np.array([float(v) for v in values])
    except ValueError:
        bad = next(v for v in values if not _is_float(v))
        raise DataError(f"{path}: '{bad[:40]}' is not a number: expected {SCORE_FORMAT}") from None
    if not np.isfinite(scores).all():
        raise DataError(f"{path} holds NaN or infinite scores: expected finite numbers")
    return scores


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_lines(path: str | os.PathLike) -> list[str]:
    """The lines of a UTF-8 text file (one sentence per line; a final newline adds no empty line)."""
    return read_text(path, SENTENCE_FORMAT).splitlines()
