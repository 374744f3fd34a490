"""Text generation metrics: BLEU and ROUGE through their maintained reference packages, plus diversity.

* BLEU: ``sacrebleu`` corpus BLEU (default 13a tokenisation, exponential smoothing off at corpus level);
  the sacrebleu signature is returned so the number can be reproduced.
* ROUGE-1/2/L: Google's ``rouge-score`` package with the Porter stemmer; F-measure, precision and recall
  averaged over sentences (with several references, the best-scoring one per sentence).
* distinct-n (Li et al. 2016): distinct n-grams / all n-grams over the whole set (whitespace tokens,
  lower-cased).
* self-BLEU (Zhu et al. 2018): the mean sentence BLEU of each generated sentence against all the others
  as references (sacrebleu ``sentence_bleu``, its default exponential smoothing); lower = more diverse.
  It costs O(S^2), so at most ``max_sentences`` sentences (a seeded subset) are used.
Both packages are the ``textmetrics`` extra and are imported only here.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping
from typing import Any, Self

import numpy as np
from pydantic import Field

from genforge.core.errors import ConfigError, DataError, require
from genforge.metrics.base import Metric, Options, State
from genforge.metrics.registry import register_metric


class TextOptions(Options):
    """Options of :func:`text_metrics`."""

    max_self_bleu: int = Field(500, ge=2, description="sentences used for self-BLEU (a seeded subset)")
    seed: int = Field(0, description="seed of the self-BLEU subset")


def _check_texts(texts: list[str], what: str) -> list[str]:
    if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
        raise DataError(f"{what} must be a list of strings")
    return list(texts)


def _reference_streams(references: list[list[str]] | list[str], n: int) -> list[list[str]]:
    """References as sacrebleu streams: a list of lists, each aligned with the hypotheses."""
    if references and all(isinstance(r, str) for r in references):
        references = [list(references)]  # one reference per hypothesis
    streams = [list(s) for s in references]
    if not streams:
        raise DataError("BLEU and ROUGE need at least one reference per hypothesis")
    for s in streams:
        if len(s) != n:
            raise DataError(f"a reference stream has {len(s)} lines but there are {n} hypotheses")
    return streams


def bleu(hypotheses: list[str], references: list[list[str]] | list[str]) -> dict[str, Any]:
    """Corpus BLEU (0-100) of ``hypotheses`` against one or more aligned reference streams."""
    hyps = _check_texts(hypotheses, "hypotheses")
    streams = _reference_streams(references, len(hyps))
    metrics = require("sacrebleu.metrics", "textmetrics")
    scorer = metrics.BLEU()
    result = scorer.corpus_score(hyps, streams)
    return {
        "bleu": float(result.score),
        "bleu_precisions": [float(p) for p in result.precisions],
        "brevity_penalty": float(result.bp),
        "hypothesis_length": int(result.sys_len),
        "reference_length": int(result.ref_len),
        "bleu_signature": str(scorer.get_signature()),
    }


def rouge(
    hypotheses: list[str],
    references: list[list[str]] | list[str],
    types: tuple[str, ...] = ("rouge1", "rouge2", "rougeL"),
) -> dict[str, Any]:
    """Mean ROUGE F-measure / precision / recall per type over sentence pairs."""
    hyps = _check_texts(hypotheses, "hypotheses")
    streams = _reference_streams(references, len(hyps))
    scorer_module = require("rouge_score.rouge_scorer", "textmetrics")
    scorer = scorer_module.RougeScorer(list(types), use_stemmer=True)
    sums = {t: np.zeros(3) for t in types}
    for i, hyp in enumerate(hyps):
        scores = scorer.score_multi([s[i] for s in streams], hyp)
        for t in types:
            sums[t] += (scores[t].fmeasure, scores[t].precision, scores[t].recall)
    out: dict[str, Any] = {}
    for t in types:
        f, p, r = sums[t] / max(len(hyps), 1)
        out.update({f"{t}_f": float(f), f"{t}_precision": float(p), f"{t}_recall": float(r)})
    out["rouge_stemmer"] = "porter"
    return out


def distinct_n(texts: list[str], n: int) -> float:
    """Distinct n-grams / total n-grams over all ``texts`` (0 when there are no n-grams)."""
    if n < 1:
        raise ConfigError(f"n must be at least 1, got {n}")
    grams: Counter[tuple[str, ...]] = Counter()
    for text in _check_texts(texts, "texts"):
        tokens = text.lower().split()
        grams.update(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    total = sum(grams.values())
    return len(grams) / total if total else 0.0


def self_bleu(texts: list[str], *, max_sentences: int = 500, seed: int = 0) -> dict[str, Any]:
    """Mean sentence BLEU of each sentence against the rest (0-100; lower means more diverse)."""
    sents = [t for t in _check_texts(texts, "texts") if t.strip()]
    if len(sents) < 2:
        raise DataError("self-BLEU needs at least 2 non-empty sentences")
    if len(sents) > max_sentences:
        sents = random.Random(seed).sample(sents, max_sentences)
    metrics = require("sacrebleu.metrics", "textmetrics")
    scorer = metrics.BLEU(effective_order=True)
    scores = [scorer.sentence_score(s, sents[:i] + sents[i + 1 :]).score for i, s in enumerate(sents)]
    return {"self_bleu": float(np.mean(scores)), "self_bleu_sentences": len(sents)}


def text_metrics(
    hypotheses: list[str], references: list[list[str]] | list[str] | None = None, **options: Any
) -> dict[str, Any]:
    """Diversity metrics always; BLEU and ROUGE too when references are given. ``options``:
    :class:`TextOptions` (``max_self_bleu=500, seed=0``)."""
    opts = TextOptions.parse(options, "text")
    hyps = _check_texts(hypotheses, "hypotheses")
    if not hyps:
        raise DataError("no generated sentences to score")
    out: dict[str, Any] = {}
    if references:
        out.update(bleu(hyps, references))
        out.update(rouge(hyps, references))
    out.update({"distinct_1": distinct_n(hyps, 1), "distinct_2": distinct_n(hyps, 2)})
    if len([h for h in hyps if h.strip()]) >= 2:
        out.update(self_bleu(hyps, max_sentences=opts.max_self_bleu, seed=opts.seed))
    out["num_hypotheses"] = len(hyps)
    return out


class Corpus:
    """Generated sentences and, when given, aligned reference streams: the state of :class:`TextMetrics`.
    Every batch has references or none does, with the same number of streams."""

    def __init__(self) -> None:
        self.hypotheses: list[str] = []
        self.references: list[list[str]] = []

    def add(self, hypotheses: list[str], references: list[str] | list[list[str]] | None) -> Self:
        hyps = _check_texts(hypotheses, "hypotheses")
        if references is None:
            if self.references:
                raise DataError("earlier batches had references; give references for every batch")
            self.hypotheses.extend(hyps)
            return self
        streams = _reference_streams(references, len(hyps))
        if self.hypotheses and not self.references:
            raise DataError("earlier batches had no references; give them for every batch or none")
        if self.references and len(streams) != len(self.references):
            raise DataError(
                f"this batch has {len(streams)} reference streams, earlier ones had {len(self.references)}"
            )
        if not self.references:
            self.references = [[] for _ in streams]
        for acc, stream in zip(self.references, streams, strict=True):
            acc.extend(stream)
        self.hypotheses.extend(hyps)
        return self

    def merge(self, other: Corpus) -> Self:
        if other.hypotheses:
            self.add(other.hypotheses, other.references or None)
        return self

    def to_arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        refs = np.array(self.references, dtype=str).reshape(len(self.references), len(self.hypotheses))
        return {f"{prefix}hypotheses": np.array(self.hypotheses, dtype=str), f"{prefix}references": refs}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], prefix: str = "") -> Corpus:
        corpus = cls()
        corpus.hypotheses = arrays[f"{prefix}hypotheses"].tolist()
        corpus.references = [list(r) for r in arrays[f"{prefix}references"].tolist()]
        return corpus


@register_metric(
    "text",
    kind="text",
    function=text_metrics,
    summary="BLEU, ROUGE, distinct-n and self-BLEU of generated text",
)
class TextMetrics(Metric):
    """Streaming wrapper: ``update(hypotheses, references=None)`` per batch; scores in ``compute()``."""

    name = "text"
    options_class = TextOptions
    states = {"corpus": State(Corpus, "merge")}

    def update(self, hypotheses: list[str], references: list[str] | list[list[str]] | None = None) -> None:
        self.corpus.add(hypotheses, references)

    def compute(self) -> dict[str, Any]:
        refs = self.corpus.references or None
        return text_metrics(self.corpus.hypotheses, refs, **self.options.model_dump())
