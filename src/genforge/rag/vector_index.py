"""The ``VectorIndex`` interface: where a store's chunk vectors live, keyed by the chunk text's content hash.

A store asks its vector index for four things only — :meth:`~VectorIndex.upsert`, :meth:`~VectorIndex.fetch`,
:meth:`~VectorIndex.delete` and :meth:`~VectorIndex.search` — so no store code branches on the backend.
Keys are SHA-256 hex digests of the embedded text (one vector per distinct text, which is also the
store's embedding cache). Implementations register themselves in :data:`VECTOR_INDEXES` under the name
used by ``StoreConfig.backend``; a new backend is one file plus one line in the registry's module list:

- ``segments`` (:mod:`genforge.rag.segment_index`): memory-mapped float32 files beside the catalog;
- ``qdrant`` (:mod:`genforge.rag.qdrant_index`): a Qdrant collection (local folder or server URL);
- ``pgvector`` (:mod:`genforge.rag.pgvector_index`): a PostgreSQL table with pgvector (``postgresql://``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from genforge.core.registry import Registry

if TYPE_CHECKING:
    from genforge.rag.catalog import Catalog
    from genforge.rag.config import StoreConfig

VECTOR_INDEXES = Registry(
    "vector index",
    modules=["genforge.rag.segment_index", "genforge.rag.qdrant_index", "genforge.rag.pgvector_index"],
)


@dataclass
class IndexContext:
    """What a vector index is opened with.

    ``path`` is the store directory, ``dim`` the vector size, ``catalog`` the store's SQLite catalog (an
    index may keep its own tables there), ``lock(exclusive)`` the store's reader/writer lock: shared while
    a reader loads a snapshot, exclusive while files a snapshot might still use are replaced or deleted.
    """

    path: Path
    dim: int
    config: StoreConfig
    catalog: Catalog
    lock: Callable[[bool], AbstractContextManager[None]]


class VectorIndex(ABC):
    """Unit vectors keyed by content hash, with exact or approximate cosine search."""

    def __init__(self, context: IndexContext) -> None:
        self.context = context
        self.dim = context.dim

    @abstractmethod
    def upsert(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        """Store ``(len(keys), dim)`` float32 ``vectors`` under ``keys`` (existing keys are overwritten)."""

    @abstractmethod
    def fetch(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors of ``keys``; keys that are not stored are absent from the result."""

    @abstractmethod
    def delete(self, keys: Sequence[str]) -> None:
        """Forget ``keys`` (unknown keys are ignored)."""

    @abstractmethod
    def search(self, vector: np.ndarray, k: int) -> tuple[list[str], np.ndarray]:
        """``(keys, cosine scores)`` of the ``k`` nearest stored vectors to a unit ``vector``, best first."""

    def refresh(self) -> None:  # noqa: B027 - optional hook
        """Called when the store's generation moved (another writer committed): reload cached state."""

    def maintain(self, live: set[str]) -> None:  # noqa: B027 - optional hook
        """End of an index run: ``live`` holds every key a chunk still uses; drop or compact the rest."""

    def repair(self) -> list[str]:
        """Start of an index run: fix damaged storage; returns the keys whose vectors were lost."""
        return []

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release files, clients and connections."""


def open_vector_index(context: IndexContext) -> VectorIndex:
    """The registered vector index named by ``context.config.backend``."""
    return VECTOR_INDEXES.get(context.config.backend).obj(context)
