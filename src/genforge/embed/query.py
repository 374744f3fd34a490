"""Word queries on any embedding: nearest neighbours and analogies (``a - b + c``).

Models with a vocabulary search it; an open-vocabulary model (the sentence model) searches the words of
the Google analogy test set instead, since it has no word list of its own.
"""

from __future__ import annotations

import numpy as np

from genforge.embed.base import Embedding, UnknownWord


def candidate_words(embedding: Embedding) -> list[str]:
    """Words a query may return: the model's vocabulary, or the analogy-test words for open models."""
    vocab = embedding.vocabulary()
    if vocab is not None:
        return vocab
    from genforge.embed.evaluate import load_analogies

    return sorted({w for q in load_analogies() for w in q.words})


def _check(embedding: Embedding, words: list[str]) -> None:
    for word in words:
        if not embedding.has_word(word):
            raise UnknownWord(
                f"'{word}' is not in the {embedding.kind} vocabulary and it cannot build a vector for it"
            )


def nearest_words(embedding: Embedding, word: str, k: int = 10) -> list[tuple[str, float]]:
    """The ``k`` candidate words most cosine-similar to ``word`` (itself excluded)."""
    word = word.lower()
    _check(embedding, [word])
    if embedding.vocabulary() is not None:
        return embedding.neighbors(word, k)
    return _rank(embedding, embedding.embed_words([word])[0], {word}, k, cosmul=None)


def solve_analogy(
    embedding: Embedding, a: str, b: str, c: str, k: int = 5, method: str = "3cosadd"
) -> list[tuple[str, float]]:
    """Words ``x`` best completing ``b : a :: c : x``, i.e. nearest to ``a - b + c`` (king - man + woman).

    ``method`` is ``3cosadd`` (score ``cos(x,a) - cos(x,b) + cos(x,c)``) or ``3cosmul`` (Levy & Goldberg
    2014). The three query words are never returned.
    """
    words = [w.lower() for w in (a, b, c)]
    _check(embedding, words)
    unit = embedding.embed_words(words)
    unit = unit / np.maximum(np.linalg.norm(unit, axis=1, keepdims=True), 1e-12)
    return _rank(embedding, unit, set(words), k, cosmul=method == "3cosmul")


def _rank(
    embedding: Embedding, query: np.ndarray, skip: set[str], k: int, cosmul: bool | None
) -> list[tuple[str, float]]:
    from genforge.embed.evaluate import COSMUL_EPSILON

    pool = [w for w in candidate_words(embedding) if w not in skip]
    matrix = embedding.embed_words(pool)
    matrix = matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    if cosmul is None:
        scores = matrix @ (query / max(float(np.linalg.norm(query)), 1e-12))
    else:
        sim_a, sim_b, sim_c = (matrix @ q for q in query)
        scores = (
            ((sim_a + 1) / 2) * ((sim_c + 1) / 2) / ((sim_b + 1) / 2 + COSMUL_EPSILON)
            if cosmul
            else sim_a - sim_b + sim_c
        )
    order = np.argsort(-scores, kind="stable")[:k]
    return [(pool[i], float(scores[i])) for i in order]
