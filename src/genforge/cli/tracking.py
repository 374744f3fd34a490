"""``--track mlflow[:URI]`` and ``--experiment NAME`` for training commands (see research/tracking.py)."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable, Iterator
from typing import Any


def add_tracking(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("experiment tracking (MLflow: pip install 'genforge[mlflow]')")
    group.add_argument(
        "--track",
        metavar="mlflow[:URI]",
        help="also log params, metrics and artifacts live to MLflow: mlflow (sqlite:///mlruns/mlflow.db "
        "here) or mlflow:sqlite:///PATH/mlflow.db or mlflow:http://HOST:PORT; no server needed",
    )
    group.add_argument(
        "--experiment", default="genforge", help="MLflow experiment for --track (default genforge)"
    )


class _Untracked:
    """The progress callback alone, when nothing is tracked."""

    def __init__(self, progress: Callable[[dict[str, Any]], None]) -> None:
        self.progress = progress

    def __call__(self, event: dict[str, Any]) -> None:
        self.progress(event)

    def finish(self, result: Any) -> list[str]:
        return []


@contextlib.contextmanager
def tracked(args: argparse.Namespace, progress: Callable[[dict[str, Any]], None]) -> Iterator[Any]:
    """A progress callback that also tracks when ``--track`` is given; its ``finish(result)`` ends the
    tracked run and returns notes. The store is opened (and refused) before training starts."""
    if not getattr(args, "track", None):
        yield _Untracked(progress)
        return
    from genforge.research.tracker import LiveTracker
    from genforge.research.tracking import parse_target

    tracker = LiveTracker(parse_target(args.track), args.experiment, progress=progress)
    try:
        yield tracker
    except BaseException:
        tracker.abort()
        raise
