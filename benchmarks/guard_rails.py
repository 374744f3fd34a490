"""Guardrail detection quality and latency, against an embedding classifier, in one process.

Claims measured:
  1. precision / recall / F1 / false-positive rate of the default policy's input rails on three labelled
     sets written for this project: ``guard_dev`` (used while writing the rules), ``guard_test`` (held out
     when first run, then used to fix misses) and ``guard_test2`` (written after those fixes, held out);
  2. latency per check of the deterministic rails (target: a few milliseconds);
  3. the same on the injection/jailbreak task for a named reference: logistic regression on
     all-MiniLM-L6-v2 sentence embeddings trained on ``guard_dev`` (the usual "semantic classifier"
     approach), with ratios;
  4. the learned ``jailbreak_model`` rail: held-out guard_test2 with and without it, false positives on 2,000
     Python-documentation sentences with attack words (pages never trained on), whole-policy latency p50/p95
     with and without it (1,000-character texts; texts the cue rails decide), and the leave-one-source-out table
     of benchmarks/train_guard_model.py (``--no-loso`` skips it: it retrains the model 8 times).

    .venv/bin/python benchmarks/guard_rails.py [--no-loso]
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
DATA = Path(__file__).parent / "data"
SETS = ["guard_dev", "guard_test", "guard_test2"]
ATTACK_RAILS = {"prompt_injection", "jailbreak", "jailbreak_model"}
CUE_RAILS = {"prompt_injection", "jailbreak"}


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


def _without_learned(guard):
    from genforge.guard import Guard

    plain = Guard(guard.policy)
    plain.rails = {
        stage: [r for r in rails if r.name != "jailbreak_model"] for stage, rails in guard.rails.items()
    }
    return plain


def _percentiles(guard, texts: list[str], repeats: int = 3) -> tuple[float, float]:
    times = []
    for _ in range(repeats):
        for text in texts:
            started = time.perf_counter()
            guard.check(text)
            times.append((time.perf_counter() - started) * 1000)
    return float(np.percentile(times, 50)), float(np.percentile(times, 95))


def _learned_rail_cost(guard, texts: list[str]) -> None:
    """The learned rail's own cost per 1,000-character text: the per-check path (memoized per-word n-gram
    columns) against scikit-learn's HashingVectorizer path it replaced (same scores), interleaved so that both
    see the same machine load. The cue hits are computed first, as the cue rails do before the learned rail in
    a policy (both paths read them from the same per-text cache)."""
    from genforge.guard.detector import featurize
    from genforge.guard.injection import all_cue_hits

    model = next(r for r in guard.rails["input"] if r.name == "jailbreak_model").model
    fast, slow = [], []
    for text in texts:
        all_cue_hits(text)
        started = time.perf_counter()
        model.score(text)
        fast.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        model.probabilities([], featurize([text]))
        slow.append((time.perf_counter() - started) * 1000)
    warm = []  # the same texts again: every word's n-gram columns are now memoized
    for text in texts:
        started = time.perf_counter()
        model.score(text)
        warm.append((time.perf_counter() - started) * 1000)
    p = {name: np.percentile(t, [50, 95]) for name, t in (("fast", fast), ("slow", slow), ("warm", warm))}
    print(f"\nlearned rail alone on the same texts, ms (p50 / p95): per-check path {p['fast'][0]:.2f} / "
          f"{p['fast'][1]:.2f}, scikit-learn featurize path {p['slow'][0]:.2f} / {p['slow'][1]:.2f}; "
          f"median ratio {p['slow'][0] / p['fast'][0]:.1f}x; the same texts again (words memoized) "
          f"{p['warm'][0]:.2f} / {p['warm'][1]:.2f}, ratio {p['slow'][0] / p['warm'][0]:.1f}x")  # fmt: skip


def learned_rail(loso: bool) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from guard_sources import python_docs

    from genforge.guard import Guard

    guard = Guard.load()
    plain = _without_learned(guard)

    def blocked(g, text: str) -> bool:
        return bool(ATTACK_RAILS & {v.rail for v in g.check(text).fired})

    print("\nlearned rail on held-out guard_test2 (injection + jailbreak vs benign)")
    items = [i for i in load("guard_test2") if ATTACK_RAILS & set(i["expected"]) or not i["expected"]]
    gold = [bool(ATTACK_RAILS & set(i["expected"])) for i in items]
    print(f"{'policy':<28}{'precision':>10}{'recall':>8}{'F1':>7}{'FPR':>7}")
    for name, g in (("cue rails only", plain), ("cue rails + jailbreak_model", guard)):
        r = rates([blocked(g, i["text"]) for i in items], gold)
        print(f"{name:<28}{r['precision']:>10.3f}{r['recall']:>8.3f}{r['f1']:>7.3f}{r['fpr']:>7.3f}")

    hard = [r for r in python_docs() if r["kind"] == "attack-words"]
    pool = [r["text"] for r in hard if r["split"] == "test"]
    # latency on dev-page sentences the false-positive pass did not check (the test pages hold 2,042 since the
    # dev split grew to 20 % of the pages), then on 1,000-character pieces of sentences neither pass checked
    docs, spare = pool[:2000], [r["text"] for r in hard if r["split"] == "dev"]
    unseen, rest = spare[:200], " ".join(pool[2000:] + spare[200:])
    fresh = [rest[i : i + 1000] for i in range(0, len(rest) - 999, 1000)]
    print(
        f"\nfalse positives on {len(docs)} Python 3.11 documentation sentences with attack words (test pages)"
    )
    for name, g in (("cue rails only", plain), ("cue rails + jailbreak_model", guard)):
        hits = [t for t in docs if blocked(g, t)]
        print(f"{name:<28}{len(hits):>5} blocked = {100 * len(hits) / len(docs):.2f} %")
        for text in hits[:5]:
            print(f"    {text[:100]}")

    filler = "The parser reads one line at a time and keeps track of the current section name. "
    long_texts = [(filler * 13)[: 1000 - len(t) - 1] + " " + t for t in unseen]
    decided = [
        i["text"] for i in items if i["expected"] and any(v.fired for v in plain.check(i["text"]).fired)
    ]
    print("\nwhole input policy latency, ms (one process, one thread; p50 / p95)")
    print(f"{'texts':<42}{'cue rails only':>18}{'+ jailbreak_model':>20}")
    for label, texts in (
        ("1,000-character benign texts", long_texts),
        ("attacks the cue rails block", decided),
    ):
        a, b = _percentiles(plain, texts), _percentiles(guard, texts)
        print(f"{label:<42}{a[0]:>8.2f} / {a[1]:<7.2f}{b[0]:>10.2f} / {b[1]:<7.2f}")
    print("(the learned rail is skipped once a cue rail has blocked, so decided texts cost what they did)")
    _learned_rail_cost(guard, fresh)

    if loso:
        import train_guard_model as training
        from guard_sources import load_all

        records = training.augment(load_all())
        features = training.Features(records)
        cues = training.cue_decisions(records)
        c = guard.rails["input"][[r.name for r in guard.rails["input"]].index("jailbreak_model")].model.meta[
            "c"
        ]
        rows = training.leave_one_source_out(records, features, cues, c)
        print(
            f"\nleave-one-source-out (C={c}, threshold at {training.TARGET_FPR:.1%} FPR on dev documentation pages)"
        )
        print(f"{'left-out source':<24}{'attacks':>8}{'model':>8}{'policy':>8}{'docs FPR':>10}")
        for r in rows:
            print(
                f"{r['source']:<24}{r['attacks']:>8}{r['recall_model']:>8.3f}{r['recall_policy']:>8.3f}{r['fpr_docs_policy']:>10.4f}"
            )
        mean = {
            k: float(np.mean([r[k] for r in rows]))
            for k in ("recall_model", "recall_policy", "fpr_docs_policy")
        }
        print(
            f"{'mean':<24}{'':>8}{mean['recall_model']:>8.3f}{mean['recall_policy']:>8.3f}{mean['fpr_docs_policy']:>10.4f}"
        )


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="guardrail quality and latency")
    parser.add_argument("--no-loso", action="store_true", help="skip the leave-one-source-out retraining")
    parser.add_argument("--only-learned", action="store_true", help="only the learned-rail sections")
    options = parser.parse_args()
    np.set_printoptions(precision=3)
    if not options.only_learned:
        main()
    learned_rail(loso=not options.no_loso)
