"""RAG evaluation on a labelled question set: retrieval ranking metrics and answer quality without an LLM.

A QA file is JSON lines: ``{"question": "...", "sources": ["library/functools.html", ...], "answer": "..."}``
(``answer``, the reference, is optional; ``id`` too). Relevance is page-level: a retrieved chunk is relevant
when its source is one of the question's sources (``#fragments`` ignored; a suffix match tolerates a
different root). Retrieval is ranked at page level (chunks deduplicated by source, best first).

Metrics, each averaged over the questions where it is defined (the count is reported beside it, so nothing
is silently NaN):

* ``recall@k``: share of a question's sources among its top-k retrieved pages.
* ``mrr``: 1 / rank of the first relevant page (0 if none in the top ``depth``).
* ``ndcg@10``: binary-relevance nDCG of the top 10 pages (Järvelin & Kekäläinen, 2002).
* ``context_precision``: average precision of the ``k`` chunks given to the generator (rank-weighted share
  of relevant chunks, as in RAGAS, computed from the labels instead of an LLM).
* ``faithfulness``: share of answer sentences supported by the passages (lexical + embedding support).
* ``answer_similarity``: cosine similarity of answer and reference (when a reference is given).
* ``judge_*`` (with an LLM): the chat model's 1-5 ratings of faithfulness and correctness, scaled to [0, 1].
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from genforge.core import io
from genforge.core.errors import DataError
from genforge.rag.generate import ChatClient, LLMError
from genforge.rag.pipeline import RagPipeline
from genforge.text.support import claim_spans, strip_citations, support_matrix

K_VALUES = (1, 3, 5, 10)


def load_qa(path: str | os.PathLike, root: str | os.PathLike | None = None) -> list[dict[str, Any]]:
    """Read a QA JSONL file; every line needs ``question`` (non-empty text) and a non-empty ``sources`` list.

    Ids, where given, must be unique. With ``root`` (the indexed folder) every source (``#fragment``
    ignored) must be a file under it. Any problem is one :class:`DataError` naming the file and line.
    """
    items, seen = [], {}
    for number, item in io.read_jsonl_strict(path, what="QA file"):
        question, sources = item.get("question"), item.get("sources")
        if not isinstance(question, str) or not question.strip():
            raise DataError(f"{path}:{number} needs 'question' (text), got {question!r}")
        if not isinstance(sources, list) or not sources or not all(isinstance(s, str) and s for s in sources):
            raise DataError(
                f"{path}:{number} needs a non-empty 'sources' list of page paths, got {sources!r}"
            )
        qid = item.get("id")
        if qid is not None:
            if qid in seen:
                raise DataError(f"{path}:{number} repeats id {qid!r} (first on line {seen[qid]})")
            seen[qid] = number
        if root is not None:
            missing = [s for s in sources if not (Path(root) / _normalise(s)).is_file()]
            if missing:
                raise DataError(
                    f"{path}:{number} names unknown page(s) {', '.join(missing)} (not under {root})"
                )
        items.append(item)
    if not items:
        raise DataError(f"{path} has no questions")
    return items


def _normalise(source: str) -> str:
    return source.split("#", 1)[0].strip("/")


def is_relevant(source: str, relevant: Iterable[str]) -> bool:
    source = _normalise(source)
    return any(
        source == r or source.endswith("/" + r) or r.endswith("/" + source) for r in map(_normalise, relevant)
    )


def ranked_sources(sources: Sequence[str]) -> list[str]:
    """Chunk sources deduplicated in rank order."""
    return list(dict.fromkeys(sources))


def retrieval_metrics(
    pages: Sequence[str], relevant: Sequence[str], k_values: Sequence[int] = K_VALUES
) -> dict[str, float]:
    """recall@k, mrr and ndcg@10 of a page ranking against the relevant pages."""
    wanted = {_normalise(r) for r in relevant}
    hits = [is_relevant(p, wanted) for p in pages]
    out = {}
    for k in k_values:
        found = {_normalise(r) for r in wanted if any(is_relevant(p, [r]) for p in pages[:k])}
        out[f"recall@{k}"] = len(found) / len(wanted)
    first = next((i for i, h in enumerate(hits) if h), None)
    out["mrr"] = 0.0 if first is None else 1.0 / (first + 1)
    dcg = sum(1.0 / math.log2(i + 2) for i, h in enumerate(hits[:10]) if h)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(wanted), 10)))
    out["ndcg@10"] = dcg / ideal
    return out


def context_precision(chunk_relevance: Sequence[bool]) -> float | None:
    """Average precision over the relevant positions; None when no retrieved chunk is relevant."""
    precisions, hits = [], 0
    for i, relevant in enumerate(chunk_relevance, start=1):
        if relevant:
            hits += 1
            precisions.append(hits / i)
    return float(np.mean(precisions)) if precisions else 0.0 if chunk_relevance else None


def faithfulness(answer: str, passages: Sequence[str], embedding, min_support: float = 0.6) -> float | None:
    """Share of answer sentences (with >= 3 content words) supported by some passage; None if no sentence."""
    sentences = [answer[a:b] for a, b in claim_spans(answer)]
    if not sentences or not passages:
        return None
    support = support_matrix(sentences, passages, embedding).max(axis=1)
    return float(np.mean(support >= min_support))


_RATING = re.compile(r"\b([1-5])\b")


def judge(
    llm: ChatClient, question: str, answer: str, passages: Sequence[str], reference: str | None
) -> dict[str, float]:
    """Ask the chat model for 1-5 faithfulness (and correctness with a reference); scaled to [0, 1]."""
    context = "\n\n".join(f"[{i}] {p}" for i, p in enumerate(passages, start=1))
    prompts = {
        "judge_faithfulness": f"Passages:\n{context}\n\nAnswer:\n{answer}\n\nOn a scale of 1 to 5, how fully is every "
        "claim of the answer supported by the passages? Reply with the number only.",
    }
    if reference:
        prompts["judge_correctness"] = (
            f"Question: {question}\nReference answer: {reference}\nCandidate answer: {answer}\n\nOn a scale of 1 to 5, "
            "how correct and complete is the candidate compared with the reference? Reply with the number only."
        )
    out = {}
    for name, prompt in prompts.items():
        reply = llm.chat([{"role": "user", "content": prompt}])
        match = _RATING.search(reply)
        if match is None:
            raise LLMError(f"judge reply has no 1-5 rating: {reply[:80]!r}")
        out[name] = (int(match.group(1)) - 1) / 4
    return out


def evaluate(
    qa: str | os.PathLike | list[dict[str, Any]],
    pipeline: RagPipeline,
    *,
    depth: int = 30,
    answers: bool = True,
    judge_llm: ChatClient | None = None,
) -> dict[str, Any]:
    """Evaluate retrieval (and answers) of ``pipeline`` on a QA set; returns means, counts and per-question rows."""
    items = load_qa(qa) if not isinstance(qa, list) else qa
    store = pipeline.store
    rows = []
    started = time.perf_counter()
    for item in items:
        question, relevant = item["question"], item["sources"]
        hits = pipeline.search(
            question, max(depth, pipeline.retrieval.k), max(pipeline.retrieval.candidates, depth)
        )
        row: dict[str, Any] = {"id": item.get("id"), "question": question}
        if relevant:
            row.update(retrieval_metrics(ranked_sources([h.source for h in hits]), relevant))
            row["context_precision"] = context_precision(
                [is_relevant(h.source, relevant) for h in hits[: pipeline.retrieval.k]]
            )
        if answers:
            result = pipeline.ask(question)
            passages = [c.text for c in result.citations]
            row["answer"] = result.answer
            row["found"] = float(result.found)
            row["faithfulness"] = (
                faithfulness(strip_citations(result.answer), passages, store.embedding)
                if result.found
                else None
            )
            if item.get("answer") and result.found:
                vectors = store.embedding.embed_texts([strip_citations(result.answer), item["answer"]])
                vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
                row["answer_similarity"] = float(vectors[0] @ vectors[1])
            if judge_llm is not None and result.found:
                try:
                    row.update(
                        judge(
                            judge_llm, question, strip_citations(result.answer), passages, item.get("answer")
                        )
                    )
                except LLMError as exc:
                    row["judge_error"] = str(exc)
        rows.append(row)
    return {
        "questions": len(rows),
        "seconds": round(time.perf_counter() - started, 3),
        **summarise(rows),
        "per_question": rows,
    }


METRIC_GROUPS = {
    "retrieval": [f"recall@{k}" for k in K_VALUES] + ["mrr", "ndcg@10"],
    "answer": [
        "context_precision",
        "found",
        "faithfulness",
        "answer_similarity",
        "judge_faithfulness",
        "judge_correctness",
    ],
}


def summarise(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """``{"retrieval": {metric: {"mean", "n"}}, "answer": {...}}`` over the rows where a metric is defined."""
    out: dict[str, Any] = {}
    for group, names in METRIC_GROUPS.items():
        section = {}
        for name in names:
            values = [r[name] for r in rows if r.get(name) is not None]
            if values or group == "retrieval":
                section[name] = {"mean": float(np.mean(values)) if values else None, "n": len(values)}
        out[group] = section
    errors = [r["judge_error"] for r in rows if "judge_error" in r]
    if errors:
        out["judge_errors"] = len(errors)
    return out
