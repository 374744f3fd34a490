"""Rank fusion for hybrid retrieval: reciprocal rank fusion of chunks, and of the documents they belong to.

Reciprocal rank fusion (Cormack, Clarke and Buettcher, 2009) scores an item ``sum_r w_r / (k + rank_r)``
over the rankings it appears in (ranks from 1). Fusing *chunks* splits a document's evidence when the
two retrievers pick different chunks of the same page: BM25 finds the paragraph naming the function,
the dense retriever the one describing it, and each gets one vote while a page both put second gets two.
:func:`document_fusion` therefore also fuses at the document level — a document's rank in a retriever's
list is the rank of its first chunk there — and returns chunks in rounds: the best chunk of each document
in document order, then each document's second-best chunk, and so on, so the top ``k`` chunks cover the
``k`` best documents. The benchmark in ``benchmarks/rag_retrieval.py`` compares both on a
development question set (``benchmarks/data/pydocs_qa_dev.jsonl``) that is separate from the test set.

Written here because it is a few lines over integer ids; the libraries that offer RRF (LlamaIndex,
LangChain) do so around their own node objects.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import TypeVar

T = TypeVar("T", bound=Hashable)


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[T]], k: int = 60, weights: Sequence[float] | None = None
) -> dict[T, float]:
    """RRF scores ``sum_r w_r / (k + rank_r(d))`` (ranks from 1), best first (ties: earlier lists win)."""
    weights = [1.0] * len(rankings) if weights is None else list(weights)
    if len(weights) != len(rankings):
        raise ValueError("one weight per ranking")
    scores: dict[T, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return dict(sorted(scores.items(), key=lambda kv: -kv[1]))


def first_occurrences(ranking: Sequence[T], group_of: Mapping[T, Hashable]) -> list[Hashable]:
    """The groups of ``ranking``'s items in order of their first item."""
    seen: dict[Hashable, None] = {}
    for item in ranking:
        seen.setdefault(group_of[item], None)
    return list(seen)


def document_fusion(
    rankings: Sequence[Sequence[T]],
    document_of: Mapping[T, Hashable],
    k: int = 60,
    weights: Sequence[float] | None = None,
    prior: Mapping[Hashable, float] | None = None,
) -> tuple[dict[T, float], dict[Hashable, float], dict[T, float]]:
    """Chunks in rounds over the fused documents: every document's best chunk, then every second-best, ...

    Documents are ordered by their RRF score (a document ranks where its first chunk does in each list),
    times ``prior[document]`` when given, chunks within a document by their own RRF score. Returns
    ``(order, document_scores, chunk_scores)``; ``order`` maps each chunk, in result order, to its
    document's score.
    """
    chunk_scores = reciprocal_rank_fusion(rankings, k, weights)
    doc_scores = reciprocal_rank_fusion([first_occurrences(r, document_of) for r in rankings], k, weights)
    if prior is not None:
        doc_scores = {d: s * prior[d] for d, s in doc_scores.items()}
        doc_scores = dict(sorted(doc_scores.items(), key=lambda kv: -kv[1]))
    by_document: dict[Hashable, list[T]] = {d: [] for d in doc_scores}
    for chunk in chunk_scores:
        by_document[document_of[chunk]].append(chunk)
    order: dict[T, float] = {}
    for depth in range(max((len(c) for c in by_document.values()), default=0)):
        for doc, chunks in by_document.items():
            if depth < len(chunks):
                order[chunks[depth]] = doc_scores[doc]
    return order, doc_scores, chunk_scores
