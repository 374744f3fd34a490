"""A run's trainer rebuilt from its latest good checkpoint: the part of ``resume`` that a distributed
worker shares with one process.

:func:`prepare_resume` is what only the process holding the run's training lock may do (check the run
can go on, set damaged checkpoints aside, record a new budget); :func:`resumed_trainer` only reads, so
every rank of a distributed run calls it.
"""

from __future__ import annotations

from typing import Any

from genforge.core.errors import ConfigError, GenforgeError
from genforge.core.runs import Checkpoint, Run, resolve_run
from genforge.pipelines.card import write_model_card
from genforge.pipelines.evaluate import evaluate_run
from genforge.pipelines.loading import build_run_model, data_info, rebuild_dataset
from genforge.pipelines.sampling import sample_writer
from genforge.trainer.config import TrainConfig
from genforge.trainer.distributed import Distributed, weights_digest
from genforge.trainer.loop import ProgressFn, Trainer, TrainResult

# a family without a likelihood is judged at the end of training by the Fréchet distance of this many
# samples to the test split (in the digits classifier's features on digits: FD-digits)
FINAL_SAMPLE_COUNT = 1000


def prepare_resume(run: Run, train_cfg: TrainConfig) -> tuple[Checkpoint, list[str]]:
    """Check that ``run`` can continue under ``train_cfg`` and set unreadable later checkpoints aside;
    the checkpoint to continue from and notes for the user. Hold the run's training lock."""
    run.remove_stale_temp_files()
    checkpoint = run.load_checkpoint(require={"optimizers": dict})
    notes = list(checkpoint.notes)
    step, meta = checkpoint.step, checkpoint.meta
    if meta.get("status") == "early_stopped":
        raise ConfigError(
            f"run {run.id} stopped early at step {step} and holds its best weights: "
            "train a new run (with a larger --set early_stop_patience=N) to train longer"
        )
    if train_cfg.max_steps is not None and step >= train_cfg.max_steps:
        raise ConfigError(
            f"run {run.id} already reached its step budget ({step} steps); pass --max-steps N with N > {step}"
        )
    set_aside = run.set_aside_checkpoints_after(checkpoint.step)
    if set_aside:
        notes.append(f"renamed the unreadable checkpoint(s) {set_aside} to *.damaged")
    return checkpoint, notes


def resumed_trainer(
    run: Run,
    config: dict[str, Any],
    train_cfg: TrainConfig,
    checkpoint: Checkpoint,
    *,
    progress: ProgressFn | None = None,
    distributed: Distributed | None = None,
) -> Trainer:
    """The run's trainer with ``checkpoint`` loaded (model, optimizers, EMA, RNG, counters)."""
    dataset = rebuild_dataset(run, config)
    model = build_run_model(run, config, data_info(run, config))
    trainer = Trainer(
        model,
        dataset,
        train_cfg,
        run,
        seed=config["seed"],
        progress=progress,
        write_samples=sample_writer(run, dataset, train_cfg.num_samples, config["seed"]),
        distributed=distributed,
    )
    trainer.load_checkpoint(checkpoint)
    return trainer


def finish(result: TrainResult, train_cfg: TrainConfig, seed: int, notes: list[str]) -> TrainResult:
    """For a run that finished (not interrupted): evaluate it on the test split; rewrite its card."""
    result.notes[:0] = notes
    if result.status != "interrupted" and train_cfg.final_eval:
        # a family without a likelihood gets FD of its samples (evaluate_run's default for it)
        result.evaluation = evaluate_run(result.run, seed=seed, num_samples=FINAL_SAMPLE_COUNT)
    write_model_card(result.run)
    return result


def train_rank(run_path: str, max_steps: int | None, max_minutes: float | None) -> dict[str, Any]:
    """Continue the run as one rank of an initialised ``torch.distributed`` group; what rank 0 reports
    (status, step, figures, the weights digest of every rank) or ``{"error", "message"}`` for a
    GenforgeError. The same on every launcher (torch's elastic agent, Ray Train)."""
    import torch.distributed as dist

    try:
        run = resolve_run(run_path)
        config = run.read_config()
        train_cfg = TrainConfig.build(config["train"], where="train").with_budget(max_steps, max_minutes)
        checkpoint = run.load_checkpoint(require={"optimizers": dict})
        ddp = Distributed.current()
        trainer = resumed_trainer(run, config, train_cfg, checkpoint, distributed=ddp)
        result = trainer.fit()
    except GenforgeError as exc:
        return {"error": type(exc).__name__, "message": str(exc)}
    digests: list[str | None] = [None] * ddp.world_size
    dist.all_gather_object(digests, weights_digest(trainer.model))
    return {
        "rank": ddp.rank,
        "status": result.status,
        "step": result.step,
        "elapsed_s": result.elapsed_s,
        "metrics": result.metrics,
        "notes": result.notes,
        "stop_signal": result.stop_signal,
        "rank_digests": digests,
    }
