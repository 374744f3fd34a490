"""Similarity edges between indexed papers: each paper's K most similar others by TF-IDF cosine over
their text (``papers graph --similar K``).

The text is the section-aware Markdown the papers index keeps in ``STORE/text/`` (the same text the RAG
store chunks), without its References section, so two papers are similar for what they say, not for
whom they cite (``--shared`` covers that). Words are lower-cased runs of letters and digits (two
characters or more); the weights are sublinear term frequency ``1 + log tf`` times the smoothed inverse
document frequency ``log((1 + n) / (1 + df)) + 1``, each paper's vector scaled to unit length, and the
similarity of two papers the dot product of their vectors (cosine, 0 to 1). Written here in a few lines
of numpy (no scikit-learn dependency); deterministic for the same index.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from genforge.core.errors import ConfigError

WORD_RE = re.compile(r"[a-z0-9][a-z0-9\-]*[a-z0-9]|[a-z]{2}")
REFERENCE_HEADINGS = ("references", "bibliography")


def body_text(markdown: str) -> str:
    """A paper's Markdown without its reference sections and without the heading lines themselves."""
    keep, skipping = [], False
    for line in markdown.splitlines():
        if line.startswith("### "):
            skipping = line[4:].strip().lower() in REFERENCE_HEADINGS
            continue
        if line.startswith(("# ", "## ")):
            continue
        if not skipping:
            keep.append(line)
    return "\n".join(keep)


def paper_texts(store: str | Path, files: list[str]) -> list[str]:
    """The body text of each of ``files`` from the index's ``text/`` folder."""
    from genforge.research.papers import TEXT_DIR

    folder = Path(store) / TEXT_DIR
    texts = []
    for file in files:
        path = folder / f"{file}.md"
        if not path.is_file():
            raise ConfigError(
                f"the papers index in {store} has no text of {file}: index the folder again with "
                f"genforge papers index DIR --store {store}"
            )
        texts.append(body_text(path.read_text(encoding="utf-8")))
    return texts


def tfidf_similarity(texts: list[str]) -> np.ndarray:
    """The ``(n, n)`` cosine similarity matrix of the texts' TF-IDF vectors (see the module docstring)."""
    counts = [Counter(WORD_RE.findall(text.lower())) for text in texts]
    vocabulary = sorted(set().union(*counts))
    column = {word: i for i, word in enumerate(vocabulary)}
    n = len(texts)
    document_frequency = Counter(word for c in counts for word in c)
    idf = np.array([math.log((1 + n) / (1 + document_frequency[w])) + 1 for w in vocabulary])
    vectors = np.zeros((n, len(vocabulary)))
    for row, c in enumerate(counts):
        for word, tf in c.items():
            vectors[row, column[word]] = (1 + math.log(tf)) * idf[column[word]]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
    return vectors @ vectors.T


def similar_edges(store: str | Path, files: list[str], k: int) -> list[dict[str, Any]]:
    """Undirected ``similar`` edges joining each paper (1-based position in ``files``) to its ``k`` most
    similar others (ties: the earlier paper), with their cosine ``score``; a pair is listed once."""
    if k < 1:
        raise ConfigError(f"--similar must be at least 1 paper, got {k}")
    similarity = tfidf_similarity(paper_texts(store, files))
    pairs: dict[tuple[int, int], float] = {}
    for i in range(len(files)):
        others = sorted((j for j in range(len(files)) if j != i), key=lambda j: (-similarity[i, j], j))
        for j in others[:k]:
            pairs[(min(i, j), max(i, j))] = float(similarity[i, j])
    return [
        {"kind": "similar", "source": i + 1, "target": j + 1, "score": round(score, 6)}
        for (i, j), score in sorted(pairs.items())
    ]
