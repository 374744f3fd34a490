"""The default store and the built-in corpus (genforge's own documentation).

Without a store the RAG commands use one store under the user cache (``$GENFORGE_RAG_STORE``, else
``$XDG_CACHE_HOME/genforge/rag/default``, else ``~/.cache/genforge/rag/default``), built from genforge's
documentation: the repository's ``docs/`` when genforge runs from a checkout (an editable install), else
the copy shipped as package data in ``genforge/docs/``. Reading never writes: the default store is built by
:func:`build_default_store` (``genforge rag index --default``), which the first ask or search does for the
user, with a note, when the store does not exist yet.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from genforge.core.errors import DataError
from genforge.rag.config import StoreConfig
from genforge.rag.records import IndexReport
from genforge.rag.store import Store

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


def build_default_store(
    store: Store | None = None, progress: Callable[[int, int], None] | None = None
) -> IndexReport:
    """Index (or bring up to date) the default store with genforge's documentation."""
    store = store or Store(default_store_path())
    return store.index(genforge_docs_root(), suffixes=DOC_SUFFIXES, progress=progress)


def open_store(
    path: str | os.PathLike | None = None,
    config: StoreConfig | None = None,
    embedding=None,
    *,
    on_build: Callable[[str], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Store:
    """Open the store at ``path`` for querying; ``None`` opens the default store, building it first (with a
    note through ``on_build`` and ``progress`` callbacks) when it does not exist yet."""
    if path is not None:
        store = Store(path, config, embedding)
        if not store.exists():
            raise DataError(f"no RAG store at {path}: build it with 'genforge rag index PATH --store {path}'")
        return store
    store = Store(default_store_path(), config, embedding)
    if not store.exists():
        if on_build is not None:
            on_build(f"building the default store from genforge's docs in {store.path} (once)")
        build_default_store(store, progress)
    return store
