"""The run directory: the only code that knows its layout.

::

    runs/<id>/
      config.json                      resolved config (family, model, train, data, seed, versions)
      metrics.jsonl                    one JSON object per logged step / evaluation / event
      checkpoints/step-N.safetensors   tensors (model, EMA, optimizer state, RNG states)
      checkpoints/step-N.json          everything else about the checkpoint (step, epoch, time, skeletons)
                                       and the SHA-256 of step-N.safetensors; written last, so it marks
                                       the checkpoint complete
      samples/                         PNG grids written during training and by ``sample``
      eval.json                        last evaluation result (written when training ends and by ``eval``)
      model_card.md                    short human summary

Every file read here is checked: a damaged file is a :class:`CheckpointError` naming it, and a damaged
latest checkpoint falls back to the previous good one (the caller is told in ``Checkpoint.notes``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genforge.core import io
from genforge.core.errors import CheckpointError, RunNotFound
from genforge.core.paths import check_output_dir

DEFAULT_ROOT = Path("runs")
_STEP_RE = re.compile(r"^step-(\d+)\.safetensors$")
_STALE_TEMP_RE = re.compile(r"^\.step-\d+\.(safetensors|json)\..+\.tmp$")
# config.json keys every reader relies on, with their JSON types
CONFIG_KEYS: dict[str, type | tuple[type, ...]] = {
    "family": str,
    "model": dict,
    "train": dict,
    "data": dict,
    "data_info": dict,
    "seed": int,
}


@dataclass
class Checkpoint:
    """One loaded checkpoint; ``notes`` says which later checkpoints were unreadable and skipped."""

    step: int
    tensors: dict[str, Any]
    meta: dict[str, Any]
    notes: list[str] = field(default_factory=list)


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
        """The run's config, checked to hold the keys every reader uses (a damaged file names itself)."""
        if not self.config_path.exists():
            raise CheckpointError(f"{self.path} has no config.json: not a genforge run directory")
        config = io.read_json_object(self.config_path)
        for key, kind in CONFIG_KEYS.items():
            if not isinstance(config.get(key), kind) or isinstance(config.get(key), bool):
                problem = "has no" if key not in config else "has a malformed"
                raise CheckpointError(f"{self.config_path} {problem} '{key}': the file is damaged")
        if not isinstance(config["data"].get("spec"), str):
            raise CheckpointError(f"{self.config_path} has no data spec: the file is damaged")
        info = config["data_info"]
        if not isinstance(info.get("kind"), str) or not isinstance(info.get("shape"), list):
            raise CheckpointError(f"{self.config_path} has a malformed 'data_info': the file is damaged")
        return config

    # metrics ------------------------------------------------------------------------------------
    def log(self, records: Iterable[Mapping[str, Any]]) -> None:
        io.append_jsonl(self.metrics_path, records)

    def read_metrics(self) -> list[dict[str, Any]]:
        return list(io.read_jsonl(self.metrics_path))

    def drop_metrics_after(self, step: int) -> None:
        """Forget records of steps after ``step`` (and a torn last line): a resumed run logs them again."""
        if not self.metrics_path.exists():
            return
        kept = [r for r in self.read_metrics() if not (_is_int(r.get("step")) and r["step"] > step)]
        io.rewrite_jsonl(self.metrics_path, kept)

    # evaluation ---------------------------------------------------------------------------------
    def write_eval(self, result: Mapping[str, Any]) -> None:
        io.atomic_write_json(self.eval_path, result)

    def read_eval(self) -> dict[str, Any] | None:
        """The last evaluation result, or None when the run has not been evaluated."""
        return io.read_json_object(self.eval_path) if self.eval_path.exists() else None

    # checkpoints --------------------------------------------------------------------------------
    def checkpoint_steps(self) -> list[int]:
        """Steps with both checkpoint files present, oldest first (their content is checked on load)."""
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
        """Write ``step-N.safetensors`` then ``step-N.json`` with the tensors' SHA-256 (the JSON marks the
        checkpoint complete); keep the latest ``keep`` checkpoints."""
        data = io.tensors_to_bytes(tensors)
        tensor_path = io.atomic_write_bytes(self._tensor_path(step), data)
        record = {"step": step, **meta, "tensors_sha256": io.sha256_hex(data)}
        io.atomic_write_json(self._meta_path(step), record)
        for old in self.checkpoint_steps()[:-keep] if keep > 0 else []:
            self._meta_path(old).unlink(missing_ok=True)
            self._tensor_path(old).unlink(missing_ok=True)
        return tensor_path

    def load_checkpoint(
        self, step: int | None = None, require: Mapping[str, type] | None = None
    ) -> Checkpoint:
        """Checkpoint ``step``, or the latest readable one: when the latest is damaged (its JSON, its
        checksum, or a ``require``d key of the given type) the previous good one is used and the
        returned ``notes`` say so."""
        steps = self.checkpoint_steps()
        if not steps:
            raise CheckpointError(f"run {self.path} has no checkpoint yet: train it first")
        if step is not None:
            if step not in steps:
                raise CheckpointError(f"run {self.path} has no checkpoint at step {step} (have {steps})")
            return self._read_checkpoint(step, require or {})
        skipped: list[tuple[int, CheckpointError]] = []
        for candidate in reversed(steps):
            try:
                checkpoint = self._read_checkpoint(candidate, require or {})
            except CheckpointError as exc:
                skipped.append((candidate, exc))
                continue
            checkpoint.notes = [
                f"checkpoint step {bad} is unreadable ({exc}); using step {candidate} instead"
                for bad, exc in skipped
            ]
            return checkpoint
        first = skipped[0][1]
        later = "" if len(steps) == 1 else f"; no earlier checkpoint of run {self.id} is readable either"
        raise CheckpointError(f"{first}{later}")

    def latest_checkpoint_meta(self) -> dict[str, Any]:
        """Metadata of the latest checkpoint whose JSON reads ({} when there is none); tensors unchecked."""
        for step in reversed(self.checkpoint_steps()):
            with contextlib.suppress(CheckpointError):
                return io.read_json_object(self._meta_path(step))
        return {}

    def set_aside_checkpoints_after(self, step: int) -> list[int]:
        """Rename the files of checkpoints after ``step`` to ``*.damaged`` (a resume from an earlier,
        good checkpoint rewrites that future); returns their steps."""
        later = [s for s in self.checkpoint_steps() if s > step]
        for s in later:
            for path in (self._meta_path(s), self._tensor_path(s)):
                if path.exists():
                    path.replace(path.with_name(path.name + ".damaged"))
        return later

    def remove_stale_temp_files(self) -> int:
        """Delete temporary files left by a checkpoint write that was killed midway; returns how many."""
        if not self.checkpoint_dir.exists():
            return 0
        stale = [p for p in self.checkpoint_dir.iterdir() if _STALE_TEMP_RE.match(p.name)]
        for path in stale:
            path.unlink(missing_ok=True)
        return len(stale)

    @contextlib.contextmanager
    def training_lock(self) -> Iterator[None]:
        """Hold the run's training lock: a second process training the same run is refused."""
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        with open(self.checkpoint_dir / ".lock", "a+") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise CheckpointError(
                    f"run {self.id} is being trained by another process: wait for it to finish"
                ) from None
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def is_training(self) -> bool:
        """Whether a process holds this run's training lock right now (a live run)."""
        lock = self.checkpoint_dir / ".lock"
        if not lock.exists():
            return False
        with open(lock, "a+") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            return False

    def _meta_path(self, step: int) -> Path:
        return self.checkpoint_dir / f"step-{step}.json"

    def _tensor_path(self, step: int) -> Path:
        return self.checkpoint_dir / f"step-{step}.safetensors"

    def _read_checkpoint(self, step: int, require: Mapping[str, type]) -> Checkpoint:
        path = self._meta_path(step)
        meta = io.read_json_object(path)
        if meta.get("step") != step:
            raise CheckpointError(f"{path} names step {meta.get('step')!r}, not {step}: the file is damaged")
        for key, kind in require.items():
            if not isinstance(meta.get(key), kind):
                problem = "lacks" if key not in meta else "has a malformed"
                raise CheckpointError(f"{path} {problem} '{key}': the file is damaged")
        digest = meta.get("tensors_sha256")
        if digest is not None and not isinstance(digest, str):
            raise CheckpointError(f"{path} has a malformed 'tensors_sha256': the file is damaged")
        return Checkpoint(step, io.load_tensors(self._tensor_path(step), sha256=digest), meta)

    # summary ------------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """Small dict for ``runs list`` / ``runs show`` (a damaged file raises CheckpointError)."""
        config = self.read_config()
        steps = self.checkpoint_steps()
        out: dict[str, Any] = {
            "id": self.id,
            "path": str(self.path),
            "family": config["family"],
            "data": config["data"]["spec"],
            "seed": config["seed"],
            "step": steps[-1] if steps else 0,
            "parameters": config.get("parameters"),
            "created": config.get("created"),
        }
        evaluation = self.read_eval()
        if evaluation is not None:
            out["eval"] = evaluation
        return out


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def new_run(root: str | os.PathLike, label: str) -> Run:
    """Create ``root/<timestamp>-<label>[-k]`` and return it (a root that cannot be written is one line)."""
    root = check_output_dir(root)
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
    if (root / str(ref) / "config.json").exists():  # an exact id wins over ids it is a prefix of
        return Run(root / str(ref))
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
    return sorted((Run(p) for p in root.iterdir() if (p / "config.json").is_file()), key=lambda r: r.id)
