"""Generative adversarial networks (Goodfellow et al. 2014) in the DCGAN layout (Radford et al. 2016).

Three objectives (``loss``): the non-saturating loss of the original paper (``ns``), the hinge loss
(Lim & Ye 2017; Miyato et al. 2018) and the Wasserstein loss with gradient penalty (``wgan-gp``,
Gulrajani et al. 2017, with ``n_critic`` critic updates per generator update). Spectral normalisation of
the discriminator (Miyato et al. 2018) uses ``torch.nn.utils.parametrizations.spectral_norm``. The
class-conditional variant feeds a label embedding to the generator and uses a projection discriminator
(Miyato & Koyama 2018). Images use the convolutional stacks of :mod:`genforge.nn.convnets`; 2-D points
use MLPs from :mod:`genforge.nn.mlp`. The weight average used for sampling is the trainer's EMA.

Under DP training (``--dp``) the discriminator alone is private (:func:`private_part`; the accounting is
explained in :mod:`genforge.trainer.dp`): each real example is paired with one fake in the discriminator's
loss, and the generator's step draws the expected batch size of fakes (with uniform labels when
conditional), so it sees no private batch.

A GAN has no likelihood: ``eval_terms`` reports the discriminator's scores on held-out real data and on
as many fresh samples, which say how well the final critic separates them, not how good the samples are
(use the sample metrics for that).
"""

from __future__ import annotations

from typing import Any, Literal

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from genforge.core.config import Config
from genforge.core.errors import ConfigError
from genforge.data.info import DataInfo
from genforge.data.transforms import FromSymmetric, ToSymmetric
from genforge.models.base import GenerativeModel, register_model
from genforge.nn.convnets import ConvDecoder, ConvEncoder
from genforge.nn.mlp import mlp


class GANConfig(Config):
    loss: Literal["ns", "hinge", "wgan-gp"] = Field(
        "ns",
        description="adversarial objective: ns (non-saturating), hinge, or wgan-gp (Wasserstein + gradient penalty)",
    )
    latent_dim: int = Field(64, ge=1, le=1024, description="size of the generator's Gaussian input z")
    spectral_norm: bool = Field(False, description="spectrally normalise every discriminator layer")
    conditional: bool = Field(
        False, description="condition on class labels (needs labelled data, e.g. digits)"
    )
    n_critic: int = Field(
        1, ge=1, le=20, description="discriminator updates per generator update (5 is usual for wgan-gp)"
    )
    gp_weight: float = Field(10.0, ge=0.0, description="weight of the gradient penalty for wgan-gp")
    base_channels: int = Field(32, ge=4, description="channels at full resolution (doubled per halving)")
    max_channels: int = Field(256, ge=4, description="cap on conv channels")
    hidden_dim: int = Field(128, ge=4, description="MLP width for 2-D point data")
    depth: int = Field(3, ge=1, le=8, description="MLP hidden layers for 2-D point data")


class Generator(nn.Module):
    """z (B, latent_dim) [+ labels (B,)] -> images (B, C, H, W) in [-1, 1] or points (B, 2)."""

    def __init__(self, config: GANConfig, info: DataInfo) -> None:
        super().__init__()
        num_classes = info.num_classes if config.conditional else 0
        self.embed = nn.Embedding(num_classes, config.latent_dim) if num_classes else None
        in_dim = config.latent_dim * (2 if num_classes else 1)
        if info.kind == "points":
            self.net = mlp(in_dim, info.shape[0], config.hidden_dim, config.depth)
        else:
            channels, height, width = info.shape
            self.net = nn.Sequential(
                ConvDecoder(
                    in_dim,
                    channels,
                    (height, width),
                    base_channels=config.base_channels,
                    max_channels=config.max_channels,
                    norm="batch",
                    activation="relu",
                ),
                nn.Tanh(),
            )

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            z = torch.cat([z, self.embed(labels)], dim=1)
        return self.net(z)


class Discriminator(nn.Module):
    """Images in [-1, 1] or points [+ labels] -> one unbounded score per example (B,).

    No batch norm (the gradient penalty is per example); conditional scores add the projection term
    ``<embed(y), features(x)>``.
    """

    def __init__(self, config: GANConfig, info: DataInfo) -> None:
        super().__init__()
        if info.kind == "points":
            self.features = nn.Sequential(
                mlp(info.shape[0], config.hidden_dim, config.hidden_dim, config.depth - 1, nn.LeakyReLU),
                nn.LeakyReLU(),
            )
            feature_dim = config.hidden_dim
        else:
            encoder = ConvEncoder(
                info.shape,
                base_channels=config.base_channels,
                max_channels=config.max_channels,
                norm="none",
                activation="leaky_relu",
            )
            self.features = encoder
            feature_dim = encoder.feature_dim
        self.head = nn.Linear(feature_dim, 1)
        num_classes = info.num_classes if config.conditional else 0
        self.embed = nn.Embedding(num_classes, feature_dim) if num_classes else None
        if config.spectral_norm:
            for module in list(self.modules()):
                if isinstance(module, nn.Linear | nn.Conv2d):
                    spectral_norm(module)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.features(x)
        score = self.head(h).squeeze(1)
        if self.embed is not None:
            score = score + (self.embed(labels) * h).sum(1)
        return score


@register_model(
    "gan",
    config=GANConfig,
    data_kinds=("image", "points"),
    train_defaults={"lr": 1e-3, "betas": [0.5, 0.999], "ema_decay": 0.999},
)
class GAN(GenerativeModel):
    """Generator + discriminator trained alternately by :meth:`train_step` (two optimizers)."""

    # The trainer's EMA averages the generator only; the discriminator is used as trained.
    ema_exclude = ("discriminator.",)

    def __init__(self, config: GANConfig, info: DataInfo) -> None:
        super().__init__(config, info)
        if info.kind == "image" and (len(info.shape) != 3 or not info.num_levels):
            raise ConfigError(f"gan needs images with (C, H, W) shape and num_levels, got shape {info.shape}")
        if config.conditional and not info.num_classes:
            raise ConfigError(
                "conditional=true needs labelled data (e.g. digits); this dataset has no classes"
            )
        self.generator = Generator(config, info)
        self.discriminator = Discriminator(config, info)
        self.to_model_space = ToSymmetric(info.num_levels) if info.kind == "image" else None
        self.from_model_space = FromSymmetric()
        self.private_batch: int | None = None  # set by private_part: DP training on the discriminator

    # -- pieces -------------------------------------------------------------------------------------

    def _real(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Real examples in model space ([-1, 1] images or raw points) and their labels if conditional."""
        x = batch["x"]
        x = self.to_model_space(x) if self.to_model_space is not None else x.float()
        labels = batch.get("y") if self.config.conditional else None
        if self.config.conditional and labels is None:
            raise ConfigError("conditional gan needs labels: batches must carry 'y'")
        return x, labels

    def _fake(self, n: int, labels: torch.Tensor | None) -> torch.Tensor:
        """Generated examples from the global RNG (the trainer seeds and checkpoints it)."""
        device = next(self.parameters()).device
        return self.generator(torch.randn(n, self.config.latent_dim, device=device), labels)

    def discriminator_loss(self, d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
        """Critic objective without the gradient penalty (scalar)."""
        if self.config.loss == "ns":
            return F.softplus(-d_real).mean() + F.softplus(d_fake).mean()
        if self.config.loss == "hinge":
            return F.relu(1.0 - d_real).mean() + F.relu(1.0 + d_fake).mean()
        return d_fake.mean() - d_real.mean()

    def generator_loss(self, d_fake: torch.Tensor) -> torch.Tensor:
        """Generator objective (scalar): non-saturating -log D(G(z)) for ns, -score otherwise."""
        if self.config.loss == "ns":
            return F.softplus(-d_fake).mean()
        return -d_fake.mean()

    def gradient_penalty(
        self, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor | None
    ) -> torch.Tensor:
        """E[(||grad_x D(x_hat)||_2 - 1)^2] on random interpolates of real and fake (Gulrajani et al. 2017, eq. 3)."""
        alpha = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device)
        mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        scores = self.discriminator(mixed, labels)
        (grad,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
        return (grad.flatten(1).norm(dim=1) - 1.0).pow(2).mean()

    # -- protocol -----------------------------------------------------------------------------------

    def optimizer_groups(self) -> dict[str, list[nn.Parameter]]:
        return {
            "generator": list(self.generator.parameters()),
            "discriminator": list(self.discriminator.parameters()),
        }

    def private_part(self, batch_size: int) -> tuple[str, nn.Module]:
        """DP training: the discriminator is the private part (its optimizer's name and module); the
        generator's steps then draw ``batch_size`` fakes whatever the Poisson batch's size."""
        if self.config.loss == "wgan-gp":
            raise ConfigError(
                "DP training cannot clip wgan-gp's gradient penalty per example (it needs input gradients): "
                "use --set loss=ns or --set loss=hinge with --dp"
            )
        if self.config.n_critic != 1:
            raise ConfigError(
                f"DP training takes one discriminator update per Poisson batch, got n_critic={self.config.n_critic}: "
                "use --set n_critic=1 with --dp"
            )
        if self.config.spectral_norm:
            raise ConfigError(
                "DP training has no per-sample gradients for spectrally normalised layers (Opacus cannot "
                "handle parametrizations): drop --set spectral_norm=true with --dp"
            )
        self.private_batch = batch_size
        return "discriminator", self.discriminator

    def train_step(
        self, batch: dict[str, torch.Tensor], optimizers: dict[str, torch.optim.Optimizer], step: int
    ) -> dict[str, float]:
        """``n_critic`` discriminator updates (each on this real batch with fresh fakes), then one
        generator update. Returns the logged terms (``loss`` is the last critic objective; an empty DP
        batch updates the generator only)."""
        real, labels = self._real(batch)
        n = real.shape[0]
        d_opt, g_opt = optimizers["discriminator"], optimizers["generator"]
        terms: dict[str, float] = {}
        for _ in range(self.config.n_critic if n else 0):
            with torch.no_grad():
                fake = self._fake(n, labels)
            d_real, d_fake = self.discriminator(real, labels), self.discriminator(fake, labels)
            d_loss = self.discriminator_loss(d_real, d_fake)
            penalty = torch.zeros(())
            if self.config.loss == "wgan-gp":
                penalty = self.gradient_penalty(real, fake, labels)
            d_opt.zero_grad(set_to_none=True)
            (d_loss + self.config.gp_weight * penalty).backward()
            d_opt.step()
            terms = {"loss": float(d_loss.detach()), "d_loss": float(d_loss.detach()),
                     "d_real_mean": float(d_real.detach().mean()), "d_fake_mean": float(d_fake.detach().mean())}  # fmt: skip
            if self.config.loss == "wgan-gp":
                terms["gradient_penalty"] = float(penalty.detach())
        if self.private_batch is not None:  # the generator's step must not depend on the private batch
            n = self.private_batch
            labels = torch.randint(self.info.num_classes, (n,)) if labels is not None else None
        g_scores = self.discriminator(self._fake(n, labels), labels)
        g_loss = self.generator_loss(g_scores)
        g_opt.zero_grad(set_to_none=True)
        g_loss.backward()
        g_opt.step()
        return {**terms, "g_loss": float(g_loss.detach())}

    def loss(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Both objectives on a batch without updating anything (used for validation); ``loss`` is the
        critic objective (no gradient penalty, which needs input gradients)."""
        real, labels = self._real(batch)
        fake = self._fake(real.shape[0], labels)
        d_real, d_fake = self.discriminator(real, labels), self.discriminator(fake, labels)
        d_loss = self.discriminator_loss(d_real, d_fake)
        return {
            "loss": d_loss,
            "d_loss": d_loss,
            "g_loss": self.generator_loss(d_fake),
            "d_real_mean": d_real.mean(),
            "d_fake_mean": d_fake.mean(),
        }

    @property
    def latent_dim(self) -> int:
        """Size of the generator input z (used by latent interpolation)."""
        return self.config.latent_dim

    @torch.no_grad()
    def decode(
        self, z: torch.Tensor, *, labels: torch.Tensor | None = None, label: int | None = None
    ) -> torch.Tensor:
        """Latents (n, latent_dim) -> images (n, C, H, W) in [0, 1] or points (n, 2).

        Conditional models use ``labels`` (n,), else every sample gets ``label``, else the classes in turn
        (0, 1, …, K-1, 0, …).
        """
        device = next(self.parameters()).device
        n = z.shape[0]
        if self.config.conditional:
            labels = self._labels(n, labels, label).to(device)
        elif labels is not None or label is not None:
            raise ConfigError(
                "labels were given but this gan is not conditional (train with --set conditional=true)"
            )
        out = self.generator(z.to(device), labels)
        return self.from_model_space(out) if self.info.kind == "image" else out

    @torch.no_grad()
    def sample(
        self,
        n: int,
        *,
        generator: torch.Generator | None = None,
        temperature: float = 1.0,
        labels: torch.Tensor | None = None,
        label: int | None = None,
        **opts: Any,
    ) -> torch.Tensor:
        """``n`` images (n, C, H, W) in [0, 1] or points (n, 2) from z ~ N(0, temperature^2 I);
        ``labels``/``label`` choose the classes of a conditional model as in :meth:`decode`."""
        if opts:
            raise ConfigError(
                f"gan sampling takes no {', '.join(sorted(opts))} option (it takes temperature, label)"
            )
        z = torch.randn(n, self.config.latent_dim, generator=generator) * temperature
        return self.decode(z, labels=labels, label=label)

    def _labels(self, n: int, labels: torch.Tensor | None, label: int | None) -> torch.Tensor:
        num_classes = self.info.num_classes
        if labels is None and label is None:
            return torch.arange(n) % num_classes
        labels = torch.full((n,), label) if labels is None else torch.as_tensor(labels, dtype=torch.long)
        if labels.shape != (n,):
            raise ConfigError(
                f"labels must have one entry per sample: expected shape ({n},), got {tuple(labels.shape)}"
            )
        if labels.min() < 0 or labels.max() >= num_classes:
            raise ConfigError(
                f"class labels must lie in 0..{num_classes - 1}, got {labels.min()}..{labels.max()}"
            )
        return labels

    @torch.no_grad()
    def eval_terms(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Per example: the discriminator's score of the real test example and of one fresh sample
        (with the same label when conditional). Scores are logits for ns/hinge, critic values for wgan-gp."""
        real, labels = self._real(batch)
        fake = self._fake(real.shape[0], labels)
        return {
            "disc_real_mean": self.discriminator(real, labels),
            "disc_fake_mean": self.discriminator(fake, labels),
        }
