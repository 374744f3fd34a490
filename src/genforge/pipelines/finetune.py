"""Fine-tune a trained generator run on new data into a new run: ``finetune_run(parent, data)``.

The new run starts from the parent's weights (EMA weights when it has them, adapters of a LoRA parent
merged) and its model config, on a dataset whose shape and levels match the parent's. Three ways:
every weight (default), ``freeze`` (module-name prefixes or fnmatch patterns whose parameters stay
fixed, e.g. ``encoder``), or ``lora`` (low-rank adapters on the matching Linear/Conv2d layers,
:mod:`genforge.transfer.lora`; every other weight frozen). The run's ``config.json`` records
``transfer: {parent, parent_step, lora, freeze}``; :func:`apply_transfer` rebuilds that structure
whenever the run's model is built (``pipelines/loading.py``), so the one trainer resumes it exactly, and
``load_run`` merges the adapters, so sampling, evaluation and export see a plain model of the parent's
architecture. The adapter alone is also written to ``adapter/`` (safetensors + JSON) at the end.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import torch

from genforge import __version__
from genforge.core.errors import CheckpointError, ConfigError
from genforge.core.runs import Run, new_run
from genforge.core.seed import torch_rng_stream
from genforge.data import load_dataset
from genforge.models.base import build_model
from genforge.pipelines.loading import as_run, load_run
from genforge.pipelines.sampling import sample_writer
from genforge.pipelines.training import _fit_and_finish, resolve_configs
from genforge.trainer.loop import ProgressFn, Trainer, TrainResult
from genforge.trainer.signals import StopSignals
from genforge.transfer.freeze import apply_transfer
from genforge.transfer.lora import LoraConfig, lora_layers, parse_lora, save_adapter

ADAPTER_DIR = "adapter"


def finetune_run(
    parent: str | Path | Run,
    data: str,
    *,
    lora: LoraConfig | str | None = None,
    freeze: list[str] | None = None,
    data_options: dict[str, Any] | None = None,
    overrides: dict[str, Any] | None = None,
    out: str | Path = "runs",
    seed: int = 0,
    max_steps: int | None = None,
    max_minutes: float | None = None,
    progress: ProgressFn | None = None,
) -> TrainResult:
    """Fine-tune the generator of run ``parent`` on ``data`` into a new run (parent recorded in its config).

    ``overrides`` are trainer keys (``{"lr": 1e-4}``); the model config is the parent's. Resume the new
    run with ``genforge.resume`` like any run.
    """
    if isinstance(lora, str):
        lora = parse_lora(lora)
    parent_run = as_run(parent)
    pconfig = parent_run.read_config()
    if pconfig.get("kind") is not None:
        raise ConfigError(
            f"run {parent_run.id} is a {pconfig['kind']} run, not a generator genforge can fine-tune"
        )
    family = pconfig["family"]
    model_overrides = {k for k in (overrides or {}) if k.startswith("model.")}
    if model_overrides:
        raise ConfigError(f"a fine-tune keeps the parent's model config: drop {sorted(model_overrides)}")
    _, train_cfg = resolve_configs(family, overrides, max_steps, max_minutes)
    loaded = load_run(parent_run, data=False)  # EMA weights, adapters of a fine-tuned parent merged
    transfer = {
        "parent": str(parent_run.path.resolve()),
        "parent_id": parent_run.id,
        "parent_step": loaded.step,
        "lora": lora.model_dump(mode="json") if lora is not None else None,
        "freeze": list(freeze or []),
    }
    run = new_run(out, f"{family}-finetune-{data.split(':')[0]}")
    with StopSignals() as stop:
        try:
            dataset = load_dataset(data, data_options, artifacts=run.path)
            old = pconfig["data_info"]
            if list(dataset.info.shape) != list(old["shape"]) or dataset.info.num_levels != old.get(
                "num_levels"
            ):
                raise ConfigError(
                    f"data {data} is {tuple(dataset.info.shape)} with {dataset.info.num_levels} levels, but run "
                    f"{parent_run.id} was trained on {tuple(old['shape'])} with {old.get('num_levels')}: "
                    "fine-tune on data of the same shape (e.g. --image-size)"
                )
            with torch_rng_stream(seed=seed):
                model = build_model(family, pconfig["model"], dataset.info)
                try:
                    model.load_state_dict(loaded.model.state_dict())
                except RuntimeError as exc:
                    raise CheckpointError(
                        f"run {parent_run.id}'s weights do not fit a model for {data}: {str(exc).splitlines()[0]}"
                    ) from None
                apply_transfer(model, transfer)
                if lora is not None:
                    transfer["lora_layers"] = sorted(lora_layers(model))
                rng_state = torch.get_rng_state()
            run.write_config(
                {
                    "family": family,
                    "model": pconfig["model"],
                    "train": train_cfg.model_dump(mode="json"),
                    "data": {"spec": data, "options": dict(data_options or {})},
                    "data_info": dataset.info.to_dict(),
                    "seed": seed,
                    "parameters": model.num_parameters(),
                    "trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
                    "transfer": transfer,
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
        except BaseException:
            shutil.rmtree(run.path, ignore_errors=True)
            raise
        with run.training_lock():
            result = _fit_and_finish(trainer, train_cfg, seed, [], stop)
    if lora is not None:
        save_adapter(trainer.model, lora, run.artifact(ADAPTER_DIR))
    return result
