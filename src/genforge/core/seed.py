"""Seeding. Library code takes a ``seed`` or ``torch.Generator``; only entry points call :func:`seed_everything`.

Where torch offers only its global RNG (``nn.Module`` initialisation, dropout, ``randn_like`` inside a
model), library code runs the work inside :func:`torch_rng_stream`, which gives the block its own stream
and gives the caller's stream back afterwards: the global RNG is never left changed by a library call.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from typing import Any


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch global RNGs and ask torch for deterministic CPU kernels."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    deterministic_kernels()


def deterministic_kernels() -> None:
    """Ask torch for deterministic kernels, warning where an op has none.

    ``torch.use_deterministic_algorithms`` also imports ``torch._inductor.config`` (about 1.5 s on
    this machine, before a run's first step) only to set inductor's flag; genforge never compiles
    with inductor, so the flag is set there only when something has already imported it.
    """
    import sys

    import torch

    torch._C._set_deterministic_algorithms(True, warn_only=True)
    inductor_config = sys.modules.get("torch._inductor.config")
    if inductor_config is not None:
        inductor_config.deterministic = True


def make_generator(seed: int):
    """A CPU ``torch.Generator`` seeded with ``seed``."""
    import torch

    gen = torch.Generator()
    gen.manual_seed(seed)
    return gen


@contextlib.contextmanager
def torch_rng_stream(seed: int | None = None, state: Any = None) -> Iterator[None]:
    """Run the block on a stream of torch's global CPU RNG that starts from ``seed`` (or from a saved
    ``state``, a ``torch.get_rng_state()`` tensor); the caller's global RNG state is restored on exit."""
    import torch

    with torch.random.fork_rng(devices=[]):
        if state is not None:
            torch.set_rng_state(state)
        elif seed is not None:
            torch.manual_seed(seed)
        yield
