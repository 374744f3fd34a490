"""Section-aware text of a paper: headings found by name or by number, a section carried onto the next
page, Markdown syntax in the PDF text kept as text, and the store's chunks carrying title, page and
section (tested through the fixture corpus in test_papers.py too)."""

from genforge.rag.loaders import load_document
from genforge.research.papers_sections import paper_markdown, section_heading


def test_section_headings_by_name_and_by_number():
    for line in [
        "Abstract",
        "RESULTS",
        "3 Method",
        "3.1 Experimental Setup",
        "IV. Related Work",
        "Related Work",
    ]:
        assert section_heading(line) == line
    assert section_heading("2  Diffusion   Guidance") == "2 Diffusion Guidance"
    not_headings = [
        "Model   FID   IS",  # a table header
        "We train the model for 100 epochs.",
        "[1] A. Author. Results. 2020.",
        "3 4.5 6.7",
        "Ada Moreau, Ben Okafor",
        "2 we ran this",
        "",
    ]
    for line in not_headings:
        assert section_heading(line) is None, line


def test_markdown_has_title_page_and_section_headings_and_chunks_carry_them(tmp_path):
    pages = [
        "Masked Models\nAda Moreau\nAbstract\nWe study masks.\n# not a heading\n1 Introduction\nMasks help.",
        "Still introducing masks here.\n2 Method\nWe mask half.\n----",
        "",
        "References\n[1] B. Okafor. Gated Priors. 2016.",
    ]
    text = paper_markdown("Masked Models", pages)
    path = tmp_path / "p.pdf.md"
    path.write_text(text)
    doc = load_document(path, "p.pdf.md")
    headings = {doc.block_text(b): b.headings for b in doc.blocks if b.kind != "heading"}
    assert headings["We study masks.\n\\# not a heading"] == ("Masked Models", "page 1", "Abstract")
    assert headings["Masks help."] == ("Masked Models", "page 1", "1 Introduction")
    # the introduction runs onto page 2 and is named again there; the empty page 3 has no heading
    assert headings["Still introducing masks here."] == ("Masked Models", "page 2", "1 Introduction")
    assert headings["We mask half.\n\\----"] == ("Masked Models", "page 2", "2 Method")
    assert headings["[1] B. Okafor. Gated Priors. 2016."] == ("Masked Models", "page 4", "References")
    assert "## page 3" not in text
    # the title line of page 1 stays text even when it looks like a section name
    assert "### Results" not in paper_markdown("Results", ["Results\nAda Moreau"])


def test_a_store_that_is_a_file_is_one_line(tmp_path, capsys):
    from genforge.cli.main import main
    from tests.research.papers_corpus import write_pdf

    write_pdf(tmp_path / "p.pdf", [["A Title Line", "Ada Moreau", "Abstract", "We study things here."]])
    (tmp_path / "store").write_text("not a folder")
    assert main(["papers", "index", str(tmp_path), "--store", str(tmp_path / "store")]) == 2
    assert "is a file" in capsys.readouterr().err
