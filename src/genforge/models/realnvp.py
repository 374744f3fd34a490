"""RealNVP: a normalizing flow with affine couplings (Dinh, Sohl-Dickstein and Bengio 2017).

Images: integer levels ``k`` are uniformly dequantized to ``y = (k + u) / L`` in ``[0, 1)``
(:class:`genforge.data.transforms.Dequantize`), mapped to logit space (:class:`LogitTransform`, with its
log-det) and through a multi-scale flow: per scale, checkerboard couplings, a squeeze, channel couplings,
then half of the channels are factored out as latents; a last group of checkerboard couplings acts on
what remains. ``log_prob(x)`` returns ``log p(y) - D log L`` nats, a stochastic lower bound on the
log-probability of the discrete image (Theis et al. 2016), so its bits/dim are honest.

Points (``toy2d``): a stack of MLP couplings on ``(B, 2)`` floats with alternating masks; ``log_prob``
is the exact continuous log-density in nats.

The base distribution is a standard normal; sampling scales its std by ``temperature``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from pydantic import Field
from torch import nn

from genforge.core.config import Config
from genforge.core.errors import ConfigError
from genforge.data.info import DataInfo
from genforge.data.transforms import Dequantize, dequantization_correction
from genforge.models.base import GenerativeModel, bits_per_dim, register_model
from genforge.nn.conv import ResBlock, group_norm
from genforge.nn.coupling import (
    AffineCoupling,
    Flow,
    FlowSequence,
    LogitTransform,
    Squeeze,
    alternating_mask,
    channel_mask,
    checkerboard_mask,
    standard_normal_log_prob,
)
from genforge.nn.mlp import mlp


class RealNVPConfig(Config):
    hidden_channels: int = Field(
        32, ge=4, description="width of the convolutional coupling networks (images)"
    )
    num_res_blocks: int = Field(1, ge=0, description="residual blocks in each coupling network (images)")
    num_scales: int = Field(
        1, ge=0, description="squeeze + factor-out levels of the multi-scale flow (images)"
    )
    couplings_per_scale: int = Field(
        3, ge=1, description="checkerboard and channel couplings per scale (images)"
    )
    final_couplings: int = Field(4, ge=1, description="checkerboard couplings after the last scale (images)")
    logit_alpha: float = Field(
        0.05, gt=0.0, lt=0.5, description="logit transform of images: logit(a + (1-2a) y)"
    )
    point_couplings: int = Field(8, ge=2, description="MLP couplings of the 2-D flow (points)")
    point_hidden: int = Field(128, ge=4, description="hidden width of the 2-D coupling MLPs (points)")
    point_depth: int = Field(2, ge=1, description="hidden layers of the 2-D coupling MLPs (points)")


def conv_coupling_net(channels: int, hidden: int, num_blocks: int) -> nn.Sequential:
    """``(B, C, H, W) -> (B, 2C, H, W)`` log-scale and shift; the last conv starts at zero (identity flow)."""
    last = nn.Conv2d(hidden, 2 * channels, 3, padding=1)
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)
    return nn.Sequential(
        nn.Conv2d(channels, hidden, 3, padding=1),
        *[ResBlock(hidden) for _ in range(num_blocks)],
        group_norm(hidden),
        nn.SiLU(),
        last,
    )


class MultiScaleFlow(Flow):
    """RealNVP's multi-scale architecture on ``(B, C, H, W)``; latents come out flat ``(B, C*H*W)``."""

    def __init__(self, shape: tuple[int, int, int], config: RealNVPConfig) -> None:
        super().__init__()
        channels, height, width = shape
        needed = 2**config.num_scales
        if height % needed or width % needed:
            raise ConfigError(
                f"realnvp num_scales={config.num_scales} needs image sides divisible by {needed}, got {height}x{width}; "
                "lower num_scales or resize with --image-size"
            )

        def checkerboard(c: int, h: int, w: int, count: int) -> list[Flow]:
            return [
                AffineCoupling(
                    conv_coupling_net(c, config.hidden_channels, config.num_res_blocks),
                    checkerboard_mask(h, w, k % 2),
                )
                for k in range(count)
            ]

        def channelwise(c: int, count: int) -> list[Flow]:
            return [
                AffineCoupling(
                    conv_coupling_net(c, config.hidden_channels, config.num_res_blocks),
                    channel_mask(c, k % 2),
                )
                for k in range(count)
            ]

        scales = []
        self.factored_shapes: list[tuple[int, int, int]] = []
        for _ in range(config.num_scales):
            flows = checkerboard(channels, height, width, config.couplings_per_scale) + [Squeeze()]
            channels, height, width = channels * 4, height // 2, width // 2
            flows += channelwise(channels, config.couplings_per_scale)
            scales.append(FlowSequence(flows))
            channels //= 2
            self.factored_shapes.append((channels, height, width))
        self.scales = nn.ModuleList(scales)
        self.final = FlowSequence(checkerboard(channels, height, width, config.final_couplings))
        self.final_shape = (channels, height, width)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        latents = []
        log_det = x.new_zeros(x.shape[0])
        for scale in self.scales:
            x, step = scale(x)
            log_det = log_det + step
            factored, x = x.chunk(2, dim=1)
            latents.append(factored.flatten(1))
        x, step = self.final(x)
        latents.append(x.flatten(1))
        return torch.cat(latents, dim=1), log_det + step

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        sizes = [math.prod(s) for s in self.factored_shapes] + [math.prod(self.final_shape)]
        parts = z.split(sizes, dim=1)
        x = self.final.inverse(parts[-1].reshape(-1, *self.final_shape))
        for scale, part, shape in zip(
            reversed(self.scales), reversed(parts[:-1]), reversed(self.factored_shapes), strict=True
        ):
            x = scale.inverse(torch.cat([part.reshape(-1, *shape), x], dim=1))
        return x


def point_flow(dim: int, config: RealNVPConfig) -> FlowSequence:
    """MLP couplings with alternating masks for ``(B, dim)`` vectors."""
    return FlowSequence(
        AffineCoupling(
            mlp(dim, 2 * dim, config.point_hidden, config.point_depth, zero_last=True),
            alternating_mask(dim, k % 2),
        )
        for k in range(config.point_couplings)
    )


@register_model(
    "realnvp",
    config=RealNVPConfig,
    data_kinds=("image", "points"),
    train_defaults={
        "lr": 2e-3,
        "batch_size": 64,
        "ema_decay": 0.995,
        "grad_clip": 10.0,
        "eval_every": 100,
        "early_stop_patience": 5,
    },
)
class RealNVP(GenerativeModel):
    """RealNVP over integer image levels ``(B, C, H, W)`` or float points ``(B, 2)``."""

    def __init__(self, config: RealNVPConfig, info: DataInfo) -> None:
        super().__init__(config, info)
        self.is_image = info.kind == "image"
        if self.is_image:
            if not info.num_levels:
                raise ConfigError(
                    "realnvp on images needs discrete levels (num_levels); this dataset has none"
                )
            self.dequantize = Dequantize(info.num_levels)
            self.preprocess = LogitTransform(config.logit_alpha)
            self.flow: Flow = MultiScaleFlow(tuple(info.shape), config)
        else:
            self.flow = point_flow(info.num_dims, config)

    def _flow_forward(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Continuous data (images in ``[0, 1)``, points) -> latents ``(B, D)`` and log-det ``(B,)``."""
        if not self.is_image:
            return self.flow(y)
        logits, log_det = self.preprocess(y)
        z, flow_log_det = self.flow(logits)
        return z, log_det + flow_log_det

    def _flow_inverse(self, z: torch.Tensor) -> torch.Tensor:
        if not self.is_image:
            return self.flow.inverse(z)
        return self.preprocess.inverse(self.flow.inverse(z))

    def log_prob(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Nats per example ``(B,)``. Images: the dequantization lower bound on ``log P(levels)`` with one
        uniform noise draw (``generator``, else the global RNG). Points: the exact log-density."""
        if not self.is_image:
            z, log_det = self.flow(x.float())
            return standard_normal_log_prob(z) + log_det
        z, log_det = self._flow_forward(self.dequantize(x, generator))
        correction = dequantization_correction(self.info.num_dims, self.info.num_levels)
        return standard_normal_log_prob(z) + log_det + correction

    def loss(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Images: mean bits/dim (dequantized bound). Points: mean negative log-density in nats."""
        log_prob = self.log_prob(batch["x"])
        nll = -log_prob.mean()
        if not self.is_image:
            return {"loss": nll, "nll_nats": nll.detach()}
        bpd = bits_per_dim(log_prob, self.info.num_dims).mean()
        return {"loss": bpd, "bits_per_dim": bpd.detach(), "nll_nats": nll.detach()}

    def eval_terms(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Images: ``bits_per_dim`` (dequantized bound); points: ``nll_nats`` (continuous density)."""
        log_prob = self.log_prob(batch["x"])
        if self.is_image:
            return {"bits_per_dim": bits_per_dim(log_prob, self.info.num_dims)}
        return {"nll_nats": -log_prob}

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Data -> latents ``(B, D)``. Images use the centre of each level's bin, so it is deterministic."""
        if self.is_image:
            return self._flow_forward((x.float() + 0.5) / self.info.num_levels)[0]
        return self.flow(x.float())[0]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latents ``(B, D)`` -> images ``(B, C, H, W)`` in ``[0, 1]`` (quantized to the data's levels) or
        points ``(B, 2)``."""
        y = self._flow_inverse(z)
        if not self.is_image:
            return y
        levels = self.info.num_levels
        quantized = torch.floor(y * levels).clamp(0, levels - 1)
        return (quantized / (levels - 1)).reshape(-1, *self.info.shape)

    @torch.no_grad()
    def sample(
        self, n: int, *, generator: torch.Generator | None = None, temperature: float = 1.0, **opts: Any
    ) -> torch.Tensor:
        """Decode ``z ~ N(0, temperature^2 I)``: images ``(n, C, H, W)`` in ``[0, 1]`` or points ``(n, 2)``."""
        if temperature < 0:
            raise ConfigError(f"temperature must be >= 0, got {temperature}")
        if opts:
            raise ConfigError(f"realnvp sampling does not take {', '.join(sorted(opts))}")
        z = torch.randn(n, self.info.num_dims, generator=generator) * temperature
        return self.decode(z)
