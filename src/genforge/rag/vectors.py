"""Dense vector search: exact top-k with numpy, MMR diversification, and the optional Qdrant backend.

Exact search is a matrix-vector product over memory-mapped float32 segments; for unit vectors the score is
the cosine similarity. It stays fast to a few hundred thousand chunks on one CPU (see
``benchmarks/rag_retrieval.py`` for the measured latency), so no approximate index is used by default.
:class:`QdrantVectors` stores the same vectors in Qdrant (its client's embedded local mode, or a server
URL) for users who outgrow one machine; the store talks to both through the same few methods.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from genforge.core.errors import GenforgeError, require


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
        raise GenforgeError(
            f"{path} is not a {dim}-dim float32 vector segment; rebuild the store with rag index"
        )
    if size == 0:
        return np.empty((0, dim), dtype=np.float32)
    return np.memmap(path, dtype="<f4", mode="r", shape=(size // (4 * dim), dim))


class QdrantVectors:
    """Vectors in a Qdrant collection, keyed by the chunk text's content hash (one point per distinct text).

    ``location`` is a directory (embedded local mode) or an ``http(s)://`` server URL.
    """

    def __init__(self, location: str, collection: str, dim: int, api_key: str | None = None) -> None:
        qdrant_client = require("qdrant_client", "qdrant")
        self.collection = collection
        self.dim = dim
        self.url = location if location.startswith(("http://", "https://")) else None
        if self.url:
            self.client = qdrant_client.QdrantClient(
                url=location, api_key=api_key, timeout=30, check_compatibility=False
            )
        else:
            Path(location).mkdir(parents=True, exist_ok=True)
            try:
                self.client = qdrant_client.QdrantClient(path=location)
            except RuntimeError as exc:  # local mode allows one process per folder
                raise GenforgeError(
                    f"qdrant folder {location} is in use by another process ({exc})"
                ) from None
        self._ensure_collection()

    @contextmanager
    def _server(self) -> Iterator[None]:
        """A server that cannot be reached or answers with an error is a one-line GenforgeError."""
        from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

        try:
            yield
        except ResponseHandlingException as exc:
            raise GenforgeError(
                f"cannot reach the Qdrant server at {self.url} ({exc}); is it running?"
            ) from None
        except UnexpectedResponse as exc:
            detail = " ".join(exc.content.decode("utf-8", "replace").split())[:160]
            raise GenforgeError(
                f"the Qdrant server at {self.url} answered HTTP {exc.status_code} ({detail}); "
                "is this URL a Qdrant server's REST endpoint?"
            ) from None

    def _ensure_collection(self) -> None:
        from qdrant_client import models

        with self._server():
            if not self.client.collection_exists(self.collection):
                self.client.create_collection(
                    self.collection,
                    vectors_config=models.VectorParams(size=self.dim, distance=models.Distance.COSINE),
                )

    @staticmethod
    def point_id(text_hash: str) -> str:
        return str(uuid.UUID(text_hash[:32]))

    def upsert(self, text_hashes: Sequence[str], vectors: np.ndarray) -> None:
        from qdrant_client import models

        if not len(text_hashes):
            return
        points = [
            models.PointStruct(id=self.point_id(h), vector=v.tolist(), payload={"text_hash": h})
            for h, v in zip(text_hashes, vectors, strict=True)
        ]
        with self._server():
            for i in range(0, len(points), 256):
                self.client.upsert(self.collection, points=points[i : i + 256], wait=True)

    def delete(self, text_hashes: Sequence[str]) -> None:
        from qdrant_client import models

        if text_hashes:
            ids = [self.point_id(h) for h in text_hashes]
            with self._server():
                self.client.delete(
                    self.collection, points_selector=models.PointIdsList(points=ids), wait=True
                )

    def fetch(self, text_hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors of the given hashes (missing ones are absent from the result)."""
        if not text_hashes:
            return {}
        with self._server():
            points = self.client.retrieve(
                self.collection, ids=[self.point_id(h) for h in text_hashes], with_vectors=True
            )
        return {p.payload["text_hash"]: np.asarray(p.vector, dtype=np.float32) for p in points}

    def search(self, vector: np.ndarray, k: int) -> tuple[list[str], np.ndarray]:
        """``(text_hashes, cosine scores)`` of the ``k`` nearest points, best first."""
        with self._server():
            response = self.client.query_points(
                self.collection, query=vector.tolist(), limit=k, with_payload=True
            )
        hits = response.points
        return [p.payload["text_hash"] for p in hits], np.asarray([p.score for p in hits], dtype=np.float32)

    def count(self) -> int:
        with self._server():
            return int(self.client.count(self.collection, exact=True).count)

    def close(self) -> None:
        self.client.close()
