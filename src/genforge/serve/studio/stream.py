"""Server-sent events for a run's curves: a downsampled snapshot whenever the log grows, until the run has
stopped training and its log has been quiet for a moment (then an ``end`` event; the page closes it)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
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


@dataclass
class Curve:
    """One metric's train/val series, grown as the log grows, and the names of every logged figure."""

    metric: str
    series: dict[str, tuple[list[int], list[float]]] = field(default_factory=dict)
    names: set[str] = field(default_factory=set)

    def add(self, records: list[dict[str, Any]]) -> None:
        for split, (steps, values) in points(records, self.metric).items():
            known = self.series.setdefault(split, ([], []))
            known[0].extend(steps)
            known[1].extend(values)
        metric_names(records, self.names)

    def snapshot(self, max_points: int) -> dict[str, Any]:
        """The series thinned to ``max_points`` each, with their full lengths."""
        series = {}
        for split, (steps, values) in sorted(self.series.items()):
            xs, ys = downsample_curve(steps, values, max_points)
            series[split] = {"steps": xs, "values": ys, "total": len(steps)}
        names = sorted(self.names, key=lambda name: (name != "loss", name))
        return {"metric": self.metric, "series": series, "metrics": names}


def snapshot(records: list[dict[str, Any]], metric: str, max_points: int) -> dict[str, Any]:
    """``metric``'s train/val series in ``records``, thinned to ``max_points`` each."""
    curve = Curve(metric)
    curve.add(records)
    return curve.snapshot(max_points)


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
    curve = Curve(metric)
    quiet = 0.0
    first = True
    while not await is_disconnected():
        new = await asyncio.to_thread(tail.read_new)
        if tail.restarted:  # the log was rewritten (a resumed run dropped records): start over
            curve = Curve(metric)
        await asyncio.to_thread(curve.add, new)
        status = await asyncio.to_thread(run_status, run)
        if new or first or tail.restarted:
            data = await asyncio.to_thread(curve.snapshot, max_points)
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
