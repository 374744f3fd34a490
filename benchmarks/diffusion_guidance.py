"""Classifier-free guidance sweep of one class-conditional diffusion run: accuracy and FD-digits per weight.

    .venv/bin/python benchmarks/diffusion_guidance.py RUN [--weights 0,1,2,3,5] [-n 500] [--steps S]
        [--seed 0] [--picture guidance_sweep.png]

For each weight, draws ``-n`` samples with the requested labels cycled 0..9 (seeded; every weight starts
from the same noise), classifies them with genforge's digits CNN (the extractor FD-digits uses) and prints
the accuracy against the requested label, its ratio to the same CNN's accuracy on the real test split
(the reference: what perfect samples would score), FD-digits against the test split and its ratio to the
unguided conditional model's (weight 1), and the sampling time. Then the issue-20 target: accuracy at
guidance 3 >= 95 %. The picture holds one row per weight (labels 0..9 left to right). All of it is
``genforge.pipelines.guidance.guidance_sweep``, the call behind ``genforge eval RUN --guidance-sweep``.
Train a run first: ``genforge train diffusion --data digits --set cond=class --set cond_drop=0.1``.
Timings depend on the machine's load.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from genforge.pipelines.guidance import guidance_sweep  # noqa: E402

TARGET_WEIGHT, TARGET_ACCURACY = 3.0, 0.95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--weights", default="0,1,2,3,5")
    parser.add_argument("-n", type=int, default=500, help="samples per weight")
    parser.add_argument("--steps", type=int, default=None, help="sampling steps (default: the run's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--picture", default="guidance_sweep.png")
    args = parser.parse_args()
    result = guidance_sweep(
        args.run, args.weights, num_samples=args.n, seed=args.seed, steps=args.steps, picture=args.picture
    )
    real = result["classifier_test_accuracy"]
    by_weight = {r["guidance"]: r for r in result["rows"]}
    base_fd = by_weight[1.0]["fd_digits"] if 1.0 in by_weight else None
    print(
        f"run {result['run']} (step {result['step']}): {result['n']} samples per weight, {result['sampler']} "
        f"{result['steps']} steps ({result['spacing']}), seed {result['seed']}"
    )
    print(
        f"reference: the digits CNN's accuracy on the real test split ({result['n_real']} images) = {real:.4f}"
    )
    print(
        f"{'guidance':>8} {'accuracy':>9} {'acc/real':>9} {'FD-digits':>10} {'FD/FD(w=1)':>11} {'seconds':>8}"
    )
    for row in result["rows"]:
        fd_ratio = f"{row['fd_digits'] / base_fd:>11.3f}" if base_fd else f"{'-':>11}"
        print(
            f"{row['guidance']:>8g} {row['accuracy']:>9.4f} {row['accuracy'] / real:>9.3f} "
            f"{row['fd_digits']:>10.3f} {fd_ratio} {row['seconds']:>8.1f}"
        )
    for note in result["warnings"]:
        print(f"note: {note}")
    if TARGET_WEIGHT in by_weight:
        accuracy = by_weight[TARGET_WEIGHT]["accuracy"]
        verdict = "PASS" if accuracy >= TARGET_ACCURACY else "FAIL"
        print(
            f"{verdict}: accuracy at guidance {TARGET_WEIGHT:g} = {accuracy:.4f} (target >= {TARGET_ACCURACY})"
        )
    print(f"wrote {result['picture']}")


if __name__ == "__main__":
    main()
