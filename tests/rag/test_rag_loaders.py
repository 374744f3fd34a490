"""Loaders keep visible text and heading structure, with offsets into the document text."""

from __future__ import annotations

from pathlib import Path

import pytest
from rag_testdata import GARDEN_HTML, SAMPLING_RST, TRAINING_MD, write_pdf

from genforge.rag.loaders import UnreadableFile, iter_files, load_document


def _load(tmp_path: Path, name: str, content: str | bytes):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return load_document(path, name)


def test_markdown_blocks_carry_heading_paths_and_exact_offsets(tmp_path):
    doc = _load(tmp_path, "t.md", TRAINING_MD)
    assert doc.title == "Training"
    for block in doc.blocks:
        assert doc.text[block.start : block.end] == doc.block_text(block)
        assert doc.block_text(block) == doc.block_text(block).strip()
    resume = next(b for b in doc.blocks if "resume training" in doc.block_text(b))
    assert resume.headings == ("Training", "Resuming a run")


def test_markdown_hash_lines_inside_code_fences_are_not_headings(tmp_path):
    doc = _load(tmp_path, "c.md", "# Top\n\n```\n# comment\nx = 1\n```\n\ntext\n")
    headings = [doc.block_text(b) for b in doc.blocks if b.kind == "heading"]
    assert headings == ["Top"]
    assert any(b.kind == "code" and "# comment" in doc.block_text(b) for b in doc.blocks)


def test_rst_section_levels_follow_adornment_order(tmp_path):
    doc = _load(tmp_path, "s.rst", SAMPLING_RST)
    grid = next(b for b in doc.blocks if "PNG grid" in doc.block_text(b))
    assert grid.headings == ("Sampling", "Grids")


def test_html_keeps_visible_main_text_and_headings_only(tmp_path):
    doc = _load(tmp_path, "g.html", GARDEN_HTML)
    assert "six hours" in doc.text and "Use mulch" in doc.text
    for hidden in ("do not index me", "color: red", "Home | About", "Copyright footer"):
        assert hidden not in doc.text
    watering = next(b for b in doc.blocks if "twice a week" in doc.block_text(b))
    assert watering.headings == ("Garden guide", "Watering")


def test_pdf_text_is_extracted_with_page_headings(tmp_path):
    path = tmp_path / "r.pdf"
    write_pdf(path, ["Quarterly report", "The warehouse shipped 1200 pallets."])
    doc = load_document(path, "r.pdf")
    assert "1200 pallets" in doc.text
    assert all(b.headings == ("page 1",) for b in doc.blocks)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("bin.txt", b"\x89PNG\x00\x00data", "binary"),
        ("latin.md", "caf\xe9".encode("latin-1"), "not UTF-8"),
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "PDF"),
    ],
)
def test_unreadable_files_raise_a_named_error(tmp_path, name, content, reason):
    with pytest.raises(UnreadableFile, match=reason) as info:
        _load(tmp_path, name, content)
    assert name in str(info.value)


def test_iter_files_skips_hidden_entries_and_unsupported_types(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.md").write_text("hidden")
    (tmp_path / "a.md").write_text("a")
    (tmp_path / "b.py").write_text("print()")
    assert [p.name for p in iter_files(tmp_path)] == ["a.md"]
