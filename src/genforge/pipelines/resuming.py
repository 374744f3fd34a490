"""A run's trainer rebuilt from its latest good checkpoint: the part of ``resume`` that a distributed
worker shares with one process.

:func:`prepare_resume` is what only the process holding the run's training lock may do (check the run
can go on, set damaged checkpoints aside, record a new budget); :func:`resumed_trainer` only reads, so
every rank of a distributed run calls it.
"""

from __future__ import annotations

from typing import Any

from genforge.core.errors import ConfigError
from genforge.core.runs import Checkpoint, Run
from genforge.pipelines.card import write_model_card
from genforge.pipelines.evaluate import evaluate_run
from genforge.pipelines.loading import build_run_model, data_info, rebuild_dataset
from genforge.pipelines.sampling import sample_writer
from genforge.trainer.config import TrainConfig
from genforge.trainer.distributed import Distributed
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
