"""The reference every image likelihood model must beat: independent per-pixel categorical distributions.

Each pixel/channel gets its own categorical over the ``num_levels`` values, fitted on the training split
with add-``alpha`` (Laplace) smoothing; its test log-likelihood is exact, so bits/dim are comparable with
the families' test bits/dim.
"""

from __future__ import annotations

import math

import torch


def pixel_categorical_bits_per_dim(
    train_x: torch.Tensor, test_x: torch.Tensor, num_levels: int, alpha: float = 1.0
) -> float:
    """Test bits/dim of per-dimension categoricals fitted on ``train_x``; both ``(N, ...)`` integer levels."""
    train = train_x.reshape(len(train_x), -1).long()
    test = test_x.reshape(len(test_x), -1).long()
    dims = train.shape[1]
    counts = torch.full((dims, num_levels), float(alpha))
    counts.scatter_add_(1, train.t(), torch.ones_like(train.t(), dtype=torch.float))
    log_probs = (counts / counts.sum(1, keepdim=True)).log()
    nll = -log_probs.gather(1, test.t()).sum(0)  # (N,) nats
    return float(nll.mean() / (dims * math.log(2.0)))
