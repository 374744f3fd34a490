"""What the trainer does differently when it is one of several data-parallel processes.

The loop stays the one in :mod:`genforge.trainer.loop`; a :class:`Distributed` handed to the trainer
changes four things. (1) The batch of step ``s`` is this rank's shard of the same global batch (the
step's slice of the seeded epoch permutation, ranks taking every ``world_size``-th example), so the
global batch is ``batch_size`` as in one process and exact resume still holds. (2) The forward pass
runs through :class:`torch.nn.parallel.DistributedDataParallel`, which averages gradients over ranks
(gloo, CPU). (3) Every other random draw of a step (reparameterisation noise, dropout) comes from a
stream seeded by ``(seed, rank, step)``, so no rank's RNG state needs saving for a resume. (4) The
ranks agree on when to stop (a step budget, the time budget of rank 0's clock, a signal on any rank)
through one small all-reduce per step, and the logged training terms are their mean over ranks, so all
ranks hold the same counters. Only rank 0 writes (logs, samples, checkpoints).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import torch
from torch import nn

from genforge.core.errors import ConfigError

STOP_CODES = {"": 0, "completed": 1, "time_budget": 2, "interrupted": 3}


class _LossForward(nn.Module):
    """Makes ``model.loss(batch)`` the ``forward`` that DistributedDataParallel wraps."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return self.model.loss(batch)


@dataclass
class Distributed:
    """This process's place in an initialised ``torch.distributed`` process group."""

    rank: int
    world_size: int

    @classmethod
    def current(cls) -> Distributed:
        import torch.distributed as dist

        return cls(rank=dist.get_rank(), world_size=dist.get_world_size())

    @property
    def is_writer(self) -> bool:
        return self.rank == 0

    def check(self, model: nn.Module, batch_size: int) -> None:
        if hasattr(model, "train_step"):
            raise ConfigError(
                "distributed training needs a family with one optimizer (vae, pixelcnn, realnvp, gpt, "
                "lstm-lm, gru-lm, seq2seq); multi-optimizer families (gan) train in one process"
            )
        if batch_size % self.world_size:
            raise ConfigError(
                f"the global batch ({batch_size}) must divide evenly over {self.world_size} processes: "
                f"--set batch_size={batch_size - batch_size % self.world_size or self.world_size}"
            )

    def wrap(self, model: nn.Module) -> nn.Module:
        """``model.loss`` behind DistributedDataParallel (it broadcasts rank 0's weights once)."""
        return nn.parallel.DistributedDataParallel(_LossForward(model))

    def shard(self, ids: torch.Tensor) -> torch.Tensor:
        return ids[self.rank :: self.world_size]

    def seed_step(self, seed: int, step: int) -> None:
        """Seed the run's stream (the global RNG inside the trainer's stream) for ``step`` on this rank."""
        torch.manual_seed((seed * 1_000_003 + step) * 4_099 + self.rank)

    def mean_terms(self, terms: dict[str, float]) -> dict[str, float]:
        """The step's logged terms averaged over ranks (keys are the same on every rank)."""
        import torch.distributed as dist

        keys = sorted(terms)
        values = torch.tensor([terms[k] for k in keys], dtype=torch.float64)
        dist.all_reduce(values)
        return {k: float(v) / self.world_size for k, v in zip(keys, values, strict=True)}

    def all_true(self, flag: bool) -> bool:
        import torch.distributed as dist

        values = torch.tensor([int(flag)], dtype=torch.int64)
        dist.all_reduce(values, op=dist.ReduceOp.MIN)
        return bool(values[0])

    def agree_stop(self, reason: str) -> str:
        """One stop decision for all ranks: any rank's signal, rank 0's clock, the shared step budget."""
        import torch.distributed as dist

        code = STOP_CODES[reason]
        if reason == "time_budget" and not self.is_writer:
            code = 0  # only rank 0's clock counts, so every rank stops after the same step
        values = torch.tensor([code], dtype=torch.int64)
        dist.all_reduce(values, op=dist.ReduceOp.MAX)
        return {v: k for k, v in STOP_CODES.items()}[int(values[0])]


def weights_digest(model: nn.Module) -> str:
    """SHA-256 of a model's parameters and buffers, to show that every rank holds the same weights."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().contiguous().cpu().numpy().tobytes())
    return digest.hexdigest()
