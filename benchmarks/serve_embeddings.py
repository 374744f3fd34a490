"""genforge serve: ``/v1/embeddings`` throughput vs in-process batched encoding of the same sentences.

The issue's target: the server answers at least 0.8x the sentences per second of
``SentenceEmbedding.embed_texts`` called in-process with batches of ``--batch`` sentences, at the same
torch thread count. The server (``genforge serve --embeddings minilm --threads N``) receives requests of
``--per-request`` sentences over ``--connections`` connections from an asyncio httpx client; its
micro-batcher joins what queued into one ``embed_texts`` call. Both sides embed the same sentences of the
``lee`` corpus, each made unique (the served model keeps a content-hash cache, which repeated sentences
would hit); the in-process model has its cache off. The two take turns ``--repeats`` times and the
medians are printed with their ratio.

    nice .venv/bin/python benchmarks/serve_embeddings.py [--sentences 512] [--per-request 4] [--connections 16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import httpx  # noqa: E402
import torch  # noqa: E402
from serve_process import start, stop  # noqa: E402

from genforge.data.text import load_corpus  # noqa: E402
from genforge.embed.sentence import SentenceEmbedding  # noqa: E402


def sentences(count: int, round_number: int) -> list[str]:
    """``count`` distinct sentences of the lee corpus, tagged with the round so no round repeats one."""
    documents = load_corpus("lee").documents
    pool = [s.strip() for d in documents for s in re.split(r"(?<=[.!?])\s+", d) if len(s.split()) >= 3]
    return [f"{pool[i % len(pool)]} ({round_number}.{i})" for i in range(count)]


async def served(url: str, texts: list[str], per_request: int, connections: int) -> float:
    """Sentences per second through ``/v1/embeddings``."""
    requests = [texts[i : i + per_request] for i in range(0, len(texts), per_request)]
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client:

        async def worker():
            while requests:
                batch = requests.pop()
                r = await client.post("/v1/embeddings", json={"model": "minilm", "input": batch, "encoding_format": "base64"})  # fmt: skip
                r.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        return len(texts) / (time.perf_counter() - started)


def in_process(model: SentenceEmbedding, texts: list[str], batch: int) -> float:
    """Sentences per second of ``embed_texts`` on batches of ``batch`` sentences."""
    started = time.perf_counter()
    for i in range(0, len(texts), batch):
        model.embed_texts(texts[i : i + batch])
    return len(texts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=512, help="sentences per measurement (default 512)")
    parser.add_argument("--per-request", type=int, default=4, help="sentences per HTTP request (default 4)")
    parser.add_argument("--connections", type=int, default=16, help="client connections (default 16)")
    parser.add_argument("--batch", type=int, default=32, help="in-process batch = server --max-batch (default 32)")  # fmt: skip
    parser.add_argument("--threads", type=int, default=1, help="torch threads on both sides (default 1)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats (default 3)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = SentenceEmbedding(cache_size=0)
    model.embed_texts(sentences(args.batch, -1))  # warm-up, as the server warms its model
    serve_args = ["--embeddings", "minilm", "--studio", "none", "--threads", str(args.threads)]
    process, url, _ = start([*serve_args, "--max-batch", str(args.batch)])
    rates: dict[str, list[float]] = {"in-process embed_texts": [], "/v1/embeddings": []}
    try:
        asyncio.run(served(url, sentences(64, -1), args.per_request, args.connections))  # warm the path
        for repeat in range(args.repeats):
            texts = sentences(args.sentences, repeat)
            rates["in-process embed_texts"].append(in_process(model, texts, args.batch))
            texts = sentences(args.sentences, 1000 + repeat)
            rates["/v1/embeddings"].append(
                asyncio.run(served(url, texts, args.per_request, args.connections))
            )
    finally:
        stop(process)
    print(
        f"MiniLM, {args.sentences} lee sentences, {args.threads} torch thread(s); server: {args.per_request} "
        f"per request over {args.connections} connections, --max-batch {args.batch}; in-process: batches of "
        f"{args.batch}; median of {args.repeats} interleaved runs"
    )
    reference = statistics.median(rates["in-process embed_texts"])
    print(f"{'path':<26} {'sentences/s':>12} {'vs in-process':>14}")
    for name, values in rates.items():
        rate = statistics.median(values)
        print(f"{name:<26} {rate:>12.1f} {rate / reference:>13.2f}x")


if __name__ == "__main__":
    main()
