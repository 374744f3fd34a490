"""Static MiniLM token vectors pooled over a text: the detector's cheap semantic features.

Hashed n-grams learn the phrasing of the sources they were trained on; an attack source with other words for
the same move ("pay no attention to", "NEW IMPORTANT INSTRUCTIONS") shares few n-grams with them. Running the
MiniLM sentence encoder per check would carry that knowledge but costs 170–280 ms per 1,000 characters on one
thread here. Instead ``benchmarks/guard_token_vectors.py`` encodes every WordPiece token of MiniLM's vocabulary
once (model2vec-style distillation), reduces the outputs to 48 dimensions by PCA and ships them as float16
(``tokens.json`` + ``token_vectors.safetensors`` beside the weights, about 3 MB). A text's features are the mean
and the maximum of its tokens' vectors: a greedy longest-match WordPiece split (memoized per word) and a table
look-up, a few hundred microseconds per window, no torch, no tokenizers library.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from genforge.core.errors import CheckpointError

TOKENS_FILE = "tokens.json"
VECTORS_FILE = "token_vectors.safetensors"
DIMS = 48
POOLED = 2 * DIMS  # mean, then max
MAX_PIECE_WORD = 100  # BERT's max_input_chars_per_word: longer words are unknown
_PIECES = re.compile(r"[^\W_]+|[^\w\s]|_")
_WORD_IDS: dict[str, tuple[int, ...]] = {}
WORD_CACHE_SIZE = 2**16


def _assets() -> Path:
    return Path(str(resources.files("genforge").joinpath("assets/guard/jailbreak_model")))


@lru_cache(maxsize=1)
def table() -> tuple[dict[str, int], np.ndarray, str]:
    """Vocabulary → row, the ``(tokens, DIMS)`` float32 vectors, and the SHA-256 of the vector file."""
    directory = _assets()
    tokens_path, vectors_path = directory / TOKENS_FILE, directory / VECTORS_FILE
    for path in (tokens_path, vectors_path):
        if not path.is_file():
            raise CheckpointError(f"{path} is missing: rebuild it with benchmarks/guard_token_vectors.py")
    from safetensors.numpy import load

    blob = vectors_path.read_bytes()
    vectors = load(blob).get("vectors")
    tokens = json.loads(tokens_path.read_text(encoding="utf-8"))
    if vectors is None or vectors.shape != (len(tokens), DIMS):
        raise CheckpointError(f"{vectors_path} does not hold ({len(tokens)}, {DIMS}) token vectors")
    return {t: i for i, t in enumerate(tokens)}, vectors.astype(np.float32), hashlib.sha256(blob).hexdigest()


def _strip_accents(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", word) if unicodedata.category(c) != "Mn")


def word_ids(word: str, vocab: dict[str, int]) -> tuple[int, ...]:
    """Rows of the WordPiece tokens of one lower-cased piece (greedy longest match); () when unknown."""
    word = _strip_accents(word)
    if len(word) > MAX_PIECE_WORD:
        return ()
    ids, start = [], 0
    while start < len(word):
        end = len(word)
        while end > start:
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                ids.append(vocab[piece])
                break
            end -= 1
        if end == start:
            return ()
        start = end
    return tuple(ids)


def token_rows(text: str) -> np.ndarray:
    """Vocabulary rows of the tokens of lower-cased ``text``, memoized per word."""
    vocab = table()[0]
    rows: list[int] = []
    for piece in _PIECES.findall(text):
        ids = _WORD_IDS.get(piece)
        if ids is None:
            ids = word_ids(piece, vocab)
            if len(_WORD_IDS) >= WORD_CACHE_SIZE:
                _WORD_IDS.clear()
            _WORD_IDS[piece] = ids
        rows.extend(ids)
    return np.asarray(rows, dtype=np.int64)


def pooled(text: str) -> np.ndarray:
    """``(POOLED,)`` float64: mean then max of the token vectors of lower-cased ``text`` (zeros if none)."""
    rows = token_rows(text)
    if not len(rows):
        return np.zeros(POOLED)
    vectors = table()[1][rows]
    return np.concatenate([vectors.mean(axis=0), vectors.max(axis=0)]).astype(np.float64)
