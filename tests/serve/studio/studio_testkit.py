"""Helpers of the studio tests (imported by their conftest and tests; a plain module, not a conftest)."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

CHROMIUM = os.environ.get("GENFORGE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[3] / "tmp" / "test-artifacts" / "studio"

DOCS = {
    "training.md": "# Training\n\nTrain a model with `genforge train vae --data digits`.\n\n"
    "## Resuming\n\nTo resume training from the last checkpoint, run `genforge train --resume RUN_ID`; "
    "the optimizer state is restored.\n",
    "kitchen.md": "# Bread\n\nThe sourdough starter is fed every morning with rye flour and water.\n",
    "refunds.md": "# Refunds\n\nFor a refund, mail Jan at jan.devries@gmail.com with your order number. "
    "Refunds are paid back within five working days of the request.\n",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class StudioServer:
    """The real app under uvicorn in a thread of the test process."""

    def __init__(self, runs_dir: Path, store: Path | None = None) -> None:
        import uvicorn

        from genforge.serve.studio.app import create_app

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(runs_dir, store), host="127.0.0.1", port=self.port, log_level="warning",
            timeout_graceful_shutdown=1,
        )  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the studio did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
