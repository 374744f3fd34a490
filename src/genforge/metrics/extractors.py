"""Feature extractors for image metrics; none is downloaded at run time.

``digits``
    A small CNN classifier trained by genforge on the ``digits`` training split
    (``scripts/train_digits_extractor.py``), frozen and shipped in ``genforge/assets/extractors/`` as
    safetensors beside a JSON that records its test accuracy and SHA-256. Input ``1 x 8 x 8`` in [0, 1]
    (level / 16). Features: the 128-d global-average-pooled last conv layer (the penultimate layer);
    logits: its 10-way classifier (for the Inception-style score); feature maps: its three conv layers
    (for the LPIPS-style distance). Results from it are labelled ``fd_digits`` etc., never "FID".
``inception:PATH``
    The InceptionV3 variant used for FID (TensorFlow's 2015-12-05 graph as ported by pytorch-fid /
    torch-fidelity: count_include_pad=False average pools, max pool in the last block, 1008 classes),
    implemented here, loading the standard FID weights file (``pt_inception-2015-12-05-6726825d.pth``,
    also distributed as ``weights-inception-2015-12-05-6726825d.pth``) from a path the user gives. The
    file's SHA-256 must be :data:`FID_INCEPTION_SHA256`; any other file is refused (a Python caller may
    name another hash with ``expected_sha256``, e.g. for a converted file; the extractor is then called
    ``inception-custom`` and its results ``fd_inception_custom`` …, never "FID"). Features: the 2048-d
    pool3 layer; logits: the fc layer without bias (torch-fidelity's ``logits_unbiased``, used for IS).
    Resizing to 299 x 299 (``resize``):
      * ``tf1`` (default): images quantised to 8 bits, TensorFlow-1 ``resize_bilinear`` (no half-pixel
        offset), then ``(x - 128) / 128``: torch-fidelity's and torchmetrics' convention.
      * ``bilinear``: ``torch.nn.functional.interpolate(bilinear, align_corners=False)`` on [0, 1]
        floats, then ``2 x - 1``: pytorch-fid's convention.
``pixels[:SIZE]``
    The flattened pixels (optionally resized to ``SIZE x SIZE``): a transparent fallback for any domain.
``random-cnn[:SEED]``
    A fixed random 3-layer CNN (weights from ``torch.Generator`` seeded with SEED, default 0) with
    global-average-pooled 128-d features; its SHA-256 is computed from the generated weights, so a
    change in torch's generator shows up as a different hash rather than silently different numbers.

Every extractor reports ``name``, ``sha256`` and ``resize`` so results carry them.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from genforge.core import io
from genforge.core.errors import CheckpointError, ConfigError, DataError
from genforge.metrics.base import FeatureSource

ASSETS = Path(__file__).resolve().parent.parent / "assets" / "extractors"
DIGITS_WEIGHTS = ASSETS / "digits_cnn.safetensors"
DIGITS_CARD = ASSETS / "digits_cnn.json"
FID_INCEPTION_SHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"
RESIZE_MODES = ("auto", "none", "bilinear", "tf1")


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def sha256_tensors(tensors: dict[str, torch.Tensor]) -> str:
    """Hash of named tensors (names, shapes, dtypes and bytes, in name order)."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        digest.update(f"{name}|{tuple(t.shape)}|{t.dtype}\n".encode())
        digest.update(t.numpy().tobytes())
    return digest.hexdigest()


# resizing -----------------------------------------------------------------------------------------
def resize_bilinear(x: torch.Tensor, size: int) -> torch.Tensor:
    """torch bilinear resize (align_corners=False), antialiased when shrinking."""
    shrinking = size < max(x.shape[-2:])
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=shrinking)


def resize_tf1(x: torch.Tensor, size: int) -> torch.Tensor:
    """TensorFlow 1.x ``resize_bilinear(align_corners=False)``: source coordinate ``dst * in / out``
    (no half-pixel offset), the upper neighbour clamped to the border."""

    def axis_weights(n_in: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        src = torch.arange(size, dtype=torch.float64) * (n_in / size)
        lower = src.floor().long().clamp(max=n_in - 1)
        upper = (lower + 1).clamp(max=n_in - 1)
        return lower, upper, (src - lower).to(x.dtype)

    top, bottom, wy = axis_weights(x.shape[-2])
    left, right, wx = axis_weights(x.shape[-1])
    rows = x[..., top, :] + (x[..., bottom, :] - x[..., top, :]) * wy[:, None]
    return rows[..., left] + (rows[..., right] - rows[..., left]) * wx


# base ---------------------------------------------------------------------------------------------
class Extractor(nn.Module):
    """A frozen image -> feature network. Images are ``(N, C, H, W)`` floats in [0, 1]."""

    name = "extractor"
    feature_dim = 0
    num_classes: int | None = None

    def __init__(self, *, sha256: str, resize: str, channels: int | None, size: int | None) -> None:
        super().__init__()
        self.sha256 = sha256
        self.resize = resize
        self.channels = channels
        self.size = size

    @property
    def source(self) -> FeatureSource:
        return FeatureSource(self.name, self.sha256)

    def check(self, images: torch.Tensor) -> None:
        if images.ndim != 4:
            raise DataError(
                f"{self.name} extractor takes (N, C, H, W) images, got shape {tuple(images.shape)}"
            )
        c, h, w = images.shape[1:]
        if self.channels is not None and c != self.channels:
            raise DataError(f"{self.name} extractor takes {self.channels}-channel images, got {c} channels")
        if self.size is not None and self.resize == "none" and (h, w) != (self.size, self.size):
            raise DataError(
                f"{self.name} extractor takes {self.size}x{self.size} images, got {h}x{w}: "
                "pass --resize bilinear to resize them"
            )

    def to_input(self, images: torch.Tensor) -> torch.Tensor:
        self.check(images)
        if self.size is not None and images.shape[-2:] != (self.size, self.size) and self.resize != "none":
            images = resize_bilinear(images, self.size)
        return images

    def bind(self, image_shape: tuple[int, ...]) -> Extractor:
        """Fix what depends on the input shape ``(C, H, W)`` (hash, feature size) before extracting."""
        self.check(torch.empty((0, *image_shape)))
        return self

    def features(self, images: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        raise DataError(
            f"the {self.name} extractor has no classifier: use digits or inception:PATH for this score"
        )

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "sha256": self.sha256,
            "resize": self.resize,
            "feature_dim": self.feature_dim,
        }


# digits -------------------------------------------------------------------------------------------
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


class DigitsExtractor(Extractor):
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


# pixels / random-cnn ------------------------------------------------------------------------------
class PixelsExtractor(Extractor):
    name = "pixels"

    def __init__(self, size: int | None = None, resize: str = "auto") -> None:
        tag = f"genforge-pixels-v1:{size or 'native'}"
        super().__init__(
            sha256=hashlib.sha256(tag.encode()).hexdigest(),
            resize=("bilinear" if size else "none") if resize == "auto" else resize,
            channels=None,
            size=size,
        )

    def bind(self, image_shape: tuple[int, ...]) -> Extractor:
        super().bind(image_shape)
        c, h, w = image_shape
        self.feature_dim = c * self.size * self.size if self.size else c * h * w
        return self

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.to_input(images).flatten(1)


class RandomCNNExtractor(Extractor):
    """Fixed random CNN: conv3x3(C->32) ReLU, conv3x3/2(32->64) ReLU, conv3x3/2(64->128) ReLU, global mean.

    Weights are He-normal from a seeded generator; inputs are mapped to [-1, 1] first."""

    name = "random-cnn"
    feature_dim = 128

    def __init__(self, seed: int = 0, resize: str = "auto") -> None:
        super().__init__(sha256="", resize="none" if resize == "auto" else resize, channels=None, size=None)
        self.seed = seed
        self._nets: dict[int, nn.Sequential] = {}

    def _net(self, channels: int) -> nn.Sequential:
        if channels not in self._nets:
            gen = torch.Generator().manual_seed(self.seed)
            layers: list[nn.Module] = []
            for c_in, c_out, stride in ((channels, 32, 1), (32, 64, 2), (64, 128, 2)):
                conv = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1)
                with torch.no_grad():
                    conv.weight.copy_(
                        torch.randn(conv.weight.shape, generator=gen) * (2.0 / (c_in * 9)) ** 0.5
                    )
                    conv.bias.zero_()
                layers += [conv, nn.ReLU()]
            net = nn.Sequential(*layers).eval().requires_grad_(False)
            self._nets[channels] = net
        return self._nets[channels]

    def weights_sha256(self, channels: int) -> str:
        return sha256_tensors(self._net(channels).state_dict())

    def bind(self, image_shape: tuple[int, ...]) -> Extractor:
        super().bind(image_shape)
        if min(image_shape[1:]) < 4:
            raise DataError(
                f"random-cnn takes images of at least 4x4 pixels, got {image_shape[1]}x{image_shape[2]}"
            )
        self.sha256 = self.weights_sha256(image_shape[0])
        return self

    def features(self, images: torch.Tensor) -> torch.Tensor:
        x = self.to_input(images)
        return self._net(x.shape[1])(x * 2.0 - 1.0).mean(dim=(2, 3))


# inception ----------------------------------------------------------------------------------------
class _ConvBN(nn.Module):
    """conv (no bias) -> batch norm (eps 1e-3, TensorFlow's) -> ReLU; keys ``conv.*`` and ``bn.*``."""

    def __init__(self, c_in: int, c_out: int, kernel: Any, stride: int = 1, padding: Any = 0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(c_out, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


def _avg_pool_same(x: torch.Tensor) -> torch.Tensor:
    # TensorFlow's 'SAME' average pool ignores the padding in the count.
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


class _BlockA(nn.Module):
    def __init__(self, c_in: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = _ConvBN(c_in, 64, 1)
        self.branch5x5_1 = _ConvBN(c_in, 48, 1)
        self.branch5x5_2 = _ConvBN(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = _ConvBN(c_in, 64, 1)
        self.branch3x3dbl_2 = _ConvBN(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = _ConvBN(96, 96, 3, padding=1)
        self.branch_pool = _ConvBN(c_in, pool_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat(
            [
                self.branch1x1(x),
                self.branch5x5_2(self.branch5x5_1(x)),
                self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                self.branch_pool(_avg_pool_same(x)),
            ],
            1,
        )


class _BlockB(nn.Module):
    def __init__(self, c_in: int) -> None:
        super().__init__()
        self.branch3x3 = _ConvBN(c_in, 384, 3, stride=2)
        self.branch3x3dbl_1 = _ConvBN(c_in, 64, 1)
        self.branch3x3dbl_2 = _ConvBN(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = _ConvBN(96, 96, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat(
            [
                self.branch3x3(x),
                self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                F.max_pool2d(x, 3, stride=2),
            ],
            1,
        )


class _BlockC(nn.Module):
    def __init__(self, c_in: int, c7: int) -> None:
        super().__init__()
        self.branch1x1 = _ConvBN(c_in, 192, 1)
        self.branch7x7_1 = _ConvBN(c_in, c7, 1)
        self.branch7x7_2 = _ConvBN(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = _ConvBN(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = _ConvBN(c_in, c7, 1)
        self.branch7x7dbl_2 = _ConvBN(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = _ConvBN(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = _ConvBN(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = _ConvBN(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = _ConvBN(c_in, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d7 = self.branch7x7dbl_1(x)
        for layer in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            d7 = layer(d7)
        return torch.cat([self.branch1x1(x), b7, d7, self.branch_pool(_avg_pool_same(x))], 1)


class _BlockD(nn.Module):
    def __init__(self, c_in: int) -> None:
        super().__init__()
        self.branch3x3_1 = _ConvBN(c_in, 192, 1)
        self.branch3x3_2 = _ConvBN(192, 320, 3, stride=2)
        self.branch7x7x3_1 = _ConvBN(c_in, 192, 1)
        self.branch7x7x3_2 = _ConvBN(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = _ConvBN(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = _ConvBN(192, 192, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b7 = self.branch7x7x3_1(x)
        for layer in (self.branch7x7x3_2, self.branch7x7x3_3, self.branch7x7x3_4):
            b7 = layer(b7)
        return torch.cat([self.branch3x3_2(self.branch3x3_1(x)), b7, F.max_pool2d(x, 3, stride=2)], 1)


class _BlockE(nn.Module):
    def __init__(self, c_in: int, max_pool: bool) -> None:
        super().__init__()
        self.max_pool = max_pool  # the last block of the FID graph max-pools its pool branch
        self.branch1x1 = _ConvBN(c_in, 320, 1)
        self.branch3x3_1 = _ConvBN(c_in, 384, 1)
        self.branch3x3_2a = _ConvBN(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = _ConvBN(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = _ConvBN(c_in, 448, 1)
        self.branch3x3dbl_2 = _ConvBN(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = _ConvBN(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = _ConvBN(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = _ConvBN(c_in, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_1(x)
        d3 = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        pooled = F.max_pool2d(x, 3, stride=1, padding=1) if self.max_pool else _avg_pool_same(x)
        return torch.cat(
            [
                self.branch1x1(x),
                self.branch3x3_2a(b3),
                self.branch3x3_2b(b3),
                self.branch3x3dbl_3a(d3),
                self.branch3x3dbl_3b(d3),
                self.branch_pool(pooled),
            ],
            1,
        )


class FIDInceptionV3(nn.Module):
    """InceptionV3 as in the FID graph; ``forward`` returns (pool3 features (N, 2048), unbiased logits
    (N, 1008)) from normalised ``(N, 3, 299, 299)`` input. Parameter names match the standard weights."""

    def __init__(self) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = _ConvBN(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = _ConvBN(32, 32, 3)
        self.Conv2d_2b_3x3 = _ConvBN(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = _ConvBN(64, 80, 1)
        self.Conv2d_4a_3x3 = _ConvBN(80, 192, 3)
        self.Mixed_5b = _BlockA(192, 32)
        self.Mixed_5c = _BlockA(256, 64)
        self.Mixed_5d = _BlockA(288, 64)
        self.Mixed_6a = _BlockB(288)
        self.Mixed_6b = _BlockC(768, 128)
        self.Mixed_6c = _BlockC(768, 160)
        self.Mixed_6d = _BlockC(768, 160)
        self.Mixed_6e = _BlockC(768, 192)
        self.Mixed_7a = _BlockD(768)
        self.Mixed_7b = _BlockE(1280, max_pool=False)
        self.Mixed_7c = _BlockE(2048, max_pool=True)
        self.fc = nn.Linear(2048, 1008)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, 3, stride=2)
        x = F.max_pool2d(self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x)), 3, stride=2)
        for block in (
            self.Mixed_5b,
            self.Mixed_5c,
            self.Mixed_5d,
            self.Mixed_6a,
            self.Mixed_6b,
            self.Mixed_6c,
            self.Mixed_6d,
            self.Mixed_6e,
            self.Mixed_7a,
            self.Mixed_7b,
            self.Mixed_7c,
        ):
            x = block(x)
        pool3 = x.mean(dim=(2, 3))
        return pool3, pool3 @ self.fc.weight.T


def load_state_file(path: Path) -> dict[str, torch.Tensor]:
    """Tensors from a ``.safetensors`` file or a PyTorch ``.pth`` state dict (loaded with
    ``weights_only=True``: tensors and containers only, no code)."""
    if path.suffix == ".safetensors":
        return io.load_tensors(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several unrelated types for a bad file
        raise CheckpointError(
            f"{path} is not a readable PyTorch weights file ({type(exc).__name__})"
        ) from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path} does not hold a state dict of tensors")
    return state


class InceptionExtractor(Extractor):
    name = "inception"
    feature_dim = 2048
    num_classes = 1008

    def __init__(
        self, path: str | os.PathLike, resize: str = "auto", expected_sha256: str = FID_INCEPTION_SHA256
    ):
        path = Path(path).expanduser()
        if not path.is_file():
            raise CheckpointError(
                f"Inception weights file {path} does not exist: download pt_inception-2015-12-05-6726825d.pth "
                "once and pass inception:PATH (genforge never downloads)"
            )
        digest = sha256_file(path)
        if digest != expected_sha256:
            raise CheckpointError(
                f"{path} has SHA-256 {digest[:16]}…, not the FID Inception weights ({expected_sha256[:16]}…): "
                "refusing to compute FID with other weights"
            )
        super().__init__(sha256=digest, resize="tf1" if resize == "auto" else resize, channels=None, size=299)
        if digest != FID_INCEPTION_SHA256:
            # other weights (a conversion, a test's random weights): the same network, but not FID
            self.name = "inception-custom"
        self.net = FIDInceptionV3()
        state = {k: v for k, v in load_state_file(path).items() if not k.startswith("AuxLogits")}
        missing, unexpected = self.net.load_state_dict(state, strict=False)
        missing = [k for k in missing if not k.endswith("num_batches_tracked")]
        unexpected = [k for k in unexpected if not k.endswith("num_batches_tracked")]
        if missing or unexpected:
            raise CheckpointError(
                f"{path} does not fit the FID InceptionV3: missing {missing[:3]}, unexpected {unexpected[:3]}"
            )
        self.eval().requires_grad_(False)

    def to_input(self, images: torch.Tensor) -> torch.Tensor:
        if images.ndim != 4 or images.shape[1] not in (1, 3):
            raise DataError(
                f"inception extractor takes (N, 1 or 3, H, W) images, got shape {tuple(images.shape)}"
            )
        if images.shape[1] == 1:
            images = images.expand(-1, 3, -1, -1)
        if self.resize == "none":
            if images.shape[-2:] != (299, 299):
                raise DataError(
                    f"inception takes 299x299 images, got {tuple(images.shape[-2:])}: use --resize tf1"
                )
            return images * 2.0 - 1.0
        if self.resize == "bilinear":
            resized = F.interpolate(images, size=(299, 299), mode="bilinear", align_corners=False)
            return resized * 2.0 - 1.0
        quantised = (images * 255.0).round()
        return (resize_tf1(quantised, 299) - 128.0) / 128.0

    def _run(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.net(self.to_input(images))

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self._run(images)[0]

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        return self._run(images)[1]


# registry -----------------------------------------------------------------------------------------
def resolve_extractor_spec(spec: str, image_shape: tuple[int, ...]) -> str:
    """``auto`` -> ``digits`` for 1x8x8 images, ``random-cnn`` otherwise; other specs unchanged."""
    if spec != "auto":
        return spec
    return "digits" if tuple(image_shape) == (1, 8, 8) else "random-cnn"


def load_extractor(spec: str, *, resize: str = "auto", expected_sha256: str | None = None) -> Extractor:
    """Build the extractor named by ``spec``: ``digits``, ``inception:PATH``, ``pixels[:SIZE]``,
    ``random-cnn[:SEED]``. ``expected_sha256`` overrides the FID weights hash (for converted files)."""
    if resize not in RESIZE_MODES:
        raise ConfigError(f"resize must be one of {', '.join(RESIZE_MODES)}, got {resize!r}")
    name, _, arg = spec.partition(":")
    if name == "digits" and not arg:
        if resize == "tf1":
            raise ConfigError("resize tf1 is the Inception convention; digits takes none or bilinear")
        return DigitsExtractor(resize)
    if name == "inception":
        if not arg:
            raise ConfigError("the inception extractor needs the weights file: --extractor inception:PATH")
        return InceptionExtractor(arg, resize, expected_sha256 or FID_INCEPTION_SHA256)
    if name in ("pixels", "random-cnn"):
        if arg and not arg.isdigit():
            raise ConfigError(f"{name} takes an integer argument ({name}:N), got '{arg}'")
        if resize == "tf1":
            raise ConfigError(f"resize tf1 is the Inception convention; {name} takes none or bilinear")
        if name == "pixels":
            return PixelsExtractor(int(arg) if arg else None, resize)
        return RandomCNNExtractor(int(arg) if arg else 0, resize)
    raise ConfigError(
        f"unknown extractor '{spec}' (known: digits, inception:PATH, pixels[:SIZE], random-cnn[:SEED])"
    )


@torch.inference_mode()
def extract(
    extractor: Extractor, images: Any, *, batch_size: int = 256, output: str = "features"
) -> np.ndarray:
    """Run ``images`` (numpy or torch ``(N, C, H, W)`` in [0, 1]) through the extractor in batches.

    ``output``: ``"features"`` -> ``(N, D)``; ``"logits"`` -> ``(N, K)``. Returns float64 numpy.
    """
    if output not in ("features", "logits"):
        raise ConfigError(f"output must be features or logits, got {output!r}")
    x = images if isinstance(images, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(images))
    x = x.float()
    if len(x) == 0:
        raise DataError("no images to extract features from")
    if x.min() < 0 or x.max() > 1:
        raise DataError("images must lie in [0, 1] before feature extraction")
    extractor.bind(tuple(x.shape[1:]))
    run = extractor.features if output == "features" else extractor.logits
    parts = [run(x[start : start + batch_size]).double().numpy() for start in range(0, len(x), batch_size)]
    return np.concatenate(parts)


def describe_extractors() -> list[dict[str, Any]]:
    """One row per extractor kind for ``genforge metrics extractors``."""
    card = json.loads(DIGITS_CARD.read_text()) if DIGITS_CARD.exists() else {}
    accuracy = card.get("test_accuracy")
    return [
        {
            "name": "digits",
            "input": "1x8x8",
            "feature_dim": 128,
            "sha256": card.get("sha256"),
            "about": f"CNN trained on digits (test accuracy {accuracy:.4f})" if accuracy else "digits CNN",
        },
        {
            "name": "inception:PATH",
            "input": "any (resized to 299x299)",
            "feature_dim": 2048,
            "sha256": FID_INCEPTION_SHA256,
            "about": "FID InceptionV3 from the standard weights file you give (never downloaded)",
        },
        {
            "name": "pixels[:SIZE]",
            "input": "any",
            "feature_dim": "C*H*W",
            "sha256": "per size",
            "about": "flattened pixels",
        },
        {
            "name": "random-cnn[:SEED]",
            "input": "any (>= 4x4)",
            "feature_dim": 128,
            "sha256": "per channels",
            "about": "fixed random 3-layer CNN, global-average-pooled",
        },
    ]
