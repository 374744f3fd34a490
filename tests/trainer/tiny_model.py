"""A tiny real family for trainer tests: per-pixel categorical logits plus a small conv, with dropout
(so the global RNG matters) — trains in milliseconds on digits."""

import torch
from pydantic import Field
from torch import nn

from genforge.core.config import Config
from genforge.models.base import GenerativeModel, register_model


class TinyConfig(Config):
    hidden: int = Field(8, description="conv channels")
    dropout: float = Field(0.2, description="dropout probability")
    nan_at_call: int = Field(0, description="return a NaN loss from this training call on (0 = never)")


@register_model("tiny-test", config=TinyConfig, data_kinds=("image",), train_defaults={"lr": 3e-3})
class TinyModel(GenerativeModel):
    def __init__(self, config, info):
        super().__init__(config, info)
        c, h, w = info.shape
        self.bias = nn.Parameter(torch.zeros(c, info.num_levels, h, w))
        self.conv = nn.Conv2d(c, config.hidden, 3, padding=1)
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Conv2d(config.hidden, c * info.num_levels, 1)
        self.calls = 0

    def logits(self, x):
        b = x.shape[0]
        c, h, w = self.info.shape
        noise = torch.rand(x.shape) * 0.01  # global-RNG noise: resume must restore the RNG exactly
        feats = self.drop(torch.relu(self.conv(torch.zeros_like(x, dtype=torch.float) + noise)))
        return self.head(feats).view(b, c, self.info.num_levels, h, w) + self.bias

    def log_prob(self, x):
        logp = torch.log_softmax(self.logits(x), dim=2)
        return logp.gather(2, x.long().unsqueeze(2)).squeeze(2).flatten(1).sum(1)

    def loss(self, batch):
        nll = -self.log_prob(batch["x"]).mean() / self.info.num_dims
        if self.training:
            self.calls += 1
            if self.config.nan_at_call and self.calls >= self.config.nan_at_call:
                nll = nll * float("nan")
        return {"loss": nll, "nll_per_dim": nll.detach()}

    def sample(self, n, *, generator=None, temperature=1.0, **opts):
        c, h, w = self.info.shape
        logits = self.bias.unsqueeze(0).expand(n, -1, -1, -1, -1) / max(temperature, 1e-6)
        probs = torch.softmax(logits.permute(0, 1, 3, 4, 2).reshape(-1, self.info.num_levels), -1)
        levels = torch.multinomial(probs, 1, generator=generator).view(n, c, h, w)
        return levels.float() / (self.info.num_levels - 1)
