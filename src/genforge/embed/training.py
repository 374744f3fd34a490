"""One call to train any word-embedding method on a corpus spec, and one to open any saved model.

``train_embedding("glove", "text:lee", dim=50, seed=0, out="glove-lee", x_max=10)`` validates the
method's options with its config (an unknown option is a :class:`ConfigError` naming it), tokenizes the
corpus once (:mod:`genforge.embed.corpus`), trains, records corpus / seconds / vocabulary size in the saved
settings, and saves the model when ``out`` is given. :func:`open_embedding` turns a CLI ``MODEL`` argument
(a saved directory, ``minilm`` for the shipped all-MiniLM-L6-v2, ``minilm-onnx`` for it on ONNX Runtime)
into an Embedding.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genforge.core.config import Config
from genforge.core.errors import CheckpointError, ConfigError, ModelNotFound
from genforge.core.paths import check_output_dir
from genforge.embed.base import MANIFEST, Embedding, load_embedding
from genforge.embed.corpus import load_sentences

SENTENCE_MODEL_NAMES = ("sentence", "minilm", "all-minilm-l6-v2")
ONNX_MODEL_NAMES = ("sentence-onnx", "minilm-onnx")


@dataclass(frozen=True)
class Method:
    """A trainable method: its config class and ``train(sentences, dim, seed, config, heldout)``."""

    name: str
    config: type[Config]
    train: Callable[..., Embedding]
    about: str


def methods() -> dict[str, Method]:
    """The trainable methods by CLI name (imports gensim/torch on first use)."""
    from genforge.embed import elmo, gensim_models, glove

    return {
        "word2vec": Method(
            "word2vec",
            gensim_models.Word2VecConfig,
            _plain(gensim_models.train_word2vec),
            "gensim Word2Vec, skip-gram (default) or CBOW, negative sampling",
        ),
        "fasttext": Method(
            "fasttext",
            gensim_models.FastTextConfig,
            _plain(gensim_models.train_fasttext),
            "gensim FastText: character n-gram subwords, vectors for unseen words",
        ),
        "glove": Method(
            "glove", glove.GloVeConfig, _plain(glove.train_glove), "GloVe implemented in genforge"
        ),
        "elmo": Method("elmo", elmo.ElmoConfig, elmo.train_elmo, "ELMo-style biLSTM LM, mixed layers"),
    }


def _plain(train: Callable[..., Embedding]) -> Callable[..., Embedding]:
    def run(sentences, dim, seed, config, heldout=None):
        return train(sentences, dim, seed, config)

    return run


def train_embedding(
    method: str,
    corpus_spec: str,
    dim: int = 100,
    seed: int = 0,
    out: str | os.PathLike | None = None,
    **opts: Any,
) -> tuple[Embedding, dict[str, Any]]:
    """Train ``method`` on ``corpus_spec`` (``text:lee``, ``text:file:PATH`` …) -> (embedding, summary).

    ``opts`` are the method's config fields (see ``methods()[method].config``). The summary holds the
    method, corpus, dim, seed, vocabulary size, training seconds and, when saved, the output directory.
    """
    table = methods()
    if method not in table:
        raise ModelNotFound(f"unknown embedding method '{method}' (available: {', '.join(table)})")
    if dim < 1:
        raise ConfigError(f"dim must be a positive integer, got {dim}")
    spec = table[method]
    config = spec.config.build(opts, where=f"{method} option")
    if out is not None:
        check_output_dir(out)
    holdout = bool(getattr(config, "validation", False))
    sentences = load_sentences(corpus_spec, "train" if holdout else None)
    heldout = load_sentences(corpus_spec, "val") if holdout else None
    start = time.perf_counter()
    embedding = spec.train(sentences, dim, seed, config, heldout)
    seconds = time.perf_counter() - start
    embedding.settings.update({"corpus": corpus_spec, "train_seconds": seconds})
    summary: dict[str, Any] = {
        "method": method,
        "corpus": corpus_spec,
        "dim": dim,
        "seed": seed,
        "corpus_tokens": sum(len(s) for s in sentences),
        "vocabulary_size": len(embedding.vocabulary() or []),
        "train_seconds": seconds,
        "options": config.model_dump(),
    }
    for key in ("final_loss", "train_perplexity", "val_perplexity"):
        if key in embedding.settings:
            summary[key] = embedding.settings[key]
    if out is not None:
        summary["out"] = str(embedding.save(out))
    return embedding, summary


def open_embedding(ref: str | os.PathLike) -> Embedding:
    """A saved embedding directory, ``minilm`` (alias ``sentence``) for the shipped all-MiniLM-L6-v2, or
    ``minilm-onnx`` for the same model through ONNX Runtime."""
    if str(ref).lower() in SENTENCE_MODEL_NAMES and not Path(ref).exists():
        from genforge.embed.sentence import SentenceEmbedding

        return SentenceEmbedding()
    if str(ref).lower() in ONNX_MODEL_NAMES and not Path(ref).exists():
        from genforge.embed.sentence_onnx import OnnxSentenceEmbedding

        return OnnxSentenceEmbedding()
    path = Path(ref)
    if not path.exists():
        raise CheckpointError(
            f"no embedding model at {path}: give a directory saved by 'genforge embed train', or 'minilm'"
        )
    if not (path / MANIFEST).exists():
        raise CheckpointError(f"{path} is not a saved genforge embedding (no {MANIFEST} inside)")
    return load_embedding(path)
