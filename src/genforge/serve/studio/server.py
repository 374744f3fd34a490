"""Serving the studio on its own (``genforge studio``): checks first, then uvicorn on loopback.

The studio has no API keys, so it binds to a loopback address only; ``genforge serve`` mounts the same
app at ``/studio`` behind its keys when it must listen elsewhere."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from pathlib import Path

from genforge.core.errors import ConfigError

LOOPBACK_NAMES = {"localhost"}


def check_studio_args(runs_dir: str | Path, store: str | Path | None, host: str, port: int) -> None:
    """Every argument of ``genforge studio`` checked before anything starts (one line each)."""
    runs = Path(runs_dir)
    if runs.exists() and not runs.is_dir():
        raise ConfigError(f"--runs {runs} is a file, not a folder of runs")
    if store is not None and not Path(store).is_dir():
        raise ConfigError(
            f"--store {store} is not a folder: build one with 'genforge rag index DOCS --store DIR'"
        )
    if not 1 <= port <= 65535:
        raise ConfigError(f"--port must be between 1 and 65535, got {port}")
    if host not in LOOPBACK_NAMES:
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            raise ConfigError(f"--host {host[:80]!r} is not an IP address or 'localhost'") from None
        if not loopback:
            raise ConfigError(
                f"--host {host} is not a loopback address: the studio has no API keys, so it serves "
                "127.0.0.1 only (use 'genforge serve --api-keys FILE' to expose it at /studio)"
            )
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            raise ConfigError(f"port {port} on {host} is in use: pick another with --port") from None


def run_studio(
    runs_dir: str | Path,
    store: str | Path | None = None,
    host: str = "127.0.0.1",
    port: int = 8001,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the studio until interrupted; ``on_ready`` gets the URL once the checks pass."""
    import uvicorn

    from genforge.serve.studio.app import create_app

    check_studio_args(runs_dir, store, host, port)
    app = create_app(runs_dir, store)
    if on_ready:
        on_ready(f"http://{host}:{port}/")
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=3)
