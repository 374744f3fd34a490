"""Name -> factory registries (models, datasets, extractors, …).

A registry maps a short user-facing name to an object plus metadata. Lookups of unknown names raise
:class:`ModelNotFound` listing what is available. Entries are added by decorators at import time of the
module that defines them; ``modules`` lists the modules to import before the first lookup, so a registry
never needs the whole package imported up front.

Thread-safe: the first lookups of several threads (a server's workers, a store's searchers) wait for one
import of ``modules`` instead of seeing a half-filled registry, and entries are replaced copy-on-write
under a lock, so a lookup or listing never sees a dict being changed. The import runs under its own lock,
which ``register`` never takes: a module that registers while another thread imports it cannot deadlock.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from genforge.core.errors import ModelNotFound


@dataclass
class Entry:
    name: str
    obj: Any
    meta: dict[str, Any] = field(default_factory=dict)


class Registry:
    def __init__(self, kind: str, modules: Iterable[str] = ()) -> None:
        self.kind = kind
        self._modules = list(modules)
        self._entries: dict[str, Entry] = {}  # replaced, never changed in place (copy-on-write)
        self._loaded = False
        self._write_lock = threading.Lock()
        self._load_lock = threading.RLock()  # re-entrant: a module being imported may look names up

    def register(self, name: str, **meta: Any) -> Callable[[Any], Any]:
        def decorator(obj: Any) -> Any:
            with self._write_lock:
                self._entries = {**self._entries, name: Entry(name, obj, meta)}
            return obj

        return decorator

    def unregister(self, name: str) -> None:
        """Remove ``name`` if registered (for tests that register a throwaway entry)."""
        with self._write_lock:
            self._entries = {key: entry for key, entry in self._entries.items() if key != name}

    def _load(self) -> None:
        if self._loaded:
            return
        with self._load_lock:
            if self._loaded:
                return
            for module in self._modules:
                try:
                    importlib.import_module(module)
                except ModuleNotFoundError as exc:
                    if exc.name != module:  # a dependency of the module is missing: that is a real error
                        raise
            self._loaded = True  # only now: other threads waited above, none saw a half-filled registry

    def get(self, name: str) -> Entry:
        self._load()
        entries = self._entries
        entry = entries.get(name)
        if entry is None:
            available = ", ".join(sorted(entries)) or "none"
            raise ModelNotFound(f"unknown {self.kind} '{name}' (available: {available})")
        return entry

    def names(self) -> list[str]:
        self._load()
        return sorted(self._entries)

    def entries(self) -> list[Entry]:
        self._load()
        entries = self._entries
        return [entries[n] for n in sorted(entries)]

    def __contains__(self, name: str) -> bool:
        self._load()
        return name in self._entries
