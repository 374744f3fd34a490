"""Intrinsic evaluation of word embeddings on the test sets gensim ships.

* WordSim353 (Finkelstein et al., 2002) and SimLex-999 (Hill et al., 2015): Spearman rank correlation
  between human similarity scores and the cosine similarity of the two words' vectors, over the pairs
  whose words the model can embed (``pairs_used`` of ``pairs_total`` says how many).
* Google analogies (Mikolov et al., 2013, ``questions-words.txt``): for ``a : b :: c : d`` the answer is
  the candidate word (not ``a``, ``b`` or ``c``) that maximises 3CosAdd ``cos(x, b) - cos(x, a) +
  cos(x, c)`` or 3CosMul ``cos'(x, b) cos'(x, c) / (cos'(x, a) + 0.001)`` with ``cos' = (cos + 1) / 2``
  (Levy & Goldberg, 2014). Candidates are the model's vocabulary (or, for an open-vocabulary model, every
  word of the test file); questions with a word outside the candidates are skipped and counted.
* OOV rate: the share of distinct test words the model cannot embed at all.

All words are lowercased (the models are trained on lowercase tokens). ``restrict_to`` limits every test
to words in a given set, so several models can be compared on exactly the same pairs and questions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from genforge.core.errors import DataError
from genforge.data.text import gensim_data_path
from genforge.embed.base import Embedding

SIMILARITY_FILES = {"wordsim353": "wordsim353.tsv", "simlex999": "simlex999.txt"}
ANALOGY_FILE = "questions-words.txt"
COSMUL_EPSILON = 1e-3


@dataclass(frozen=True)
class Analogy:
    """``a : b :: c : d`` from section ``section`` (``gram*`` sections are syntactic, others semantic)."""

    section: str
    a: str
    b: str
    c: str
    d: str

    @property
    def words(self) -> tuple[str, str, str, str]:
        return (self.a, self.b, self.c, self.d)

    @property
    def syntactic(self) -> bool:
        return self.section.startswith("gram")


def load_word_pairs(name: str) -> list[tuple[str, str, float]]:
    """``(word1, word2, human score)`` of ``wordsim353`` or ``simlex999``, lowercased."""
    if name not in SIMILARITY_FILES:
        raise DataError(f"unknown word-similarity set '{name}' (known: {', '.join(SIMILARITY_FILES)})")
    pairs = []
    for line in gensim_data_path(SIMILARITY_FILES[name]).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        first, second, score = line.split("\t")[:3]
        pairs.append((first.lower(), second.lower(), float(score)))
    return pairs


def load_analogies() -> list[Analogy]:
    """The 19,544 questions of ``questions-words.txt`` (14 sections), lowercased."""
    questions, section = [], ""
    for line in gensim_data_path(ANALOGY_FILE).read_text(encoding="utf-8").splitlines():
        if line.startswith(":"):
            section = line[1:].strip()
        elif line.strip():
            a, b, c, d = line.lower().split()
            questions.append(Analogy(section, a, b, c, d))
    return questions


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)


def _allowed(embedding: Embedding, words: Iterable[str], restrict_to: set[str] | None) -> dict[str, bool]:
    return {w: (restrict_to is None or w in restrict_to) and embedding.has_word(w) for w in set(words)}


def word_similarity(
    embedding: Embedding, pairs: Sequence[tuple[str, str, float]], restrict_to: set[str] | None = None
) -> dict[str, Any]:
    """Spearman correlation of cosine similarity with human scores over the pairs the model covers.

    Returns ``spearman`` (None with fewer than 3 usable pairs), ``pairs_used``, ``pairs_total``, ``coverage``.
    """
    from scipy.stats import spearmanr

    ok = _allowed(embedding, (w for p in pairs for w in p[:2]), restrict_to)
    usable = [p for p in pairs if ok[p[0]] and ok[p[1]]]
    result: dict[str, Any] = {"spearman": None, "pairs_used": len(usable), "pairs_total": len(pairs)}
    result["coverage"] = len(usable) / len(pairs) if pairs else 0.0
    if len(usable) < 3:
        return result
    words = sorted({w for p in usable for w in p[:2]})
    index = {w: i for i, w in enumerate(words)}
    unit = _unit_rows(embedding.embed_words(words))
    cosines = [float(unit[index[a]] @ unit[index[b]]) for a, b, _ in usable]
    rho = spearmanr(cosines, [s for _, _, s in usable]).statistic
    result["spearman"] = None if np.isnan(rho) else float(rho)
    return result


def analogy_accuracy(
    embedding: Embedding,
    questions: Sequence[Analogy],
    candidates: Sequence[str] | None = None,
    restrict_to: set[str] | None = None,
    chunk_size: int = 512,
) -> dict[str, Any]:
    """3CosAdd and 3CosMul accuracy over the questions whose four words are all candidates.

    ``candidates`` defaults to the model's vocabulary, or for an open-vocabulary model to the words of
    ``questions``. Returns accuracies (None when no question is usable), question counts and coverage.
    """
    if candidates is None:
        candidates = embedding.vocabulary() or sorted({w for q in questions for w in q.words})
    ok = _allowed(embedding, candidates, restrict_to)
    pool = [w for w in dict.fromkeys(candidates) if ok[w]]
    index = {w: i for i, w in enumerate(pool)}
    usable = [q for q in questions if all(w in index for w in q.words)]
    result: dict[str, Any] = {
        "accuracy_3cosadd": None,
        "accuracy_3cosmul": None,
        "semantic_accuracy_3cosadd": None,
        "syntactic_accuracy_3cosadd": None,
        "questions_used": len(usable),
        "questions_total": len(questions),
        "coverage": len(usable) / len(questions) if questions else 0.0,
        "candidate_words": len(pool),
    }
    if not usable:
        return result
    unit = _unit_rows(embedding.embed_words(pool))
    ids = np.array([[index[w] for w in q.words] for q in usable])
    add_hits, mul_hits = np.zeros(len(usable), bool), np.zeros(len(usable), bool)
    for start in range(0, len(usable), chunk_size):
        chunk = ids[start : start + chunk_size]
        sim_a, sim_b, sim_c = (unit[chunk[:, k]] @ unit.T for k in range(3))
        rows = np.arange(len(chunk))[:, None]
        add = sim_b - sim_a + sim_c
        mul = ((sim_b + 1) / 2) * ((sim_c + 1) / 2) / ((sim_a + 1) / 2 + COSMUL_EPSILON)
        for scores, hits in ((add, add_hits), (mul, mul_hits)):
            scores[rows, chunk[:, :3]] = -np.inf
            hits[start : start + len(chunk)] = scores.argmax(axis=1) == chunk[:, 3]
    syntactic = np.array([q.syntactic for q in usable])
    result["accuracy_3cosadd"] = float(add_hits.mean())
    result["accuracy_3cosmul"] = float(mul_hits.mean())
    if (~syntactic).any():
        result["semantic_accuracy_3cosadd"] = float(add_hits[~syntactic].mean())
    if syntactic.any():
        result["syntactic_accuracy_3cosadd"] = float(add_hits[syntactic].mean())
    return result


def oov_rate(embedding: Embedding, words: Iterable[str]) -> float:
    """Share of the distinct ``words`` that ``embedding`` cannot embed."""
    unique = set(words)
    return sum(not embedding.has_word(w) for w in unique) / len(unique) if unique else 0.0


def test_words() -> set[str]:
    """Every distinct word of WordSim353, SimLex-999 and the Google analogies (lowercased)."""
    words = {w for name in SIMILARITY_FILES for p in load_word_pairs(name) for w in p[:2]}
    return words | {w for q in load_analogies() for w in q.words}


def evaluate_embedding(
    embedding: Embedding, restrict_to: set[str] | None = None, analogy_candidates: Sequence[str] | None = None
) -> dict[str, Any]:
    """All tests at once: ``wordsim353``, ``simlex999``, ``analogies`` (dicts) and ``oov_rate``."""
    return {
        "wordsim353": word_similarity(embedding, load_word_pairs("wordsim353"), restrict_to),
        "simlex999": word_similarity(embedding, load_word_pairs("simlex999"), restrict_to),
        "analogies": analogy_accuracy(embedding, load_analogies(), analogy_candidates, restrict_to),
        "oov_rate": oov_rate(embedding, test_words()),
    }
