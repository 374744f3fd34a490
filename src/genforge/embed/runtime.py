"""Scoped torch settings for fitting embeddings, restored on exit so library code leaves no global state.

GloVe's scatter-adds and the ELMo-style biLM's small LSTM steps run faster on one CPU thread than on
several competing ones, and dropout draws from torch's global generator; these context managers set both
for the duration of a fit only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """Run the block with ``threads`` intra-op CPU threads, then restore the previous count."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextmanager
def forked_rng(seed: int) -> Iterator[None]:
    """Seed torch's global CPU generator for the block (dropout, init) and restore its state afterwards."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield
