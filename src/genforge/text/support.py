"""Is a sentence supported by a passage? Lexical overlap and, when an embedding is given, meaning.

``support(sentence, passage) = max(lexical, semantic)`` where *lexical* is the fraction of the sentence's
content words (stop words removed, crude suffix stemming) that occur in the passage, and *semantic* is the
highest cosine similarity between the sentence and any sentence of the passage (all-MiniLM-L6-v2 by
default). Used by the groundedness and citation rails (guard/), by answer checking and RAG evaluation (rag/,
faithfulness); no LLM needed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from genforge.text.sentences import sentence_spans, split_sentences

# support a sentence needs from the passages it cites to count as grounded: the RAG answer's status and
# the guard's groundedness rail both use it, so they cannot disagree
MIN_SUPPORT = 0.6
_WORD = re.compile(r"[A-Za-z0-9_]+(?:['.][A-Za-z0-9_]+)*")
_CITATION = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "then",
        "else",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "there",
        "here",
        "i",
        "you",
        "he",
        "she",
        "we",
        "they",
        "them",
        "his",
        "her",
        "our",
        "your",
        "their",
        "my",
        "me",
        "us",
        "do",
        "does",
        "did",
        "done",
        "can",
        "could",
        "would",
        "should",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "not",
        "no",
        "yes",
        "so",
        "than",
        "too",
        "very",
        "just",
        "also",
        "only",
        "into",
        "about",
        "over",
        "under",
        "up",
        "down",
        "out",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "all",
        "any",
        "each",
        "few",
        "more",
        "most",
        "other",
        "some",
        "such",
        "own",
        "same",
        "both",
    ]
)


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def content_words(text: str) -> set[str]:
    """Lower-cased, stemmed words of ``text`` without stop words and citation markers."""
    text = _CITATION.sub(" ", text)
    return {_stem(w) for w in (m.group().lower() for m in _WORD.finditer(text)) if w not in STOPWORDS}


def lexical_support(sentence: str, passage: str) -> float:
    words = content_words(sentence)
    if not words:
        return 1.0
    return len(words & content_words(passage)) / len(words)


def claim_spans(text: str, min_words: int = 3) -> list[tuple[int, int]]:
    """``(start, end)`` spans of the sentences of ``text`` with at least ``min_words`` content words: the
    sentences of an answer that make a claim worth checking against its passages."""
    return [(a, b) for a, b in sentence_spans(text) if len(content_words(text[a:b])) >= min_words]


def citation_numbers(sentence: str) -> list[int]:
    """Citation markers like ``[2]`` or ``[1, 3]`` in order of appearance."""
    return [int(n) for m in _CITATION.finditer(sentence) for n in m.group(1).split(",")]


def strip_citations(text: str) -> str:
    return re.sub(r"\s+([.!?,;:])", r"\1", _CITATION.sub("", text)).strip()


def support_matrix(sentences: Sequence[str], passages: Sequence[str], embedding=None) -> np.ndarray:
    """``(len(sentences), len(passages))`` support scores in ``[0, 1]`` (see the module docstring)."""
    scores = np.array([[lexical_support(s, p) for p in passages] for s in sentences], dtype=np.float32)
    if embedding is None or not len(sentences) or not len(passages):
        return scores.reshape(len(sentences), len(passages))
    pieces, owner = [], []
    for j, passage in enumerate(passages):
        for piece in split_sentences(passage) or [passage]:
            pieces.append(piece)
            owner.append(j)
    vectors = embedding.embed_texts([strip_citations(s) for s in sentences] + pieces)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    sims = vectors[: len(sentences)] @ vectors[len(sentences) :].T
    owner_arr = np.asarray(owner)
    semantic = np.stack([sims[:, owner_arr == j].max(axis=1) for j in range(len(passages))], axis=1)
    return np.maximum(scores, np.clip(semantic, 0.0, 1.0))
