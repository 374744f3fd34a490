"""A guard policy: which rails run at which stage, with which settings, loaded from YAML.

::

    name: default
    input:                      # the user's text
      - {rail: size_limit, max_chars: 8000, action: block}
      - {rail: prompt_injection, threshold: 0.5, action: block}
    context:                    # each retrieved chunk before it reaches the generator
      - {rail: prompt_injection, action: block}      # a blocked chunk is dropped
    output:                     # the generated answer
      - {rail: groundedness, min_support: 0.6, action: flag}

Every entry is validated by its rail's config model, so a misspelt key is an error naming it.
:class:`Guard` runs a stage and combines the verdicts: ``block`` if any blocking rail fired, else
``redact`` if any redacting rail fired (spans replaced by typed placeholders), else ``allow``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import Field

from genforge.core.config import Config
from genforge.core.errors import ConfigError
from genforge.guard.base import RAILS, Rail, RailContext, Verdict
from genforge.guard.redact import redact

STAGES = ("input", "context", "output")


class PolicyFile(Config):
    name: str = Field("custom", description="policy name shown in reports")
    description: str = Field("", description="what the policy is for")
    input: list[dict[str, Any]] = Field(default_factory=list, description="rails run on user input")
    context: list[dict[str, Any]] = Field(
        default_factory=list, description="rails run on each retrieved chunk"
    )
    output: list[dict[str, Any]] = Field(default_factory=list, description="rails run on generated answers")


def default_policy_text() -> str:
    return (
        resources.files("genforge").joinpath("assets/guard/default_policy.yaml").read_text(encoding="utf-8")
    )


def _parse_yaml(text: str, where: str) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where} is not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a YAML mapping with input/context/output lists")
    return data


def build_rail(entry: dict[str, Any], stage: str) -> Rail:
    name = entry.get("rail")
    if not name:
        raise ConfigError(f"a {stage} rail entry has no 'rail' name: {entry}")
    cls = RAILS.get(name).obj
    if stage not in cls.stages:
        raise ConfigError(f"rail '{name}' cannot run at stage '{stage}' (only {', '.join(cls.stages)})")
    return cls(cls.config_class.build(entry, where=f"{stage} rail '{name}'"))


@dataclass
class GuardResult:
    """Combined verdict of one stage on one text."""

    stage: str
    action: str
    text: str
    redacted_text: str
    verdicts: list[Verdict]
    latency_ms: float
    placeholders: dict[str, str] = field(default_factory=dict)

    @property
    def fired(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.fired]

    @property
    def blocked(self) -> bool:
        return self.action == "block"

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "action": self.action,
            "rails": [v.to_dict() for v in self.fired],
            "checks": [v.to_dict(include_spans=False) for v in self.verdicts],
            "redacted_text": self.redacted_text,
            "placeholders": self.placeholders,
            "latency_ms": round(self.latency_ms, 3),
        }


class Guard:
    """Runs a policy's rails. Thread-safe: rails hold only compiled settings."""

    def __init__(self, policy: PolicyFile) -> None:
        self.policy = policy
        self.rails: dict[str, list[Rail]] = {
            stage: [build_rail(e, stage) for e in getattr(policy, stage)] for stage in STAGES
        }

    @classmethod
    def from_yaml(cls, text: str, where: str = "policy") -> Guard:
        return cls(PolicyFile.build(_parse_yaml(text, where), where=where))

    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> Guard:
        """The policy at ``path``, or the shipped default policy."""
        if path is None:
            return cls.from_yaml(default_policy_text(), "default policy")
        path = Path(path)
        if not path.exists():
            raise ConfigError(
                f"guard policy {path} does not exist (see 'genforge guard policy' for the default)"
            )
        return cls.from_yaml(path.read_text(encoding="utf-8"), str(path))

    def check(self, text: str, stage: str = "input", context: RailContext | None = None) -> GuardResult:
        """Run the ``stage`` rails on ``text`` and combine their verdicts."""
        if stage not in STAGES:
            raise ConfigError(f"unknown guard stage '{stage}' (use {', '.join(STAGES)})")
        started = time.perf_counter()
        verdicts = self._run(self.rails[stage], text, context)
        fired = [v for v in verdicts if v.fired]
        action = "allow"
        if any(v.action == "block" for v in fired):
            action = "block"
        elif any(v.action == "redact" for v in fired):
            action = "redact"
        spans = [f for v in fired if v.action == "redact" for f in v.findings]
        redacted, legend = redact(text, spans) if spans else (text, {})
        latency = (time.perf_counter() - started) * 1000.0
        return GuardResult(stage, action, text, redacted, verdicts, latency, legend)

    @staticmethod
    def _run(rails: list[Rail], text: str, context: RailContext | None) -> list[Verdict]:
        """Run ``rails`` in policy order; a blocking size limit ends the stage, a block skips costly rails."""
        verdicts: list[Verdict] = []
        blocked = False
        for rail in rails:
            if blocked and rail.skip_when_blocked:
                continue
            verdict = rail.check(text, context)
            verdicts.append(verdict)
            if verdict.fired and verdict.action == "block":
                blocked = True
                if rail.ends_stage:
                    break
        return verdicts

    def check_input(self, text: str) -> GuardResult:
        return self.check(text, "input")

    def check_context(self, passages: list[str]) -> list[GuardResult]:
        return [self.check(p, "context") for p in passages]

    def check_output(self, text: str, context: RailContext) -> GuardResult:
        return self.check(text, "output", context)


def check_text(text: str, stage: str = "input", policy: str | os.PathLike | None = None) -> GuardResult:
    """One-call API: check ``text`` at ``stage`` with the policy file (default policy if None)."""
    return Guard.load(policy).check(text, stage)
