"""Indexing throughput of ``genforge papers index`` against pypdf's bare text extraction over the same
PDFs, in pages per second, as a ratio (the issue's goal: at least 0.5x of bare pypdf).

    .venv/bin/python benchmarks/papers_index.py [--copies 5]

The corpus is the tests' fixture (tests/research/papers_corpus.py: 20 three-page papers written as real
PDFs, plus a corrupt and an image-only one), written ``--copies`` times into one folder. genforge's figure
is a fresh ``index_papers`` (metadata, citation matching, section-aware chunks and their MiniLM
embeddings in a new RAG store); pypdf's is ``PdfReader(...).pages[i].extract_text()`` over every file.
"""

from __future__ import annotations

import argparse
import io
import logging
import sys
import tempfile
import time
from pathlib import Path

import pypdf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.research.papers_corpus import build_corpus  # noqa: E402

from genforge.research.papers import index_papers  # noqa: E402


def bare_pypdf(files: list[Path]) -> tuple[float, int]:
    start, pages = time.perf_counter(), 0
    for path in files:
        try:
            reader = pypdf.PdfReader(io.BytesIO(path.read_bytes()))
            pages += sum(bool(page.extract_text()) for page in reader.pages)
        except Exception:  # the corrupt fixture
            continue
    return time.perf_counter() - start, pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=5)
    args = parser.parse_args()
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "pdfs"
        for k in range(args.copies):
            build_corpus(folder / f"copy{k}")
        files = sorted(folder.rglob("*.pdf"))
        bare_s, pages = bare_pypdf(files)
        start = time.perf_counter()
        result = index_papers(folder, Path(tmp) / "store")
        ours_s = time.perf_counter() - start
    print(
        f"{len(files)} PDFs, {pages} pages with text; genforge indexed {result['indexed']} papers ({result['pages']} pages)"
    )
    print(f"{'':<22} {'seconds':>8} {'pages/s':>8}")
    print(f"{'pypdf extract_text':<22} {bare_s:>8.2f} {pages / bare_s:>8.1f}")
    print(f"{'genforge papers index':<22} {ours_s:>8.2f} {result['pages'] / ours_s:>8.1f}")
    print(f"genforge / pypdf throughput: {(result['pages'] / ours_s) / (pages / bare_s):.2f}x (goal >= 0.5x)")


if __name__ == "__main__":
    main()
