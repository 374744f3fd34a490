"""MiniLM fine-tuning: genforge (full and LoRA) vs sentence-transformers' own MNRL loss, same pairs.

Pairs: question -> short answer from the repository's RAG question sets. Training: the dev sets
(pydocs_qa_dev, pydocs_user_dev, pgdocs_user_dev: 164 pairs); hold-out: the test sets (pydocs_qa,
pydocs_user_test, pgdocs_user_test: 190 pairs), each question searching all 190 answers. Figures:
hold-out MRR@10 / recall@1 before and after, training steps/s, and ratios genforge / peer.

The peer is sentence-transformers' ``MultipleNegativesRankingLoss`` module driven by the same batches,
AdamW, learning rate and warm-up/linear-decay schedule. ``SentenceTransformerTrainer`` (and ``model.fit``,
which wraps it since v3) needs the ``datasets`` package (with pyarrow), which is not installed here; the
loss and the model forward — where the time goes — are sentence-transformers' own.

The machine is shared with other jobs: steps/s are noisy. Run:
    PYTHONPATH=src .venv/bin/python benchmarks/transfer_minilm.py [--epochs 2] [--seed 0]
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import tempfile
import time
from pathlib import Path

import torch

from genforge.core.seed import make_generator
from genforge.embed.sentence import default_model_path, load_sentence_model
from genforge.transfer.embed import EmbedFinetuneConfig, finetune_embedding, read_pairs, retrieval_scores

DATA = Path(__file__).parent / "data"
TRAIN = ["pydocs_qa_dev.jsonl", "pydocs_user_dev.jsonl", "pgdocs_user_dev.jsonl"]
HOLDOUT = ["pydocs_qa.jsonl", "pydocs_user_test.jsonl", "pgdocs_user_test.jsonl"]


def write_pairs(names: list[str], path: Path) -> Path:
    with path.open("w") as out:
        for name in names:
            for line in (DATA / name).read_text().splitlines():
                record = json.loads(line)
                out.write(json.dumps({"anchor": record["question"], "positive": record["answer"]}) + "\n")
    return path


def peer(train_path: Path, holdout_path: Path, config: EmbedFinetuneConfig, seed: int) -> dict:
    from sentence_transformers.losses import MultipleNegativesRankingLoss

    pairs, held = read_pairs(train_path), read_pairs(holdout_path)
    torch.manual_seed(seed)
    model = copy.deepcopy(load_sentence_model(str(default_model_path())))
    model.max_seq_length = config.max_seq_length
    loss_fn = MultipleNegativesRankingLoss(model, scale=config.scale)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=config.weight_decay)
    total = math.ceil(len(pairs) / config.batch_size) * config.epochs
    warm = int(total * config.warmup)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / max(warm, 1) if s < warm else max(0.0, (total - s) / max(total - warm, 1))
    )
    gen = make_generator(seed + 1)
    model.train()
    steps, start = 0, time.perf_counter()
    for _ in range(config.epochs):
        for idx in torch.randperm(len(pairs), generator=gen).split(config.batch_size):
            batch = [pairs[i] for i in idx.tolist()]
            if len(batch) < 2:
                continue
            features = [
                model.preprocess([p.anchor for p in batch]),
                model.preprocess([p.positive for p in batch]),
            ]
            loss = loss_fn(features, None)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            steps += 1
    elapsed = time.perf_counter() - start
    model.eval()
    return {"after": retrieval_scores(model, held), "steps": steps, "steps_per_s": steps / elapsed}


def speed_only(train_path: Path, holdout_path: Path, tmp: Path, args: argparse.Namespace) -> None:
    """Training-loop steps/s only (a 2-pair hold-out), peer, genforge, peer, genforge: the machine's
    load changes less between neighbouring runs."""
    small = tmp / "held2.jsonl"
    small.write_text("".join(holdout_path.read_text().splitlines(keepends=True)[:2]))
    config = EmbedFinetuneConfig.build({"epochs": args.epochs, "check_every": 1000})
    ours, theirs = [], []
    for _ in range(2):
        theirs.append(peer(train_path, small, config, args.seed)["steps_per_s"])
        result = finetune_embedding(
            train_path, holdout_pairs=small, config=config, out=tmp / "runs", seed=args.seed
        )
        ours.append(result.steps / result.train_s)
    print(f"steps/s genforge {ours}, sentence-transformers {theirs}")
    print(
        f"genforge full vs sentence-transformers: steps/s ratio {sum(ours) / sum(theirs):.2f}x (shared machine)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lora-rank", type=int, default=8)
    parser.add_argument(
        "--speed-only", action="store_true", help="steps/s of genforge full vs the peer, run back to back"
    )
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="transfer-bench-"))
    train_path, holdout_path = (
        write_pairs(TRAIN, tmp / "train.jsonl"),
        write_pairs(HOLDOUT, tmp / "holdout.jsonl"),
    )
    if args.speed_only:
        return speed_only(train_path, holdout_path, tmp, args)
    rows = {}
    for name, extra in (("genforge full", {}), ("genforge LoRA", {"lora": {"r": args.lora_rank}})):
        config = EmbedFinetuneConfig.build({"epochs": args.epochs, "check_every": 1000, **extra})
        result = finetune_embedding(
            train_path, holdout_pairs=holdout_path, config=config, out=tmp / "runs", seed=args.seed
        )
        rows[name] = {"before": result.before, "after": result.after, "steps": result.steps}
        rows[name]["trainable"] = result.trainable_fraction
        rows[name]["steps_per_s"] = result.steps / result.train_s
    full_cfg = EmbedFinetuneConfig.build({"epochs": args.epochs})
    before = rows["genforge full"]["before"]  # the same packaged model, the same hold-out
    rows["sentence-transformers MNRL"] = {
        "before": before,
        **peer(train_path, holdout_path, full_cfg, args.seed),
    }
    print(
        f"pairs: train {len(read_pairs(train_path))}, hold-out {len(read_pairs(holdout_path))}; epochs {args.epochs}"
    )
    print(f"{'':28s} {'MRR@10 before':>13s} {'after':>7s} {'R@1 after':>9s} {'steps':>6s} {'steps/s':>8s}")
    for name, row in rows.items():
        print(
            f"{name:28s} {row['before']['mrr@10']:13.4f} {row['after']['mrr@10']:7.4f} "
            f"{row['after']['recall@1']:9.4f} {row['steps']:6d} {row['steps_per_s']:8.3f}"
        )
    ref = rows["sentence-transformers MNRL"]
    for name in ("genforge full", "genforge LoRA"):
        row = rows[name]
        print(
            f"{name} vs sentence-transformers: MRR@10 {row['after']['mrr@10'] - ref['after']['mrr@10']:+.4f}, "
            f"steps/s ratio {row['steps_per_s'] / ref['steps_per_s']:.2f}x"
        )
    gain_full = rows["genforge full"]["after"]["mrr@10"] - rows["genforge full"]["before"]["mrr@10"]
    gain_lora = rows["genforge LoRA"]["after"]["mrr@10"] - rows["genforge LoRA"]["before"]["mrr@10"]
    print(
        f"LoRA trains {rows['genforge LoRA']['trainable']:.2%} of parameters; gain {gain_lora:+.4f} vs full "
        f"{gain_full:+.4f} ({gain_lora / gain_full:.0%} of the full gain)"
        if gain_full
        else "full fine-tune gained nothing"
    )
    print("(shared 2-core machine: steps/s are noisy)")


if __name__ == "__main__":
    main()
