"""Denoising diffusion (Ho et al. 2020) on images: noise schedules, ε- or v-prediction, DDPM and DDIM
sampling, class conditioning with classifier-free guidance.

Training draws a timestep ``t`` uniformly from ``0 .. T-1`` and noise ``eps`` for each image ``x0`` in
``[-1, 1]``, forms ``x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps`` and regresses the UNet
(:class:`genforge.nn.unet.UNet`) onto ``eps`` or onto ``v = sqrt(abar_t) eps - sqrt(1 - abar_t) x0``
(Salimans & Ho 2022) with a mean squared error. Schedules (:data:`SCHEDULES`):

- ``linear``: ``beta`` evenly from 1e-4 to 0.02 over T steps (Ho et al. 2020), diffusers' ``"linear"``;
- ``cosine``: ``abar(t) = cos^2(((t/T) + s) / (1 + s) * pi/2)`` with s = 0.008, betas capped at 0.999
  (Nichol & Dhariwal 2021), diffusers' ``"squaredcos_cap_v2"``.

Samplers (:data:`SAMPLERS`) walk down a subsequence of timesteps with the generalised step of Song et al.
(2021, eq. 12); ``eta`` sets the noise added per step: ``ddim`` is eta = 0 (deterministic), ``ddpm`` is
eta = 1 (ancestral, the posterior variance ``beta~_t``; over all T steps it is Ho et al.'s sampler).
**Step spacing rule**: with ``S`` steps the timesteps are ``trailing`` (default): ``round(T - k*T/S) - 1``
for k = 0 .. S-1, which always starts at ``T - 1`` (Lin et al. 2024 show that starting lower, as the
``leading`` rule ``k * (T // S)`` does, leaves signal the model never saw and costs quality at few
steps); ``leading`` matches diffusers' DDIMScheduler default. FD moves with this rule: compare runs
at the same rule and step count. The predicted ``x0`` is clipped to ``[-1, 1]`` at every step.

With ``cond = "class"`` the label is dropped (replaced by a "no label" token) with probability
``cond_drop`` in training, and sampling mixes ``eps_uncond + w (eps_cond - eps_uncond)`` for guidance
``w`` (Ho & Salimans 2022); ``w = 1`` is plain conditional sampling. With ``cond = "text"`` (data
``digits-captions``) the condition is the caption's embedding by the frozen text tower of a trained
CLIP-style run (``clip_run``, copied into this model so its checkpoints stand alone), dropped to zeros
with probability ``cond_drop``; ``sample(prompt=...)`` guides towards a prompt the same way.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import torch
from pydantic import Field, field_validator

from genforge.core.config import Config
from genforge.core.errors import ConfigError
from genforge.data.captions import class_prompts, encode_caption
from genforge.data.info import DataInfo
from genforge.data.transforms import ToSymmetric
from genforge.models.base import GenerativeModel, register_model
from genforge.models.clip import load_text_encoder
from genforge.nn.unet import UNet

SAMPLERS = {"ddpm": 1.0, "ddim": 0.0}  # sampler -> its default eta


def linear_alphas_cumprod(num_steps: int, beta_start: float = 1e-4, beta_end: float = 0.02) -> torch.Tensor:
    """``abar_t`` (T,) float64 for betas evenly spaced from ``beta_start`` to ``beta_end``."""
    betas = torch.linspace(beta_start, beta_end, num_steps, dtype=torch.float64)
    return torch.cumprod(1.0 - betas, dim=0)


def cosine_alphas_cumprod(num_steps: int, offset: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    """``abar_t`` (T,) float64 of the cosine schedule, built from capped betas like diffusers does."""

    def abar(u: torch.Tensor) -> torch.Tensor:
        return torch.cos((u + offset) / (1 + offset) * math.pi / 2) ** 2

    steps = torch.arange(num_steps, dtype=torch.float64)
    betas = (1 - abar((steps + 1) / num_steps) / abar(steps / num_steps)).clamp(max=max_beta)
    return torch.cumprod(1.0 - betas, dim=0)


SCHEDULES = {"linear": linear_alphas_cumprod, "cosine": cosine_alphas_cumprod}


def sampling_timesteps(num_train_steps: int, num_steps: int, spacing: str = "trailing") -> list[int]:
    """The descending timesteps a sampler visits with ``num_steps`` of ``num_train_steps`` (see module doc)."""
    if not 1 <= num_steps <= num_train_steps:
        raise ConfigError(
            f"--steps must be between 1 and {num_train_steps} (the training steps), got {num_steps}"
        )
    if spacing == "leading":
        stride = num_train_steps // num_steps
        return [k * stride for k in reversed(range(num_steps))]
    ratio = num_train_steps / num_steps
    return [round(num_train_steps - k * ratio) - 1 for k in range(num_steps)]


class DiffusionConfig(Config):
    schedule: Literal["linear", "cosine"] = Field("cosine", description="noise schedule: linear or cosine")
    timesteps: int = Field(1000, ge=2, le=10_000, description="diffusion steps T of the training process")
    predict: Literal["eps", "v"] = Field("eps", description="network target: noise eps or velocity v")
    base_channels: int = Field(32, ge=4, le=512, description="UNet channels at full resolution")
    channel_mults: tuple[int, ...] = Field(
        (1, 2), min_length=1, max_length=5, description="channel multiplier per resolution"
    )
    blocks_per_level: int = Field(1, ge=1, le=4, description="residual blocks per resolution")
    attention: bool = Field(True, description="self-attention at the lowest resolution")
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="dropout inside the residual blocks")
    cond: Literal["none", "class", "text"] = Field(
        "none", description="conditioning: none, class labels, or captions (text, needs clip_run)"
    )
    clip_run: str | None = Field(None, description="clip run whose text tower embeds captions (cond=text)")
    cond_drop: float = Field(0.1, ge=0.0, le=1.0, description="probability of dropping the label in training")
    sampler: Literal["ddpm", "ddim"] = Field("ddim", description="default sampler: ddpm (ancestral) or ddim")
    sample_steps: int = Field(50, ge=1, le=10_000, description="default number of sampling steps")
    spacing: Literal["trailing", "leading"] = Field("trailing", description="sampling step spacing rule")
    guidance: float = Field(1.0, ge=0.0, le=50.0, description="default classifier-free guidance scale")

    @field_validator("clip_run")
    @classmethod
    def _absolute_run_path(cls, value: str | None) -> str | None:
        """A clip run given as a path is recorded absolute, so the run loads from any directory."""
        if value is None or not Path(value).expanduser().exists():
            return value
        return str(Path(value).expanduser().resolve())


@register_model(
    "diffusion",
    config=DiffusionConfig,
    data_kinds=("image",),
    train_defaults={"lr": 2e-3, "batch_size": 128, "ema_decay": 0.995, "grad_clip": 1.0, "eval_every": 250},
)
class Diffusion(GenerativeModel):
    """Diffusion model on images ``(B, C, H, W)`` with integer levels in ``[0, num_levels)``."""

    def __init__(self, config: DiffusionConfig, info: DataInfo) -> None:
        super().__init__(config, info)
        if len(info.shape) != 3 or not info.num_levels:
            raise ConfigError(
                f"diffusion needs images with (C, H, W) shape and num_levels, got shape {info.shape}"
            )
        factor = 2 ** (len(config.channel_mults) - 1)
        if info.shape[1] % factor or info.shape[2] % factor:
            raise ConfigError(
                f"images of {info.shape[1]}x{info.shape[2]} cannot be halved {factor // 2 or 0} times: "
                f"give fewer channel_mults or --image-size divisible by {factor}"
            )
        if config.cond == "class" and not info.num_classes:
            raise ConfigError("cond=class needs a dataset with class labels (this one has none)")
        self.num_classes = info.num_classes if config.cond == "class" else None
        self.text_encoder = None
        if config.cond == "text":
            if not info.extra.get("vocab"):
                raise ConfigError("cond=text needs captioned images: --data digits-captions")
            if not config.clip_run:
                raise ConfigError("cond=text needs a trained clip run: --set clip_run=runs/<clip-id>")
            self.text_encoder = load_text_encoder(config.clip_run)
        self.unet = UNet(
            info.shape[0],
            config.base_channels,
            tuple(config.channel_mults),
            config.blocks_per_level,
            config.attention,
            self.num_classes,
            config.dropout,
            self.text_encoder.project.out_features if self.text_encoder is not None else None,
        )
        abar = SCHEDULES[config.schedule](config.timesteps)
        self.register_buffer("alphas_cumprod", abar.float(), persistent=False)
        self.to_input = ToSymmetric(info.num_levels)

    # -- training -----------------------------------------------------------------------------------

    def _coefficients(self, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        abar = self.alphas_cumprod[t].view(-1, 1, 1, 1)
        return abar.sqrt(), (1 - abar).sqrt()

    def per_example_loss(
        self, batch: dict[str, torch.Tensor], generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Mean squared error of the network target per example (B,), at random t and noise."""
        x0 = self.to_input(batch["x"])
        n = x0.shape[0]
        t = torch.randint(0, self.config.timesteps, (n,), generator=generator).to(x0.device)
        noise = torch.randn(x0.shape, generator=generator).to(x0.device)
        a, s = self._coefficients(t)
        labels = cond = None
        if self.num_classes is not None:
            labels = batch["y"].long()
            drop = torch.rand(n, generator=generator).to(x0.device) < self.config.cond_drop
            labels = torch.where(drop, torch.full_like(labels, self.num_classes), labels)
        if self.text_encoder is not None:
            with torch.no_grad():
                cond = self.text_encoder(batch["tokens"])
            keep = torch.rand(n, generator=generator).to(x0.device) >= self.config.cond_drop
            cond = cond * keep.unsqueeze(1).to(cond.dtype)
        target = noise if self.config.predict == "eps" else a * noise - s * x0
        return (self._denoise(a * x0 + s * noise, t, labels, cond) - target).pow(2).flatten(1).mean(1)

    def loss(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Denoising loss (the run's stream of torch's global RNG draws t, noise and label drops)."""
        return {"loss": self.per_example_loss(batch).mean()}

    @torch.no_grad()
    def eval_terms(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Per example: the denoising loss at one random timestep (its mean over t is the training loss)."""
        return {"denoising_mse": self.per_example_loss(batch)}

    # -- sampling -----------------------------------------------------------------------------------

    def _denoise(
        self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None, cond: torch.Tensor | None
    ) -> torch.Tensor:
        """The UNet's output; the text embedding is passed only to a text-conditioned model."""
        return self.unet(x, t, labels) if cond is None else self.unet(x, t, labels, cond)

    @property
    def takes_prompts(self) -> bool:
        """True when ``sample`` takes ``prompt`` (cond=text)."""
        return self.text_encoder is not None

    def _eps_and_x0(
        self,
        x: torch.Tensor,
        t: int,
        labels: torch.Tensor | None,
        guidance: float,
        cond: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Predicted noise and clipped x0 at step ``t`` (guidance mixes conditional and unconditional)."""
        steps = torch.full((x.shape[0],), t, device=x.device, dtype=torch.long)
        if (labels is None and cond is None) or guidance == 1.0:
            out = self._denoise(x, steps, labels, cond)
        else:
            null_labels = None if labels is None else torch.full_like(labels, self.num_classes)
            both = self._denoise(
                torch.cat([x, x]),
                torch.cat([steps, steps]),
                None if labels is None else torch.cat([labels, null_labels]),
                None if cond is None else torch.cat([cond, torch.zeros_like(cond)]),
            )
            conditional, unconditional = both.chunk(2)
            out = unconditional + guidance * (conditional - unconditional)
        a, s = self._coefficients(steps)
        x0 = (x - s * out) / a if self.config.predict == "eps" else a * x - s * out
        x0 = x0.clamp(-1.0, 1.0)
        return (x - a * x0) / s, x0

    @torch.no_grad()
    def sample(
        self,
        n: int,
        *,
        generator: torch.Generator | None = None,
        sampler: str | None = None,
        steps: int | None = None,
        eta: float | None = None,
        label: int | None = None,
        guidance: float | None = None,
        temperature: float = 1.0,
        prompt: str | None = None,
        labels: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``n`` images (n, C, H, W) in [0, 1]; options default to the config's. A class-conditional model
        without ``label`` draws labels uniformly; a text-conditioned one without ``prompt`` cycles through
        the class prompts ("a zero" … "a nine"); ``labels`` (n,) gives each sample its own class (instead of
        ``label``); ``temperature`` is accepted only at 1 (no meaning here)."""
        cfg = self.config
        sampler = sampler or cfg.sampler
        if sampler not in SAMPLERS:
            raise ConfigError(f"unknown sampler '{sampler}' (choose from {', '.join(SAMPLERS)})")
        if temperature != 1.0:
            raise ConfigError(
                "diffusion sampling takes no --temperature (use --eta to set the noise per step)"
            )
        eta = SAMPLERS[sampler] if eta is None else eta
        if not 0.0 <= eta <= 1.0:
            raise ConfigError(f"--eta must be between 0 and 1, got {eta}")
        guidance = cfg.guidance if guidance is None else guidance
        if self.text_encoder is not None and label is not None:
            raise ConfigError("this diffusion model is conditioned on text: give --prompt, not --label")
        if prompt is not None and self.text_encoder is None:
            raise ConfigError(
                "this diffusion model is not conditioned on text: --prompt needs a model trained with "
                "--set cond=text --set clip_run=RUN on digits-captions"
            )
        if labels is not None and label is not None:
            raise ConfigError("give one label for all samples or a label per sample, not both")
        if (
            self.num_classes is None
            and self.text_encoder is None
            and (label is not None or labels is not None or guidance != 1.0)
        ):
            raise ConfigError(
                "this diffusion model is unconditional: --label and --guidance need a model trained with "
                "--set cond=class (or cond=text)"
            )
        device = self.alphas_cumprod.device
        if self.text_encoder is not None and labels is not None:
            raise ConfigError("this diffusion model is conditioned on text: give --prompt, not --label")
        if self.num_classes is not None:
            if label is not None and not 0 <= label < self.num_classes:
                raise ConfigError(f"--label must be between 0 and {self.num_classes - 1}, got {label}")
            if labels is not None:
                labels = torch.as_tensor(labels, dtype=torch.long)
                if labels.shape != (n,) or labels.min() < 0 or labels.max() >= self.num_classes:
                    raise ConfigError(
                        f"labels must be {n} classes between 0 and {self.num_classes - 1}, got shape "
                        f"{tuple(labels.shape)}"
                    )
            elif label is not None:
                labels = torch.full((n,), label, dtype=torch.long)
            else:
                labels = torch.randint(0, self.num_classes, (n,), generator=generator)
            labels = labels.to(device)
        cond = None
        if self.text_encoder is not None:
            prompts = [prompt] if prompt is not None else class_prompts()
            tokens = torch.tensor([encode_caption(prompts[i % len(prompts)]) for i in range(n)])
            cond = self.text_encoder(tokens.to(device))
        default_steps = cfg.timesteps if sampler == "ddpm" and steps is None else cfg.sample_steps
        timesteps = sampling_timesteps(cfg.timesteps, steps or default_steps, cfg.spacing)
        x = torch.randn((n, *self.info.shape), generator=generator).to(device)
        for i, t in enumerate(timesteps):
            eps, x0 = self._eps_and_x0(x, t, labels, guidance, cond)
            last = i + 1 == len(timesteps)
            abar_prev = torch.tensor(1.0) if last else self.alphas_cumprod[timesteps[i + 1]]
            noise = None if last or eta == 0 else torch.randn(x.shape, generator=generator).to(device)
            x = sampler_step(x0, eps, self.alphas_cumprod[t], abar_prev, eta, noise)
        return ((x + 1) / 2).clamp(0.0, 1.0)


def sampler_step(
    x0: torch.Tensor,
    eps: torch.Tensor,
    abar: torch.Tensor,
    abar_prev: torch.Tensor,
    eta: float,
    noise: torch.Tensor | None = None,
) -> torch.Tensor:
    """One step from ``x_t`` to ``x_prev`` (Song et al. 2021, eq. 12) given the predicted clean image
    ``x0`` and noise ``eps`` (consistent with ``x_t``): ``sqrt(abar_prev) x0 + sqrt(1 - abar_prev -
    sigma^2) eps + sigma noise`` with ``sigma = eta sqrt((1 - abar_prev) / (1 - abar) (1 - abar /
    abar_prev))``; at eta = 1 this is the DDPM posterior mean and variance ``beta~_t``."""
    sigma = eta * ((1 - abar_prev) / (1 - abar) * (1 - abar / abar_prev)).sqrt()
    x = abar_prev.sqrt() * x0 + (1 - abar_prev - sigma**2).clamp_min(0).sqrt() * eps
    return x if noise is None else x + sigma * noise
