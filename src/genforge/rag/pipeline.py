"""Ask a question: guard the input, retrieve, guard the chunks, generate with citations, guard the answer.

:class:`RagPipeline` is the one object a CLI command or an HTTP handler calls; it holds no per-request
state, so one pipeline can serve concurrent requests. Citations are data: each ``[n]`` in the answer maps
to a chunk id with its source and character offsets, and each answer sentence carries its support score
against the passages it cites. When nothing relevant is retrieved, the answer says so instead of inventing
one.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from genforge.guard import Guard, RailContext
from genforge.rag.generate import (
    LLM_NOT_FOUND,
    NOT_FOUND,
    ChatClient,
    build_messages,
    extractive_answer,
    renumber_citations,
)
from genforge.rag.store import Fusion, SearchHit, SearchMode, Store
from genforge.text.support import citation_numbers, claim_spans, support_matrix

BLOCKED = "The request was blocked by the guardrails"
WITHHELD = "The answer was withheld by the guardrails"


@dataclass
class Citation:
    number: int
    chunk_id: str
    source: str
    title: str
    headings: list[str]
    start: int
    end: int
    text: str


@dataclass
class AnswerSentence:
    text: str
    citations: list[int]
    support: float
    supported: bool


@dataclass
class Answer:
    """The result of :meth:`RagPipeline.ask` (``to_dict`` is the ``rag ask --json`` schema)."""

    question: str
    answer: str
    found: bool
    grounded: bool
    blocked: bool
    generator: str
    citations: list[Citation] = field(default_factory=list)
    sentences: list[AnswerSentence] = field(default_factory=list)
    retrieved: list[dict[str, Any]] = field(default_factory=list)
    guard: dict[str, Any] = field(default_factory=dict)
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class RagPipeline:
    """Retrieval-augmented answering over a :class:`Store`, protected by a :class:`Guard`.

    Args:
        store: the store to retrieve from.
        guard: a guard policy; ``None`` loads the default policy; ``False`` disables guardrails.
        llm: an OpenAI-compatible :class:`ChatClient`; ``None`` uses the offline extractive answerer.
        k: chunks retrieved per question.
        mode, fusion, bm25_weight, use_mmr, mmr_lambda, candidates: retrieval settings (see
            :meth:`Store.search`).
        max_sentences, min_score: extractive answerer settings.
        min_support: support a sentence needs from its cited passages to count as grounded.
    """

    def __init__(
        self,
        store: Store,
        *,
        guard: Guard | None | bool = None,
        llm: ChatClient | None = None,
        k: int = 5,
        mode: SearchMode = "hybrid",
        fusion: Fusion = "document",
        bm25_weight: float = 0.5,
        use_mmr: bool = False,
        mmr_lambda: float = 0.7,
        candidates: int = 50,
        max_sentences: int = 3,
        min_score: float = 0.45,
        min_support: float = 0.6,
    ) -> None:
        self.store = store
        self.guard = Guard.load() if guard is None or guard is True else (guard or None)
        self.llm = llm
        self.k = k
        self.mode = mode
        self.fusion = fusion
        self.bm25_weight = bm25_weight
        self.use_mmr = use_mmr
        self.mmr_lambda = mmr_lambda
        self.candidates = candidates
        self.max_sentences = max_sentences
        self.min_score = min_score
        self.min_support = min_support

    def search(self, query: str, k: int | None = None, candidates: int | None = None) -> list[SearchHit]:
        """The store's hits for ``query`` with this pipeline's retrieval settings."""
        return self.store.search(
            query,
            self.k if k is None else k,
            mode=self.mode,
            candidates=self.candidates if candidates is None else candidates,
            fusion=self.fusion,
            bm25_weight=self.bm25_weight,
            use_mmr=self.use_mmr,
            mmr_lambda=self.mmr_lambda,
        )

    @property
    def generator(self) -> str:
        return f"llm:{self.llm.model}" if self.llm else "extractive"

    def ask(self, question: str) -> Answer:
        timings: dict[str, float] = {}
        guard_report: dict[str, Any] = {}
        started = time.perf_counter()
        query = question
        if self.guard:
            checked = self.guard.check_input(question)
            guard_report["input"] = checked.to_dict()
            if checked.blocked:
                reasons = "; ".join(v.message or v.rail for v in checked.fired)
                timings["guard"] = _ms(started)
                return Answer(
                    question,
                    f"{BLOCKED}: {reasons}.",
                    False,
                    False,
                    True,
                    self.generator,
                    guard=guard_report,
                    timings_ms=timings,
                )
            query = checked.redacted_text
        timings["guard_input"] = _ms(started)

        t = time.perf_counter()
        hits = self.search(query)
        timings["retrieve"] = _ms(t)
        t = time.perf_counter()
        kept, dropped = self._guard_context(hits)
        if dropped:
            guard_report["context"] = dropped
        timings["guard_context"] = _ms(t)

        t = time.perf_counter()
        text, order = self._generate(query, kept)
        timings["generate"] = _ms(t)
        found = bool(order)
        retrieved = [
            {"rank": h.rank, "chunk_id": h.chunk_id, "source": h.source, "score": h.score, "score_kind": h.score_kind,
             "dropped_by_guard": h.chunk_id in {d["chunk_id"] for d in dropped}}
            for h in hits
        ]  # fmt: skip
        if not found:
            timings["total"] = _ms(started)
            return Answer(
                question,
                text,
                False,
                False,
                False,
                self.generator,
                retrieved=retrieved,
                guard=guard_report,
                timings_ms=timings,
            )

        t = time.perf_counter()
        passages = [kept[i].text for i in order] + [h.text for i, h in enumerate(kept) if i not in order]
        citations = [
            Citation(n, kept[i].chunk_id, kept[i].source, kept[i].title, kept[i].headings, kept[i].start, kept[i].end, kept[i].text)
            for n, i in enumerate(order, start=1)
        ]  # fmt: skip
        sentences = self._check_sentences(text, passages, len(order))
        blocked = False
        if self.guard:
            context = RailContext(
                passages=passages,
                citations={n: n - 1 for n in range(1, len(order) + 1)},
                embedding=self.store.embedding,
            )
            checked = self.guard.check_output(text, context)
            guard_report["output"] = checked.to_dict()
            if checked.blocked:
                reasons = "; ".join(v.message or v.rail for v in checked.fired)
                text, found, blocked = f"{WITHHELD}: {reasons}.", False, True
            elif checked.action == "redact":
                text = checked.redacted_text
        timings["check_answer"] = _ms(t)
        grounded = found and bool(sentences) and all(s.supported for s in sentences)
        timings["total"] = _ms(started)
        return Answer(
            question,
            text,
            found,
            grounded,
            blocked,
            self.generator,
            citations,
            sentences,
            retrieved,
            guard_report,
            timings,
        )

    def _guard_context(self, hits: list[SearchHit]) -> tuple[list[SearchHit], list[dict[str, Any]]]:
        if not self.guard or not self.guard.rails["context"]:
            return hits, []
        kept, dropped = [], []
        for hit in hits:
            checked = self.guard.check(hit.text, "context")
            if checked.blocked:
                dropped.append({"chunk_id": hit.chunk_id, "source": hit.source, **checked.to_dict()})
            else:
                kept.append(hit)
        return kept, dropped

    def _generate(self, question: str, hits: list[SearchHit]) -> tuple[str, list[int]]:
        """``(answer text with [n] markers, passage index of each citation number)``; no citations = not found."""
        if not hits:
            return NOT_FOUND, []
        if self.llm is None:
            extracts = extractive_answer(
                question,
                [_body(h) for h in hits],
                self.store.embedding,
                max_sentences=self.max_sentences,
                min_score=self.min_score,
            )
            if not extracts:
                return NOT_FOUND, []
            order: list[int] = []
            parts = []
            for e in extracts:
                if e.passage not in order:
                    order.append(e.passage)
                parts.append(_cite(e.text, order.index(e.passage) + 1))
            return " ".join(parts), order
        labels = [
            (f"{h.source}" + (f" — {' > '.join(h.headings)}" if h.headings else ""), h.text) for h in hits
        ]
        reply = self.llm.chat(build_messages(question, labels))
        if not reply or reply.strip().startswith(LLM_NOT_FOUND.rstrip(".")):
            return NOT_FOUND, []
        text, order = renumber_citations(reply, len(hits))
        if not order:  # an answer that cites no passage has nothing to ground it
            return NOT_FOUND, []
        return text, order

    def _check_sentences(self, text: str, passages: list[str], num_cited: int) -> list[AnswerSentence]:
        spans = claim_spans(text)
        if not spans:
            return []
        sentences = [text[a:b] for a, b in spans]
        support = support_matrix(sentences, passages, self.store.embedding)
        out = []
        for row, sentence in enumerate(sentences):
            numbers = [n for n in citation_numbers(sentence) if 1 <= n <= num_cited]
            best = max((float(support[row, n - 1]) for n in numbers), default=0.0)
            out.append(
                AnswerSentence(sentence, citation_numbers(sentence), round(best, 4), best >= self.min_support)
            )
        return out


def _body(hit: SearchHit) -> str:
    """The chunk text without its leading section title (a title is not an answer sentence)."""
    if hit.headings and hit.text.startswith(hit.headings[-1]):
        return hit.text[len(hit.headings[-1]) :].lstrip()
    return hit.text


def _cite(sentence: str, number: int) -> str:
    """``"Text [n]."``: the marker goes before the sentence's final punctuation."""
    sentence = " ".join(sentence.split())
    body = sentence.rstrip(".!?:;")
    end = sentence[len(body) :] or "."
    return f"{body} [{number}]{end}"


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000.0, 2)
