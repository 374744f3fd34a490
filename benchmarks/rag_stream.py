"""Streamed RAG answers: time to the first released text against the whole answer.

``genforge.ask(..., stream=True)`` releases the answer sentence by sentence once the sentence rails
(PII redaction) have passed it, before the whole-answer checks (support scoring, groundedness, citation
validity). This script asks the same questions both ways on one store, interleaved, ``--repeats``
rounds, and prints medians: ``ask`` (reference: the whole answer), and for the stream the first text
and the last event. The first question of each mode is a warm-up and is not counted.

    nice .venv/bin/python benchmarks/rag_stream.py [--docs docs] [--store tmp/rag-stream-store] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from genforge.embed.sentence import SentenceEmbedding
from genforge.rag.pipeline import RagPipeline
from genforge.rag.store import Store

QUESTIONS = [
    "How do I resume training from a checkpoint?",
    "How do I serve a run over the OpenAI API?",
    "Which guardrails run on the output of a RAG answer?",
    "How are loss curves drawn in the studio?",
    "How do I add an API key to the server?",
    "What does the Server page of the studio show?",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", default="docs", help="folder to index (when the store is new)")
    parser.add_argument("--store", default="tmp/rag-stream-store")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    fresh = not Path(args.store).exists()
    store = Store(Path(args.store), embedding=SentenceEmbedding())
    if fresh:
        store.index(Path(args.docs))
    pipeline = RagPipeline(store)
    pipeline.ask(QUESTIONS[0])  # warm-up: loads the encoder and the indexes
    list(pipeline.ask_stream(QUESTIONS[0]))
    whole, first, last = [], [], []
    for _ in range(args.repeats):
        for question in QUESTIONS:
            started = time.perf_counter()
            pipeline.ask(question)
            whole.append(time.perf_counter() - started)
            started, seen = time.perf_counter(), None
            for event in pipeline.ask_stream(question):
                if event.kind == "text" and seen is None:
                    seen = time.perf_counter() - started
            last.append(time.perf_counter() - started)
            first.append(seen if seen is not None else last[-1])
    reference = statistics.median(whole)
    print(
        f"load average {os.getloadavg()[0]:.1f}; {len(QUESTIONS)} questions x {args.repeats} rounds, interleaved"
    )
    print(f"{'measure':<34} {'median ms':>10} {'vs ask':>8}")
    for name, values in (("ask: whole answer (reference)", whole), ("ask_stream: first text", first),
                         ("ask_stream: last event", last)):  # fmt: skip
        median = statistics.median(values)
        print(f"{name:<34} {median * 1000:>10.1f} {median / reference:>7.2f}x")


if __name__ == "__main__":
    main()
