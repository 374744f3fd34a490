"""The literature review's quality figures on the papers fixture corpus, each printed beside the issue's
target, with indexing throughput as a ratio to pypdf's bare text extraction over the same files.

    .venv/bin/python benchmarks/papers_quality.py [--split all|dev|test] [--copies 1]

- metadata: title, authors, year, arXiv id, DOI and page count of the 20 papers, exact (target >= 95 %);
- citation edges: precision, recall and F1 of the local citation graph (target F1 >= 0.95);
- questions: the 50 of ``benchmarks/papers_questions.py``; recall@5 is the share whose right paper and
  page is among the 5 chunks ``search_papers`` returns (the retrieval ``papers ask`` uses, tuned on the
  dev split; target >= 0.9), beside rag's default retrieval on the same store; "page cited" the share
  whose first citation of ``papers ask`` is that paper and page (and, beside it, any of its citations);
- tables: cells of the corpus's 20 results tables plus the 7 tables of tests/research/test_papers_table.py
  (61 cells: two-space and single-space columns, "+/-" and "%" values), each cell found at its row
  label and column with its exact value (target >= 90 %), and the cells found that are not in any table;
- the same recall@5 (papers retrieval) over the PDFs indexed as they are (page and paragraph chunks
  without the paper's title, what ``papers index`` built before its section-aware chunks);
- throughput: a fresh ``papers index`` (metadata, citations, page-aware chunks, MiniLM embeddings) in
  pages per second against ``pypdf.PdfReader(...).pages[i].extract_text()`` over the same PDFs (target
  >= 0.5x); ``--copies`` writes the corpus that many times (copies are near-duplicates the store skips).
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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
from papers_questions import DEV, QUESTIONS, TEST  # noqa: E402
from tests.research.papers_corpus import build_corpus, write_pdf  # noqa: E402
from tests.research.test_papers_table import make_paper  # noqa: E402

from genforge.rag.api import search  # noqa: E402
from genforge.rag.store import Store  # noqa: E402
from genforge.research.papers import (  # noqa: E402
    PAGE_RE,
    PAPERS_RETRIEVAL,
    ask_papers,
    index_papers,
    list_papers,
    read_pages,
    search_papers,
)
from genforge.research.papers_table import extract_tables, paper_tables  # noqa: E402

FIELDS = ("title", "authors", "year", "arxiv", "doi", "pages")


def bare_pypdf(files: list[Path]) -> tuple[float, int]:
    start, pages = time.perf_counter(), 0
    for path in files:
        try:
            reader = pypdf.PdfReader(io.BytesIO(path.read_bytes()))
            pages += sum(bool(page.extract_text()) for page in reader.pages)
        except Exception:  # the corrupt fixture
            continue
    return time.perf_counter() - start, pages


def metadata_exact(truth: list[dict], store: Path) -> tuple[int, int, list[str]]:
    listed = {p["file"]: p for p in list_papers(store)}
    right, wrong = 0, []
    for paper in truth:
        got = listed.get(paper["file"], {})
        for name in FIELDS:
            want = 3 if name == "pages" else paper[name]
            if got.get(name) == want:
                right += 1
            else:
                wrong.append(f"{paper['file']} {name}: {got.get(name)!r} != {want!r}")
    return right, len(truth) * len(FIELDS), wrong


def citation_f1(truth: list[dict], store: Path) -> tuple[float, float, float, int]:
    expected = {(t["file"], truth[j]["file"]) for t in truth for j in t["cites"]}
    found = {(p["file"], cited) for p in list_papers(store) for cited in p["cites"]}
    hit = len(expected & found)
    precision = hit / len(found) if found else 0.0
    recall = hit / len(expected)
    f1 = 2 * precision * recall / (precision + recall) if hit else 0.0
    return precision, recall, f1, len(expected)


def _page(headings: list[str]) -> int | None:
    pages = [int(m.group(1)) for h in headings if (m := PAGE_RE.match(h))]
    return pages[0] if pages else None


def _right(hits, file: str, pages: tuple[int, ...]) -> bool:
    return any(h.source.removesuffix(".md").endswith(file) and _page(h.headings) in pages for h in hits)


def page_chunk_recall(truth: list[dict], folder: Path, store: Path, chosen: list[tuple]) -> float:
    """Recall@5 of the PDFs indexed as they are (``rag index``: page and paragraph chunks, no title):
    what ``papers index`` built before section-aware chunks."""
    Store(store).index(folder, suffixes=[".pdf"])
    found = sum(
        _right(search(q, store=str(store), retrieval=PAPERS_RETRIEVAL, k=5), truth[n]["file"], p)
        for q, n, p, _ in chosen
    )
    return found / len(chosen)


def questions(truth: list[dict], store: Path, chosen: list[tuple]) -> dict[str, float]:
    at5 = cited = anywhere = contains = default = 0
    for question, number, pages, expected in chosen:
        file = truth[number]["file"]
        hits = search_papers(question, store, k=5)
        default += _right(search(question, store=str(store), k=5), file, pages)
        right = [_right([h], file, pages) for h in hits]
        at5 += any(right)
        answer = ask_papers(question, store)
        first = answer["citations"][0] if answer["citations"] else {}
        cited += first.get("file") == file and first.get("page") in pages
        anywhere += any(c["file"] == file and c["page"] in pages for c in answer["citations"])
        contains += bool(expected) and expected in answer["answer"]
        if not any(right):
            print(f"  miss@5: {question!r} -> {[(Path(h.source).name, _page(h.headings)) for h in hits]}")
    n = len(chosen)
    with_answer = sum(bool(q[3]) for q in chosen)
    return {
        "n": n,
        "recall5": at5 / n,
        "default": default / n,
        "cited": cited / n,
        "anywhere": anywhere / n,
        "contains": contains / max(with_answer, 1),
    }


def table_cells(truth: list[dict], store: Path, folder: Path) -> tuple[int, int, int]:
    """(cells found exactly, cells written, cells found that no table holds) over both fixtures."""
    want = set()
    for paper in truth:
        want.add((paper["file"], 2, paper["dataset"], "Metric", "FID"))
        want.add((paper["file"], 2, paper["dataset"], "Value", str(paper["fid"])))
    got = {(c["file"], c["page"], c["row_label"], c["column"], c["value"])
           for t in extract_tables(store)[0] for c in t.cells()}  # fmt: skip
    folder.mkdir()
    for i in range(5):
        pages, tables = make_paper(i)
        write_pdf(folder / f"p{i}.pdf", pages)
        for table in tables:
            for row in table["rows"]:
                for column, value in zip(table["header"][1:], row[1:], strict=True):
                    want.add((f"p{i}.pdf", table["page"], row[0], column, value))
        found = paper_tables(f"p{i}.pdf", "", read_pages(folder / f"p{i}.pdf"))
        got |= {
            (c["file"], c["page"], c["row_label"], c["column"], c["value"]) for t in found for c in t.cells()
        }
    return len(want & got), len(want), len(got - want)


def line(name: str, value: str, target: str, ok: bool) -> None:
    print(f"{name:<34} {value:>16}   target {target:<10} {'met' if ok else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["all", "dev", "test"], default="all")
    parser.add_argument("--copies", type=int, default=1)
    args = parser.parse_args()
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    chosen = {"all": QUESTIONS, "dev": DEV, "test": TEST}[args.split]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "pdfs"
        truth = build_corpus(folder)
        for k in range(1, args.copies):
            build_corpus(folder / f"copy{k}")
        files = sorted(folder.rglob("*.pdf"))
        bare_s, bare_pages = bare_pypdf(files)
        store = Path(tmp) / "store"
        start = time.perf_counter()
        result = index_papers(folder, store)
        ours_s = time.perf_counter() - start
        ratio = (result["pages"] / ours_s) / (bare_pages / bare_s)
        right, total, wrong = metadata_exact(truth, store)
        precision, recall, f1, edges = citation_f1(truth, store)
        qa = questions(truth, store, chosen)
        before = page_chunk_recall(truth, folder, Path(tmp) / "page-store", chosen)
        cells_ok, cells, extra = table_cells(truth, store, Path(tmp) / "tables")
    print(f"corpus: {len(files)} PDFs, {bare_pages} pages with text; indexed {result['indexed']} papers")
    for problem in wrong:
        print(f"  metadata: {problem}")
    line("metadata fields exact", f"{right}/{total} = {right / total:.3f}", ">= 0.95", right / total >= 0.95)
    line(
        f"citation edges F1 ({edges} true)",
        f"P {precision:.3f} R {recall:.3f} F1 {f1:.3f}",
        ">= 0.95",
        f1 >= 0.95,
    )
    line(
        f"questions recall@5 ({args.split}, {qa['n']})",
        f"{qa['recall5']:.3f}",
        ">= 0.9",
        qa["recall5"] >= 0.9,
    )
    line("  same, rag's default retrieval", f"{qa['default']:.3f}", ">= 0.9", qa["default"] >= 0.9)
    line("  same, PDF page chunks (before)", f"{before:.3f}", ">= 0.9", before >= 0.9)
    line("first citation: right paper+page", f"{qa['cited']:.3f}", "(right page)", qa["cited"] >= 0.9)
    print(f"{'  any citation: right paper+page':<34} {qa['anywhere']:>16.3f}")
    print(f"{'answer holds the expected string':<34} {qa['contains']:>16.3f}   (no target)")
    line(
        "table cells exact",
        f"{cells_ok}/{cells} = {cells_ok / cells:.3f}",
        ">= 0.90",
        cells_ok / cells >= 0.9,
    )
    print(f"{'table cells found outside tables':<34} {extra:>16d}")
    print(f"{'pypdf extract_text pages/s':<34} {bare_pages / bare_s:>16.1f}   ({bare_s:.2f} s)")
    print(f"{'genforge papers index pages/s':<34} {result['pages'] / ours_s:>16.1f}   ({ours_s:.2f} s)")
    line("index / pypdf throughput", f"{ratio:.3f}x", ">= 0.5x", ratio >= 0.5)


if __name__ == "__main__":
    main()
