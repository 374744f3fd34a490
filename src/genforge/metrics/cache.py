"""On-disk cache of real-set features, keyed by everything that changes them.

The key is the SHA-256 of: the input's fingerprint (resolved paths, sizes and modification times, or a
dataset spec and split), the extractor's SHA-256, its resize mode, N (and the subset seed when N is a
subset) and the output (features or logits). An entry is ``<key>.safetensors`` (the float64 array) plus
``<key>.json`` (what it is); the JSON is written last, so an entry without it is incomplete and ignored.
Both go through atomic writes, and nothing is written before the features were computed without error.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from genforge.core import io

FORMAT_VERSION = 1


class FeatureCache:
    """A directory of cached feature arrays (``(N, D)`` float64)."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    @staticmethod
    def key(**parts: Any) -> str:
        """Stable key from named parts (JSON-serialisable values)."""
        blob = json.dumps({"format": FORMAT_VERSION, **parts}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()

    def _paths(self, key: str) -> tuple[Path, Path]:
        return self.root / f"{key}.safetensors", self.root / f"{key}.json"

    def load(self, key: str) -> np.ndarray | None:
        """The cached array, or None when there is no complete, readable entry."""
        from safetensors import SafetensorError
        from safetensors.numpy import load_file

        tensors, meta = self._paths(key)
        if not (tensors.exists() and meta.exists()):
            return None
        try:
            return load_file(str(tensors))["features"]
        except (SafetensorError, OSError, KeyError):
            return None

    def save(self, key: str, features: np.ndarray, meta: dict[str, Any]) -> None:
        from safetensors.numpy import save

        tensors, meta_path = self._paths(key)
        io.atomic_write_bytes(tensors, save({"features": np.ascontiguousarray(features, dtype=np.float64)}))
        io.atomic_write_json(meta_path, {**meta, "key": key, "shape": list(features.shape)})
