"""Multi-layer perceptrons for low-dimensional data (2-D toy densities, coupling nets on vectors)."""

from __future__ import annotations

from torch import nn


def mlp(
    in_dim: int,
    out_dim: int,
    hidden: int = 128,
    depth: int = 3,
    activation: type[nn.Module] = nn.SiLU,
    zero_last: bool = False,
) -> nn.Sequential:
    """``depth`` hidden layers of width ``hidden``; ``zero_last`` initialises the output layer to zero
    (so residual/coupling nets start as the identity)."""
    layers: list[nn.Module] = []
    width = in_dim
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), activation()]
        width = hidden
    last = nn.Linear(width, out_dim)
    if zero_last:
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
    layers.append(last)
    return nn.Sequential(*layers)
