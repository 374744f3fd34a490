"""Dataset listings for the CLI and the server: every registered spec with its shape and split sizes."""

from __future__ import annotations

from typing import Any

from genforge.core.errors import ConfigError, GenforgeError
from genforge.data import list_datasets, load_dataset


def describe_builtin_datasets(kind: str | None = None) -> list[dict[str, Any]]:
    """One row per example spec of every registered dataset (of ``kind``, when given); specs that need a
    user path are listed with their help only. A built-in that cannot load (a missing extra) is listed
    with the reason."""
    rows = []
    entries = list_datasets()
    if kind is not None and kind not in {e["kind"] for e in entries}:
        kinds = ", ".join(sorted({e["kind"] for e in entries}))
        raise ConfigError(f"no dataset kind '{kind}' (kinds: {kinds})")
    for entry in entries:
        if kind is not None and entry["kind"] != kind:
            continue
        for spec in entry["examples"]:
            row: dict[str, Any] = {"spec": spec, "kind": entry["kind"], "help": entry["help"]}
            if "PATH" not in spec:
                try:
                    row.update({k: v for k, v in load_dataset(spec).describe().items() if k != "spec"})
                except GenforgeError as exc:
                    row["unavailable"] = str(exc)
            rows.append(row)
    return rows
