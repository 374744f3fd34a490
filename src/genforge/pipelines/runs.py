"""Run listings for ``genforge runs`` (and later the server)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from genforge.core.runs import list_runs, resolve_run


def _headline(summary: dict[str, Any]) -> str | None:
    result = summary.get("eval") or {}
    for key, value in result.items():
        if isinstance(value, float):
            return f"{key} {value:.4g}"
    return None


def run_summaries(root: str | Path = "runs") -> list[dict[str, Any]]:
    """One summary dict per run under ``root`` (oldest first), with a one-figure ``headline``."""
    out = []
    for run in list_runs(root):
        summary = run.summary()
        summary["headline"] = _headline(summary)
        summary.pop("eval", None)
        out.append(summary)
    return out


def run_details(ref: str, root: str | Path = "runs") -> dict[str, Any]:
    """Summary plus config, checkpoints and the last logged train/val records of one run."""
    run = resolve_run(ref, root)
    details = run.summary()
    records = run.read_metrics()
    details["checkpoints"] = run.checkpoint_steps()
    details["last_train"] = next((r for r in reversed(records) if r.get("split") == "train"), None)
    details["last_val"] = next((r for r in reversed(records) if r.get("split") == "val"), None)
    details["samples"] = sorted(p.name for p in run.samples_dir.glob("*")) if run.samples_dir.exists() else []
    details["config"] = run.read_config()
    return details
