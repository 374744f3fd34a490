"""Generator transfer: a digits VAE trained on classes 0-6, fine-tuned on 50 images/class of 7-9, vs the
same VAE trained from scratch on those 150 images for the same number of steps.

Figures on the 7-9 test split (83 images): IWAE bits/dim (lower is better; the VAE has a likelihood, so
this is the run's headline figure), reconstruction MSE and FD-digits of 1,000 samples, for full fine-tuning, LoRA (r=4) and
encoder-frozen fine-tuning, with ratios to from-scratch. Steps are a budget, not minutes, so the
figures do not depend on the (shared, noisy) machine.
    PYTHONPATH=src .venv/bin/python benchmarks/transfer_generator.py [--parent-steps 300] [--steps 100]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import genforge
from genforge.pipelines.evaluate import evaluate_run
from genforge.pipelines.finetune import finetune_run

NEW = {"classes": [7, 8, 9], "per_class": 50}


def _with_fd(run: Path, evaluation: dict, seed: int) -> dict:
    """The run's evaluation plus FD-digits of 1,000 samples to the 7-9 test split (83 images: fewer than the
    128 feature dimensions, so FD is biased upward; comparable between these runs only)."""
    fd = evaluate_run(run, metrics=["fd"], num_samples=1000, seed=seed)["metrics"]["fd_digits"]
    return {**evaluation, "fd_digits": fd}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parent-steps", type=int, default=300)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="transfer-gen-"))
    parent = genforge.train(
        "vae", "digits", data_options={"classes": list(range(7))}, out=out, max_steps=args.parent_steps,
        seed=args.seed, overrides={"final_eval": False},
    )  # fmt: skip
    rows = {}
    scratch = genforge.train("vae", "digits", data_options=NEW, out=out, max_steps=args.steps, seed=args.seed)
    rows["from scratch"] = _with_fd(scratch.run.path, scratch.evaluation, args.seed)
    for name, kwargs in (("fine-tune full", {}), ("fine-tune LoRA r=4", {"lora": "r=4"}),
                         ("fine-tune frozen encoder", {"freeze": ["encoder"]})):  # fmt: skip
        result = finetune_run(
            parent.run.path,
            "digits",
            data_options=NEW,
            out=out,
            max_steps=args.steps,
            seed=args.seed,
            **kwargs,
        )
        rows[name] = _with_fd(result.run.path, result.evaluation, args.seed)
    print(
        f"VAE, parent {args.parent_steps} steps on digits 0-6; then {args.steps} steps on 50 images/class of 7-9"
    )
    print(
        f"{'':26s} {'IWAE bits/dim':>13s} {'recon MSE':>10s} {'ratio bpd':>10s} {'FD-digits':>10s} {'ratio FD':>9s}"
    )
    ref = rows["from scratch"]
    for name, ev in rows.items():
        print(
            f"{name:26s} {ev['bits_per_dim_iwae']:13.4f} {ev['recon_mse']:10.4f} "
            f"{ev['bits_per_dim_iwae'] / ref['bits_per_dim_iwae']:10.3f} {ev['fd_digits']:10.2f} "
            f"{ev['fd_digits'] / ref['fd_digits']:9.3f}"
        )
    print("(ratios vs from-scratch at equal steps; lower is better)")


if __name__ == "__main__":
    main()
