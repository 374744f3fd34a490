"""Test bits/dim on digits for every likelihood family against the independent per-pixel baseline.

    .venv/bin/python benchmarks/digits_quality.py [--minutes 4] [--seed 0] [--out bench-runs]

Trains VAE (IWAE bound, k from its config), PixelCNN and RealNVP for the same CPU budget through the
public API, evaluates each on the fixed test split and prints one table with the ratio to the baseline.
The baseline is exact: independent categorical distributions per pixel fitted on the training split.
"""

from __future__ import annotations

import argparse
import tempfile

from genforge.pipelines.evaluate import evaluate_run
from genforge.pipelines.training import train

FAMILIES = {"pixelcnn": "bits_per_dim", "realnvp": "bits_per_dim", "vae": "bits_per_dim_iwae"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=4.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    out = args.out or tempfile.mkdtemp(prefix="gf-bench-")
    rows = []
    for family, key in FAMILIES.items():
        result = train(family, "digits", out=out, seed=args.seed, max_minutes=args.minutes)
        evaluation = evaluate_run(result.run, seed=args.seed)
        baseline = evaluation["baseline"]["bits_per_dim"]
        rows.append((family, result.run.read_config()["parameters"], result.step, key, evaluation[key], baseline))
    print(f"digits test split (270 images), {args.minutes} CPU minutes per family, seed {args.seed}")
    print(f"{'family':10} {'params':>9} {'steps':>6} {'figure':18} {'bits/dim':>8} {'baseline':>8} {'ratio':>6}")
    for family, params, steps, key, value, baseline in rows:
        print(f"{family:10} {params:9,d} {steps:6d} {key:18} {value:8.3f} {baseline:8.3f} {value / baseline:6.3f}")


if __name__ == "__main__":
    main()
