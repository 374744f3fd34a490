"""Word-level sentences for embedding training: a corpus spec -> lists of lowercase tokens.

Every embedding method (Word2Vec, fastText, GloVe, ELMo-style) trains on the same token stream so that
``embed bench`` compares methods, not tokenizers. Tokens come from :func:`gensim.utils.simple_preprocess`
(lowercase, alphabetic, 2-15 characters), the same rule used to tokenize texts at embedding time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from genforge.core.errors import DataError, require
from genforge.data.text import load_corpus


def tokenize(text: str) -> list[str]:
    """Lowercase word tokens of ``text`` (gensim ``simple_preprocess``: letters only, 2-15 characters)."""
    utils = require("gensim.utils", "text")
    return utils.simple_preprocess(text, min_len=2, max_len=15)


def load_sentences(corpus_spec: str, split: str | None = None) -> list[list[str]]:
    """Tokenized documents of a corpus spec (``lee``, ``text:lee``, ``file:PATH``, ``dir:PATH``).

    ``split`` selects ``train``/``val``/``test`` documents; None (the default) takes every document,
    which is right for word embeddings since they are evaluated on external word lists.
    """
    spec = corpus_spec.removeprefix("text:")
    corpus = load_corpus(spec)
    documents = corpus.documents if split is None else corpus.texts(split)
    sentences = [tokens for tokens in (tokenize(d) for d in documents) if tokens]
    if not sentences:
        raise DataError(f"corpus '{corpus_spec}' has no word tokens (letters, 2-15 characters) to train on")
    return sentences


def count_words(sentences: Iterable[Sequence[str]]) -> Counter[str]:
    """Token frequencies over all sentences."""
    counts: Counter[str] = Counter()
    for sentence in sentences:
        counts.update(sentence)
    return counts


def build_vocabulary(sentences: Iterable[Sequence[str]], min_count: int) -> list[tuple[str, int]]:
    """``(word, count)`` for words seen at least ``min_count`` times, most frequent first (ties by word)."""
    counts = count_words(sentences)
    vocab = sorted(((w, c) for w, c in counts.items() if c >= min_count), key=lambda wc: (-wc[1], wc[0]))
    if not vocab:
        raise DataError(f"no word occurs at least {min_count} times in the corpus; lower min_count")
    return vocab
