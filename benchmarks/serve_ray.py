"""genforge serve on uvicorn vs the same app as a Ray Serve deployment (``--backend ray``), same load.

Two servers on 127.0.0.1 serve the same GPT run and MiniLM with the same settings (``--threads``,
``--max-batch``); the reference is ``genforge serve`` (uvicorn, one process), the other is
``genforge serve --backend ray`` (Ray Serve's HTTP proxy in front of ``--max-replicas`` replicas of the
same FastAPI app; default 1, so both sides run one copy of the models). Workloads: chat completions of
``--chat-tokens`` tokens (one prompt, a seed per request) and ``/v1/embeddings`` of 4 sentences per
request, each over ``--connections`` connections (an asyncio httpx client); the servers are measured in
turn, interleaved, ``--repeats`` times; medians of req/s, p50 and p95 are printed side by side with their
ratios to uvicorn, then each server's start-up time (process start to the first 200 of /health/ready).
Before measuring, one seeded chat is sent to both and its text compared (the same app gives the same
answer). Needs Ray Serve in the Python running it (``pip install 'genforge[ray]'``).

    python benchmarks/serve_ray.py [--gpt RUN] [--chats 48] [--embeds 96] [--connections 8] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import tempfile
from pathlib import Path

import httpx
from serve_process import chat_requests, load, start, stop, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpt", help="a gpt run (default: train one on text:lee for 30 steps)")
    parser.add_argument("--chats", type=int, default=48, help="chat requests per measurement (default 48)")
    parser.add_argument("--chat-tokens", type=int, default=16, help="max_tokens of each chat (default 16)")
    parser.add_argument("--embeds", type=int, default=96, help="embedding requests per measurement (default 96)")  # fmt: skip
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections (default 8)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats (default 3)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per server process (default 1)")
    parser.add_argument("--max-replicas", type=int, default=1, help="Ray Serve replicas at most (default 1)")
    args = parser.parse_args()
    gpt = (
        Path(args.gpt)
        if args.gpt
        else train("gpt", "text:lee", Path(tempfile.mkdtemp(prefix="serve-ray-bench-")))
    )
    common = [f"gpt={gpt}", "--embeddings", "minilm", "--studio", "none", "--threads", str(args.threads)]
    settings = {
        "genforge serve (uvicorn)": common,
        "genforge serve --backend ray": [
            *common,
            "--backend",
            "ray",
            "--max-replicas",
            str(args.max_replicas),
        ],
    }
    reference = next(iter(settings))
    servers: dict[str, tuple[subprocess.Popen, str, float]] = {}
    results: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
    chats = chat_requests(args.chats, args.chat_tokens)
    sentences = ["a cat sat on the mat", "the court ruled today", "rain is expected", "shares fell sharply"]
    embeds = [{"model": "minilm", "input": sentences, "encoding_format": "float"}] * args.embeds
    workloads = [("chat", "/v1/chat/completions", chats), ("embeddings", "/v1/embeddings", embeds)]
    try:  # every server started is stopped, whatever fails
        for name, server_args in settings.items():
            servers[name] = start(server_args)
        answers = {name: httpx.post(f"{url}/v1/chat/completions", json=chats[0], timeout=120).json() for name, (_, url, _) in servers.items()}  # fmt: skip
        texts = {name: answer["choices"][0]["message"]["content"] for name, answer in answers.items()}
        same = len(set(texts.values())) == 1
        for what, path, bodies in workloads:
            for _ in range(args.repeats):
                for name, (_, url, _) in servers.items():
                    measured = asyncio.run(load(url, path, bodies, args.connections, timeout=300))
                    results.setdefault((what, name), []).append(measured)
    finally:
        for process, _, _ in servers.values():
            stop(process)
    print(
        f"{args.chats} chats of {args.chat_tokens} tokens (a seed each), {args.embeds} embedding requests of 4 "
        f"sentences; {args.connections} connections; median of {args.repeats} interleaved runs; "
        f"{args.threads} torch thread(s) per process; Ray Serve with at most {args.max_replicas} replica(s)"
    )
    print(f"seeded chat answered identically by both servers: {same}")
    print(f"{'workload':<11} {'server':<29} {'req/s':>8} {'p50 ms':>9} {'p95 ms':>9} {'req/s ratio':>12} {'p95 ratio':>10}")  # fmt: skip
    for what, _, _ in workloads:
        ref = [statistics.median(r[i] for r in results[(what, reference)]) for i in range(3)]
        for name in settings:
            rps, p50, p95 = (statistics.median(r[i] for r in results[(what, name)]) for i in range(3))
            print(f"{what:<11} {name:<29} {rps:>8.1f} {p50:>9.1f} {p95:>9.1f} {rps / ref[0]:>11.2f}x {p95 / ref[2]:>9.2f}x")  # fmt: skip
    for name, (_, _, elapsed) in servers.items():
        print(f"start-up to the first 200 of /health/ready, {name}: {elapsed:.2f} s")


if __name__ == "__main__":
    main()
