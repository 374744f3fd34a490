"""Undo the disguises attackers put on text before the injection, jailbreak and learned rails read it.

``normalize(text)`` returns the text the detectors see plus the list of changes made, so a verdict can say
that normalization changed the text. In order: NFKC (fullwidth and math-styled letters become ASCII), invisible
characters removed (zero-width spaces and joiners, soft hyphens, bidi controls, tags), combining accents
stripped, Cyrillic/Greek look-alike letters folded to Latin inside words that are not wholly in those scripts,
letters spaced or dotted apart joined ("i g n o r e", "i.g.n.o.r.e"), hyphenated line breaks joined, and
leetspeak decoded inside words that mix letters with digits ("1gn0r3"). ``decoded_variants(text)`` gives what
base64 runs, rot13 and reversed text decode to when the decoding reads more like English than the original.

Every step is a single pass over the text or a regular expression without nested quantifiers, so the cost is
linear in the input. Written here because the libraries that do parts of this (``confusables``,
``unidecode``) either fold whole scripts (turning Russian into Latin gibberish) or are not installed; the
look-alike table below is the small set of letters that render identically to Latin ones.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

_INVISIBLE = re.compile("[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\ufe00-\ufe0f]|[\U000e0000-\U000e007f]")  # fmt: skip
_LOOKALIKES = str.maketrans(
    "АВЕЗКМНОРСТУХаеорсухіјѕԁԛԝӏɡΑΒΕΖΗΙΚΜΝΟΡΤΥΧαοινρτυχ",
    "ABE3KMHOPCTYXaeopcyxijsdqwlgABEZHIKMNOPTYXaoivptux",
)
_LOOKALIKE_CHARS = frozenset("АВЕЗКМНОРСТУХаеорсухіјѕԁԛԝӏɡΑΒΕΖΗΙΚΜΝΟΡΤΥΧαοινρτυχ")
_WORD = re.compile(r"\w+")
# "i g n o r e", "i.g.n.o.r.e", "i-g-n-o-r-e", "i_g_n_o_r_e": four or more single letters, one separator each
_SPACED = re.compile(r"(?<![^\W\d_])(?:[^\W\d_][ .\-_*/|]){3,}[^\W\d_](?![^\W\d_])")
_SEPARATORS = re.compile(r"[ .\-_*/|]")
_HYPHEN_BREAK = re.compile(r"(?<=[^\W\d_])-[ \t]*\r?\n[ \t]*(?=[^\W\d_])")
_LEET_WORD = re.compile(r"(?<![\w@$])(?=[\w@$]*[^\W\d_])(?=[\w@$]*[0-9@$])[\w@$]{3,40}(?![\w@$])")
_LEET = str.maketrans("0134578@$", "oieastbas")
_BASE64_RUN = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{16,}+={0,2}")
_COMMON = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "or",
        "to",
        "of",
        "you",
        "your",
        "is",
        "are",
        "be",
        "in",
        "on",
        "for",
        "with",
        "that",
        "this",
        "it",
        "not",
        "all",
        "any",
        "from",
        "as",
        "at",
        "by",
        "ignore",
        "previous",
        "instructions",
        "say",
        "print",
        "tell",
        "what",
        "how",
        "me",
        "my",
        "now",
        "do",
        "will",
    ]
)
MAX_DECODED = 4  # base64 runs decoded per text


@dataclass(frozen=True)
class Normalized:
    """The text the detectors read and what was done to get it from the original."""

    text: str
    changes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def _fold_lookalikes(text: str) -> str:
    def fold(match: re.Match) -> str:
        word = match.group()
        if not any(ch in _LOOKALIKE_CHARS for ch in word):
            return word
        has_latin = any("a" <= ch.lower() <= "z" for ch in word)
        all_lookalike = all(ch in _LOOKALIKE_CHARS or not ch.isalpha() for ch in word)
        return word.translate(_LOOKALIKES) if has_latin or all_lookalike else word

    return _WORD.sub(fold, text)


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped)


def _deleet(match: re.Match) -> str:
    word = match.group()
    if word.isdigit() or sum(ch.isalpha() for ch in word) < 2:
        return word
    return word.translate(_LEET)


@lru_cache(maxsize=256)
def normalize(text: str) -> Normalized:
    """NFKC, invisible characters, accents, look-alikes, spaced letters, line-break hyphens, leetspeak."""
    changes: list[str] = []
    steps = (
        ("unicode compatibility forms", lambda t: unicodedata.normalize("NFKC", t)),
        ("invisible characters", lambda t: _INVISIBLE.sub("", t)),
        ("combining accents", _strip_accents),
        ("look-alike letters", _fold_lookalikes),
        ("spaced-out letters", lambda t: _SPACED.sub(lambda m: _SEPARATORS.sub("", m.group()), t)),
        ("hyphenated line breaks", lambda t: _HYPHEN_BREAK.sub("", t)),
        ("leetspeak", lambda t: _LEET_WORD.sub(_deleet, t)),
    )
    for name, step in steps:
        new = step(text)
        if new != text:
            changes.append(name)
            text = new
    return Normalized(text, tuple(changes))


def _englishness(text: str) -> float:
    words = _WORD.findall(text.lower())
    return sum(w in _COMMON for w in words) / len(words) if words else 0.0


def _printable(raw: bytes) -> str | None:
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    good = sum(ch.isprintable() or ch in "\n\t" for ch in decoded)
    return decoded if decoded and good / len(decoded) > 0.95 else None


@lru_cache(maxsize=256)
def decoded_variants(text: str) -> tuple[tuple[str, str], ...]:
    """``(how, decoded)`` for base64 runs that decode to text, and rot13/reversed text that reads as English."""
    found: list[tuple[str, str]] = []
    for match in _BASE64_RUN.finditer(text):
        run = match.group()
        try:
            raw = base64.b64decode(run + "=" * (-len(run) % 4), validate=True)
        except (binascii.Error, ValueError):
            continue
        decoded = _printable(raw)
        if decoded and _englishness(decoded) > 0.1:
            found.append(("base64", decoded))
        if len(found) >= MAX_DECODED:
            break
    base = _englishness(text)
    for how, variant in (("rot13", codecs.encode(text, "rot13")), ("reversed", text[::-1])):
        if _englishness(variant) > max(2 * base, 0.15):
            found.append((how, variant))
    return tuple(found)
