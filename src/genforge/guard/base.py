"""Rails, findings and verdicts: the pieces a guard policy is composed of.

A rail is a small object with a config (a pydantic model, so a YAML policy is validated field by field)
and one method, ``check(text, context) -> Verdict``. A :class:`Verdict` says whether the rail fired, with
what score in ``[0, 1]``, which action the policy attached to it (``block``, ``redact`` or ``flag``), how
long the check took, and the spans it found (:class:`Finding`), which redaction replaces with typed
placeholders. Rails register with ``@register_rail("name")`` so a policy can name them.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import Field

from genforge.core.config import Config
from genforge.core.registry import Registry

RAILS = Registry(
    "guard rail",
    modules=[
        "genforge.guard.injection",
        "genforge.guard.pii",
        "genforge.guard.topics",
        "genforge.guard.limits",
        "genforge.guard.output",
        "genforge.guard.jailbreak_model",
    ],
)

Action = Literal["block", "redact", "flag"]
ACTION_ORDER = {"allow": 0, "flag": 0, "redact": 1, "block": 2}


def register_rail(name: str):
    def decorator(cls):
        cls.name = name
        return RAILS.register(name)(cls)

    return decorator


class RailConfig(Config):
    """Settings every rail has; rails subclass this with their own fields."""

    rail: str = Field(..., description="registered rail name")
    action: Action = Field(
        "block", description="what a firing rail does: block, redact or flag (allow + report)"
    )
    threshold: float = Field(0.5, ge=0.0, le=1.0, description="the rail fires when its score reaches this")


@dataclass
class Finding:
    """A detected span ``text[start:end]`` of a given ``type`` (``email``, ``override_instructions`` …)."""

    type: str
    start: int
    end: int
    score: float
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Verdict:
    """One rail's result on one text."""

    rail: str
    fired: bool
    score: float
    action: str
    latency_ms: float
    findings: list[Finding] = field(default_factory=list)
    message: str = ""

    def to_dict(self, include_spans: bool = True) -> dict[str, Any]:
        out = {
            "rail": self.rail,
            "fired": self.fired,
            "score": round(self.score, 4),
            "action": self.action if self.fired else "allow",
            "latency_ms": round(self.latency_ms, 3),
            "message": self.message,
        }
        if include_spans:
            out["findings"] = [f.to_dict() for f in self.findings]
        return out


@dataclass
class RailContext:
    """What output rails need besides the text: the retrieved passages and the citations made."""

    passages: list[str] = field(default_factory=list)  # numbered 1..n in citation order
    citations: dict[int, int] = field(default_factory=dict)  # citation number -> passage index
    embedding: Any = None  # an Embedding for semantic support checks (optional)


class Rail:
    """Base class. Subclasses set ``config_class`` and implement :meth:`score`."""

    name: ClassVar[str] = ""
    config_class: ClassVar[type[RailConfig]] = RailConfig
    stages: ClassVar[tuple[str, ...]] = ("input", "context", "output")
    # a firing blocking rail with ``ends_stage`` stops the stage (the size limit: nothing else reads 1 MB);
    # a rail with ``skip_when_blocked`` is not run once an earlier rail has blocked (the learned detector)
    ends_stage: ClassVar[bool] = False
    skip_when_blocked: ClassVar[bool] = False

    def __init__(self, config: RailConfig) -> None:
        self.config = config

    def score(self, text: str, context: RailContext) -> tuple[float, list[Finding], str]:
        """``(score in [0, 1], findings, message)`` for ``text``."""
        raise NotImplementedError

    def check(self, text: str, context: RailContext | None = None) -> Verdict:
        started = time.perf_counter()
        score, findings, message = self.score(text, context or RailContext())
        latency = (time.perf_counter() - started) * 1000.0
        fired = score >= self.config.threshold
        return Verdict(
            self.name, fired, float(score), self.config.action, latency, findings if fired else [], message
        )


def noisy_or(weights: list[float]) -> float:
    """``1 - prod(1 - w)``: independent pieces of evidence, each in ``[0, 1]``."""
    remaining = 1.0
    for w in weights:
        remaining *= 1.0 - max(0.0, min(1.0, w))
    return 1.0 - remaining
