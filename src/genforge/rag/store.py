"""The embedded, persistent, incremental RAG store: a thin front over its catalog, vector index and retrievers.

Layout of a store directory::

    store.sqlite        the catalog: roots, documents, chunks, settings, generation (source of truth); for a
                        postgresql:// store it is in PostgreSQL instead (genforge.rag.pg_catalog), and this
                        folder, in the user cache, holds only BM25 and the locks
    vectors/seg-N.f32   the built-in vector index's float32 segments (``backend="segments"``)
    qdrant/             the Qdrant vector index in local mode (``backend="qdrant"``)
    bm25/               the bm25s index of the generation named in bm25/generation.json (rebuilt if stale)
    write.lock          held (flock, exclusive) for the whole of an index run: one writer at a time
    read.lock           readers hold it shared while they load a snapshot; writers take it exclusively
                        only for the instant they delete or swap files a snapshot might still need

:class:`Store` holds the locks, the read snapshot (BM25 and the chunk -> vector key map of one generation),
:meth:`Store.index` (which hands the work to :class:`genforge.rag.indexer.Indexer`) and :meth:`Store.search`
(which hands it to the retriever named in :class:`RetrievalConfig`). Reading never writes: a store that
does not exist is an error, not an empty store.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from genforge.core.errors import ConfigError, DataError
from genforge.guard import Guard
from genforge.rag import catalog as catalog_file
from genforge.rag.bm25 import BM25Index
from genforge.rag.catalog import Catalog
from genforge.rag.chunking import embed_text
from genforge.rag.config import EMBEDDER_KINDS, PERSISTED_KEYS, RetrievalConfig, StoreConfig
from genforge.rag.indexer import Indexer
from genforge.rag.loaders import SUFFIXES, iter_files
from genforge.rag.locks import StoreLocked, file_lock
from genforge.rag.pg_catalog import PgCatalog, migrate_local, writer_lock
from genforge.rag.pgvector_index import catalog_folder, is_postgres_url
from genforge.rag.records import IndexReport, SearchHit
from genforge.rag.retrievers import get_retriever
from genforge.rag.retrievers.mmr import mmr_rerank
from genforge.rag.scan import ChunkScanner
from genforge.rag.vector_index import IndexContext, VectorIndex, open_vector_index

log = logging.getLogger(__name__)
BM25_MARKER = "generation.json"  # in bm25/: the catalog and generation the index was built from

__all__ = ["IndexReport", "SearchHit", "Store", "StoreConfig", "StoreLocked"]


@dataclass
class _Snapshot:
    generation: int
    by_key: dict[str, list[int]]  # vector key -> chunk row ids, in chunk order
    bm25: BM25Index


class Store:
    """A persistent RAG store in directory ``path`` (created by the first :meth:`index`).

    Args:
        path: the store directory, or a ``postgresql://`` URL (vectors and catalog in PostgreSQL +
            pgvector, BM25 cached in a local folder; see :mod:`genforge.rag.pg_catalog`).
        config: settings for a new store; for an existing store the recorded chunking, embedder and
            backend win unless given explicitly here (changed chunking re-chunks every document).
        embedding: any :class:`genforge.embed.base.Embedding` with text vectors; default all-MiniLM-L6-v2,
            loaded on first use.
        notify: called with a one-line message when the store has to wait for another writer.
    """

    def __init__(self, path: str | os.PathLike, config: StoreConfig | None = None, embedding=None,
                 notify: Callable[[str], None] | None = None) -> None:  # fmt: skip
        self._pg_url: str | None = None
        if is_postgres_url(path):  # vectors and catalog in PostgreSQL, BM25 in a local folder named after it
            given = config.model_dump(include=config.model_fields_set) if config is not None else {}
            config = StoreConfig.build({**given, "backend": "pgvector", "postgres_url": path}, where="store")
            self._pg_url = str(path)
            path = catalog_folder(path, config.postgres_table)
        self.path = Path(path).expanduser()
        self._explicit = set(config.model_fields_set) if config is not None else set()
        self._explicit_chunking = set(config.chunking.model_fields_set) if config is not None else set()
        self.config = config or StoreConfig()
        self._embedding = embedding
        self.notify = notify
        self._catalog: Catalog | None = None
        self._vectors: VectorIndex | None = None
        self._lock = threading.RLock()
        self._snapshot: _Snapshot | None = None
        self._last_query: tuple[str, np.ndarray] | None = None
        self.embedding_meta: dict[str, Any] = {}

    # opening -----------------------------------------------------------------------------------------
    def exists(self) -> bool:
        """A catalog with a schema is there (a file left by an interrupted creation does not count)."""
        local = catalog_file.has_schema(self.path / catalog_file.FILE)  # for PostgreSQL: schema 1, migrated
        return local or (
            self._pg_url is not None and PgCatalog.exists(self._pg_url, self.config.postgres_table)
        )

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            if not self.exists():
                raise DataError(
                    f"no RAG store at {self.path}: build one with 'genforge rag index PATH --store {self.path}'"
                )
            self._catalog = self._open_catalog()
            self._load_settings()
        return self._catalog

    def _open_catalog(self) -> Catalog | PgCatalog:
        if self._pg_url is None:
            return Catalog.open(self.path)
        table = self.config.postgres_table
        if migrate_local(self._pg_url, table, self.path):
            log.warning("moved the catalog of %s into PostgreSQL (store schema 2)", self.path)
        return PgCatalog.open(self._pg_url, table)

    @property
    def vectors(self) -> VectorIndex:
        if self._vectors is None:
            context = IndexContext(self.path, self.dim, self.config, self.catalog, self._read_lock)
            self._vectors = open_vector_index(context)
        return self._vectors

    def _create(self) -> None:
        embedding = self.embedding
        self._match_embedder(embedding.kind)
        persisted = self.config.model_dump(include=set(PERSISTED_KEYS))
        meta = {"settings": persisted, "embedding": {"kind": embedding.kind, "dim": embedding.dim,
                                                     "model": _model_name(embedding)},
                "store_id": uuid.uuid4().hex}  # fmt: skip
        if self._pg_url is None:
            self._catalog = Catalog.create(self.path, meta)
        else:
            self._catalog = PgCatalog.create(self._pg_url, self.config.postgres_table, meta)
        self._load_settings()

    def _match_embedder(self, kind: str) -> None:
        """A given MiniLM embedding object decides the recorded ``embedder`` (so reopening rebuilds it)."""
        embedder = next((name for name, k in EMBEDDER_KINDS.items() if k == kind), None)
        if embedder is None or embedder == self.config.embedder:
            return
        if "embedder" in self._explicit:
            raise ConfigError(
                f"the store is configured with embedder '{self.config.embedder}' but was given a {kind} embedding"
            )
        self.config = self.config.model_copy(update={"embedder": embedder})

    def _load_settings(self) -> None:
        persisted = self._catalog.meta("settings")
        merged = self.config.model_dump()
        for key in PERSISTED_KEYS:
            if key not in self._explicit:
                merged[key] = persisted[key]
        if "chunking" in self._explicit:
            given = self.config.chunking.model_dump(include=self._explicit_chunking)
            merged["chunking"] = {**persisted["chunking"], **given}
        for key, what in (("backend", "keeps vectors in"), ("embedder", "was embedded with")):
            if merged[key] != persisted[key]:
                raise ConfigError(
                    f"{self.path} {what} '{persisted[key]}', not '{merged[key]}': leave out the {key} setting "
                    f"to use it as it is, or use a new --store for '{merged[key]}'"
                )
        self.config = StoreConfig.build(merged, where="store")
        self.embedding_meta = self._catalog.meta("embedding")

    @property
    def embedding(self):
        """The query/indexing embedding: the one given, else the store's ``embedder`` setting."""
        if self._embedding is None:
            if self.exists():
                _ = self.catalog  # the recorded settings decide the embedder, not the defaults
            if self.config.embedder == "minilm-onnx":
                from genforge.embed.sentence_onnx import OnnxSentenceEmbedding

                self._embedding = OnnxSentenceEmbedding()
            elif self.config.embedder == "e5-small":
                from genforge.embed.e5_small import E5SmallEmbedding

                self._embedding = E5SmallEmbedding()
            else:
                from genforge.embed.sentence import SentenceEmbedding

                self._embedding = SentenceEmbedding()
        return self._embedding

    @property
    def dim(self) -> int:
        _ = self.catalog
        return int(self.embedding_meta["dim"])

    def _check_embedding(self) -> None:
        _ = self.catalog  # opening it reads the recorded embedding
        kind, dim = self.embedding.kind, self.embedding.dim
        meta = self.embedding_meta
        if (kind, dim) != (meta["kind"], meta["dim"]):
            raise ConfigError(
                f"{self.path} holds {meta['kind']} vectors of dim {meta['dim']}, not {kind}/{dim}: "
                "use the same embedding or a new --store"
            )

    def close(self) -> None:
        with self._lock:
            if self._vectors is not None:
                self._vectors.close()
                self._vectors = None
            if self._catalog is not None:
                self._catalog.close()
                self._catalog = None
            self._snapshot = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # locks -------------------------------------------------------------------------------------------
    def _flock(self, name: str, exclusive: bool, timeout: float):
        return file_lock(self.path, name, exclusive, timeout, self.notify)

    def _read_lock(self, exclusive: bool):
        return self._flock("read.lock", exclusive, self.config.lock_timeout)

    def _writer_lock(self):
        """For a PostgreSQL catalog, the lock that keeps writers on other machines out too."""
        if self._pg_url is None:
            return contextlib.nullcontext()
        return writer_lock(self._pg_url, self.config.postgres_table, self.config.lock_timeout, self.notify)

    # indexing ----------------------------------------------------------------------------------------
    def index(self, root: str | os.PathLike, *, suffixes: Sequence[str] | None = None,
              progress: Callable[[int, int], None] | None = None) -> IndexReport:  # fmt: skip
        """Bring the store up to date with the files under ``root`` (see :mod:`genforge.rag.indexer`).

        ``suffixes`` restricts the file types (default: all supported: .txt .md .rst .html .pdf);
        ``progress(done, total)`` is called after each committed batch. Unless ``scan`` is off in the
        store config, chunks are checked by the injection rails (:mod:`genforge.rag.scan`).
        """
        started = time.perf_counter()
        root_path = Path(root).expanduser().resolve()
        if not root_path.exists():
            raise DataError(f"{root} does not exist")
        if self.path.exists() and not self.path.is_dir():
            raise ConfigError(f"--store {self.path} is a file: give a folder for the store")
        wanted = {s if s.startswith(".") else f".{s}" for s in (suffixes or SUFFIXES)}
        unknown = wanted - set(SUFFIXES)
        if unknown:
            raise ConfigError(
                f"unsupported suffixes {sorted(unknown)} (supported: {', '.join(sorted(SUFFIXES))})"
            )
        if self._pg_url is not None:
            self.exists()  # an unreachable server or one without pgvector stops here, before anything is written
        has_files = any(p.suffix.lower() in wanted for p in iter_files(root_path))
        if not has_files and not self.exists():
            raise DataError(
                f"no files of a supported type ({', '.join(sorted(wanted))}) under {root}: nothing indexed"
            )
        scanner = ChunkScanner(Guard.load(self.config.scan_policy)) if self.config.scan else None
        report = IndexReport(root=str(root_path))
        with self._flock("write.lock", True, self.config.lock_timeout), self._writer_lock(), self._lock:
            if not self.exists():
                self._create()
            self._check_embedding()
            self._collect_garbage()
            base = root_path if root_path.is_dir() else root_path.parent
            Indexer(self.catalog, self.vectors, self.embedding, self.config, scanner).run(
                root_path, base, wanted, report, progress
            )
            generation = self.catalog.generation()
            if not self._bm25_fresh(generation):
                self._save_bm25(self._build_bm25(), generation)
        report.seconds = time.perf_counter() - started
        return report

    def _collect_garbage(self) -> None:
        """Remove BM25 temp folders and catalog temp files left by an interrupted run."""
        for path in [*self.path.glob("bm25.*"), *self.path.glob(f"{catalog_file.FILE}.tmp-*")]:
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)

    def _build_bm25(self) -> BM25Index:
        rows = self.catalog.chunk_texts()
        return BM25Index().fit([embed_text(h, t) for _, h, t in rows], [cid for cid, *_ in rows])

    def _save_bm25(self, index: BM25Index, generation: int) -> None:
        tmp = self.path / f"bm25.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        index.save(tmp)
        marker = {"store": self.catalog.meta("store_id"), "generation": generation}
        (tmp / BM25_MARKER).write_text(json.dumps(marker))
        old = self.path / f"bm25.old-{os.getpid()}"
        with self._read_lock(True):
            if (self.path / "bm25").exists():
                os.replace(self.path / "bm25", old)
            os.replace(tmp, self.path / "bm25")
            with self.catalog.transaction():
                self.catalog.set_meta("bm25_generation", generation)
        shutil.rmtree(old, ignore_errors=True)

    # reading -----------------------------------------------------------------------------------------
    def generation(self) -> int:
        return self.catalog.generation()

    def _current(self) -> _Snapshot:
        with self._lock:
            generation = self.generation()
            if self._snapshot is None or self._snapshot.generation != generation:
                self._snapshot = self._load_snapshot()
                self.vectors.refresh()
            return self._snapshot

    def _load_snapshot(self) -> _Snapshot:
        cat = self.catalog
        with self._read_lock(False):
            with cat.snapshot():  # one consistent read of generation + rows
                generation = cat.generation()
                fresh_bm25 = self._bm25_fresh(generation)
                by_key: dict[str, list[int]] = {}
                for cid, key in cat.chunk_keys():
                    by_key.setdefault(key, []).append(cid)
            bm25 = BM25Index.load(self.path / "bm25") if fresh_bm25 else None
        if bm25 is None:  # the writer was interrupted before saving BM25: rebuild it in memory
            bm25 = self._build_bm25()
        return _Snapshot(generation, by_key, bm25)

    def _bm25_fresh(self, generation: int) -> bool:
        """The local BM25 folder was built from ``generation`` of this catalog, as its marker says (a
        folder from before markers trusts the catalog's ``bm25_generation``, if the catalog is local)."""
        marker = self.path / "bm25" / BM25_MARKER
        if marker.exists():
            return json.loads(marker.read_text()) == {
                "store": self.catalog.meta("store_id"),
                "generation": generation,
            }
        local = self._pg_url is None and (self.path / "bm25").exists()
        return local and self.catalog.meta("bm25_generation") == generation

    def stats(self) -> dict[str, Any]:
        cat = self.catalog
        return {
            "store": str(self.path),
            **cat.counts(),
            "flagged_chunks": cat.flagged_chunks(),
            "roots": cat.roots(),
            "generation": self.generation(),
            "embedding": self.embedding_meta,
            "settings": self.config.model_dump(include=set(PERSISTED_KEYS)),
        }

    def query_vector(self, query: str) -> np.ndarray:
        """The unit embedding of ``query`` (the last one is cached: hybrid search and MMR share it)."""
        with self._lock:
            if self._last_query is not None and self._last_query[0] == query:
                return self._last_query[1]
        self._check_embedding()
        embed = getattr(self.embedding, "embed_queries", self.embedding.embed_texts)  # asymmetric models (E5)
        vector = np.asarray(embed([query])[0], dtype=np.float32)
        with self._lock:
            self._last_query = (query, vector)
        return vector

    def dense_search(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(chunk row ids, cosine scores)`` of the ``k`` nearest chunks to a unit ``vector``, best first."""
        snap = self._current()
        keys, scores = self.vectors.search(np.asarray(vector, dtype=np.float32), k + 8)
        ids, out = [], []
        for key, score in zip(keys, scores.tolist(), strict=True):
            for cid in snap.by_key.get(key, ()):
                ids.append(cid)
                out.append(score)
        return np.asarray(ids[:k], dtype=np.int64), np.asarray(out[:k], dtype=np.float32)

    def bm25_search(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(chunk row ids, BM25 scores)`` best first; chunks sharing no term with the query are absent."""
        return self._current().bm25.search(query, k)

    def vectors_of(self, cids: Sequence[int]) -> np.ndarray:
        """``(len(cids), dim)`` stored vectors of the given chunk row ids."""
        if not len(cids):
            return np.empty((0, self.dim), np.float32)
        keys = self.catalog.keys_of(cids)
        found = self.vectors.fetch(list(keys.values()))
        return np.stack([found[keys[int(c)]] for c in cids])

    def records(self, cids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """Chunk rows with provenance for the given chunk row ids."""
        with self._lock:
            return self.catalog.records(cids)

    def documents_of(self, cids: Sequence[int]) -> dict[int, int]:
        """The document row id of each given chunk row id."""
        with self._lock:
            return self.catalog.documents_of(cids)

    def chunk_counts(self, doc_ids: Sequence[int]) -> dict[int, int]:
        """The number of chunks of each given document row id."""
        with self._lock:
            return self.catalog.chunk_counts(doc_ids)

    def search(self, query: str, k: int | None = None, *, retrieval: RetrievalConfig | None = None,
               **settings: Any) -> list[SearchHit]:  # fmt: skip
        """The best chunks for ``query`` under ``retrieval`` (its ``k`` unless ``k`` is given here);
        keyword ``settings`` (``retriever="dense"``, ``mmr=True`` …) override fields of ``retrieval``."""
        config = retrieval or RetrievalConfig()
        if k is not None or settings:
            config = RetrievalConfig.build({**config.model_dump(), **settings, **({"k": k} if k is not None else {})},
                                           where="retrieval")  # fmt: skip
        if not query.strip():
            raise DataError("empty query")
        _ = self.catalog
        ranking = get_retriever(config.retriever).rank(self, query, config)
        kind = ranking.kind
        if config.mmr:
            ranked = mmr_rerank(self, query, ranking, config.k, config.mmr_lambda)
            kind += "+mmr"
        else:
            ranked = list(ranking.order)[: config.k]
        records = self.records(ranked)
        hits = []
        for rank, cid in enumerate(ranked, start=1):
            scores = {name: float(values[cid]) for name, values in ranking.scores.items() if cid in values}
            hits.append(SearchHit(rank=rank, score=float(ranking.order[cid]), score_kind=kind, scores=scores,
                                  **records[cid]))  # fmt: skip
        return hits


def _model_name(embedding) -> str:
    settings = getattr(embedding, "state", None)
    try:
        return str(settings()[0].get("model", embedding.kind)) if settings else embedding.kind
    except NotImplementedError:
        return embedding.kind
