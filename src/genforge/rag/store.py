"""The embedded, persistent, incremental RAG store.

Layout of a store directory::

    store.sqlite        roots, documents (content hash, size, mtime), chunks (text, provenance, vector
                        location), vector segments, meta (settings, generation)      -- source of truth
    vectors/seg-N.f32   raw float32 (rows, dim) vector segments, memory-mapped for search
    bm25/               the bm25s index of the current generation (rebuilt in memory if stale)
    qdrant/             vectors when the Qdrant backend runs in local mode
    write.lock          held (flock, exclusive) for the whole of an index run: one writer at a time
    read.lock           readers hold it shared while they load a snapshot; writers take it exclusively
                        only for the instant they delete or swap files a snapshot might still need

Indexing is incremental: a file whose size and mtime are unchanged is not read; a file whose SHA-256 is
unchanged is not re-chunked; a chunk whose text hash is already in the store reuses its vector instead of
being embedded again; files that disappeared from the root are dropped. Each batch of files is committed
in one SQLite transaction after its vector segment is on disk, so an interrupted run leaves every file
either fully indexed or untouched (orphaned segment files are collected on the next run) and the SQLite
generation counter tells readers when to reload.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from genforge.core.config import Config
from genforge.core.errors import ConfigError, DataError, GenforgeError
from genforge.rag.bm25 import BM25Index
from genforge.rag.chunking import ChunkConfig, WordPieceCounter, chunk_document, embed_text
from genforge.rag.fusion import document_fusion, reciprocal_rank_fusion
from genforge.rag.loaders import SUFFIXES, UnreadableFile, iter_files, load_document
from genforge.rag.vectors import QdrantVectors, mmr, open_segment, top_k, write_segment

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
SearchMode = Literal["hybrid", "dense", "bm25"]
Fusion = Literal["document", "chunk"]


class StoreLocked(GenforgeError):
    """Another process holds the store's write lock for longer than the timeout."""


class StoreConfig(Config):
    """Settings fixed when a store is created (chunking, vector backend) plus run-time knobs."""

    chunk_tokens: int = Field(
        200, ge=16, le=256, description="word-piece budget per chunk, breadcrumb included"
    )
    overlap_tokens: int = Field(
        32, ge=0, le=128, description="word pieces of trailing sentences repeated where a block is split"
    )
    overlap_all: bool = Field(
        False, description="overlap at every chunk boundary, not only where a paragraph is split"
    )
    merge_sections: bool = Field(
        False,
        description="pack consecutive whole sections under a common heading into one chunk while they fit "
        "the budget (fewer chunks; citations then name the common heading)",
    )
    embedder: Literal["minilm", "minilm-onnx"] = Field(
        "minilm",
        description="all-MiniLM-L6-v2 on PyTorch (minilm) or on ONNX Runtime (minilm-onnx, needs genforge[onnx])",
    )
    backend: Literal["segments", "qdrant"] = Field("segments", description="where vectors live")
    qdrant_url: str | None = Field(None, description="Qdrant server URL; default: local mode in STORE/qdrant")
    qdrant_collection: str = Field("genforge", description="Qdrant collection name")
    batch_chunks: int = Field(512, ge=1, description="chunks per atomic commit while indexing")
    compact_segments: int = Field(8, ge=1, description="merge vector segments when there are more than this")
    lock_timeout: float = Field(600.0, ge=0, description="seconds to wait for another writer to finish")

    def chunking(self) -> ChunkConfig:
        return ChunkConfig(
            chunk_tokens=self.chunk_tokens,
            overlap_tokens=self.overlap_tokens,
            overlap_all=self.overlap_all,
            merge_sections=self.merge_sections,
        )


PERSISTED_KEYS = (
    "chunk_tokens",
    "overlap_tokens",
    "overlap_all",
    "merge_sections",
    "embedder",
    "backend",
    "qdrant_url",
    "qdrant_collection",
)
# the Embedding.kind each embedder setting produces (a store refuses vectors of another kind)
EMBEDDER_KINDS = {"minilm": "sentence", "minilm-onnx": "sentence-onnx"}


@dataclass
class IndexReport:
    """What an index run did."""

    root: str
    files_seen: int = 0
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    chunks_added: int = 0
    chunks_embedded: int = 0
    chunks_reused: int = 0
    seconds: float = 0.0
    total_documents: int = 0
    total_chunks: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SearchHit:
    """One retrieved chunk with its provenance and scores."""

    rank: int
    chunk_id: str
    source: str
    root: str
    title: str
    headings: list[str]
    start: int
    end: int
    text: str
    score: float
    score_kind: str
    scores: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def embed_text(self) -> str:
        return embed_text(self.headings, self.text)


@dataclass
class _Snapshot:
    generation: int
    cids: np.ndarray  # (N,) chunk row ids of live chunks
    segments: list[tuple[np.ndarray, np.ndarray, np.ndarray]]  # (memmap, live rows, cids)
    by_hash: dict[str, list[int]]  # text hash -> chunk row ids (Qdrant backend)
    bm25: BM25Index
    locations: dict[int, tuple[int, int]] | None = None  # cid -> (segment index, row), built on demand

    def location(self, cid: int) -> tuple[int, int]:
        if self.locations is None:
            self.locations = {
                int(c): (i, int(r))
                for i, (_, rows, cids) in enumerate(self.segments)
                for r, c in zip(rows, cids, strict=True)
            }
        return self.locations[cid]


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS roots (root_id INTEGER PRIMARY KEY, path TEXT UNIQUE NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id INTEGER PRIMARY KEY, root_id INTEGER NOT NULL, source TEXT NOT NULL, content_hash TEXT NOT NULL,
    size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, kind TEXT NOT NULL, title TEXT NOT NULL,
    chunking TEXT NOT NULL, num_chunks INTEGER NOT NULL, UNIQUE (root_id, source));
CREATE TABLE IF NOT EXISTS chunks (
    cid INTEGER PRIMARY KEY, chunk_id TEXT UNIQUE NOT NULL, doc_id INTEGER NOT NULL, ordinal INTEGER NOT NULL,
    headings TEXT NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL, text TEXT NOT NULL,
    num_tokens INTEGER NOT NULL, text_hash TEXT NOT NULL, segment INTEGER, row INTEGER);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks (doc_id);
CREATE INDEX IF NOT EXISTS chunks_hash ON chunks (text_hash);
CREATE TABLE IF NOT EXISTS segments (segment INTEGER PRIMARY KEY, file TEXT NOT NULL, rows INTEGER NOT NULL);
"""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Store:
    """A persistent RAG store in directory ``path`` (created on first index).

    Args:
        path: the store directory.
        config: settings for a new store; for an existing store the persisted chunking and backend win
            unless given explicitly here, in which case changed chunking re-chunks every document.
        embedding: any :class:`genforge.embed.base.Embedding` with text vectors; default all-MiniLM-L6-v2,
            loaded on first use.
    """

    def __init__(self, path: str | os.PathLike, config: StoreConfig | None = None, embedding=None) -> None:
        self.path = Path(path)
        self._explicit = set(config.model_fields_set) if config is not None else set()
        self.config = config or StoreConfig()
        self._embedding = embedding
        self._db: sqlite3.Connection | None = None
        self._lock = threading.RLock()
        self._snapshot: _Snapshot | None = None
        self._qdrant: QdrantVectors | None = None
        self._counter: WordPieceCounter | None = None

    # connection & settings -------------------------------------------------------------------------
    def exists(self) -> bool:
        return (self.path / "store.sqlite").exists()

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            if not self.exists():
                raise DataError(
                    f"no RAG store at {self.path}: build one with 'genforge rag index PATH --store {self.path}'"
                )
            self._db = self._connect()
            self._load_settings()
        return self._db

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(
            self.path / "store.sqlite", timeout=60, check_same_thread=False, isolation_level=None
        )
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA foreign_keys=OFF")
        return db

    def _create(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        (self.path / "vectors").mkdir(exist_ok=True)
        db = self._db = self._connect()  # set first: the embedding property must not reload settings yet
        try:
            with _transaction(db):
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                if db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() is None:
                    embedding = self.embedding
                    self._match_embedder(embedding.kind)
                    persisted = {k: getattr(self.config, k) for k in PERSISTED_KEYS}
                    rows = {
                        "schema_version": SCHEMA_VERSION,
                        "settings": persisted,
                        "embedding": {
                            "kind": embedding.kind,
                            "dim": embedding.dim,
                            "model": _model_name(embedding),
                        },
                        "generation": 0,
                        "bm25_generation": -1,
                    }
                    db.executemany(
                        "INSERT INTO meta VALUES (?, ?)", [(k, json.dumps(v)) for k, v in rows.items()]
                    )
        except BaseException:
            db.close()
            self._db = None
            raise
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

    def _meta(self, key: str, default: Any = None) -> Any:
        row = self._conn().execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def _set_meta(self, key: str, value: Any) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    def _load_settings(self) -> None:
        db = self._db
        row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if row is None or json.loads(row[0]) != SCHEMA_VERSION:
            raise DataError(f"{self.path} was written by another genforge version; delete it and index again")
        persisted = json.loads(db.execute("SELECT value FROM meta WHERE key='settings'").fetchone()[0])
        merged = self.config.model_dump()
        for key in PERSISTED_KEYS:
            # stores written before a setting existed hold its default
            persisted.setdefault(key, StoreConfig.model_fields[key].default)
            if key not in self._explicit:
                merged[key] = persisted[key]
        if merged["backend"] != persisted["backend"]:
            raise ConfigError(
                f"{self.path} keeps vectors in '{persisted['backend']}'; use a new --store to switch"
            )
        if merged["embedder"] != persisted["embedder"]:
            raise ConfigError(
                f"{self.path} was embedded with '{persisted['embedder']}'; use a new --store for "
                f"'{merged['embedder']}'"
            )
        self.config = StoreConfig.build(merged, where="store")
        self.embedding_meta = json.loads(
            db.execute("SELECT value FROM meta WHERE key='embedding'").fetchone()[0]
        )

    @property
    def embedding(self):
        """The query/indexing embedding: the one given, else the store's ``embedder`` setting."""
        if self._embedding is None:
            if self.exists():
                self._conn()  # the recorded settings decide the embedder, not the defaults
            if self.config.embedder == "minilm-onnx":
                from genforge.embed.sentence_onnx import OnnxSentenceEmbedding

                self._embedding = OnnxSentenceEmbedding()
            else:
                from genforge.embed.sentence import SentenceEmbedding

                self._embedding = SentenceEmbedding()
        return self._embedding

    @property
    def dim(self) -> int:
        return int(self.embedding_meta["dim"])

    def _check_embedding(self) -> None:
        kind, dim = self.embedding.kind, self.embedding.dim
        if (kind, dim) != (self.embedding_meta["kind"], self.embedding_meta["dim"]):
            raise ConfigError(
                f"{self.path} holds {self.embedding_meta['kind']} vectors of dim {self.embedding_meta['dim']}, "
                f"not {kind}/{dim}: use the same embedding or a new store"
            )

    def _vectors_backend(self) -> QdrantVectors:
        if self._qdrant is None:
            location = self.config.qdrant_url or str(self.path / "qdrant")
            self._qdrant = QdrantVectors(location, self.config.qdrant_collection, self.dim)
        return self._qdrant

    def close(self) -> None:
        with self._lock:
            if self._qdrant is not None:
                self._qdrant.close()
                self._qdrant = None
            if self._db is not None:
                self._db.close()
                self._db = None
            self._snapshot = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # locks -------------------------------------------------------------------------------------------
    @contextmanager
    def _flock(self, name: str, exclusive: bool, timeout: float) -> Iterator[None]:
        self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path / name, os.O_RDWR | os.O_CREAT, 0o644)
        mode = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    fcntl.flock(fd, mode)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise StoreLocked(
                            f"{self.path} is being indexed by another process; wait for it or raise lock_timeout"
                        ) from None
                    time.sleep(0.05)
            if exclusive and name == "write.lock":
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    # indexing ----------------------------------------------------------------------------------------
    def index(
        self,
        root: str | os.PathLike,
        *,
        suffixes: Sequence[str] | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> IndexReport:
        """Bring the store up to date with the files under ``root`` (see the module docstring).

        ``suffixes`` restricts the file types (default: all supported: .txt .md .rst .html .pdf);
        ``progress(done, total)`` is called after each committed batch.
        """
        started = time.perf_counter()
        root_path = Path(root).expanduser().resolve()
        if not root_path.exists():
            raise DataError(f"{root} does not exist")
        wanted = {s if s.startswith(".") else f".{s}" for s in (suffixes or SUFFIXES)}
        unknown = wanted - set(SUFFIXES)
        if unknown:
            raise ConfigError(
                f"unsupported suffixes {sorted(unknown)} (supported: {', '.join(sorted(SUFFIXES))})"
            )
        report = IndexReport(root=str(root_path))
        with self._flock("write.lock", True, self.config.lock_timeout), self._lock:
            if not self.exists():
                self._create()
            db = self._conn()
            self._check_embedding()
            self._collect_garbage()
            base = root_path if root_path.is_dir() else root_path.parent
            root_id = self._root_id(str(base))
            pending = self._scan(root_path, base, root_id, wanted, report)
            self._index_pending(root_id, pending, report, progress)
            self._finish(report)
            report.total_documents = db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
            report.total_chunks = db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        report.seconds = time.perf_counter() - started
        return report

    def _root_id(self, root: str) -> int:
        db = self._db
        row = db.execute("SELECT root_id FROM roots WHERE path=?", (root,)).fetchone()
        if row:
            return row[0]
        with _transaction(db):
            return db.execute("INSERT INTO roots (path) VALUES (?)", (root,)).lastrowid

    def _scan(
        self, root: Path, base: Path, root_id: int, wanted: set[str], report: IndexReport
    ) -> list[tuple]:
        db = self._db
        signature = json.dumps(self.config.chunking().model_dump(), sort_keys=True)
        known = {
            row[0]: row[1:]
            for row in db.execute(
                "SELECT source, doc_id, size, mtime_ns, content_hash, chunking FROM documents WHERE root_id=?",
                (root_id,),
            )
        }
        elsewhere = {
            row[0] for row in db.execute("SELECT source FROM documents WHERE root_id != ?", (root_id,))
        }
        pending, touched, seen = [], [], set()
        for path in iter_files(root):
            if path.suffix.lower() not in wanted:
                continue
            source = path.relative_to(base).as_posix()
            seen.add(source)
            report.files_seen += 1
            if source in elsewhere:
                raise DataError(
                    f"{source} is already indexed in {self.path} from another folder; use another --store"
                )
            stat = path.stat()
            old = known.get(source)
            if old and old[1] == stat.st_size and old[2] == stat.st_mtime_ns and old[4] == signature:
                report.unchanged += 1
                continue
            try:
                data = path.read_bytes()
            except OSError as exc:
                self._skip(report, source, f"cannot read ({exc.strerror})")
                continue
            digest = _sha256(data)
            if old and old[3] == digest and old[4] == signature:
                touched.append((stat.st_size, stat.st_mtime_ns, old[0]))
                report.unchanged += 1
                continue
            pending.append((path, source, data, digest, stat, old is not None))
        if root.is_dir():
            report.removed = sorted(s for s in known if s not in seen)
        with _transaction(db):
            db.executemany("UPDATE documents SET size=?, mtime_ns=? WHERE doc_id=?", touched)
        return pending

    def _skip(self, report: IndexReport, source: str, reason: str) -> None:
        log.info("skipping %s: %s", source, reason)
        report.skipped.append({"source": source, "reason": reason})

    def _index_pending(self, root_id: int, pending: list[tuple], report: IndexReport, progress) -> None:
        counter = self._counter = self._counter or WordPieceCounter()
        signature = json.dumps(self.config.chunking().model_dump(), sort_keys=True)
        batch: list[tuple] = []
        batch_chunks = 0
        done = 0
        for path, source, data, digest, stat, existed in pending:
            try:
                doc = load_document(path, source, data)
            except UnreadableFile as exc:
                self._skip(report, source, str(exc).split(": ", 1)[-1])
                if existed:
                    report.removed.append(source)
                continue
            chunks = chunk_document(doc, self.config.chunking(), counter)
            batch.append((doc, chunks, digest, stat, signature))
            (report.updated if existed else report.added).append(source)
            batch_chunks += len(chunks)
            if batch_chunks >= self.config.batch_chunks:
                self._commit_batch(root_id, batch, report)
                done += len(batch)
                batch, batch_chunks = [], 0
                if progress:
                    progress(done, len(pending))
        if batch:
            self._commit_batch(root_id, batch, report)
            if progress:
                progress(len(pending), len(pending))
        if report.removed:
            self._remove_documents(root_id, report.removed)

    def _existing_vectors(self, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """Vectors already stored for any of ``hashes`` (the persistent content-hash cache)."""
        if self.config.backend == "qdrant":
            return self._vectors_backend().fetch(list(hashes))
        found: dict[str, np.ndarray] = {}
        segments: dict[int, np.ndarray] = {}
        unique = list(dict.fromkeys(hashes))
        for i in range(0, len(unique), 500):
            part = unique[i : i + 500]
            marks = ",".join("?" * len(part))
            query = f"""SELECT c.text_hash, c.segment, c.row, s.file FROM chunks c JOIN segments s
                        ON c.segment = s.segment WHERE c.text_hash IN ({marks})"""
            for text_hash, segment, row, file in self._db.execute(query, part):
                if text_hash in found:
                    continue
                if segment not in segments:
                    segments[segment] = open_segment(self.path / "vectors" / file, self.dim)
                found[text_hash] = np.array(segments[segment][row])
        return found

    def _commit_batch(self, root_id: int, batch: list[tuple], report: IndexReport) -> None:
        db = self._db
        rows = [(doc, chunk) for doc, chunks, *_ in batch for chunk in chunks]
        texts = [chunk.embed_text() for _, chunk in rows]
        hashes = [_sha256(t.encode("utf-8")) for t in texts]
        vectors = np.zeros((len(rows), self.dim), dtype=np.float32)
        known = self._existing_vectors(hashes)
        todo = [i for i, h in enumerate(hashes) if h not in known]
        for i, h in enumerate(hashes):
            if h in known:
                vectors[i] = known[h]
        if todo:
            vectors[todo] = self.embedding.embed_texts([texts[i] for i in todo])
        report.chunks_embedded += len(todo)
        report.chunks_reused += len(rows) - len(todo)
        report.chunks_added += len(rows)

        segment_id, segment_file = None, None
        if self.config.backend == "qdrant":
            self._vectors_backend().upsert([hashes[i] for i in todo], vectors[todo])
        elif rows:
            segment_id = (db.execute("SELECT MAX(segment) FROM segments").fetchone()[0] or 0) + 1
            segment_file = f"seg-{segment_id:06d}.f32"
            write_segment(self.path / "vectors" / segment_file, vectors)

        old_hashes: set[str] = set()
        with _transaction(db):
            for doc, *_ in batch:
                old = db.execute(
                    "SELECT doc_id FROM documents WHERE root_id=? AND source=?", (root_id, doc.source)
                )
                old_id = old.fetchone()
                if old_id:
                    old_hashes.update(
                        r[0] for r in db.execute("SELECT text_hash FROM chunks WHERE doc_id=?", old_id)
                    )
                    db.execute("DELETE FROM chunks WHERE doc_id=?", old_id)
                    db.execute("DELETE FROM documents WHERE doc_id=?", old_id)
            doc_ids = {}
            for doc, chunks, digest, stat, signature in batch:
                doc_ids[doc.source] = db.execute(
                    """INSERT INTO documents (root_id, source, content_hash, size, mtime_ns, kind, title, chunking,
                       num_chunks) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                    (root_id, doc.source, digest, stat.st_size, stat.st_mtime_ns, doc.kind, doc.title, signature,
                     len(chunks)),
                ).lastrowid  # fmt: skip
            db.executemany(
                """INSERT INTO chunks (chunk_id, doc_id, ordinal, headings, start, end, text, num_tokens, text_hash,
                   segment, row) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [
                    (chunk.chunk_id, doc_ids[doc.source], chunk.ordinal, json.dumps(list(chunk.headings)),
                     chunk.start, chunk.end, chunk.text, chunk.num_tokens, hashes[i], segment_id,
                     i if segment_id else None)
                    for i, (doc, chunk) in enumerate(rows)
                ],
            )  # fmt: skip
            if segment_id:
                db.execute("INSERT INTO segments VALUES (?, ?, ?)", (segment_id, segment_file, len(rows)))
            self._bump_generation()
        self._forget_vectors(old_hashes - set(hashes))

    def _forget_vectors(self, hashes: set[str]) -> None:
        """Qdrant: delete points whose text no longer occurs in any chunk (segments are compacted instead)."""
        if self.config.backend != "qdrant" or not hashes:
            return
        still = set()
        hashes_list = list(hashes)
        for i in range(0, len(hashes_list), 500):
            part = hashes_list[i : i + 500]
            marks = ",".join("?" * len(part))
            still.update(
                r[0]
                for r in self._db.execute(f"SELECT text_hash FROM chunks WHERE text_hash IN ({marks})", part)
            )
        self._vectors_backend().delete(sorted(hashes - still))

    def _remove_documents(self, root_id: int, sources: Sequence[str]) -> None:
        db = self._db
        old_hashes: set[str] = set()
        with _transaction(db):
            for source in sources:
                row = db.execute(
                    "SELECT doc_id FROM documents WHERE root_id=? AND source=?", (root_id, source)
                ).fetchone()
                if row is None:
                    continue
                old_hashes.update(
                    r[0] for r in db.execute("SELECT text_hash FROM chunks WHERE doc_id=?", row)
                )
                db.execute("DELETE FROM chunks WHERE doc_id=?", row)
                db.execute("DELETE FROM documents WHERE doc_id=?", row)
            self._bump_generation()
        self._forget_vectors(old_hashes)

    def _bump_generation(self) -> None:
        generation = json.loads(
            self._db.execute("SELECT value FROM meta WHERE key='generation'").fetchone()[0]
        )
        self._set_meta("generation", generation + 1)

    def _finish(self, report: IndexReport) -> None:
        """Compact vector segments, drop dead ones, and rebuild BM25 if the generation moved."""
        if self.config.backend == "segments":
            self._compact()
        generation = self._meta("generation")
        if self._meta("bm25_generation") != generation or not (self.path / "bm25").exists():
            self._save_bm25(self._build_bm25(), generation)

    def _compact(self) -> None:
        db = self._db
        segments = db.execute("SELECT segment, file, rows FROM segments ORDER BY segment").fetchall()
        live = dict(db.execute("SELECT segment, COUNT(*) FROM chunks GROUP BY segment").fetchall())
        dead_files = [file for seg, file, _ in segments if live.get(seg, 0) == 0]
        total_rows = sum(rows for *_, rows in segments)
        live_rows = sum(live.values())
        needs_merge = len(segments) - len(dead_files) > self.config.compact_segments or (
            total_rows and live_rows < 0.7 * total_rows
        )
        if needs_merge and live_rows:
            order = db.execute(
                "SELECT c.cid, c.segment, c.row, s.file FROM chunks c JOIN segments s ON c.segment = s.segment "
                "ORDER BY c.cid"
            ).fetchall()
            maps = {file: open_segment(self.path / "vectors" / file, self.dim) for _, file, _ in segments}
            vectors = np.stack([maps[file][row] for _, _, row, file in order])
            new_id = segments[-1][0] + 1
            new_file = f"seg-{new_id:06d}.f32"
            write_segment(self.path / "vectors" / new_file, vectors)
            with _transaction(db):
                db.executemany(
                    "UPDATE chunks SET segment=?, row=? WHERE cid=?",
                    [(new_id, i, c[0]) for i, c in enumerate(order)],
                )
                db.execute("DELETE FROM segments")
                db.execute("INSERT INTO segments VALUES (?, ?, ?)", (new_id, new_file, len(order)))
                self._bump_generation()
            dead_files = [file for _, file, _ in segments]
        elif dead_files:
            with _transaction(db):
                db.executemany("DELETE FROM segments WHERE file=?", [(f,) for f in dead_files])
        if dead_files:
            with self._flock("read.lock", True, self.config.lock_timeout):
                for file in dead_files:
                    (self.path / "vectors" / file).unlink(missing_ok=True)

    def _collect_garbage(self) -> None:
        """Remove segment files and temp folders left by an interrupted run (nothing references them)."""
        referenced = {r[0] for r in self._db.execute("SELECT file FROM segments")}
        for path in (self.path / "vectors").glob("*"):
            if path.name not in referenced:
                path.unlink(missing_ok=True)
        for path in self.path.glob("bm25.*"):
            shutil.rmtree(path, ignore_errors=True)

    def _build_bm25(self) -> BM25Index:
        rows = self._conn().execute("SELECT cid, headings, text FROM chunks ORDER BY cid").fetchall()
        return BM25Index().fit([embed_text(json.loads(h), t) for _, h, t in rows], [r[0] for r in rows])

    def _save_bm25(self, index: BM25Index, generation: int) -> None:
        tmp = self.path / f"bm25.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        index.save(tmp)
        old = self.path / f"bm25.old-{os.getpid()}"
        with self._flock("read.lock", True, self.config.lock_timeout):
            if (self.path / "bm25").exists():
                os.replace(self.path / "bm25", old)
            os.replace(tmp, self.path / "bm25")
            with _transaction(self._db):
                self._set_meta("bm25_generation", generation)
        shutil.rmtree(old, ignore_errors=True)

    # reading -----------------------------------------------------------------------------------------
    def generation(self) -> int:
        return int(self._meta("generation"))

    def _current(self) -> _Snapshot:
        with self._lock:
            generation = self.generation()
            if self._snapshot is None or self._snapshot.generation != generation:
                self._snapshot = self._load_snapshot()
            return self._snapshot

    def _load_snapshot(self) -> _Snapshot:
        db = self._conn()
        with self._flock("read.lock", False, self.config.lock_timeout):
            with _transaction(db, "BEGIN"):  # one consistent read of generation + rows
                generation = json.loads(
                    db.execute("SELECT value FROM meta WHERE key='generation'").fetchone()[0]
                )
                bm25_generation = json.loads(
                    db.execute("SELECT value FROM meta WHERE key='bm25_generation'").fetchone()[0]
                )
                rows = db.execute(
                    "SELECT cid, segment, row, text_hash FROM chunks ORDER BY segment, row"
                ).fetchall()
                files = dict(db.execute("SELECT segment, file FROM segments").fetchall())
            cids = np.asarray([r[0] for r in rows], dtype=np.int64)
            segments = []
            by_hash: dict[str, list[int]] = {}
            if self.config.backend == "segments":
                for segment, file in sorted(files.items()):
                    members = [(r[2], r[0]) for r in rows if r[1] == segment]
                    if not members:
                        continue
                    matrix = open_segment(self.path / "vectors" / file, self.dim)
                    seg_rows, seg_cids = (np.asarray(x, dtype=np.int64) for x in zip(*members, strict=True))
                    segments.append((matrix, seg_rows, seg_cids))
            else:
                for cid, _, _, text_hash in rows:
                    by_hash.setdefault(text_hash, []).append(cid)
            if bm25_generation == generation and (self.path / "bm25").exists():
                bm25 = BM25Index.load(self.path / "bm25")
            else:
                bm25 = None
        if bm25 is None:  # the writer was interrupted before saving BM25: rebuild it in memory
            bm25 = self._build_bm25()
        return _Snapshot(generation, cids, segments, by_hash, bm25)

    def stats(self) -> dict[str, Any]:
        db = self._conn()
        return {
            "store": str(self.path),
            "documents": db.execute("SELECT COUNT(*) FROM documents").fetchone()[0],
            "chunks": db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0],
            "roots": [r[0] for r in db.execute("SELECT path FROM roots ORDER BY root_id")],
            "segments": db.execute("SELECT COUNT(*) FROM segments").fetchone()[0],
            "generation": self.generation(),
            "embedding": self.embedding_meta,
            "settings": {k: getattr(self.config, k) for k in PERSISTED_KEYS},
        }

    def dense_search(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(chunk row ids, cosine scores)`` of the ``k`` nearest chunks to a unit ``vector``, best first."""
        snap = self._current()
        vector = np.asarray(vector, dtype=np.float32)
        if self.config.backend == "qdrant":
            hashes, scores = self._vectors_backend().search(vector, k + 8)
            out_ids, out_scores = [], []
            for h, s in zip(hashes, scores, strict=True):
                for cid in snap.by_hash.get(h, []):
                    out_ids.append(cid)
                    out_scores.append(s)
            return np.asarray(out_ids[:k], dtype=np.int64), np.asarray(out_scores[:k], dtype=np.float32)
        all_ids, all_scores = [], []
        for matrix, rows, cids in snap.segments:
            scores = (matrix @ vector)[rows]
            best = top_k(scores, k)
            all_ids.append(cids[best])
            all_scores.append(scores[best])
        if not all_ids:
            return np.empty(0, np.int64), np.empty(0, np.float32)
        ids, scores = np.concatenate(all_ids), np.concatenate(all_scores)
        best = top_k(scores, k)
        return ids[best], scores[best]

    def bm25_search(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(chunk row ids, BM25 scores)`` best first; chunks sharing no term with the query are absent."""
        return self._current().bm25.search(query, k)

    def vectors_of(self, cids: Sequence[int]) -> np.ndarray:
        """``(len(cids), dim)`` stored vectors of the given chunk row ids."""
        snap = self._current()
        if self.config.backend == "qdrant":
            hashes = self._hashes_of(cids)
            found = self._vectors_backend().fetch(hashes)
            return np.stack([found[h] for h in hashes]) if hashes else np.empty((0, self.dim), np.float32)
        if not len(cids):
            return np.empty((0, self.dim), np.float32)
        rows = []
        for cid in cids:
            segment, row = snap.location(int(cid))
            rows.append(np.asarray(snap.segments[segment][0][row]))
        return np.stack(rows)

    def _hashes_of(self, cids: Sequence[int]) -> list[str]:
        marks = ",".join("?" * len(cids))
        found = dict(
            self._conn().execute(f"SELECT cid, text_hash FROM chunks WHERE cid IN ({marks})", list(cids))
        )
        return [found[c] for c in cids]

    def records(self, cids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """Chunk rows with provenance for the given chunk row ids."""
        if not len(cids):
            return {}
        marks = ",".join("?" * len(cids))
        query = f"""SELECT c.cid, c.chunk_id, d.source, r.path, d.title, c.headings, c.start, c.end, c.text
                    FROM chunks c JOIN documents d ON c.doc_id = d.doc_id JOIN roots r ON d.root_id = r.root_id
                    WHERE c.cid IN ({marks})"""
        with self._lock:
            rows = self._conn().execute(query, [int(c) for c in cids]).fetchall()
        return {
            r[0]: {"chunk_id": r[1], "source": r[2], "root": r[3], "title": r[4], "headings": json.loads(r[5]),
                   "start": r[6], "end": r[7], "text": r[8]}
            for r in rows
        }  # fmt: skip

    def documents_of(self, cids: Sequence[int]) -> dict[int, int]:
        """The document row id of each given chunk row id."""
        if not len(cids):
            return {}
        marks = ",".join("?" * len(cids))
        with self._lock:
            rows = self._conn().execute(f"SELECT cid, doc_id FROM chunks WHERE cid IN ({marks})", list(cids))
            return dict(rows.fetchall())

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        mode: SearchMode = "hybrid",
        candidates: int = 50,
        rrf_k: int = 60,
        bm25_weight: float = 0.5,
        fusion: Fusion = "document",
        use_mmr: bool = False,
        mmr_lambda: float = 0.7,
    ) -> list[SearchHit]:
        """The ``k`` best chunks for ``query``.

        ``dense``: cosine similarity of MiniLM vectors; ``bm25``: Okapi BM25; ``hybrid`` (default):
        weighted reciprocal rank fusion (Cormack et al., 2009) of the top ``candidates`` of both,
        ``sum w / (rrf_k + rank)`` with weight 1 for dense and ``bm25_weight`` for BM25. With
        ``fusion="document"`` (default) documents are fused too (a document ranks where its first chunk
        does) and chunks come in rounds over the documents in fused order (every document's best chunk,
        then every second-best, ...; see :func:`genforge.rag.fusion.document_fusion`);
        ``fusion="chunk"`` fuses chunks only. ``use_mmr`` re-ranks the fused candidates with maximal marginal relevance
        (``mmr_lambda`` trades relevance for diversity). The defaults were chosen on a development question
        set, see ``docs/rag.md``.
        """
        if mode not in ("hybrid", "dense", "bm25"):
            raise ConfigError(f"unknown search mode '{mode}' (use hybrid, dense or bm25)")
        if fusion not in ("document", "chunk"):
            raise ConfigError(f"unknown fusion '{fusion}' (use document or chunk)")
        if k < 1:
            raise ConfigError("k must be at least 1")
        if not bm25_weight >= 0:
            raise ConfigError("bm25_weight must be zero or more")
        if not query.strip():
            raise DataError("empty query")
        self._conn()
        pool = max(candidates, k)
        per_source: dict[str, dict[int, float]] = {}
        ranked: list[int]
        query_vector = None
        if mode in ("dense", "hybrid") or use_mmr:
            self._check_embedding()
            query_vector = self.embedding.embed_texts([query])[0]
        if mode in ("dense", "hybrid"):
            ids, scores = self.dense_search(query_vector, pool)
            per_source["dense"] = dict(zip(ids.tolist(), scores.tolist(), strict=True))
        if mode in ("bm25", "hybrid"):
            ids, scores = self.bm25_search(query, pool)
            per_source["bm25"] = dict(zip(ids.tolist(), scores.tolist(), strict=True))
        kind = {"dense": "cosine", "bm25": "bm25", "hybrid": "rrf"}[mode]
        if mode == "hybrid":
            rankings = [list(per_source["dense"]), list(per_source["bm25"])]
            weights = (1.0, bm25_weight)
            if fusion == "document":
                doc_of = self.documents_of(sorted(set(rankings[0]) | set(rankings[1])))
                final, _, per_source["rrf"] = document_fusion(rankings, doc_of, rrf_k, weights)
                per_source["rrf_document"] = final
                kind = "rrf_document"
            else:
                final = per_source["rrf"] = reciprocal_rank_fusion(rankings, rrf_k, weights)
        else:
            final = per_source[mode]
        ranked = list(final)
        if use_mmr and ranked:
            vectors = self.vectors_of(ranked)
            order = mmr(query_vector, vectors, k, mmr_lambda)
            ranked = [ranked[i] for i in order]
            kind += "+mmr"
        ranked = ranked[:k]
        records = self.records(ranked)
        hits = []
        for rank, cid in enumerate(ranked, start=1):
            rec = records[cid]
            scores = {name: float(values[cid]) for name, values in per_source.items() if cid in values}
            hits.append(SearchHit(rank=rank, score=float(final[cid]), score_kind=kind, scores=scores, **rec))
        return hits


@contextmanager
def _transaction(db: sqlite3.Connection, begin: str = "BEGIN IMMEDIATE") -> Iterator[None]:
    db.execute(begin)
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _model_name(embedding) -> str:
    settings = getattr(embedding, "state", None)
    try:
        return str(settings()[0].get("model", embedding.kind)) if settings else embedding.kind
    except NotImplementedError:
        return embedding.kind
