"""Sampling speed (images/s) of every image family, and PixelCNN's cached sampler against the naive one.

Each family is built with its default config for the data (untrained weights: speed does not depend on
the weights) and draws the same number of images; the reference row is PixelCNN's naive sampler, which
reruns the whole network on the whole image for every sub-pixel. The cached sampler must give the very
same images for the same generator seed, which is checked here too.

    .venv/bin/python benchmarks/sampling_speed.py [--data digits] [--image-size N] [--num-images 64] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault(
    "OMP_WAIT_POLICY", "PASSIVE"
)  # as the CLI does: spinning OpenMP threads stall on a busy CPU

import torch

from genforge.data import load_dataset
from genforge.models.base import MODELS, build_model


def time_sampling(model, n: int, seed: int, **opts) -> tuple[float, torch.Tensor]:
    """Seconds to draw ``n`` samples (best of two runs) and the samples of the last run."""
    best = float("inf")
    images = None
    for _ in range(2):
        start = time.perf_counter()
        images = model.sample(n, generator=torch.Generator().manual_seed(seed), **opts)
        best = min(best, time.perf_counter() - start)
    return best, images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", default="digits", help="dataset spec giving the image shape (default digits)"
    )
    parser.add_argument(
        "--image-size", type=int, help="resize the images (e.g. 16 for 16x16 digits, 256 levels)"
    )
    parser.add_argument("--num-images", type=int, default=64, help="images drawn per timing (default 64)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    data = load_dataset(args.data, {"image_size": args.image_size} if args.image_size else None)
    info = data.info

    rows: list[tuple[str, str, float, torch.Tensor]] = []
    pixelcnn = build_model("pixelcnn", None, info).eval()
    naive_s, naive = time_sampling(pixelcnn, args.num_images, 0, cached=False)
    cached_s, cached = time_sampling(pixelcnn, args.num_images, 0, cached=True)
    rows.append(("pixelcnn", "naive (reference)", naive_s, naive))
    rows.append(("pixelcnn", "cached rows/columns", cached_s, cached))
    for name in MODELS.names():
        entry = MODELS.get(name)
        if name == "pixelcnn" or "image" not in entry.meta["data_kinds"]:
            continue
        model = build_model(name, None, info).eval()
        seconds, images = time_sampling(model, args.num_images, 0)
        rows.append((name, "default", seconds, images))

    print(f"data {args.data} {tuple(info.shape)} with {info.num_levels} levels, torch threads {args.threads}")
    print(f"{args.num_images} images per timing (best of 2), untrained default configs")
    print(f"{'family':<10} {'sampler':<22} {'seconds':>9} {'images/s':>10} {'speed vs reference':>19}")
    for family, variant, seconds, _ in rows:
        ratio = naive_s / seconds
        print(
            f"{family:<10} {variant:<22} {seconds:>9.3f} {args.num_images / seconds:>10.1f} {ratio:>18.1f}x"
        )
    print(f"pixelcnn cached samples identical to naive samples (same seed): {torch.equal(cached, naive)}")


if __name__ == "__main__":
    main()
