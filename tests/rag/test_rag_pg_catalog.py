"""The catalog of a ``postgresql://`` store in PostgreSQL: shared by machines (here: two cache folders),
one writer at a time (advisory lock), snapshot reads, a writer killed mid-run leaving a consistent store,
against a real server (tests/rag/conftest.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from rag_testdata import make_corpus

from genforge.core.errors import ConfigError, GenforgeError
from genforge.embed.sentence import SentenceEmbedding
from genforge.rag.catalog import Catalog
from genforge.rag.config import StoreConfig
from genforge.rag.pg_catalog import PgCatalog, table_names, writer_lock
from genforge.rag.pgvector_index import connect
from genforge.rag.store import Store, StoreLocked

pytest.importorskip("psycopg")
pytest.importorskip("pgvector")
pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def embedding():
    return SentenceEmbedding()


def _machine(monkeypatch, tmp_path: Path, name: str) -> Path:
    """Act as another machine: the local folder of a postgresql:// store lives under XDG_CACHE_HOME."""
    cache = tmp_path / f"cache-{name}"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    return cache


def _hits(store: Store, query: str, retriever: str) -> list[tuple[str, str]]:
    return [(h.source, h.chunk_id) for h in store.search(query, k=5, retriever=retriever)]


def _consistency(url: str, table: str) -> dict[str, int]:
    """Counts that must agree in a consistent store, read straight from the server."""
    names = table_names(table)
    conn = connect(url)
    try:
        one = lambda q: conn.execute(q).fetchone()[0]  # noqa: E731
        return {
            "documents": one(f"SELECT count(*) FROM {names['documents']}"),
            "chunks": one(f"SELECT count(*) FROM {names['chunks']}"),
            "chunks counted by documents": one(
                f"SELECT coalesce(sum(num_chunks), 0) FROM {names['documents']}"
            ),
            "chunks without a document": one(
                f"SELECT count(*) FROM {names['chunks']} c LEFT JOIN {names['documents']} d "
                "ON c.doc_id = d.doc_id WHERE d.doc_id IS NULL"
            ),
            "chunks without a vector": one(
                f"SELECT count(*) FROM {names['chunks']} c LEFT JOIN {table} v ON c.text_hash = v.key "
                "WHERE v.key IS NULL"
            ),
        }
    finally:
        conn.close()


def test_a_second_machine_searches_the_same_store_and_sees_the_other_ones_writes(
    pg_url, tmp_path, monkeypatch, embedding
):
    corpus = make_corpus(tmp_path / "corpus")
    config = StoreConfig(postgres_table="c_shared")
    embedded = Store(tmp_path / "embedded", embedding=embedding)
    embedded.index(corpus)
    cache_a = _machine(monkeypatch, tmp_path, "a")
    first = Store(pg_url, config, embedding=embedding)
    report = first.index(corpus)
    assert report.total_chunks == embedded.stats()["chunks"] > 0
    queries = ("how do I resume training", "sample temperature", "tomatoes")
    want = {(q, r): _hits(embedded, q, r) for q in queries for r in ("dense", "bm25", "hybrid")}
    assert {(q, r): _hits(first, q, r) for q, r in want} == want

    cache_b = _machine(monkeypatch, tmp_path, "b")  # nothing local here: all of it comes from the server
    second = Store(pg_url, config, embedding=embedding)
    assert second.exists() and second.stats()["chunks"] == report.total_chunks
    assert {(q, r): _hits(second, q, r) for q, r in want} == want
    (corpus / "extra.md").write_text("# Lighthouses\n\nThe zanzibar lighthouse keeper logs every ship.\n")
    assert second.index(corpus).added == ["extra.md"]

    hits = first.search("zanzibar lighthouse", k=1, retriever="bm25")  # machine a: its BM25 cache is stale
    assert [h.source for h in hits] == ["extra.md"]
    assert first.stats()["documents"] == embedded.stats()["documents"] + 1
    assert not list(cache_a.rglob("store.sqlite*")) and not list(cache_b.rglob("store.sqlite*"))
    assert _consistency(pg_url, "c_shared")["chunks without a vector"] == 0


def test_a_reader_in_a_snapshot_does_not_see_a_writer_commit(pg_url, tmp_path, monkeypatch, embedding):
    corpus = make_corpus(tmp_path / "corpus")
    config = StoreConfig(postgres_table="c_snapshot")
    _machine(monkeypatch, tmp_path, "writer")
    Store(pg_url, config, embedding=embedding).index(corpus)
    reader = PgCatalog.open(pg_url, "c_snapshot")
    try:
        with reader.snapshot():
            before = (reader.generation(), reader.counts(), reader.chunk_keys())
            (corpus / "extra.md").write_text("# Extra\n\nA page written while a reader holds a snapshot.\n")
            assert Store(pg_url, config, embedding=embedding).index(corpus).added == ["extra.md"]
            assert (reader.generation(), reader.counts(), reader.chunk_keys()) == before
        after = (reader.generation(), reader.counts())
    finally:
        reader.close()
    assert after[0] > before[0] and after[1]["documents"] == before[1]["documents"] + 1


def test_a_writer_waits_for_another_machines_writer_and_is_refused_after_its_timeout(
    pg_url, tmp_path, monkeypatch, embedding
):
    corpus = make_corpus(tmp_path / "corpus")
    _machine(monkeypatch, tmp_path, "b")
    told: list[str] = []
    config = StoreConfig(postgres_table="c_locked", lock_timeout=1.0)
    locked = r"table c_locked\) is being indexed by another process"
    # another machine's index run holds the store (its file locks are not ours)
    with writer_lock(pg_url, "c_locked", timeout=5), pytest.raises(StoreLocked, match=locked):
        Store(pg_url, config, embedding=embedding, notify=told.append).index(corpus)
    assert len(told) == 1 and "locked by another writer" in told[0]
    assert not PgCatalog.exists(pg_url, "c_locked")  # nothing was written while it waited
    assert Store(pg_url, config, embedding=embedding).index(corpus).total_chunks > 0


def test_a_writer_killed_mid_run_leaves_a_consistent_store_and_frees_the_lock(
    pg_url, tmp_path, monkeypatch, embedding
):
    corpus = make_corpus(tmp_path / "corpus")
    table = "c_killed"
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT / "src")!r})
        from genforge.rag.config import StoreConfig
        from genforge.rag.store import Store
        commits = []
        def progress(done, total):  # called after each committed batch: here, each document
            commits.append(done)
            print("committed", len(commits), flush=True)
            if len(commits) == 2:
                time.sleep(600)
        config = StoreConfig(postgres_table={table!r}, batch_chunks=1)
        Store({pg_url!r}, config).index({str(corpus)!r}, progress=progress)
    """)
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache-a")}
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout.readline().split() == ["committed", "1"]
        assert proc.stdout.readline().split() == ["committed", "2"]
        _machine(monkeypatch, tmp_path, "b")
        with pytest.raises(StoreLocked):  # the running writer holds the store
            Store(pg_url, StoreConfig(postgres_table=table, lock_timeout=0.5), embedding=embedding).index(
                corpus
            )
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    partial = _consistency(pg_url, table)
    assert partial["documents"] == 2 and partial["chunks"] == partial["chunks counted by documents"]
    assert partial["chunks without a document"] == partial["chunks without a vector"] == 0

    config = StoreConfig(postgres_table=table, lock_timeout=30)
    report = Store(pg_url, config, embedding=embedding).index(corpus)  # the lock went with the killed session
    embedded = Store(tmp_path / "embedded", embedding=embedding)
    embedded.index(corpus)
    assert len(report.added) == embedded.stats()["documents"] - 2
    store = Store(pg_url, config, embedding=embedding)
    assert store.stats()["chunks"] == embedded.stats()["chunks"]
    full = _consistency(pg_url, table)
    assert full["chunks"] == full["chunks counted by documents"] == embedded.stats()["chunks"]
    assert full["chunks without a document"] == full["chunks without a vector"] == 0
    assert _chunk_ids(store) == _chunk_ids(embedded)  # no chunk lost, none twice


def _chunk_ids(store: Store) -> list[str]:
    records = store.catalog.records([cid for cid, _ in store.catalog.chunk_keys()])
    return sorted(r["chunk_id"] for r in records.values())


def test_a_schema_1_store_is_migrated_into_postgresql_and_other_versions_are_refused(
    pg_url, tmp_path, monkeypatch, embedding
):
    corpus = make_corpus(tmp_path / "corpus")
    table = "c_v1"
    config = StoreConfig(postgres_table=table)
    _machine(monkeypatch, tmp_path, "a")
    store = Store(pg_url, config, embedding=embedding)
    store.index(corpus)
    want = {q: _hits(store, q, "hybrid") for q in ("how do I resume training", "tomatoes")}
    # turn it into what genforge wrote before schema 2: the catalog in a local SQLite file, the table at 1
    local = Catalog.create(store.path, {})
    with local.transaction():
        local._run("DELETE FROM {meta}")
        local.copy_from(store.catalog)
    local.close()
    store.close()
    conn = connect(pg_url)
    for name in table_names(table).values():
        conn.execute(f"DROP TABLE {name}")
    conn.execute(f"UPDATE {table}_meta SET value = '1' WHERE name = 'schema'")

    migrated = Store(pg_url, config, embedding=embedding)
    assert {q: _hits(migrated, q, "hybrid") for q in want} == want
    assert PgCatalog.exists(pg_url, table) and (migrated.path / "store.sqlite.migrated").exists()
    assert not (migrated.path / "store.sqlite").exists()
    assert conn.execute(f"SELECT value FROM {table}_meta WHERE name = 'schema'").fetchone()[0] == "2"
    (corpus / "extra.md").write_text("# Extra\n\nNew rows continue after the migrated ids.\n")
    report = Store(pg_url, config, embedding=embedding).index(corpus)
    assert report.added == ["extra.md"] and report.chunks_embedded == report.chunks_added

    conn.execute(f"UPDATE {table}_meta SET value = '3' WHERE name = 'schema'")
    with pytest.raises(ConfigError, match="has schema version 3, this genforge writes 2"):
        Store(pg_url, config, embedding=embedding).search("tomatoes", k=1)
    conn.close()


def test_an_unreachable_server_is_one_line_and_nothing_is_written(tmp_path, monkeypatch):
    cache = _machine(monkeypatch, tmp_path, "a")
    corpus = make_corpus(tmp_path / "corpus")
    with pytest.raises(GenforgeError) as err:
        Store(f"postgresql://me:secret@/db?host={tmp_path}/nowhere").index(corpus)
    assert (
        "cannot connect" in str(err.value) and "secret" not in str(err.value) and "\n" not in str(err.value)
    )
    assert not (cache / "genforge").exists(), sorted(cache.rglob("*"))
