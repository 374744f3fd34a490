"""Server-sent events for a run's curves: a downsampled snapshot whenever the log grows, until the run has
stopped training and its log has been quiet for a moment (then an ``end`` event; the page closes it)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from genforge.core.errors import ConfigError
from genforge.core.runs import Run
from genforge.render.downsample import downsample_curve
from genforge.serve.studio.runs_view import MetricsTail, metric_names, points, run_status

POLL_S = 0.25
QUIET_END_S = 2.0
MAX_POINTS = 2000
POINTS_CAP = 20_000


def check_points(points: int) -> None:
    """A drawing budget the page may ask for: 3 to 20,000 points per series."""
    if not 3 <= points <= POINTS_CAP:
        raise ConfigError(f"points must be between 3 and {POINTS_CAP:,}, got {points}")


def snapshot(records: list[dict[str, Any]], metric: str, max_points: int) -> dict[str, Any]:
    """``metric``'s train/val series thinned to ``max_points`` each, with their full lengths."""
    series = {}
    for split, (steps, values) in points(records, metric).items():
        xs, ys = downsample_curve(steps, values, max_points)
        series[split] = {"steps": xs, "values": ys, "total": len(steps)}
    return {"metric": metric, "series": series, "metrics": metric_names(records)}


def event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


async def curve_events(
    run: Run,
    metric: str,
    is_disconnected,
    max_points: int = MAX_POINTS,
    poll_s: float = POLL_S,
    quiet_end_s: float = QUIET_END_S,
) -> AsyncIterator[bytes]:
    """The event stream of ``run``'s ``metric`` curve (``is_disconnected``: the request's coroutine)."""
    tail = MetricsTail(run.metrics_path)
    records: list[dict[str, Any]] = []
    quiet = 0.0
    first = True
    while not await is_disconnected():
        new = await asyncio.to_thread(tail.read_new)
        records.extend(new)
        status = await asyncio.to_thread(run_status, run)
        if new or first:
            data = await asyncio.to_thread(snapshot, records, metric, max_points)
            yield event(
                "curve", {**data, "status": status, "bad_lines": tail.bad[-20:], "bad_count": len(tail.bad)}
            )
            first, quiet = False, 0.0
        elif status != "training":
            quiet += poll_s
            if quiet >= quiet_end_s:
                yield event("end", {"status": status})
                return
        await asyncio.sleep(poll_s)
