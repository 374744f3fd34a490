"""Causal convolutions for autoregressive image models (PixelCNN family).

Two ways to make a convolution see only "earlier" pixels in raster order (rows top to bottom, columns
left to right, channels in order within a pixel):

* :class:`MaskedConv2d` multiplies a ``k x k`` kernel by a fixed 0/1 mask (van den Oord et al. 2016a,
  "Pixel Recurrent Neural Networks", Sec. 3.4): mask ``"A"`` hides the centre pixel (first layer, so the
  output never sees its own input), mask ``"B"`` lets it through (later layers). With ``channel_groups``
  the centre tap is additionally masked across channel groups (R -> G -> B ordering).
* :class:`VerticalConv` / :class:`HorizontalConv` get the same effect by a cropped kernel plus asymmetric
  padding, which wastes no multiplications on zeroed taps. :class:`GatedLayer` combines them into the
  gated PixelCNN layer with a vertical and a horizontal stack (van den Oord et al. 2016b, "Conditional
  Image Generation with PixelCNN Decoders", Fig. 2), which has no blind spot.

Written here because torch has no masked/causal 2-D convolution; the layers are small and the masks are
checked by gradient tests (``tests/nn/test_masked.py``).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

MaskType = Literal["A", "B"]


def raster_mask(
    out_channels: int, in_channels: int, kernel_size: int, mask_type: MaskType, channel_groups: int = 1
) -> torch.Tensor:
    """The ``(out, in, k, k)`` 0/1 mask of a raster-causal convolution.

    Taps in rows above the centre, and left of the centre in its row, are kept. The centre tap connects
    input group ``g_in`` to output group ``g_out`` when ``g_in < g_out`` (mask A) or ``g_in <= g_out``
    (mask B); channels are split into ``channel_groups`` contiguous groups (one per colour channel).
    """
    if mask_type not in ("A", "B"):
        raise ValueError(f"mask_type must be 'A' or 'B', got {mask_type!r}")
    if kernel_size % 2 != 1:
        raise ValueError(f"masked convolutions need an odd kernel size, got {kernel_size}")
    if in_channels % channel_groups or out_channels % channel_groups:
        raise ValueError(
            f"channels ({in_channels}, {out_channels}) must be divisible by {channel_groups} groups"
        )
    centre = kernel_size // 2
    mask = torch.zeros(out_channels, in_channels, kernel_size, kernel_size)
    mask[:, :, :centre, :] = 1.0
    mask[:, :, centre, :centre] = 1.0
    group_in = torch.arange(in_channels) * channel_groups // in_channels
    group_out = torch.arange(out_channels) * channel_groups // out_channels
    if mask_type == "A":
        allowed = group_in[None, :] < group_out[:, None]
    else:
        allowed = group_in[None, :] <= group_out[:, None]
    mask[:, :, centre, centre] = allowed.float()
    return mask


class MaskedConv2d(nn.Conv2d):
    """A ``k x k`` convolution whose kernel is multiplied by :func:`raster_mask` (same spatial size out)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        mask_type: MaskType,
        channel_groups: int = 1,
        bias: bool = True,
    ) -> None:
        super().__init__(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=bias)
        self.mask_type = mask_type
        self.register_buffer(
            "mask",
            raster_mask(out_channels, in_channels, kernel_size, mask_type, channel_groups),
            persistent=False,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, self.weight * self.mask, self.bias)


class VerticalConv(nn.Module):
    """Vertical-stack convolution: output row ``i`` sees input rows ``i-h..i-1`` (``include_current_row``
    False, the first layer) or ``i-h+1..i`` (True), over ``kernel_size`` columns centred on the pixel.

    ``h = kernel_size // 2 + 1``. Rows below are never read, so cropping the input's bottom rows leaves the
    outputs of the remaining rows unchanged (used by cached sampling).
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, include_current_row: bool
    ) -> None:
        super().__init__()
        self.height = kernel_size // 2 + 1
        self.half_width = kernel_size // 2
        self.include_current_row = include_current_row
        self.conv = nn.Conv2d(in_channels, out_channels, (self.height, kernel_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C_in, H, W) -> (B, C_out, H, W)``."""
        if self.include_current_row:
            x = F.pad(x, (self.half_width, self.half_width, self.height - 1, 0))
        else:
            x = F.pad(x[:, :, :-1], (self.half_width, self.half_width, self.height, 0))
        return self.conv(x)


class HorizontalConv(nn.Module):
    """Horizontal-stack convolution within one row: output column ``j`` sees columns ``j-w..j-1``
    (``include_current`` False, the first layer) or ``j-w+1..j`` (True), ``w = kernel_size // 2 + 1``.

    Each row is processed independently, so the layer can run on a single row (``H = 1``).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, include_current: bool) -> None:
        super().__init__()
        self.width = kernel_size // 2 + 1
        self.include_current = include_current
        self.conv = nn.Conv2d(in_channels, out_channels, (1, self.width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C_in, H, W) -> (B, C_out, H, W)``."""
        if self.include_current:
            x = F.pad(x, (self.width - 1, 0, 0, 0))
        else:
            x = F.pad(x[..., :-1], (self.width, 0, 0, 0))
        return self.conv(x)


def gate(x: torch.Tensor) -> torch.Tensor:
    """Gated activation ``tanh(a) * sigmoid(b)`` over the two channel halves ``(B, 2F, ...) -> (B, F, ...)``."""
    a, b = x.chunk(2, dim=1)
    return torch.tanh(a) * torch.sigmoid(b)


class GatedLayer(nn.Module):
    """One gated PixelCNN layer with a vertical and a horizontal stack (no blind spot).

    The vertical stack at row ``i`` only sees rows above ``i``; the horizontal stack at ``(i, j)`` sees
    row ``i`` left of ``j`` plus the vertical stack of the same row (a 1x1 link). The first layer
    (``first=True``) excludes the current pixel (mask A); later layers include it (mask B) and keep a
    residual connection on the horizontal stack. An optional conditioning vector ``(B, cond_dim)`` is added
    as a bias to every gate.
    """

    def __init__(
        self,
        in_channels: int,
        channels: int,
        kernel_size: int,
        first: bool,
        cond_dim: int = 0,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.first = first
        self.vertical = VerticalConv(in_channels, 2 * channels, kernel_size, include_current_row=not first)
        self.horizontal = HorizontalConv(in_channels, 2 * channels, kernel_size, include_current=not first)
        self.link = nn.Conv2d(2 * channels, 2 * channels, 1)
        self.out = nn.Conv2d(channels, channels, 1)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.cond = nn.Linear(cond_dim, 4 * channels, bias=False) if cond_dim else None

    def cond_bias(self, cond: torch.Tensor | None) -> tuple[torch.Tensor | float, torch.Tensor | float]:
        """Per-gate biases ``(B, 2F, 1, 1)`` for the vertical and horizontal stacks (0 when unconditioned)."""
        if self.cond is None or cond is None:
            return 0.0, 0.0
        bias = self.cond(cond)[:, :, None, None]
        return bias.chunk(2, dim=1)

    def forward_vertical(
        self, v: torch.Tensor, cond_v: torch.Tensor | float = 0.0
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Vertical stack only: returns ``(v_pre, v_out)``; ``v_pre`` feeds the horizontal stack."""
        v_pre = self.vertical(v)
        return v_pre, gate(v_pre + cond_v)

    def forward_horizontal(
        self, h: torch.Tensor, v_pre: torch.Tensor, cond_h: torch.Tensor | float = 0.0
    ) -> torch.Tensor:
        """Horizontal stack given the same-row vertical pre-activations (any number of rows)."""
        pre = self.horizontal(h) + self.link(v_pre) + cond_h
        update = self.out(self.dropout(gate(pre)))
        return update if self.first else h + update

    def forward(
        self, v: torch.Tensor, h: torch.Tensor, cond: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(v, h)`` of shape ``(B, C, H, W)`` -> next ``(v, h)`` of shape ``(B, F, H, W)``."""
        cond_v, cond_h = self.cond_bias(cond)
        v_pre, v_out = self.forward_vertical(v, cond_v)
        return v_out, self.forward_horizontal(h, v_pre, cond_h)
