"""The run directory: the only code that knows its layout.

::

    runs/<id>/
      config.json                      resolved config (family, model, train, data, seed, versions)
      metrics.jsonl                    one JSON object per logged step / evaluation
      checkpoints/step-N.safetensors   tensors (model, EMA, optimizer state, RNG states)
      checkpoints/step-N.json          everything else about the checkpoint (step, epoch, time, skeletons)
      samples/                         PNG grids written during training and by ``sample``
      eval.json                        last evaluation result
      model_card.md                    short human summary
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genforge.core import io
from genforge.core.errors import CheckpointError, RunNotFound

DEFAULT_ROOT = Path("runs")
_STEP_RE = re.compile(r"^step-(\d+)\.safetensors$")


@dataclass(frozen=True)
class Run:
    """A handle on one run directory."""

    path: Path

    @property
    def id(self) -> str:
        return self.path.name

    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def checkpoint_dir(self) -> Path:
        return self.path / "checkpoints"

    @property
    def samples_dir(self) -> Path:
        return self.path / "samples"

    @property
    def eval_path(self) -> Path:
        return self.path / "eval.json"

    @property
    def model_card_path(self) -> Path:
        return self.path / "model_card.md"

    def artifact(self, name: str) -> Path:
        """Path for an extra file owned by a capability (e.g. ``tokenizer.json``)."""
        return self.path / name

    # config -------------------------------------------------------------------------------------
    def write_config(self, config: Mapping[str, Any]) -> None:
        io.atomic_write_json(self.config_path, config)

    def read_config(self) -> dict[str, Any]:
        if not self.config_path.exists():
            raise CheckpointError(f"{self.path} has no config.json: not a genforge run directory")
        return io.read_json(self.config_path)

    # metrics ------------------------------------------------------------------------------------
    def log(self, records: Iterable[Mapping[str, Any]]) -> None:
        io.append_jsonl(self.metrics_path, records)

    def read_metrics(self) -> list[dict[str, Any]]:
        return list(io.read_jsonl(self.metrics_path))

    # checkpoints --------------------------------------------------------------------------------
    def checkpoint_steps(self) -> list[int]:
        if not self.checkpoint_dir.exists():
            return []
        steps = []
        for name in os.listdir(self.checkpoint_dir):
            match = _STEP_RE.match(name)
            if match and (self.checkpoint_dir / f"step-{match.group(1)}.json").exists():
                steps.append(int(match.group(1)))
        return sorted(steps)

    def save_checkpoint(
        self, step: int, tensors: Mapping[str, Any], meta: Mapping[str, Any], keep: int = 2
    ) -> Path:
        """Write ``step-N.safetensors`` then ``step-N.json`` (the JSON marks the checkpoint complete)."""
        tensor_path = self.checkpoint_dir / f"step-{step}.safetensors"
        io.save_tensors(tensor_path, tensors)
        io.atomic_write_json(self.checkpoint_dir / f"step-{step}.json", {"step": step, **meta})
        for old in self.checkpoint_steps()[:-keep] if keep > 0 else []:
            (self.checkpoint_dir / f"step-{old}.json").unlink(missing_ok=True)
            (self.checkpoint_dir / f"step-{old}.safetensors").unlink(missing_ok=True)
        return tensor_path

    def load_checkpoint(self, step: int | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        """(tensors, meta) of ``step`` or of the latest complete checkpoint."""
        steps = self.checkpoint_steps()
        if not steps:
            raise CheckpointError(f"run {self.path} has no checkpoint yet: train it first")
        if step is None:
            step = steps[-1]
        elif step not in steps:
            raise CheckpointError(f"run {self.path} has no checkpoint at step {step} (have {steps})")
        meta = io.read_json(self.checkpoint_dir / f"step-{step}.json")
        return io.load_tensors(self.checkpoint_dir / f"step-{step}.safetensors"), meta

    # summary ------------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """Small dict for ``runs list`` / ``runs show``."""
        config = self.read_config()
        steps = self.checkpoint_steps()
        out: dict[str, Any] = {
            "id": self.id,
            "path": str(self.path),
            "family": config.get("family"),
            "data": config.get("data", {}).get("spec"),
            "seed": config.get("seed"),
            "step": steps[-1] if steps else 0,
            "parameters": config.get("parameters"),
            "created": config.get("created"),
        }
        if self.eval_path.exists():
            out["eval"] = io.read_json(self.eval_path)
        return out


def new_run(root: str | os.PathLike, label: str) -> Run:
    """Create ``root/<timestamp>-<label>[-k]`` and return it."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", label).strip("-")[:48]
    base = f"{stamp}-{slug}"
    for k in range(1000):
        path = root / (base if k == 0 else f"{base}-{k}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return Run(path)
    raise CheckpointError(f"could not create a new run directory under {root}")


def resolve_run(ref: str | os.PathLike, root: str | os.PathLike = DEFAULT_ROOT) -> Run:
    """A run from a path, or from an id (or unique id prefix) under ``root``."""
    path = Path(ref)
    if (path / "config.json").exists():
        return Run(path)
    root = Path(root)
    if root.is_dir():
        matches = sorted(
            p for p in root.iterdir() if p.name.startswith(str(ref)) and (p / "config.json").exists()
        )
        if len(matches) == 1:
            return Run(matches[0])
        if len(matches) > 1:
            names = ", ".join(p.name for p in matches[:5])
            raise RunNotFound(f"run id '{ref}' is ambiguous under {root}: {names}")
    if path.exists():
        raise RunNotFound(f"{path} is not a genforge run directory (no config.json)")
    raise RunNotFound(f"no run '{ref}' (not a path, and no run with that id under {root}/)")


def list_runs(root: str | os.PathLike = DEFAULT_ROOT) -> list[Run]:
    """Runs under ``root``, oldest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted((Run(p) for p in root.iterdir() if (p / "config.json").exists()), key=lambda r: r.id)
