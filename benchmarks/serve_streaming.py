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
import statistics
import time
from pathlib import Path

import httpx
import torch
from serve_process import start, stop

from genforge.pipelines.generation import generate
from genforge.pipelines.loading import load_run

PROMPT = "The government"


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
    serve_args = [
        f"gpt={Path(args.gpt)}",
        "--embeddings",
        "none",
        "--studio",
        "none",
        "--threads",
        str(args.threads),
    ]
    process, url, _ = start(serve_args)
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
