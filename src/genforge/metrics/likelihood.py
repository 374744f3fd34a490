"""Likelihood metrics: nats, bits per dimension and perplexity, with their conventions written down.

* Negative log-likelihoods are in nats per example; ``bits_per_dim = nll / (D ln 2)`` with D the number
  of dimensions (pixels x channels).
* Continuous densities on discrete data: a density ``p(y)`` on uniformly dequantized images
  ``y = (k + u) / L`` (L levels, ``u ~ U[0, 1)^D``) gives the discrete data the log-likelihood bound
  ``log P(k) >= E_u[log p(y)] - D log L`` (Theis et al. 2016). :func:`discrete_nll_from_density` applies
  that ``+ D log L`` correction so continuous and discrete models are reported in the same unit.
* Perplexity of a sequence model is ``exp`` of the mean negative log-likelihood per predicted token,
  computed from ``log_softmax`` of the logits (never from softmax, so nothing underflows), with padding
  positions (``ignore_index``) left out.

torch is imported by the functions that take tensors, so the registry lists these metrics without it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field

from genforge.core.errors import ConfigError, DataError
from genforge.metrics.base import Metric, Options, State, one_shot
from genforge.metrics.registry import register_metric

if TYPE_CHECKING:
    import torch

LN2 = math.log(2.0)


class NLLOptions(Options):
    """Options of :func:`negative_log_likelihood`."""

    num_dims: int = Field(ge=1, description="dimensions per example (pixels x channels) for bits/dim")


class PerplexityOptions(Options):
    """Options of :func:`perplexity`."""

    ignore_index: int | None = Field(None, description="target id of padding positions, left out")


def bits_per_dim(nll_nats: Any, num_dims: int) -> Any:
    """Negative log-likelihood in nats per example -> bits per dimension (same shape)."""
    if num_dims < 1:
        raise ConfigError(f"num_dims must be positive, got {num_dims}")
    return nll_nats / (num_dims * LN2)


def nats_to_bits(nats: Any) -> Any:
    return nats / LN2


def discrete_nll_from_density(log_density_nats: Any, num_dims: int, num_levels: int) -> Any:
    """NLL (nats) of discrete data from the log-density of its dequantized version in ``[0, 1)^D``:
    ``-log p(y) + D log L``."""
    if num_levels < 2:
        raise ConfigError(f"num_levels must be at least 2, got {num_levels}")
    return -log_density_nats + num_dims * math.log(num_levels)


def token_nll(
    logits: torch.Tensor, targets: torch.Tensor, ignore_index: int | None = None
) -> tuple[float, int]:
    """(sum of NLL in nats, number of counted tokens) of ``targets (B, T)`` under ``logits (B, T, V)``."""
    import torch
    import torch.nn.functional as F

    if logits.ndim != 3 or targets.shape != logits.shape[:2]:
        raise DataError(
            f"logits must be (B, T, V) and targets (B, T); got {tuple(logits.shape)} and {tuple(targets.shape)}"
        )
    log_probs = F.log_softmax(logits.double(), dim=-1)
    picked = -log_probs.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    mask = torch.ones_like(picked, dtype=torch.bool) if ignore_index is None else targets != ignore_index
    return float(picked[mask].sum()), int(mask.sum())


def perplexity(logits: torch.Tensor, targets: torch.Tensor, **options: Any) -> dict[str, Any]:
    """Perplexity of ``targets (B, T)`` under ``logits (B, T, V)``: ``exp(mean NLL per token)``;
    ``options``: :class:`PerplexityOptions`."""
    return one_shot(Perplexity(**options), logits, targets)


def _perplexity_result(total: float, count: int) -> dict[str, Any]:
    mean = total / count
    return {
        "perplexity": math.exp(mean),
        "nll_per_token_nats": mean,
        "bits_per_token": mean / LN2,
        "tokens": count,
    }


class _SummedNLL(Metric):
    """State shared by the likelihood metrics: a float64 sum of NLLs in nats and how many terms it has."""

    states = {"total": State(0.0), "count": State(0)}


def negative_log_likelihood(nll_nats: Any, **options: Any) -> dict[str, Any]:
    """Functional twin of :class:`NegativeLogLikelihood`: mean NLL of ``(N,)`` per-example nats, in nats,
    nats/dim and bits/dim; ``options``: :class:`NLLOptions` (``num_dims`` required)."""
    return one_shot(NegativeLogLikelihood(**options), nll_nats)


@register_metric(
    "nll",
    kind="likelihood",
    function=negative_log_likelihood,
    summary="mean negative log-likelihood of examples in nats, nats/dim and bits/dim",
)
class NegativeLogLikelihood(_SummedNLL):
    """Mean NLL of examples: ``update(nll_nats (B,))``; ``compute()`` gives nats, nats/dim and bits/dim."""

    name = "negative_log_likelihood"
    options_class = NLLOptions

    def update(self, nll_nats: Any) -> None:
        values = np.asarray(
            nll_nats.detach().cpu() if hasattr(nll_nats, "detach") else nll_nats, dtype=np.float64
        )
        if not np.isfinite(values).all():
            raise DataError("negative log-likelihoods contain NaN or infinite values")
        self.total += float(values.sum())
        self.count += values.size

    def compute(self) -> dict[str, Any]:
        if self.count == 0:
            raise DataError("no examples were scored")
        mean, num_dims = self.total / self.count, self.options.num_dims
        return {
            "nll_nats": mean,
            "nats_per_dim": mean / num_dims,
            "bits_per_dim": bits_per_dim(mean, num_dims),
            "n": self.count,
            "num_dims": num_dims,
        }


@register_metric(
    "perplexity",
    kind="likelihood",
    function=perplexity,
    summary="perplexity of target tokens under a model's logits (padding left out)",
)
class Perplexity(_SummedNLL):
    """Streaming perplexity: ``update(logits (B, T, V), targets (B, T))``."""

    name = "perplexity"
    options_class = PerplexityOptions

    def update(self, logits: torch.Tensor, targets: torch.Tensor) -> None:
        total, count = token_nll(logits, targets, self.options.ignore_index)
        self.total += total
        self.count += count

    def compute(self) -> dict[str, Any]:
        if self.count == 0:
            raise DataError("no tokens were scored (all positions are ignore_index)")
        return _perplexity_result(self.total, self.count)
