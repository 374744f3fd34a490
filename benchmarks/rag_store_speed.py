"""The split RAG store against the code it replaced: index build time and hybrid query latency, as ratios.

Claim: the store split by object (catalog, vector index, indexer, retrievers; issue 13) is no slower than
the single ``rag/store.py`` it replaced, and ranks the same. The reference is the ``src/`` of a git revision
(default ``021b51b``, main before the split), extracted with ``git archive``; each measurement runs in a
fresh subprocess with ``PYTHONPATH`` pointing at one of the two source trees, the two interleaved and their
order alternated, ``--repeats`` times. The embedding model is loaded before the clock starts, so the
figures are the store's own work plus embedding the chunks and queries (the same model in both).

    .venv/bin/python benchmarks/rag_store_speed.py [--corpus DIR] [--reference REV] [--repeats 3]

Prints, per tree, the median over repeats of the index build seconds and of the query p50 (ms, 60 hybrid
queries after one warm-up), the ratios new / reference (below 1 = faster), and whether the top-5 chunk ids
of every query are equal.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORKER = r"""
import json, sys, time, tempfile
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from tests.golden.behaviour import QUERIES
from genforge.embed.sentence import SentenceEmbedding
from genforge.rag.store import Store
embedding = SentenceEmbedding()
embedding.embed_texts(["warm up the model"])
with tempfile.TemporaryDirectory() as tmp:
    store = Store(Path(tmp) / "s", embedding=embedding)
    started = time.perf_counter()
    store.index(sys.argv[1])
    build = time.perf_counter() - started
    store.search("warm up", 5)
    latencies, top = [], {}
    for query in QUERIES * 3:
        started = time.perf_counter()
        hits = store.search(query, 5)
        latencies.append((time.perf_counter() - started) * 1000)
        top[query] = [h.chunk_id for h in hits]
json.dump({"build_s": build, "query_ms": latencies, "top5": top}, open(sys.argv[2], "w"))
"""


def run(src: Path, corpus: Path, out: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src), "HF_HUB_OFFLINE": "1"}
    subprocess.run([sys.executable, "-c", WORKER, str(corpus), str(out), str(ROOT)], env=env, check=True)
    return json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "tests" / "golden" / "rag_corpus")
    parser.add_argument("--reference", default="021b51b", help="git revision whose src/ is the reference")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        reference = Path(tmp) / "reference"
        reference.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", args.reference, "src"], capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(reference)], input=archive.stdout, check=True)
        trees = {"reference": reference / "src", "split": ROOT / "src"}
        results: dict[str, list[dict]] = {name: [] for name in trees}
        for repeat in range(args.repeats):
            order = list(trees) if repeat % 2 == 0 else list(reversed(trees))
            for name in order:
                results[name].append(run(trees[name], args.corpus, Path(tmp) / f"{name}-{repeat}.json"))
                print(f"repeat {repeat + 1}: {name} done", file=sys.stderr)
    summary = {}
    for name, runs in results.items():
        summary[name] = {
            "build_s": statistics.median(r["build_s"] for r in runs),
            "query_p50_ms": statistics.median(statistics.median(r["query_ms"]) for r in runs),
        }
    same = all(r["top5"] == results["reference"][0]["top5"] for runs in results.values() for r in runs)
    print(f"corpus {args.corpus}, reference {args.reference}, {args.repeats} repeats (medians)")
    print(f"{'':12}{'index build s':>15}{'query p50 ms':>15}")
    for name, row in summary.items():
        print(f"{name:12}{row['build_s']:>15.2f}{row['query_p50_ms']:>15.2f}")
    build_ratio = summary["split"]["build_s"] / summary["reference"]["build_s"]
    query_ratio = summary["split"]["query_p50_ms"] / summary["reference"]["query_p50_ms"]
    print(f"{'ratio':12}{build_ratio:>15.2f}{query_ratio:>15.2f}   (split / reference)")
    print(f"top-5 chunk ids equal for every query and repeat: {same}")


if __name__ == "__main__":
    main()
