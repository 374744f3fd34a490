"""Retrieval-augmented generation: ingest, hybrid retrieval, grounded answers with citations, evaluation.

Python API::

    from genforge.rag import Store, RagPipeline, open_store
    store = Store("my-store"); store.index("docs/")            # incremental
    hits = store.search("how do I resume training?", k=5)      # hybrid BM25 + dense, RRF
    answer = RagPipeline(store).ask("how do I resume training?")  # extractive, cited, guarded

Submodules are imported lazily so ``import genforge.rag`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "Store": "genforge.rag.store",
    "StoreConfig": "genforge.rag.store",
    "SearchHit": "genforge.rag.store",
    "IndexReport": "genforge.rag.store",
    "RagPipeline": "genforge.rag.pipeline",
    "Answer": "genforge.rag.pipeline",
    "ChatClient": "genforge.rag.generate",
    "open_store": "genforge.rag.corpus",
    "default_store_path": "genforge.rag.corpus",
    "evaluate": "genforge.rag.evaluate",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'genforge.rag' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
