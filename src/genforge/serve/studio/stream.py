"""Server-sent events for a run's curves: a downsampled snapshot whenever the log grows, until the run has
stopped training and its log has been quiet for a moment (then an ``end`` event; the page closes it)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections import OrderedDict
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


def event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


@dataclass
class CurveState:
    """One (run, metric) curve kept by :class:`CurveCache`: where its log was read up to, the series so
    far, and a version that grows whenever they change (a stream sends a snapshot when it has not seen
    the current version)."""

    tail: MetricsTail
    curve: Curve
    lock: threading.Lock = field(default_factory=threading.Lock)
    version: int = 0
    thinned: tuple[int, int, dict[str, Any]] | None = None  # (version, max_points, snapshot)

    def update(self) -> int:
        """Reads what the log gained since the last call; returns the version."""
        with self.lock:
            new = self.tail.read_new()
            if self.tail.restarted:  # the log was rewritten (a resumed run dropped records): start over
                self.curve = Curve(self.curve.metric)
            if new or self.tail.restarted:
                self.curve.add(new)
                self.version += 1
            return self.version

    def snapshot(self, max_points: int) -> dict[str, Any]:
        """The current series thinned to ``max_points`` each, with the unreadable lines; thinned once
        per version however many pages ask."""
        with self.lock:
            if self.thinned is None or self.thinned[:2] != (self.version, max_points):
                data = self.curve.snapshot(max_points)
                data.update(bad_lines=self.tail.bad[-20:], bad_count=len(self.tail.bad))
                self.thinned = (self.version, max_points, data)
            return self.thinned[2]

    def csv(self) -> str:
        """Every point of the curve, unthinned, as ``split,step,value`` lines (what the page links to
        for download)."""
        with self.lock:
            lines = ["split,step,value"]
            for split, (steps, values) in sorted(self.curve.series.items()):
                lines += [f"{split},{step},{value!r}" for step, value in zip(steps, values, strict=True)]
            return "\n".join(lines) + "\n"


class CurveCache:
    """Parsed curves shared by the run page, its event stream and ``curve.json``: a 100k-line log is
    parsed once per (run, metric) and then only read from where it stopped, however many pages watch
    it (a second tab, a reload, switching metrics back). The ``size`` most recently used curves are
    kept."""

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._states: OrderedDict[tuple[str, str], CurveState] = OrderedDict()
        self._lock = threading.Lock()

    def state(self, run: Run, metric: str) -> CurveState:
        key = (str(run.path), metric)
        with self._lock:
            state = self._states.get(key)
            if state is None:
                state = self._states[key] = CurveState(MetricsTail(run.metrics_path), Curve(metric))
            self._states.move_to_end(key)
            while len(self._states) > self.size:
                self._states.popitem(last=False)
            return state


async def curve_events(
    state: CurveState,
    run: Run,
    is_disconnected,
    max_points: int = MAX_POINTS,
    poll_s: float = POLL_S,
    quiet_end_s: float = QUIET_END_S,
) -> AsyncIterator[bytes]:
    """The event stream of one curve (``is_disconnected``: the request's coroutine)."""
    sent = None
    quiet = 0.0

    def poll() -> tuple[int, str, dict[str, Any] | None]:  # one thread hop per poll
        version = state.update()
        status = run_status(run)
        return version, status, state.snapshot(max_points) if version != sent else None

    while not await is_disconnected():
        version, status, data = await asyncio.to_thread(poll)
        if data is not None:
            yield event("curve", {**data, "status": status})
            sent, quiet = version, 0.0
        elif status != "training":
            quiet += poll_s
            if quiet >= quiet_end_s:
                yield event("end", {"status": status})
                return
        await asyncio.sleep(poll_s)
