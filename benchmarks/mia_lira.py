"""LiRA vs the loss-threshold attack on a deliberately overfit small VAE: AUC and TPR at 1 % FPR.

The target is genforge's VAE (4/8 channels) trained ``--steps`` steps on the first ``--images`` of
scikit-learn's 8x8 digits written as PNG files (``folder:`` data, an 80/10/10 split, so a small training
set that the model memorises). Both attacks score the same members (training split) and non-members (test
split); LiRA trains ``--shadows`` shadow runs of the same config, ``--steps`` steps each, on balanced random
halves of train + test. The reference is the loss attack (Yeom et al. 2018): the table prints each figure
and LiRA's ratio to it. Members are few (the test split's size), so the AUCs move by a few hundredths
between seeds; timings are wall seconds on whatever else the machine is running.

Run: ``.venv/bin/python benchmarks/mia_lira.py [--images 100 --steps 200 --shadows 8 --seed 0]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--shadows", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from PIL import Image
    from sklearn.datasets import load_digits

    from genforge.pipelines.training import train
    from genforge.privacy.mia import MIAConfig, membership_inference

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "digits"
        folder.mkdir()
        for i, image in enumerate(load_digits().images[: args.images]):
            Image.fromarray((image * 16).clip(0, 255).astype(np.uint8)).save(folder / f"{i:04d}.png")
        start = time.perf_counter()
        run = train("vae", f"folder:{folder}", out=Path(tmp) / "runs", seed=args.seed, max_steps=args.steps,
                    overrides={"base_channels": 4, "max_channels": 8, "final_eval": False}).run  # fmt: skip
        print(f"target: {args.steps} steps in {time.perf_counter() - start:.1f} s")
        rows = {}
        for attack in ("loss", "lira"):
            start = time.perf_counter()
            config = MIAConfig(attack=attack, shadows=args.shadows)
            result = membership_inference(run, config=config, seed=args.seed)
            rows[attack] = (result["auc"], result["tpr_at_fpr_0.01"], time.perf_counter() - start)
            if attack == "lira":
                off = result["offline"]
                rows["lira offline"] = (off["auc"], off["tpr_at_fpr_0.01"], float("nan"))
        print(f"{result['members']} members, {result['nonmembers']} non-members")
        print(f"{'attack':<14}{'AUC':>8}{'TPR@1%FPR':>11}{'AUC ratio':>11}{'seconds':>9}")
        base = rows["loss"][0]
        for name, (auc, tpr, secs) in rows.items():
            print(f"{name:<14}{auc:>8.3f}{tpr:>11.3f}{auc / base:>11.2f}{secs:>9.1f}")


if __name__ == "__main__":
    main()
