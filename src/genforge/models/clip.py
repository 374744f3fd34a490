"""A tiny CLIP-style dual encoder (Radford et al. 2021) for captioned images (``digits-captions``).

An image tower (:class:`~genforge.nn.convnets.ConvEncoder` + a linear projection) and a text tower
(:class:`TextEncoder`: word + position embeddings, one pre-norm transformer layer, a mean over the
words, a linear projection) map an image and its caption to unit vectors of ``embed_dim``; the loss is
the symmetric contrastive loss over the batch (InfoNCE in both directions) with a learnable logit scale
initialised at ``1 / 0.07`` and clamped at ``max_logit_scale`` (100 in CLIP). Templated captions repeat
(many digits are just ``"a seven"``), so every image of the batch with the same caption counts as a
positive: the target of a row is uniform over those columns rather than the diagonal alone, which is
CLIP's loss whenever captions are unique.

The model draws nothing (``sample`` is not implemented); what it offers is ``encode_images``,
``encode_text`` and ``zero_shot_logits`` (cosine to the class prompts ``"a zero"`` … ``"a nine"``), used
by :mod:`genforge.pipelines.clip` for zero-shot accuracy, retrieval recall and the CLIP-score of any
generator's samples, and by text-conditioned diffusion for its text embedding.
"""

from __future__ import annotations

import math

import torch
from pydantic import Field
from torch import nn

from genforge.core.config import Config
from genforge.core.errors import ConfigError
from genforge.core.runs import resolve_run
from genforge.data.captions import class_prompts, encode_caption
from genforge.data.info import DataInfo
from genforge.data.transforms import ToSymmetric
from genforge.models.base import GenerativeModel, register_model
from genforge.nn.convnets import ConvEncoder


class CLIPConfig(Config):
    embed_dim: int = Field(64, ge=8, le=1024, description="size of the shared image/text embedding")
    image_channels: int = Field(32, ge=4, le=256, description="channels of the image tower's first conv")
    image_res_blocks: int = Field(1, ge=0, le=4, description="residual blocks per resolution (image tower)")
    text_width: int = Field(64, ge=8, le=512, description="width of the text tower's word vectors")
    text_heads: int = Field(4, ge=1, le=16, description="attention heads of the text tower")
    init_temperature: float = Field(0.07, gt=0.0, le=1.0, description="initial softmax temperature")
    max_logit_scale: float = Field(100.0, ge=1.0, le=1000.0, description="clamp of the learnable 1/T")


class TextEncoder(nn.Module):
    """Caption token ids ``(B, L)`` (0 = padding) -> unit vectors ``(B, embed_dim)``."""

    def __init__(self, vocab_size: int, max_words: int, width: int, heads: int, embed_dim: int) -> None:
        super().__init__()
        if width % heads:
            raise ConfigError(f"text_width {width} must be divisible by text_heads {heads}")
        self.words = nn.Embedding(vocab_size, width, padding_idx=0)
        self.positions = nn.Parameter(torch.zeros(max_words, width))
        nn.init.normal_(self.positions, std=0.02)
        self.layer = nn.TransformerEncoderLayer(
            width, heads, dim_feedforward=2 * width, dropout=0.0, batch_first=True, norm_first=True
        )
        self.norm = nn.LayerNorm(width)
        self.project = nn.Linear(width, embed_dim)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        pad = tokens == 0
        h = self.words(tokens) + self.positions[: tokens.shape[1]]
        h = self.norm(self.layer(h, src_key_padding_mask=pad))
        keep = (~pad).unsqueeze(-1).to(h.dtype)
        pooled = (h * keep).sum(1) / keep.sum(1).clamp_min(1.0)
        return nn.functional.normalize(self.project(pooled), dim=-1)


def contrastive_loss(
    image: torch.Tensor, text: torch.Tensor, scale: torch.Tensor, same: torch.Tensor
) -> torch.Tensor:
    """Symmetric InfoNCE per example (B,) for unit embeddings ``(B, D)``; ``same`` (B, B) bool marks
    the pairs that count as positives (the diagonal and equal captions)."""
    logits = scale * image @ text.T
    targets = same.float() / same.float().sum(1, keepdim=True)
    image_to_text = -(targets * logits.log_softmax(1)).sum(1)
    text_to_image = -(targets * logits.T.log_softmax(1)).sum(1)
    return (image_to_text + text_to_image) / 2


@register_model(
    "clip",
    config=CLIPConfig,
    data_kinds=("image",),
    train_defaults={"lr": 1e-3, "batch_size": 128, "eval_every": 200},
)
class CLIP(GenerativeModel):
    """Dual encoder for images ``(B, 1, H, W)`` of integer levels and their caption token ids."""

    def __init__(self, config: CLIPConfig, info: DataInfo) -> None:
        super().__init__(config, info)
        vocab = info.extra.get("vocab")
        if not vocab:
            raise ConfigError(
                "clip trains on captioned images: --data digits-captions (this data has no captions)"
            )
        self.image_encoder = ConvEncoder(
            tuple(info.shape), config.image_channels, res_blocks=config.image_res_blocks
        )
        self.image_project = nn.Linear(self.image_encoder.feature_dim, config.embed_dim)
        self.text_encoder = TextEncoder(
            len(vocab), info.extra["max_words"], config.text_width, config.text_heads, config.embed_dim
        )
        self.log_scale = nn.Parameter(torch.tensor(math.log(1.0 / config.init_temperature)))
        self.to_input = ToSymmetric(info.num_levels)
        prompts = torch.tensor([encode_caption(p) for p in class_prompts()[: info.num_classes or 10]])
        self.register_buffer("class_tokens", prompts, persistent=False)

    def logit_scale(self) -> torch.Tensor:
        return self.log_scale.exp().clamp(max=self.config.max_logit_scale)

    def encode_images(self, x: torch.Tensor) -> torch.Tensor:
        """Integer-level images (B, C, H, W) -> unit vectors (B, embed_dim)."""
        features = self.image_encoder(self.to_input(x))
        return nn.functional.normalize(self.image_project(features), dim=-1)

    def encode_images_float(self, images: torch.Tensor) -> torch.Tensor:
        """Images (B, C, H, W) as floats in [0, 1] (a generator's samples) -> unit vectors."""
        features = self.image_encoder(images * 2 - 1)
        return nn.functional.normalize(self.image_project(features), dim=-1)

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.text_encoder(tokens)

    def zero_shot_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Cosine of each integer-level image to the class prompts, (B, num_classes)."""
        return self.encode_images(x) @ self.encode_text(self.class_tokens).T

    def per_example_loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        tokens = batch["tokens"]
        same = (tokens.unsqueeze(1) == tokens.unsqueeze(0)).all(-1)
        return contrastive_loss(
            self.encode_images(batch["x"]), self.encode_text(tokens), self.logit_scale(), same
        )

    def loss(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"loss": self.per_example_loss(batch).mean(), "logit_scale": self.logit_scale().detach()}

    @torch.no_grad()
    def eval_terms(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Per example: the contrastive loss within its evaluation batch and zero-shot correctness."""
        correct = (self.zero_shot_logits(batch["x"]).argmax(1) == batch["y"]).double()
        return {"contrastive_loss": self.per_example_loss(batch), "zeroshot_accuracy": correct}


def load_text_encoder(run_path: str) -> TextEncoder:
    """The frozen text tower of a trained ``clip`` run (EMA weights when the run has them), for models
    conditioned on its embedding (diffusion with ``cond=text``)."""
    run = resolve_run(run_path)
    config = run.read_config()
    if config.get("family") != "clip":
        raise ConfigError(
            f"clip_run {run_path} is a {config.get('family')} run: give a run of 'genforge clip train'"
        )
    model_cfg = CLIPConfig.build(config["model"], where=f"{run.config_path} model")
    extra = config["data_info"]["extra"]
    encoder = TextEncoder(
        len(extra["vocab"]),
        extra["max_words"],
        model_cfg.text_width,
        model_cfg.text_heads,
        model_cfg.embed_dim,
    )
    tensors = run.load_checkpoint().tensors
    prefix = "ema.text_encoder." if any(k.startswith("ema.") for k in tensors) else "model.text_encoder."
    encoder.load_state_dict({k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)})
    encoder.requires_grad_(False)
    return encoder.eval()
