"""A RAG store on PostgreSQL + pgvector against the embedded store, side by side on the Python 3.11 docs.

    .venv/bin/python benchmarks/rag_postgres.py [--max-page-chunks 12] [--url postgresql://...]

Both stores index the same pages, each with its own MiniLM embedding without a vector cache (so build
times compare); the PostgreSQL store keeps its vectors and its catalog on the server. Printed: index build
time; page-level recall@5 and nDCG@10 of the dense, BM25 and hybrid retrievers on the test questions
(benchmarks/data/pydocs_qa.jsonl), and of PostgreSQL's full-text search (``ts_rank`` over the same chunk
texts, the question's terms OR-ed) against genforge's BM25; HNSW recall of the dense top-50 against the
embedded store's exact search for several ``hnsw.ef_search`` values on the development questions
(pydocs_qa_dev.jsonl; the library's default was chosen there); dense query latency p50/p95, end to end and
of the vector search alone (interleaved);
and 4 threads searching while two writers (two local cache folders: two "machines") add the same pages
at once: errors, and documents, chunks and vectors counted against the file list.
Without ``--url`` a local server is started with ``genforge.deploy.start_database`` in a temporary
folder (needs genforge[postgres]) and stopped at the end. ``--max-page-chunks`` keeps only questions
whose pages are at most that many chunks (the embedding of all ~530 pages takes long on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from rag_retrieval import ensure_docs, page_metrics, pct, small_pages  # noqa: E402

from genforge.deploy import start_database, stop_database  # noqa: E402
from genforge.embed.sentence import SentenceEmbedding  # noqa: E402
from genforge.rag.config import StoreConfig  # noqa: E402
from genforge.rag.store import Store  # noqa: E402

DATA = Path(__file__).parent / "data"


def _qa(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text().splitlines() if line.strip()]


def _build(store: Store, root: Path) -> float:
    started = time.perf_counter()
    store.index(root, suffixes=[".html"])
    return time.perf_counter() - started


def _quality(store: Store, qa: list[dict]) -> dict[str, float]:
    out = {}
    for mode in ("dense", "bm25", "hybrid"):
        rankings = [[h.source for h in store.search(q["question"], 30, retriever=mode)] for q in qa]
        metrics = page_metrics(rankings, qa)
        out[f"{mode} recall@5"], out[f"{mode} nDCG@10"] = metrics["recall@5"], metrics["ndcg@10"]
    return out


def _fulltext(store: Store, qa: list[dict]) -> dict[str, float]:
    """PostgreSQL full-text search over the catalog's chunk rows (headings and text, English stemming,
    the question's lexemes OR-ed, ``ts_rank``), scored like the retrievers above."""
    chunks = store.catalog.tables["chunks"]
    query = (
        "WITH q AS (SELECT replace(plainto_tsquery('english', %s)::text, '&', '|')::tsquery AS t) "
        f"SELECT c.cid, ts_rank(to_tsvector('english', c.headings || ' ' || c.text), q.t) AS r FROM {chunks} c, q "
        f"WHERE to_tsvector('english', c.headings || ' ' || c.text) @@ q.t ORDER BY r DESC, c.cid LIMIT 30"
    )
    rankings = []
    for q in qa:
        cids = [row[0] for row in store.catalog.conn.execute(query, (q["question"],)).fetchall()]
        records = store.records(cids)
        rankings.append([records[c]["source"] for c in cids])
    metrics = page_metrics(rankings, qa)
    return {"recall@5": metrics["recall@5"], "nDCG@10": metrics["ndcg@10"]}


def _hnsw_recall(exact: Store, approx: Store, qa: list[dict], k: int = 50) -> float:
    found = []
    for q in qa:
        vector = exact.query_vector(q["question"])
        want = set(exact.vectors.search(vector, k)[0])
        got = set(approx.vectors.search(vector, k)[0])
        found.append(len(want & got) / max(len(want), 1))
    return float(np.mean(found))


def _latency(stores: dict[str, Store], qa: list[dict], repeats: int = 3) -> dict[str, list[float]]:
    """Per store: dense search end to end (query embedded each time) and the vector search alone."""
    times = {f"{name} {part}": [] for name in stores for part in ("query", "vector")}
    for _ in range(repeats):
        for q in qa:
            for name, store in stores.items():  # interleaved: load changes hit both alike
                store._last_query = None  # the store keeps the last query's vector: embed it again
                started = time.perf_counter()
                store.search(q["question"], 10, retriever="dense")
                times[f"{name} query"].append(time.perf_counter() - started)
                vector = store.query_vector(q["question"])
                started = time.perf_counter()
                store.vectors.search(vector, 10)
                times[f"{name} vector"].append(time.perf_counter() - started)
    return times


def _on_machine(cache: Path, url: str, table: str, embedding) -> Store:
    """A store whose local folder (BM25 cache, file locks) is under ``cache``: another machine's view."""
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(cache)
    try:
        return Store(url, StoreConfig(postgres_table=table), embedding=embedding)
    finally:
        os.environ.pop("XDG_CACHE_HOME") if before is None else os.environ.update(XDG_CACHE_HOME=before)


def _concurrency(url: str, table: str, root: Path, extra: list[Path], embedding, qa: list[dict],
                 folder: Path) -> dict:  # fmt: skip
    errors: list[str] = []
    stop = threading.Event()

    def searcher() -> None:
        store = Store(url, StoreConfig(postgres_table=table), embedding=embedding)
        i = 0
        while not stop.is_set():
            try:
                store.search(qa[i % len(qa)]["question"], 5)
            except Exception as exc:  # noqa: BLE001 - counted
                errors.append(f"{type(exc).__name__}: {exc}")
            i += 1

    threads = [threading.Thread(target=searcher) for _ in range(4)]
    for thread in threads:
        thread.start()
    for page in extra:
        shutil.copy(page, root / page.name)
    writers = [_on_machine(folder / f"machine-{i}", url, table, embedding) for i in range(2)]
    reports: list = [None, None]

    def write(i: int) -> None:
        try:
            reports[i] = writers[i].index(root, suffixes=[".html"])
        except Exception as exc:  # noqa: BLE001 - counted
            errors.append(f"writer {i}: {type(exc).__name__}: {exc}")

    writer_threads = [threading.Thread(target=write, args=(i,)) for i in range(2)]
    for thread in writer_threads:
        thread.start()
    for thread in writer_threads:
        thread.join()
    stop.set()
    for thread in threads:
        thread.join()
    writer = writers[0]
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.html"))
    counts = writer.stats()
    rows = writer.vectors.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    keys = len(writer.catalog.live_keys())
    documents = writer.catalog.tables["documents"]
    counted = writer.catalog.conn.execute(f"SELECT sum(num_chunks) FROM {documents}").fetchone()[0]
    return {"errors": len(errors), "files": len(files), "documents": counts["documents"],
            "chunks": counts["chunks"], "chunks by documents": int(counted), "table rows": rows,
            "distinct chunk keys": keys,
            "added by writer": [len(r.added) if r else None for r in reports]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-page-chunks", type=int, default=40)
    parser.add_argument("--url", help="an existing PostgreSQL with pgvector (default: start one)")
    args = parser.parse_args()
    docs = ensure_docs()
    qa, dev = _qa("pydocs_qa.jsonl"), _qa("pydocs_qa_dev.jsonl")
    root, qa_kept = small_pages(docs, qa, args.max_page_chunks)
    dev_root, dev_kept = small_pages(docs, dev, args.max_page_chunks)
    for page in dev_root.rglob("*.html"):  # one corpus holding the pages of both question sets
        target = root / page.relative_to(dev_root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(page, target)
    extra = sorted((docs / "howto").glob("*.html"))[:3]
    folder = Path(tempfile.mkdtemp(prefix="genforge-pg-bench-"))
    url = args.url or start_database(folder / "cluster")
    try:
        # one embedding object per store, without the content-hash cache: each store embeds every chunk
        embeddings = {name: SentenceEmbedding(cache_size=0) for name in ("embedded", "postgres")}
        for model in embeddings.values():
            model.embed_texts(["warm-up"])  # the model loads before any timing
        embedded = Store(folder / "embedded", embedding=embeddings["embedded"])
        postgres = Store(url, StoreConfig(postgres_table="bench_chunks"), embedding=embeddings["postgres"])
        build = {"embedded": _build(embedded, root), "postgres": _build(postgres, root)}
        embedding = embeddings["postgres"]
        pages = embedded.stats()
        print(f"corpus: {pages['documents']} pages, {pages['chunks']} chunks; test questions {len(qa_kept)}, "
              f"dev questions {len(dev_kept)}")  # fmt: skip
        quality = {"embedded": _quality(embedded, qa_kept), "postgres": _quality(postgres, qa_kept)}
        fulltext = _fulltext(postgres, qa_kept)
        from genforge.rag import pgvector_index

        default_ef = pgvector_index.MIN_EF_SEARCH
        print("HNSW recall of the dense top-50 vs exact search, dev questions:")
        for ef in (10, 20, 40, 100, 200):
            pgvector_index.MIN_EF_SEARCH = ef
            print(f"  ef_search >= {ef:<4} recall {_hnsw_recall(embedded, postgres, dev_kept):.3f}")
        pgvector_index.MIN_EF_SEARCH = default_ef
        test_recall = _hnsw_recall(embedded, postgres, qa_kept)
        latency = _latency({"embedded": embedded, "postgres": postgres}, qa_kept)
        rows = [("index build s", build["embedded"], build["postgres"])]
        rows += [(k, quality["embedded"][k], quality["postgres"][k]) for k in quality["embedded"]]
        for part in ("query", "vector"):
            for q in (50, 95):
                a, b = pct(latency[f"embedded {part}"], q), pct(latency[f"postgres {part}"], q)
                rows.append((f"dense {part} p{q} ms", a * 1e3, b * 1e3))
        print(f"\n{'':24}{'embedded':>12}{'postgres':>12}{'ratio':>10}")
        for name, a, b in rows:
            print(f"{name:24}{a:>12.4g}{b:>12.4g}{(b / a if a else float('nan')):>9.2f}x")
        print(f"HNSW recall@50 vs exact on the test questions (ef_search {default_ef}): {test_recall:.3f}")
        print(f"\n{'test questions':24}{'BM25':>12}{'pg FTS':>12}{'ratio':>10}")
        for name, value in fulltext.items():
            bm25 = quality["postgres"][f"bm25 {name}"]
            print(f"{name:24}{bm25:>12.4g}{value:>12.4g}{(value / bm25 if bm25 else float('nan')):>9.2f}x")
        result = _concurrency(url, "bench_chunks", root, extra, embedding, qa_kept, folder)
        print("4 searchers + 2 writers on two machines adding the same", len(extra), "pages:", result)
    finally:
        if not args.url:
            stop_database(folder / "cluster")
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(dev_root, ignore_errors=True)


if __name__ == "__main__":
    main()
