"""The ranking bench: shared test items across models, and the shipped MiniLM model in it."""

from __future__ import annotations

import numpy as np
import pytest

from genforge.embed.bench import common_vocabulary, evaluate_common
from genforge.embed.static import WordVectors


class Table(WordVectors):
    kind = "table"


def test_common_vocabulary_is_the_intersection_in_the_first_models_order():
    first = Table(["king", "queen", "man", "woman"], np.eye(4))
    second = Table(["woman", "king", "man", "car"], np.eye(4))
    assert common_vocabulary({"a": first, "b": second}) == ["king", "man", "woman"]


def test_common_evaluation_uses_only_shared_words():
    vectors = np.random.default_rng(0).normal(size=(6, 5))
    table = Table(["king", "queen", "man", "woman", "boy", "girl"], vectors)
    result = evaluate_common(table, ["king", "queen", "man", "woman"])
    assert result["analogies"]["candidate_words"] == 4
    assert result["analogies"]["questions_used"] > 0
    assert result["wordsim353"]["pairs_used"] == 2  # king-queen and man-woman are WordSim353 pairs


@pytest.mark.slow
def test_minilm_is_evaluated_on_the_same_items_as_trained_models():
    from genforge.embed.training import open_embedding

    minilm = open_embedding("minilm")
    words = ["king", "queen", "man", "woman", "boy", "girl", "brother", "sister", "father", "mother"]
    result = evaluate_common(minilm, words)
    assert result["analogies"]["questions_used"] > 0
    assert result["analogies"]["accuracy_3cosadd"] > 0.3
