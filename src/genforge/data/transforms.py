"""Composable, tested preprocessing transforms for tensors.

Plain callables ``t(x, generator=None) -> x`` so they compose with :class:`Compose` and work on any
batch shape. Fitted transforms (:class:`Standardize`) follow the scikit-learn split: the constructor
stores settings, ``fit`` learns attributes ending in ``_``. Written here rather than taken from
torchvision, which does not import beside the CPU torch wheel these machines use.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from genforge.core.errors import ConfigError


class Transform:
    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        raise NotImplementedError

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.endswith("_"))
        return f"{type(self).__name__}({fields})"


class Compose(Transform):
    def __init__(self, transforms: Sequence[Transform]) -> None:
        self.transforms = list(transforms)

    def __call__(self, x, generator=None):
        for t in self.transforms:
            x = t(x, generator)
        return x


class ToUnit(Transform):
    """Integer levels in ``[0, num_levels)`` -> floats in ``[0, 1]`` (``level / (num_levels - 1)``)."""

    def __init__(self, num_levels: int) -> None:
        self.num_levels = num_levels

    def __call__(self, x, generator=None):
        return x.float() / (self.num_levels - 1)


class ToSymmetric(Transform):
    """Integer levels -> floats in ``[-1, 1]``."""

    def __init__(self, num_levels: int) -> None:
        self.num_levels = num_levels

    def __call__(self, x, generator=None):
        return x.float() / (self.num_levels - 1) * 2.0 - 1.0


class FromSymmetric(Transform):
    """Floats in ``[-1, 1]`` -> ``[0, 1]`` (clamped: for display and metrics of generated images)."""

    def __call__(self, x, generator=None):
        return ((x + 1.0) / 2.0).clamp(0.0, 1.0)


class Dequantize(Transform):
    """Uniform dequantization: levels ``k`` -> ``(k + u) / num_levels`` with ``u ~ U[0, 1)``.

    The result lies in ``[0, 1)`` and each level owns a bin of width ``1 / num_levels``; a continuous
    density ``p`` on it bounds the discrete likelihood: ``log P(k) >= E_u[log p(y)] - D log num_levels``
    (Theis et al. 2016). :func:`dequantization_correction` returns that ``- D log num_levels`` term.
    """

    def __init__(self, num_levels: int) -> None:
        self.num_levels = num_levels

    def __call__(self, x, generator=None):
        noise = torch.rand(x.shape, generator=generator, dtype=torch.float32)
        return (x.float() + noise) / self.num_levels


def dequantization_correction(num_dims: int, num_levels: int) -> float:
    """Nats to add to a continuous log-density on ``[0,1)^D`` to bound the discrete log-likelihood."""
    import math

    return -num_dims * math.log(num_levels)


class Binarize(Transform):
    """Floats in ``[0, 1]`` (or levels with ``num_levels``) -> {0, 1} by threshold, or stochastically
    (``x ~ Bernoulli(p)``) when ``stochastic=True``."""

    def __init__(
        self, threshold: float = 0.5, num_levels: int | None = None, stochastic: bool = False
    ) -> None:
        self.threshold = threshold
        self.num_levels = num_levels
        self.stochastic = stochastic

    def __call__(self, x, generator=None):
        p = x.float() / (self.num_levels - 1) if self.num_levels else x.float()
        if self.stochastic:
            return (torch.rand(p.shape, generator=generator) < p).float()
        return (p >= self.threshold).float()


class Quantize(Transform):
    """Floats in ``[0, 1]`` -> integer levels ``round(x * (levels - 1))`` as ``long``."""

    def __init__(self, levels: int) -> None:
        if levels < 2:
            raise ConfigError(f"quantize needs at least 2 levels, got {levels}")
        self.levels = levels

    def __call__(self, x, generator=None):
        return torch.round(x.clamp(0, 1) * (self.levels - 1)).long()


class Standardize(Transform):
    """Per-feature (or per-channel for images) zero mean, unit variance; ``fit`` learns ``mean_``/``std_``."""

    def __init__(self, dims: tuple[int, ...] = (0,), eps: float = 1e-8) -> None:
        self.dims = dims
        self.eps = eps

    def fit(self, x: torch.Tensor) -> Standardize:
        x = x.double()
        self.mean_ = x.mean(dim=self.dims, keepdim=True).float()
        self.std_ = x.std(dim=self.dims, keepdim=True, correction=0).float()
        return self

    def __call__(self, x, generator=None):
        if not hasattr(self, "mean_"):
            raise ConfigError("Standardize must be fitted before use: call .fit(train_data)")
        return (x.float() - self.mean_) / (self.std_ + self.eps)

    def inverse(self, x: torch.Tensor) -> torch.Tensor:
        return x * (self.std_ + self.eps) + self.mean_


class RandomHorizontalFlip(Transform):
    """Flip each image of a ``(B, C, H, W)`` batch left-right with probability ``p``."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def __call__(self, x, generator=None):
        flip = torch.rand(x.shape[0], generator=generator) < self.p
        out = x.clone()
        out[flip] = x[flip].flip(-1)
        return out


class RandomShift(Transform):
    """Translate each image by up to ``max_shift`` pixels in x and y, filling with ``fill``."""

    def __init__(self, max_shift: int = 1, fill: float = 0) -> None:
        self.max_shift = max_shift
        self.fill = fill

    def __call__(self, x, generator=None):
        m = self.max_shift
        if m == 0:
            return x
        b, _, h, w = x.shape
        padded = torch.nn.functional.pad(x.float(), (m, m, m, m), value=float(self.fill)).to(x.dtype)
        offsets = torch.randint(0, 2 * m + 1, (b, 2), generator=generator)
        rows = torch.arange(h)[None, :] + offsets[:, :1]  # (B, H)
        cols = torch.arange(w)[None, :] + offsets[:, 1:]  # (B, W)
        batch_idx = torch.arange(b)[:, None, None]
        out = padded.permute(0, 2, 3, 1)[batch_idx, rows[:, :, None], cols[:, None, :]]
        return out.permute(0, 3, 1, 2).contiguous()


class GaussianNoise(Transform):
    """Add ``N(0, std^2)`` noise (continuous data only)."""

    def __init__(self, std: float = 0.05) -> None:
        self.std = std

    def __call__(self, x, generator=None):
        return x + self.std * torch.randn(x.shape, generator=generator, dtype=x.dtype)


def parse_augmentations(names: Sequence[str]) -> list[Transform]:
    """``["hflip", "shift=2", "noise=0.05"]`` -> transforms; unknown names are a ConfigError."""
    out: list[Transform] = []
    for item in names:
        name, _, value = item.partition("=")
        if name == "hflip":
            out.append(RandomHorizontalFlip(float(value) if value else 0.5))
        elif name == "shift":
            out.append(RandomShift(int(value) if value else 1))
        elif name == "noise":
            out.append(GaussianNoise(float(value) if value else 0.05))
        else:
            raise ConfigError(f"unknown augmentation '{item}' (use hflip[=p], shift[=pixels], noise[=std])")
    return out
