"""HTML into a :class:`~genforge.rag.documents.Document`: visible text only (lxml, without scripts,
styles, navigation and footers), headings kept as structure, Sphinx permalink anchors dropped."""

from __future__ import annotations

import re
from pathlib import Path

from genforge.core.errors import require
from genforge.rag.documents import Block, Document, UnreadableFile

_SKIP_TAGS = {
    "script",
    "style",
    "noscript",
    "template",
    "head",
    "nav",
    "footer",
    "header",
    "aside",
    "form",
    "svg",
}
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_BLOCK_TAGS = {
    "p", "div", "section", "article", "main", "blockquote", "ul", "ol", "dl", "table", "tr",
    "figure", "figcaption", "body", "html", "details", "summary", "br", "hr",
}  # fmt: skip
_ITEM_TAGS = {"li", "dt", "dd", "td", "th", "caption"}
_SPACES = re.compile(r"\s+")


class _HtmlText:
    """Accumulates visible text as blocks while walking the DOM."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.blocks: list[Block] = []
        self.path: list[tuple[int, str]] = []
        self.inline: list[str] = []

    def headings(self) -> tuple[str, ...]:
        return tuple(h for _, h in self.path)

    def emit(self, text: str, kind: str, level: int = 0) -> None:
        if not text:
            return
        if self.parts:
            self.parts.append("\n\n")
            self.length += 2
        start = self.length
        self.parts.append(text)
        self.length += len(text)
        self.blocks.append(Block(kind, start, self.length, self.headings(), level))

    def flush(self) -> None:
        text = _SPACES.sub(" ", "".join(self.inline)).strip()
        self.inline = []
        self.emit(text, "paragraph")


def load_html(source: str, html: str) -> Document:
    lxml_html = require("lxml.html", "rag")
    if not html.strip():
        return Document(source, "html", "", [], Path(source).stem)
    try:
        # huge_tree lifts libxml2's nesting limit of 256, past which it silently drops the rest of the page
        parser = lxml_html.HTMLParser(huge_tree=True)
        tree = lxml_html.document_fromstring(html.encode("utf-8"), parser=parser)
    except Exception as exc:  # lxml raises ParserError/XMLSyntaxError/ValueError on hopeless input
        raise UnreadableFile(f"{source}: not parseable HTML ({exc})") from None
    title_el = tree.find(".//title")
    title = _SPACES.sub(" ", title_el.text_content()).strip() if title_el is not None else ""
    root = _first(tree, ".//main", ".//*[@role='main']", ".//article", ".//body")
    root = tree if root is None else root
    out = _HtmlText()
    try:
        _walk_html(root, out)
    except RecursionError:
        raise UnreadableFile(f"{source}: HTML nested too deeply to read") from None
    out.flush()
    doc = Document(source, "html", "".join(out.parts), out.blocks)
    first_heading = next((b for b in doc.blocks if b.kind == "heading"), None)
    doc.title = doc.block_text(first_heading) if first_heading else (title or Path(source).stem)
    return doc


def _first(tree, *paths: str):
    for path in paths:
        found = tree.find(path) if not path.startswith(".//*[") else next(iter(tree.xpath(path)), None)
        if found is not None:
            return found
    return None


def _walk_html(node, out: _HtmlText) -> None:
    if node.text:
        out.inline.append(node.text)
    for child in node:
        if not isinstance(child.tag, str):  # comments and processing instructions
            if child.tail:
                out.inline.append(child.tail)
            continue
        _html_element(child, out)
        if child.tail:
            out.inline.append(child.tail)


def _html_element(child, out: _HtmlText) -> None:
    name = child.tag.lower()
    classes = (child.get("class") or "").split()
    if name in _SKIP_TAGS or "headerlink" in classes or child.get("aria-hidden") == "true":
        return
    if name in _HEADINGS:
        out.flush()
        level = _HEADINGS[name]
        title = _SPACES.sub(" ", _visible_text(child)).strip()
        if title:
            out.path = [(lv, h) for lv, h in out.path if lv < level] + [(level, title)]
            out.emit(title, "heading", level)
    elif name == "pre":
        out.flush()
        out.emit(child.text_content().strip("\n"), "code")
    elif name in _ITEM_TAGS:
        out.flush()
        _walk_html(child, out)
        text = _SPACES.sub(" ", "".join(out.inline)).strip()
        out.inline = []
        out.emit(text, "item")
    elif name in _BLOCK_TAGS:
        out.flush()
        _walk_html(child, out)
        out.flush()
    else:
        _walk_html(child, out)


def _visible_text(node) -> str:
    """Text of ``node`` without permalink anchors (Sphinx's pilcrow) and hidden elements."""
    parts = [node.text or ""]
    for child in node:
        if isinstance(child.tag, str) and "headerlink" not in (child.get("class") or "").split():
            parts.append(_visible_text(child))
        parts.append(child.tail or "")
    return "".join(parts).replace("\u00b6", "")
