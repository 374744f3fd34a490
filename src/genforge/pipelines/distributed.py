"""Data-parallel training of one run in several local processes (``--distributed ddp --nproc N``).

Processes are started and watched by torch's own elastic launcher (``torch.distributed.launcher``,
what ``torchrun --standalone`` runs): rendezvous on 127.0.0.1, gloo for the CPU collectives, no restarts.
The process that calls :func:`launch` holds the run's training lock and has already written the run's
config and the checkpoint the workers continue from; every worker rebuilds the trainer from that
checkpoint (:func:`~genforge.pipelines.resuming.resumed_trainer`) and trains it as one rank of the group
(:mod:`genforge.trainer.distributed`: a shard of each global batch, averaged gradients, rank 0 writes).
When a worker dies (a crash, SIGKILL) the launcher stops the others and the error names the rank; the
run keeps its last good checkpoint, which ``--resume`` continues.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import tempfile
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from genforge.core import errors
from genforge.core.errors import ConfigError, GenforgeError, MissingDependency
from genforge.core.runs import Run
from genforge.pipelines.distributed_ray import run_ray
from genforge.pipelines.resuming import train_rank
from genforge.trainer.loop import TrainResult

BACKENDS = ("ddp", "ray")
COLLECTIVE_TIMEOUT = timedelta(minutes=10)  # a rank that stops answering fails the job after this


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def check_distributed(distributed: str | None, nproc: int) -> None:
    """One line for a backend, a missing extra or a process count that cannot run here (before any
    work starts)."""
    if distributed is None:
        if nproc != 1:
            raise ConfigError("--nproc needs --distributed ddp")
        return
    if distributed not in BACKENDS:
        from genforge.core.suggest import did_you_mean

        hint = did_you_mean(distributed, BACKENDS) or f" (choose from {', '.join(BACKENDS)})"
        raise ConfigError(f"unknown distributed backend '{distributed}'{hint}")
    if distributed == "ray" and importlib.util.find_spec("ray") is None:
        raise MissingDependency("--distributed ray needs Ray Train: pip install 'genforge[ray]'")
    cores = available_cores()
    if nproc < 1 or nproc > cores:
        raise ConfigError(
            f"--nproc {nproc}: this machine gives genforge {cores} CPU core(s); use 1 to {cores}"
        )


def _worker(run_path: str, max_steps: int | None, max_minutes: float | None, threads: int) -> dict[str, Any]:
    """One rank under the elastic launcher: join the gloo group, train the run as this rank, report."""
    import torch
    import torch.distributed as dist

    torch.set_num_threads(threads)
    if Path("/sys/class/net/lo").exists():  # gloo's connections stay on loopback like the rendezvous
        os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    dist.init_process_group("gloo", timeout=COLLECTIVE_TIMEOUT)
    try:
        return train_rank(run_path, max_steps, max_minutes)
    finally:
        dist.destroy_process_group()


def _raise_worker_error(outcomes: dict[int, dict[str, Any]]) -> None:
    failed = {rank: out for rank, out in outcomes.items() if "error" in out}
    if failed:
        rank = min(failed)
        kind = getattr(errors, failed[rank]["error"], GenforgeError)
        raise kind(failed[rank]["message"])


def _last_line(path: Path) -> str:
    try:
        lines = [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1][:200] if lines else ""


def _failure_message(run: Run, exc: Exception, nproc: int, backend: str) -> str:
    """One line: which rank failed first and how (a signal before an error it caused in the others)."""
    failures = getattr(exc, "failures", {}) or {}
    if failures:
        first = min(failures.values(), key=lambda f: (f.exitcode >= 0, f.timestamp))
        code = first.exitcode
        if code < 0:
            what = f"rank {first.local_rank} was killed by signal {-code}"
        else:
            last = _last_line(Path(first.error_file).parent / "stderr.log") if first.error_file else ""
            what = f"rank {first.local_rank} exited with code {code}" + (f" ({last})" if last else "")
    else:
        what = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    steps = run.checkpoint_steps()
    kept = f"the last good checkpoint (step {steps[-1]})" if steps else "no checkpoint"
    return (
        f"distributed training stopped: {what}; {kept} is kept in {run.path}. "
        f"Continue with: genforge train --resume {run.path} --distributed {backend} --nproc {nproc}"
    )


def launch(
    run: Run, backend: str, nproc: int, max_steps: int | None, max_minutes: float | None
) -> TrainResult:
    """Train ``run`` from its latest checkpoint in ``nproc`` local processes; rank 0's result.

    The caller holds the run's training lock. Raises a :class:`GenforgeError` naming the rank when a
    worker dies, and a ``RuntimeError`` if the ranks ended with different weights (a bug)."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import elastic_launch

    threads = max(1, available_cores() // nproc)
    if backend == "ray":
        outcomes = run_ray(run, nproc, max_steps, max_minutes, threads)
    else:
        with tempfile.TemporaryDirectory(prefix="genforge-ddp-") as logs, _launcher_logging_off():
            config = _launch_config(nproc, logs)
            try:
                outcomes = elastic_launch(config, _worker)(str(run.path), max_steps, max_minutes, threads)
            except ChildFailedError as exc:
                raise GenforgeError(_failure_message(run, exc, nproc, backend)) from None
    _raise_worker_error(outcomes)
    digests = {digest for out in outcomes.values() for digest in out["rank_digests"]}
    if len(digests) != 1:
        raise RuntimeError(f"the {nproc} ranks ended with different weights: {sorted(digests)}")
    first = outcomes[0]
    return TrainResult(
        run=run,
        status=first["status"],
        step=first["step"],
        elapsed_s=first["elapsed_s"],
        metrics=first["metrics"],
        notes=first["notes"],
        stop_signal=first["stop_signal"],
        distributed={
            "backend": backend,
            "nproc": nproc,
            "communication": "gloo" + (" on 127.0.0.1" if backend == "ddp" else ", Ray Train TorchTrainer"),
            "weights_sha256": digests.pop(),
            "ranks_agree": True,
        },
    )


@contextlib.contextmanager
def _launcher_logging_off() -> Iterator[None]:
    """The launcher logs each worker's failure with a traceback; genforge reports it as one line instead.
    Workers' own output goes to files in a temporary folder (read for the failing rank's last line)."""
    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        yield
    finally:
        logging.disable(previous)


def _launch_config(nproc: int, logs: str):
    from torch.distributed.elastic.multiprocessing.api import DefaultLogsSpecs, Std
    from torch.distributed.launcher.api import LaunchConfig

    return LaunchConfig(
        min_nodes=1,
        max_nodes=1,
        nproc_per_node=nproc,
        run_id=uuid.uuid4().hex,
        rdzv_backend="c10d",
        rdzv_endpoint="127.0.0.1:0",
        local_addr="127.0.0.1",
        max_restarts=0,
        monitor_interval=0.5,
        start_method="spawn",
        logs_specs=DefaultLogsSpecs(log_dir=logs, redirects=Std.ALL),
    )
