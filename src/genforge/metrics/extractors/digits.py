"""``digits``: a small CNN classifier trained by genforge on the ``digits`` training split.

Trained by ``scripts/train_digits_extractor.py`` on the split every genforge run uses, frozen and shipped
in ``genforge/assets/extractors/`` as safetensors beside a JSON that records its test accuracy and
SHA-256 (checked on load). Input ``1 x 8 x 8`` in [0, 1] (level / 16). Features: the 128-d
global-average-pooled last conv layer (the penultimate layer); logits: its 10-way classifier (for the
Inception-style score); feature maps: its three conv layers (for the LPIPS-style distance). Results from
it are labelled ``fd_digits`` etc., never "FID".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from genforge.core import io
from genforge.core.errors import CheckpointError
from genforge.metrics.extractors import register_extractor
from genforge.metrics.extractors.base import Extractor, sha256_file

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "extractors"
DIGITS_WEIGHTS = ASSETS / "digits_cnn.safetensors"
DIGITS_CARD = ASSETS / "digits_cnn.json"


class DigitsNet(nn.Module):
    """conv3x3(1->32) ReLU, conv3x3(32->64) ReLU, maxpool 2, conv3x3(64->128) ReLU, global average pool
    (128-d features), dropout, linear(128->10). Input ``(N, 1, 8, 8)`` in [0, 1]."""

    def __init__(self, dropout: float = 0.3) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.conv3 = nn.Conv2d(64, 128, 3, padding=1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(128, 10)

    def feature_maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Post-ReLU activations of the three conv layers: (N,32,8,8), (N,64,8,8), (N,128,4,4)."""
        a1 = F.relu(self.conv1(x))
        a2 = F.relu(self.conv2(a1))
        a3 = F.relu(self.conv3(F.max_pool2d(a2, 2)))
        return [a1, a2, a3]

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.feature_maps(x)[-1].mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(self.embed(x)))


@register_extractor("digits")
class DigitsExtractor(Extractor):
    """The shipped digits CNN (see the module docstring); results are labelled ``fd_digits``, never FID."""

    name = "digits"
    feature_dim = 128
    num_classes = 10

    def __init__(self, resize: str = "auto") -> None:
        if not DIGITS_WEIGHTS.exists() or not DIGITS_CARD.exists():
            raise CheckpointError(
                f"the digits extractor weights are missing from {ASSETS}: reinstall genforge or run "
                "scripts/train_digits_extractor.py"
            )
        card = io.read_json(DIGITS_CARD)
        digest = sha256_file(DIGITS_WEIGHTS)
        if digest != card.get("sha256"):
            raise CheckpointError(
                f"{DIGITS_WEIGHTS} has SHA-256 {digest[:12]}… but {DIGITS_CARD.name} records "
                f"{str(card.get('sha256'))[:12]}…: the file is damaged; reinstall genforge"
            )
        super().__init__(sha256=digest, resize="none" if resize == "auto" else resize, channels=1, size=8)
        self.card = card
        self.net = DigitsNet()
        self.net.load_state_dict(io.load_tensors(DIGITS_WEIGHTS))
        self.eval().requires_grad_(False)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.net.embed(self.to_input(images))

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(self.to_input(images))

    def feature_maps(self, images: torch.Tensor) -> list[torch.Tensor]:
        return self.net.feature_maps(self.to_input(images))

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "test_accuracy": self.card.get("test_accuracy")}

    @classmethod
    def listing(cls) -> dict[str, Any]:
        card = json.loads(DIGITS_CARD.read_text(encoding="utf-8")) if DIGITS_CARD.exists() else {}
        accuracy = card.get("test_accuracy")
        return {
            "name": cls.spec_syntax(),
            "input": "1x8x8",
            "feature_dim": 128,
            "sha256": card.get("sha256"),
            "about": f"CNN trained on digits (test accuracy {accuracy:.4f})" if accuracy else "digits CNN",
        }
