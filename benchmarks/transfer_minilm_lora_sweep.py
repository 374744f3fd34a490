"""LoRA settings for MiniLM fine-tuning, chosen on DEV pairs only (issue 20: >= 90 % of the full gain).

The training pairs of ``transfer_minilm.py`` (the RAG question sets' dev files, 164 pairs) are split by a
seeded share (``--dev``, default 40 %: train 98 / dev 66); the held-out test pairs (190) are never read here. Each setting
is trained on train and scored on dev (each dev question searching all dev answers): MRR@10 before and
after, and its share of the full fine-tune's dev gain. ``--test`` instead trains on all 164 pairs with the
given settings and reports once on the 190 test pairs (what ``transfer_minilm.py`` does with defaults).

``--folds K`` (the k-fold dev protocol, docs/transfer.md) instead splits the 164 pairs into K seeded folds;
every setting is trained K times (on K-1 folds) and scored on the fold left out, so all 164 pairs serve as
dev once. Per setting it prints the mean dev gain over the folds, its spread, and the share of the full
fine-tune's mean gain (ratio of the two means; a per-fold ratio is meaningless where the full gain is ~0).

Settings: ``full`` (every weight, its defaults) or LoRA ``key=value`` lists, e.g.
``lr=2e-3,r=8,alpha=16,epochs=4,targets=*attention*``. Run:
    PYTHONPATH=src .venv/bin/python benchmarks/transfer_minilm_lora_sweep.py full lr=1e-3,epochs=2 ...
Shared 2-core machine: the quality figures are deterministic given the seed, wall times are not.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from transfer_minilm import HOLDOUT, TRAIN, write_pairs  # noqa: E402

from genforge.transfer.embed import EmbedFinetuneConfig, finetune_embedding  # noqa: E402

TRAIN_KEYS = {"lr", "epochs", "batch_size", "warmup", "weight_decay", "scale"}


def build(spec: str, test: bool, dev: float) -> EmbedFinetuneConfig:
    values: dict = {"check_every": 1000, "holdout": 0.0 if test else dev}
    if spec == "full":
        values.setdefault("epochs", 2)
        return EmbedFinetuneConfig.build(values)
    lora: dict = {}
    for part in filter(None, spec.split(",")):
        key, _, value = part.partition("=")
        if key in TRAIN_KEYS:
            values[key] = value
        elif key == "targets":
            lora[key] = value.split("|")
        else:
            lora[key] = value
    values["lora"] = lora
    return EmbedFinetuneConfig.build(values)


def fold_files(train_path: Path, folds: int, seed: int, tmp: Path) -> list[tuple[Path, Path]]:
    """(train, dev) files per fold of a seeded permutation of the train pairs' lines."""
    lines = train_path.read_text().splitlines()
    order = list(range(len(lines)))
    random.Random(seed).shuffle(order)
    files = []
    for k in range(folds):
        dev = [lines[i] for j, i in enumerate(order) if j % folds == k]
        rest = [lines[i] for j, i in enumerate(order) if j % folds != k]
        pair = (tmp / f"fold{k}-train.jsonl", tmp / f"fold{k}-dev.jsonl")
        pair[0].write_text("\n".join(rest) + "\n")
        pair[1].write_text("\n".join(dev) + "\n")
        files.append(pair)
    return files


def kfold(args: argparse.Namespace, train_path: Path, tmp: Path) -> None:
    files = fold_files(train_path, args.folds, args.seed, tmp)
    gains: dict[str, list[float]] = {}
    for spec in args.settings:
        config = build(spec, True, 0.0)
        for k, (fold_train, fold_dev) in enumerate(files):
            result = finetune_embedding(
                fold_train, holdout_pairs=fold_dev, config=config, out=tmp / "runs", seed=args.seed
            )
            gain = result.after["mrr@10"] - result.before["mrr@10"]
            gains.setdefault(spec, []).append(gain)
            print(
                f"fold {k} {spec:45s} MRR@10 {result.before['mrr@10']:.4f} -> {result.after['mrr@10']:.4f} "
                f"({gain:+.4f}) trainable {result.trainable_fraction:.2%} steps {result.steps} "
                f"{result.status} {result.train_s:.0f}s",
                flush=True,
            )
            if args.jsonl:
                with open(args.jsonl, "a") as out:
                    row = {"setting": spec, "fold": k, "folds": args.folds, "seed": args.seed, "gain": gain}
                    row |= {"before": result.before["mrr@10"], "after": result.after["mrr@10"]}
                    row |= {"trainable": result.trainable_fraction, "steps": result.steps}
                    out.write(json.dumps(row) + "\n")
    full = statistics.mean(gains["full"]) if "full" in gains else None
    print(f"\n{args.folds}-fold dev, seed {args.seed}: mean MRR@10 gain over folds (sd), share of full")
    for spec, values in gains.items():
        mean, sd = statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0
        share = f"{mean / full:6.0%}" if full else "   n/a"
        print(f"{spec:45s} {mean:+.4f} ({sd:.4f}) {share}  folds: {' '.join(f'{g:+.4f}' for g in values)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("settings", nargs="+", help="'full' or LoRA key=value lists")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test", action="store_true", help="train on all train pairs, score the test pairs")
    parser.add_argument("--dev", type=float, default=0.4, help="seeded share of the train pairs for dev")
    parser.add_argument("--folds", type=int, default=0, help="K-fold dev over all train pairs (K >= 2)")
    parser.add_argument("--jsonl", help="append one JSON line per setting to this file")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="lora-sweep-"))
    train_path = write_pairs(TRAIN, tmp / "train.jsonl")
    if args.folds >= 2:
        kfold(args, train_path, tmp)
        return
    holdout = write_pairs(HOLDOUT, tmp / "test.jsonl") if args.test else None
    where = "test" if args.test else "dev"
    for spec in args.settings:
        config = build(spec, args.test, args.dev)
        result = finetune_embedding(
            train_path, holdout_pairs=holdout, config=config, out=tmp / "runs", seed=args.seed
        )
        row = {
            "setting": spec,
            "on": where,
            "dev_share": 0.0 if args.test else args.dev,
            "before": result.before["mrr@10"],
            "after": result.after["mrr@10"],
            "recall@1": result.after["recall@1"],
            "gain": result.after["mrr@10"] - result.before["mrr@10"],
            "trainable": result.trainable_fraction,
            "steps": result.steps,
            "status": result.status,
            "train_s": result.train_s,
        }
        print(
            f"{where} {spec:45s} MRR@10 {row['before']:.4f} -> {row['after']:.4f} ({row['gain']:+.4f}) "
            f"R@1 {row['recall@1']:.4f} trainable {row['trainable']:.2%} steps {row['steps']} "
            f"{row['status']} {row['train_s']:.0f}s",
            flush=True,
        )
        if args.jsonl:
            with open(args.jsonl, "a") as out:
                out.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
