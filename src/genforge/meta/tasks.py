"""Task samplers for meta-learning, built offline from a seeded ``torch.Generator``.

Sinusoid regression (Finn et al. 2017): a task is ``y = A sin(x - phase)`` with amplitude ``A`` uniform
in [0.1, 5] and phase uniform in [0, pi]; inputs are uniform in [-5, 5]. A batch holds ``num_tasks``
tasks, each with ``shots`` support points to adapt on and ``query`` points to score the adapted model.
"""

from __future__ import annotations

import math

import torch

TASKS = ("sinusoid",)


def sinusoid_batch(
    num_tasks: int, shots: int, query: int, generator: torch.Generator
) -> dict[str, torch.Tensor]:
    """``xs, ys`` (num_tasks, shots, 1), ``xq, yq`` (num_tasks, query, 1), ``amplitude``/``phase`` (num_tasks,)."""
    amplitude = 0.1 + 4.9 * torch.rand(num_tasks, generator=generator)
    phase = math.pi * torch.rand(num_tasks, generator=generator)
    x = -5.0 + 10.0 * torch.rand(num_tasks, shots + query, 1, generator=generator)
    y = amplitude.view(-1, 1, 1) * torch.sin(x - phase.view(-1, 1, 1))
    return {
        "xs": x[:, :shots],
        "ys": y[:, :shots],
        "xq": x[:, shots:],
        "yq": y[:, shots:],
        "amplitude": amplitude,
        "phase": phase,
    }
