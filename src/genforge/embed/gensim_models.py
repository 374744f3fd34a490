"""Word2Vec (skip-gram / CBOW with negative sampling) and fastText (character n-gram subwords) via gensim.

gensim is the maintained implementation of both, so genforge only configures, wraps and stores them. A
model is saved without pickle: the word vectors (and for fastText the trained n-gram buckets plus the
hashing settings) go to safetensors + JSON through :meth:`Embedding.state`, and loading rebuilds gensim
``KeyedVectors`` / ``FastTextKeyedVectors`` from them, so ``most_similar`` and fastText's vectors for
unseen words work exactly as after training.

fastText detail: gensim allocates ``bucket`` n-gram rows and initialises them randomly; rows that no
vocabulary word's n-grams hash to are never trained. genforge zeroes those rows right after training and
stores only the trained ones (indices + rows), so a saved model is small and a reloaded model gives the
same vectors as the trained one: an unseen word's vector is the sum of its trained n-gram vectors divided
by its n-gram count (untrained n-grams contribute zero rather than random noise).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from pydantic import Field

from genforge.core.config import Config
from genforge.core.errors import ConfigError, require
from genforge.embed.base import UnknownWord, register_embedding
from genforge.embed.corpus import tokenize
from genforge.embed.static import WordVectors


class Word2VecConfig(Config):
    architecture: Literal["skipgram", "cbow"] = Field("skipgram", description="skip-gram or CBOW objective")
    window: int = Field(5, ge=1, description="max distance between the centre and a context word")
    negative: int = Field(5, ge=1, description="negative samples per positive pair")
    min_count: int = Field(5, ge=1, description="drop words seen fewer times than this")
    epochs: int = Field(20, ge=1, description="passes over the corpus")
    sample: float = Field(1e-3, ge=0, description="down-sampling threshold for frequent words")
    alpha: float = Field(0.025, gt=0, description="initial learning rate (decays linearly to min_alpha)")
    workers: int = Field(1, ge=1, description="training threads; 1 keeps results exactly reproducible")


class FastTextConfig(Word2VecConfig):
    min_n: int = Field(3, ge=1, description="shortest character n-gram")
    max_n: int = Field(6, ge=1, description="longest character n-gram (0 < min_n <= max_n)")
    bucket: int = Field(200_000, ge=1, description="hash buckets for n-gram vectors (fastText default 2M)")


def _gensim_options(config: Word2VecConfig, dim: int, seed: int) -> dict[str, Any]:
    return {
        "vector_size": dim,
        "sg": 1 if config.architecture == "skipgram" else 0,
        "hs": 0,
        "negative": config.negative,
        "window": config.window,
        "min_count": config.min_count,
        "epochs": config.epochs,
        "sample": config.sample,
        "alpha": config.alpha,
        "workers": config.workers,
        "seed": seed,
    }


def _counts(keyed_vectors) -> list[int]:
    return [int(keyed_vectors.get_vecattr(w, "count")) for w in keyed_vectors.index_to_key]


@register_embedding("word2vec")
class Word2VecEmbedding(WordVectors):
    """Word2Vec vectors held in a gensim ``KeyedVectors`` (``keyed_vectors``)."""

    kind = "word2vec"

    def __init__(self, keyed_vectors, settings: dict[str, Any]) -> None:
        super().__init__(keyed_vectors.index_to_key, keyed_vectors.vectors, _counts(keyed_vectors))
        self.keyed_vectors = keyed_vectors
        self.settings = settings

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return self.table_state(self.settings)

    @classmethod
    def from_state(cls, settings: dict[str, Any], arrays: dict[str, np.ndarray]) -> Word2VecEmbedding:
        models = require("gensim.models", "text")
        words, counts, settings = cls.split_table_state(settings)
        vectors = arrays["vectors"].astype(np.float32)
        kv = models.KeyedVectors(vector_size=vectors.shape[1])
        kv.add_vectors(words, vectors)
        for word, count in zip(words, counts, strict=True):
            kv.set_vecattr(word, "count", count)
        return cls(kv, settings)


@register_embedding("fasttext")
class FastTextEmbedding(Word2VecEmbedding):
    """fastText vectors (``FastTextKeyedVectors``): any word with a character n-gram gets a vector."""

    kind = "fasttext"

    def has_word(self, word: str) -> bool:
        return word in self.index or bool(self._ngram_hashes(word))

    def _ngram_hashes(self, word: str) -> list[int]:
        fasttext = require("gensim.models.fasttext", "text")
        kv = self.keyed_vectors
        return fasttext.ft_ngram_hashes(word, kv.min_n, kv.max_n, kv.bucket)

    def embed_words(self, words: Sequence[str]) -> np.ndarray:
        """In-vocabulary words: stored vectors; others: mean of their character n-gram vectors."""
        out = np.empty((len(words), self.dim), dtype=np.float32)
        for row, word in enumerate(words):
            if not self.has_word(word):
                raise UnknownWord(
                    f"'{word}' has no character {self.keyed_vectors.min_n}-grams to build a vector from"
                )
            out[row] = self.keyed_vectors.get_vector(word)
        return out

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Mean of every token's vector (unseen tokens built from n-grams); no tokens -> zero vector."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            tokens = [t for t in tokenize(text) if self.has_word(t)]
            if tokens:
                out[row] = self.embed_words(tokens).mean(axis=0)
        return out

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        kv = self.keyed_vectors
        trained = np.unique(np.concatenate([np.asarray(b, dtype=np.int64) for b in kv.buckets_word]))
        settings = {
            **self.settings,
            "words": self.words,
            "counts": self.counts,
            "min_n": kv.min_n,
            "max_n": kv.max_n,
            "bucket": kv.bucket,
        }
        arrays = {
            "vectors_vocab": kv.vectors_vocab,
            "ngram_rows": trained.astype(np.int64),
            "vectors_ngrams": kv.vectors_ngrams[trained],
        }
        return settings, arrays

    @classmethod
    def from_state(cls, settings: dict[str, Any], arrays: dict[str, np.ndarray]) -> FastTextEmbedding:
        fasttext = require("gensim.models.fasttext", "text")
        words, counts, settings = cls.split_table_state(settings)
        vectors_vocab = arrays["vectors_vocab"].astype(np.float32)
        dim = vectors_vocab.shape[1]
        kv = fasttext.FastTextKeyedVectors(dim, settings["min_n"], settings["max_n"], settings["bucket"])
        kv.index_to_key = list(words)
        kv.key_to_index = {w: i for i, w in enumerate(words)}
        kv.vectors_vocab = vectors_vocab
        kv.vectors_ngrams = np.zeros((settings["bucket"], dim), dtype=np.float32)
        kv.vectors_ngrams[arrays["ngram_rows"]] = arrays["vectors_ngrams"]
        kv.allocate_vecattrs()
        for word, count in zip(words, counts, strict=True):
            kv.set_vecattr(word, "count", count)
        kv.recalc_char_ngram_buckets()
        kv.adjust_vectors()
        return cls(kv, settings)


def train_word2vec(
    sentences: list[list[str]], dim: int, seed: int, config: Word2VecConfig
) -> Word2VecEmbedding:
    """Train gensim Word2Vec on tokenized ``sentences``; returns ``dim``-dimensional word vectors."""
    models = require("gensim.models", "text")
    model = models.Word2Vec(sentences, **_gensim_options(config, dim, seed))
    return Word2VecEmbedding(model.wv, {**config.model_dump(), "seed": seed})


def train_fasttext(
    sentences: list[list[str]], dim: int, seed: int, config: FastTextConfig
) -> FastTextEmbedding:
    """Train gensim FastText; n-gram buckets no vocabulary word uses are zeroed (see module docstring)."""
    models = require("gensim.models", "text")
    if config.min_n > config.max_n:
        raise ConfigError(f"fasttext min_n ({config.min_n}) must not exceed max_n ({config.max_n})")
    options = {**_gensim_options(config, dim, seed), "min_n": config.min_n, "max_n": config.max_n}
    model = models.FastText(sentences, bucket=config.bucket, **options)
    kv = model.wv
    used = np.zeros(kv.bucket, dtype=bool)
    for buckets in kv.buckets_word:
        used[buckets] = True
    kv.vectors_ngrams[~used] = 0.0
    kv.adjust_vectors()
    return FastTextEmbedding(kv, {**config.model_dump(), "seed": seed})
