"""Few-shot digits: MAML (and Reptile) against the pretrain + fine-tune baseline, side by side.

    PYTHONPATH=src .venv/bin/python benchmarks/meta_digits.py [--minutes 5] [--task digits:3way-1shot]
        [--learners maml,reptile,pretrain] [--step-sizes 0.04,0.1,0.4] [--episodes 600]

Each learner trains for the same ``--minutes`` on meta-training digits 0-6 and their rotations (seed
``--seed``), then adapts to ``--episodes`` episodes of the held-out digits 7-9 with 0, 1, 5 and 10 SGD
steps of each ``--step-sizes`` value. One row per learner and step size: query accuracy with its 95 %
interval. The last lines take each learner's best step size after 1 and after 10 steps and say whether
its interval lies wholly above the baseline's (the issue's criterion). Runs on one torch thread.
"""

from __future__ import annotations

import argparse
import os
import tempfile

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from genforge.meta.learner import evaluate_meta, train_meta  # noqa: E402

LEARNERS = {"maml": ("maml", {}), "reptile": ("reptile", {"inner_steps": 5}), "pretrain": ("pretrain", {})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="training budget per learner")
    parser.add_argument("--task", default="digits:3way-1shot")
    parser.add_argument("--learners", default="maml,reptile,pretrain", help="among maml, reptile, pretrain")
    parser.add_argument("--step-sizes", default="0.04,0.1,0.4", help="adaptation step sizes to evaluate")
    parser.add_argument("--episodes", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    learners = args.learners.split(",")
    step_sizes = [float(v) for v in args.step_sizes.split(",")]
    best: dict[str, dict[str, tuple[float, list[float], float]]] = {}
    print(f"{args.task}, {args.minutes} min per learner, {args.episodes} held-out episodes, seed {args.seed}")
    print(
        f"{'learner':<9} {'iters':>6} {'step':>5} " + " ".join(f"{f'{s} steps':>22}" for s in (0, 1, 5, 10))
    )
    with tempfile.TemporaryDirectory() as out:
        for name in learners:
            algo, overrides = LEARNERS[name]
            run = train_meta(
                algo, args.task, out=out, seed=args.seed, overrides=overrides, max_minutes=args.minutes
            )
            for lr in step_sizes:
                curve = evaluate_meta(run.run, args.episodes, seed=args.seed, inner_lr=lr)["after_steps"]
                cells = [
                    f"{v['accuracy']:.3f} [{v['ci95'][0]:.3f},{v['ci95'][1]:.3f}]" for v in curve.values()
                ]
                print(f"{name:<9} {run.iterations:>6} {lr:>5} " + " ".join(f"{c:>22}" for c in cells))
                for steps in ("1", "10"):
                    entry = (curve[steps]["accuracy"], curve[steps]["ci95"], lr)
                    if entry[0] > best.setdefault(name, {}).get(steps, (-1.0, [], 0.0))[0]:
                        best[name][steps] = entry
    print(f"load average at end {os.getloadavg()[0]:.1f}")
    if "pretrain" not in best:
        return
    for name in (n for n in learners if n != "pretrain"):
        for steps in ("1", "10"):
            (acc, ci, lr), (base, base_ci, base_lr) = best[name][steps], best["pretrain"][steps]
            verdict = "above, intervals apart" if ci[0] > base_ci[1] else "not clearly above"
            print(
                f"{name} after {steps} step(s): {acc:.3f} (step {lr}) vs baseline {base:.3f} (step {base_lr}): "
                f"{acc / base:.2f}x, {verdict}"
            )


if __name__ == "__main__":
    main()
