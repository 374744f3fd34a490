"""``papers``: the user's PDFs as a literature view over the RAG stack.

The PDFs are an ordinary RAG store (:class:`genforge.rag.store.Store`, searched and answered by the same
one-call API as every store) plus one metadata table beside it, ``papers.json``. The store indexes each
readable PDF's text as section-aware Markdown kept in the store's ``text/`` folder
(:mod:`genforge.research.papers_sections`: headings "title > page N > section", so chunks end at
section boundaries and each carries its paper's title, page and section); ``papers.json`` holds for
each PDF its title, authors, year, arXiv id and DOI read from the text of its first page, its page
count, its reference lines, and which other local papers those references name (a reference matches a paper when the paper's normalised title occurs in it), so the
table gives the citation graph and each paper's cited-by count among the local set.

Metadata comes from the text, not from the PDF's info dictionary (which is mostly empty or wrong in
papers): the first line of page 1 is the title, the second the authors (split on commas and "and"),
arXiv ids and DOIs are matched by their published patterns, and the year is the first year-like number
on page 1 (else the arXiv id's). Reference lines are the numbered lines after a "References" heading.
An encrypted, corrupt or image-only PDF is skipped with its reason and counted; the rest is indexed.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from genforge.core.errors import ConfigError, DataError, require
from genforge.core.io import atomic_write_json, read_json_object
from genforge.rag.api import ask, search
from genforge.rag.config import RetrievalConfig
from genforge.rag.store import Store
from genforge.research.papers_sections import paper_markdown

PAPERS_FILE = "papers.json"
TEXT_DIR = "text"  # in the store: each paper's section-aware Markdown, the documents the RAG store indexes
ARXIV_RE = re.compile(r"arXiv:\s*(\d{4}\.\d{4,5})(v\d+)?", re.I)
DOI_RE = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>]+[^\s\"<>.,;])")
YEAR_RE = re.compile(r"\b(19[5-9]\d|20\d\d)\b")
REFERENCE_RE = re.compile(r"^\s*\[(\d+)\]\s*(.+)$")
PAGE_RE = re.compile(r"^page (\d+)$")
# How papers are searched: chunks fused on their own (not one best chunk per paper, rag's default: a
# question about one paper's references needs that paper's page 3, not its best-matching page) with BM25
# weighted like the dense ranking (ids, numbers and titles are words). Chosen on the 20 dev questions of
# benchmarks/papers_questions.py (recall@5: rag's default 0.65, chunk fusion 0.90, and 0.95 with BM25 at 1).
PAPERS_RETRIEVAL = RetrievalConfig(fusion="chunk", bm25_weight=1.0)


@dataclass
class Paper:
    file: str
    title: str
    authors: list[str]
    year: int | None
    arxiv: str | None
    doi: str | None
    pages: int
    references: list[str] = field(default_factory=list)
    cites: list[str] = field(default_factory=list)  # files of the local papers the references name


def _normal(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def read_pages(path: Path) -> list[str]:
    """The text of each page; a PDF that cannot be read, is encrypted or has no text raises DataError."""
    pypdf = require("pypdf", "rag")
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its "EOF marker not found" lines: we report once
    try:
        reader = pypdf.PdfReader(io.BytesIO(path.read_bytes()))
        if reader.is_encrypted:
            raise DataError(f"{path.name}: encrypted PDF")
        pages = [page.extract_text() or "" for page in reader.pages]
    except DataError:
        raise
    except Exception as exc:  # pypdf raises many types for damaged files
        raise DataError(f"{path.name}: not a readable PDF ({type(exc).__name__})") from None
    if not any(p.strip() for p in pages):
        raise DataError(f"{path.name}: no text layer (image-only or scanned: OCR it first)")
    return pages


def paper_metadata(file: str, pages: list[str]) -> Paper:
    """Title, authors, year, arXiv id, DOI and reference lines from a paper's page texts."""
    lines = [line.strip() for line in pages[0].splitlines() if line.strip()]
    title = lines[0] if lines else file
    authors = [a.strip() for a in re.split(r",|\band\b", lines[1]) if a.strip()] if len(lines) > 1 else []
    head = "\n".join(lines[:6])
    arxiv = ARXIV_RE.search(head)
    doi = DOI_RE.search(head)
    year_match = YEAR_RE.search(ARXIV_RE.sub("", DOI_RE.sub("", head)))  # not the digits of an id
    year = int(year_match.group(1)) if year_match else None
    if year is None and arxiv:
        year = 2000 + int(arxiv.group(1)[:2])
    references: list[str] = []
    in_references = False
    for page in pages:
        for line in page.splitlines():
            if _normal(line) in ("references", "bibliography"):
                in_references = True
                continue
            match = REFERENCE_RE.match(line) if in_references else None
            if match:
                references.append(match.group(2).strip())
    return Paper(
        file=file,
        title=title,
        authors=authors,
        year=year,
        arxiv=arxiv.group(1) if arxiv else None,
        doi=doi.group(1) if doi else None,
        pages=len(pages),
        references=references,
    )


def match_citations(papers: list[Paper]) -> None:
    """Fill each paper's ``cites`` with the local papers whose title one of its references contains."""
    titles = [(_normal(p.title), p.file) for p in papers if len(_normal(p.title)) >= 12]
    for paper in papers:
        found = []
        for reference in paper.references:
            text = _normal(reference)
            found += [file for title, file in titles if title in text and file != paper.file]
        paper.cites = sorted(set(found))


def _write_texts(folder: Path, texts: dict[str, str]) -> Path:
    """Bring ``folder`` to exactly ``texts`` (relative name -> Markdown); unchanged files keep their
    mtime, so the store's incremental indexing skips them."""
    from genforge.core.io import atomic_write_text

    for name, text in texts.items():
        path = folder / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, text)
    for path in folder.rglob("*.md"):
        if str(path.relative_to(folder)) not in texts:
            path.unlink()
    return folder


def index_papers(folder: str | Path, store: str | Path) -> dict[str, Any]:
    """Index the PDFs under ``folder`` into the RAG store ``store`` and write its ``papers.json``."""
    root = Path(folder)
    if not root.is_dir():
        raise ConfigError(f"{folder} is not a folder of PDFs")
    if Path(store).exists() and not Path(store).is_dir():
        raise ConfigError(f"--store {store} is a file: give a folder for the papers index")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() == ".pdf" and p.is_file())
    if not files:
        raise DataError(f"no PDF under {folder}: nothing indexed")
    papers, skipped, texts = [], [], {}
    for path in files:
        file = str(path.relative_to(root))
        try:
            pages = read_pages(path)
        except DataError as exc:
            skipped.append({"file": file, "reason": str(exc)})
            continue
        papers.append(paper_metadata(file, pages))
        texts[file + ".md"] = paper_markdown(papers[-1].title, pages)
    if not papers:
        raise DataError(f"none of the {len(files)} PDFs under {folder} has readable text: nothing indexed")
    match_citations(papers)
    report = Store(store).index(_write_texts(Path(store) / TEXT_DIR, texts), suffixes=[".md"])
    atomic_write_json(
        Path(store) / PAPERS_FILE, {"root": str(root.resolve()), "papers": [asdict(p) for p in papers]}
    )
    return {
        "indexed": len(papers),
        "skipped": skipped,
        "pages": sum(p.pages for p in papers),
        "store": report.to_dict(),
    }


def list_papers(store: str | Path) -> list[dict[str, Any]]:
    """The metadata table with each paper's cited-by count among the local papers."""
    path = Path(store) / PAPERS_FILE
    if not path.is_file():
        raise ConfigError(
            f"no papers index in {store}: build one with genforge papers index DIR --store {store}"
        )
    papers = read_json_object(path)["papers"]
    cited_by = {p["file"]: 0 for p in papers}
    for paper in papers:
        for file in paper["cites"]:
            cited_by[file] = cited_by.get(file, 0) + 1
    return [{**p, "cited_by": cited_by[p["file"]]} for p in papers]


def search_papers(question: str, store: str | Path, k: int = 5) -> list:
    """The ``k`` best chunks of the papers for ``question`` (:class:`genforge.rag.records.SearchHit`)."""
    list_papers(store)  # a store without a papers index is refused with its one line
    return search(question, store=str(store), retrieval=PAPERS_RETRIEVAL, k=k)


def ask_papers(question: str, store: str | Path, llm=None) -> dict[str, Any]:
    """The RAG answer to ``question`` over the papers, each citation with its paper's title and page."""
    titles = {p["file"]: p["title"] for p in list_papers(store)}
    answer = ask(question, store=str(store), rails=False, llm=llm, retrieval=PAPERS_RETRIEVAL)
    citations = []
    for citation in answer.citations:
        pages = [int(m.group(1)) for h in citation.headings if (m := PAGE_RE.match(h))]
        source = citation.source.removesuffix(".md")
        file = next((f for f in titles if source.endswith(f)), source)
        citations.append(
            {
                "number": citation.number,
                "file": file,
                "title": titles.get(file, citation.title),
                "page": pages[0] if pages else None,
                "text": citation.text,
            }  # fmt: skip
        )
    return {"question": question, "answer": answer.answer, "status": answer.status, "citations": citations}
