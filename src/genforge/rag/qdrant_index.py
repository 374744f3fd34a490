"""The Qdrant vector index: the store's vectors in a Qdrant collection, for users who outgrow one machine.

``qdrant_url`` names a server; without it the client's embedded local mode keeps the collection in
``STORE/qdrant``. One point per distinct chunk text, its id derived from the text's content hash. Qdrant is
optional (``pip install 'genforge[qdrant]'``) and imported only when a store uses it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from genforge.core.errors import GenforgeError, require
from genforge.rag.vector_index import VECTOR_INDEXES, IndexContext, VectorIndex


@VECTOR_INDEXES.register("qdrant")
class QdrantIndex(VectorIndex):
    """Vectors in a Qdrant collection, keyed by the chunk text's content hash (one point per distinct text).

    ``location`` is a directory (embedded local mode) or an ``http(s)://`` server URL.
    """

    def __init__(self, context: IndexContext, api_key: str | None = None) -> None:
        super().__init__(context)
        qdrant_client = require("qdrant_client", "qdrant")
        location = context.config.qdrant_url or str(context.path / "qdrant")
        self.collection = context.config.qdrant_collection
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

    def upsert(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        from qdrant_client import models

        if not len(keys):
            return
        points = [
            models.PointStruct(id=self.point_id(h), vector=v.tolist(), payload={"text_hash": h})
            for h, v in zip(keys, vectors, strict=True)
        ]
        with self._server():
            for i in range(0, len(points), 256):
                self.client.upsert(self.collection, points=points[i : i + 256], wait=True)

    def delete(self, keys: Sequence[str]) -> None:
        from qdrant_client import models

        if keys:
            ids = [self.point_id(h) for h in keys]
            with self._server():
                self.client.delete(
                    self.collection, points_selector=models.PointIdsList(points=ids), wait=True
                )

    def fetch(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors of the given hashes (missing ones are absent from the result)."""
        if not keys:
            return {}
        with self._server():
            points = self.client.retrieve(
                self.collection, ids=[self.point_id(h) for h in keys], with_vectors=True
            )
        return {p.payload["text_hash"]: np.asarray(p.vector, dtype=np.float32) for p in points}

    def search(self, vector: np.ndarray, k: int) -> tuple[list[str], np.ndarray]:
        """``(keys, cosine scores)`` of the ``k`` nearest points, best first."""
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
