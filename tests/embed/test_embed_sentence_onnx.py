"""The optional ONNX Runtime path gives the same sentence vectors as sentence-transformers."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.slow
def test_onnx_vectors_match_sentence_transformers(onnx_cache):
    from genforge.embed.sentence import SentenceEmbedding
    from genforge.embed.sentence_onnx import OnnxSentenceEmbedding

    texts = ["The government announced new measures.", "short", "A much longer sentence " * 20, "mid " * 9]
    onnx = OnnxSentenceEmbedding(batch_size=2).embed_texts(texts)  # batches cut in length order
    reference = SentenceEmbedding(cache_size=0).embed_texts(texts)
    np.testing.assert_allclose(np.sum(onnx * reference, axis=1), 1.0, atol=1e-4)
