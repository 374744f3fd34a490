"""One embedding interface for every method (Word2Vec, fastText, GloVe, ELMo-style, sentence models).

An :class:`Embedding` maps words and/or texts to float32 vectors, finds nearest neighbours by cosine
similarity, and saves/loads itself as a directory holding ``embedding.json`` (kind + settings) and
``vectors.safetensors`` (no pickle). Concrete classes register with ``@register_embedding("kind")`` so
:func:`load_embedding` can rebuild any saved model; the RAG store and the evaluation code only use this
interface.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from genforge.core import io
from genforge.core.errors import CheckpointError, GenforgeError
from genforge.core.registry import Registry

EMBEDDINGS = Registry(
    "embedding kind",
    modules=[
        "genforge.embed.gensim_models",
        "genforge.embed.glove",
        "genforge.embed.elmo",
        "genforge.embed.sentence",
    ],
)
MANIFEST = "embedding.json"


def register_embedding(kind: str):
    return EMBEDDINGS.register(kind)


class UnknownWord(GenforgeError):
    """A word the model has no vector for (and no subwords to build one)."""


class Embedding:
    """Base class. Subclasses set ``kind`` and ``dim`` and implement what their method supports."""

    kind: str = ""
    dim: int = 0

    # words ---------------------------------------------------------------------------------------
    def vocabulary(self) -> list[str] | None:
        """The words with stored vectors, most frequent first; None for open-vocabulary text models."""
        return None

    def has_word(self, word: str) -> bool:
        """True if :meth:`embed_words` can give ``word`` a vector (stored, or built from subwords)."""
        vocab = self.vocabulary()
        return vocab is None or word in set(vocab)

    def embed_words(self, words: Sequence[str]) -> np.ndarray:
        """``(len(words), dim)`` float32; raises :class:`UnknownWord` for a word it cannot embed."""
        return self.embed_texts(words)

    # texts ---------------------------------------------------------------------------------------
    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """``(len(texts), dim)`` float32 text vectors (word models: mean of known word vectors)."""
        raise NotImplementedError(f"{self.kind} embeddings do not embed texts")

    # search --------------------------------------------------------------------------------------
    def neighbors(
        self, query: str | np.ndarray, k: int = 10, exclude: Sequence[str] = ()
    ) -> list[tuple[str, float]]:
        """The ``k`` vocabulary words with highest cosine similarity to ``query`` (a word or a vector)."""
        vocab = self.vocabulary()
        if vocab is None:
            raise GenforgeError(f"{self.kind} embeddings have no vocabulary to search; embed texts instead")
        matrix = self.word_matrix()
        vector = (
            self.embed_words([query])[0] if isinstance(query, str) else np.asarray(query, dtype=np.float32)
        )
        sims = cosine_scores(matrix, vector)
        skip = set(exclude) | ({query} if isinstance(query, str) else set())
        order = np.argsort(-sims, kind="stable")
        out = []
        for i in order:
            if vocab[i] in skip:
                continue
            out.append((vocab[i], float(sims[i])))
            if len(out) == k:
                break
        return out

    def word_matrix(self) -> np.ndarray:
        """``(len(vocabulary), dim)`` vectors aligned with :meth:`vocabulary`."""
        vocab = self.vocabulary()
        if vocab is None:
            raise GenforgeError(f"{self.kind} embeddings have no fixed vocabulary")
        return self.embed_words(vocab)

    # persistence ---------------------------------------------------------------------------------
    def state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """(settings as JSON-able dict, tensors as name -> numpy array) for :meth:`save`."""
        raise NotImplementedError(f"{self.kind} embeddings cannot be saved")

    @classmethod
    def from_state(cls, settings: dict[str, Any], arrays: dict[str, np.ndarray]) -> Embedding:
        raise NotImplementedError

    def save(self, path: str | os.PathLike) -> Path:
        import torch

        path = Path(path)
        settings, arrays = self.state()
        path.mkdir(parents=True, exist_ok=True)
        io.save_tensors(
            path / "vectors.safetensors",
            {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()},
        )
        io.atomic_write_json(path / MANIFEST, {"kind": self.kind, "dim": self.dim, "settings": settings})
        return path


def cosine_scores(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1) * (np.linalg.norm(vector) + 1e-12)
    return (matrix @ vector) / np.maximum(norms, 1e-12)


def load_embedding(path: str | os.PathLike) -> Embedding:
    """Rebuild a saved embedding from its directory (``embedding.json`` + ``vectors.safetensors``)."""
    path = Path(path)
    manifest = path / MANIFEST
    if not manifest.exists():
        raise CheckpointError(f"{path} is not a saved genforge embedding (no {MANIFEST})")
    meta = io.read_json(manifest)
    cls = EMBEDDINGS.get(meta["kind"]).obj
    tensors = io.load_tensors(path / "vectors.safetensors") if (path / "vectors.safetensors").exists() else {}
    settings = dict(meta.get("settings", {}))
    inside = settings.get("model_path")
    if isinstance(inside, str) and not Path(inside).is_absolute() and (path / inside).is_dir():
        settings["model_path"] = str(path / inside)  # a model saved inside the directory
    return cls.from_state(settings, {k: v.numpy() for k, v in tensors.items()})
