"""A ``genforge serve`` process on a free loopback port for the serve benchmarks: start, wait, stop."""

from __future__ import annotations

import asyncio
import json
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

GENFORGE = [sys.executable, "-m", "genforge.cli.main"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(args: list[str], timeout: float = 600) -> tuple[subprocess.Popen, str, float]:
    """``genforge serve ARGS --rate off`` on a free port: the process, its URL and the seconds from start to
    the first 200 of /health/ready; the process is stopped here if it never gets ready (or the wait is
    interrupted)."""
    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen([*GENFORGE, "serve", *args, "--port", str(port), "--rate", "off"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        while time.perf_counter() - started < timeout:
            if process.poll() is not None:
                raise SystemExit(f"server exited with {process.returncode}")
            try:
                if httpx.get(f"{url}/health/ready", timeout=2).status_code == 200:
                    return process, url, time.perf_counter() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise SystemExit(f"server not ready within {timeout:g} s")
    except BaseException:
        stop(process)
        raise


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def train(family: str, data: str, root: Path) -> Path:
    out = subprocess.run([*GENFORGE, "train", family, "--data", data, "--max-steps", "30", "--out", str(root), "--quiet", "--json"], capture_output=True, text=True, check=True)  # fmt: skip
    return Path(json.loads(out.stdout)["run"])


async def load(
    url: str, path: str, bodies: list[dict], connections: int, timeout: float = 120
) -> tuple[float, float, float]:
    """(req/s, p50 ms, p95 ms) for one POST of each body to ``path`` over ``connections`` connections."""
    latencies: list[float] = []
    pending = list(reversed(bodies))
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=timeout) as client:

        async def worker():
            while pending:
                body = pending.pop()
                t = time.perf_counter()
                r = await client.post(path, json=body)
                r.raise_for_status()
                latencies.append(time.perf_counter() - t)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=20)
    return len(latencies) / elapsed, statistics.median(latencies) * 1000, cuts[18] * 1000


def chat_requests(n: int, max_tokens: int) -> list[dict]:
    """``n`` chat bodies for the ``gpt`` model: one prompt, seeds 0..n-1 (so text batching decodes them
    together and every reply is reproducible)."""
    return [
        {"model": "gpt", "messages": [{"role": "user", "content": "The government"}], "max_tokens": max_tokens,
         "seed": seed}
        for seed in range(n)
    ]  # fmt: skip
