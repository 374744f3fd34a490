"""The store's catalog: roots, documents, chunks and settings, in one SQLite file (``store.sqlite``) or,
for a ``postgresql://`` store, in PostgreSQL tables (:mod:`genforge.rag.pg_catalog`).

The catalog is the source of truth of a store: which files were indexed (content hash, size, mtime), the
chunks cut from them (text, heading path, character offsets, the content hash that keys the chunk's
vector in the :mod:`vector index <genforge.rag.vector_index>`), the settings the store was built with and
a generation counter that moves with every commit so readers know when to reload. Rows are read by name
(``sqlite3.Row``, psycopg's ``dict_row``), never by position.

The queries are written once, in :class:`CatalogRows`, for both databases: ``?`` placeholders,
``{table}`` names (PostgreSQL tables carry the store's prefix), ``RETURNING`` for new row ids, ``ON
CONFLICT`` upserts and the column ``"end"`` quoted (a reserved word in PostgreSQL). A backend supplies
the connection-level pieces: run a statement, fetch rows, begin a write transaction or a snapshot read.

A new catalog is written to a temporary file and renamed into place once its schema and settings are
committed, so an interrupted creation never leaves a ``store.sqlite`` without a schema; a file that is not
a genforge catalog is refused with one line instead of a ``sqlite3`` traceback.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from genforge.core.errors import DataError

log = logging.getLogger(__name__)

LAYOUT_VERSION = 3  # 3: chunks carry their index-time injection scan (genforge.rag.scan)
FILE = "store.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS roots (root_id INTEGER PRIMARY KEY, path TEXT UNIQUE NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id INTEGER PRIMARY KEY, root_id INTEGER NOT NULL, source TEXT NOT NULL, content_hash TEXT NOT NULL,
    size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, kind TEXT NOT NULL, title TEXT NOT NULL,
    chunking TEXT NOT NULL, num_chunks INTEGER NOT NULL, minhash BLOB, UNIQUE (root_id, source));
CREATE TABLE IF NOT EXISTS chunks (
    cid INTEGER PRIMARY KEY, chunk_id TEXT UNIQUE NOT NULL, doc_id INTEGER NOT NULL, ordinal INTEGER NOT NULL,
    headings TEXT NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL,
    num_tokens INTEGER NOT NULL, text_hash TEXT NOT NULL, flagged INTEGER, scan_policy TEXT, scan TEXT);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks (doc_id);
CREATE INDEX IF NOT EXISTS chunks_hash ON chunks (text_hash);
"""
TABLES = ("meta", "roots", "documents", "chunks")
# layout 2 -> 3: the scan columns, NULL (not scanned) until the next 'rag index' scans the chunks
SCAN_COLUMNS = ("flagged INTEGER", "scan_policy TEXT", "scan TEXT")
_RECORD = """SELECT c.cid, c.chunk_id, d.source, r.path AS root, d.title, c.headings, c.start, c."end", c.text,
             c.scan FROM {chunks} c JOIN {documents} d ON c.doc_id = d.doc_id JOIN {roots} r ON d.root_id = r.root_id"""


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=60, check_same_thread=False, isolation_level=None)
    db.row_factory = sqlite3.Row
    return db


def _marks(values: Sequence[Any]) -> str:
    return ",".join("?" * len(values))


def _chunked(values: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def has_schema(path: Path) -> bool:
    """``path`` is an SQLite file with a catalog's ``meta`` table (an empty or schema-less file is not)."""
    if not path.is_file() or path.stat().st_size == 0:
        return False
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return db.execute("SELECT 1 FROM sqlite_master WHERE name='meta'").fetchone() is not None
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        raise DataError(
            f"{path} is not a genforge RAG store ({exc}); delete it or use another --store"
        ) from None


class CatalogRows:
    """The catalog's reads and writes over any connection that runs this module's SQL dialect.

    A backend sets ``tables`` (the real name of each of :data:`TABLES`) and implements :meth:`_run`,
    :meth:`_rows`, :meth:`transaction` (a write transaction) and :meth:`snapshot` (a read transaction
    that sees one committed state throughout).
    """

    tables: dict[str, str] = {name: name for name in TABLES}

    def _sql(self, query: str) -> str:
        return query.format(**self.tables)

    def _run(self, query: str, params: Sequence[Any] = ()) -> None:
        raise NotImplementedError

    def _run_many(self, query: str, rows: Sequence[Sequence[Any]]) -> None:
        raise NotImplementedError

    def _rows(self, query: str, params: Sequence[Any] = ()) -> list[Any]:
        """Rows that can be read by column name."""
        raise NotImplementedError

    def transaction(self) -> AbstractContextManager[None]:
        raise NotImplementedError

    def snapshot(self) -> AbstractContextManager[None]:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def _one(self, query: str, params: Sequence[Any] = ()) -> Any:
        rows = self._rows(query, params)
        return rows[0] if rows else None

    # settings ----------------------------------------------------------------------------------------
    def meta(self, key: str, default: Any = None) -> Any:
        row = self._one("SELECT value FROM {meta} WHERE key=?", (key,))
        return default if row is None else json.loads(row["value"])

    def set_meta(self, key: str, value: Any) -> None:
        self._run(
            "INSERT INTO {meta} (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, json.dumps(value)),
        )

    def generation(self) -> int:
        return int(self.meta("generation"))

    def bump_generation(self) -> None:
        self.set_meta("generation", self.generation() + 1)

    # documents ---------------------------------------------------------------------------------------
    def root_id(self, root: str) -> int:
        row = self._one("SELECT root_id FROM {roots} WHERE path=?", (root,))
        if row:
            return int(row["root_id"])
        with self.transaction():
            return int(
                self._one("INSERT INTO {roots} (path) VALUES (?) RETURNING root_id", (root,))["root_id"]
            )

    def documents(self, root_id: int) -> dict[str, Any]:
        """Every document of a root by source path."""
        query = (
            "SELECT doc_id, source, size, mtime_ns, content_hash, chunking FROM {documents} WHERE root_id=?"
        )
        return {row["source"]: row for row in self._rows(query, (root_id,))}

    def signatures(self) -> dict[str, bytes]:
        """``source -> MinHash signature bytes`` of every document that has one."""
        query = "SELECT source, minhash FROM {documents} WHERE minhash IS NOT NULL"
        return {r["source"]: bytes(r["minhash"]) for r in self._rows(query)}

    def sources_elsewhere(self, root_id: int) -> set[str]:
        return {
            r["source"] for r in self._rows("SELECT source FROM {documents} WHERE root_id != ?", (root_id,))
        }

    def touch(self, rows: Iterable[tuple[int, int, int]]) -> None:
        """Record new ``(size, mtime_ns, doc_id)`` of documents whose content did not change."""
        rows = list(rows)
        if rows:
            with self.transaction():
                self._run_many("UPDATE {documents} SET size=?, mtime_ns=? WHERE doc_id=?", rows)

    def _drop(self, root_id: int, source: str) -> set[str]:
        row = self._one("SELECT doc_id FROM {documents} WHERE root_id=? AND source=?", (root_id, source))
        if row is None:
            return set()
        doc_id = (row["doc_id"],)
        hashes = {r["text_hash"] for r in self._rows("SELECT text_hash FROM {chunks} WHERE doc_id=?", doc_id)}
        self._run("DELETE FROM {chunks} WHERE doc_id=?", doc_id)
        self._run("DELETE FROM {documents} WHERE doc_id=?", doc_id)
        return hashes

    def replace_documents(
        self, root_id: int, documents: Sequence[dict[str, Any]], chunks: Sequence[dict[str, Any]]
    ) -> set[str]:
        """In one transaction: drop the old versions of ``documents``, insert them with their ``chunks``
        (each chunk names its document by ``source``), move the generation. Returns the dropped chunks'
        content hashes."""
        old: set[str] = set()
        with self.transaction():
            for doc in documents:
                old |= self._drop(root_id, doc["source"])
            doc_ids = {}
            for doc in documents:
                doc_ids[doc["source"]] = self._one(
                    f"INSERT INTO {{documents}} (root_id, {', '.join(_DOC_COLUMNS)}) "
                    f"VALUES (?, {_marks(_DOC_COLUMNS)}) RETURNING doc_id",
                    (root_id, *(doc[c] for c in _DOC_COLUMNS)),
                )["doc_id"]
            self._run_many(
                f"INSERT INTO {{chunks}} (doc_id, {', '.join(_quoted(_CHUNK_COLUMNS))}) "
                f"VALUES (?, {_marks(_CHUNK_COLUMNS)})",
                [(doc_ids[c["source"]], *(c[name] for name in _CHUNK_COLUMNS)) for c in chunks],
            )
            self.bump_generation()
        return old

    def remove_documents(self, root_id: int, sources: Sequence[str]) -> set[str]:
        """Drop documents (and their chunks); returns their chunks' content hashes."""
        old: set[str] = set()
        with self.transaction():
            for source in sources:
                old |= self._drop(root_id, source)
            self.bump_generation()
        return old

    # chunks ------------------------------------------------------------------------------------------
    def live_keys(self, keys: Iterable[str] | None = None) -> set[str]:
        """Content hashes used by some chunk (all of them, or those among ``keys``)."""
        if keys is None:
            return {r["text_hash"] for r in self._rows("SELECT DISTINCT text_hash FROM {chunks}")}
        found: set[str] = set()
        for part in _chunked(list(keys)):
            query = f"SELECT text_hash FROM {{chunks}} WHERE text_hash IN ({_marks(part)})"
            found.update(r["text_hash"] for r in self._rows(query, list(part)))
        return found

    def chunk_keys(self) -> list[tuple[int, str]]:
        """``(cid, content hash)`` of every chunk in chunk order."""
        return [
            (r["cid"], r["text_hash"]) for r in self._rows("SELECT cid, text_hash FROM {chunks} ORDER BY cid")
        ]

    def chunk_texts(self) -> list[tuple[int, list[str], str]]:
        """``(cid, heading path, text)`` of every chunk in chunk order (what BM25 indexes)."""
        rows = self._rows("SELECT cid, headings, text FROM {chunks} ORDER BY cid")
        return [(r["cid"], json.loads(r["headings"]), r["text"]) for r in rows]

    def keys_of(self, cids: Sequence[int]) -> dict[int, str]:
        query = f"SELECT cid, text_hash FROM {{chunks}} WHERE cid IN ({_marks(cids)})"
        return {r["cid"]: r["text_hash"] for r in self._rows(query, [int(c) for c in cids])}

    def records(self, cids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """Chunk rows with provenance (``chunk_id, source, root, title, headings, start, end, text``)."""
        if not len(cids):
            return {}
        rows = self._rows(f"{_RECORD} WHERE c.cid IN ({_marks(cids)})", [int(c) for c in cids])
        out = {}
        for r in rows:
            record = {name: r[name] for name in r.keys()}  # noqa: SIM118 - sqlite3.Row iterates values
            cid = record.pop("cid")
            scan = record.pop("scan")
            out[cid] = {
                **record,
                "headings": json.loads(r["headings"]),
                "index_scan": scan and json.loads(scan),
            }
        return out

    # index-time scan verdicts (genforge.rag.scan) ----------------------------------------------------
    def scans_of(self, keys: Iterable[str], policy: str) -> dict[str, str]:
        """Stored verdict (JSON) of each content hash among ``keys`` that was scanned under ``policy``."""
        found: dict[str, str] = {}
        for part in _chunked(list(keys)):
            query = f"SELECT text_hash, scan FROM {{chunks}} WHERE scan_policy=? AND text_hash IN ({_marks(part)})"
            found.update((r["text_hash"], r["scan"]) for r in self._rows(query, [policy, *part]))
        return found

    def unscanned(self, policy: str) -> list[tuple[int, str, str]]:
        """``(cid, content hash, text)`` of the chunks not scanned, or scanned under another policy."""
        query = "SELECT cid, text_hash, text FROM {chunks} WHERE scan_policy IS NULL OR scan_policy <> ?"
        query += " ORDER BY cid"
        return [(r["cid"], r["text_hash"], r["text"]) for r in self._rows(query, (policy,))]

    def set_scans(self, rows: Sequence[tuple[int, str, str, int]]) -> None:
        """Store ``(flagged, policy, verdict JSON, cid)`` rows in one transaction."""
        with self.transaction():
            self._run_many("UPDATE {chunks} SET flagged=?, scan_policy=?, scan=? WHERE cid=?", rows)

    def flagged_chunks(self) -> int:
        return int(self._one("SELECT COUNT(*) AS n FROM {chunks} WHERE flagged = 1")["n"])

    def _migration_lock(self) -> None:
        """Inside :meth:`migrate`'s transaction: keep other migrating processes out (SQLite: its
        ``BEGIN IMMEDIATE`` already does)."""

    def migrate(self) -> bool:
        """Bring a layout-2 catalog to layout 3 in one transaction; False when it was not at layout 2."""
        with self.transaction():
            self._migration_lock()
            if self.meta("layout_version") != 2:
                return False
            for column in SCAN_COLUMNS:
                self._run(f"ALTER TABLE {{chunks}} ADD COLUMN {column}")
            self.set_meta("layout_version", LAYOUT_VERSION)
        return True

    def documents_of(self, cids: Sequence[int]) -> dict[int, int]:
        """The document row id of each given chunk row id."""
        if not len(cids):
            return {}
        query = f"SELECT cid, doc_id FROM {{chunks}} WHERE cid IN ({_marks(cids)})"
        return {r["cid"]: r["doc_id"] for r in self._rows(query, [int(c) for c in cids])}

    def chunk_counts(self, doc_ids: Sequence[int]) -> dict[int, int]:
        """``num_chunks`` of each given document row id."""
        if not len(doc_ids):
            return {}
        query = f"SELECT doc_id, num_chunks FROM {{documents}} WHERE doc_id IN ({_marks(doc_ids)})"
        return {r["doc_id"]: r["num_chunks"] for r in self._rows(query, [int(d) for d in doc_ids])}

    def counts(self) -> dict[str, int]:
        return {
            "documents": int(self._one("SELECT COUNT(*) AS n FROM {documents}")["n"]),
            "chunks": int(self._one("SELECT COUNT(*) AS n FROM {chunks}")["n"]),
        }

    def roots(self) -> list[str]:
        return [r["path"] for r in self._rows("SELECT path FROM {roots} ORDER BY root_id")]

    def copy_from(self, source: CatalogRows) -> None:
        """Copy every row of ``source`` (row ids kept) into this catalog's empty tables, in the caller's
        transaction (a schema-1 ``postgresql://`` store's local catalog moving into PostgreSQL)."""
        for name in TABLES:
            for columns, rows in source.table_rows(name):
                quoted = ", ".join(_quoted(columns))
                self._run_many(f"INSERT INTO {{{name}}} ({quoted}) VALUES ({_marks(columns)})", rows)

    def table_rows(self, table: str) -> Iterator[tuple[list[str], list[tuple]]]:
        """``(column names, rows)`` of one of :data:`TABLES` in batches (to copy a catalog elsewhere)."""
        rows = self._rows(f"SELECT * FROM {{{table}}} ORDER BY 1")
        names = list(rows[0].keys()) if rows else []
        for part in _chunked(rows, 2000):
            yield names, [tuple(r[name] for name in names) for r in part]


_DOC_COLUMNS = (
    "source",
    "content_hash",
    "size",
    "mtime_ns",
    "kind",
    "title",
    "chunking",
    "num_chunks",
    "minhash",
)
_CHUNK_COLUMNS = ("chunk_id", "ordinal", "headings", "start", "end", "text", "num_tokens", "text_hash", "flagged",
                  "scan_policy", "scan")  # fmt: skip


def _quoted(names: Sequence[str]) -> list[str]:
    return [f'"{name}"' for name in names]


class Catalog(CatalogRows):
    """An open ``store.sqlite``. Create one with :meth:`create`, open an existing one with :meth:`open`."""

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self.db = db
        self.path = path

    @classmethod
    def create(cls, directory: Path, meta: dict[str, Any]) -> Catalog:
        """Write a new catalog with ``meta`` rows atomically (temp file, then rename) and open it."""
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / f"{FILE}.tmp-{os.getpid()}"
        tmp.unlink(missing_ok=True)
        db = sqlite3.connect(tmp, isolation_level=None)
        try:
            db.executescript(SCHEMA)
            with _transaction(db.execute, "BEGIN IMMEDIATE"):
                db.executemany(
                    "INSERT INTO meta VALUES (?, ?)",
                    [(k, json.dumps(v)) for k, v in initial_meta(meta).items()],
                )
        finally:
            db.close()
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, directory / FILE)
        return cls.open(directory)

    @classmethod
    def open(cls, directory: Path) -> Catalog:
        path = directory / FILE
        try:
            db = _connect(path)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            row = db.execute("SELECT value FROM meta WHERE key='layout_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise DataError(
                f"{path} is not a genforge RAG store ({exc}); delete it or use another --store"
            ) from None
        version = None if row is None else json.loads(row["value"])
        if version == 2:  # re-read: another process may have migrated it meanwhile
            if cls(db, path).migrate():
                log.warning("%s: store layout 2 -> 3 (its chunks are scanned by the next 'rag index')", path)
            version = cls(db, path).meta("layout_version")
        if version != LAYOUT_VERSION:
            db.close()
            raise DataError(
                f"{directory} has store layout version {version or 1}, this genforge reads version "
                f"{LAYOUT_VERSION}: delete it and run 'genforge rag index' again (or use another --store)"
            )
        return cls(db, path)

    def close(self) -> None:
        self.db.close()

    def transaction(self, begin: str = "BEGIN IMMEDIATE") -> AbstractContextManager[None]:
        return _transaction(self.db.execute, begin)

    def snapshot(self) -> AbstractContextManager[None]:
        return _transaction(self.db.execute, "BEGIN")  # WAL: a deferred read sees one committed state

    def _run(self, query: str, params: Sequence[Any] = ()) -> None:
        self.db.execute(self._sql(query), params)

    def _run_many(self, query: str, rows: Sequence[Sequence[Any]]) -> None:
        self.db.executemany(self._sql(query), rows)

    def _rows(self, query: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return self.db.execute(self._sql(query), params).fetchall()


def initial_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """The meta rows of a new catalog: layout version, generation 0, no BM25 yet, then ``meta``."""
    return {"layout_version": LAYOUT_VERSION, "generation": 0, "bm25_generation": -1, **meta}


@contextmanager
def _transaction(run: Callable[[str], Any], begin: str) -> Iterator[None]:
    """``begin`` ... COMMIT around the block through ``run`` (one statement), ROLLBACK on any exception."""
    run(begin)
    try:
        yield
    except BaseException:
        run("ROLLBACK")
        raise
    run("COMMIT")
