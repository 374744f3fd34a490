"""Name -> factory registries (models, datasets, extractors, …).

A registry maps a short user-facing name to an object plus metadata. Lookups of unknown names raise
:class:`ModelNotFound` listing what is available. Entries are added by decorators at import time of the
module that defines them; ``modules`` lists the modules to import before the first lookup, so a registry
never needs the whole package imported up front.
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
        self._entries: dict[str, Entry] = {}
        self._loaded = False
        self._loading = False
        self._lock = threading.RLock()  # threads that look up while another imports the modules wait

    def register(self, name: str, **meta: Any) -> Callable[[Any], Any]:
        def decorator(obj: Any) -> Any:
            self._entries[name] = Entry(name, obj, meta)
            return obj

        return decorator

    def unregister(self, name: str) -> None:
        """Remove ``name`` if registered (for tests that register a throwaway entry)."""
        self._entries.pop(name, None)

    def _load(self) -> None:
        if self._loaded:
            return
        with self._lock:
            if self._loaded or self._loading:  # done, or a module being imported looks itself up
                return
            self._loading = True
            try:
                for module in self._modules:
                    try:
                        importlib.import_module(module)
                    except ModuleNotFoundError as exc:
                        if exc.name != module:  # a dependency of the module is missing: a real error
                            raise
            finally:
                self._loading = False
                self._loaded = True

    def get(self, name: str) -> Entry:
        self._load()
        entry = self._entries.get(name)
        if entry is None:
            available = ", ".join(sorted(self._entries)) or "none"
            raise ModelNotFound(f"unknown {self.kind} '{name}' (available: {available})")
        return entry

    def names(self) -> list[str]:
        self._load()
        return sorted(self._entries)

    def entries(self) -> list[Entry]:
        self._load()
        return [self._entries[n] for n in sorted(self._entries)]

    def __contains__(self, name: str) -> bool:
        self._load()
        return name in self._entries
