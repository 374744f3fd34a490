"""Guardrails: composable input, context and output rails configured by a YAML policy.

``Guard.load()`` gives the shipped default policy; ``Guard.load("policy.yaml")`` a custom one;
``guard.check(text, stage)`` returns a :class:`GuardResult` (action, fired rails with scores and latency,
redacted text). ``check_text(text)`` is the one-call form.
"""

from genforge.guard.base import Finding, RailContext, Verdict
from genforge.guard.policy import Guard, GuardResult, check_text

__all__ = ["Finding", "Guard", "GuardResult", "RailContext", "Verdict", "check_text"]
