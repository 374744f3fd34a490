"""Maximal marginal relevance re-ranking (Carbonell & Goldstein, 1998) of any retriever's ranking."""

from __future__ import annotations

from genforge.rag.retrievers import Ranking
from genforge.rag.vectors import mmr


def mmr_rerank(store, query: str, ranking: Ranking, k: int, lambda_: float) -> list[int]:
    """The ``k`` chunks of ``ranking`` picked by MMR over their stored vectors, in pick order."""
    ranked = list(ranking.order)
    if not ranked:
        return []
    order = mmr(store.query_vector(query), store.vectors_of(ranked), k, lambda_)
    return [ranked[i] for i in order]
