"""``inception:PATH``: the InceptionV3 used for FID, loading the standard weights from a path you give.

The network (:mod:`.inception_v3`) is TensorFlow's 2015-12-05 graph as ported by pytorch-fid /
torch-fidelity; the weights file (``pt_inception-2015-12-05-6726825d.pth``, also distributed as
``weights-inception-2015-12-05-6726825d.pth``) must have SHA-256 :data:`FID_INCEPTION_SHA256`; any other
file is refused (a Python caller may name another hash with ``expected_sha256``, e.g. for a converted
file; the extractor is then called ``inception-custom`` and its results ``fd_inception_custom`` …, never
"FID"). Features: the 2048-d pool3 layer; logits: the fc layer without bias (torch-fidelity's
``logits_unbiased``, used for IS). Resizing to 299 x 299 (``resize``):

* ``tf1`` (default): images quantised to 8 bits, TensorFlow-1 ``resize_bilinear`` (no half-pixel
  offset), then ``(x - 128) / 128``: torch-fidelity's and torchmetrics' convention.
* ``bilinear``: ``torch.nn.functional.interpolate(bilinear, align_corners=False)`` on [0, 1] floats,
  then ``2 x - 1``: pytorch-fid's convention.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from genforge.core import io
from genforge.core.errors import CheckpointError, ConfigError, DataError
from genforge.metrics.extractors import register_extractor
from genforge.metrics.extractors.base import Extractor, resize_tf1, sha256_file
from genforge.metrics.extractors.inception_v3 import FIDInceptionV3

FID_INCEPTION_SHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"


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


@register_extractor("inception")
class InceptionExtractor(Extractor):
    """The FID InceptionV3 (see the module docstring); ``inception-custom`` with other weights."""

    name = "inception"
    argument = "PATH"
    argument_required = True
    resize_modes = ("none", "bilinear", "tf1")
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

    @classmethod
    def from_spec(cls, argument: str, resize: str, **extra: Any) -> Extractor:
        if not argument:
            raise ConfigError("the inception extractor needs the weights file: --extractor inception:PATH")
        return cls(argument, resize, extra.get("expected_sha256") or FID_INCEPTION_SHA256)

    @classmethod
    def listing(cls) -> dict[str, Any]:
        return {
            "name": cls.spec_syntax(),
            "input": "any (resized to 299x299)",
            "feature_dim": 2048,
            "sha256": FID_INCEPTION_SHA256,
            "about": "FID InceptionV3 from the standard weights file you give (never downloaded)",
        }
