"""Invertible layers for normalizing flows: affine couplings, masks, squeeze and the logit transform.

Every layer is a :class:`Flow`: ``forward(x) -> (y, log_det)`` maps data towards the latent space and
returns ``log |det dy/dx|`` per example ``(B,)`` in nats; ``inverse(y) -> x`` undoes it exactly (up to
float rounding). The couplings follow RealNVP (Dinh, Sohl-Dickstein and Bengio 2017, Sec. 3.3-3.6):
``y = m * x + (1 - m) * (x * exp(s(m * x)) + t(m * x))`` with a checkerboard or channel mask ``m``, a
squeeze operation that trades spatial size for channels, and the logit transform of Sec. 4.1.

Written here because torch has no flow layers and the field libraries for them (nflows, normflows) are
not available offline here; each layer is checked against a brute-force Jacobian in
``tests/nn/test_coupling.py``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import nn


class Flow(nn.Module):
    """An invertible map with a tractable log-determinant."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


def checkerboard_mask(height: int, width: int, parity: int) -> torch.Tensor:
    """``(1, 1, H, W)`` mask that is 1 where ``(row + col) % 2 == parity`` (the conditioning half)."""
    rows = torch.arange(height)[:, None]
    cols = torch.arange(width)[None, :]
    return ((rows + cols) % 2 == parity).float()[None, None]


def channel_mask(channels: int, parity: int) -> torch.Tensor:
    """``(1, C, 1, 1)`` mask selecting the first (parity 0) or second (parity 1) half of the channels."""
    mask = torch.zeros(1, channels, 1, 1)
    half = channels // 2
    if parity == 0:
        mask[:, :half] = 1.0
    else:
        mask[:, half:] = 1.0
    return mask


def alternating_mask(dim: int, parity: int) -> torch.Tensor:
    """``(1, D)`` mask that is 1 on every other coordinate, starting at ``parity``."""
    return (torch.arange(dim) % 2 == parity).float()[None]


class ChannelScale(nn.Module):
    """The coupling's bounded log-scale ``weight * tanh(raw)`` with a learned per-channel ``weight``.

    A layer of its own (not a parameter of :class:`AffineCoupling`) so that the coupling, which holds the
    mask buffer, owns no parameter: per-sample-gradient hooks (Opacus, for DP-SGD) then see this small layer
    and the net's layers, none of which holds a buffer."""

    def __init__(self, shape: list[int]) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(shape))

    def forward(self, raw: torch.Tensor) -> torch.Tensor:
        return self.weight * torch.tanh(raw)


class AffineCoupling(Flow):
    """RealNVP affine coupling with a fixed 0/1 ``mask`` (1 = passed through and conditioned on).

    ``net`` maps ``m * x`` to ``2 * C`` features along dim 1 (``(B, 2C, H, W)`` for images, ``(B, 2D)``
    for vectors): a raw log-scale and a shift. The log-scale is ``scale * tanh(raw)`` with a learned
    per-channel ``scale`` (initialised to 1), which bounds every step and keeps training stable; with the
    net's last layer initialised to zero the coupling starts as the identity.
    """

    def __init__(self, net: nn.Module, mask: torch.Tensor) -> None:
        super().__init__()
        # registered before the net, so the parameter order (and hence every sum over parameters) is the one
        # of the layout where ``scale`` was the coupling's own parameter
        self.scale = ChannelScale([1, mask.shape[1]] + [1] * (mask.dim() - 2))
        self.net = net
        self.register_buffer("mask", mask, persistent=False)
        self.register_load_state_dict_pre_hook(_rename_old_scale)

    def _scale_shift(self, kept: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raw_scale, shift = self.net(kept).chunk(2, dim=1)
        free = 1.0 - self.mask
        return self.scale(raw_scale) * free, shift * free

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        log_scale, shift = self._scale_shift(x * self.mask)
        y = x * torch.exp(log_scale) + shift
        return y, log_scale.flatten(1).sum(1)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        log_scale, shift = self._scale_shift(y * self.mask)
        return (y - shift) * torch.exp(-log_scale)


def _rename_old_scale(module, state_dict, prefix, *_args) -> None:
    """Checkpoints written before :class:`ChannelScale` existed store the weight as ``<prefix>scale``."""
    if prefix + "scale" in state_dict:
        state_dict[prefix + "scale.weight"] = state_dict.pop(prefix + "scale")


class Squeeze(Flow):
    """Space to depth: ``(B, C, H, W) -> (B, 4C, H/2, W/2)``; a permutation, so ``log_det = 0``."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return F.pixel_unshuffle(x, 2), x.new_zeros(x.shape[0])

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        return F.pixel_shuffle(y, 2)


class LogitTransform(Flow):
    """``x in [0, 1] -> logit(alpha + (1 - 2 alpha) x)`` (RealNVP Sec. 4.1), with its log-det.

    ``alpha`` keeps the logit away from the infinite ends of ``[0, 1]``.
    """

    def __init__(self, alpha: float = 0.05) -> None:
        super().__init__()
        self.alpha = alpha

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        p = self.alpha + (1.0 - 2.0 * self.alpha) * x
        y = torch.log(p) - torch.log1p(-p)
        log_det = math.log(1.0 - 2.0 * self.alpha) - torch.log(p) - torch.log1p(-p)
        return y, log_det.flatten(1).sum(1)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        return (torch.sigmoid(y) - self.alpha) / (1.0 - 2.0 * self.alpha)


class FlowSequence(Flow):
    """Flows applied in order; log-dets add up."""

    def __init__(self, flows: Iterable[Flow]) -> None:
        super().__init__()
        self.flows = nn.ModuleList(flows)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        log_det = x.new_zeros(x.shape[0])
        for flow in self.flows:
            x, step = flow(x)
            log_det = log_det + step
        return x, log_det

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        for flow in reversed(self.flows):
            y = flow.inverse(y)
        return y


def standard_normal_log_prob(z: torch.Tensor) -> torch.Tensor:
    """``log N(z; 0, I)`` summed over all but the first dim, in nats ``(B,)``."""
    return (-0.5 * z.pow(2) - 0.5 * math.log(2 * math.pi)).flatten(1).sum(1)
