"""Output rails: PII leakage, groundedness of the answer in the retrieved passages, citation validity.

They check what a RAG pipeline is about to return. Groundedness and citation validity need the passages the
answer was built from (``RailContext.passages``, numbered like the citations); support between a sentence
and a passage is computed by :mod:`genforge.text.support` (lexical overlap, plus embedding similarity when
``RailContext.embedding`` is set).

Both rails fire on the first unsupported sentence by default (threshold ``ANY_SENTENCE``), which is the rule a
RAG answer's grounding status follows (grounded only when every sentence reaches ``min_support`` from the
passages it cites), so "not fully grounded" and "guard output: allow" cannot appear together. The choice of
``min_support`` = 0.6 is measured in docs/guardrails.md.
"""

from __future__ import annotations

from pydantic import Field

from genforge.guard.base import Action, Finding, Rail, RailConfig, RailContext, register_rail
from genforge.guard.pii import PII_TYPES, SECRET_TYPES, find_pii, find_secrets
from genforge.text.support import MIN_SUPPORT, citation_numbers, claim_spans, support_matrix

ANY_SENTENCE = 1e-6  # a fraction-of-sentences threshold that any one unsupported sentence reaches


class LeakageConfig(RailConfig):
    rail: str = Field("pii_leakage", description="registered rail name")
    action: Action = Field("redact", description="what a firing rail does: block, redact or flag")
    types: list[str] = Field(
        default_factory=lambda: list(PII_TYPES) + list(SECRET_TYPES), description="PII and secret types"
    )


@register_rail("pii_leakage")
class PiiLeakageRail(Rail):
    """PII or secrets in generated text (whether invented or copied from the documents)."""

    config_class = LeakageConfig
    stages = ("output",)

    def score(self, text: str, context: RailContext) -> tuple[float, list[Finding], str]:
        types = set(self.config.types)
        found = [
            f for f in find_pii(text, types) + find_secrets(text, types) if f.score >= self.config.threshold
        ]
        if not found:
            return 0.0, [], ""
        kinds = ", ".join(sorted({f.type for f in found}))
        return max(f.score for f in found), sorted(found, key=lambda f: f.start), f"answer contains {kinds}"


class GroundednessConfig(RailConfig):
    rail: str = Field("groundedness", description="registered rail name")
    action: Action = Field("flag", description="what a firing rail does: block, redact or flag")
    threshold: float = Field(
        ANY_SENTENCE,
        ge=0.0,
        le=1.0,
        description="fires when this fraction of sentences is unsupported (default: any one sentence)",
    )
    min_support: float = Field(
        MIN_SUPPORT, ge=0.0, le=1.0, description="support a sentence needs from some passage"
    )


@register_rail("groundedness")
class GroundednessRail(Rail):
    """Score = fraction of answer sentences that no retrieved passage supports."""

    config_class = GroundednessConfig
    stages = ("output",)

    def score(self, text: str, context: RailContext) -> tuple[float, list[Finding], str]:
        spans = claim_spans(text)
        if not spans:
            return 0.0, [], ""
        if not context.passages:
            findings = [Finding("unsupported_sentence", a, b, 1.0) for a, b in spans]
            return 1.0, findings, "no passages to ground the answer in"
        support = support_matrix([text[a:b] for a, b in spans], context.passages, context.embedding).max(
            axis=1
        )
        findings = [
            Finding("unsupported_sentence", a, b, float(1 - s), f"best support {s:.2f}")
            for (a, b), s in zip(spans, support, strict=True)
            if s < self.config.min_support
        ]
        score = len(findings) / len(spans)
        message = f"{len(findings)} of {len(spans)} sentences unsupported by the passages" if findings else ""
        return score, findings, message


class CitationConfig(RailConfig):
    rail: str = Field("citation_validity", description="registered rail name")
    action: Action = Field("flag", description="what a firing rail does: block, redact or flag")
    threshold: float = Field(
        ANY_SENTENCE,
        ge=0.0,
        le=1.0,
        description="fires when this fraction of sentences is bad (default: any)",
    )
    min_support: float = Field(
        MIN_SUPPORT, ge=0.0, le=1.0, description="support a cited passage must give its sentence"
    )
    require_citations: bool = Field(True, description="a sentence without any [n] marker counts as bad")


@register_rail("citation_validity")
class CitationValidityRail(Rail):
    """Every [n] must name a passage that exists and supports its sentence; uncited sentences count as bad."""

    config_class = CitationConfig
    stages = ("output",)

    def score(self, text: str, context: RailContext) -> tuple[float, list[Finding], str]:
        spans = claim_spans(text)
        if not spans:
            return 0.0, [], ""
        numbering = context.citations or {i + 1: i for i in range(len(context.passages))}
        sentences = [text[a:b] for a, b in spans]
        support = support_matrix(sentences, context.passages, context.embedding) if context.passages else None
        findings: list[Finding] = []
        for row, ((a, b), sentence) in enumerate(zip(spans, sentences, strict=True)):
            numbers = citation_numbers(sentence)
            if not numbers:
                if self.config.require_citations:
                    findings.append(Finding("uncited_sentence", a, b, 1.0))
                continue
            unknown = [n for n in numbers if n not in numbering]
            if unknown:
                findings.append(Finding("unknown_citation", a, b, 1.0, f"no passage {unknown}"))
                continue
            best = max(float(support[row, numbering[n]]) for n in numbers)
            if best < self.config.min_support:
                findings.append(
                    Finding("unsupported_citation", a, b, 1 - best, f"best cited support {best:.2f}")
                )
        score = len(findings) / len(spans)
        kinds = ", ".join(sorted({f.type for f in findings}))
        return score, findings, (f"{len(findings)} of {len(spans)} sentences: {kinds}" if findings else "")
