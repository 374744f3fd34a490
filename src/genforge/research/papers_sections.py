"""Section-aware text of a paper for the RAG store: each page's text under its paper's title, its page
number and the section it belongs to.

A PDF's text comes out of pypdf as lines per page. :func:`paper_markdown` writes it as Markdown with the
paper's title as the top heading, ``page N`` under it and the detected section (Abstract, Method,
Results, References …) under that, so the store's chunker (which never crosses a heading and embeds the
heading path with each chunk) cuts at section boundaries and every chunk carries "title > page N >
section". A section running onto the next page is named again under that page's heading.

Measured on the papers fixture corpus (``benchmarks/papers_quality.py``, 50 questions): page chunks
without the title found the right paper and page in the top 5 for 0.64 of the questions, because a
question naming a paper matched page 1 (the only page holding the title) and the reference lists of
the papers citing it; see docs/research.md for the figures with section chunks.

A line is a section heading when, after an optional number ("3", "3.1", "III."), it is one of the usual
section names (:data:`SECTION_NAMES`, case-insensitive: "Abstract", "Related Work", "Experimental
Results"), or when it is numbered and reads like a title (at most 8 words, starts
with a capital, no digits after the number, no final period).
"""

from __future__ import annotations

import re

SECTION_NAMES = (
    "abstract", "introduction", "related work", "background", "preliminaries", "method", "methods",
    "methodology", "approach", "model", "models", "experiments", "experimental setup", "experiment",
    "evaluation", "results", "discussion", "analysis", "ablation", "ablations", "limitations",
    "conclusion", "conclusions", "future work", "acknowledgements", "acknowledgments", "references",
    "bibliography", "appendix", "experimental results", "experimental evaluation", "results and discussion",
    "conclusion and future work", "conclusions and future work", "broader impact", "related works",
)  # fmt: skip
NUMBER_RE = re.compile(r"^(?:(\d+(?:\.\d+)*|[IVXLC]+)\.?)\s+(?=\S)")
WORD_RE = re.compile(r"[A-Za-z][A-Za-z'\-]*")
MARKDOWN_SYNTAX = re.compile(r"^\s*(#|```|~~~|[=\-]+\s*$)")  # a line the Markdown loader would read as syntax


def section_heading(line: str) -> str | None:
    """The section title if ``line`` is a section heading, else None."""
    text = " ".join(line.split())
    if not text or len(text) > 80 or text.endswith((".", ",", ";", ":")):
        return None
    number = NUMBER_RE.match(text)
    rest = text[number.end() :] if number else text
    words = rest.split()
    if not words or not all(WORD_RE.fullmatch(w) for w in words):
        return None
    if rest.lower() in SECTION_NAMES or (number and len(words) <= 8 and rest[0].isupper()):
        return text
    return None


def _body(line: str) -> str:
    return "\\" + line if MARKDOWN_SYNTAX.match(line) else line


def paper_markdown(title: str, pages: list[str]) -> str:
    """The paper as Markdown: ``# title``, ``## page N`` per page with text, ``### section`` within."""
    out = [f"# {' '.join(title.split()) or 'untitled'}"]
    section: str | None = None
    for number, text in enumerate(pages, start=1):
        lines = [line.rstrip() for line in text.splitlines() if line.strip()]
        if not lines:
            continue
        out += ["", f"## page {number}"]
        open_section = section  # named again on this page when text comes before a new heading
        paragraph: list[str] = []
        for index, line in enumerate(lines):
            heading = None if number == 1 and index == 0 else section_heading(line)  # not the title line
            if heading is not None:
                if paragraph:
                    out += ["", *paragraph]
                    paragraph = []
                section = open_section = heading
                out += ["", f"### {heading}"]
                continue
            if not paragraph and open_section is not None and out[-1] == f"## page {number}":
                out += ["", f"### {open_section}"]
            paragraph.append(_body(line))
        if paragraph:
            out += ["", *paragraph]
    return "\n".join(out) + "\n"
