"""Dense retrieval: cosine similarity of the query's and the chunks' MiniLM vectors."""

from __future__ import annotations

import numpy as np

from genforge.rag.retrievers import RETRIEVERS, Ranking, Retriever


@RETRIEVERS.register("dense")
class DenseRetriever(Retriever):
    def rank(self, store, query, config) -> Ranking:
        vector = store.query_vector(query)
        ids, scores = store.dense_search(vector, config.pool)
        if config.prf_chunks and len(ids):  # Rocchio-style pseudo-relevance feedback, no LLM
            vector = vector + config.prf_weight * store.vectors_of(ids[: config.prf_chunks]).mean(axis=0)
            ids, scores = store.dense_search(vector / np.linalg.norm(vector), config.pool)
        order = dict(zip(ids.tolist(), scores.tolist(), strict=True))
        return Ranking(order, "cosine", {"dense": order})
