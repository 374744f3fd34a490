"""Sentence-embedding throughput of all-MiniLM-L6-v2 on 2 CPU threads: PyTorch vs ONNX Runtime.

Reference: sentence-transformers on PyTorch (``genforge.embed.sentence.SentenceEmbedding``, cache off).
Candidate: the same weights exported to ONNX and run by onnxruntime
(``genforge.embed.sentence_onnx.OnnxSentenceEmbedding``). Same sentences (from the ``lee`` corpus), same
batch size, same thread count, one process; the table also reports how closely the vectors agree.

    python benchmarks/sentence_throughput.py [--sentences 1024] [--batch-size 32] [--threads 2]

The first ONNX run exports the model into ~/.cache/genforge/ (offline); the export time is printed but
not counted in the throughput. Needs ``pip install onnxruntime onnx onnxscript`` for the ONNX rows.
"""

from __future__ import annotations

import argparse
import os
import re
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from genforge.data.text import load_corpus  # noqa: E402
from genforge.embed.sentence import SentenceEmbedding  # noqa: E402


def corpus_sentences(count: int) -> list[str]:
    documents = load_corpus("lee").documents + load_corpus("lee-test").documents
    sentences = [s.strip() for d in documents for s in re.split(r"(?<=[.!?])\s+", d) if len(s.split()) >= 3]
    return (sentences * (count // len(sentences) + 1))[:count]


def timed(model, sentences: list[str], batch_size: int) -> tuple[float, np.ndarray]:
    model.embed_texts(sentences[:batch_size])  # warm-up: allocations, first-call kernels
    start = time.perf_counter()
    vectors = model.embed_texts(sentences)
    return time.perf_counter() - start, vectors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=1024)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sentences = corpus_sentences(args.sentences)
    words = sum(len(s.split()) for s in sentences) / len(sentences)
    rows = []
    reference = SentenceEmbedding(batch_size=args.batch_size, cache_size=0)
    seconds, ref_vectors = timed(reference, sentences, args.batch_size)
    rows.append(("sentence-transformers / PyTorch (reference)", seconds, 1.0))
    note = ""
    try:
        from genforge.embed.sentence_onnx import OnnxSentenceEmbedding, cache_dir

        fresh = not (cache_dir() / "all-MiniLM-L6-v2.onnx").exists()
        start = time.perf_counter()
        onnx = OnnxSentenceEmbedding(batch_size=args.batch_size, threads=args.threads)
        if fresh:
            note = f"(ONNX export took {time.perf_counter() - start:.0f} s, once)"
        seconds, vectors = timed(onnx, sentences, args.batch_size)
        agreement = float(np.min(np.sum(vectors * ref_vectors, axis=1)))
        rows.append(("ONNX Runtime", seconds, agreement))
    except Exception as exc:  # the optional path: report why it is absent instead of failing the benchmark
        note = f"ONNX Runtime row skipped: {exc}"
    print(
        f"{len(sentences)} sentences (mean {words:.1f} words), batch {args.batch_size}, {args.threads} threads"
    )
    header = f"{'path':<46} {'seconds':>8} {'sentences/s':>12} {'ratio':>6} {'min cosine vs ref':>18}"
    print(header)
    print("-" * len(header))
    base = rows[0][1]
    for name, secs, agreement in rows:
        print(
            f"{name:<46} {secs:>8.2f} {len(sentences) / secs:>12.1f} {base / secs:>6.2f} {agreement:>18.6f}"
        )
    if note:
        print(note)


if __name__ == "__main__":
    main()
