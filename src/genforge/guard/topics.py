"""Banned topics: a request is on a topic when an *intent* pattern and a *subject* pattern meet in one sentence.

Requiring both keeps ordinary uses of the same words apart from requests for the topic itself ("kill the
process" or "a bath bomb recipe" are not violence). Topics come from the policy, so a deployment can add its
own; the shipped default policy lists a few that no assistant should help with.
"""

from __future__ import annotations

import re

from pydantic import Field

from genforge.core.config import Config
from genforge.core.errors import ConfigError
from genforge.guard.base import Finding, Rail, RailConfig, RailContext, register_rail


class Topic(Config):
    """One banned topic."""

    name: str = Field(..., description="label reported when the topic is detected")
    subjects: list[str] = Field(..., description="regexes for what the topic is about (any may match)")
    intents: list[str] = Field(
        default_factory=list, description="regexes for asking for it; empty: a subject alone is enough"
    )
    exclude: list[str] = Field(default_factory=list, description="regexes that make a sentence benign")
    weight: float = Field(0.9, ge=0.0, le=1.0, description="score when intent and subject co-occur")


class TopicsConfig(RailConfig):
    rail: str = Field("banned_topics", description="registered rail name")
    topics: list[Topic] = Field(default_factory=list, description="the banned topics")


_SENTENCES = re.compile(r"[^.!?\n]+[.!?]?")


def _compile(patterns: list[str], where: str) -> list[re.Pattern]:
    try:
        return [re.compile(p, re.IGNORECASE) for p in patterns]
    except re.error as exc:
        raise ConfigError(f"bad regex in banned topic '{where}': {exc}") from None


@register_rail("banned_topics")
class BannedTopicsRail(Rail):
    """Requests for topics the policy bans (intent + subject in one sentence, minus exclusions)."""

    config_class = TopicsConfig

    def __init__(self, config: TopicsConfig) -> None:
        super().__init__(config)
        self.compiled = [
            (t, _compile(t.subjects, t.name), _compile(t.intents, t.name), _compile(t.exclude, t.name))
            for t in config.topics
        ]

    def score(self, text: str, context: RailContext) -> tuple[float, list[Finding], str]:
        findings: list[Finding] = []
        for sentence in _SENTENCES.finditer(text):
            chunk = sentence.group()
            for topic, subjects, intents, excludes in self.compiled:
                if any(x.search(chunk) for x in excludes):
                    continue
                subject = next((m for p in subjects if (m := p.search(chunk))), None)
                if subject is None:
                    continue
                if intents and not any(p.search(chunk) for p in intents):
                    continue
                start = sentence.start()
                findings.append(
                    Finding(f"topic:{topic.name}", start, sentence.end(), topic.weight, subject.group())
                )
        if not findings:
            return 0.0, [], ""
        names = sorted({f.type.split(":", 1)[1] for f in findings})
        return max(f.score for f in findings), findings, f"banned topic: {', '.join(names)}"
