import numpy as np

from genforge.text.support import (
    citation_numbers,
    claim_spans,
    content_words,
    lexical_support,
    strip_citations,
    support_matrix,
)


def test_content_words_drop_stop_words_citations_and_simple_suffixes():
    assert content_words("The models were training on the digits [2].") == {"model", "train", "digit"}


def test_lexical_support_is_the_share_of_content_words_found_in_the_passage():
    assert lexical_support("Tomatoes need sunlight daily", "Tomatoes need six hours of sunlight.") == 0.75
    assert lexical_support("of the and", "anything") == 1.0


def test_citations_are_read_in_order_and_stripped_with_their_spacing():
    assert citation_numbers("A [2]. B [1, 3].") == [2, 1, 3]
    assert strip_citations("Water deeply [1]. Mulch helps [2, 3].") == "Water deeply. Mulch helps."


def test_claim_spans_skip_sentences_with_fewer_than_three_content_words():
    text = "Yes. Tomatoes need six hours of sunlight. It is so."
    assert [text[a:b] for a, b in claim_spans(text)] == ["Tomatoes need six hours of sunlight."]


class _OneHot:
    """A toy embedding: a sentence's vector marks which of three topic words it contains."""

    kind, dim = "toy", 3

    def embed_texts(self, texts):
        words = ("water", "sun", "soil")
        return np.array([[float(w in t.lower()) for w in words] for t in texts], dtype=np.float32)


def test_support_matrix_takes_the_larger_of_lexical_and_semantic_support():
    sentences = ["Irrigate with water weekly", "Unrelated claim entirely"]
    passages = ["Give the plants water. They like sun.", "Soil matters."]
    lexical = support_matrix(sentences, passages)
    assert lexical.shape == (2, 2) and lexical[0, 0] == np.float32(1 / 3)
    semantic = support_matrix(sentences, passages, _OneHot())
    assert semantic[0, 0] > 0.99 and semantic[1, 1] == lexical[1, 1]
    assert (semantic >= lexical).all()
