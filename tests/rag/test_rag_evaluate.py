"""RAG evaluation metrics: hand-checked values, and a full run that never yields NaN."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from rag_testdata import make_corpus

from genforge.core.errors import DataError
from genforge.embed.sentence import SentenceEmbedding
from genforge.rag.config import RetrievalConfig
from genforge.rag.evaluate import (
    context_precision,
    evaluate,
    faithfulness,
    is_relevant,
    load_qa,
    ranked_sources,
    retrieval_metrics,
)
from genforge.rag.pipeline import RagPipeline
from genforge.rag.store import Store


def test_retrieval_metrics_match_hand_computed_values():
    pages = ["a.html", "b.html", "c.html", "d.html"]
    m = retrieval_metrics(pages, ["b.html", "d.html"])
    assert m["recall@1"] == 0.0 and m["recall@3"] == 0.5 and m["recall@5"] == 1.0
    assert m["mrr"] == 0.5
    ideal = 1 + 1 / math.log2(3)
    assert m["ndcg@10"] == pytest.approx((1 / math.log2(3) + 1 / math.log2(5)) / ideal)


def test_a_relevant_page_missing_from_the_ranking_scores_zero():
    m = retrieval_metrics(["x.html"], ["y.html"])
    assert m["mrr"] == 0.0 and m["recall@10"] == 0.0 and m["ndcg@10"] == 0.0


def test_relevance_ignores_fragments_and_tolerates_a_different_root():
    assert is_relevant("library/functools.html", ["library/functools.html#functools.cache"])
    assert is_relevant("html/library/os.html", ["library/os.html"])
    assert not is_relevant("library/os.path.html", ["library/os.html"])


def test_ranked_sources_deduplicates_in_rank_order():
    assert ranked_sources(["a", "b", "a", "c", "b"]) == ["a", "b", "c"]


def test_context_precision_is_average_precision_over_relevant_positions():
    assert context_precision([True, False, True]) == pytest.approx((1 + 2 / 3) / 2)
    assert context_precision([False, False]) == 0.0
    assert context_precision([]) is None


def test_faithfulness_counts_supported_sentences():
    passages = ["Tomatoes need six hours of direct sunlight every day."]
    answer = "Tomatoes need six hours of direct sunlight every day. Penguins live in deserts of Arizona."
    assert faithfulness(answer, passages, embedding=None) == 0.5
    assert faithfulness("Ok.", passages, embedding=None) is None


def test_qa_file_lines_need_question_and_sources(tmp_path):
    path = tmp_path / "qa.jsonl"
    path.write_text('{"question": "q?", "sources": ["a.md"]}\n{"question": "no sources"}\n')
    with pytest.raises(DataError, match="qa.jsonl:2"):
        load_qa(path)


@pytest.mark.slow
def test_evaluation_on_a_small_corpus_reports_every_metric_without_nan(tmp_path):
    root = make_corpus(tmp_path / "c")
    store = Store(tmp_path / "s", embedding=SentenceEmbedding())
    store.index(root)
    qa = tmp_path / "qa.jsonl"
    rows = [
        {
            "question": "How do I resume a training run?",
            "sources": ["training.md"],
            "answer": "Run genforge train --resume RUN_ID.",
        },
        {"question": "How much sun do tomatoes need?", "sources": ["guide/garden.html"]},
        {"question": "How many pallets were shipped in March?", "sources": ["report.pdf"]},
        {"question": "What is the capital of Peru?", "sources": ["nowhere.md"]},
    ]
    qa.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = evaluate(qa, RagPipeline(store, retrieval=RetrievalConfig(k=3)))
    assert report["questions"] == 4
    retrieval = report["retrieval"]
    assert retrieval["recall@5"]["n"] == 4 and retrieval["recall@5"]["mean"] == pytest.approx(0.75)
    assert report["answer"]["faithfulness"]["n"] >= 2 and report["answer"]["faithfulness"]["mean"] == 1.0
    assert report["answer"]["answer_similarity"]["n"] == 1
    text = json.dumps(report)
    assert "NaN" not in text


def test_qa_file_refuses_duplicate_ids_empty_questions_and_unknown_pages(tmp_path):
    root = tmp_path / "docs"
    (root / "lib").mkdir(parents=True)
    (root / "lib" / "a.html").write_text("<p>a</p>")
    path = tmp_path / "qa.jsonl"
    good = {"id": "q1", "question": "How?", "sources": ["lib/a.html#section"]}
    path.write_text(json.dumps(good) + "\n")
    assert load_qa(path, root=root) == [good]
    cases = {
        "repeats id 'q1' (first on line 1)": [good, {**good, "question": "Again?"}],
        "needs 'question' (text), got '  '": [{**good, "question": "  "}],
        "needs a non-empty 'sources' list": [{**good, "sources": []}],
        "names unknown page(s) lib/b.html": [
            good,
            {"id": "q2", "question": "Why?", "sources": ["lib/b.html"]},
        ],
    }
    for message, rows in cases.items():
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        with pytest.raises(DataError) as info:
            load_qa(path, root=root)
        line = len(rows)
        assert str(info.value).startswith(f"{path}:{line} ") and message in str(info.value)
        assert "\n" not in str(info.value)


@pytest.mark.parametrize("name", ["pydocs_user", "pgdocs_user"])
def test_user_question_sets_are_valid_and_disjoint(name):
    data = Path(__file__).parents[2] / "benchmarks" / "data"
    dev, test = load_qa(data / f"{name}_dev.jsonl"), load_qa(data / f"{name}_test.jsonl")
    assert len(dev) >= 50 and len(test) >= 50
    assert not {q["id"] for q in dev} & {q["id"] for q in test}
    assert not {q["question"] for q in dev} & {q["question"] for q in test}
