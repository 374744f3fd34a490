"""``embed bench``: every embedding method through the same tests on the same corpus, ranked.

Each trainable method (Word2Vec skip-gram and CBOW, fastText, GloVe, ELMo-style) is trained on one
corpus with one dimension and seed, and the shipped all-MiniLM-L6-v2 sentence model is loaded; then all
are evaluated twice:

* ``common`` — on exactly the same items: similarity pairs and analogy questions whose words are in every
  model's vocabulary, with the analogy answer searched among those shared words. This is what ranks.
* ``own`` — each model on everything it can embed (fastText and MiniLM cover words the others cannot).

The rank score is the mean of WordSim353 Spearman, SimLex-999 Spearman and 3CosAdd analogy accuracy on
the common items (a test with too few items counts as 0). The result is one JSON-able dict.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from genforge.core.errors import ModelNotFound
from genforge.embed.base import Embedding
from genforge.embed.evaluate import (
    analogy_accuracy,
    evaluate_embedding,
    load_analogies,
    load_word_pairs,
    word_similarity,
)

# bench entry -> (training method, options)
TRAINED = {
    "word2vec-skipgram": ("word2vec", {"architecture": "skipgram"}),
    "word2vec-cbow": ("word2vec", {"architecture": "cbow"}),
    "fasttext": ("fasttext", {}),
    "glove": ("glove", {}),
    "elmo": ("elmo", {}),
}
SENTENCE_ENTRY = "minilm"
ALL_ENTRIES = (*TRAINED, SENTENCE_ENTRY)


def _score(result: dict[str, Any]) -> float:
    parts = (
        result["wordsim353"]["spearman"],
        result["simlex999"]["spearman"],
        result["analogies"]["accuracy_3cosadd"],
    )
    return sum(p or 0.0 for p in parts) / len(parts)


def common_vocabulary(models: dict[str, Embedding]) -> list[str]:
    """Words in every model's vocabulary (first model's frequency order) that every model can embed."""
    vocabs = [m.vocabulary() for m in models.values() if m.vocabulary() is not None]
    if not vocabs:
        return []
    shared = set(vocabs[0]).intersection(*vocabs[1:])
    return [w for w in vocabs[0] if w in shared and all(m.has_word(w) for m in models.values())]


def evaluate_common(embedding: Embedding, vocabulary: Sequence[str]) -> dict[str, Any]:
    """The three tests restricted to ``vocabulary`` (analogy answers searched among it)."""
    allowed = set(vocabulary)
    return {
        "wordsim353": word_similarity(embedding, load_word_pairs("wordsim353"), allowed),
        "simlex999": word_similarity(embedding, load_word_pairs("simlex999"), allowed),
        "analogies": analogy_accuracy(embedding, load_analogies(), list(vocabulary), allowed),
    }


def run_bench(
    corpus_spec: str = "text:lee",
    dim: int = 100,
    seed: int = 0,
    entries: Sequence[str] | None = None,
    options: dict[str, dict[str, Any]] | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> dict[str, Any]:
    """Train/load each entry of ``entries`` (default all of :data:`ALL_ENTRIES`), evaluate, rank.

    ``options`` maps an entry to extra training options. Returns ``{"corpus", "dim", "seed",
    "corpus_tokens", "common_vocabulary_size", "ranking": [...]}``; ranking rows are best first and hold
    ``rank``, ``method``, ``score``, ``train_seconds`` (training alone; for MiniLM, loading), ``vocabulary_size``,
    the ``common`` results and the ``own``
    results (each with wordsim353 / simlex999 / analogies dicts). ``progress(done, total, entry)`` is called
    before each entry is trained or loaded and once at the end.
    """
    from genforge.embed.training import open_embedding, train_embedding

    chosen = list(entries or ALL_ENTRIES)
    unknown = [e for e in chosen if e not in ALL_ENTRIES]
    if unknown:
        raise ModelNotFound(f"unknown bench entry '{unknown[0]}' (available: {', '.join(ALL_ENTRIES)})")
    models: dict[str, Embedding] = {}
    seconds: dict[str, float] = {}
    corpus_tokens = None
    for done, entry in enumerate(chosen):
        if progress:
            progress(done, len(chosen), entry)
        if entry == SENTENCE_ENTRY:
            start = time.perf_counter()
            models[entry] = open_embedding("minilm")
            seconds[entry] = time.perf_counter() - start  # loading: nothing is trained
            continue
        method, base = TRAINED[entry]
        models[entry], summary = train_embedding(
            method, corpus_spec, dim, seed, **{**base, **(options or {}).get(entry, {})}
        )
        seconds[entry] = summary["train_seconds"]  # training only, not reading the corpus
        corpus_tokens = summary["corpus_tokens"]
    if progress:
        progress(len(chosen), len(chosen), "evaluating")
    vocabulary = common_vocabulary(models)
    rows = []
    for entry, model in models.items():
        common = evaluate_common(model, vocabulary)
        rows.append(
            {
                "method": entry,
                "score": _score(common),
                "train_seconds": seconds[entry],
                "dim": model.dim,
                "vocabulary_size": len(model.vocabulary() or []) or None,
                "common": common,
                "own": evaluate_embedding(model),
            }
        )
    rows.sort(key=lambda r: -r["score"])
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return {
        "corpus": corpus_spec,
        "dim": dim,
        "seed": seed,
        "score_definition": "mean of WordSim353 Spearman, SimLex-999 Spearman, 3CosAdd analogy accuracy on common items",
        "corpus_tokens": corpus_tokens,
        "common_vocabulary_size": len(vocabulary),
        "ranking": rows,
    }
