"""Run the server: check the settings, bind the port, load the models, hand over to uvicorn.

The socket is bound before the models load, so a port in use is one line at once rather than after a
minute of loading; uvicorn then serves on that socket. With ``workers`` > 1, uvicorn's supervisor starts
that many processes, each loading its own models from the same settings (``app_from_environment``);
Prometheus runs in multiprocess mode over a temporary folder removed at exit.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Callable

import torch

from genforge.core.errors import ConfigError, require
from genforge.serve.config import ServeConfig, check_bind

GRACEFUL_SHUTDOWN_S = 30


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host}:{port} ({exc.strerror}): pass another --port or --host"
        ) from None
    sock.set_inheritable(True)
    return sock


def serve(config: ServeConfig, *, announce: Callable[[str], None] | None = None) -> None:
    """Serve until SIGINT/SIGTERM; in-flight requests get up to 30 s to finish."""
    require("fastapi", "serve")
    uvicorn = require("uvicorn", "serve")
    check_bind(config)
    if config.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="genforge-metrics-")
    from genforge.serve.app import CONFIG_ENV, create_app
    from genforge.serve.catalog import load_catalog
    from genforge.serve.keys import KeyStore

    if config.api_keys:
        KeyStore.load(config.api_keys)
    sock = bind(config.host, config.port)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    torch.set_num_threads(config.threads)  # per worker process; workers > 1 set it in each worker
    started = time.perf_counter()
    models = load_catalog(config)
    loaded = time.perf_counter() - started
    host, port = sock.getsockname()[:2]
    if announce:
        announce(
            f"serving {', '.join(models)} on http://{host}:{port} ({config.workers} worker(s); "
            f"models loaded in {loaded:.2f} s)"
        )
    try:
        if config.workers == 1:
            app = create_app(config, models)
            server_config = uvicorn.Config(
                app, log_level="warning", timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S
            )
            uvicorn.Server(server_config).run(sockets=[sock])
            return
        del models  # each worker loads its own
        os.environ[CONFIG_ENV] = config.model_copy(update={"port": port}).model_dump_json()
        sock.close()  # uvicorn's supervisor binds the port itself and shares it with the workers
        uvicorn.run(
            "genforge.serve.app:app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=config.workers,
            log_level="warning",
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        )
    finally:
        sock.close()
        folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
        if folder.startswith(tempfile.gettempdir()) and "genforge-metrics-" in folder:
            shutil.rmtree(folder, ignore_errors=True)
