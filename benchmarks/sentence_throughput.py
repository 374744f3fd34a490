"""Sentence-embedding throughput of all-MiniLM-L6-v2 on 2 CPU threads: genforge's two paths vs plain ST.

Reference: sentence-transformers' own ``encode`` on PyTorch (batch ``--batch-size``, its ordering by
character length). Candidates: genforge's PyTorch path (``genforge.embed.sentence.SentenceEmbedding``,
cache off, its defaults: batches of 16 cut in word-piece order, two single-threaded encoder threads) and
the same weights exported to ONNX and run by onnxruntime
(``genforge.embed.sentence_onnx.OnnxSentenceEmbedding``, batch ``--batch-size``, word-piece order). Same
sentences (from the ``lee`` corpus), same thread count, one process, the paths taking turns on chunks of
the sentences so that load on the machine hits all alike; the table also reports how closely the vectors
agree.

    python benchmarks/sentence_throughput.py [--sentences 1024] [--batch-size 32] [--threads 2] [--rounds 4]

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


def timed_in_turn(models: dict, sentences: list[str], batch_size: int, rounds: int) -> dict:
    """Seconds each model takes to embed ``sentences``, and its vectors. The sentences are cut into
    ``rounds`` chunks and the models take turns on each chunk, so a change of load on the machine hits
    all of them alike; every model is warmed up first (allocations, first-call kernels)."""
    for model in models.values():
        model.embed_texts(sentences[:batch_size])
    size = -(-len(sentences) // rounds)
    seconds = dict.fromkeys(models, 0.0)
    parts: dict[str, list[np.ndarray]] = {name: [] for name in models}
    for start in range(0, len(sentences), size):
        chunk = sentences[start : start + size]
        for name, model in models.items():
            begin = time.perf_counter()
            parts[name].append(model.embed_texts(chunk))
            seconds[name] += time.perf_counter() - begin
    return {name: (seconds[name], np.concatenate(parts[name])) for name in models}


class PlainEncode:
    """sentence-transformers' ``encode`` as a user calls it: the reference row."""

    def __init__(self, model, batch_size: int) -> None:
        self.model, self.batch_size = model, batch_size

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        return self.model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=1024)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=4, help="chunks the paths take turns on (default 4)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sentences = corpus_sentences(args.sentences)
    words = sum(len(s.split()) for s in sentences) / len(sentences)
    genforge = SentenceEmbedding(cache_size=0)
    models = {
        "sentence-transformers encode (reference)": PlainEncode(genforge.model, args.batch_size),
        "genforge minilm (PyTorch)": genforge,
    }
    note = ""
    try:
        from genforge.embed.sentence_onnx import OnnxSentenceEmbedding, cache_dir

        fresh = not (cache_dir() / "all-MiniLM-L6-v2.onnx").exists()
        start = time.perf_counter()
        models["genforge minilm-onnx (ONNX Runtime)"] = OnnxSentenceEmbedding(
            batch_size=args.batch_size, threads=args.threads
        )
        if fresh:
            note = f"(ONNX export took {time.perf_counter() - start:.0f} s, once)"
    except Exception as exc:  # the optional path: report why it is absent instead of failing the benchmark
        note = f"ONNX Runtime row skipped: {exc}"
    results = timed_in_turn(models, sentences, args.batch_size, args.rounds)
    ref_vectors = next(iter(results.values()))[1]
    rows = [
        (name, secs, float(np.min(np.sum(vectors * ref_vectors, axis=1))))
        for name, (secs, vectors) in results.items()
    ]
    print(
        f"{len(sentences)} sentences (mean {words:.1f} words), batch {args.batch_size} (genforge PyTorch: its "
        f"default {genforge.batch_size}), {args.threads} threads"
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
