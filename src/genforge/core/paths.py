"""Output paths checked before any work starts, so a long job never fails at its last step.

Each check probes the file system for real (it creates and removes a temporary entry where the output
will go), because permission bits say little for root or for special file systems such as ``/proc``.
Nothing is left behind and no folder is created: a command that fails its check writes nothing.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from genforge.core.errors import ConfigError


def _probe(folder: Path, what: str) -> None:
    try:
        handle, name = tempfile.mkstemp(prefix=".genforge-probe-", dir=folder)
    except OSError as exc:
        raise ConfigError(f"cannot write {what}: {folder} is not writable ({exc.strerror})") from None
    os.close(handle)
    os.unlink(name)


def _existing_ancestor(path: Path) -> Path:
    for parent in [path, *path.parents]:
        if parent.exists():
            return parent
    return Path(".")


def check_output_file(path: str | os.PathLike, *, suffixes: Sequence[str] | None = None) -> Path:
    """``path`` as a :class:`Path` if a file can be written there, else one :class:`ConfigError` line.

    The folder must exist (it is not created) and be writable; ``path`` must not be a folder; with
    ``suffixes`` (like ``(".png", ".jpg")``) its extension must be one of them.
    """
    path = Path(path).expanduser()
    if suffixes is not None and path.suffix.lower() not in suffixes:
        raise ConfigError(f"{path}: use one of the extensions {', '.join(suffixes)}")
    if path.is_dir():
        raise ConfigError(f"{path} is a folder: give a file name to write")
    folder = path.parent
    if not folder.exists():
        raise ConfigError(f"cannot write {path}: folder {folder} does not exist (create it first)")
    if not folder.is_dir():
        raise ConfigError(f"cannot write {path}: {folder} is a file, not a folder")
    _probe(folder, str(path))
    return path


def check_output_dir(path: str | os.PathLike) -> Path:
    """``path`` as a :class:`Path` if it is, or can be created as, a writable folder (it is not created
    here), else one :class:`ConfigError` line."""
    path = Path(path).expanduser()
    ancestor = _existing_ancestor(path)
    if not ancestor.is_dir():
        raise ConfigError(f"cannot write into {path}: {ancestor} is a file, not a folder")
    _probe(ancestor, str(path))
    return path
