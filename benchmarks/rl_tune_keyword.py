"""RL-tune a tiny text:lee GPT toward a keyword reward: share of the reward's headroom gained, and KL.

Trains the base GPT (2 layers, 64 wide, char tokenizer, 64-token context, 600 steps) unless ``--base RUN``
is given, then tunes it with each ``--algos`` for ``--minutes`` (``rl tune --set lr=3e-4``, KL weight
0.05, 2 x 8 samples of 32 tokens per update) toward ``{type: keyword, words: [the], cap: 1}`` (1 when a
completion contains the word "the"). Each row is measured on 256 fresh completions of the parent and of
the tuned run drawn with the same seed. The reference is the issue 20 target: the reward rises by at
least 50 % of its headroom (``1 - parent reward``) while the KL stays at or below 10 nats per sequence.
The machine is shared: update counts within the same minutes move with its load. ``--kl-target T`` adapts
the KL weight (starting at ``--kl``) toward T nats per sequence (``rl tune --kl-target``); the last columns
are the final weight and the per-update KL of ``metrics.jsonl`` (mean of the last 50 updates, and the share
of updates above 10 nats).

    python benchmarks/rl_tune_keyword.py [--base RUN] [--algos rloo,grpo,ppo] [--minutes 5] [--seed 0]
        [--kl 0.05] [--kl-target 6]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from genforge.pipelines.rltune import evaluate_tune, tune_gpt
from genforge.pipelines.training import train
from genforge.rl.tune import TuneConfig

RULES = "rules:\n  - {type: keyword, words: [the], cap: 1}\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="a gpt run to tune (default: train the tiny text:lee GPT)")
    parser.add_argument("--algos", default="rloo,grpo,ppo")
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kl", type=float, default=0.05, help="KL weight (the start when adaptive)")
    parser.add_argument("--kl-target", type=float, help="adapt the KL weight toward this many nats/sequence")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="rl-tune-bench-"))
    base = args.base
    if base is None:
        base = train(
            "gpt",
            "text:lee",
            data_options={"tokenizer": "char", "block_size": 64},
            overrides={"num_layers": 2, "embed_dim": 64, "num_heads": 4, "dropout": 0.0},
            max_steps=600,
            out=work / "base",
            seed=args.seed,
        ).run
        print(f"base: {base.path}", flush=True)
    rules = work / "the.yaml"
    rules.write_text(RULES)
    print(
        "| algo | updates | parent reward | tuned reward | share of headroom | KL (nats/seq) | target met "
        "| final KL weight | update KL, last 50 | updates above 10 nats |"
    )
    print("|---|---:|---:|---:|---:|---:|---|---:|---:|---:|")
    for algo in args.algos.split(","):
        config = TuneConfig(
            algo=algo, kl_coef=args.kl, kl_target=args.kl_target, max_steps=100_000, lr=3e-4, eval_samples=256
        )
        result = tune_gpt(base, f"rules:{rules}", config=config, out=work / "tuned", seed=args.seed,
                          max_minutes=args.minutes)  # fmt: skip
        ev = evaluate_tune(result.run, 256, seed=10**6 + args.seed)
        share = (ev["tuned_reward"] - ev["reference_reward"]) / max(1e-9, 1 - ev["reference_reward"])
        met = "yes" if share >= 0.5 and ev["kl"] <= 10 else "no"
        records = [r for r in result.run.read_metrics() if r.get("split") == "train"]
        kls = [r["kl"] for r in records]
        above = sum(k > 10 for k in kls) / max(1, len(kls))
        print(f"| {algo} | {result.steps} | {ev['reference_reward']:.3f} | {ev['tuned_reward']:.3f} | "
              f"{share:.2f} | {ev['kl']:.2f} | {met} | {records[-1]['kl_coef']:.3f} | "
              f"{sum(kls[-50:]) / len(kls[-50:]):.2f} | {above:.1%} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
