"""GAN objectives side by side on digits: Fréchet distance of samples after the same CPU budget.

    .venv/bin/python benchmarks/gan_losses.py [--minutes 2] [--seed 0] [--out bench-runs]

Trains the ``gan`` family once per objective (non-saturating, hinge with spectral norm, WGAN-GP with
5 critic steps) through the public API for the same wall-clock budget, then measures ``fd_digits`` of
2,000 samples (EMA generator) against the 270 test images with the digits feature extractor. The
reference is the same distance between the real training and test images (``fd_digits_train_vs_test``):
the floor a perfect generator would reach with a test set this small; the ratio column divides by it.
"""

from __future__ import annotations

import argparse
import tempfile

from genforge.pipelines.evaluate import evaluate_run
from genforge.pipelines.training import train

VARIANTS = {
    "ns": {"loss": "ns"},
    "hinge+sn": {"loss": "hinge", "spectral_norm": True},
    "wgan-gp (n_critic 5)": {"loss": "wgan-gp", "n_critic": 5},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    out = args.out or tempfile.mkdtemp(prefix="gf-bench-")
    rows = []
    for name, overrides in VARIANTS.items():
        result = train(
            "gan", "digits", overrides=overrides, out=out, seed=args.seed, max_minutes=args.minutes
        )
        fd = evaluate_run(result.run, seed=args.seed, metrics=["fd"], num_samples=2000)["metrics"]["fd"]
        rows.append((name, result.step, fd["fd_digits"], fd["fd_digits_train_vs_test"]))
    print(
        f"gan on digits, {args.minutes} CPU minutes per objective, seed {args.seed}, 2000 samples vs 270 test images"
    )
    print(f"{'objective':22} {'steps':>6} {'fd_digits':>10} {'train-vs-test':>14} {'ratio':>6}")
    for name, steps, value, floor in rows:
        print(f"{name:22} {steps:6d} {value:10.2f} {floor:14.2f} {value / floor:6.1f}")


if __name__ == "__main__":
    main()
