"""Sequence-to-sequence datasets: procedurally generated tasks with one right answer, and a user's pairs.

``seq2seq:dates``    a date written in one of many styles -> ISO 8601 (``the 3rd of March 2021`` -> ``2021-03-03``)
``seq2seq:numbers``  an integer in digits -> English words (``40213`` -> ``forty thousand two hundred thirteen``)
``seq2seq:roman``    a year in digits -> Roman numerals (``1994`` -> ``MCMXCIV``)
``seq2seq:file:PATH`` tab-separated ``source<TAB>target`` lines (UTF-8)

Every task is generated from a fixed seed, sources are unique, and the 80/10/10 split is by example, so
the test sources were never seen in training. Text is tokenized per character with ``<pad>``, ``<bos>``,
``<eos>`` specials (the tokenizer is fitted on the training pairs and saved in the run directory).
Batches hold ``x`` (B, S) source ids and ``target`` (B, T) = ``<bos> ids <eos>``, both padded with 0.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import Field

from genforge.core.config import Config
from genforge.core.errors import DataError
from genforge.data import Dataset, register_dataset, split_indices
from genforge.data.info import DataInfo

GENERATOR_SEED = 0
SPLIT_SEED = 0

MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
ROMAN = [
    (1000, "M"),
    (900, "CM"),
    (500, "D"),
    (400, "CD"),
    (100, "C"),
    (90, "XC"),
    (50, "L"),
    (40, "XL"),
    (10, "X"),
    (9, "IX"),
    (5, "V"),
    (4, "IV"),
    (1, "I"),
]


class Seq2SeqOptions(Config):
    num_examples: int = Field(
        20000,
        ge=10,
        le=1_000_000,
        description="pairs generated for a built-in task (split 80/10/10; by default at most "
        "the task's distinct sources, e.g. 3,999 for roman); a pairs file uses all its lines",
    )


# --- the tasks ---------------------------------------------------------------------------------------


def ordinal(n: int) -> str:
    """1 -> 1st, 2 -> 2nd, 11 -> 11th, 23 -> 23rd."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


DATE_STYLES: list[Callable[[dt.date], str]] = [
    lambda d: f"{d.day} {MONTHS[d.month - 1]} {d.year}",
    lambda d: f"{MONTHS[d.month - 1]} {d.day}, {d.year}",
    lambda d: f"the {ordinal(d.day)} of {MONTHS[d.month - 1]} {d.year}",
    lambda d: f"{ordinal(d.day)} {MONTHS[d.month - 1]} {d.year}",
    lambda d: f"{MONTHS[d.month - 1][:3]} {d.day} {d.year}",
    lambda d: f"{d.day} {MONTHS[d.month - 1][:3]} {d.year}",
    lambda d: f"{WEEKDAYS[d.weekday()]}, {MONTHS[d.month - 1]} {d.day}, {d.year}",
    lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",
]


def date_pair(rng: random.Random) -> tuple[str, str]:
    """A day between 1900 and 2099 in a random style and case -> ``YYYY-MM-DD``."""
    day = dt.date(1900, 1, 1) + dt.timedelta(days=rng.randrange(73049))  # through 2099-12-31
    text = rng.choice(DATE_STYLES)(day)
    text = rng.choice([text, text, text.lower(), text.upper()])
    return text, day.isoformat()


def number_words(n: int) -> str:
    """0 <= n < 1,000,000 in American English words without "and" (hyphenated tens: forty-two)."""
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + (f"-{ONES[n % 10]}" if n % 10 else "")
    if n < 1000:
        return f"{ONES[n // 100]} hundred" + (f" {number_words(n % 100)}" if n % 100 else "")
    return f"{number_words(n // 1000)} thousand" + (f" {number_words(n % 1000)}" if n % 1000 else "")


def number_pair(rng: random.Random) -> tuple[str, str]:
    """An integer below a million (digits, sometimes with thousands commas) -> words."""
    n = int(10 ** rng.uniform(0, 6)) - 1  # log-uniform, so small and large numbers are both common
    text = f"{n:,}" if n >= 1000 and rng.random() < 0.3 else str(n)
    return text, number_words(n)


def roman_numeral(n: int) -> str:
    """1 <= n <= 3999 in standard subtractive Roman numerals."""
    out = []
    for value, letters in ROMAN:
        count, n = divmod(n, value)
        out.append(letters * count)
    return "".join(out)


def roman_pair(rng: random.Random) -> tuple[str, str]:
    n = rng.randint(1, 3999)
    return str(n), roman_numeral(n)


TASKS: dict[str, tuple[Callable[[random.Random], tuple[str, str]], int, str]] = {
    "dates": (date_pair, 73049 * len(DATE_STYLES), "dates in many styles -> ISO 8601"),
    "numbers": (number_pair, 1_000_000, "integers in digits -> English words"),
    "roman": (roman_pair, 3999, "years 1-3999 in digits -> Roman numerals"),
}


def generate_pairs(task: str, num_examples: int, seed: int = GENERATOR_SEED) -> list[tuple[str, str]]:
    """``num_examples`` pairs with distinct sources (fewer when the task has fewer distinct sources)."""
    if task not in TASKS:
        raise DataError(f"unknown seq2seq task '{task}' (available: {', '.join(TASKS)}, file:PATH)")
    make, population, _ = TASKS[task]
    wanted = min(num_examples, population)
    rng = random.Random(seed)
    pairs: dict[str, str] = {}
    attempts = 0
    while len(pairs) < wanted and attempts < 50 * wanted:
        source, target = make(rng)
        pairs.setdefault(source, target)
        attempts += 1
    return list(pairs.items())


def read_pairs(path: Path) -> list[tuple[str, str]]:
    """``source<TAB>target`` lines of a UTF-8 file (blank lines skipped)."""
    if not path.is_file():
        raise DataError(f"pairs file {path} does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path} is not UTF-8 text (byte {exc.start}); convert it, e.g. iconv -t UTF-8"
        ) from None
    pairs = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        source, tab, target = line.partition("\t")
        if not tab or not source.strip() or not target.strip():
            raise DataError(f"{path}:{number}: expected 'source<TAB>target', got {line[:60]!r}")
        pairs.append((source.strip(), target.strip()))
    if len(pairs) < 3:
        raise DataError(f"{path} has {len(pairs)} pairs; at least 3 are needed for train/val/test splits")
    return pairs


# --- the dataset -------------------------------------------------------------------------------------


def _pad(rows: list[list[int]], width: int) -> Any:
    """Rows of ids -> (N, width) long tensor padded with 0 (``<pad>``)."""
    import numpy as np
    import torch

    out = np.zeros((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return torch.from_numpy(out)


@register_dataset(
    "seq2seq",
    options=Seq2SeqOptions,
    kind="pairs",
    help="sequence-to-sequence pairs, per character: dates (-> ISO), numbers (-> words), roman (years -> "
    "numerals), or a tab-separated file",
    examples=[*(f"seq2seq:{name}" for name in TASKS), "seq2seq:file:PATH"],
)
def seq2seq_dataset(arg: str | None, options: Seq2SeqOptions, artifacts: Path | None) -> Dataset:
    from genforge.data.tokenizers import SEQ2SEQ_SPECIALS, TOKENIZER_FILE, CharTokenizer, fit_or_load

    if not arg:
        raise DataError(
            f"seq2seq needs a task: --data seq2seq:NAME with NAME one of {', '.join(TASKS)} or file:PATH"
        )
    kind, _, rest = arg.partition(":")
    asked = "num_examples" in options.model_fields_set
    if kind == "file":
        if asked:
            raise DataError(
                f"num_examples applies to the built-in tasks ({', '.join(TASKS)}); "
                "a pairs file is used whole: cut the file instead"
            )
        pairs = read_pairs(Path(rest).expanduser())
        about = f"pairs from {rest}"
    else:
        if arg in TASKS and asked and options.num_examples > TASKS[arg][1]:
            raise DataError(
                f"seq2seq:{arg} has only {TASKS[arg][1]:,} distinct examples; "
                f"ask for --num-examples {TASKS[arg][1]} or fewer"
            )
        pairs = generate_pairs(arg, options.num_examples)
        about = TASKS[arg][2]
    index = split_indices(len(pairs), (0.8, 0.1, 0.1), SPLIT_SEED)
    train_pairs = [pairs[i] for i in index["train"].tolist()]
    texts = [text for pair in train_pairs for text in pair]
    path = artifacts / TOKENIZER_FILE if artifacts else None
    tokenizer = fit_or_load(path, CharTokenizer(SEQ2SEQ_SPECIALS), texts, source=f"seq2seq:{arg}")
    pad_id, bos_id, eos_id = (tokenizer.token_id(t) for t in SEQ2SEQ_SPECIALS)
    sources = tokenizer.encode_batch([s for s, _ in pairs])
    targets = [[bos_id, *ids, eos_id] for ids in tokenizer.encode_batch([t for _, t in pairs])]
    source_len = max(map(len, sources))
    target_len = max(map(len, targets))
    x, target = _pad(sources, source_len), _pad(targets, target_len)
    splits = {name: {"x": x[ids], "target": target[ids]} for name, ids in index.items()}
    info = DataInfo(
        kind="pairs",
        shape=(source_len,),
        vocab_size=tokenizer.vocab_size,
        extra={
            "task": arg,
            "pad_id": pad_id,
            "bos_id": bos_id,
            "eos_id": eos_id,
            "max_source_length": source_len,
            "max_target_length": target_len,
            "tokenizer_sha256": tokenizer.digest(),
        },
    )

    def decode(ids: list[int]) -> str:
        return tokenizer.decode(ids, skip_special_tokens=True)

    return Dataset(
        spec=f"seq2seq:{arg}",
        info=info,
        splits=splits,
        description=f"{about}: {len(pairs):,} pairs, sources up to {source_len} characters",
        extra={"tokenizer": tokenizer, "decode": decode},
    )
