"""Retrieval-augmented generation: ingest, hybrid retrieval, grounded answers with citations, evaluation.

Python API::

    import genforge
    from genforge.rag import Store, RetrievalConfig
    Store("my-store").index("docs/")                                     # incremental
    hits = genforge.search("how do I resume training?", store="my-store")  # hybrid BM25 + dense, RRF
    answer = genforge.ask("how do I resume training?", store="my-store",   # extractive, cited, guarded
                          retrieval=RetrievalConfig(k=3))

Submodules are imported lazily so ``import genforge.rag`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "ask": "genforge.rag.api",
    "search": "genforge.rag.api",
    "RetrievalConfig": "genforge.rag.config",
    "Store": "genforge.rag.store",
    "StoreConfig": "genforge.rag.config",
    "SearchHit": "genforge.rag.records",
    "IndexReport": "genforge.rag.records",
    "VectorIndex": "genforge.rag.vector_index",
    "VECTOR_INDEXES": "genforge.rag.vector_index",
    "RETRIEVERS": "genforge.rag.retrievers",
    "RagPipeline": "genforge.rag.pipeline",
    "Answer": "genforge.rag.pipeline",
    "ChatClient": "genforge.rag.generate",
    "open_store": "genforge.rag.corpus",
    "default_store_path": "genforge.rag.corpus",
    "build_default_store": "genforge.rag.corpus",
    "evaluate": "genforge.rag.evaluate",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'genforge.rag' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
