"""The PostgreSQL + pgvector vector index: a store's vectors in a table of a PostgreSQL server.

Selected by a ``postgresql://`` store (``StoreConfig.backend = "pgvector"``, ``postgres_url``); the store's
catalog and BM25 index stay in a local folder named after the URL (:func:`catalog_folder`). One row per
distinct chunk text (``key`` = the text's SHA-256, ``embedding vector(dim)``), an HNSW index with cosine
distance (``vector_cosine_ops``), searched with ``ORDER BY embedding <=> query``; ``hnsw.ef_search`` is
set per query to at least the number of candidates asked for, so the approximate search returns that
many (pgvector's HNSW returns at most ``ef_search`` rows). A small ``<table>_meta`` table records the
embedder, the dimension and the schema version; a table made by another embedder or version is refused
with the fix. Writers take a transaction-level advisory lock per table, so several ``rag index`` runs
against one table serialise; readers never lock. psycopg 3 and the pgvector adapter are optional
(``pip install 'genforge[postgres]'``) and imported only when a store uses them.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from genforge.core.errors import ConfigError, GenforgeError, require
from genforge.rag.vector_index import VECTOR_INDEXES, IndexContext, VectorIndex

SCHEMA_VERSION = 2  # 2: the store's catalog is in PostgreSQL too (genforge.rag.pg_catalog); 1: local SQLite
CATALOG_KEY = "pgvector_catalog_id"  # the catalog's meta key naming the table's owner
MIN_EF_SEARCH = 100
URL_PREFIXES = ("postgresql://", "postgres://")
_TABLE = re.compile(r"^[a-z_][a-z0-9_]{0,50}$")


def redact(url: str) -> str:
    """``url`` without its password (for messages)."""
    return re.sub(r"(postgres(?:ql)?://[^:/@]*):[^@]*@", r"\1:***@", url)


def is_postgres_url(location: object) -> bool:
    return isinstance(location, str) and location.startswith(URL_PREFIXES)


def catalog_folder(url: str, table: str) -> Path:
    """Where the catalog and BM25 index of the store in ``url`` live on this machine: the user cache,
    one folder per server, database and table (the password is not part of the name)."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    name = hashlib.sha256(f"{redact(url)}#{table}".encode()).hexdigest()[:16]
    return Path(cache) / "genforge" / "rag" / "postgres" / name


@VECTOR_INDEXES.register("pgvector")
class PgVectorIndex(VectorIndex):
    """Vectors in a PostgreSQL table with the pgvector extension, keyed by content hash."""

    def __init__(self, context: IndexContext) -> None:
        super().__init__(context)
        config = context.config
        self.url = config.postgres_url
        self.table = config.postgres_table
        if not self.url:
            raise ConfigError(
                "the pgvector index needs a postgresql:// URL (--store postgresql://USER@HOST/DB)"
            )
        if not _TABLE.match(self.table):
            raise ConfigError(f"postgres table '{self.table}' must be lower-case letters, digits and '_'")
        self.conn = connect(self.url)
        self._lock_id = int.from_bytes(hashlib.sha256(self.table.encode()).digest()[:8], "big", signed=True)
        self._ensure_schema()

    # schema ------------------------------------------------------------------------------------------
    def _ensure_schema(self) -> None:
        catalog = self.context.catalog
        embedding = catalog.meta("embedding") or {}
        want = {"dim": self.dim, "embedder": str(embedding.get("model", "")), "schema": SCHEMA_VERSION}
        mine = catalog.meta(CATALOG_KEY)
        with self._write():
            cur = self.conn.cursor()
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {self.table}_meta (name text PRIMARY KEY, value text NOT NULL)"
            )
            cur.execute(f"SELECT name, value FROM {self.table}_meta")
            have = {row[0]: row[1] for row in cur.fetchall()}
            if have:
                self._check(have, want)
                self._claim(have.get("catalog_id"), mine)
                return
            want["catalog_id"] = mine or uuid.uuid4().hex
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {self.table} "
                f"(key text PRIMARY KEY, embedding vector({self.dim}) NOT NULL)"
            )
            cur.execute(
                f"CREATE INDEX IF NOT EXISTS {self.table}_hnsw ON {self.table} "
                "USING hnsw (embedding vector_cosine_ops)"
            )
            cur.executemany(
                f"INSERT INTO {self.table}_meta (name, value) VALUES (%s, %s)",
                [(k, str(v)) for k, v in want.items()],
            )
            if mine is None:
                self._remember(want["catalog_id"])

    def _claim(self, theirs: str | None, mine: str | None) -> None:
        """A table belongs to one catalog: a new catalog adopts it (its vectors are reused by content
        hash), a catalog made for another table is refused."""
        if mine is None and theirs is not None and not self.context.catalog.live_keys():
            self._remember(theirs)
        elif mine != theirs:
            raise ConfigError(
                f"table {self.table} in {redact(self.url)} belongs to another store catalog than "
                f"{self.context.path}: index into another table (--set postgres_table=NAME)"
            )

    def _remember(self, catalog_id: str) -> None:
        catalog = self.context.catalog
        with catalog.transaction():
            catalog.set_meta(CATALOG_KEY, catalog_id)

    def _check(self, have: dict[str, str], want: dict[str, object]) -> None:
        where = f"table {self.table} in {redact(self.url)}"
        if have.get("schema") == "1":  # same vector table; the store's catalog has moved into PostgreSQL
            self.conn.execute(
                f"UPDATE {self.table}_meta SET value = %s WHERE name = 'schema'", (str(SCHEMA_VERSION),)
            )
            have["schema"] = str(SCHEMA_VERSION)
        if have.get("schema") != str(SCHEMA_VERSION):
            raise ConfigError(
                f"{where} has schema version {have.get('schema')}, this genforge writes {SCHEMA_VERSION}: "
                "index into a new table (--set postgres_table=NAME) or drop the old one"
            )
        for key in ("dim", "embedder"):
            if want[key] and have.get(key) != str(want[key]):
                raise ConfigError(
                    f"{where} holds vectors of {key} {have.get(key)}, not {want[key]}: "
                    "use the same embedder or another table (--set postgres_table=NAME)"
                )

    @contextmanager
    def _write(self) -> Iterator[None]:
        """One transaction holding this table's advisory lock (writers queue, readers do not wait)."""
        with self._errors(), self.conn.transaction():
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_id,))
            yield

    @contextmanager
    def _errors(self) -> Iterator[None]:
        psycopg = require("psycopg", "postgres")
        try:
            yield
        except psycopg.OperationalError as exc:
            raise GenforgeError(f"lost the PostgreSQL server at {redact(self.url)}: {_first(exc)}") from None

    # the VectorIndex interface -----------------------------------------------------------------------
    def upsert(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        rows = [(key, np.asarray(vec, dtype=np.float32)) for key, vec in zip(keys, vectors, strict=True)]
        if not rows:
            return
        with self._write(), self.conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO {self.table} (key, embedding) VALUES (%s, %s) "
                "ON CONFLICT (key) DO UPDATE SET embedding = EXCLUDED.embedding",
                rows,
            )

    def fetch(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        if not keys:
            return {}
        with self._errors(), self.conn.transaction():
            rows = self.conn.execute(
                f"SELECT key, embedding FROM {self.table} WHERE key = ANY(%s)", (list(keys),)
            ).fetchall()
        return {key: _array(vec) for key, vec in rows}

    def delete(self, keys: Sequence[str]) -> None:
        if not keys:
            return
        with self._write():
            self.conn.execute(f"DELETE FROM {self.table} WHERE key = ANY(%s)", (list(keys),))

    def search(self, vector: np.ndarray, k: int) -> tuple[list[str], np.ndarray]:
        query = np.asarray(vector, dtype=np.float32)
        with self._errors(), self.conn.transaction():
            self.conn.execute(f"SET LOCAL hnsw.ef_search = {int(max(MIN_EF_SEARCH, k))}")
            rows = self.conn.execute(
                f"SELECT key, 1 - (embedding <=> %s) AS score FROM {self.table} "
                "ORDER BY embedding <=> %s, key LIMIT %s",
                (query, query, int(k)),
            ).fetchall()
        return [r[0] for r in rows], np.asarray([r[1] for r in rows], dtype=np.float32)

    def repair(self) -> list[str]:
        """Keys the local catalog uses whose vectors the table lacks (a table dropped or emptied behind
        the catalog's back): the indexer embeds them again."""
        live = self.context.catalog.live_keys()
        with self._errors(), self.conn.transaction():
            stored = {r[0] for r in self.conn.execute(f"SELECT key FROM {self.table}").fetchall()}
        return sorted(live - stored)

    def maintain(self, live: set[str]) -> None:
        with self._write():
            stored = {r[0] for r in self.conn.execute(f"SELECT key FROM {self.table}").fetchall()}
            gone = sorted(stored - live)
            if gone:
                self.conn.execute(f"DELETE FROM {self.table} WHERE key = ANY(%s)", (gone,))

    def close(self) -> None:
        self.conn.close()


def _array(vec) -> np.ndarray:
    """A float32 array from pgvector's ``Vector`` (or a plain sequence)."""
    return np.asarray(vec.to_numpy() if hasattr(vec, "to_numpy") else vec, dtype=np.float32)


def _first(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def connect(url: str):
    """An autocommit-off psycopg connection to ``url`` with pgvector's types registered; a server that
    cannot be reached, or that has no pgvector extension, is one GenforgeError naming the fix."""
    psycopg = require("psycopg", "postgres")
    pgvector_psycopg = require("pgvector.psycopg", "postgres")
    try:
        conn = psycopg.connect(url, connect_timeout=10, autocommit=True)
    except psycopg.Error as exc:
        raise GenforgeError(
            f"cannot connect to {redact(url)}: {_first(exc)} (start a local one with 'genforge db start')"
        ) from None
    try:
        available = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'").fetchone()
        if available is None:
            raise GenforgeError(
                f"the PostgreSQL server at {redact(url)} has no pgvector extension: install pgvector "
                "there (https://github.com/pgvector/pgvector) or use 'genforge db start'"
            )
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        pgvector_psycopg.register_vector(conn)
    except psycopg.Error as exc:
        conn.close()
        raise GenforgeError(f"cannot use pgvector on {redact(url)}: {_first(exc)}") from None
    except GenforgeError:
        conn.close()
        raise
    return conn
