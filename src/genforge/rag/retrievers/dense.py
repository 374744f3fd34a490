"""Dense retrieval: cosine similarity of the query's and the chunks' MiniLM vectors."""

from __future__ import annotations

from genforge.rag.retrievers import RETRIEVERS, Ranking, Retriever


@RETRIEVERS.register("dense")
class DenseRetriever(Retriever):
    def rank(self, store, query, config) -> Ranking:
        ids, scores = store.dense_search(store.query_vector(query), config.pool)
        order = dict(zip(ids.tolist(), scores.tolist(), strict=True))
        return Ranking(order, "cosine", {"dense": order})
