"""The store's file locks: ``write.lock`` (one writer per store) and ``read.lock`` (snapshot loading).

``flock`` locks on files in the store folder, so they work across processes and vanish with a killed
process. A writer holds ``write.lock`` exclusively for a whole index run; readers take ``read.lock``
shared while they load a snapshot, writers take it exclusively only while they swap or delete files a
snapshot may still use. Waiting is announced once through ``notify`` and bounded by ``timeout``.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from genforge.core.errors import GenforgeError


class StoreLocked(GenforgeError):
    """Another process holds the store's write lock for longer than the timeout."""


@contextmanager
def file_lock(folder: Path, name: str, exclusive: bool, timeout: float,
              notify: Callable[[str], None] | None = None) -> Iterator[None]:  # fmt: skip
    """Hold ``folder/name`` locked (exclusive or shared) for the ``with`` block."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / name, os.O_RDWR | os.O_CREAT, 0o644)
    mode = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
    deadline = time.monotonic() + timeout
    told = False
    try:
        while True:
            try:
                fcntl.flock(fd, mode)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StoreLocked(
                        f"{folder} is being indexed by another process; wait for it or raise --lock-timeout"
                    ) from None
                if not told and notify is not None:
                    notify(f"{folder} is locked by another process; waiting up to {timeout:g} s")
                    told = True
                time.sleep(0.05)
        if exclusive and name == "write.lock":
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
