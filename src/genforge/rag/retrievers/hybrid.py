"""Hybrid retrieval: weighted reciprocal rank fusion (Cormack et al., 2009) of the dense and BM25 rankings.

``sum w / (rrf_k + rank)`` with weight 1 for dense and ``bm25_weight`` for BM25. With ``fusion="document"``
(default) documents are fused too and chunks come in rounds over the documents in fused order (see
:func:`genforge.rag.fusion.document_fusion`); ``fusion="chunk"`` fuses chunks only. The defaults were
chosen on a development question set (``docs/rag.md``).
"""

from __future__ import annotations

from genforge.rag.fusion import document_fusion, reciprocal_rank_fusion
from genforge.rag.retrievers import RETRIEVERS, Ranking, Retriever
from genforge.rag.retrievers.dense import DenseRetriever
from genforge.rag.retrievers.lexical import BM25Retriever


@RETRIEVERS.register("hybrid")
class HybridRetriever(Retriever):
    def rank(self, store, query, config) -> Ranking:
        scores = {**DenseRetriever().rank(store, query, config).scores}
        scores.update(BM25Retriever().rank(store, query, config).scores)
        rankings = [list(scores["dense"]), list(scores["bm25"])]
        weights = (1.0, config.bm25_weight)
        if config.fusion == "chunk":
            order = scores["rrf"] = reciprocal_rank_fusion(rankings, config.rrf_k, weights)
            return Ranking(order, "rrf", scores)
        doc_of = store.documents_of(sorted(set(rankings[0]) | set(rankings[1])))
        prior = None
        if config.page_prior:
            sizes = store.chunk_counts(sorted(set(doc_of.values())))
            prior = {d: max(n, 1) ** -config.page_prior for d, n in sizes.items()}
        order, _, scores["rrf"] = document_fusion(rankings, doc_of, config.rrf_k, weights, prior)
        scores["rrf_document"] = order
        return Ranking(order, "rrf_document", scores)
