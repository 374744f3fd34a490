"""Training runs as one call: ``train(family, data)`` and ``resume(run)``.

This is the Python API behind ``genforge train``; the CLI only parses flags and renders progress. Both
calls resolve the budget the same way (:meth:`TrainConfig.with_budget`), hold the run's training lock,
and end a finished run with an evaluation on the test split (``eval.json``; FD of 1,000 samples for
families without a likelihood, which is FD-digits on digits) and a model card. With
``distributed="ddp"`` the same run trains in ``nproc`` local processes (:mod:`.distributed`). Neither touches the
caller's global RNG: the model is initialised and trained on the run's own seeded stream.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import torch

from genforge import __version__
from genforge.core.config import split_overrides
from genforge.core.errors import ConfigError, ModelNotFound
from genforge.core.io import atomic_write_json
from genforge.core.runs import Run, new_run
from genforge.core.seed import torch_rng_stream
from genforge.core.suggest import did_you_mean
from genforge.data import load_dataset
from genforge.models.base import MODELS, build_model
from genforge.pipelines.card import PRIVACY_FILE
from genforge.pipelines.distributed import check_distributed, launch
from genforge.pipelines.loading import as_run
from genforge.pipelines.resuming import FINAL_SAMPLE_COUNT as FINAL_SAMPLE_COUNT
from genforge.pipelines.resuming import finish, prepare_resume, resumed_trainer
from genforge.pipelines.sampling import sample_writer
from genforge.trainer.config import TrainConfig
from genforge.trainer.distributed import Distributed
from genforge.trainer.loop import ProgressFn, Trainer, TrainResult
from genforge.trainer.signals import StopSignals


def resolve_configs(
    family: str,
    overrides: dict[str, Any] | None,
    max_steps: int | None = None,
    max_minutes: float | None = None,
) -> tuple[Any, TrainConfig]:
    """Validated (model config, train config) for ``family`` with ``--set``-style overrides and the
    session's budget applied."""
    try:
        entry = MODELS.get(family)
    except ModelNotFound as exc:
        raise ModelNotFound(f"{exc}{did_you_mean(family, MODELS.names())}") from None
    model_cls = entry.meta["config"]
    routed = split_overrides(overrides or {}, {"model": model_cls, "train": TrainConfig})
    train_values = {**entry.meta.get("train_defaults", {}), **routed["train"]}
    train_cfg = TrainConfig.build(train_values, where="train").with_budget(max_steps, max_minutes)
    return model_cls.build(routed["model"], where=f"{family} model"), train_cfg


def train(
    family: str,
    data: str,
    *,
    overrides: dict[str, Any] | None = None,
    data_options: dict[str, Any] | None = None,
    out: str | Path = "runs",
    seed: int = 0,
    max_steps: int | None = None,
    max_minutes: float | None = None,
    progress: ProgressFn | None = None,
    distributed: str | None = None,
    nproc: int = 1,
) -> TrainResult:
    """Train ``family`` (vae, gan, pixelcnn, realnvp, …) on ``data`` (a dataset spec) into a new run.

    ``overrides`` are model or trainer config keys (``{"loss": "hinge", "lr": 2e-4}``); budgets default
    to the trainer's (5 minutes) when neither ``max_steps`` nor ``max_minutes`` is given.
    ``distributed="ddp"`` trains in ``nproc`` local processes on the same global batch.
    """
    check_distributed(distributed, nproc)
    model_cfg, train_cfg = resolve_configs(family, overrides, max_steps, max_minutes)
    if distributed and train_cfg.dp:
        raise ConfigError("DP training runs in one process: drop --distributed (or --dp)")
    run = new_run(out, f"{family}-{data.split(':')[0]}")
    # A Ctrl-C or SIGTERM during setup (seconds of imports and data loading) is held until the run is
    # set up, then stops it at step 0 with a resumable checkpoint; a second Ctrl-C removes the run.
    with StopSignals() as stop:
        try:
            dataset = load_dataset(data, data_options, artifacts=run.path)
            with torch_rng_stream(seed=seed):
                model = build_model(family, model_cfg, dataset.info)
                rng_state = torch.get_rng_state()
            run.write_config(
                {
                    "family": family,
                    "model": model_cfg.model_dump(mode="json"),
                    "train": train_cfg.model_dump(mode="json"),
                    "data": {"spec": data, "options": dict(data_options or {})},
                    "data_info": dataset.info.to_dict(),
                    "seed": seed,
                    "parameters": model.num_parameters(),
                    "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                    "versions": {"genforge": __version__, "torch": torch.__version__},
                }
            )
            trainer = Trainer(
                model,
                dataset,
                train_cfg,
                run,
                seed=seed,
                rng_state=rng_state,
                progress=progress,
                write_samples=sample_writer(run, dataset, train_cfg.num_samples, seed),
            )
            if distributed:  # refused before any worker starts; the workers continue this step-0 checkpoint
                Distributed(rank=0, world_size=nproc).check(model, trainer.batch_size)
                trainer.save_checkpoint("running", 0.0)
        except BaseException:
            shutil.rmtree(run.path, ignore_errors=True)
            raise
        if not distributed:
            with run.training_lock():
                try:
                    return _fit_and_finish(trainer, train_cfg, seed, [], stop)
                except ConfigError:  # refused in the first step (a layer DP cannot handle): leave nothing
                    if trainer.step == 0:
                        shutil.rmtree(run.path, ignore_errors=True)
                    raise
    if stop.received:  # the workers never started; the step-0 checkpoint is kept for --resume
        raise KeyboardInterrupt
    with run.training_lock():
        return finish(launch(run, distributed, nproc, max_steps, max_minutes), train_cfg, seed, [])


def resume(
    run: str | Path | Run,
    *,
    family: str | None = None,
    max_steps: int | None = None,
    max_minutes: float | None = None,
    progress: ProgressFn | None = None,
    distributed: str | None = None,
    nproc: int = 1,
) -> TrainResult:
    """Continue a run from its latest good checkpoint, exactly where it stopped.

    The budget is the run's own unless ``max_steps``/``max_minutes`` are given (then they replace it);
    ``max_minutes`` bounds this session. ``family``, when given, must be the run's. A run trained in
    one process may go on in several (``distributed="ddp"``) and back.
    """
    check_distributed(distributed, nproc)
    run = as_run(run)
    config = run.read_config()
    if family is not None and family != config["family"]:
        raise ConfigError(
            f"run {run.id} is a {config['family']} run, not {family}: "
            f"resume it without naming a family, or train a new {family} run"
        )
    train_cfg = TrainConfig.build(config["train"], where=f"{run.config_path} train").with_budget(
        max_steps, max_minutes
    )
    with run.training_lock():
        checkpoint, notes = prepare_resume(run, train_cfg)
        trainer = None
        if (
            not distributed
        ):  # built before the new budget is recorded: a run that cannot resume keeps its config
            trainer = resumed_trainer(run, config, train_cfg, checkpoint, progress=progress)
        if max_steps is not None or max_minutes is not None:
            run.write_config({**config, "train": train_cfg.model_dump(mode="json")})
        if trainer is None:  # every worker reads the checkpoint for itself
            return finish(
                launch(run, distributed, nproc, max_steps, max_minutes), train_cfg, config["seed"], notes
            )
        return _fit_and_finish(trainer, train_cfg, config["seed"], notes)


def _fit_and_finish(
    trainer: Trainer, train_cfg: TrainConfig, seed: int, notes: list[str], stop: StopSignals | None = None
) -> TrainResult:
    """Train in this process; record the privacy spent (DP runs), then :func:`finish` the run."""
    result = trainer.fit(stop)
    if trainer.privacy is not None:  # the (epsilon, delta) spent, beside the run's other records
        trainer.privacy.close()
        ledger = trainer.privacy.ledger(result.step)
        atomic_write_json(trainer.run.artifact(PRIVACY_FILE), ledger)
        result.metrics["epsilon"] = ledger["epsilon"]
        if result.status == "privacy_budget":
            result.notes.append(f"stopped at the privacy budget: epsilon {ledger['epsilon']:.3f} spent")
    return finish(result, train_cfg, seed, notes)
