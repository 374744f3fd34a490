"""A fixed vocabulary with one vector per word: the shape shared by GloVe, Word2Vec and ELMo's static view.

:class:`WordVectors` implements the word side of :class:`~genforge.embed.base.Embedding` once
(lookup, unknown-word errors, text = mean of known word vectors, fast neighbours on a normalised matrix) so
each method only says how its vectors are trained and stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from genforge.core.errors import CheckpointError
from genforge.embed.base import Embedding, UnknownWord, cosine_scores
from genforge.embed.corpus import tokenize


class WordVectors(Embedding):
    """``words[i]`` has vector ``vectors[i]`` (``(V, dim)`` float32); ``counts[i]`` its corpus frequency."""

    def __init__(
        self, words: Sequence[str], vectors: np.ndarray, counts: Sequence[int] | None = None
    ) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(words):
            raise CheckpointError(
                f"vectors of shape {vectors.shape} do not match {len(words)} words: corrupt embedding"
            )
        self.words = list(words)
        self.vectors = vectors
        self.counts = list(counts) if counts is not None else [0] * len(self.words)
        self.index = {w: i for i, w in enumerate(self.words)}
        self.dim = int(vectors.shape[1])

    def vocabulary(self) -> list[str]:
        return self.words

    def has_word(self, word: str) -> bool:
        return word in self.index

    def embed_words(self, words: Sequence[str]) -> np.ndarray:
        missing = [w for w in words if w not in self.index]
        if missing:
            raise UnknownWord(
                f"'{missing[0]}' is not in the {self.kind} vocabulary ({len(self.words)} words, lowercase; "
                "it has no subwords to build one): try fasttext, or a word seen in the training corpus"
            )
        return self.vectors[[self.index[w] for w in words]]

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Mean of the vectors of a text's known tokens; a text with none gets the zero vector."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            ids = [self.index[t] for t in tokenize(text) if t in self.index]
            if ids:
                out[row] = self.vectors[ids].mean(axis=0)
        return out

    def word_matrix(self) -> np.ndarray:
        return self.vectors

    def neighbors(
        self, query: str | np.ndarray, k: int = 10, exclude: Sequence[str] = ()
    ) -> list[tuple[str, float]]:
        vector = self.embed_words([query])[0] if isinstance(query, str) else np.asarray(query, np.float32)
        sims = cosine_scores(self.vectors, vector)
        skip = {
            self.index[w] for w in (*exclude, *([query] if isinstance(query, str) else [])) if w in self.index
        }
        order = np.argsort(-sims, kind="stable")[: k + len(skip)]
        return [(self.words[i], float(sims[i])) for i in order if i not in skip][:k]

    def table_state(self, settings: dict[str, Any]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """State with the word list and counts in JSON and the vectors as one array."""
        return {**settings, "words": self.words, "counts": self.counts}, {"vectors": self.vectors}

    @staticmethod
    def split_table_state(settings: dict[str, Any]) -> tuple[list[str], list[int], dict[str, Any]]:
        """The inverse of :meth:`table_state` on the JSON side: (words, counts, the other settings)."""
        rest = dict(settings)
        try:
            return rest.pop("words"), rest.pop("counts"), rest
        except KeyError as exc:
            raise CheckpointError(f"embedding settings lack {exc.args[0]!r}: corrupt embedding") from None
