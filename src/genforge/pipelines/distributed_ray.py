"""``--distributed ray``: the same ranks under Ray Train's ``TorchTrainer`` (extra ``genforge[ray]``).

Ray Train starts ``nproc`` worker actors on a local Ray instance (started here when none is running and
shut down afterwards), sets up the gloo process group, and runs :func:`_ray_worker` in each: the very
same :func:`~genforge.pipelines.resuming.train_rank` that the torch launcher runs, so checkpoints,
``--resume`` and the trainer are the ones of ``--distributed ddp``. Ray is imported only here, only when
asked for; it takes 10-20 s to start on a 2-core machine.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from genforge.core.errors import GenforgeError, require
from genforge.core.io import atomic_write_json, read_json_object
from genforge.core.runs import Run
from genforge.pipelines.resuming import train_rank


def _ray_worker(config: dict[str, Any]) -> None:
    """One Ray Train worker: train the run as this rank; rank 0 leaves its outcome for the driver in
    ``config["outcome"]`` (a file in the driver's temporary folder: same machine)."""
    import torch
    import torch.distributed as dist

    torch.set_num_threads(config["threads"])
    outcome = train_rank(config["run"], config["max_steps"], config["max_minutes"])
    if dist.get_rank() == 0:
        atomic_write_json(config["outcome"], outcome)


def run_ray(
    run: Run, nproc: int, max_steps: int | None, max_minutes: float | None, threads: int
) -> dict[int, dict[str, Any]]:
    """Train ``run`` in ``nproc`` Ray Train workers; ``{0: rank 0's outcome}``."""
    ray = require("ray", "ray")
    from ray.train import FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer

    started_here = not ray.is_initialized()
    with tempfile.TemporaryDirectory(prefix="genforge-ray-") as storage:
        if started_here:
            ray.init(
                num_cpus=nproc,
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.ERROR,
                configure_logging=True,
            )
        try:
            trainer = TorchTrainer(
                _ray_worker,
                train_loop_config={
                    "run": str(run.path),
                    "max_steps": max_steps,
                    "max_minutes": max_minutes,
                    "threads": threads,
                    "outcome": str(Path(storage) / "outcome.json"),
                },
                torch_config=TorchConfig(backend="gloo"),
                scaling_config=ScalingConfig(num_workers=nproc, resources_per_worker={"CPU": 1}),
                run_config=RunConfig(
                    name=f"genforge-{run.id}",
                    storage_path=storage,
                    failure_config=FailureConfig(max_failures=0),
                ),
            )
            trainer.fit()
        except Exception as exc:  # Ray wraps a worker's failure in its own error types
            steps = run.checkpoint_steps()
            kept = f"the last good checkpoint (step {steps[-1]})" if steps else "no checkpoint"
            first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            raise GenforgeError(
                f"Ray Train stopped: {first}; {kept} is kept in {run.path}. Continue with: "
                f"genforge train --resume {run.path} --distributed ray --nproc {nproc}"
            ) from None
        finally:
            if started_here:
                ray.shutdown()
        return {0: read_json_object(Path(storage) / "outcome.json")}
