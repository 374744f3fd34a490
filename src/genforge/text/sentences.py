"""Sentence splitting, shared by chunking (rag/), answer checking (rag/, guard/) and support scoring.

A rule-based splitter, written here because punkt-style splitters need model data downloads.
"""

from __future__ import annotations

import re

# A sentence ends at . ! ? (optionally followed by a closing quote/bracket) before whitespace and an
# uppercase letter, digit or opening quote/bracket (but not a citation marker like "[2]", which belongs to
# the sentence before it), at a blank line, or before a list item. Single line breaks inside a paragraph
# are hard wraps, not boundaries. Abbreviations such as "e.g." are protected.
_SENTENCE_END = re.compile(
    r"(?<=[.!?])[\"')\]]?\s+(?!\[\d)(?=[A-Z0-9\"'(\[`])|\n[ \t]*\n\s*|\n(?=[ \t]*(?:[-*+]|\d+[.)])[ \t])"
)
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "vs.", "cf.", "Dr.", "Mr.", "Mrs.", "Ms.", "No.", "Fig.", "approx.")


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Trimmed ``(start, end)`` spans of the sentences in ``text[start:end]``."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    pos = start
    for match in _SENTENCE_END.finditer(text, start, end):
        if text[pos : match.start()].endswith(_ABBREVIATIONS):
            continue
        spans.extend(_trim(text, pos, match.start()))
        pos = match.end()
    spans.extend(_trim(text, pos, end))
    return spans


def split_sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


def _trim(text: str, start: int, end: int) -> list[tuple[int, int]]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return [(start, end)] if end > start else []
