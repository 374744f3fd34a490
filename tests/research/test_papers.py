"""``papers`` over a fixture corpus of 20 real PDFs written from known text (tests/research/papers_corpus.py):
metadata read from the text exactly, the citation graph exactly, questions answered with the right paper
and page, and unreadable PDFs skipped with their reason while the rest is indexed."""

import json

import pytest

from genforge.cli.main import main
from genforge.research.papers import ask_papers, index_papers, list_papers
from tests.research.papers_corpus import build_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("papers")
    papers = build_corpus(root / "pdfs")
    result = index_papers(root / "pdfs", root / "store")
    return papers, result, root / "store"


def test_unreadable_pdfs_are_skipped_with_their_reason_and_the_rest_indexed(corpus):
    _, result, _ = corpus
    assert result["indexed"] == 20 and result["pages"] == 60
    reasons = {s["file"]: s["reason"] for s in result["skipped"]}
    assert sorted(reasons) == ["corrupt.pdf", "scanned.pdf"]
    assert "not a readable PDF" in reasons["corrupt.pdf"] and "no text layer" in reasons["scanned.pdf"]


def test_metadata_from_the_text_is_exact_for_every_paper(corpus):
    papers, _, store = corpus
    listed = {p["file"]: p for p in list_papers(store)}
    for truth in papers:
        got = listed[truth["file"]]
        assert (got["title"], got["authors"], got["year"]) == (
            truth["title"],
            truth["authors"],
            truth["year"],
        )
        assert (got["arxiv"], got["doi"], got["pages"]) == (truth["arxiv"], truth["doi"], 3)


def test_the_citation_graph_is_exact_and_the_external_reference_matches_nothing(corpus):
    papers, _, store = corpus
    listed = {p["file"]: p for p in list_papers(store)}
    expected = {(t["file"], papers[j]["file"]) for t in papers for j in t["cites"]}
    found = {(p["file"], cited) for p in listed.values() for cited in p["cites"]}
    assert found == expected and len(expected) == 44
    for truth in papers:
        cited_by = sum(truth["file"] in [papers[j]["file"] for j in t["cites"]] for t in papers)
        assert listed[truth["file"]]["cited_by"] == cited_by


@pytest.mark.parametrize("number", [3, 11, 18])
def test_a_question_is_answered_from_the_right_paper_and_page(corpus, number):
    papers, _, store = corpus
    truth = papers[number]
    result = ask_papers(f"What FID does {truth['title']} report?", store)
    assert result["status"] == "grounded"
    first = result["citations"][0]
    assert (first["file"], first["page"]) == (truth["file"], 1)
    assert str(truth["fid"]) in result["answer"]


def test_cli_list_json_and_bad_input(corpus, tmp_path, capsys):
    _, _, store = corpus
    assert main(["papers", "list", "--store", str(store), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["papers"]) == 20
    assert main(["papers", "list", "--store", str(tmp_path / "none")]) == 2
    assert "no papers index" in capsys.readouterr().err


def test_cli_table_pulls_every_results_table_into_csv(corpus, tmp_path, capsys):
    import csv

    papers, _, store = corpus
    out = tmp_path / "tables.csv"
    assert main(["papers", "table", "--store", str(store), "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["tables"] == 20 and summary["papers"] == 20
    rows = list(csv.DictReader(out.open()))
    got = {(r["file"], r["page"], r["row_label"], r["column"], r["value"]) for r in rows}
    want = {(p["file"], "2", p["dataset"], "Metric", "FID") for p in papers}
    want |= {(p["file"], "2", p["dataset"], "Value", str(p["fid"])) for p in papers}
    assert got == want  # every cell of the 20 tables, nothing else
    short = tmp_path / "short.csv"
    args = ["papers", "table", "--store", str(store), "--out", str(short), "--fields", "file,column,value"]
    assert main(args) == 0
    capsys.readouterr()
    assert (
        short.read_text().splitlines()[0] == "file,column,value" and len(short.read_text().splitlines()) == 41
    )
    assert main([*args[:-1], "file,dataset"]) != 0
    assert "unknown table field(s) dataset" in capsys.readouterr().err
    assert main(["papers", "table", "--store", str(store), "--out", str(tmp_path / "t.txt")]) != 0
    assert "Traceback" not in capsys.readouterr().err
    assert main(["papers", "table", "--store", str(tmp_path / "none"), "--out", str(out)]) != 0
    assert "no papers index" in capsys.readouterr().err


def test_cli_graph_draws_exactly_the_known_citations(corpus, tmp_path, capsys):
    import numpy as np
    from PIL import Image

    from genforge.research.papers_graph import citation_graph

    papers, _, store = corpus
    graph = citation_graph(store, shared=1)
    files = {n["number"]: n["file"] for n in graph["nodes"]}
    cites = {(files[e["source"]], files[e["target"]]) for e in graph["edges"] if e["kind"] == "cites"}
    assert cites == {(p["file"], papers[j]["file"]) for p in papers for j in p["cites"]}
    shared = [e for e in graph["edges"] if e["kind"] == "shared"]
    assert len(shared) == 20 * 19 // 2  # every pair shares the one outside reference
    picture = tmp_path / "g.png"
    assert main(["papers", "graph", "--store", str(store), "--out", str(picture)]) == 0
    assert f"20 papers, {len(cites)} citations" in capsys.readouterr().out
    with Image.open(picture) as image:
        assert image.format == "PNG" and len(np.unique(np.asarray(image.convert("L")))) > 10
    assert main(["papers", "graph", "--store", str(store), "--out", str(picture), "--shared", "0"]) != 0
    assert "at least 1" in capsys.readouterr().err


def test_chunks_carry_title_page_and_section_so_a_references_question_finds_page_3(corpus):
    from genforge.research.papers import search_papers

    papers, _, store = corpus
    truth = papers[9]  # cited by papers 10, 11, whose reference lists name its title too
    hits = search_papers(f"which earlier papers does {truth['title'].split()[0]} tokens cite?", store, k=5)
    mine = [h for h in hits if h.source == truth["file"] + ".md"]
    assert ["page 3", "References"] in [h.headings[1:] for h in mine]
    assert all(h.headings[0] == truth["title"] for h in mine)
