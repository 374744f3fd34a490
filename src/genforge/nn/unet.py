"""A small UNet with a time (and optional class) embedding, the denoiser of :mod:`genforge.models.diffusion`.

Shaped after Ho et al. (2020) and Nichol & Dhariwal (2021), sized for small images: a 3x3 input conv,
then per resolution ``blocks_per_level`` residual blocks whose second half is modulated by the embedding
(scale and shift after the norm, "adaptive group norm"), a strided-conv downsample between resolutions,
a middle of two residual blocks around one self-attention layer, and the mirror path up with skip
connections. The output conv starts at zero, so an untrained model predicts zero noise.

Written here rather than taken from diffusers: ``UNet2DModel`` would make diffusers (and its hub client)
a runtime dependency of the library for one module; ``benchmarks/diffusion_diffusers.py`` compares the
two at equal parameter count.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from genforge.nn.conv import group_norm


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """Sinusoidal embedding (Vaswani et al. 2017) of integer or real timesteps ``t`` (B,) -> (B, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    angles = t.float().unsqueeze(1) * freqs.unsqueeze(0)
    emb = torch.cat([angles.cos(), angles.sin()], dim=1)
    return nn.functional.pad(emb, (0, dim % 2))


class EmbedResBlock(nn.Module):
    """Residual block whose second norm is scaled and shifted by a projection of the embedding."""

    def __init__(self, in_ch: int, out_ch: int, emb_dim: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.norm1 = group_norm(in_ch)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.emb = nn.Linear(emb_dim, 2 * out_ch)
        self.norm2 = group_norm(out_ch)
        self.drop = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1)
        self.skip = nn.Identity() if in_ch == out_ch else nn.Conv2d(in_ch, out_ch, 1)
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(self.act(self.norm1(x)))
        scale, shift = self.emb(emb)[:, :, None, None].chunk(2, dim=1)
        h = self.norm2(h) * (1 + scale) + shift
        return self.skip(x) + self.conv2(self.drop(self.act(h)))


class SelfAttention2d(nn.Module):
    """Multi-head self-attention over the positions of a feature map, with a residual connection."""

    def __init__(self, channels: int, num_heads: int = 4) -> None:
        super().__init__()
        self.norm = group_norm(channels)
        self.attn = nn.MultiheadAttention(channels, num_heads, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        seq = self.norm(x).flatten(2).transpose(1, 2)  # (B, H*W, C)
        out, _ = self.attn(seq, seq, seq, need_weights=False)
        return x + out.transpose(1, 2).reshape(b, c, h, w)


class UNet(nn.Module):
    """Noise-prediction network: ``(x (B, C, H, W), t (B,), labels (B,), cond (B, D)) -> (B, C, H, W)``.

    ``channel_mults`` gives one resolution per entry (``base_channels * mult`` channels there); H and W must
    be divisible by ``2 ** (len(channel_mults) - 1)``. With ``num_classes``, labels index an embedding
    with one extra row, ``num_classes`` itself, meaning "no label" (classifier-free guidance). With
    ``cond_dim``, a conditioning vector (a text embedding) is projected into the embedding; zeros are
    the "no condition" input.
    """

    def __init__(
        self,
        in_channels: int,
        base_channels: int = 32,
        channel_mults: tuple[int, ...] = (1, 2),
        blocks_per_level: int = 1,
        attention: bool = True,
        num_classes: int | None = None,
        dropout: float = 0.0,
        cond_dim: int | None = None,
    ) -> None:
        super().__init__()
        self.base_channels = base_channels
        emb_dim = 4 * base_channels
        self.time_mlp = nn.Sequential(
            nn.Linear(base_channels, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim)
        )
        self.label_emb = nn.Embedding(num_classes + 1, emb_dim) if num_classes else None
        self.cond_proj = nn.Linear(cond_dim, emb_dim) if cond_dim else None
        self.conv_in = nn.Conv2d(in_channels, base_channels, 3, padding=1)
        widths = [base_channels * m for m in channel_mults]
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        skips, ch = [base_channels], base_channels
        for level, width in enumerate(widths):
            blocks = nn.ModuleList()
            for _ in range(blocks_per_level):
                blocks.append(EmbedResBlock(ch, width, emb_dim, dropout))
                ch = width
                skips.append(ch)
            self.down.append(blocks)
            last = level == len(widths) - 1
            self.downsample.append(nn.Identity() if last else nn.Conv2d(ch, ch, 3, stride=2, padding=1))
            if not last:
                skips.append(ch)
        self.mid1 = EmbedResBlock(ch, ch, emb_dim, dropout)
        self.mid_attn = SelfAttention2d(ch) if attention else nn.Identity()
        self.mid2 = EmbedResBlock(ch, ch, emb_dim, dropout)
        self.up = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for level, width in reversed(list(enumerate(widths))):
            blocks = nn.ModuleList()
            for _ in range(blocks_per_level + 1):
                blocks.append(EmbedResBlock(ch + skips.pop(), width, emb_dim, dropout))
                ch = width
            self.up.append(blocks)
            self.upsample.append(
                nn.Identity()
                if level == 0
                else nn.Sequential(
                    nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(ch, ch, 3, padding=1)
                )
            )
        self.out = nn.Sequential(group_norm(ch), nn.SiLU(), nn.Conv2d(ch, in_channels, 3, padding=1))
        nn.init.zeros_(self.out[-1].weight)
        nn.init.zeros_(self.out[-1].bias)

    def forward(
        self,
        x: torch.Tensor,
        t: torch.Tensor,
        labels: torch.Tensor | None = None,
        cond: torch.Tensor | None = None,
    ) -> torch.Tensor:
        emb = self.time_mlp(timestep_embedding(t, self.base_channels))
        if self.label_emb is not None:
            if labels is None:
                labels = torch.full((x.shape[0],), self.label_emb.num_embeddings - 1, device=x.device)
            emb = emb + self.label_emb(labels)
        if self.cond_proj is not None:  # a conditioning vector (B, cond_dim); zeros mean "no condition"
            emb = emb + self.cond_proj(
                cond if cond is not None else x.new_zeros(x.shape[0], self.cond_proj.in_features)
            )
        h = self.conv_in(x)
        hs = [h]
        for blocks, down in zip(self.down, self.downsample, strict=True):
            for block in blocks:
                h = block(h, emb)
                hs.append(h)
            if not isinstance(down, nn.Identity):
                h = down(h)
                hs.append(h)
        h = self.mid2(self.mid_attn(self.mid1(h, emb)), emb)
        for blocks, up in zip(self.up, self.upsample, strict=True):
            for block in blocks:
                h = block(torch.cat([h, hs.pop()], dim=1), emb)
            h = up(h)
        return self.out(h)
