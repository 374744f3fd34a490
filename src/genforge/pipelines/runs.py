"""Runs as a user looks at them (``genforge runs`` and later the server): listings with one headline
figure, details, training curves, and the command that shows what a run learned."""

from __future__ import annotations

import math
import shlex
from pathlib import Path
from typing import Any

from genforge.core.errors import ConfigError, GenforgeError
from genforge.core.paths import check_output_file
from genforge.core.runs import Run, list_runs, resolve_run
from genforge.core.suggest import did_you_mean
from genforge.metrics.run_metrics import headline
from genforge.render.curves import save_curves
from genforge.render.images import image_format


def headline_text(result: dict[str, Any] | None) -> str | None:
    """``"bits_per_dim 1.736"``: the figure a run is judged by (see :func:`metrics.run_metrics.headline`)."""
    figure = headline(result or {})
    return None if figure["value"] is None else f"{figure['metric']} {figure['value']:.4g}"


def next_step(run: Run, config: dict[str, Any]) -> str:
    """The command that shows what ``run`` learned, for its kind of data (a picture, text, a translation)."""
    ref = shlex.quote(str(run.path))
    kind = config["data_info"]["kind"]
    if kind == "tokens":
        return f'genforge generate {ref} --prompt "..."'
    if kind == "pairs":
        return f'genforge translate {ref} "TEXT"'
    return f"genforge sample {ref} --out samples.png"


def run_summaries(root: str | Path = "runs") -> list[dict[str, Any]]:
    """One summary dict per run under ``root`` (oldest first), with a one-figure ``headline``; a run
    whose files are damaged is listed with its ``error`` instead, so one bad run hides no other."""
    out = []
    for run in list_runs(root):
        try:
            summary = run.summary()
        except GenforgeError as exc:
            out.append({"id": run.id, "path": str(run.path), "error": str(exc)})
            continue
        summary["headline"] = headline_text(summary.pop("eval", None))
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
    details["next"] = next_step(run, details["config"])
    return details


def curves(run: Run, metric: str) -> dict[str, tuple[list[int], list[float]]]:
    """``split -> (steps, values)`` of ``metric`` in ``run``'s log (train and validation)."""
    series: dict[str, tuple[list[int], list[float]]] = {}
    for record in run.read_metrics():
        value, step = record.get(metric), record.get("step")
        numeric = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        if numeric and isinstance(step, int) and record.get("split") in ("train", "val"):
            steps, values = series.setdefault(record["split"], ([], []))
            steps.append(step)
            values.append(float(value))
    return series


def logged_metrics(run: Run) -> list[str]:
    """Names of the numeric figures ``run`` logged during training."""
    skip = {"step", "elapsed_s", "samples_per_s"}
    names = {
        k
        for r in run.read_metrics()
        if r.get("split") in ("train", "val")
        for k, v in r.items()
        if k not in skip and isinstance(v, int | float) and not isinstance(v, bool)
    }
    return sorted(names)


def plot_runs(
    refs: list[str], metric: str = "loss", out: str | Path | None = None, root: str | Path = "runs"
) -> Path:
    """Draw ``metric`` against the step for one run or several (``--compare``), train and validation,
    to ``out`` (default ``curve-<metric>.png`` in the first run's directory)."""
    if not refs:
        raise ConfigError("name at least one run to plot")
    runs = [resolve_run(ref, root) for ref in refs]
    image_format(out if out is not None else "curve.png")
    target = check_output_file(out if out is not None else runs[0].artifact(f"curve-{metric}.png"))
    drawn = {run.id: curves(run, metric) for run in runs}
    missing = [run for run in runs if not drawn[run.id]]
    if missing:
        known = logged_metrics(missing[0])
        raise ConfigError(
            f"run {missing[0].id} logged no '{metric}' (logged: {', '.join(known) or 'nothing yet'})"
            f"{did_you_mean(metric, known)}"
        )
    title = runs[0].id if len(runs) == 1 else f"{len(runs)} runs"
    return save_curves(drawn, metric, target, title=title)
