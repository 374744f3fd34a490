"""Reciprocal rank fusion of chunks, and of the documents they belong to."""

from __future__ import annotations

import pytest

from genforge.rag.fusion import document_fusion, first_occurrences, reciprocal_rank_fusion


def test_rrf_prefers_items_ranked_well_by_both_lists():
    fused = reciprocal_rank_fusion([[1, 2, 3], [4, 2, 3]], k=60)
    assert list(fused)[:2] == [2, 3]
    assert fused[2] == pytest.approx(2 / 62)


def test_weights_scale_each_list_and_must_match_the_lists():
    fused = reciprocal_rank_fusion([["a", "b"], ["b", "a"]], k=10, weights=(1.0, 0.5))
    assert fused == pytest.approx({"a": 1 / 11 + 0.5 / 12, "b": 1 / 12 + 0.5 / 11})
    assert list(fused) == ["a", "b"]
    with pytest.raises(ValueError, match="one weight per ranking"):
        reciprocal_rank_fusion([["a"], ["b"]], weights=(1.0,))


def test_first_occurrences_ranks_groups_by_their_first_item():
    assert first_occurrences(["a2", "b1", "a1", "c1"], {"a1": "A", "a2": "A", "b1": "B", "c1": "C"}) == [
        "A",
        "B",
        "C",
    ]


def test_document_fusion_keeps_the_votes_a_chunk_level_fusion_splits():
    # both retrievers put page A first but pick different chunks of it; both put page B second
    doc_of = {"a1": "A", "a2": "A", "b1": "B"}
    dense, bm25 = ["a1", "b1"], ["a2", "b1"]
    chunk_only = reciprocal_rank_fusion([dense, bm25], k=60)
    assert list(chunk_only)[0] == "b1"  # B's one chunk collects both votes
    order, doc_scores, chunk_scores = document_fusion([dense, bm25], doc_of, k=60)
    assert doc_scores == pytest.approx({"A": 2 / 61, "B": 2 / 62})
    assert list(order) == ["a1", "b1", "a2"]  # A's best chunk (tie: dense listed first), B's, then A's next
    assert order["a2"] == order["a1"] == pytest.approx(2 / 61)
    assert chunk_scores == chunk_only


def test_document_fusion_takes_each_documents_chunks_in_rounds_by_their_own_score():
    doc_of = {"a1": "A", "a2": "A", "a3": "A", "b1": "B", "c1": "C"}
    order, doc_scores, _ = document_fusion([["a3", "b1", "a1", "c1"], ["a3", "a2", "a1"]], doc_of, k=60)
    assert list(doc_scores) == ["A", "B", "C"]
    # round 1: the best chunk of A, B, C; round 2: A's second (a1: two votes beats a2: one); round 3: a2
    assert list(order) == ["a3", "b1", "c1", "a1", "a2"]


def test_document_fusion_prior_reorders_documents_by_score_times_prior():
    # A (3 chunks) and B (1 chunk) tie on votes; a chunk-count prior n ** -0.5 puts B first
    doc_of = {"a1": "A", "a2": "A", "b1": "B"}
    prior = {"A": 3**-0.5, "B": 1.0}
    order, doc_scores, _ = document_fusion([["a1", "b1"], ["b1", "a2"]], doc_of, k=60, prior=prior)
    assert doc_scores == pytest.approx({"B": 1 / 62 + 1 / 61, "A": (1 / 61 + 1 / 62) * 3**-0.5})
    assert list(doc_scores) == ["B", "A"] and list(order) == ["b1", "a1", "a2"]
