"""genforge serve: micro-batching on vs off under load, and cold start to the first 200.

Two servers on 127.0.0.1 serve the same VAE digits run over OIP v2 ``decode`` (one latent per request):
one with micro-batching (``--max-batch 32``), the reference with batching off (``--max-batch 1``).
An asyncio httpx client sends a fixed number of requests over N connections; the two servers are
measured in turn, interleaved, ``--repeats`` times, and the medians of req/s, p50 and p95 are printed side
by side with their ratios. Cold start is the time from starting ``genforge serve`` with a gpt run, the
vae run and MiniLM (three models) to the first 200 of ``/health/ready``.

Ray Serve and BentoML are not installed in this environment, so the issue's comparison against them is
not run here (see docs/serving.md).

    .venv/bin/python benchmarks/serve_batching.py [--vae RUN] [--gpt RUN] [--requests 600] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

GENFORGE = [sys.executable, "-m", "genforge.cli.main"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def train(family: str, data: str, root: Path) -> Path:
    out = subprocess.run([*GENFORGE, "train", family, "--data", data, "--max-steps", "30", "--out", str(root), "--quiet", "--json"], capture_output=True, text=True, check=True)  # fmt: skip
    return Path(json.loads(out.stdout)["run"])


def start(args: list[str]) -> tuple[subprocess.Popen, str, float]:
    """A server process, its URL and the seconds from start to the first 200 of /health/ready."""
    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen([*GENFORGE, "serve", *args, "--port", str(port), "--rate", "off"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    while True:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/health/ready", timeout=2).status_code == 200:
                return process, url, time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.05)


async def load(url: str, body: dict, requests: int, connections: int) -> tuple[float, float, float]:
    """(req/s, p50 ms, p95 ms) for ``requests`` POSTs over ``connections`` connections."""
    latencies: list[float] = []
    remaining = requests
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:

        async def worker():
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                t = time.perf_counter()
                r = await client.post("/v2/models/vae/infer", json=body)
                r.raise_for_status()
                latencies.append(time.perf_counter() - t)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=20)
    return len(latencies) / elapsed, statistics.median(latencies) * 1000, cuts[18] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vae", help="a vae digits run (default: train one for 30 steps)")
    parser.add_argument("--gpt", help="a gpt run for the cold-start row (default: train one for 30 steps)")
    parser.add_argument("--requests", type=int, default=600, help="requests per measurement (default 600)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats (default 3)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="serve-bench-"))
    vae = Path(args.vae) if args.vae else train("vae", "digits", root)
    gpt = Path(args.gpt) if args.gpt else train("gpt", "text:lee", root)
    servers = {
        "batching on (--max-batch 32)": start(
            [f"vae={vae}", "--embeddings", "none", "--max-batch", "32", "--max-wait-ms", "2"]
        ),  # fmt: skip
        "batching off (--max-batch 1)": start([f"vae={vae}", "--embeddings", "none", "--max-batch", "1"]),
    }
    meta = httpx.get(f"{next(iter(servers.values()))[1]}/v2/models/vae").json()
    latent = next(i for i in meta["inputs"] if i["name"] == "z")["shape"][1]
    body = {"inputs": [{"name": "z", "shape": [1, latent], "datatype": "FP32", "data": [0.1] * latent}]}
    results: dict[tuple[str, int], list[tuple[float, float, float]]] = {}
    try:
        for connections in (16, 1):
            for _ in range(args.repeats):
                for name, (_, url, _) in servers.items():
                    n = args.requests if connections > 1 else args.requests // 4
                    results.setdefault((name, connections), []).append(
                        asyncio.run(load(url, body, n, connections))
                    )
    finally:
        for process, _, _ in servers.values():
            process.terminate()
            process.wait()
    print(
        f"OIP v2 decode, one latent per request, {args.requests} requests, median of {args.repeats} interleaved runs"
    )
    print(f"{'server':<30} {'conns':>5} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'req/s vs off':>13}")
    for connections in (16, 1):
        off = statistics.median(r[0] for r in results[("batching off (--max-batch 1)", connections)])
        for name in servers:
            rows = results[(name, connections)]
            rps, p50, p95 = (statistics.median(r[i] for r in rows) for i in range(3))
            print(f"{name:<30} {connections:>5} {rps:>8.1f} {p50:>8.2f} {p95:>8.2f} {rps / off:>12.2f}x")
    process, _, seconds = start([f"gpt={gpt}", f"vae={vae}", "--embeddings", "minilm"])
    process.terminate()
    process.wait()
    print(f"cold start to the first 200 of /health/ready with 3 models (gpt, vae, minilm): {seconds:.2f} s")


if __name__ == "__main__":
    main()
