"""Document loaders: text, Markdown, reStructuredText, HTML and PDF into structured blocks.

Every loader returns a :class:`Document` whose ``text`` is what the user will see quoted and whose
``blocks`` (headings, paragraphs, code, list items) carry character offsets into that text and the
heading path above them, so chunks can follow the document's structure and keep their provenance.

Text, Markdown and reST keep the file's own text (offsets point into the file); HTML keeps only visible
text (lxml, without scripts, styles, navigation and footers; headings kept as structure); PDF is
read with pypdf page by page. The Markdown and reST heading scanners are small line-based parsers written
here because the only thing needed is the heading tree and paragraph spans, which full Markdown/docutils
renderers do not expose with offsets.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

from genforge.core.errors import require
from genforge.rag.documents import Block, Document, UnreadableFile
from genforge.rag.html_loader import load_html

log = logging.getLogger(__name__)

SUFFIXES = {
    ".txt": "text",
    ".text": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".rst": "rst",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
}


def iter_files(root: Path) -> Iterator[Path]:
    """Files under ``root`` (recursively, sorted, hidden entries skipped) with a supported suffix."""
    if root.is_file():
        if root.suffix.lower() in SUFFIXES:
            yield root
        return
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if path.is_file() and path.suffix.lower() in SUFFIXES:
            yield path


def load_document(path: Path, source: str, data: bytes | None = None) -> Document:
    """Parse ``path`` (or its already-read ``data``) by suffix; raises :class:`UnreadableFile`."""
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise UnreadableFile(f"{path}: unsupported file type '{path.suffix}'")
    if data is None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise UnreadableFile(f"{path}: cannot read ({exc.strerror})") from None
    if kind == "pdf":
        return _load_pdf(path, source, data)
    text = _decode(path, data)
    if kind == "html":
        return load_html(source, text)
    if kind == "markdown":
        return _with_title(Document(source, kind, text, _markdown_blocks(text)))
    if kind == "rst":
        return _with_title(Document(source, kind, text, _rst_blocks(text)))
    return _with_title(Document(source, kind, text, _paragraph_blocks(text, 0, len(text), ())))


def _decode(path: Path, data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise UnreadableFile(f"{path}: looks binary (NUL bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"{path}: not UTF-8 text (byte {exc.start})") from None
    # NUL bytes past the binary sniff are not text: dropped so they are never stored or returned
    return text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")


def _with_title(doc: Document) -> Document:
    heading = next((b for b in doc.blocks if b.kind == "heading"), None)
    if heading is not None:
        doc.title = doc.block_text(heading)
    else:
        doc.title = Path(doc.source).stem
    return doc


# plain text ------------------------------------------------------------------------------------------
_BLANK = re.compile(r"\n[ \t]*\n")


def _paragraph_blocks(
    text: str, start: int, end: int, headings: tuple[str, ...], kind: str = "paragraph"
) -> list[Block]:
    """Blank-line separated paragraphs of ``text[start:end]`` as trimmed blocks."""
    blocks = []
    pos = start
    for match in _BLANK.finditer(text, start, end):
        blocks.extend(_trimmed(text, pos, match.start(), headings, kind))
        pos = match.end()
    blocks.extend(_trimmed(text, pos, end, headings, kind))
    return blocks


def _trimmed(text: str, start: int, end: int, headings: tuple[str, ...], kind: str) -> list[Block]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return [Block(kind, start, end, headings)] if end > start else []


# Markdown --------------------------------------------------------------------------------------------
_ATX = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
_FENCE = re.compile(r"^[ \t]*(```|~~~)")
_SETEXT = re.compile(r"^(=+|-+)[ \t]*$")


def _markdown_blocks(text: str) -> list[Block]:
    """ATX and setext headings, fenced code, and paragraphs between them."""
    lines = _line_spans(text)
    blocks: list[Block] = []
    path: list[tuple[int, str]] = []
    para_start: int | None = None
    i = 0

    def flush(end: int) -> None:
        nonlocal para_start
        if para_start is not None:
            blocks.extend(_paragraph_blocks(text, para_start, end, tuple(h for _, h in path)))
        para_start = None

    while i < len(lines):
        start, end = lines[i]
        line = text[start:end]
        if _FENCE.match(line):
            flush(start)
            fence = _FENCE.match(line).group(1)
            j = i + 1
            while j < len(lines) and not text[lines[j][0] : lines[j][1]].lstrip().startswith(fence):
                j += 1
            code_end = lines[min(j, len(lines) - 1)][1]
            blocks.extend(_trimmed(text, start, code_end, tuple(h for _, h in path), "code"))
            i = j + 1
            continue
        atx = _ATX.match(line)
        setext = (
            i + 1 < len(lines) and line.strip() and _SETEXT.match(text[lines[i + 1][0] : lines[i + 1][1]])
        )
        if atx or (setext and para_start in (None, start)):
            flush(start)
            if atx:
                level, title = len(atx.group(1)), atx.group(2).strip()
                title_start = start + atx.start(2)
            else:
                level = 1 if text[lines[i + 1][0]] == "=" else 2
                title, title_start = line.strip(), start + len(line) - len(line.lstrip())
            path = [(lv, h) for lv, h in path if lv < level] + [(level, title)]
            blocks.append(
                Block("heading", title_start, title_start + len(title), tuple(h for _, h in path), level)
            )
            i += 2 if (setext and not atx) else 1
            continue
        if para_start is None and line.strip():
            para_start = start
        i += 1
    flush(len(text))
    return blocks


def _line_spans(text: str) -> list[tuple[int, int]]:
    spans, pos = [], 0
    for line in text.split("\n"):
        spans.append((pos, pos + len(line)))
        pos += len(line) + 1
    return spans


# reStructuredText ------------------------------------------------------------------------------------
_ADORN = re.compile(r"^([=\-`:'\"~^_*+#<>.])\1{2,}[ \t]*$")


def _rst_blocks(text: str) -> list[Block]:
    """Section titles (underlined, optionally overlined; levels in order of first appearance) + paragraphs."""
    lines = _line_spans(text)
    styles: list[tuple[str, bool]] = []
    path: list[tuple[int, str]] = []
    blocks: list[Block] = []
    body_start = 0
    i = 0
    while i < len(lines):
        title_line, overline = _rst_title_at(text, lines, i)
        if title_line is None:
            i += 1
            continue
        start, end = lines[title_line]
        blocks.extend(_paragraph_blocks(text, body_start, lines[i][0], tuple(h for _, h in path)))
        under = text[lines[title_line + 1][0]]
        style = (under, overline)
        if style not in styles:
            styles.append(style)
        level = styles.index(style) + 1
        title = text[start:end].strip()
        title_start = start + len(text[start:end]) - len(text[start:end].lstrip())
        path = [(lv, h) for lv, h in path if lv < level] + [(level, title)]
        blocks.append(
            Block("heading", title_start, title_start + len(title), tuple(h for _, h in path), level)
        )
        i = title_line + 2
        body_start = lines[i][0] if i < len(lines) else len(text)
    blocks.extend(_paragraph_blocks(text, body_start, len(text), tuple(h for _, h in path)))
    return blocks


def _rst_title_at(text: str, lines: list[tuple[int, int]], i: int) -> tuple[int | None, bool]:
    """(index of the title line, has overline) if a section title starts at line ``i``."""

    def line(k: int) -> str:
        return text[lines[k][0] : lines[k][1]] if 0 <= k < len(lines) else ""

    current = line(i)
    if _ADORN.match(current) and i + 2 < len(lines):
        title, under = line(i + 1), line(i + 2)
        if (
            title.strip()
            and under.rstrip() == current.rstrip()
            and len(current.rstrip()) >= len(title.rstrip())
        ):
            return i + 1, True
    nxt = line(i + 1)
    previous_blank = i == 0 or not line(i - 1).strip()
    if (
        current.strip()
        and not current.startswith((" ", "\t", ".."))
        and previous_blank
        and _ADORN.match(nxt)
        and len(nxt.rstrip()) >= len(current.rstrip())
    ):
        return i, False
    return None, False


# PDF -------------------------------------------------------------------------------------------------
def _load_pdf(path: Path, source: str, data: bytes) -> Document:
    pypdf = require("pypdf", "rag")
    import io as _io

    try:
        reader = pypdf.PdfReader(_io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    except Exception as exc:  # pypdf raises many types for damaged files; the file is skipped either way
        raise UnreadableFile(f"{path}: not a readable PDF ({type(exc).__name__}: {exc})") from None
    parts: list[str] = []
    blocks: list[Block] = []
    pos = 0
    for number, page_text in enumerate(pages, start=1):
        page_text = page_text.replace("\r\n", "\n").strip()
        if not page_text:
            continue
        if parts:
            parts.append("\n\n")
            pos += 2
        parts.append(page_text)
        for block in _paragraph_blocks(page_text, 0, len(page_text), (f"page {number}",)):
            blocks.append(Block(block.kind, block.start + pos, block.end + pos, block.headings))
        pos += len(page_text)
    if not parts:
        raise UnreadableFile(f"{path}: PDF has no extractable text (scanned images need OCR first)")
    text = "".join(parts)
    title = ""
    try:
        title = (reader.metadata.title or "") if reader.metadata else ""
    except Exception:  # broken metadata does not make the text unreadable
        title = ""
    return Document(source, "pdf", text, blocks, title or Path(source).stem)
