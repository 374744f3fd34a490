"""What a loader returns: a :class:`Document` (a file's readable text) made of :class:`Block` s, and the
error for a file indexing skips (:class:`UnreadableFile`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from genforge.core.errors import DataError


@dataclass
class Block:
    """A structural unit of a document: ``text == document.text[start:end]`` (whitespace-trimmed)."""

    kind: str  # "heading" | "paragraph" | "code" | "item"
    start: int
    end: int
    headings: tuple[str, ...]
    level: int = 0  # heading level for kind == "heading"


@dataclass
class Document:
    """One file's readable text with its structure."""

    source: str  # path relative to the indexed root, with "/" separators
    kind: str
    text: str
    blocks: list[Block] = field(default_factory=list)
    title: str = ""

    def block_text(self, block: Block) -> str:
        return self.text[block.start : block.end]


class UnreadableFile(DataError):
    """A file that is binary, not UTF-8, or that its parser rejects; indexing skips it with a warning."""
