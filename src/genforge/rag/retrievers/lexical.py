"""Lexical retrieval: Okapi BM25 over the chunks' text and heading path (chunks sharing no term are absent)."""

from __future__ import annotations

from genforge.rag.retrievers import RETRIEVERS, Ranking, Retriever


@RETRIEVERS.register("bm25")
class BM25Retriever(Retriever):
    def rank(self, store, query, config) -> Ranking:
        ids, scores = store.bm25_search(query, config.pool)
        order = dict(zip(ids.tolist(), scores.tolist(), strict=True))
        return Ranking(order, "bm25", {"bm25": order})
