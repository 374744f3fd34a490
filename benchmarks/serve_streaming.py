"""genforge serve: streamed chat's time to first token and tokens/s vs in-process generation.

The issue's target: both within 10 % of in-process ``generate`` on the same run, same settings and
seed, same torch thread count. In-process: ``generate(run, prompt, on_text=...)``, timing the first
piece of text and the whole call. Served: one streamed ``/v1/chat/completions`` request at a time
(``genforge serve --threads N``), timing the first content chunk and the last one as the client sees
them. tokens/s = completion tokens / seconds from the request to the last token. The two take turns,
``--repeats`` times each, and the medians are printed with their ratios.

    nice .venv/bin/python benchmarks/serve_streaming.py --gpt RUN [--tokens 64] [--repeats 7]
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import torch

from genforge.pipelines.generation import generate
from genforge.pipelines.loading import load_run

GENFORGE = [sys.executable, "-m", "genforge.cli.main"]
PROMPT = "The government"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def start_server(gpt: Path, threads: int, timeout: float = 600) -> tuple[subprocess.Popen, str]:
    port = free_port()
    args = ["serve", f"gpt={gpt}", "--embeddings", "none", "--studio", "none", "--rate", "off"]
    args += ["--threads", str(threads), "--port", str(port)]
    process = subprocess.Popen([*GENFORGE, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"server exited with {process.returncode}")
            try:
                if httpx.get(f"{url}/health/ready", timeout=2).status_code == 200:
                    return process, url
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"server not ready within {timeout:g} s")
    except BaseException:
        stop(process)
        raise


def in_process(loaded, tokens: int, seed: int) -> tuple[float, float]:
    """(seconds to the first piece of text, tokens per second) of one ``generate`` call."""
    first: list[float] = []
    started = time.perf_counter()
    result = generate(
        loaded, PROMPT, max_tokens=tokens, seed=seed,
        on_text=lambda piece: first.append(time.perf_counter()) if piece and not first else None,
    )  # fmt: skip
    total = time.perf_counter() - started
    return first[0] - started, result.generated_tokens / total


def served(client: httpx.Client, tokens: int, seed: int) -> tuple[float, float]:
    """(seconds to the first content chunk, tokens per second) of one streamed chat request."""
    body = {"model": "gpt", "messages": [{"role": "user", "content": PROMPT}], "max_tokens": tokens,
            "seed": seed, "stream": True, "stream_options": {"include_usage": True}}  # fmt: skip
    first = None
    completion_tokens = 0
    started = time.perf_counter()
    with client.stream("POST", "/v1/chat/completions", json=body) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[len("data: ") :])
            if chunk["choices"] and chunk["choices"][0]["delta"].get("content") and first is None:
                first = time.perf_counter()
            if chunk.get("usage"):
                completion_tokens = chunk["usage"]["completion_tokens"]
    total = time.perf_counter() - started
    return (first or total) - started, completion_tokens / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpt", required=True, help="a gpt run directory")
    parser.add_argument("--tokens", type=int, default=64, help="max_tokens per request (default 64)")
    parser.add_argument("--repeats", type=int, default=7, help="interleaved repeats (default 7)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads on both sides (default 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    loaded = load_run(args.gpt, data=False)
    in_process(loaded, 4, 0)  # warm-up, as the server warms its model
    process, url = start_server(Path(args.gpt), args.threads)
    rows: dict[str, list[tuple[float, float]]] = {"in-process generate": [], "served stream": []}
    try:
        with httpx.Client(base_url=url, timeout=120) as client:
            served(client, 4, 0)
            for seed in range(args.repeats):
                rows["in-process generate"].append(in_process(loaded, args.tokens, seed))
                rows["served stream"].append(served(client, args.tokens, seed))
    finally:
        stop(process)
    print(f"gpt run, prompt {PROMPT!r}, {args.tokens} tokens, {args.threads} torch thread(s), median of {args.repeats}")  # fmt: skip
    reference = [statistics.median(v[i] for v in rows["in-process generate"]) for i in (0, 1)]
    print(f"{'path':<22} {'TTFT ms':>9} {'vs in-process':>14} {'tokens/s':>9} {'vs in-process':>14}")
    for name, values in rows.items():
        ttft, rate = (statistics.median(v[i] for v in values) for i in (0, 1))
        print(f"{name:<22} {ttft * 1000:>9.2f} {ttft / reference[0]:>13.2f}x {rate:>9.1f} {rate / reference[1]:>13.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
