"""The dataset registry.

A dataset spec is ``name`` or ``name:arg`` (``digits``, ``toy2d:moons``, ``folder:/path``,
``text:lee``). Each registered factory is called as ``factory(arg, options, artifacts)`` where
``options`` is the validated options config it declared and ``artifacts`` is a directory where it may
keep fitted state (e.g. a tokenizer) so that a run rebuilds exactly the same data later. It returns a
:class:`Dataset`: named splits of tensors plus the :class:`~genforge.models.base.DataInfo` that models
are built from.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genforge.core.config import Config
from genforge.core.errors import DataError, ModelNotFound
from genforge.core.registry import Registry
from genforge.core.suggest import did_you_mean
from genforge.data.info import DataInfo

DATASETS = Registry(
    "dataset",
    modules=[
        "genforge.data.images",
        "genforge.data.toy2d",
        "genforge.data.text",
        "genforge.data.seq2seq_tasks",
        "genforge.data.tabular",
        "genforge.data.synth",
        "genforge.data.captions",
        "genforge.data.scenes",
    ],
)


def register_dataset(
    name: str, *, options: type[Config], kind: str, help: str, examples: list[str] | None = None
):
    """Register ``factory(arg, options, artifacts) -> Dataset`` under ``name``."""
    return DATASETS.register(name, options=options, kind=kind, help=help, examples=examples or [name])


@dataclass
class Dataset:
    """Named splits (``train``/``val``/``test``), each a dict of equally long tensors (``x``, maybe ``y``)."""

    spec: str
    info: DataInfo
    splits: dict[str, dict[str, Any]]
    description: str = ""
    augment: Callable[[dict[str, Any], Any], dict[str, Any]] | None = None  # (batch, generator) -> batch
    extra: dict[str, Any] = field(default_factory=dict)

    def split(self, name: str) -> dict[str, Any]:
        if name not in self.splits:
            raise DataError(f"dataset {self.spec} has no '{name}' split (has {', '.join(self.splits)})")
        return self.splits[name]

    def size(self, name: str) -> int:
        return len(self.split(name)["x"])

    def batches(self, name: str, batch_size: int, limit: int | None = None) -> Iterator[dict[str, Any]]:
        """Ordered, non-shuffled batches of a split (for evaluation)."""
        split = self.split(name)
        total = len(split["x"]) if limit is None else min(limit, len(split["x"]))
        for start in range(0, total, batch_size):
            yield {k: v[start : min(start + batch_size, total)] for k, v in split.items()}

    def describe(self) -> dict[str, Any]:
        return {
            "spec": self.spec,
            "kind": self.info.kind,
            "shape": list(self.info.shape),
            "num_levels": self.info.num_levels,
            "num_classes": self.info.num_classes,
            "vocab_size": self.info.vocab_size,
            "sizes": {name: len(s["x"]) for name, s in self.splits.items()},
            "description": self.description,
            **({"table": self.extra["table"]} if "table" in self.extra else {}),
        }


def parse_spec(spec: str) -> tuple[str, str | None]:
    name, sep, arg = spec.partition(":")
    return name, (arg if sep else None)


def load_dataset(
    spec: str, options: dict[str, Any] | None = None, artifacts: str | Path | None = None
) -> Dataset:
    """Build the dataset named by ``spec`` with validated ``options`` (see ``genforge data list``)."""
    name, arg = parse_spec(spec)
    try:
        entry = DATASETS.get(name)
    except ModelNotFound as exc:  # -> DataError, same message, with the closest name
        message = str(exc).replace("unknown dataset", "unknown dataset spec")
        raise DataError(f"{message}{did_you_mean(name, DATASETS.names())}") from None
    opts = entry.meta["options"].build(options or {}, where=f"{name} data option")
    return entry.obj(arg, opts, Path(artifacts) if artifacts else None)


def list_datasets() -> list[dict[str, Any]]:
    """One dict per registered dataset family: name, kind, help and example specs."""
    return [
        {"name": e.name, "kind": e.meta["kind"], "help": e.meta["help"], "examples": e.meta["examples"]}
        for e in DATASETS.entries()
    ]


def split_indices(n: int, fractions: tuple[float, float, float], seed: int) -> dict[str, Any]:
    """A fixed seeded permutation cut into train/val/test index tensors."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    perm = torch.randperm(n, generator=gen)
    n_val = int(round(n * fractions[1]))
    n_test = int(round(n * fractions[2]))
    n_train = n - n_val - n_test
    return {
        "train": perm[:n_train],
        "val": perm[n_train : n_train + n_val],
        "test": perm[n_train + n_val :],
    }
