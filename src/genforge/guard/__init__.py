"""Guardrails: composable input, context and output rails configured by a YAML policy.

``Guard.load()`` gives the shipped default policy; ``Guard.load("policy.yaml")`` a custom one;
``guard.check(text, stage)`` returns a :class:`GuardResult` (action, fired rails with scores and latency,
redacted text). ``check_text(text)`` is the one-call form. The learned ``jailbreak_model`` rail is retrained with
``train_from_sources(sources_yaml, out_dir)`` and recalibrated with ``calibrate_policy(labelled, target_fpr=...)``;
``evaluate_guard(items, guard)`` measures a policy (per rail, source and kind).
"""

from genforge.guard.base import Finding, RailContext, Verdict
from genforge.guard.evaluate import evaluate_guard, load_labelled
from genforge.guard.policy import Guard, GuardResult, check_text
from genforge.guard.training import calibrate_policy, train_from_sources

__all__ = [
    "Finding",
    "Guard",
    "GuardResult",
    "RailContext",
    "Verdict",
    "calibrate_policy",
    "check_text",
    "evaluate_guard",
    "load_labelled",
    "train_from_sources",
]
