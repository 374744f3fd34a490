"""Progress bars for long commands, on stderr so stdout stays clean for results and ``--json``.

Two views, both quiet when stderr is not a terminal or when the user passed ``--quiet``:

- :class:`CountProgress` for work counted in items (files indexed, texts embedded, methods benchmarked):
  ``label ━━━━━━━━━━  120/530 files  0:00:41 < 0:01:20``. Library functions report progress through a
  ``progress(done, total)`` callback; pass :meth:`CountProgress.update` as that callback.
- :class:`TrainingProgress` for the trainer's progress events: the bar, the step count and the times on
  one line, and the loss terms on a line of their own that wraps, so at 80 columns nothing is cut.
"""

from __future__ import annotations

import sys
from typing import Any

from genforge.cli.common import err_console


def _progress_class():
    """A rich ``Progress`` that can print a free-text note (wrapped, never truncated) under its bars."""
    from rich.progress import Progress
    from rich.text import Text

    class ProgressWithNote(Progress):
        note = ""

        def get_renderables(self):
            yield self.make_tasks_table(self.tasks)
            if self.note:
                yield Text(self.note, overflow="fold")

    return ProgressWithNote


def _columns(unit: str):
    from rich.progress import BarColumn, ProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
    from rich.text import Text

    class CountColumn(ProgressColumn):
        """``done/total unit`` (``done unit`` while the total is unknown)."""

        def render(self, task) -> Text:
            total = "" if task.total is None else f"/{task.total:.0f}"
            return Text(f"{task.completed:.0f}{total} {unit}".rstrip())

    return (
        TextColumn("{task.description}"),
        BarColumn(bar_width=24),
        CountColumn(),
        TimeElapsedColumn(),
        TextColumn("<"),
        TimeRemainingColumn(),
    )


class _View:
    def __init__(self, label: str, unit: str, quiet: bool) -> None:
        self.label, self.unit = label, unit
        self.quiet = quiet or not sys.stderr.isatty()
        self.progress: Any = None
        self.task: Any = None

    def __enter__(self):
        if not self.quiet:
            self.progress = _progress_class()(*_columns(self.unit), console=err_console(), transient=False)
            self.progress.__enter__()
            self.task = self.progress.add_task(self.label, total=None)
        return self

    def __exit__(self, *exc) -> None:
        if self.progress is not None:
            self.progress.__exit__(*exc)


class CountProgress(_View):
    """``with CountProgress("indexing", "files", quiet=args.quiet) as bar: work(progress=bar.update)``."""

    def __init__(self, label: str, unit: str = "", quiet: bool = False) -> None:
        super().__init__(label, unit, quiet)

    def update(self, done: int, total: int | None, note: str = "") -> None:
        if self.progress is None:
            return
        self.progress.note = note
        self.progress.update(self.task, completed=done, total=total)


class TrainingProgress(_View):
    """Shows the trainer's progress events: ``{"step", "max_steps" | "max_seconds", "elapsed_s",
    "terms", "samples_per_s"}``."""

    def __init__(self, label: str = "train", quiet: bool = False) -> None:
        super().__init__(label, "steps", quiet)

    def update(self, event: dict) -> None:
        if self.progress is None:
            return
        terms = " ".join(f"{k}={v:.4g}" for k, v in event["terms"].items() if k not in ("lr", "grad_norm"))
        self.progress.note = f"  {terms}  {event['samples_per_s']:.0f} samples/s"
        if event.get("max_steps"):
            self.progress.update(self.task, total=event["max_steps"], completed=event["step"])
        elif event.get("max_seconds"):
            # a time budget: the bar fills with elapsed time; the step count goes into the label
            self.progress.update(
                self.task,
                total=event["max_seconds"],
                completed=event["elapsed_s"],
                description=f"{self.label} step {event['step']}",
            )
