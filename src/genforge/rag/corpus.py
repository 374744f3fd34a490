"""The default store and the built-in corpus (genforge's own documentation).

Without ``--store`` the RAG commands use one store under the user cache (``$GENFORGE_RAG_STORE``, else
``$XDG_CACHE_HOME/genforge/rag/default``, else ``~/.cache/genforge/rag/default``). Every time it is opened
for reading it is synced, incrementally, with genforge's documentation, so ``genforge rag ask`` works on a
fresh install and follows the docs when they change. The documentation is the repository's ``docs/`` when
genforge runs from a checkout (an editable install), else the copy shipped as package data in
``genforge/docs/``.
"""

from __future__ import annotations

import os
from pathlib import Path

from genforge.core.errors import DataError
from genforge.rag.store import Store, StoreConfig

DOC_SUFFIXES = (".md", ".rst", ".txt")


def default_store_path() -> Path:
    env = os.environ.get("GENFORGE_RAG_STORE")
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "genforge" / "rag" / "default"


def _has_docs(path: Path) -> bool:
    return path.is_dir() and any(p.suffix in DOC_SUFFIXES for p in path.rglob("*"))


def genforge_docs_root() -> Path:
    """The checkout's ``docs/`` if genforge runs from one, else the packaged ``genforge/docs``."""
    import genforge

    package_dir = Path(genforge.__file__).resolve().parent
    checkout_docs = package_dir.parent.parent / "docs"
    if (package_dir.parent.parent / "pyproject.toml").exists() and _has_docs(checkout_docs):
        return checkout_docs
    packaged = package_dir / "docs"
    if _has_docs(packaged):
        return packaged
    raise DataError(
        "genforge's documentation is not installed with this copy (no genforge/docs); "
        "index your own folder with 'genforge rag index PATH --store DIR'"
    )


def open_store(
    path: str | os.PathLike | None = None, config: StoreConfig | None = None, embedding=None
) -> Store:
    """Open ``path`` for querying, or the default store synced with genforge's docs when ``path`` is None."""
    if path is not None:
        store = Store(path, config, embedding)
        if not store.exists():
            raise DataError(f"no RAG store at {path}: build it with 'genforge rag index PATH --store {path}'")
        return store
    store = Store(default_store_path(), config, embedding)
    store.index(genforge_docs_root(), suffixes=DOC_SUFFIXES)
    return store
