"""What a checkpoint holds beyond the weights, so that a resumed run continues exactly, and the loop's clock.

:class:`Counters` is the loop's own progress (early-stopping bookkeeping and the partly filled window of
training terms that the next log line averages); :func:`pack` and :func:`unpack` turn the model,
optimizers, EMA, best weights and RNG state into one flat tensor dict plus JSON and back.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from genforge.core.errors import CheckpointError
from genforge.core.io import flatten_state, unflatten_state
from genforge.trainer.optim import EMA


@dataclass
class Counters:
    """The loop's progress that is not in any tensor."""

    best_val: float | None = None  # best validation loss so far (None before the first evaluation)
    best_step: int | None = None
    best_terms: dict[str, float] = field(default_factory=dict)  # the full validation record at best_step
    evals_since_best: int = 0
    window: dict[str, float] = field(default_factory=dict)  # sums of training terms since the last log
    window_count: int = 0
    last_train: dict[str, float] = field(default_factory=dict)
    last_val: dict[str, float] = field(default_factory=dict)

    def copy(self) -> Counters:
        return copy.deepcopy(self)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> Counters:
        saved = meta.get("counters")
        if isinstance(saved, dict):
            try:
                return cls(**saved)
            except TypeError as exc:
                raise CheckpointError(f"checkpoint counters are malformed ({exc})") from None
        best = meta.get("best_val")  # checkpoints written before the counters existed
        return cls(
            best_val=None if best is None or math.isinf(best) else float(best),
            evals_since_best=int(meta.get("evals_since_best", 0)),
        )


def _prefixed(prefix: str, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {f"{prefix}{k}": v for k, v in state.items()}


def _strip(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}


def pack(
    model: torch.nn.Module,
    optimizers: dict[str, torch.optim.Optimizer],
    ema: EMA | None,
    best_weights: dict[str, dict[str, torch.Tensor]] | None,
    rng_state: torch.Tensor,
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Flat tensors (``model.``, ``optim.<name>.``, ``ema.``, ``best.model.``, ``best.ema.``,
    ``rng.torch``) and the JSON that goes with them (optimizer skeletons, EMA update count)."""
    tensors = _prefixed("model.", model.state_dict())
    meta: dict[str, Any] = {"optimizers": {}, "ema_updates": None}
    for name, opt in optimizers.items():
        opt_tensors, skeleton = flatten_state(opt.state_dict(), f"optim.{name}")
        tensors.update(opt_tensors)
        meta["optimizers"][name] = skeleton
    if ema is not None:
        tensors.update(_prefixed("ema.", ema.state_dict()))
        meta["ema_updates"] = ema.updates
    for part, state in (best_weights or {}).items():
        tensors.update(_prefixed(f"best.{part}.", state))
    tensors["rng.torch"] = rng_state
    return tensors, meta


def unpack(
    tensors: dict[str, torch.Tensor],
    meta: dict[str, Any],
    model: torch.nn.Module,
    optimizers: dict[str, torch.optim.Optimizer],
    ema: EMA | None,
) -> tuple[dict[str, dict[str, torch.Tensor]] | None, torch.Tensor]:
    """Load what :func:`pack` wrote into ``model``, ``optimizers`` and ``ema``; returns the best weights
    (or None) and the RNG state. A checkpoint that does not fit is a CheckpointError."""
    try:
        model.load_state_dict(_strip("model.", tensors))
        for name, opt in optimizers.items():
            opt.load_state_dict(unflatten_state(meta["optimizers"][name], tensors))
        if ema is not None and meta.get("ema_updates") is not None:
            ema.load_state_dict(_strip("ema.", tensors), int(meta["ema_updates"]))
        rng_state = tensors["rng.torch"]
    except (KeyError, RuntimeError, ValueError, TypeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(
            f"checkpoint step {meta.get('step')} does not fit this model and trainer config: {first}"
        ) from None
    best = {part: _strip(f"best.{part}.", tensors) for part in ("model", "ema")}
    best = {part: state for part, state in best.items() if state}
    return best or None, rng_state


def clone_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in state.items()}


class Clock:
    """Wall time of a session, of the run so far, since the last checkpoint and the last log line."""

    def __init__(self, elapsed_before: float) -> None:
        self.before = elapsed_before
        self.start = self.last_checkpoint = self.window_start = time.perf_counter()

    def session(self) -> float:
        return time.perf_counter() - self.start

    def elapsed(self) -> float:
        return self.before + self.session()

    def since_checkpoint(self) -> float:
        return time.perf_counter() - self.last_checkpoint

    def checkpointed(self) -> None:
        self.last_checkpoint = time.perf_counter()

    def since_window(self) -> float:
        return time.perf_counter() - self.window_start

    def window_started(self) -> None:
        self.window_start = time.perf_counter()
