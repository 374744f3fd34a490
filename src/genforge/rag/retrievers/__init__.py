"""Retrievers: small objects that rank a store's chunks for a query, chosen by ``RetrievalConfig.retriever``.

A retriever gets the store (its ``dense_search``, ``bm25_search``, ``query_vector`` and ``documents_of``)
and returns a :class:`Ranking`. A new retriever is one file with a ``@RETRIEVERS.register("name")`` class
plus its module in the registry's list below; the store, the pipeline, the CLI and the server find it by
name. Maximal marginal relevance (:mod:`genforge.rag.retrievers.mmr`) re-ranks any retriever's result.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from genforge.core.registry import Registry

if TYPE_CHECKING:
    from genforge.rag.config import RetrievalConfig
    from genforge.rag.store import Store

RETRIEVERS = Registry(
    "retriever",
    modules=[
        "genforge.rag.retrievers.dense",
        "genforge.rag.retrievers.lexical",
        "genforge.rag.retrievers.hybrid",
    ],
)


@dataclass
class Ranking:
    """Chunk row ids best first with their final scores, the score's kind, and every source's scores."""

    order: dict[int, float]
    kind: str
    scores: dict[str, dict[int, float]] = field(default_factory=dict)


class Retriever(ABC):
    """Ranks chunks of a store for a query; holds no per-query state."""

    @abstractmethod
    def rank(self, store: Store, query: str, config: RetrievalConfig) -> Ranking:
        """The top ``config.pool`` chunks for ``query``."""


def get_retriever(name: str) -> Retriever:
    return RETRIEVERS.get(name).obj()
