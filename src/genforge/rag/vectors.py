"""Dense vector helpers: exact top-k with numpy, MMR diversification, and raw float32 segment files.

Used by the built-in :mod:`segment index <genforge.rag.segment_index>` and the MMR re-ranker.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from genforge.core.errors import DataError


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest ``scores``, best first (stable for ties)."""
    k = min(k, len(scores))
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    part = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    return part[np.lexsort((part, -scores[part]))]


def mmr(query: np.ndarray, candidates: np.ndarray, k: int, lambda_: float = 0.7) -> list[int]:
    """Maximal marginal relevance (Carbonell & Goldstein, 1998) over unit-norm candidate vectors.

    Repeatedly picks ``argmax_i  lambda * sim(q, d_i) - (1 - lambda) * max_{j in selected} sim(d_i, d_j)``.
    ``candidates`` is ``(n, dim)``; returns the chosen row indices in pick order.
    """
    n = len(candidates)
    if n == 0 or k <= 0:
        return []
    relevance = candidates @ query
    pairwise = candidates @ candidates.T
    selected: list[int] = []
    redundancy = np.full(n, -np.inf)
    available = np.ones(n, dtype=bool)
    for _ in range(min(k, n)):
        penalty = np.where(np.isfinite(redundancy), redundancy, 0.0)
        objective = np.where(available, lambda_ * relevance - (1 - lambda_) * penalty, -np.inf)
        best = int(np.argmax(objective))
        selected.append(best)
        available[best] = False
        redundancy = np.maximum(redundancy, pairwise[best])
    return selected


def write_segment(path: Path, vectors: np.ndarray) -> None:
    """Write ``(n, dim)`` float32 rows as a raw little-endian file (atomically)."""
    from genforge.core.io import atomic_write_bytes

    atomic_write_bytes(path, np.ascontiguousarray(vectors, dtype="<f4").tobytes())


def open_segment(path: Path, dim: int) -> np.ndarray:
    """Memory-map a segment written by :func:`write_segment` as ``(rows, dim)`` float32."""
    size = path.stat().st_size
    if size % (4 * dim):
        raise DataError(
            f"{path} is damaged (not {dim}-dim float32 rows); run 'genforge rag index' again to repair it"
        )
    if size == 0:
        return np.empty((0, dim), dtype=np.float32)
    return np.memmap(path, dtype="<f4", mode="r", shape=(size // (4 * dim), dim))
