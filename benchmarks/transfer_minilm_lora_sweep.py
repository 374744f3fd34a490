"""LoRA settings for MiniLM fine-tuning, chosen on DEV pairs only (issue 20: >= 90 % of the full gain).

The training pairs of ``transfer_minilm.py`` (the RAG question sets' dev files, 164 pairs) are split by a
seeded share (``--dev``, default 40 %: train 98 / dev 66); the held-out test pairs (190) are never read here. Each setting
is trained on train and scored on dev (each dev question searching all dev answers): MRR@10 before and
after, and its share of the full fine-tune's dev gain. ``--test`` instead trains on all 164 pairs with the
given settings and reports once on the 190 test pairs (what ``transfer_minilm.py`` does with defaults).

Settings: ``full`` (every weight, its defaults) or LoRA ``key=value`` lists, e.g.
``lr=2e-3,r=8,alpha=16,epochs=4,targets=*attention*``. Run:
    PYTHONPATH=src .venv/bin/python benchmarks/transfer_minilm_lora_sweep.py full lr=1e-3,epochs=2 ...
Shared 2-core machine: the quality figures are deterministic given the seed, wall times are not.
"""

from __future__ import annotations

import argparse
import json
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("settings", nargs="+", help="'full' or LoRA key=value lists")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test", action="store_true", help="train on all train pairs, score the test pairs")
    parser.add_argument("--dev", type=float, default=0.4, help="seeded share of the train pairs for dev")
    parser.add_argument("--jsonl", help="append one JSON line per setting to this file")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="lora-sweep-"))
    train_path = write_pairs(TRAIN, tmp / "train.jsonl")
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
