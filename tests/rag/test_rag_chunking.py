"""Chunks follow sections, fit the word-piece budget, overlap, and point at exact spans."""

from __future__ import annotations

import pytest

from genforge.rag.chunking import ChunkConfig, WordPieceCounter, chunk_document
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


PARAGRAPHS = "\n\n".join(
    f"Paragraph {i} explains one idea. It gives a second sentence about idea {i}." for i in range(30)
)


def test_a_boundary_between_whole_paragraphs_has_no_overlap_unless_overlap_all(counter):
    doc = _doc({"A": PARAGRAPHS})  # thirty short paragraphs: every boundary falls between two of them
    chunks = chunk_document(doc, ChunkConfig(chunk_tokens=80, overlap_tokens=30), counter)
    assert len(chunks) > 3
    assert all(b.start > a.end for a, b in zip(chunks, chunks[1:], strict=False))
    every = chunk_document(doc, ChunkConfig(chunk_tokens=80, overlap_tokens=30, overlap_all=True), counter)
    assert all(b.start < a.end for a, b in zip(every, every[1:], strict=False))
    assert len(every) > len(chunks)  # the repeated sentences take budget


def _nested_doc() -> Document:
    """# Guide, then three short subsections and one long one."""
    parts = [("Guide", 1, "An introduction to the guide."), ("Install", 2, "Run the installer once."),
             ("Configure", 2, "Edit the settings file."), ("Run", 2, "Start the program."),
             ("Reference", 2, LONG)]  # fmt: skip
    text, blocks, path = "", [], ()
    for heading, level, body in parts:
        path = path[: level - 1] + (heading,)
        if text:
            text += "\n\n"
        blocks.append(Block("heading", len(text), len(text) + len(heading), path, level))
        text += heading + "\n\n"
        blocks.append(Block("paragraph", len(text), len(text) + len(body), path))
        text += body
    return Document("guide.md", "markdown", text, blocks)


def test_merge_sections_packs_small_siblings_under_their_common_heading(counter):
    doc = _nested_doc()
    separate = chunk_document(doc, ChunkConfig(chunk_tokens=64, overlap_tokens=16), counter)
    assert [c.headings for c in separate[:4]] == [
        ("Guide",),
        ("Guide", "Install"),
        ("Guide", "Configure"),
        ("Guide", "Run"),
    ]
    merged = chunk_document(
        doc, ChunkConfig(chunk_tokens=64, overlap_tokens=16, merge_sections=True), counter
    )
    assert merged[0].headings == ("Guide",)
    assert "Install" in merged[0].text and "Start the program." in merged[0].text
    assert merged[0].text == doc.text[merged[0].start : merged[0].end]
    assert len(merged) == len(separate) - 3
    assert all(c.headings == ("Guide", "Reference") for c in merged[1:])  # too long to merge: cut alone
    assert all(counter.count(c.embed_text()) <= 64 + 2 for c in merged)


def test_a_sentence_longer_than_the_budget_is_cut_into_windows(counter):
    doc = _doc({"A": "word " * 600})
    chunks = chunk_document(doc, ChunkConfig(chunk_tokens=50, overlap_tokens=0), counter)
    assert len(chunks) >= 12
    assert all(counter.count(c.embed_text()) <= 52 for c in chunks)


def test_chunk_ids_are_source_and_ordinal(counter):
    chunks = chunk_document(_doc({"A": "x " * 10, "B": "y " * 10}), ChunkConfig(), counter)
    assert [c.chunk_id for c in chunks] == ["doc.md#0", "doc.md#1"]


def _whole_starts(counter: WordPieceCounter, text: str) -> list[int]:
    return [start for start, _ in counter.tokenizer.encode(text, add_special_tokens=False).offsets]


def test_piecewise_tokenization_gives_the_word_pieces_of_the_whole_text(counter, monkeypatch):
    import genforge.rag.chunking as chunking

    monkeypatch.setattr(chunking, "SEGMENT_CHARS", 97)  # many cuts, at awkward places
    text = (
        "Héllo wörld! naïve café, don't stop;\tunbelievably-long hyphenated words (and brackets)\r\n"
        "数字 and emoji 🙂 mixed with code: x[i] = f(y) ** 2  # comment\n\n" * 40
    )
    assert len(text) > 50 * 97
    assert list(counter.token_starts(text)) == _whole_starts(counter, text)
    assert list(counter.token_starts("")) == []
    blob = "QUJD" * 500  # no whitespace at all: cut where it stands, every piece still counted
    assert len(counter.token_starts(blob)) >= len(_whole_starts(counter, blob))


def test_chunking_a_large_file_keeps_memory_near_its_size(tmp_path):
    """5 MB of prose: peak memory grows by well under 30 bytes per character (the whole-text tokenization
    this replaced needed about 160)."""
    import subprocess
    import sys

    script = """
import resource, sys
from genforge.rag.chunking import ChunkConfig, WordPieceCounter, chunk_document
from genforge.rag.loaders import _paragraph_blocks, Document
counter = WordPieceCounter()
counter.count("warm up")
para = " ".join(f"Line {i} says something about indexing large files without running out." for i in range(40))
text = "\\n\\n".join(para for _ in range(5_000_000 // len(para)))
doc = Document("big.txt", "text", text, _paragraph_blocks(text, 0, len(text), ()))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
chunks = chunk_document(doc, ChunkConfig(), counter)
grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024
print(len(text), len(chunks), grown)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    chars, chunks, grown = map(int, out.stdout.split())
    assert chars > 4_900_000 and chunks > 5_000
    assert grown / chars < 30, f"peak memory grew {grown / chars:.1f} bytes per character"
