"""Ask a question: guard the input, retrieve, guard the chunks, generate with citations, guard the answer.

:class:`RagPipeline` is what :func:`genforge.rag.api.ask`, the CLI and the HTTP server call; it holds no
per-request state, so one pipeline can serve concurrent requests. :meth:`RagPipeline.ask` runs five
numbered stages, each a method. Citations are data: each ``[n]`` in the answer maps to a chunk id with its
source and character offsets, and each answer sentence carries its support score
(:mod:`genforge.text.support`) against the passages it cites; the answer is *grounded* when every sentence
reaches :data:`genforge.text.support.MIN_SUPPORT`, the threshold the guard's groundedness rail uses too.
When nothing relevant is retrieved, the answer says so instead of inventing one.

:meth:`RagPipeline.ask_stream` runs the same stages and yields the answer as it is released: the input
verdict first, then the answer one sentence at a time, then the whole :class:`Answer`. A sentence is
released once the output rails that judge a sentence on its own (:data:`SENTENCE_RAILS`, e.g. PII
redaction) have passed it; the rails that need the whole answer (groundedness, citation validity) run at
the end, and their verdict is in the final :class:`Answer` only.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from genforge.guard import Guard, RailContext
from genforge.rag.config import RetrievalConfig
from genforge.rag.generate import (
    LLM_NOT_FOUND,
    NOT_FOUND,
    ChatClient,
    Extract,
    build_messages,
    extractive_answer,
    renumber_citations,
)
from genforge.rag.records import SearchHit
from genforge.rag.scan import ContextGate
from genforge.rag.store import Store
from genforge.text.sentences import sentence_spans
from genforge.text.support import MIN_SUPPORT, citation_numbers, claim_spans, support_matrix

BLOCKED = "The request was blocked by the guardrails"
WITHHELD = "The answer was withheld by the guardrails"
# output rails whose verdict on a sentence does not depend on the rest of the answer: a streamed answer
# releases each sentence only after these have passed (and redacted) it
SENTENCE_RAILS = ("pii_leakage",)


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

    @property
    def status(self) -> str:
        """``grounded``, ``not found``, ``blocked`` or ``not fully grounded``."""
        if self.blocked:
            return "blocked"
        if not self.found:
            return "not found"
        return "grounded" if self.grounded else "not fully grounded"


@dataclass
class AnswerEvent:
    """One step of :meth:`RagPipeline.ask_stream`: ``guard`` (the input verdict, ``verdict``), ``text``
    (the next piece of the answer, ``text``; the pieces joined are the answer) or ``answer`` (the
    whole :class:`Answer`, last)."""

    kind: Literal["guard", "text", "answer"]
    text: str = ""
    verdict: dict[str, Any] | None = None
    answer: Answer | None = None


@dataclass
class _Request:
    """One question's state while it moves through the stages."""

    question: str
    query: str
    guard: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)


class RagPipeline:
    """Retrieval-augmented answering over a :class:`Store`, protected by a :class:`Guard`.

    Args:
        store: the store to retrieve from.
        guard: a guard policy; ``None`` loads the default policy; ``False`` disables guardrails.
        llm: an OpenAI-compatible :class:`ChatClient`; ``None`` uses the offline extractive answerer.
        retrieval: how chunks are retrieved (retriever, k, fusion, MMR …).
        max_sentences, min_score: extractive answerer settings (sentences quoted, score each must reach).
        min_relevance, confident_score: the extractive answerer says "not found" unless the best retrieved
            chunk's cosine similarity to the question reaches ``min_relevance`` or its best sentence scores
            at least ``confident_score`` (both chosen on dev questions; see docs/rag.md).
        min_support: support a sentence needs from its cited passages to count as grounded.
    """

    def __init__(self, store: Store, *, guard: Guard | None | bool = None, llm: ChatClient | None = None,
                 retrieval: RetrievalConfig | None = None, max_sentences: int = 3, min_score: float = 0.45,
                 min_relevance: float = 0.525, confident_score: float = 0.6,
                 min_support: float = MIN_SUPPORT) -> None:  # fmt: skip
        self.store = store
        self.guard = Guard.load() if guard is None or guard is True else (guard or None)
        self.context_gate = ContextGate(self.guard) if self.guard else None
        self.llm = llm
        self.retrieval = retrieval or RetrievalConfig()
        self.max_sentences = max_sentences
        self.min_score = min_score
        self.min_relevance = min_relevance
        self.confident_score = confident_score
        self.min_support = min_support

    def search(self, query: str, k: int | None = None, candidates: int | None = None) -> list[SearchHit]:
        """The store's hits for ``query`` with this pipeline's retrieval settings."""
        changes = {name: v for name, v in (("k", k), ("candidates", candidates)) if v is not None}
        return self.store.search(query, retrieval=self.retrieval, **changes)

    @property
    def generator(self) -> str:
        return f"llm:{self.llm.model}" if self.llm else "extractive"

    def ask(self, question: str) -> Answer:
        """Stages: 1 guard the input, 2 retrieve, 3 guard the chunks, 4 generate, 5 check and guard the answer."""
        request = _Request(question, question)
        if not self._1_guard_input(request):
            return self._answer(request, answer=f"{BLOCKED}: {request.guard['reasons']}.", blocked=True)
        hits = self._2_retrieve(request)
        kept, dropped = self._3_guard_context(request, hits)
        text, order = self._4_generate(request, kept)
        retrieved = _retrieved(hits, dropped)
        if not order:
            return self._answer(request, answer=text, retrieved=retrieved)
        return self._5_check_answer(request, text, kept, order, retrieved)

    def ask_stream(self, question: str) -> Iterator[AnswerEvent]:
        """:meth:`ask`, released as it goes: the input verdict, the answer sentence by sentence (each one
        passed by :data:`SENTENCE_RAILS`), then the whole :class:`Answer`, whose output verdict covers
        the whole answer. When that verdict blocks, the sentences already released were shown and the
        final answer is the withheld message; a consumer replaces the text with ``answer.answer``."""
        request = _Request(question, question)
        passed = self._1_guard_input(request)
        if "input" in request.guard:
            yield AnswerEvent("guard", verdict=request.guard["input"])
        if not passed:
            blocked = f"{BLOCKED}: {request.guard['reasons']}."
            yield AnswerEvent("answer", answer=self._answer(request, answer=blocked, blocked=True))
            return
        hits = self._2_retrieve(request)
        kept, dropped = self._3_guard_context(request, hits)
        text, order = self._4_generate(request, kept)
        released = ""
        if order:
            context = RailContext(passages=[kept[i].text for i in order], embedding=self.store.embedding)
            for piece in self._release(text, context):
                if not released:
                    request.timings["first_text"] = _ms(request.started)
                released += piece
                yield AnswerEvent("text", text=piece)
            answer = self._5_check_answer(request, text, kept, order, _retrieved(hits, dropped))
        else:
            answer = self._answer(request, answer=text, retrieved=_retrieved(hits, dropped))
        if not answer.blocked and answer.answer.startswith(released) and answer.answer != released:
            yield AnswerEvent("text", text=answer.answer[len(released) :])  # the rest (or all when not found)
        yield AnswerEvent("answer", answer=answer)

    def _release(self, text: str, context: RailContext) -> Iterator[str]:
        """The pieces of ``text``, one sentence each (with the space before it), each released once the
        sentence rails have passed the text up to its end; stops before a sentence they block, or one
        whose redaction would change what was already released."""
        gate = None
        rails = [r for r in self.guard.rails["output"] if r.name in SENTENCE_RAILS] if self.guard else []
        if rails:
            gate = copy.copy(self.guard)
            gate.rails = {**self.guard.rails, "output": rails}
        ends = [end for _, end in sentence_spans(text)]
        if ends and not text[ends[-1] :].strip():
            ends[-1] = len(text)
        else:
            ends.append(len(text))
        released = ""
        for end in ends:
            candidate = text[:end]
            if gate is not None:
                checked = gate.check(candidate, "output", context)
                if checked.blocked or not checked.redacted_text.startswith(released):
                    return
                candidate = checked.redacted_text
            if len(candidate) > len(released):
                yield candidate[len(released) :]
            released = candidate

    def _answer(self, request: _Request, **fields: Any) -> Answer:
        request.guard.pop("reasons", None)
        request.timings["total"] = _ms(request.started)
        defaults = {"found": False, "grounded": False, "blocked": False}
        return Answer(question=request.question, generator=self.generator, guard=request.guard,
                      timings_ms=request.timings, **{**defaults, **fields})  # fmt: skip

    def _1_guard_input(self, request: _Request) -> bool:
        """False when the input rails block the question; else the (possibly redacted) query is set."""
        t = time.perf_counter()
        if self.guard:
            checked = self.guard.check_input(request.question)
            request.guard["input"] = checked.to_dict()
            if checked.blocked:
                request.guard["reasons"] = "; ".join(v.message or v.rail for v in checked.fired)
                request.timings["guard"] = _ms(t)
                return False
            request.query = checked.redacted_text
        request.timings["guard_input"] = _ms(t)
        return True

    def _2_retrieve(self, request: _Request) -> list[SearchHit]:
        t = time.perf_counter()
        hits = self.search(request.query)
        request.timings["retrieve"] = _ms(t)
        return hits

    def _3_guard_context(self, request: _Request, hits: list[SearchHit]) -> tuple[list[SearchHit], set[str]]:
        """The hits the context rails let through, and the chunk ids they dropped (a verdict the injection
        rails stored at index time is used instead of checking the chunk again: genforge.rag.scan)."""
        t = time.perf_counter()
        kept, dropped = hits, []
        if self.context_gate and self.context_gate.active:
            kept = []
            for hit in hits:
                blocked, report = self.context_gate.check(hit.text, hit.index_scan)
                if blocked:
                    dropped.append({"chunk_id": hit.chunk_id, "source": hit.source, **report})
                else:
                    kept.append(hit)
        if dropped:
            request.guard["context"] = dropped
        request.timings["guard_context"] = _ms(t)
        return kept, {d["chunk_id"] for d in dropped}

    def _4_generate(self, request: _Request, hits: list[SearchHit]) -> tuple[str, list[int]]:
        """``(answer text with [n] markers, passage index of each citation number)``; no citations = not found."""
        t = time.perf_counter()
        text, order = (
            self._extractive(request.query, hits) if self.llm is None else self._llm(request.query, hits)
        )
        request.timings["generate"] = _ms(t)
        return text, order

    def extracts(self, question: str, hits: list[SearchHit], min_score: float | None = None) -> list[Extract]:
        """The sentences of ``hits`` the extractive answerer would quote (``Extract.passage`` indexes ``hits``),
        at this pipeline's ``min_score`` or the one given (``0.0``: the best ones, whatever their score)."""
        if not hits:
            return []
        threshold = self.min_score if min_score is None else min_score
        return extractive_answer(question, [_body(h) for h in hits], self.store.embedding,
                                 max_sentences=self.max_sentences, min_score=threshold)  # fmt: skip

    def relevance(self, question: str, hits: list[SearchHit]) -> float:
        """Cosine similarity of ``question`` to the closest of ``hits`` (to the closest chunk in the store
        when no hit carries a dense score, e.g. with the BM25 retriever); 0 without hits."""
        if not hits:
            return 0.0
        dense = [h.scores["dense"] for h in hits if "dense" in h.scores]
        if dense:
            return max(dense)
        _, scores = self.store.dense_search(self.store.query_vector(question), 1)
        return float(scores[0]) if len(scores) else 0.0

    def _extractive(self, question: str, hits: list[SearchHit]) -> tuple[str, list[int]]:
        extracts = self.extracts(question, hits)
        unsure = extracts and max(e.score for e in extracts) < self.confident_score
        if unsure and self.relevance(question, hits) < self.min_relevance:
            extracts = []
        if not extracts:
            return NOT_FOUND, []
        order: list[int] = []
        parts = []
        for e in extracts:
            if e.passage not in order:
                order.append(e.passage)
            parts.append(_cite(e.text, order.index(e.passage) + 1))
        return " ".join(parts), order

    def _llm(self, question: str, hits: list[SearchHit]) -> tuple[str, list[int]]:
        if not hits:
            return NOT_FOUND, []
        labels = [(h.source + (f" — {' > '.join(h.headings)}" if h.headings else ""), h.text) for h in hits]
        reply = self.llm.chat(build_messages(question, labels))
        if not reply or reply.strip().startswith(LLM_NOT_FOUND.rstrip(".")):
            return NOT_FOUND, []
        text, order = renumber_citations(reply, len(hits))
        if not order:  # an answer that cites no passage has nothing to ground it
            return NOT_FOUND, []
        return text, order

    def _5_check_answer(self, request: _Request, text: str, kept: list[SearchHit], order: list[int],
                        retrieved: list[dict[str, Any]]) -> Answer:  # fmt: skip
        """Support of each sentence against its cited passages, then the output rails."""
        t = time.perf_counter()
        passages = [kept[i].text for i in order] + [h.text for i, h in enumerate(kept) if i not in order]
        citations = [
            Citation(number=n, chunk_id=kept[i].chunk_id, source=kept[i].source, title=kept[i].title,
                     headings=kept[i].headings, start=kept[i].start, end=kept[i].end, text=kept[i].text)
            for n, i in enumerate(order, start=1)
        ]  # fmt: skip
        sentences = self._check_sentences(text, passages, len(order))
        found, blocked = True, False
        if self.guard:
            context = RailContext(passages=passages, citations={n: n - 1 for n in range(1, len(order) + 1)},
                                  embedding=self.store.embedding)  # fmt: skip
            checked = self.guard.check_output(text, context)
            request.guard["output"] = checked.to_dict()
            if checked.blocked:
                reasons = "; ".join(v.message or v.rail for v in checked.fired)
                text, found, blocked = f"{WITHHELD}: {reasons}.", False, True
            elif checked.action == "redact":
                text = checked.redacted_text
        request.timings["check_answer"] = _ms(t)
        grounded = found and bool(sentences) and all(s.supported for s in sentences)
        return self._answer(request, answer=text, found=found, grounded=grounded, blocked=blocked,
                            citations=citations, sentences=sentences, retrieved=retrieved)  # fmt: skip

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
            out.append(AnswerSentence(text=sentence, citations=citation_numbers(sentence), support=round(best, 4),
                                      supported=best >= self.min_support))  # fmt: skip
        return out


def _retrieved(hits: list[SearchHit], dropped: set[str]) -> list[dict[str, Any]]:
    return [
        {"rank": h.rank, "chunk_id": h.chunk_id, "source": h.source, "score": h.score, "score_kind": h.score_kind,
         "dropped_by_guard": h.chunk_id in dropped}
        for h in hits
    ]  # fmt: skip


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
