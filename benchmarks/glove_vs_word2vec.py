"""GloVe (implemented in genforge) against gensim Word2Vec (skip-gram): quality and wall time.

Both train on the same tokens (``genforge.embed.corpus``), with the same dimension, seed, minimum count
and one CPU thread each, side by side in one process; each uses its own default window and epochs
(GloVe: window 10, 25 epochs; Word2Vec: window 5, 20 epochs). Quality is measured on the items both
vocabularies cover (identical here, since both keep words seen >= 5 times).

    python benchmarks/glove_vs_word2vec.py                  # text:lee (58k tokens)
    python benchmarks/glove_vs_word2vec.py --kjv            # also the King James Bible (~0.8M tokens)

``--kjv`` needs Debian's ``bible-kjv-text`` (read with the ``bible`` program from ``bible-kjv``); the
setup step installs it with apt-get when it is missing and skips that corpus with a message if it cannot.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from genforge.embed.bench import run_bench  # noqa: E402


def kjv_corpus(workdir: Path) -> str | None:
    """Write the KJV text (one chapter per blank-line separated block) and return its corpus spec."""
    if shutil.which("bible") is None:
        print("setup: installing bible-kjv-text with apt-get ...", file=sys.stderr)
        result = subprocess.run(
            ["apt-get", "install", "-y", "-q", "bible-kjv-text"], capture_output=True, text=True
        )
        if result.returncode != 0 or shutil.which("bible") is None:
            print("skip: bible-kjv-text is not installed and apt-get could not install it", file=sys.stderr)
            return None
    text = subprocess.run(["bible", "Gen1:1-Rev22:21"], capture_output=True, text=True, check=True).stdout
    path = workdir / "kjv.txt"
    path.write_text(text, encoding="utf-8")
    return f"text:file:{path}"


REFERENCE, CANDIDATE = "word2vec-skipgram", "glove"
LABELS = {REFERENCE: "gensim Word2Vec skip-gram (reference)", CANDIDATE: "genforge GloVe"}


def run(corpus: str, dim: int, seed: int) -> list[dict]:
    """Both methods through ``embed bench``'s own training and common-item evaluation."""
    result = run_bench(corpus, dim, seed, entries=[REFERENCE, CANDIDATE])
    by_method = {row["method"]: row for row in result["ranking"]}
    return [
        {
            "corpus": corpus.rsplit("/", 1)[-1],
            "tokens": result["corpus_tokens"],
            "method": LABELS[entry],
            "seconds": by_method[entry]["train_seconds"],
            "wordsim": by_method[entry]["common"]["wordsim353"],
            "simlex": by_method[entry]["common"]["simlex999"],
            "analogies": by_method[entry]["common"]["analogies"],
        }
        for entry in (REFERENCE, CANDIDATE)
    ]


def fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="text:lee")
    parser.add_argument("--kjv", action="store_true", help="also run on the King James Bible")
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        corpora = [args.corpus]
        if args.kjv and (spec := kjv_corpus(Path(tmp))):
            corpora.append(spec)
        rows = [row for corpus in corpora for row in run(corpus, args.dim, args.seed)]
    header = (
        f"{'corpus':<10} {'tokens':>8} {'method':<38} {'seconds':>8} {'time/ref':>8} "
        f"{'WS353 rho':>9} {'SimLex rho':>10} {'3CosAdd':>8} {'3CosMul':>8}  items (WS/SL/analogies)"
    )
    print(f"dim {args.dim}, seed {args.seed}, min_count 5, 1 thread each; {os.cpu_count()} CPUs")
    print(header)
    print("-" * len(header))
    for row in rows:
        reference = next(r for r in rows if r["corpus"] == row["corpus"] and "reference" in r["method"])
        items = f"{row['wordsim']['pairs_used']}/{row['simlex']['pairs_used']}/{row['analogies']['questions_used']}"
        print(
            f"{row['corpus']:<10} {row['tokens']:>8} {row['method']:<38} {row['seconds']:>8.1f} "
            f"{row['seconds'] / reference['seconds']:>8.2f} {fmt(row['wordsim']['spearman']):>9} "
            f"{fmt(row['simlex']['spearman']):>10} {fmt(row['analogies']['accuracy_3cosadd']):>8} "
            f"{fmt(row['analogies']['accuracy_3cosmul']):>8}  {items}"
        )


if __name__ == "__main__":
    main()
