"""Guardrail detection quality and latency, against an embedding classifier, in one process.

Claims measured:
  1. precision / recall / F1 / false-positive rate of the default policy's input rails on three labelled
     sets written for this project: ``guard_dev`` (used while writing the rules), ``guard_test`` (held out
     when first run, then used to fix misses) and ``guard_test2`` (written after those fixes, held out);
  2. latency per check of the deterministic rails (target: a few milliseconds);
  3. the same on the injection/jailbreak task for a named reference: logistic regression on
     all-MiniLM-L6-v2 sentence embeddings trained on ``guard_dev`` (the usual "semantic classifier"
     approach), with ratios.

    .venv/bin/python benchmarks/guard_rails.py
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
DATA = Path(__file__).parent / "data"
SETS = ["guard_dev", "guard_test", "guard_test2"]
ATTACK_RAILS = {"prompt_injection", "jailbreak"}


def load(name: str) -> list[dict]:
    from genforge.guard.evaluate import load_labelled

    return load_labelled(DATA / f"{name}.jsonl")


def rates(pred: list[bool], gold: list[bool]) -> dict[str, float]:
    tp = sum(p and g for p, g in zip(pred, gold, strict=True))
    fp = sum(p and not g for p, g in zip(pred, gold, strict=True))
    fn = sum(g and not p for p, g in zip(pred, gold, strict=True))
    tn = sum(not p and not g for p, g in zip(pred, gold, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "fpr": fp / (fp + tn) if fp + tn else 0.0}


def main() -> None:
    from genforge.guard import Guard
    from genforge.guard.evaluate import evaluate_guard

    guard = Guard.load()
    sets = {name: load(name) for name in SETS}

    print("default policy, input stage: any rail fired vs anything expected")
    print(f"{'set':<13}{'texts':>6}{'attacks':>8}{'precision':>10}{'recall':>8}{'F1':>7}{'FPR':>7}")
    reports = {}
    for name, items in sets.items():
        r = evaluate_guard(items, guard)
        reports[name] = r
        a = r["any"]
        print(
            f"{name:<13}{r['items']:>6}{r['attacks']:>8}{a['precision']:>10.3f}{a['recall']:>8.3f}{a['f1']:>7.3f}{a['fpr']:>7.3f}"
        )

    print(
        "\nper rail on all three sets together (positives: texts expecting the rail; negatives: benign texts)"
    )
    everything = [item for items in sets.values() for item in items]
    combined = evaluate_guard(everything, guard)
    print(
        f"{'rail':<18}{'tp':>4}{'fp':>4}{'fn':>4}{'precision':>10}{'recall':>8}{'F1':>7}{'FPR':>7}{'p50 ms':>8}{'p95 ms':>8}"
    )
    for rail, r in combined["rails"].items():
        if r["tp"] + r["fn"] == 0 and r["fp"] == 0:
            cells = f"{'-':>10}{'-':>8}{'-':>7}{r['fpr']:>7.3f}"
        else:
            cells = (
                f"{r['precision'] or 0:>10.3f}{r['recall'] or 0:>8.3f}{r['f1'] or 0:>7.3f}{r['fpr']:>7.3f}"
            )
        print(
            f"{rail:<18}{r['tp']:>4}{r['fp']:>4}{r['fn']:>4}{cells}{r['latency_ms_p50']:>8.3f}{r['latency_ms_p95']:>8.3f}"
        )
    whole = combined["any"]
    print(
        f"{'whole input stage':<18}{'':>12}{'':>10}{'':>8}{'':>7}{'':>7}{whole['latency_ms_p50']:>8.3f}{whole['latency_ms_p95']:>8.3f}"
    )

    # reference: MiniLM embeddings + logistic regression, trained on guard_dev -----------------------
    from sklearn.linear_model import LogisticRegression

    from genforge.embed.sentence import SentenceEmbedding

    embedding = SentenceEmbedding(cache_size=0)
    embedding.embed_texts(["warm-up"])

    def attack(item: dict) -> bool:
        return bool(ATTACK_RAILS & set(item["expected"]))

    def relevant(items: list[dict]) -> list[dict]:  # injection/jailbreak texts and benign texts
        return [i for i in items if attack(i) or not i["expected"]]

    train = relevant(sets["guard_dev"])
    classifier = LogisticRegression(max_iter=2000, C=4.0).fit(
        embedding.embed_texts([i["text"] for i in train]), [attack(i) for i in train]
    )
    print(
        "\ninjection + jailbreak detection vs the reference (MiniLM + logistic regression trained on guard_dev)"
    )
    print(f"{'set':<13}{'system':<11}{'precision':>10}{'recall':>8}{'F1':>7}{'FPR':>7}{'ms/check':>10}")
    ratios = []
    for name in ("guard_test", "guard_test2"):
        items = relevant(sets[name])
        gold = [attack(i) for i in items]
        started = time.perf_counter()
        ours = [bool(ATTACK_RAILS & {v.rail for v in guard.check(i["text"]).fired}) for i in items]
        ours_ms = (time.perf_counter() - started) * 1000 / len(items)
        started = time.perf_counter()
        ref = [bool(classifier.predict(embedding.embed_texts([i["text"]]))[0]) for i in items]
        ref_ms = (time.perf_counter() - started) * 1000 / len(items)
        a, b = rates(ours, gold), rates(ref, gold)
        print(
            f"{name:<13}{'genforge':<11}{a['precision']:>10.3f}{a['recall']:>8.3f}{a['f1']:>7.3f}{a['fpr']:>7.3f}{ours_ms:>10.3f}"
        )
        print(
            f"{'':<13}{'reference':<11}{b['precision']:>10.3f}{b['recall']:>8.3f}{b['f1']:>7.3f}{b['fpr']:>7.3f}{ref_ms:>10.3f}"
        )
        ratios.append((name, a["f1"] / b["f1"] if b["f1"] else float("nan"), ref_ms / ours_ms))
    for name, f1_ratio, speed in ratios:
        print(
            f"{name}: F1 ratio genforge/reference {f1_ratio:.2f}, speed-up {speed:.0f}x (whole input policy vs one embedding)"
        )
    print(
        f"\nCPU count {os.cpu_count()}; latencies are wall-clock on a shared machine (p95 includes scheduler noise)"
    )


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
