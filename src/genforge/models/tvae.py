"""TVAE: a variational autoencoder for mixed-type table rows (Xu et al. 2019, "Modeling Tabular Data
using Conditional GAN", section 5).

Rows arrive encoded by :class:`~genforge.data.table_transform.TableTransform` (mode-specific normalised
alphas, one-hot groups). Encoder and decoder are MLPs; the decoder's likelihood is Gaussian on each alpha
with a learned per-column scale and categorical on each group (:mod:`genforge.nn.table_heads`). The
scale is the weight of a bias-free ``Linear(1, alphas)`` applied to a column of ones rather than a bare
parameter, so that Opacus computes its per-sample gradient and the whole model trains under DP-SGD.
Samples are encoded rows; the tabular engine turns them back into raw columns.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
from pydantic import Field
from torch import nn

from genforge.core.config import Config
from genforge.core.errors import ConfigError
from genforge.data.info import DataInfo
from genforge.models.base import GenerativeModel, register_model
from genforge.nn.table_heads import alpha_positions, draw_rows, reconstruction_log_likelihood


class TVAEConfig(Config):
    latent_dim: int = Field(128, ge=1, le=1024, description="size of the Gaussian latent code")
    hidden: list[int] = Field([256, 256], min_length=1, description="hidden widths of encoder and decoder")
    loss_factor: float = Field(2.0, gt=0, description="weight of the reconstruction term (TVAE uses 2)")
    init_sigma: float = Field(0.1, gt=0, lt=1, description="initial std of the alpha likelihood")
    discrete: Literal["argmax", "sample"] = Field(
        "sample",
        description="sampled categories and modes: a draw from the decoder's softmax, or its argmax (the "
        "TVAE paper; on adult it loses rare categories: column shapes 0.854 against 0.896)",
    )


def mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-2], sizes[1:-1], strict=True):
        layers += [nn.Linear(a, b), nn.ReLU()]
    layers.append(nn.Linear(sizes[-2], sizes[-1]))
    return nn.Sequential(*layers)


@register_model(
    "tvae",
    config=TVAEConfig,
    data_kinds=("table",),
    train_defaults={"lr": 1e-3, "batch_size": 500, "weight_decay": 1e-5, "eval_every": 250},
)
class TVAE(GenerativeModel):
    """VAE on encoded rows ``(B, width)``; ``info.extra["spans"]`` gives the layout."""

    def __init__(self, config: TVAEConfig, info: DataInfo) -> None:
        super().__init__(config, info)
        if "spans" not in info.extra:
            raise ConfigError("tvae trains on synth: tables (e.g. --data synth:adult)")
        self.spans = [tuple(s) for s in info.extra["spans"]]
        width = info.shape[0]
        self.alphas = len(alpha_positions(self.spans))
        self.encoder = mlp([width, *config.hidden, 2 * config.latent_dim])
        self.decoder = mlp([config.latent_dim, *reversed(config.hidden), width])
        self.log_sigma = nn.Linear(1, max(self.alphas, 1), bias=False)
        nn.init.constant_(self.log_sigma.weight, math.log(config.init_sigma))

    def _log_sigma(self, rows: int) -> torch.Tensor:
        ones = torch.ones(rows, 1, dtype=self.log_sigma.weight.dtype)
        return self.log_sigma(ones).clamp(math.log(0.01), 0.0)

    def _elbo_terms(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_var = self.encoder(x).chunk(2, dim=1)
        log_var = log_var.clamp(-12.0, 8.0)
        z = mean + torch.randn_like(mean) * (0.5 * log_var).exp()
        recon = reconstruction_log_likelihood(self.decoder(z), x, self.spans, self._log_sigma(len(x)))
        kl = 0.5 * (mean.pow(2) + log_var.exp() - 1.0 - log_var).sum(1)
        return recon, kl

    def loss(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``loss_factor`` x reconstruction NLL + KL, nats per row (one reparameterised draw)."""
        recon, kl = self._elbo_terms(batch["x"])
        return {
            "loss": (self.config.loss_factor * -recon + kl).mean(),
            "recon_nats": -recon.mean(),
            "kl_nats": kl.mean(),
        }

    def eval_terms(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Negative ELBO per row in nats (of the encoded row; alphas as continuous values)."""
        recon, kl = self._elbo_terms(batch["x"])
        return {"neg_elbo_nats": kl - recon}

    def sample(self, n: int, *, generator: torch.Generator | None = None, **opts: Any) -> torch.Tensor:
        """``n`` encoded rows ``(n, width)``: z ~ N(0, I), decoded, alphas with their learned noise."""
        z = torch.randn(n, self.config.latent_dim, generator=generator)
        raw = self.decoder(z)
        return draw_rows(
            raw, self.spans, generator=generator, log_sigma=self._log_sigma(n), discrete=self.config.discrete
        )
