"""Training runs as one call: ``train(family, data)``, ``resume(run)``, ``load_run(run)``.

This is the Python API behind ``genforge train``; the CLI only parses flags and renders progress.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from genforge import __version__
from genforge.core.config import split_overrides
from genforge.core.errors import CheckpointError, ConfigError
from genforge.core.io import atomic_write_text
from genforge.core.runs import Run, new_run, resolve_run
from genforge.core.seed import make_generator, seed_everything
from genforge.data import Dataset, load_dataset
from genforge.data.info import DataInfo
from genforge.models.base import MODELS, GenerativeModel, build_model
from genforge.render.images import save_image_grid, save_points_plot, save_text_samples
from genforge.trainer.loop import ProgressFn, TrainConfig, Trainer, TrainResult


@dataclass
class LoadedRun:
    """A trained model ready for sampling/evaluation (eval mode, EMA weights when the run has them)."""

    run: Run
    model: GenerativeModel
    dataset: Dataset | None  # None when loaded with data=False
    config: dict[str, Any]
    step: int


def resolve_configs(family: str, overrides: dict[str, Any] | None) -> tuple[Any, TrainConfig]:
    """Validated (model config, train config) for ``family`` with ``--set``-style overrides applied."""
    entry = MODELS.get(family)
    model_cls = entry.meta["config"]
    routed = split_overrides(overrides or {}, {"model": model_cls, "train": TrainConfig})
    train_values = {**entry.meta.get("train_defaults", {}), **routed["train"]}
    return model_cls.build(routed["model"], where=f"{family} model"), TrainConfig.build(
        train_values, where="train"
    )


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
) -> TrainResult:
    """Train ``family`` (vae, gan, pixelcnn, realnvp, …) on ``data`` (a dataset spec) into a new run.

    ``overrides`` are model or trainer config keys (``{"loss": "hinge", "lr": 2e-4}``); budgets default
    to the trainer's (5 minutes) when neither ``max_steps`` nor ``max_minutes`` is given.
    """
    overrides = dict(overrides or {})
    if max_steps is not None:
        overrides["max_steps"] = max_steps
    if max_minutes is not None:
        overrides["max_minutes"] = max_minutes
    model_cfg, train_cfg = resolve_configs(family, overrides)
    run = new_run(out, f"{family}-{data.split(':')[0]}")
    try:
        dataset = load_dataset(data, data_options, artifacts=run.path)
        seed_everything(seed)
        model = build_model(family, model_cfg, dataset.info)
        config = {
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
        run.write_config(config)
    except BaseException:
        shutil.rmtree(run.path, ignore_errors=True)
        raise
    trainer = Trainer(
        model,
        dataset,
        train_cfg,
        run,
        seed=seed,
        progress=progress,
        write_samples=sample_writer(run, dataset, train_cfg.num_samples, seed),
    )
    result = trainer.fit()
    write_model_card(run)
    return result


def resume(
    run: str | Path | Run,
    *,
    max_steps: int | None = None,
    max_minutes: float | None = None,
    progress: ProgressFn | None = None,
) -> TrainResult:
    """Continue a run from its latest checkpoint, exactly where it stopped.

    The step budget is the original one unless ``max_steps`` raises it; ``max_minutes`` bounds this session.
    """
    run = run if isinstance(run, Run) else resolve_run(run)
    config = run.read_config()
    tensors, meta = run.load_checkpoint()
    train_values = dict(config["train"])
    if max_steps is not None:
        train_values["max_steps"] = max_steps
    if max_minutes is not None or max_steps is not None:
        train_values["max_minutes"] = max_minutes
    train_cfg = TrainConfig.build(train_values, where="train")
    if train_cfg.max_steps is not None and meta["step"] >= train_cfg.max_steps:
        raise ConfigError(
            f"run {run.id} already reached its step budget ({meta['step']} steps); pass --max-steps N with N > {meta['step']}"
        )
    dataset, model = _rebuild(run, config)
    trainer = Trainer(
        model,
        dataset,
        train_cfg,
        run,
        seed=config["seed"],
        progress=progress,
        write_samples=sample_writer(run, dataset, train_cfg.num_samples, config["seed"]),
    )
    trainer.load_checkpoint(tensors, meta)
    if max_steps is not None or max_minutes is not None:
        run.write_config({**config, "train": train_cfg.model_dump(mode="json")})
    result = trainer.fit()
    write_model_card(run)
    return result


def _rebuild(run: Run, config: dict[str, Any]) -> tuple[Dataset, GenerativeModel]:
    data = config["data"]
    dataset = load_dataset(data["spec"], data.get("options"), artifacts=run.path)
    saved_info = DataInfo.from_dict(config["data_info"])
    if tuple(dataset.info.shape) != saved_info.shape or dataset.info.num_levels != saved_info.num_levels:
        raise CheckpointError(
            f"the data of run {run.id} changed: it was {saved_info.shape} with {saved_info.num_levels} levels, "
            f"now {tuple(dataset.info.shape)} with {dataset.info.num_levels}"
        )
    model = build_model(config["family"], config["model"], saved_info)
    return dataset, model


def load_run(
    run: str | Path | Run, *, ema: bool = True, step: int | None = None, data: bool = True
) -> LoadedRun:
    """Load a trained run for sampling or evaluation (EMA weights when present and ``ema``).

    ``data=False`` builds the model from the data description saved in the run without rebuilding the
    dataset (``dataset`` is None): what generation needs, and it works after the corpus is gone.
    """
    run = run if isinstance(run, Run) else resolve_run(run)
    config = run.read_config()
    tensors, meta = run.load_checkpoint(step)
    if data:
        dataset, model = _rebuild(run, config)
    else:
        dataset, model = (
            None,
            build_model(config["family"], config["model"], DataInfo.from_dict(config["data_info"])),
        )
    prefix = "ema." if ema and any(k.startswith("ema.") for k in tensors) else "model."
    state = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
    state.update({k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)})
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise CheckpointError(
            f"checkpoint of run {run.id} does not fit its model config: {str(exc).splitlines()[0]}"
        ) from None
    model.eval()
    return LoadedRun(run=run, model=model, dataset=dataset, config=config, step=int(meta["step"]))


def sample_writer(run: Run, dataset: Dataset, num_samples: int, seed: int):
    """The callback the trainer uses to write ``samples/step-N.png`` (or ``.txt`` for text)."""

    def write(model: GenerativeModel, step: int) -> None:
        render_samples(model, dataset, run.samples_dir / f"step-{step:06d}", num_samples, seed)

    return write


def render_samples(
    model: GenerativeModel, dataset: Dataset, stem: Path, n: int, seed: int, **opts: Any
) -> Path | None:
    """Draw ``n`` samples and write them next to ``stem`` as the data kind's natural picture/text."""
    generator = make_generator(seed)
    kind = model.info.kind
    if kind == "image":
        return save_image_grid(model.sample(n, generator=generator, **opts), stem.with_suffix(".png"))
    if kind == "points":
        samples = model.sample(max(n, 2000), generator=generator, **opts)
        density = model.log_prob if model.has("log_prob") else None
        return save_points_plot(
            samples,
            stem.with_suffix(".png"),
            data=dataset.split("test")["x"],
            log_density=density,
            title=f"{model.info.kind} samples",
        )
    if kind == "tokens" and "decode" in dataset.extra:
        ids = model.sample(min(n, 4), generator=generator, **opts)
        return save_text_samples(
            [dataset.extra["decode"](row.tolist()) for row in ids], stem.with_suffix(".txt")
        )
    return None


def write_model_card(run: Run) -> None:
    """A short human summary of the run: data, family, size, training and evaluation figures."""
    from genforge.core.io import read_json

    config = run.read_config()
    steps = run.checkpoint_steps()
    meta = read_json(run.checkpoint_dir / f"step-{steps[-1]}.json") if steps else {}
    train_rows = [r for r in run.read_metrics() if r.get("split") == "train"]
    last = train_rows[-1] if train_rows else {}
    lines = [
        f"# {config['family']} on {config['data']['spec']}",
        "",
        f"- run: `{run.id}`",
        f"- family: {config['family']} ({config['parameters']:,} parameters)",
        f"- data: `{config['data']['spec']}`, example shape {tuple(config['data_info']['shape'])}",
        f"- seed: {config['seed']}",
        f"- trained: {meta.get('step', 0)} steps in {meta.get('elapsed_s', 0):.0f} s ({meta.get('status', 'unknown')})",
    ]
    if last:
        lines.append(f"- last training loss: {last.get('loss', float('nan')):.4f}")
    if run.eval_path.exists():
        result = read_json(run.eval_path)
        lines += ["", "## Evaluation", ""]
        lines += [
            f"- {k}: {v:.4f}" if isinstance(v, float) else f"- {k}: {v}"
            for k, v in result.items()
            if not isinstance(v, dict | list)
        ]
    lines += ["", "Model config:", "", "```json"]
    import json

    lines += [json.dumps(config["model"], indent=2), "```", ""]
    atomic_write_text(run.model_card_path, "\n".join(lines))
