"""Gated PixelCNN: an exact autoregressive likelihood model of discrete images.

``p(x) = prod_i prod_c p(x_i^c | x_<i, x_i^<c)`` over pixels ``i`` in raster order and colour channels
``c`` in order (R, G, B) within a pixel; each factor is a categorical over ``info.num_levels`` levels
(17 for digits, 256 for 8-bit images). The network is the gated PixelCNN of van den Oord et al. (2016b)
with a vertical and a horizontal stack, so there is no blind spot (:class:`genforge.nn.masked.GatedLayer`).
The stacks see all channels of earlier pixels; the dependence of channel ``c`` on channels ``< c`` of the
same pixel enters in the output head through a 1x1 convolution with a channel-group mask A
(:class:`genforge.nn.masked.MaskedConv2d`).

Optional class conditioning (``class_conditional``) adds a one-hot label bias to every gate. Its
``log_prob(x)`` without labels is the exact marginal ``log sum_y p(y) p(x | y)`` under a uniform label
prior, so bits/dim stay comparable with the unconditional model.

Sampling computes the vertical stack once per row on the rows sampled so far and the horizontal stack on
the current row only, left of the current pixel (exact: the cropped convolutions never read the missing
rows/columns). ``sample(..., cached=False)`` runs the whole network on the whole image for every
sub-pixel instead; both consume the generator identically and give the same images
(``benchmarks/sampling_speed.py`` compares their speed).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from genforge.core.config import Config
from genforge.core.errors import ConfigError
from genforge.data.info import DataInfo
from genforge.models.base import GenerativeModel, bits_per_dim, register_model
from genforge.nn.masked import GatedLayer, MaskedConv2d


class PixelCNNConfig(Config):
    channels: int = Field(32, ge=4, description="feature maps in each stack (vertical and horizontal)")
    num_layers: int = Field(5, ge=1, description="gated layers (the first one uses mask A)")
    kernel_size: int = Field(3, ge=3, description="odd kernel size of the gated layers after the first")
    first_kernel_size: int = Field(7, ge=3, description="odd kernel size of the first (mask A) layer")
    head_channels: int = Field(64, ge=4, description="hidden width of the per-channel output head")
    dropout: float = Field(
        0.2, ge=0.0, lt=1.0, description="dropout on the gated outputs of the horizontal stack"
    )
    class_conditional: bool = Field(False, description="condition on the class label (datasets with classes)")


def draw_categorical(
    logits: torch.Tensor, temperature: float, generator: torch.Generator | None
) -> torch.Tensor:
    """One draw per row from ``softmax(logits / temperature)`` via the Gumbel-max trick; ``(N, L) -> (N,)``.

    Temperature 0 returns the argmax. The same number of uniforms is drawn at every temperature so the
    generator stream (and hence other draws) does not depend on it.
    """
    uniform = torch.rand(logits.shape, generator=generator, dtype=torch.float32)
    if temperature == 0:
        return logits.argmax(-1)
    gumbel = -torch.log(-torch.log(uniform.clamp(1e-12, 1.0 - 1e-7)))
    return (logits.float() / temperature + gumbel).argmax(-1)


class GatedPixelCNN(nn.Module):
    """Logits ``(B, C, L, H, W)`` of every sub-pixel given the image ``(B, C, H, W)`` in ``[-1, 1]``."""

    def __init__(
        self, in_channels: int, num_levels: int, config: PixelCNNConfig, num_classes: int = 0
    ) -> None:
        super().__init__()
        feat = config.channels
        self.in_channels = in_channels
        self.num_levels = num_levels
        self.num_classes = num_classes
        layers = [
            GatedLayer(
                in_channels,
                feat,
                config.first_kernel_size,
                first=True,
                cond_dim=num_classes,
                dropout=config.dropout,
            )
        ]
        layers += [
            GatedLayer(
                feat, feat, config.kernel_size, first=False, cond_dim=num_classes, dropout=config.dropout
            )
            for _ in range(config.num_layers - 1)
        ]
        self.layers = nn.ModuleList(layers)
        # Channel c of a pixel also depends on channels < c of the same pixel: mask A over channel groups.
        self.channel_context = (
            MaskedConv2d(in_channels, in_channels * feat, 1, "A", channel_groups=in_channels)
            if in_channels > 1
            else None
        )
        self.head = nn.Sequential(
            nn.ReLU(),
            nn.Conv2d(in_channels * feat, in_channels * config.head_channels, 1, groups=in_channels),
            nn.ReLU(),
            nn.Conv2d(in_channels * config.head_channels, in_channels * num_levels, 1, groups=in_channels),
        )

    def condition(self, y: torch.Tensor | None) -> torch.Tensor | None:
        """Labels ``(B,)`` -> one-hot ``(B, K)`` (None for an unconditional model)."""
        if not self.num_classes or y is None:
            return None
        return F.one_hot(y.long(), self.num_classes).float()

    def output(self, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Head: horizontal-stack features ``(B, F, h, w)`` + the same pixels ``(B, C, h, w)`` -> logits
        ``(B, C, L, h, w)``."""
        feats = h.repeat(1, self.in_channels, 1, 1)
        if self.channel_context is not None:
            feats = feats + self.channel_context(x)
        logits = self.head(feats)
        b, _, rows, cols = logits.shape
        return logits.view(b, self.in_channels, self.num_levels, rows, cols)

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        v = h = x
        for layer in self.layers:
            v, h = layer(v, h, cond)
        return self.output(h, x)


@register_model(
    "pixelcnn",
    config=PixelCNNConfig,
    data_kinds=("image",),
    train_defaults={
        "lr": 5e-3,
        "batch_size": 32,
        "ema_decay": 0.995,
        "grad_clip": 1.0,
        "eval_every": 100,
        "early_stop_patience": 5,
    },
)
class PixelCNN(GenerativeModel):
    """Gated PixelCNN over integer image levels ``(B, C, H, W)`` in ``[0, num_levels)``."""

    def __init__(self, config: PixelCNNConfig, info: DataInfo) -> None:
        super().__init__(config, info)
        if not info.num_levels:
            raise ConfigError(
                "pixelcnn needs discrete images (num_levels); this dataset does not declare them"
            )
        for name in ("kernel_size", "first_kernel_size"):
            if getattr(config, name) % 2 == 0:
                raise ConfigError(f"pixelcnn {name} must be odd, got {getattr(config, name)}")
        num_classes = 0
        if config.class_conditional:
            if not info.num_classes:
                raise ConfigError("class_conditional=true needs a dataset with class labels (e.g. digits)")
            num_classes = info.num_classes
        self.net = GatedPixelCNN(info.shape[0], info.num_levels, config, num_classes)

    def _to_input(self, levels: torch.Tensor) -> torch.Tensor:
        """Integer levels -> floats in ``[-1, 1]`` (the network's input)."""
        return levels.float() / (self.info.num_levels - 1) * 2.0 - 1.0

    def _log_prob_given(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        logits = self.net(self._to_input(x), self.net.condition(y))
        log_probs = F.log_softmax(logits, dim=2).gather(2, x.long().unsqueeze(2))
        return log_probs.flatten(1).sum(1)

    def log_prob(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Exact ``log p(x)`` in nats per image ``(B,)``. A class-conditional model returns ``log p(x | y)``
        when labels ``y`` are given and the marginal over a uniform label prior otherwise."""
        if not self.net.num_classes or y is not None:
            return self._log_prob_given(x, y)
        k = self.net.num_classes
        batch = x.shape[0]
        labels = torch.arange(k).repeat_interleave(batch)
        per_class = self._log_prob_given(x.repeat(k, 1, 1, 1), labels).view(k, batch)
        return torch.logsumexp(per_class, dim=0) - math.log(k)

    def loss(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Mean bits/dim of the batch (conditional on labels when the model is class-conditional)."""
        log_prob = self._log_prob_given(batch["x"], batch.get("y") if self.net.num_classes else None)
        bpd = bits_per_dim(log_prob, self.info.num_dims).mean()
        return {"loss": bpd, "bits_per_dim": bpd.detach(), "nll_nats": -log_prob.mean().detach()}

    def eval_terms(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Per-image ``bits_per_dim`` (marginal); class-conditional models add ``bits_per_dim_given_label``."""
        terms = {"bits_per_dim": bits_per_dim(self.log_prob(batch["x"]), self.info.num_dims)}
        if self.net.num_classes and "y" in batch:
            given = self._log_prob_given(batch["x"], batch["y"])
            terms["bits_per_dim_given_label"] = bits_per_dim(given, self.info.num_dims)
        return terms

    @torch.no_grad()
    def sample(
        self,
        n: int,
        *,
        generator: torch.Generator | None = None,
        temperature: float = 1.0,
        labels: torch.Tensor | None = None,
        label: int | None = None,
        cached: bool = True,
        **opts: Any,
    ) -> torch.Tensor:
        """``n`` images ``(n, C, H, W)`` in ``[0, 1]``, each sub-pixel drawn from ``softmax(logits / T)``.

        A class-conditional model draws classes ``0, 1, ..., K-1, 0, ...`` (an even share of each, as
        under its uniform label prior) unless ``labels`` (n,) or one ``label`` for all are given.
        ``cached=False`` recomputes the full network for every sub-pixel (same result, slower).
        """
        if temperature < 0:
            raise ConfigError(f"temperature must be >= 0, got {temperature}")
        if opts:
            raise ConfigError(f"pixelcnn sampling does not take {', '.join(sorted(opts))}")
        cond = self.net.condition(self._sample_labels(n, labels, label))
        was_training = self.training
        self.eval()
        try:
            levels = (self._sample_cached if cached else self._sample_naive)(n, cond, temperature, generator)
        finally:
            self.train(was_training)
        return levels.float() / (self.info.num_levels - 1)

    def _sample_labels(self, n: int, labels: torch.Tensor | None, label: int | None) -> torch.Tensor | None:
        num_classes = self.net.num_classes
        if not num_classes:
            if labels is not None or label is not None:
                raise ConfigError(
                    "this pixelcnn is not class-conditional: train with --set class_conditional=true"
                )
            return None
        if labels is None:
            labels = torch.full((n,), label) if label is not None else torch.arange(n) % num_classes
        labels = torch.as_tensor(labels, dtype=torch.long)
        if labels.shape != (n,):
            raise ConfigError(
                f"labels must have one entry per sample: expected ({n},), got {tuple(labels.shape)}"
            )
        if labels.min() < 0 or labels.max() >= num_classes:
            raise ConfigError(
                f"class labels must lie in 0..{num_classes - 1}, got {labels.min()}..{labels.max()}"
            )
        return labels

    def _sample_naive(self, n, cond, temperature, generator) -> torch.Tensor:
        channels, height, width = self.info.shape
        levels = torch.zeros(n, channels, height, width, dtype=torch.long)
        for i in range(height):
            for j in range(width):
                for c in range(channels):
                    logits = self.net(self._to_input(levels), cond)[:, c, :, i, j]
                    levels[:, c, i, j] = draw_categorical(logits, temperature, generator)
        return levels

    def _sample_cached(self, n, cond, temperature, generator) -> torch.Tensor:
        channels, height, width = self.info.shape
        levels = torch.zeros(n, channels, height, width, dtype=torch.long)
        x = self._to_input(levels)
        biases = [layer.cond_bias(cond) for layer in self.net.layers]
        for i in range(height):
            # Vertical stack on rows 0..i: row i's features only depend on rows above it.
            v = x[:, :, : i + 1]
            row_links = []
            for layer, (cond_v, _) in zip(self.net.layers, biases, strict=True):
                v_pre, v = layer.forward_vertical(v, cond_v)
                row_links.append(v_pre[:, :, i : i + 1])
            for j in range(width):
                # Horizontal stack on row i, columns 0..j: column j only depends on columns left of it.
                h = x[:, :, i : i + 1, : j + 1]
                for layer, link, (_, cond_h) in zip(self.net.layers, row_links, biases, strict=True):
                    h = layer.forward_horizontal(h, link[..., : j + 1], cond_h)
                feat = h[..., j : j + 1]
                for c in range(channels):
                    logits = self.net.output(feat, x[:, :, i : i + 1, j : j + 1])[:, c, :, 0, 0]
                    levels[:, c, i, j] = draw_categorical(logits, temperature, generator)
                    x[:, c, i, j] = self._to_input(levels[:, c, i, j])
        return levels
