"""Measure rails on a labelled set: precision, recall, F1, false-positive rate and latency per rail.

A labelled file is JSON lines ``{"text": ..., "expected": ["prompt_injection"], "category": "...", "source": "..."}``;
``expected`` lists the rails that should fire (empty for benign text). A rail's positives are the items that
expect it; its negatives are the items that expect nothing at all (so a PII example does not count as a
false negative of the injection rail, nor as its true negative). The ``any`` row asks whether the guard
fired at all, against whether anything was expected; ``by_source`` and ``by_kind`` break it down by the
optional ``source`` and ``category`` (or ``kind``) fields.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from genforge.core import io
from genforge.core.errors import DataError
from genforge.guard.policy import Guard


def load_labelled(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Read a labelled JSONL file; every line needs ``text`` and an ``expected`` list of rail names."""
    items = []
    for number, item in io.read_jsonl_strict(path, what="labelled file"):
        if "text" not in item or not isinstance(item.get("expected"), list):
            raise DataError(f"{path}:{number} needs 'text' and an 'expected' list of rail names")
        items.append(item)
    return items


# the learned rail answers the same question as the cue rails: a line expecting either expects it too
_ALIASES = {"jailbreak_model": {"jailbreak_model", "prompt_injection", "jailbreak"}}


def _expects(item: dict[str, Any], rail: str) -> bool:
    return bool(_ALIASES.get(rail, {rail}) & set(item["expected"]))


def _rates(tp: int, fp: int, fn: int, tn: int) -> dict[str, float | int | None]:
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = (
        2 * precision * recall / (precision + recall)
        if precision and recall
        else (0.0 if precision == 0 or recall == 0 else None)
    )
    fpr = fp / (fp + tn) if fp + tn else None
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "fpr": fpr,
    }


def evaluate_guard(items: list[dict[str, Any]], guard: Guard, stage: str = "input") -> dict[str, Any]:
    """Per-rail and overall detection rates plus latency percentiles (ms) on ``items``."""
    rails = [r.name for r in guard.rails[stage]]
    latencies: dict[str, list[float]] = {name: [] for name in rails}
    totals: list[float] = []
    outcomes = []
    for item in items:
        result = guard.check(item["text"], stage)
        totals.append(result.latency_ms)
        for v in result.verdicts:
            latencies[v.rail].append(v.latency_ms)
        outcomes.append((item, {v.rail for v in result.fired}))
    per_rail = {}
    for name in rails:
        tp = sum(1 for item, fired in outcomes if _expects(item, name) and name in fired)
        fn = sum(1 for item, fired in outcomes if _expects(item, name) and name not in fired)
        fp = sum(1 for item, fired in outcomes if not item["expected"] and name in fired)
        tn = sum(1 for item, fired in outcomes if not item["expected"] and name not in fired)
        lat = np.asarray(latencies[name]) if latencies[name] else np.zeros(1)
        per_rail[name] = {
            **_rates(tp, fp, fn, tn),
            "latency_ms_p50": float(np.percentile(lat, 50)),
            "latency_ms_p95": float(np.percentile(lat, 95)),
        }
    tp = sum(1 for item, fired in outcomes if item["expected"] and fired)
    fn = sum(1 for item, fired in outcomes if item["expected"] and not fired)
    fp = sum(1 for item, fired in outcomes if not item["expected"] and fired)
    tn = sum(1 for item, fired in outcomes if not item["expected"] and not fired)
    mistakes = [
        {
            "text": item["text"][:160],
            "category": item.get("category"),
            "expected": item["expected"],
            "fired": sorted(fired),
        }
        for item, fired in outcomes
        if set(item["expected"]) - fired or (not item["expected"] and fired)
    ]
    total = np.asarray(totals) if totals else np.zeros(1)
    groups = {
        "by_source": _by_group(outcomes, lambda item: item.get("source")),
        "by_kind": _by_group(outcomes, lambda item: item.get("category", item.get("kind"))),
    }
    return {
        "stage": stage,
        "items": len(items),
        "attacks": sum(1 for i in items if i["expected"]),
        "benign": sum(1 for i in items if not i["expected"]),
        "any": {
            **_rates(tp, fp, fn, tn),
            "latency_ms_p50": float(np.percentile(total, 50)),
            "latency_ms_p95": float(np.percentile(total, 95)),
        },
        "rails": per_rail,
        **groups,
        "mistakes": mistakes,
    }


def _by_group(outcomes: list[tuple[dict[str, Any], set[str]]], key) -> dict[str, dict[str, Any]]:
    """Any-rail recall, FPR and F1 per value of ``key(item)`` (items without one are left out)."""
    names = sorted({str(key(item)) for item, _ in outcomes if key(item) is not None})
    report = {}
    for name in names:
        group = [(item, fired) for item, fired in outcomes if str(key(item)) == name]
        tp = sum(1 for item, fired in group if item["expected"] and fired)
        fn = sum(1 for item, fired in group if item["expected"] and not fired)
        fp = sum(1 for item, fired in group if not item["expected"] and fired)
        tn = sum(1 for item, fired in group if not item["expected"] and not fired)
        report[name] = _rates(tp, fp, fn, tn)
    return report
