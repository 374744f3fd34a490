"""genforge serve: micro-batching on vs off under load, and cold start to the first 200.

Two servers on 127.0.0.1 serve the same VAE digits run and the same GPT run: one with micro-batching
(``--max-batch 32``), the reference with batching off (``--max-batch 1``), same ``--threads``. Two
workloads: OIP v2 ``decode`` of one latent per request, and chat completions of ``--chat-tokens`` tokens
(one prompt, a different seed per request, so text batching decodes them together). An asyncio httpx
client sends a fixed list of requests over N connections; the two servers are measured in turn,
interleaved, ``--repeats`` times, and the medians of req/s, p50 and p95 are printed side by side with
their ratios. Cold start is the time from starting ``genforge serve`` with a gpt run, the
vae run and MiniLM (three models) to the first 200 of ``/health/ready``.

Ray Serve and BentoML are not installed in this environment, so the issue's comparison against them is
not run here (see docs/serving.md).

    .venv/bin/python benchmarks/serve_batching.py [--vae RUN] [--gpt RUN] [--requests 600] [--repeats 3]
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
    parser.add_argument("--vae", help="a vae digits run (default: train one for 30 steps)")
    parser.add_argument("--gpt", help="a gpt run (default: train one on text:lee for 30 steps)")
    parser.add_argument("--requests", type=int, default=600, help="decode requests per measurement (default 600)")  # fmt: skip
    parser.add_argument("--chats", type=int, default=64, help="chat requests per measurement (default 64)")
    parser.add_argument("--chat-tokens", type=int, default=32, help="max_tokens of each chat (default 32)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats (default 3)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per server (default 1)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="serve-bench-"))
    vae = Path(args.vae) if args.vae else train("vae", "digits", root)
    gpt = Path(args.gpt) if args.gpt else train("gpt", "text:lee", root)
    common = [f"vae={vae}", f"gpt={gpt}", "--embeddings", "none", "--studio", "none", "--threads", str(args.threads)]  # fmt: skip
    settings = {
        "batching on (--max-batch 32)": [*common, "--max-batch", "32", "--max-wait-ms", "2"],
        "batching off (--max-batch 1)": [*common, "--max-batch", "1"],
    }
    servers: dict[str, tuple[subprocess.Popen, str, float]] = {}
    results: dict[tuple[str, str, int], list[tuple[float, float, float]]] = {}
    try:  # every server started is stopped, whatever fails
        for name, server_args in settings.items():
            servers[name] = start(server_args)
        meta = httpx.get(f"{servers[next(iter(settings))][1]}/v2/models/vae").json()
        latent = next(i for i in meta["inputs"] if i["name"] == "z")["shape"][1]
        decode = {"inputs": [{"name": "z", "shape": [1, latent], "datatype": "FP32", "data": [0.1] * latent}]}
        chats = chat_requests(args.chats, args.chat_tokens)
        workloads = [
            ("OIP decode", "/v2/models/vae/infer", 16, [decode] * args.requests),
            ("OIP decode", "/v2/models/vae/infer", 1, [decode] * (args.requests // 4)),
            ("chat", "/v1/chat/completions", 16, chats),
            ("chat", "/v1/chat/completions", 1, chats[: max(4, args.chats // 4)]),
        ]
        for what, path, connections, bodies in workloads:
            for _ in range(args.repeats):
                for name, (_, url, _) in servers.items():
                    measured = asyncio.run(load(url, path, bodies, connections))
                    results.setdefault((what, name, connections), []).append(measured)
    finally:
        for process, _, _ in servers.values():
            stop(process)
    print(
        f"{args.requests} OIP v2 decodes of one latent, {args.chats} chats of {args.chat_tokens} tokens "
        f"(one prompt, a seed each); median of {args.repeats} interleaved runs; {args.threads} torch "
        "thread(s) per server"
    )
    print(f"{'workload':<11} {'server':<30} {'conns':>5} {'req/s':>8} {'p50 ms':>9} {'p95 ms':>9} {'req/s vs off':>13}")  # fmt: skip
    for what, _, connections, _ in workloads:
        off = statistics.median(r[0] for r in results[(what, "batching off (--max-batch 1)", connections)])
        for name in settings:
            rows = results[(what, name, connections)]
            rps, p50, p95 = (statistics.median(r[i] for r in rows) for i in range(3))
            print(f"{what:<11} {name:<30} {connections:>5} {rps:>8.1f} {p50:>9.2f} {p95:>9.2f} {rps / off:>12.2f}x")  # fmt: skip
    seconds = []
    for _ in range(args.repeats):
        process = None
        try:
            process, _, elapsed = start([f"gpt={gpt}", f"vae={vae}", "--embeddings", "minilm"])
            seconds.append(elapsed)
        finally:
            if process is not None:
                stop(process)
    print(
        "cold start to the first 200 of /health/ready with 3 models (gpt, vae, minilm): "
        f"median {statistics.median(seconds):.2f} s of {len(seconds)} ({', '.join(f'{x:.2f}' for x in seconds)})"
    )


if __name__ == "__main__":
    main()
