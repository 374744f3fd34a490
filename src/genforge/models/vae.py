"""Variational autoencoder (Kingma & Welling 2014) with a beta weight (Higgins et al. 2017) and an
importance-weighted likelihood bound (IWAE, Burda et al. 2016) for evaluation.

Encoder and decoder are the convolutional stacks of :mod:`genforge.nn.convnets`, sized from the image
shape. Every likelihood is a distribution over the *discrete* pixel levels the dataset stores, so the
bits/dim this family reports are comparable with PixelCNN and the flows:

- ``categorical``: a softmax over the ``num_levels`` values of each pixel channel (exact, the default for
  few-level data such as the 17-level digits);
- ``gaussian``: a Gaussian on ``[0, 1]`` integrated over each level's bin (a discretised Gaussian, the
  edge bins extended to infinity; the default for 256-level images, where a 256-way softmax per pixel
  would dominate the cost);
- ``bernoulli``: binary pixels. The data is binarised at half intensity first, so its bits/dim measure the
  *binarised* images and are reported under keys ending in ``_binarized``.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from genforge.core.config import Config
from genforge.core.errors import ConfigError
from genforge.data.info import DataInfo
from genforge.data.transforms import Binarize, ToSymmetric, ToUnit
from genforge.models.base import GenerativeModel, bits_per_dim, register_model
from genforge.nn.convnets import ConvDecoder, ConvEncoder

LOG_2PI = math.log(2 * math.pi)
# Decoder outputs evaluated at once when averaging over many latent samples (IWAE): bounds memory.
IWAE_ELEMENT_BUDGET = 2**23


class VAEConfig(Config):
    latent_dim: int = Field(16, ge=1, le=1024, description="size of the Gaussian latent code z")
    likelihood: Literal["auto", "categorical", "gaussian", "bernoulli"] = Field(
        "auto",
        description="p(x|z): categorical softmax over levels, discretised gaussian, or bernoulli on binarised "
        "pixels; auto = categorical up to 32 levels, else gaussian",
    )
    beta: float = Field(1.0, ge=0.0, description="weight of the KL term (beta-VAE); 1 gives the true ELBO")
    iwae_k: int = Field(64, ge=1, le=5000, description="importance samples for the IWAE log-likelihood bound")
    base_channels: int = Field(16, ge=4, description="channels of the first conv layer (doubled per halving)")
    max_channels: int = Field(128, ge=4, description="cap on conv channels")
    res_blocks: int = Field(
        0, ge=0, le=8, description="residual blocks per resolution in encoder and decoder"
    )
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="dropout on the encoder features (regularises)")
    min_std: float = Field(
        1e-3, gt=0.0, description="floor of the gaussian likelihood std, in [0,1] pixel units"
    )


@register_model(
    "vae",
    config=VAEConfig,
    data_kinds=("image",),
    # digits overfits after ~750 steps at these settings (val ELBO 2.017 bits/dim, then 2.21 by step 6000):
    # validate every 100 steps and stop after 4 evaluations without improvement
    train_defaults={
        "lr": 3e-3,
        "batch_size": 64,
        "ema_decay": 0.995,
        "eval_every": 100,
        "early_stop_patience": 4,
    },
)
class VAE(GenerativeModel):
    """Convolutional VAE on discrete images ``(B, C, H, W)`` with levels in ``[0, num_levels)``."""

    def __init__(self, config: VAEConfig, info: DataInfo) -> None:
        super().__init__(config, info)
        if len(info.shape) != 3 or not info.num_levels:
            raise ConfigError(f"vae needs images with (C, H, W) shape and num_levels, got shape {info.shape}")
        channels, height, width = info.shape
        self.num_levels = info.num_levels
        self.kind = resolve_likelihood(config.likelihood, info.num_levels)
        out_per_channel = {"categorical": info.num_levels, "gaussian": 2, "bernoulli": 1}[self.kind]
        conv = {
            "base_channels": config.base_channels,
            "max_channels": config.max_channels,
            "res_blocks": config.res_blocks,
        }
        self.encoder = ConvEncoder(info.shape, **conv)
        self.to_posterior = nn.Sequential(
            nn.Dropout(config.dropout), nn.Linear(self.encoder.feature_dim, 2 * config.latent_dim)
        )
        self.decoder = ConvDecoder(config.latent_dim, channels * out_per_channel, (height, width), **conv)
        self.outputs_per_example = channels * out_per_channel * height * width
        self.to_input = ToSymmetric(info.num_levels)
        self.to_unit = ToUnit(info.num_levels)
        self.binarize = Binarize(0.5, num_levels=info.num_levels)

    # -- pieces -------------------------------------------------------------------------------------

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z|x) for levels ``x`` (B, C, H, W): mean and log-variance, each (B, latent_dim)."""
        inputs = self.binarize(x) * 2 - 1 if self.kind == "bernoulli" else self.to_input(x)
        mean, log_var = self.to_posterior(self.encoder(inputs)).chunk(2, dim=1)
        # Bounded log-variance keeps exp() finite in the first steps, when the encoder output is arbitrary.
        return mean, log_var.clamp(-12.0, 8.0)

    def log_likelihood(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """log p(x|z) in nats per example (B,), for levels ``x`` and decoder output ``out`` of z."""
        c = self.info.shape[0]
        if self.kind == "categorical":
            logits = out.view(out.shape[0], c, self.num_levels, *out.shape[2:])
            log_p = logits.log_softmax(dim=2).gather(2, x.long().unsqueeze(2)).squeeze(2)
        elif self.kind == "gaussian":
            mean, raw_std = out.chunk(2, dim=1)
            std = self.config.min_std + F.softplus(raw_std)
            log_p = discretized_gaussian_log_prob(x, mean, std, self.num_levels)
        else:
            log_p = -F.binary_cross_entropy_with_logits(out, self.binarize(x), reduction="none")
        return log_p.flatten(1).sum(1)

    def mean_image(self, out: torch.Tensor) -> torch.Tensor:
        """E[x|z] in [0, 1] pixel units, (B, C, H, W), from decoder output ``out``."""
        if self.kind == "categorical":
            c = self.info.shape[0]
            probs = out.view(out.shape[0], c, self.num_levels, *out.shape[2:]).softmax(dim=2)
            levels = torch.arange(self.num_levels, dtype=probs.dtype, device=probs.device)
            return torch.einsum("bclhw,l->bchw", probs, levels) / (self.num_levels - 1)
        if self.kind == "gaussian":
            return out.chunk(2, dim=1)[0].clamp(0.0, 1.0)
        return torch.sigmoid(out)

    # -- protocol -----------------------------------------------------------------------------------

    def loss(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Negative beta-ELBO in nats per example (one reparameterised sample from torch's global RNG)."""
        x = batch["x"]
        mean, log_var = self.posterior(x)
        z = mean + torch.randn_like(mean) * (0.5 * log_var).exp()
        recon = self.log_likelihood(x, self.decoder(z))
        kl = gaussian_kl(mean, log_var)
        elbo = recon - kl
        return {
            "loss": (self.config.beta * kl - recon).mean(),
            "recon_nats": -recon.mean(),
            "kl_nats": kl.mean(),
            "elbo_bits_per_dim": bits_per_dim(elbo, self.info.num_dims).mean(),
        }

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Posterior means (B, latent_dim) of levels ``x`` (B, C, H, W)."""
        return self.posterior(x)[0]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latents (B, latent_dim) -> mean images (B, C, H, W) in [0, 1]."""
        return self.mean_image(self.decoder(z))

    @torch.no_grad()
    def sample(
        self, n: int, *, generator: torch.Generator | None = None, temperature: float = 1.0, **opts: Any
    ) -> torch.Tensor:
        """``n`` images (n, C, H, W) in [0, 1]: decoder means at z ~ N(0, temperature^2 I).

        Decoder means rather than pixel draws, the usual way to show a VAE; temperature 0 decodes z = 0.
        """
        if opts:
            raise ConfigError(
                f"vae sampling takes no {', '.join(sorted(opts))} option (the vae is unconditional)"
            )
        device = next(self.parameters()).device
        z = torch.randn(n, self.config.latent_dim, generator=generator).to(device) * temperature
        return self.decode(z)

    @torch.no_grad()
    def log_prob(
        self, x: torch.Tensor, *, k: int | None = None, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """IWAE lower bound on log P(x) in nats (B,) of levels ``x`` with ``k`` (default ``iwae_k``)
        importance samples; with the bernoulli likelihood, of the binarised images."""
        k = k or self.config.iwae_k
        mean, log_var = self.posterior(x)
        std = (0.5 * log_var).exp()
        chunk = max(1, IWAE_ELEMENT_BUDGET // (self.outputs_per_example * x.shape[0]))
        log_weights = []
        for start in range(0, k, chunk):
            m = min(chunk, k - start)
            eps = torch.randn((m, *mean.shape), generator=generator).to(mean.device)
            z = mean + eps * std  # (m, B, latent)
            out = self.decoder(z.flatten(0, 1))
            recon = self.log_likelihood(x.repeat(m, 1, 1, 1), out).view(m, -1)
            log_prior = -0.5 * (z.pow(2) + LOG_2PI).sum(-1)
            log_post = -0.5 * (eps.pow(2) + LOG_2PI + log_var).sum(-1)
            log_weights.append(recon + log_prior - log_post)
        return torch.logsumexp(torch.cat(log_weights), dim=0) - math.log(k)

    @torch.no_grad()
    def eval_terms(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Per example: IWAE bits/dim (the likelihood figure), single-sample ELBO bits/dim, and the
        mean squared error of the reconstruction from the posterior mean, in [0, 1] pixel units."""
        x = batch["x"]
        mean, log_var = self.posterior(x)
        z = mean + torch.randn_like(mean) * (0.5 * log_var).exp()
        elbo = self.log_likelihood(x, self.decoder(z)) - gaussian_kl(mean, log_var)
        target = self.binarize(x) if self.kind == "bernoulli" else self.to_unit(x)
        mse = (self.decode(mean) - target).pow(2).flatten(1).mean(1)
        suffix = "_binarized" if self.kind == "bernoulli" else ""
        return {
            f"bits_per_dim_iwae{suffix}": bits_per_dim(self.log_prob(x), self.info.num_dims),
            f"elbo_bits_per_dim{suffix}": bits_per_dim(elbo, self.info.num_dims),
            "recon_mse": mse,
        }


def resolve_likelihood(name: str, num_levels: int) -> str:
    """``auto`` -> ``categorical`` for up to 32 levels, else ``gaussian``."""
    if name != "auto":
        return name
    return "categorical" if num_levels <= 32 else "gaussian"


def gaussian_kl(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(log_var)) || N(0, I)) in nats per example (B,)."""
    return 0.5 * (mean.pow(2) + log_var.exp() - 1.0 - log_var).sum(-1)


def discretized_gaussian_log_prob(
    x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor, num_levels: int
) -> torch.Tensor:
    """log P(level) under N(mean, std^2) on [0, 1] integrated over the level's bin, elementwise.

    Level ``k`` sits at ``k / (L - 1)`` and owns the bin of width ``1 / (L - 1)`` around it; the first and
    last bins extend to -inf / +inf so the probabilities over the L levels sum to one. Computed in float64
    from log-CDFs, taking the tail that keeps precision (as for the discretised logistic of Salimans et al.
    2017), with the density times bin width where even that difference underflows.
    """
    dtype = mean.dtype
    x, mean, std = x.double(), mean.double(), std.double()
    half_bin = 0.5 / (num_levels - 1)
    centre = x / (num_levels - 1)
    upper = (centre + half_bin - mean) / std
    lower = (centre - half_bin - mean) / std
    upper = torch.where(x >= num_levels - 1, torch.full_like(upper, math.inf), upper)
    lower = torch.where(x <= 0, torch.full_like(lower, -math.inf), lower)
    # P = Phi(upper) - Phi(lower) = Phi(-lower) - Phi(-upper); use the side away from the far tail.
    flip = lower > 0
    hi = torch.where(flip, -lower, upper)
    lo = torch.where(flip, -upper, lower)
    log_hi, log_lo = torch.special.log_ndtr(hi), torch.special.log_ndtr(lo)
    gap = (log_hi - log_lo).clamp_min(1e-300)
    exact = log_hi + torch.log(-torch.expm1(-gap))
    z_mid = (centre - mean) / std
    approx = -0.5 * (z_mid.pow(2) + LOG_2PI) - std.log() + math.log(2 * half_bin)
    return torch.where(gap > 1e-10, exact, approx).to(dtype)
