"""How well does ``min_support`` separate grounded answer sentences from made-up ones? (the output rails' bar)

For each question of ``pydocs_qa_dev`` (choose) and ``pydocs_qa`` (report), the five paragraphs of its source
page in the Python 3.11 documentation (Debian python3.11-doc) that share most words with the *question* stand
in for retrieval. The reference answer against its own page's paragraphs is a grounded sentence; the same
answer against the paragraphs retrieved for another question (the next one in the file, on another page) is a
made-up one. Support is :func:`genforge.text.support.support_matrix` (lexical; ``--embedding`` adds
all-MiniLM-L6-v2 similarity, as ``rag ask`` does). The threshold that maximizes balanced accuracy on dev is
compared with the rails' default ``MIN_SUPPORT``.

    .venv/bin/python benchmarks/guard_grounding.py [--embedding]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from genforge.guard.output import MIN_SUPPORT
from genforge.text.support import lexical_support, support_matrix

DATA = Path(__file__).parent / "data"
PYDOCS = Path("/usr/share/doc/python3.11/html")


def paragraphs(page: str) -> list[str]:
    import lxml.html

    root = lxml.html.parse(str(PYDOCS / page)).getroot()
    texts = [
        " ".join(p.text_content().split())
        for p in root.xpath('//div[@role="main"]//p | //div[@role="main"]//dd')
    ]
    return [t for t in texts if len(t) >= 40]


def pairs(name: str, embedding) -> tuple[np.ndarray, np.ndarray]:
    items = [json.loads(line) for line in (DATA / f"{name}.jsonl").read_text().splitlines() if line.strip()]
    retrieved = []
    for item in items:
        candidates = paragraphs(item["sources"][0])
        ranked = sorted(candidates, key=lambda p: -lexical_support(item["question"], p))
        retrieved.append(ranked[:5])
    grounded, made_up = [], []
    for number, item in enumerate(items):
        other = next(
            retrieved[(number + k) % len(items)]
            for k in range(1, len(items))
            if items[(number + k) % len(items)]["sources"][0] != item["sources"][0]
        )
        grounded.append(float(support_matrix([item["answer"]], retrieved[number], embedding).max()))
        made_up.append(float(support_matrix([item["answer"]], other, embedding).max()))
    return np.asarray(grounded), np.asarray(made_up)


def balanced_accuracy(grounded: np.ndarray, made_up: np.ndarray, threshold: float) -> float:
    return 0.5 * (np.mean(grounded >= threshold) + np.mean(made_up < threshold))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedding", action="store_true", help="add MiniLM similarity as rag ask does")
    embedding = None
    if parser.parse_args().embedding:
        from genforge.embed.sentence import SentenceEmbedding

        embedding = SentenceEmbedding()
    dev = pairs("pydocs_qa_dev", embedding)
    test = pairs("pydocs_qa", embedding)
    grid = np.round(np.arange(0.05, 1.0, 0.05), 2)
    best = max(grid, key=lambda t: (balanced_accuracy(*dev, t), -abs(t - MIN_SUPPORT)))
    print(
        f"support: {'lexical + MiniLM' if embedding else 'lexical'}; {len(dev[0])} dev and {len(test[0])} test answers"
    )
    print(
        f"{'threshold':>10}{'dev bal.acc':>13}{'test bal.acc':>14}{'test grounded kept':>20}{'test made-up caught':>21}"
    )
    for t in sorted({float(best), MIN_SUPPORT, 0.34, 0.5, 0.7}):
        kept, caught = np.mean(test[0] >= t), np.mean(test[1] < t)
        print(
            f"{t:>10.2f}{balanced_accuracy(*dev, t):>13.3f}{balanced_accuracy(*test, t):>14.3f}{kept:>20.3f}{caught:>21.3f}"
        )
    print(f"best on dev: {best:.2f}; rails' default MIN_SUPPORT: {MIN_SUPPORT}")


if __name__ == "__main__":
    main()
