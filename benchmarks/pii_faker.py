"""Recall and precision of the PII detectors (``guard/pii.py``, used by ``pii scan|redact``) on a seeded
Faker corpus in several locales.

Each record is one short text with one planted value per type, written by Faker in the record's locale
(round robin over ``--locales``): an e-mail address (a user name at a Faker domain: Faker's own ``email``
uses the reserved example domains, which the detector scores below its threshold on purpose), a phone
number, an IBAN, a card number, a public IPv4 address and, where the guard knows the locale's format, a
national id (US SSN, Dutch BSN, Spanish DNI). The planted spans are known, so a planted value is found
when a finding of its type at ``--threshold`` overlaps it; a finding is correct when it overlaps a planted
value of its type. Nothing is tuned on this corpus: the detectors are the guard's as committed, and the
seed is fixed before the first run (reference: the planted truth; rows are per type, with recall per locale).

    .venv/bin/python benchmarks/pii_faker.py [--records 3000] [--seed 0] [--locales en_US,en_GB,...]
"""

from __future__ import annotations

import argparse
import os
import time
from collections import defaultdict

TEMPLATES = {  # type -> (sentence with {value}, Faker call)
    "email": ("Write to {value} for the invoice.", lambda f: f"{f.user_name()}@{f.domain_name()}"),
    "phone": ("You can call me on {value} after six.", lambda f: f.phone_number()),
    "iban": ("Please pay into IBAN {value} by Friday.", lambda f: f.iban()),
    "credit_card": ("The card number is {value}.", lambda f: f.credit_card_number()),
    "ip_address": ("The login came from {value} yesterday.", lambda f: f.ipv4_public()),
}
NATIONAL_IDS = {  # locale -> (sentence, Faker call) for the formats the guard validates
    "en_US": ("My SSN is {value}.", lambda f: f.ssn()),
    "nl_NL": ("Mijn BSN is {value}.", lambda f: f.ssn()),
    "es_ES": ("Mi DNI es {value}.", lambda f: f.nif()),
}


def corpus(records: int, locales: list[str], seed: int) -> list[tuple[str, str, list[tuple[str, int, int]]]]:
    """``records`` texts as (locale, text, [(type, start, end) of each planted value])."""
    from faker import Faker

    fakers = {}
    for i, locale in enumerate(locales):
        fakers[locale] = Faker(locale)
        fakers[locale].seed_instance(seed * 1_000 + i)
    out = []
    for r in range(records):
        locale = locales[r % len(locales)]
        faker = fakers[locale]
        name = faker.name()
        text, spans = f"Note about {name}. ", []
        templates = dict(TEMPLATES)
        if locale in NATIONAL_IDS:
            templates["national_id"] = NATIONAL_IDS[locale]
        for kind, (sentence, make) in templates.items():
            value = make(faker)
            start = len(text) + sentence.index("{value}")
            text += sentence.format(value=value) + " "
            spans.append((kind, start, start + len(value)))
        out.append((locale, text, spans))
    return out


def score(texts, threshold: float):
    from genforge.guard.pii import find_pii

    found, planted = defaultdict(int), defaultdict(int)
    by_locale = defaultdict(lambda: [0, 0])
    correct, reported = defaultdict(int), defaultdict(int)
    start = time.perf_counter()
    findings = [[f for f in find_pii(text) if f.score >= threshold] for _, text, _ in texts]
    seconds = time.perf_counter() - start
    for (locale, _, spans), hits in zip(texts, findings, strict=True):
        for kind, a, b in spans:
            hit = any(f.type == kind and f.start < b and f.end > a for f in hits)
            planted[kind] += 1
            found[kind] += hit
            by_locale[(kind, locale)][0] += hit
            by_locale[(kind, locale)][1] += 1
        for f in hits:
            reported[f.type] += 1
            correct[f.type] += any(k == f.type and f.start < b and f.end > a for k, a, b in spans)
    return found, planted, by_locale, correct, reported, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--locales", default="en_US,en_GB,de_DE,fr_FR,nl_NL,es_ES")
    args = parser.parse_args()
    locales = args.locales.split(",")
    texts = corpus(args.records, locales, args.seed)
    found, planted, by_locale, correct, reported, seconds = score(texts, args.threshold)
    print(f"{args.records} records, locales {', '.join(locales)}, seed {args.seed}, threshold {args.threshold}; "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"| type | planted | recall | precision | {' | '.join(locales)} |")
    print("|---|---:|---:|---:|" + "---:|" * len(locales))
    for kind in sorted(planted):
        cells = []
        for locale in locales:
            hit, total = by_locale.get((kind, locale), (0, 0))
            cells.append(f"{hit / total:.3f}" if total else "-")
        precision = correct[kind] / reported[kind] if reported[kind] else float("nan")
        print(
            f"| {kind} | {planted[kind]} | {found[kind] / planted[kind]:.3f} | {precision:.3f} | {' | '.join(cells)} |"
        )
    others = {k: v for k, v in reported.items() if k not in planted}
    if others:
        print("findings of types never planted:", others)
    print(f"scan: {len(texts) / seconds:,.0f} texts/s ({seconds:.2f} s)")


if __name__ == "__main__":
    main()
