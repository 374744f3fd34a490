"""Real servers for the serve tests: tiny runs trained once, then ``genforge serve`` started as a
subprocess on a free loopback port, used through real HTTP clients (httpx, the official openai client).

``server`` serves a gpt run, a vae run, MiniLM and a RAG store behind API keys; ``small_server`` serves
the vae run and a damaged copy of it (``--skip-broken``) with two worker processes and a tight rate limit.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

GENFORGE = [sys.executable, "-m", "genforge.cli.main"]


def run_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([*GENFORGE, *args], capture_output=True, text=True, timeout=timeout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    key: str | None
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, key: str | None = "default") -> httpx.Client:
        key = self.key if key == "default" else key
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)


def start_server(args: list[str], log: Path, key: str | None = None, timeout: float = 240) -> Server:
    port = free_port()
    handle = log.open("w")
    process = subprocess.Popen(
        [*GENFORGE, "serve", *args, "--port", str(port)], stdout=handle, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=2).status_code == 200:
                return Server(process, port, key, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"server not ready in {timeout} s: {log.read_text()[-2000:]}")


def stop_server(server: Server) -> int:
    server.process.send_signal(signal.SIGTERM)
    try:
        return server.process.wait(60)
    except subprocess.TimeoutExpired:
        server.process.kill()
        return server.process.wait()


@pytest.fixture(scope="session")
def serve_runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("serve-runs")
    runs = {}
    for family, data in (("gpt", "text:lee"), ("vae", "digits")):
        out = run_cli(
            "train", family, "--data", data, "--max-steps", "30", "--out", str(root), "--quiet", "--json"
        )
        assert out.returncode == 0, out.stderr
        runs[family] = Path(json.loads(out.stdout)["run"])
    docs = root / "docs"
    docs.mkdir()
    (docs / "resume.md").write_text(
        "# Resuming\n\nPass --resume with a run directory to continue training where it stopped.\n"
    )
    (docs / "refunds.md").write_text(
        "# Refunds\n\nFor a refund, mail Jan at jan.devries@gmail.com with your order number. Refunds are "
        "paid back within five working days of the request.\n"
    )
    store = root / "store"
    out = run_cli("rag", "index", str(docs), "--store", str(store))
    assert out.returncode == 0, out.stderr
    runs["store"] = store
    return runs


@pytest.fixture(scope="session")
def api_keys(tmp_path_factory) -> tuple[Path, str, str]:
    path = tmp_path_factory.mktemp("keys") / "keys.json"
    keys = []
    for name in ("alice", "bob"):
        out = run_cli("keys", "add", name, "--api-keys", str(path))
        assert out.returncode == 0, out.stderr
        keys.append(out.stdout.strip())
    return path, keys[0], keys[1]


@pytest.fixture(scope="session")
def server(serve_runs, api_keys, tmp_path_factory):
    path, key, _ = api_keys
    log = tmp_path_factory.mktemp("serve-log") / "server.log"
    args = [str(serve_runs["gpt"]), str(serve_runs["vae"]), "--rag", str(serve_runs["store"]), "--api-keys", str(path),
            "--rate", "1000/s", "--max-tokens", "64", "--max-items", "16", "--max-body-mb", "1", "--max-streams", "2", "--studio", str(serve_runs["gpt"].parent), "--body-timeout-s", "3"]  # fmt: skip
    srv = start_server(args, log, key)
    yield srv
    stop_server(srv)


@pytest.fixture(scope="session")
def small_server(serve_runs, tmp_path_factory):
    """Two workers, 1 request/s per client, a damaged run skipped."""
    root = tmp_path_factory.mktemp("small")
    broken = root / "broken-run"
    shutil.copytree(serve_runs["vae"], broken)
    for f in (broken / "checkpoints").glob("*.safetensors"):
        f.write_bytes(b"not a checkpoint")
    args = ["vae=" + str(serve_runs["vae"]), str(broken), "--skip-broken", "--embeddings", "none", "--workers", "2", "--rate", "1/s"]  # fmt: skip
    env_dir = os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    srv = start_server(args, root / "server.log")
    yield srv
    stop_server(srv)
    if env_dir is not None:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = env_dir
