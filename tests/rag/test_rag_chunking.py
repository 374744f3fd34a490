"""Chunks follow sections, fit the word-piece budget, overlap, and point at exact spans."""

from __future__ import annotations

import pytest

from genforge.rag.chunking import ChunkConfig, WordPieceCounter, chunk_document, split_sentences
from genforge.rag.loaders import Block, Document


@pytest.fixture(scope="module")
def counter() -> WordPieceCounter:
    return WordPieceCounter()


def _doc(sections: dict[str, str]) -> Document:
    text, blocks = "", []
    for heading, body in sections.items():
        if text:
            text += "\n\n"
        start = len(text)
        text += heading
        blocks.append(Block("heading", start, len(text), (heading,), 1))
        for paragraph in body.split("\n\n"):
            text += "\n\n"
            start = len(text)
            text += paragraph
            blocks.append(Block("paragraph", start, len(text), (heading,)))
    return Document("doc.md", "markdown", text, blocks)


LONG = " ".join(f"Sentence number {i} talks about topic {i % 7} in some detail." for i in range(120))


def test_every_chunk_fits_the_budget_including_its_breadcrumb(counter):
    doc = _doc({"Long section": LONG, "Short": "One short paragraph."})
    config = ChunkConfig(chunk_tokens=64, overlap_tokens=16)
    chunks = chunk_document(doc, config, counter)
    assert len(chunks) > 5
    for chunk in chunks:
        assert counter.count(chunk.embed_text()) <= config.chunk_tokens + 2


def test_chunks_are_exact_spans_of_the_document(counter):
    doc = _doc({"A": LONG})
    for chunk in chunk_document(doc, ChunkConfig(chunk_tokens=80, overlap_tokens=20), counter):
        assert doc.text[chunk.start : chunk.end] == chunk.text


def test_chunks_never_cross_a_heading(counter):
    doc = _doc({"Alpha": "alpha text " * 5, "Beta": "beta text " * 5})
    chunks = chunk_document(doc, ChunkConfig(chunk_tokens=200), counter)
    assert [c.headings for c in chunks] == [("Alpha",), ("Beta",)]
    assert "beta" not in chunks[0].text


def test_consecutive_chunks_of_a_section_share_trailing_sentences(counter):
    doc = _doc({"A": LONG})
    chunks = chunk_document(doc, ChunkConfig(chunk_tokens=80, overlap_tokens=30), counter)
    overlaps = [b.start < a.end for a, b in zip(chunks, chunks[1:], strict=False)]
    assert all(overlaps)
    no_overlap = chunk_document(doc, ChunkConfig(chunk_tokens=80, overlap_tokens=0), counter)
    assert all(b.start >= a.end for a, b in zip(no_overlap, no_overlap[1:], strict=False))


def test_a_sentence_longer_than_the_budget_is_cut_into_windows(counter):
    doc = _doc({"A": "word " * 600})
    chunks = chunk_document(doc, ChunkConfig(chunk_tokens=50, overlap_tokens=0), counter)
    assert len(chunks) >= 12
    assert all(counter.count(c.embed_text()) <= 52 for c in chunks)


def test_chunk_ids_are_source_and_ordinal(counter):
    chunks = chunk_document(_doc({"A": "x " * 10, "B": "y " * 10}), ChunkConfig(), counter)
    assert [c.chunk_id for c in chunks] == ["doc.md#0", "doc.md#1"]


def test_sentence_splitter_keeps_abbreviations_and_citations():
    text = "Use e.g. the cache [1]. Then restart. Python 3.11 works!\n\n- first item\n- second item"
    assert split_sentences(text) == [
        "Use e.g. the cache [1].",
        "Then restart.",
        "Python 3.11 works!",
        "- first item",
        "- second item",
    ]
