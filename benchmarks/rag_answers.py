"""The extractive answerer on answerable and unanswerable questions: answer correctness and "not found" rate.

Data not written for this measurement: the Python 3.11 documentation (Debian's python3.11-doc HTML) and
the labelled questions of ``benchmarks/data/pydocs_qa*.jsonl`` (each names the page(s) that answer it).
The questions are split by position: the pages of the even-numbered ones are indexed, so those questions
are *answerable*; the odd-numbered ones whose pages are not in the store are *unanswerable* there. An
answerable question is answered correctly when the answer is found and cites a labelled page; an
unanswerable one correctly when the answer is "not found". Guardrails off; the offline extractive answerer
with its defaults (nothing is tuned here).

    .venv/bin/python benchmarks/rag_answers.py [--qa benchmarks/data/pydocs_qa_dev.jsonl]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from genforge.rag.api import ask
from genforge.rag.evaluate import is_relevant
from genforge.rag.store import Store

HTML = Path("/usr/share/doc/python3.11/html")
HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qa", type=Path, default=HERE / "data" / "pydocs_qa_dev.jsonl")
    args = parser.parse_args()
    if not HTML.is_dir():
        sys.exit(f"{HTML} is missing: apt-get install python3.11-doc")
    rows = [json.loads(line) for line in args.qa.read_text(encoding="utf-8").splitlines() if line.strip()]
    answerable = rows[0::2]
    indexed = sorted({page for row in answerable for page in row["sources"]})
    unanswerable = [r for r in rows[1::2] if not any(is_relevant(p, indexed) for p in r["sources"])]
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "html"
        for page in indexed:
            (corpus / page).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(HTML / page, corpus / page)
        store = Store(Path(tmp) / "store")
        started = time.perf_counter()
        report = store.index(corpus)
        print(
            f"indexed {len(indexed)} pages, {report.total_chunks} chunks in {time.perf_counter() - started:.0f} s"
        )
        correct = found = 0
        for row in answerable:
            answer = ask(row["question"], store, rails=False)
            found += answer.found
            correct += answer.found and any(is_relevant(c.source, row["sources"]) for c in answer.citations)
        not_found = sum(not ask(row["question"], store, rails=False).found for row in unanswerable)
    print(f"{args.qa.name}: {len(answerable)} answerable, {len(unanswerable)} unanswerable questions")
    print(f"answerable:   found {found}/{len(answerable)}, correct (cites a labelled page) {correct}/{len(answerable)}"
          f" = {correct / len(answerable):.2f}")  # fmt: skip
    print(
        f"unanswerable: 'not found' {not_found}/{len(unanswerable)} = {not_found / max(1, len(unanswerable)):.2f}"
    )


if __name__ == "__main__":
    main()
