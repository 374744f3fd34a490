"""genforge's input rails beside LLM Guard's offline scanners, on the same texts: recall, FPR and latency ratios.

LLM Guard (MIT) is the peer the issue names. Its prompt-injection scanner is a DeBERTa model fetched from a model
hub, which this machine cannot reach, so the comparison uses the scanners that run offline: ``Secrets`` (Yelp's
detect-secrets plugins) against the ``secrets`` rail, and, for injections and jailbreaks, ``InvisibleText`` plus
``BanSubstrings`` with the jailbreak markers LLM Guard ships (its output scanner's ``DAN``/``developer mode``
list) against the ``prompt_injection`` + ``jailbreak`` + ``jailbreak_model`` rails. LLM Guard pins its own
transformers and torch, so it lives in its own virtual environment and is run as a subprocess:

    python3.11 -m venv .venv-llmguard                 # ignored by git, like .venv
    .venv-llmguard/bin/pip install torch==2.13.0 llm-guard==0.3.16
    nice .venv/bin/python benchmarks/guard_peer.py --peer-python .venv-llmguard/bin/python

Texts: the held-out ``guard_test2`` (injection/jailbreak or secrets vs benign), the seeded grammar's dev attacks
(``guard_synthetic.py``, never trained on) and 2,000 Python documentation sentences with attack words from the
test pages (benign). Nothing is downloaded (``HF_HUB_OFFLINE=1``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

WORKER = r"""
import json, sys, time
from llm_guard.input_scanners import BanSubstrings, InvisibleText, Secrets
from llm_guard.util import configure_logger
configure_logger("ERROR")  # one log line per scan otherwise
from llm_guard.output_scanners.ban_substrings import OUTPUT_STOP_SUBSTRINGS  # the list LLM Guard ships
texts = json.load(open(sys.argv[1], encoding="utf-8"))
scanners = {
    "secrets": [Secrets(redact_mode="all")],
    "attacks": [InvisibleText(), BanSubstrings(substrings=OUTPUT_STOP_SUBSTRINGS, case_sensitive=False)],
}
out = {}
for task, chain in scanners.items():
    fired, ms = [], []
    for text in texts[task]:
        started = time.perf_counter()
        hit = False
        for scanner in chain:
            hit = not scanner.scan(text)[1] or hit
        ms.append((time.perf_counter() - started) * 1000)
        fired.append(hit)
    out[task] = {"fired": fired, "ms": ms}
json.dump(out, open(sys.argv[2], "w", encoding="utf-8"))
"""


def texts_and_labels() -> dict[str, tuple[list[str], list[bool], list[str]]]:
    """Per task: texts, whether each is positive, and which set it came from."""
    from guard_rails import load
    from guard_sources import python_docs
    from guard_synthetic import generate

    test2 = load("guard_test2")
    docs = [r["text"] for r in python_docs() if r["split"] == "test" and r["kind"] == "attack-words"][:2000]
    synthetic = [r["text"] for r in generate(seed=0) if r["split"] == "dev" and r["label"] == 1]
    tasks = {}
    for task, rails in (("attacks", {"prompt_injection", "jailbreak"}), ("secrets", {"secrets"})):
        items = [i for i in test2 if rails & set(i["expected"]) or not i["expected"]]
        texts = [i["text"] for i in items] + docs
        gold = [bool(rails & set(i["expected"])) for i in items] + [False] * len(docs)
        origin = ["guard_test2"] * len(items) + ["python-docs"] * len(docs)
        if task == "attacks":
            texts, gold, origin = (
                texts + synthetic,
                gold + [True] * len(synthetic),
                origin + ["synthetic-dev"] * len(synthetic),
            )
        tasks[task] = (texts, gold, origin)
    return tasks


def genforge_run(tasks) -> dict:
    from genforge.guard import Guard

    guard = Guard.load()
    rails = {
        "attacks": {"prompt_injection", "jailbreak", "jailbreak_model"},
        "secrets": {"secrets"},
    }
    out = {}
    for task, (texts, _, _) in tasks.items():
        fired, ms = [], []
        for text in texts:
            started = time.perf_counter()
            result = guard.check(text)
            ms.append((time.perf_counter() - started) * 1000)
            fired.append(bool(rails[task] & {v.rail for v in result.fired}))
        out[task] = {"fired": fired, "ms": ms}
    return out


def peer_run(tasks, python: str) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        source, result = Path(folder) / "texts.json", Path(folder) / "out.json"
        source.write_text(json.dumps({task: t[0] for task, t in tasks.items()}), encoding="utf-8")
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        subprocess.run([python, "-c", WORKER, str(source), str(result)], check=True, env=env)
        return json.loads(result.read_text(encoding="utf-8"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer-python", required=True, help="python of a virtual environment with llm-guard")
    args = parser.parse_args()
    tasks = texts_and_labels()
    ours, peer = genforge_run(tasks), peer_run(tasks, args.peer_python)
    print(
        f"{'task':<9}{'texts from':<15}{'n':>5}  {'system':<10}{'recall':>8}{'FPR':>8}{'p50 ms':>9}{'p95 ms':>9}"
    )
    for task, (_texts, gold, origin) in tasks.items():
        gold_arr, origin_arr = np.asarray(gold), np.asarray(origin)
        for name in sorted(set(origin), key=origin.index):
            mask = origin_arr == name
            for system, run in (("genforge", ours), ("LLM Guard", peer)):
                fired = np.asarray(run[task]["fired"])[mask]
                ms = np.asarray(run[task]["ms"])[mask]
                positives, negatives = gold_arr[mask], ~gold_arr[mask]
                recall = f"{fired[positives].mean():.3f}" if positives.any() else "-"
                fpr = f"{fired[negatives].mean():.4f}" if negatives.any() else "-"
                p50, p95 = np.percentile(ms, 50), np.percentile(ms, 95)
                print(
                    f"{task:<9}{name:<15}{mask.sum():>5}  {system:<10}{recall:>8}{fpr:>8}{p50:>9.3f}{p95:>9.3f}"
                )
        ratio = np.median(peer[task]["ms"]) / np.median(ours[task]["ms"])
        print(f"{task}: median latency LLM Guard / genforge = {ratio:.2f}")


if __name__ == "__main__":
    main()
