"""A trained run back in memory: ``load_run(run)`` for sampling, evaluation and generation.

The model is rebuilt from the run's config and data description, its weights come from the latest
readable checkpoint (EMA weights when the run has them); a damaged latest checkpoint falls back to the
previous one and ``LoadedRun.notes`` says so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genforge.core.errors import CheckpointError, GenforgeError
from genforge.core.runs import Run, resolve_run
from genforge.data import Dataset, load_dataset
from genforge.data.info import DataInfo
from genforge.models.base import GenerativeModel, build_model

logger = logging.getLogger(__name__)


@dataclass
class LoadedRun:
    """A trained model ready for sampling/evaluation (eval mode, EMA weights when the run has them)."""

    run: Run
    model: GenerativeModel
    dataset: Dataset | None  # None when loaded with data=False
    config: dict[str, Any]
    step: int
    notes: list[str] = field(default_factory=list)  # e.g. a damaged latest checkpoint was skipped


def as_run(run: str | Path | Run) -> Run:
    return run if isinstance(run, Run) else resolve_run(run)


def data_info(run: Run, config: dict[str, Any]) -> DataInfo:
    """The data description saved in the run (a damaged one names the file)."""
    try:
        return DataInfo.from_dict(config["data_info"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{run.config_path} has a malformed 'data_info' ({exc})") from None


def build_run_model(run: Run, config: dict[str, Any], info: DataInfo | None = None) -> GenerativeModel:
    """The run's model, freshly initialised from its saved config (no weights loaded)."""
    try:
        model = build_model(config["family"], config["model"], info or data_info(run, config))
    except GenforgeError as exc:
        raise CheckpointError(
            f"{run.config_path} does not describe a model genforge can build: {exc}"
        ) from None
    if config.get("transfer"):  # a fine-tune run: its adapters / frozen parts (pipelines/finetune.py)
        from genforge.transfer.freeze import apply_transfer

        apply_transfer(model, config["transfer"])
    return model


def rebuild_dataset(run: Run, config: dict[str, Any]) -> Dataset:
    """The run's dataset, rebuilt from its spec, checked to match the data the run was trained on."""
    data = config["data"]
    dataset = load_dataset(data["spec"], data.get("options"), artifacts=run.path)
    saved = data_info(run, config)
    if tuple(dataset.info.shape) != saved.shape or dataset.info.num_levels != saved.num_levels:
        raise CheckpointError(
            f"the data of run {run.id} changed: it was {saved.shape} with {saved.num_levels} levels, "
            f"now {tuple(dataset.info.shape)} with {dataset.info.num_levels}"
        )
    return dataset


def load_run(
    run: str | Path | Run, *, ema: bool = True, step: int | None = None, data: bool = True
) -> LoadedRun:
    """Load a trained run for sampling or evaluation (EMA weights when present and ``ema``).

    ``data=False`` builds the model from the data description saved in the run without rebuilding the
    dataset (``dataset`` is None): what generation needs, and it works after the corpus is gone.
    """
    run = as_run(run)
    config = run.read_config()
    checkpoint = run.load_checkpoint(step)
    for note in checkpoint.notes:
        logger.warning("note: %s", note)  # printed on stderr when the caller set up no logging
    dataset = rebuild_dataset(run, config) if data else None
    model = build_run_model(run, config)
    tensors = checkpoint.tensors
    prefix = "ema." if ema and any(k.startswith("ema.") for k in tensors) else "model."
    state = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
    state.update({k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)})
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise CheckpointError(
            f"checkpoint of run {run.id} does not fit its model config: {str(exc).splitlines()[0]}"
        ) from None
    if (config.get("transfer") or {}).get("lora") is not None:  # adapters merged: the parent's architecture
        from genforge.transfer.lora import remove_lora

        remove_lora(model)
    model.eval()
    return LoadedRun(
        run=run, model=model, dataset=dataset, config=config, step=checkpoint.step, notes=checkpoint.notes
    )
