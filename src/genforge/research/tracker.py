"""Live MLflow logging of a training run through the trainer's progress events (``--track mlflow``).

:class:`LiveTracker` wraps a progress callback: each event names the run directory, and the tracker
reads the records appended to its ``metrics.jsonl`` since the previous event (byte offset; a file
rewritten by a resume is read again from the start, and steps already sent are skipped), buffers them
and sends them in one ``log_batch`` call at most every ``flush_seconds``. :meth:`LiveTracker.finish`
sends the rest, the evaluation's figures and the run's files, and ends the MLflow run with the
training status. The same tracker follows ``rl train`` and ``meta train`` (their progress events name
the run directory too) and ``finetune embed`` (which writes its run directory when it ends, so its
records are sent by :meth:`LiveTracker.finish`). A run resumed with ``--track`` continues its MLflow run (``tracking.json`` in the run
directory says which, and up to which step it was sent).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from genforge.core.io import read_json_object
from genforge.core.runs import Run
from genforge.research.tracking import (
    DEFAULT_EXPERIMENT,
    MetricBuffer,
    Store,
    TrackingError,
    TrackingTarget,
    eval_figures,
    log_params_and_tags,
    log_run_files,
    now_ms,
    open_store,
    read_tracking,
    write_tracking,
)

STATUS = {"interrupted": "KILLED"}  # every other training status is a finished MLflow run


def final_step(result, buffer: MetricBuffer) -> int:
    """The step a loop's result ended at: the trainer's ``step``, RL's ``env_steps``, meta-learning's
    ``iterations``, the embedding fine-tune's ``steps``; else the last step sent."""
    for name in ("step", "env_steps", "iterations", "steps"):
        value = getattr(result, name, None)
        if isinstance(value, int):
            return value
    return max(buffer.last_step.values(), default=0)


class LiveTracker:
    """A progress callback that mirrors a run into MLflow while it trains."""

    def __init__(
        self,
        target: TrackingTarget,
        experiment: str = DEFAULT_EXPERIMENT,
        *,
        progress=None,
        flush_seconds: float = 5.0,
    ) -> None:
        self.store: Store = open_store(target, experiment)  # refused before training starts
        self.inner = progress
        self.flush_seconds = flush_seconds
        self.run: Run | None = None
        self.mlflow_run_id: str | None = None
        self.buffer = MetricBuffer()
        self.failure: str | None = None
        self.sent = 0
        self._offset = 0
        self._last_flush = time.monotonic()

    def __call__(self, event: dict[str, Any]) -> None:
        if self.inner is not None:
            self.inner(event)
        if self.failure is None and event.get("run"):
            self._guard(self._on_event, Path(event["run"]))

    def _guard(self, fn, *args) -> None:
        try:
            fn(*args)
        except TrackingError as exc:  # never stops training: the run is whole in genforge's store
            self.failure = str(exc)

    def _on_event(self, path: Path) -> None:
        if self.run is None and not (path / "config.json").is_file():
            return  # a loop that writes its run directory at the end (finetune embed): sent by finish()
        self._start(Run(path))
        self._read_new_records()
        if time.monotonic() - self._last_flush >= self.flush_seconds:
            self._flush()

    def _start(self, run: Run) -> None:
        if self.run is not None:
            return
        self.run = run
        # the raw record, not read_config(): a run without an input shape (finetune embed's pairs) is tracked too
        config = read_json_object(run.config_path)
        previous = read_tracking(run).get("mlflow", {})
        client = self.store.client
        if (
            previous.get("uri") == self.store.target.uri
            and previous.get("experiment") == self.store.experiment
        ):
            self.mlflow_run_id = previous["run_id"]
            self.buffer = MetricBuffer(previous.get("last_step"))
            self.store.call("reopening the run", client.update_run, self.mlflow_run_id, status="RUNNING")
        else:
            created = self.store.call(
                "creating a run", client.create_run, self.store.experiment_id, run_name=run.id
            )
            self.mlflow_run_id = created.info.run_id
            log_params_and_tags(self.store, self.mlflow_run_id, run, config)
        write_tracking(run, self.store, self.mlflow_run_id, self.buffer.last_step)

    def _read_new_records(self) -> None:
        path = self.run.metrics_path
        if not path.exists():
            return
        if path.stat().st_size < self._offset:  # rewritten (a resume dropped later steps): read again
            self._offset = 0
        with path.open("rb") as fh:
            fh.seek(self._offset)
            data = fh.read()
        complete = data[: data.rfind(b"\n") + 1]
        self._offset += len(complete)
        stamp = now_ms()
        for line in complete.splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                self.buffer.add_record(record, stamp)

    def _flush(self) -> None:
        self.sent += self.buffer.flush(self.store, self.mlflow_run_id)
        self._last_flush = time.monotonic()
        write_tracking(self.run, self.store, self.mlflow_run_id, self.buffer.last_step)

    def finish(self, result) -> list[str]:
        """Send what is left, the evaluation and the run's files; end the MLflow run. Returns notes."""
        if self.failure is None:
            self._guard(self._finish, result)
        if self.failure is not None:
            return [
                f"MLflow tracking stopped: {self.failure}. The run is complete in {result.run.path}; "
                f"send it later with: genforge track export {result.run.path} --to {self.store.target.label}"
            ]
        return [
            f"tracked in MLflow: run {self.mlflow_run_id} of experiment '{self.store.experiment}' "
            f"({self.store.target.uri}), {self.sent} metric values"
        ]

    def _finish(self, result) -> None:
        self._start(result.run)
        self._read_new_records()
        evaluation = result.run.read_eval()
        if evaluation is not None:
            self.buffer.add(eval_figures(evaluation), final_step(result, self.buffer), now_ms())
        self._flush()
        log_run_files(self.store, self.mlflow_run_id, result.run)
        status = STATUS.get(result.status, "FINISHED")
        self.store.call("ending the run", self.store.client.set_terminated, self.mlflow_run_id, status=status)

    def abort(self) -> None:
        """Mark the MLflow run failed (training raised); whatever was sent stays."""
        if self.mlflow_run_id is None or self.failure is not None:
            return
        self._guard(self._flush)
        self._guard(
            self.store.call, "ending the run", self.store.client.set_terminated, self.mlflow_run_id, "FAILED"
        )
