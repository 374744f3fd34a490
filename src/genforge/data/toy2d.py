"""Two-dimensional toy densities for flows and GANs: ``toy2d:{moons,circles,8gaussians,swissroll,checkerboard}``.

Points are generated from a fixed seed per split so every run sees the same data; they are roughly
standardised to lie in ``[-4, 4]``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from pydantic import Field

from genforge.core.config import Config
from genforge.core.errors import DataError
from genforge.data import Dataset, register_dataset
from genforge.data.info import DataInfo
from genforge.data.transforms import Compose, GaussianNoise


class Toy2DOptions(Config):
    num_points: int = Field(20000, ge=100, description="training points (val and test get a tenth each)")
    noise: float = Field(0.05, ge=0.0, description="observation noise of the generator")
    augment: list[str] = Field(default_factory=list, description="training augmentations: noise[=std]")


def _moons(n, rng, noise):
    from sklearn.datasets import make_moons

    x, _ = make_moons(n, noise=noise, random_state=rng.integers(2**31))
    return (x - [0.5, 0.25]) * 2.0


def _circles(n, rng, noise):
    from sklearn.datasets import make_circles

    x, _ = make_circles(n, noise=noise, factor=0.5, random_state=rng.integers(2**31))
    return x * 3.0


def _eight_gaussians(n, rng, noise):
    angles = rng.integers(0, 8, n) * (2 * math.pi / 8)
    centres = np.stack([np.cos(angles), np.sin(angles)], 1) * 2.5
    return centres + rng.normal(scale=max(noise, 0.02) * 4, size=(n, 2))


def _swissroll(n, rng, noise):
    t = 1.5 * math.pi * (1 + 2 * rng.random(n))
    x = np.stack([t * np.cos(t), t * np.sin(t)], 1) / 5.0
    return x + rng.normal(scale=noise * 4, size=(n, 2))


def _checkerboard(n, rng, noise):
    x1 = rng.random(n) * 4 - 2
    x2 = rng.random(n) - rng.integers(0, 2, n) * 2.0
    x2 = x2 + (np.floor(x1) % 2)
    return np.stack([x1, x2], 1) * 1.5


SHAPES = {
    "moons": _moons,
    "circles": _circles,
    "8gaussians": _eight_gaussians,
    "swissroll": _swissroll,
    "checkerboard": _checkerboard,
}


def sample_toy2d(name: str, n: int, seed: int, noise: float = 0.05) -> torch.Tensor:
    """``n`` points of the named density as a float32 ``(n, 2)`` tensor."""
    if name not in SHAPES:
        raise DataError(f"unknown toy2d shape '{name}' (available: {', '.join(SHAPES)})")
    rng = np.random.default_rng(seed)
    return torch.as_tensor(SHAPES[name](n, rng, noise), dtype=torch.float32)


@register_dataset(
    "toy2d",
    options=Toy2DOptions,
    kind="points",
    help="2-D densities for flows and GANs: moons, circles, 8gaussians, swissroll, checkerboard",
    examples=[f"toy2d:{name}" for name in SHAPES],
)
def toy2d(arg: str | None, options: Toy2DOptions, artifacts: Path | None) -> Dataset:

    if not arg:
        raise DataError(f"toy2d needs a shape: --data toy2d:NAME with NAME one of {', '.join(SHAPES)}")
    n = options.num_points
    splits = {
        split: {"x": sample_toy2d(arg, size, seed, options.noise)}
        for split, size, seed in (("train", n, 1), ("val", n // 10, 2), ("test", n // 10, 3))
    }
    transforms = []
    for item in options.augment:
        name, _, value = item.partition("=")
        if name != "noise":
            raise DataError(f"toy2d supports only the noise[=std] augmentation, got '{item}'")
        transforms.append(GaussianNoise(float(value) if value else 0.05))
    augment = None
    if transforms:
        pipeline = Compose(transforms)

        def augment(batch, generator):
            return {**batch, "x": pipeline(batch["x"], generator)}

    info = DataInfo(kind="points", shape=(2,))
    return Dataset(spec=f"toy2d:{arg}", info=info, splits=splits, description=f"2-D {arg}", augment=augment)
