"""``genforge rag`` commands end to end (real store, real model), JSON schemas as documented."""

from __future__ import annotations

import json

import pytest
from rag_testdata import make_corpus

from genforge.cli.main import main


def _run_json(capsys, argv: list[str]) -> dict:
    capsys.readouterr()
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def store(corpus, tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "store"
    assert main(["rag", "index", str(corpus), "--store", str(path)]) == 0
    return path


def test_index_json_reports_added_skipped_and_totals(corpus, tmp_path, capsys):
    out = _run_json(capsys, ["rag", "index", str(corpus), "--store", str(tmp_path / "s"), "--json"])
    assert len(out["added"]) == 5 and len(out["skipped"]) == 2 and out["total_documents"] == 5
    again = _run_json(capsys, ["rag", "index", str(corpus), "--store", str(tmp_path / "s"), "--json"])
    assert again["unchanged"] == 5 and again["chunks_embedded"] == 0


def test_search_json_has_results_with_source_chunk_id_score_and_text(store, capsys):
    out = _run_json(
        capsys, ["rag", "search", "watering tomato plants", "--k", "3", "--store", str(store), "--json"]
    )
    assert len(out["results"]) == 3
    first = out["results"][0]
    assert {"source", "chunk_id", "score", "text", "rank", "headings", "start", "end", "score_kind"} <= set(
        first
    )
    assert first["source"] == "guide/garden.html"


def test_search_fusion_options_reach_the_store(store, capsys):
    argv = ["rag", "search", "watering tomato plants", "--k", "3", "--store", str(store), "--json"]
    document = _run_json(capsys, argv)
    assert document["fusion"] == "document" and document["results"][0]["score_kind"] == "rrf_document"
    chunk = _run_json(capsys, [*argv, "--fusion", "chunk", "--bm25-weight", "1"])
    assert chunk["fusion"] == "chunk" and chunk["results"][0]["score_kind"] == "rrf"
    scores = chunk["results"][0]["scores"]
    assert scores["rrf"] == pytest.approx(chunk["results"][0]["score"]) and "dense" in scores


def test_negative_bm25_weight_is_a_one_line_error(store, capsys):
    capsys.readouterr()
    assert main(["rag", "search", "x", "--store", str(store), "--bm25-weight", "-1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: bad value for retrieval key 'bm25_weight'") and err.count("\n") == 1


def test_search_table_output_and_bm25_mode(store, capsys):
    assert main(["rag", "search", "sourdough starter", "--mode", "bm25", "--store", str(store)]) == 0
    out = capsys.readouterr().out
    assert "notes.txt" in out and "bm25" in out


def test_ask_json_has_answer_citations_and_guard_verdicts(store, capsys):
    out = _run_json(capsys, ["rag", "ask", "How do I resume training?", "--store", str(store), "--json"])
    assert out["found"] and out["citations"][0]["source"] == "training.md"
    assert out["guard"]["input"]["action"] == "allow"
    assert "output" in out["guard"]


def test_ask_prints_answer_with_numbered_references(store, capsys):
    assert main(["rag", "ask", "What temperature is bread baked at?", "--store", str(store)]) == 0
    out = capsys.readouterr().out
    assert "230 degrees" in out and "[1] notes.txt" in out and "guard input: allow" in out


def test_eval_json_reports_retrieval_metrics(store, tmp_path, capsys):
    qa = tmp_path / "qa.jsonl"
    qa.write_text(
        json.dumps({"question": "How do I water tomatoes?", "sources": ["guide/garden.html"]}) + "\n"
    )
    out = _run_json(capsys, ["rag", "eval", str(qa), "--store", str(store), "--no-answers", "--json"])
    assert out["retrieval"]["recall@5"] == {"mean": 1.0, "n": 1}


def test_missing_store_is_a_one_line_error(tmp_path, capsys):
    assert main(["rag", "search", "x", "--store", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no RAG store at") and err.count("\n") == 1


def test_llm_without_model_is_an_error(store, capsys):
    assert main(["rag", "ask", "q", "--store", str(store), "--llm", "http://127.0.0.1:9"]) == 2
    assert "--llm needs --model" in capsys.readouterr().err


def test_genforge_docs_root_is_the_checkout_docs_folder():
    from pathlib import Path

    from genforge.rag.corpus import genforge_docs_root

    root = genforge_docs_root()
    assert root == Path(__file__).resolve().parents[2] / "docs"
    assert (root / "rag.md").exists()


@pytest.mark.slow
def test_ask_without_store_builds_the_default_store_from_the_docs(tmp_path, monkeypatch, capsys):
    import shutil

    from genforge.rag import corpus

    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("rag.md", "guardrails.md"):  # two real genforge pages keep the test fast
        shutil.copy(corpus.genforge_docs_root() / name, docs / name)
    monkeypatch.setattr(corpus, "genforge_docs_root", lambda: docs)
    monkeypatch.setenv("GENFORGE_RAG_STORE", str(tmp_path / "default"))
    out = _run_json(capsys, ["rag", "ask", "What does redaction replace spans with?", "--json"])
    assert (tmp_path / "default" / "store.sqlite").exists()
    assert out["found"] and out["citations"][0]["source"] == "guardrails.md"
    stats = _run_json(capsys, ["rag", "stats", "--json"])
    assert stats["documents"] == 2 and stats["roots"] == [str(docs.resolve())]
