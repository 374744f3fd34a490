"""2-D maps of chosen words: PCA or t-SNE (scikit-learn) of their vectors, drawn with matplotlib (Agg)."""

from __future__ import annotations

import io as _bytes_io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from genforge.core import io
from genforge.core.errors import ConfigError, DataError
from genforge.core.paths import check_output_file
from genforge.embed.base import Embedding

PROJECTIONS = ("pca", "tsne")


def read_word_list(path: str | os.PathLike) -> list[str]:
    """Words from a UTF-8 file (whitespace or one per line; ``#`` starts a comment), lowercased, unique."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"word list {path} does not exist") from None
    except UnicodeDecodeError:
        raise DataError(f"word list {path} is not UTF-8 text") from None
    words = [w.lower() for line in text.splitlines() for w in line.split("#")[0].split()]
    return list(dict.fromkeys(words))


def project_words(vectors: np.ndarray, projection: str = "pca", seed: int = 0) -> np.ndarray:
    """``(N, dim)`` vectors -> ``(N, 2)`` coordinates by PCA or t-SNE (perplexity ``min(30, N - 1)``)."""
    if projection not in PROJECTIONS:
        raise ConfigError(f"unknown projection '{projection}' (choose {' or '.join(PROJECTIONS)})")
    if projection == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=seed).fit_transform(vectors)
    from sklearn.manifold import TSNE

    perplexity = float(min(30, len(vectors) - 1))
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(vectors)


def plot_words(
    embedding: Embedding, words: Sequence[str], out: str | os.PathLike, projection: str = "pca", seed: int = 0
) -> dict[str, Any]:
    """Write a labelled 2-D scatter PNG of ``words`` to ``out``; unknown words are skipped and listed.

    Returns ``{"out", "projection", "words_plotted", "words_skipped"}``.
    """
    from matplotlib.figure import Figure  # renders with Agg; no pyplot global state

    check_output_file(out, suffixes=(".png",))
    known = [w for w in dict.fromkeys(words) if embedding.has_word(w)]
    skipped = [w for w in dict.fromkeys(words) if not embedding.has_word(w)]
    if len(known) < 3:
        raise DataError(f"need at least 3 words the {embedding.kind} model knows to plot, got {len(known)}")
    points = project_words(embedding.embed_words(known).astype(np.float64), projection, seed)
    fig = Figure(figsize=(8, 8), dpi=100)
    ax = fig.add_subplot()
    ax.scatter(points[:, 0], points[:, 1], s=12)
    for word, (x, y) in zip(known, points, strict=True):
        ax.annotate(word, (x, y), fontsize=9, xytext=(3, 3), textcoords="offset points")
    ax.set_title(f"{embedding.kind} word vectors ({projection.upper()}, {len(known)} words)")
    ax.set_xticks([])
    ax.set_yticks([])
    buffer = _bytes_io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    io.atomic_write_bytes(out, buffer.getvalue())
    return {"out": str(out), "projection": projection, "words_plotted": known, "words_skipped": skipped}
