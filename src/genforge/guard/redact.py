"""Redaction with typed placeholders: ``alice@corp.com`` becomes ``[EMAIL_1]``; the same value keeps its number."""

from __future__ import annotations

from collections.abc import Iterable

from genforge.guard.base import Finding


def redact(text: str, findings: Iterable[Finding]) -> tuple[str, dict[str, str]]:
    """Replace each finding's span with ``[TYPE_n]``; returns ``(redacted text, placeholder -> type)``.

    Overlapping findings are merged into the first (highest-scoring) one; equal values share a placeholder.
    """
    chosen: list[Finding] = []
    for f in sorted(findings, key=lambda f: (-f.score, f.start)):
        if all(f.end <= c.start or f.start >= c.end for c in chosen):
            chosen.append(f)
    chosen.sort(key=lambda f: f.start)
    numbers: dict[tuple[str, str], str] = {}
    counts: dict[str, int] = {}
    legend: dict[str, str] = {}
    out, pos = [], 0
    for f in chosen:
        kind = f.type.split(":", 1)[-1].upper()
        key = (kind, text[f.start : f.end])
        if key not in numbers:
            counts[kind] = counts.get(kind, 0) + 1
            numbers[key] = f"[{kind}_{counts[kind]}]"
            legend[numbers[key]] = f.type
        out.append(text[pos : f.start])
        out.append(numbers[key])
        pos = f.end
    out.append(text[pos:])
    return "".join(out), legend
