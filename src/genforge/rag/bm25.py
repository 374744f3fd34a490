"""Lexical BM25 retrieval through ``bm25s`` (sparse matrices, fast scoring) with save/load.

:class:`BM25Index` follows the scikit-learn split: the constructor stores settings, :meth:`fit` learns the
index over texts keyed by integer ids, :meth:`save`/:meth:`load` round-trip it through bm25s' own
pickle-free format plus a JSON file with our settings and the id of each indexed row.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from genforge.core import io
from genforge.core.errors import CheckpointError, require

SETTINGS_FILE = "genforge_bm25.json"


class BM25Index:
    """Okapi BM25 over texts with English stop words removed and Snowball stemming (PyStemmer).

    Args:
        k1, b: BM25 term-frequency saturation and length normalisation.
        stemmer: Snowball language name for PyStemmer, or None for no stemming.
        stopwords: bm25s stop-word list name (``"en"``) or None.
    """

    def __init__(
        self, k1: float = 1.2, b: float = 0.75, stemmer: str | None = "english", stopwords: str | None = "en"
    ):
        self.k1 = k1
        self.b = b
        self.stemmer = stemmer
        self.stopwords = stopwords
        self.ids_: np.ndarray | None = None
        self.model_ = None

    def _stem(self):
        if self.stemmer is None:
            return None
        stemmer_module = require("Stemmer", "rag")
        return stemmer_module.Stemmer(self.stemmer).stemWords

    def _tokenize(self, texts: Sequence[str]) -> list[list[str]]:
        bm25s = require("bm25s", "rag")
        return bm25s.tokenize(
            list(texts), stopwords=self.stopwords, stemmer=self._stem(), show_progress=False, return_ids=False
        )

    def fit(self, texts: Sequence[str], ids: Sequence[int]) -> BM25Index:
        """Index ``texts``; ``ids[i]`` is what :meth:`search` returns for ``texts[i]``."""
        bm25s = require("bm25s", "rag")
        if len(texts) != len(ids):
            raise ValueError("texts and ids must have the same length")
        self.ids_ = np.asarray(ids, dtype=np.int64)
        self.model_ = bm25s.BM25(k1=self.k1, b=self.b)
        if len(texts):
            self.model_.index(self._tokenize(texts), show_progress=False)
        return self

    def __len__(self) -> int:
        return 0 if self.ids_ is None else len(self.ids_)

    def search(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, scores)`` of the ``k`` best-scoring texts, best first; texts scoring 0 are dropped."""
        if self.model_ is None or self.ids_ is None:
            raise CheckpointError("BM25 index is not fitted: call fit() or load() first")
        k = min(k, len(self.ids_))
        if k == 0:
            return np.empty(0, np.int64), np.empty(0, np.float32)
        vocab = self.model_.vocab_dict or {}
        tokens = [t for t in self._tokenize([query])[0] if t in vocab]
        if not tokens:
            return np.empty(0, np.int64), np.empty(0, np.float32)
        rows, scores = self.model_.retrieve([tokens], k=k, show_progress=False, n_threads=1)
        rows, scores = rows[0], scores[0].astype(np.float32)
        keep = scores > 0
        return self.ids_[rows[keep]], scores[keep]

    def save(self, path: str | os.PathLike) -> Path:
        """Write the index into directory ``path`` (created; files written by bm25s, then our JSON last)."""
        if self.model_ is None or self.ids_ is None:
            raise CheckpointError("cannot save an unfitted BM25 index")
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        if len(self.ids_):
            self.model_.save(str(path), show_progress=False)
        settings = {"k1": self.k1, "b": self.b, "stemmer": self.stemmer, "stopwords": self.stopwords}
        io.atomic_write_json(path / SETTINGS_FILE, {"settings": settings, "ids": self.ids_.tolist()})
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> BM25Index:
        bm25s = require("bm25s", "rag")
        path = Path(path)
        meta = io.read_json(path / SETTINGS_FILE)
        index = cls(**meta["settings"])
        index.ids_ = np.asarray(meta["ids"], dtype=np.int64)
        if len(index.ids_):
            index.model_ = bm25s.BM25.load(str(path), show_progress=False, allow_pickle=False)
        else:
            index.model_ = bm25s.BM25(k1=index.k1, b=index.b)
        return index
