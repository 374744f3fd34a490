"""Seeded random weights for the FID InceptionV3 layout (shared by the tests and tests/golden/make_metrics_goldens.py).

The real FID weights cannot be downloaded here and genforge has never loaded them, so the architecture
is checked against torch-fidelity's implementation with the same random weights loaded into both. That
shows the graph, parameter names, resize and scaling agree; it says nothing about FID values with the
real weights.
"""

from __future__ import annotations

import torch

from genforge.metrics.extractors.inception_v3 import FIDInceptionV3


def random_fid_inception_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """A state dict with the standard FID weight names: He-normal convs, perturbed batch-norm statistics."""
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for name, ref in sorted(FIDInceptionV3().state_dict().items()):
        shape = ref.shape
        if name.endswith("num_batches_tracked"):
            state[name] = torch.zeros((), dtype=torch.long)
        elif name.endswith("conv.weight"):
            fan_in = shape[1] * shape[2] * shape[3]
            state[name] = torch.randn(shape, generator=gen) * (2.0 / fan_in) ** 0.5
        elif name.endswith("bn.weight"):
            state[name] = 1.0 + 0.1 * torch.randn(shape, generator=gen)
        elif name.endswith(("bn.bias", "bn.running_mean")):
            state[name] = 0.1 * torch.randn(shape, generator=gen)
        elif name.endswith("bn.running_var"):
            state[name] = 1.0 + 0.2 * torch.rand(shape, generator=gen)
        else:  # fc.weight, fc.bias
            state[name] = 0.05 * torch.randn(shape, generator=gen)
    return state
