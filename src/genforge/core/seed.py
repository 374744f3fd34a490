"""Seeding. Library code takes a ``seed`` or ``torch.Generator``; only entry points call :func:`seed_everything`."""

from __future__ import annotations

import random


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch global RNGs and ask torch for deterministic CPU kernels."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def make_generator(seed: int):
    """A CPU ``torch.Generator`` seeded with ``seed``."""
    import torch

    gen = torch.Generator()
    gen.manual_seed(seed)
    return gen
