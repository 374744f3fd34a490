"""Mixed output heads for rows encoded by :class:`~genforge.data.table_transform.TableTransform`.

A network emits one raw value per encoded dimension; the row layout is a list of spans ``(start, width,
kind)``: ``alpha`` spans are one bounded scalar (tanh), ``softmax`` spans a one-hot group. These three
functions are what TVAE and CTGAN share: the per-span activation (Gumbel-softmax for a generator, Jang
et al. 2017), the reconstruction log-likelihood (Gaussian on alpha with a learned scale, categorical on
groups; Xu et al. 2019, TVAE), and drawing finished rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

Span = Sequence  # (start, width, kind)
HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def alpha_positions(spans: Sequence[Span]) -> list[int]:
    """Column index of every ``alpha`` span."""
    return [int(s[0]) for s in spans if s[2] == "alpha"]


def gumbel_activate(raw: torch.Tensor, spans: Sequence[Span], tau: float = 0.2) -> torch.Tensor:
    """Generator output for a critic: tanh on alpha, straight Gumbel-softmax samples on groups (the
    noise comes from torch's global RNG, the run's own stream inside the trainer)."""
    parts = []
    for start, width, kind in spans:
        block = raw[:, start : start + width]
        parts.append(torch.tanh(block) if kind == "alpha" else F.gumbel_softmax(block, tau=tau))
    return torch.cat(parts, dim=1)


def reconstruction_log_likelihood(
    raw: torch.Tensor, target: torch.Tensor, spans: Sequence[Span], log_sigma: torch.Tensor
) -> torch.Tensor:
    """log p(target | raw) per row ``(B,)``: Gaussian on each alpha (mean tanh(raw), std
    exp(log_sigma[:, i]), ``log_sigma`` is ``(B, alphas)``), categorical on each one-hot group."""
    total = raw.new_zeros(raw.shape[0])
    a = 0
    for start, width, kind in spans:
        if kind == "alpha":
            mean = torch.tanh(raw[:, start])
            log_s = log_sigma[:, a]
            total = total - 0.5 * ((target[:, start] - mean) / log_s.exp()) ** 2 - log_s - HALF_LOG_2PI
            a += 1
        else:
            logits = raw[:, start : start + width]
            total = total - F.cross_entropy(
                logits, target[:, start : start + width].argmax(1), reduction="none"
            )
    return total


def draw_rows(
    raw: torch.Tensor,
    spans: Sequence[Span],
    *,
    generator: torch.Generator | None = None,
    log_sigma: torch.Tensor | None = None,
    discrete: str = "argmax",
) -> torch.Tensor:
    """Finished rows from raw outputs: tanh alpha (plus Gaussian noise of std exp(log_sigma[:, i]) when given,
    as TVAE samples), and each group one-hot at its argmax or at a category drawn from its softmax."""
    out = torch.zeros_like(raw)
    a = 0
    for start, width, kind in spans:
        block = raw[:, start : start + width]
        if kind == "alpha":
            value = torch.tanh(block[:, 0])
            if log_sigma is not None:
                noise = torch.randn(value.shape, generator=generator, dtype=value.dtype)
                value = value + noise * log_sigma[:, a].exp()
            out[:, start] = value.clamp(-1.0, 1.0)
            a += 1
            continue
        if discrete == "sample":
            index = torch.multinomial(block.softmax(1), 1, generator=generator)[:, 0]
        else:
            index = block.argmax(1)
        out[:, start : start + width] = F.one_hot(index, width).to(raw.dtype)
    return out
