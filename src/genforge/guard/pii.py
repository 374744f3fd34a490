"""PII and secrets detection: regular-expression candidates confirmed by checksums and context.

A candidate span only becomes a finding when its structure holds: card numbers pass Luhn and belong to a
card network, IBANs have their country's length and pass mod-97, SSNs/NINOs follow their issuers' rules,
Dutch BSNs pass the 11-test and Spanish DNIs their control letter, IP addresses parse (loopback, private
and documentation ranges score lower), phone numbers need a ``+`` prefix, phone-like grouping or a nearby
word such as "call". Secrets are known token formats (cloud, VCS, chat, payment providers, JWTs, private
keys, credentials in URLs) plus ``key = value`` assignments whose value has high character entropy.
Each finding has a score in ``[0, 1]``; rails fire at their threshold (default 0.5).
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pydantic import Field

from genforge.guard.base import Action, Finding, Rail, RailConfig, RailContext, register_rail
from genforge.guard.checksums import (
    card_brand,
    es_dni_valid,
    iban_valid,
    luhn_valid,
    nl_bsn_valid,
    uk_nino_valid,
    us_ssn_valid,
)

Validator = Callable[[re.Match, str], "float | None"]


@dataclass(frozen=True)
class Detector:
    type: str
    pattern: re.Pattern
    validate: Validator


def _near(text: str, start: int, words: re.Pattern, window: int = 48) -> bool:
    return bool(words.search(text[max(0, start - window) : start]))


# PII -------------------------------------------------------------------------------------------------
_RESERVED_EMAIL = re.compile(r"@(?:[\w-]+\.)*(?:example\.(?:com|org|net)|test|invalid|localhost)$", re.I)


def _email(match: re.Match, text: str) -> float:
    return 0.4 if _RESERVED_EMAIL.search(match.group()) else 0.95


_CARD_WORDS = re.compile(r"(?i)\b(card|credit|debit|visa|mastercard|amex|cc|pan)\b")


def _card(match: re.Match, text: str) -> float | None:
    digits = re.sub(r"[ .-]", "", match.group())
    if not 12 <= len(digits) <= 19 or not luhn_valid(digits):
        return None
    if len(digits) == 12:  # only Maestro issues 12 digits; a bare 12-digit id passes Luhn one time in ten
        if card_brand(digits) != "maestro":
            return None
        return 0.9 if _near(text, match.start(), _CARD_WORDS) else 0.3
    if card_brand(digits):
        return 0.97
    return 0.6 if _near(text, match.start(), _CARD_WORDS) else 0.3


def _iban(match: re.Match, text: str) -> float | None:
    return 0.98 if iban_valid(match.group().replace(" ", "")) else None


_SSN_WORDS = re.compile(r"(?i)\b(ssn|social security|ss#|taxpayer)\b")


def _ssn(match: re.Match, text: str) -> float | None:
    digits = re.sub(r"[ -]", "", match.group())
    if not us_ssn_valid(digits):
        return None
    dashed = "-" in match.group()  # "123 45 6789" needs a cue word: spaced digit groups are common
    if _near(text, match.start(), _SSN_WORDS):
        return 0.99
    return 0.85 if dashed else None


def _nino(match: re.Match, text: str) -> float | None:
    return 0.9 if uk_nino_valid(match.group().replace(" ", "")) else None


_BSN_WORDS = re.compile(r"(?i)\b(bsn|burgerservicenummer|sofi-?nummer|citizen service number)\b")


def _bsn(match: re.Match, text: str) -> float | None:
    if not nl_bsn_valid(match.group()):
        return None
    return 0.9 if _near(text, match.start(), _BSN_WORDS) else None


def _dni(match: re.Match, text: str) -> float | None:
    return 0.9 if es_dni_valid(match.group().replace("-", "")) else None


_DOC_NETS = [
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
]


def _ip(match: re.Match, text: str) -> float | None:
    candidate = match.group()
    if ":" in candidate and not re.search(r"[0-9a-fA-F]{3}|::", candidate):
        return None  # times like 12:30:45
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError:
        return None
    if address.is_loopback or address.is_unspecified or address.is_link_local or address.is_multicast:
        return 0.3
    if any(address in net for net in _DOC_NETS if net.version == address.version):
        return 0.3
    if (
        address.is_private
    ):  # internal addresses are infrastructure, not personal data: reported below threshold
        return 0.45
    return 0.85


_PHONE_WORDS = re.compile(
    r"(?i)\b(phone|tel|telephone|call|mobile|cell|fax|whatsapp|sms|text me|ring|dial|contact)\b"
)
_DATE_LIKE = re.compile(r"^\d{4}[-./]\d{1,2}[-./]\d{1,2}$|^\d{1,2}[-./]\d{1,2}[-./]\d{2,4}$")


_NANP = re.compile(r"1?[2-9](?!11)\d\d[2-9](?!11)\d\d\d{4}")  # NPA-NXX-XXXX, no N11 codes (NANP plan)
_NOT_PHONE_WORDS = re.compile(
    r"(?i)\b(order|invoice|ref|reference|id|no|number|account|acct|tracking|serial)\W*$"
)


def _power_of_two(number: int) -> bool:
    """2**n - 1, 2**n or 2**n + 1: integer limits (2147483647, 4294967295) that technical text quotes."""
    return any((number + d) & (number + d - 1) == 0 for d in (-1, 0, 1))


_EXTENSION = re.compile(r"\s?(?:x|ext\.?)\s?\d{1,5}$")


def _phone(match: re.Match, text: str) -> float | None:
    # an extension ("924.321.9489x24115", "... ext. 12") is part of the span; the number is judged without it
    raw = _EXTENSION.sub("", match.group())
    digits = re.sub(r"\D", "", raw)
    if not 7 <= len(digits) <= 15 or _DATE_LIKE.match(raw):
        return None
    context = _near(text, match.start(), _PHONE_WORDS)
    if raw.startswith("+") and len(digits) >= 8:
        return 0.9
    if re.fullmatch(r"0[67](?:[ .-]?\d\d){4}", raw):  # French mobile: 06 12 34 56 78
        return 0.85
    if raw.isdigit() and _NANP.fullmatch(digits) and not _power_of_two(int(digits)):
        # a bare 10-digit North American number; order and invoice numbers say what they are, and digits
        # joined to a token by '-', '_' or '/' are part of it
        if text[max(0, match.start() - 1) : match.start()] in set("-_/=:") or text[
            match.end() : match.end() + 1
        ] in set("-_/"):
            return None
        return 0.4 if _NOT_PHONE_WORDS.search(text[max(0, match.start() - 24) : match.start()]) else 0.7
    if re.fullmatch(r"\(\d{2,4}\)\s?\d{3,4}[-.\s]\d{3,4}", raw):
        return 0.85
    if re.fullmatch(r"\(0\d{2,4}\)\s?\d{3,8}", raw):  # trunk-prefixed area code: (02668) 587840
        return 0.85
    if re.fullmatch(r"\d{3}[-.\s]\d{3}[-.\s]\d{4}", raw):  # North American 3-3-4 grouping
        return 0.9 if context else 0.75
    grouped = re.fullmatch(r"\d{2,4}(?:[-.\s]\d{2,4}){2,4}", raw) is not None
    if grouped and len(digits) >= 9:
        return 0.9 if context else 0.45
    return 0.75 if context and len(digits) >= 8 else None


PII_DETECTORS = [
    Detector(
        "email",
        re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"),
        _email,
    ),
    Detector(
        "email",  # written out to dodge filters: "john.doe [at] acme-corp [dot] com"
        re.compile(
            r"(?<![\w.+-])[A-Za-z0-9._%+-]{1,64} ?[\[(]at[\])] ?[A-Za-z0-9-]{1,63}(?: ?[\[(]dot[\])] ?[A-Za-z0-9-]{1,63}){1,4}",
            re.IGNORECASE,
        ),
        lambda match, text: 0.9,
    ),
    Detector(
        "iban",
        re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b", re.IGNORECASE),
        _iban,
    ),
    Detector(  # whole groups only: "ES91 2100 0418 4502 0005 1332 by" (the line above takes " by" and fails)
        "iban", re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}\b", re.IGNORECASE), _iban
    ),
    Detector("credit_card", re.compile(r"(?<![\d-])\d(?:[ -]?\d){11,18}(?![\d-])"), _card),
    Detector(  # dotted groups (4111.1111.1111.1111, Amex 3782.822463.10005); never a float's digits
        "credit_card",
        re.compile(r"(?<![\d.])(?:\d{4}\.\d{4}\.\d{4}\.\d{4}|\d{4}\.\d{6}\.\d{5})(?!\d|\.\d)"),
        _card,
    ),
    Detector(
        "card_cvv",
        re.compile(r"(?i)\b(?:cvv2?|cvc2?|csc|cid|security code)\b[\s:#=-]{0,3}(?P<value>\d{3,4})(?!\d)"),
        lambda match, text: 0.9,
    ),
    Detector(
        "card_expiry",
        re.compile(
            r"(?i)\b(?:exp(?:iry|ires|iration)?(?: date)?|valid (?:thru|through|until)|good thru)\.?"
            r"[\s:#=-]{0,3}(?P<value>(?:0[1-9]|1[0-2]) ?[/-] ?(?:20)?\d\d)(?![\d/])"
        ),
        lambda match, text: 0.85,
    ),
    Detector(
        "national_id",
        re.compile(
            r"(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])|(?<!\d)(?<!\d )\d{3} \d{2} \d{4}(?! ?\d)|(?<!\d)\d{9}(?!\d)"
        ),
        _ssn,
    ),
    Detector("national_id", re.compile(r"\b[A-Za-z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-Da-d]\b"), _nino),
    Detector("national_id", re.compile(r"(?<!\d)\d{9}(?!\d)"), _bsn),
    Detector("national_id", re.compile(r"\b(?:\d{8}-?[A-Za-z]|[XYZxyz]-?\d{7}-?[A-Za-z])\b"), _dni),
    Detector("ip_address", re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.]*\d)"), _ip),
    Detector("ip_address", re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])"), _ip),
    Detector(
        "phone",
        re.compile(
            r"(?<![\w+])(?:\+\d{1,3}[\s.-]?(?:\(\d{1,4}\)[\s.-]?)?\d{1,4}|(?:\(\d{1,5}\)[\s.-]?)?\d{2,4})"
            r"(?:[\s.-]?\d{2,4}){1,4}(?:\s?(?:x|ext\.?)\s?\d{1,5})?(?![\w])"
        ),
        _phone,
    ),
]
PII_TYPES = sorted({d.type for d in PII_DETECTORS})
# a card's security code and expiry are redacted wherever its number is
_IMPLIED_TYPES = {"credit_card": ("card_cvv", "card_expiry")}


# secrets ---------------------------------------------------------------------------------------------
def _fixed(score: float) -> Validator:
    return lambda match, text: score


def shannon_entropy(value: str) -> float:
    """Bits per character of ``value``'s character distribution."""
    if not value:
        return 0.0
    counts = {ch: value.count(ch) for ch in set(value)}
    return -sum(c / len(value) * math.log2(c / len(value)) for c in counts.values())


_PLACEHOLDER = re.compile(
    r"(?i)^(x+|\*+|\.+|<.*>|\{.*\}|\$\{?\w+\}?|your[\w-]*|changeme|example[\w-]*|dummy[\w-]*|placeholder[\w-]*|"
    r"none|null|true|false|[\w-]*-here)$"
)


def _assignment(match: re.Match, text: str) -> float | None:
    value = match.group("value")
    if _PLACEHOLDER.match(value) or len(value) < 8:
        return None
    entropy = shannon_entropy(value)
    has_digit, has_alpha = any(c.isdigit() for c in value), any(c.isalpha() for c in value)
    if entropy >= 3.5 and has_digit and has_alpha:
        return 0.85
    if entropy >= 3.0 and (has_digit or not value.isalpha()):
        return 0.6
    return None


_AWS_WORDS = re.compile(r"(?i)(aws|secret|AKIA[0-9A-Z]{16})")


def _aws_secret(match: re.Match, text: str) -> float | None:
    """40 base64 characters (AWS secret access key): mixed case and digits, near 'aws'/'secret' or a key id."""
    value = match.group()
    if not (re.search(r"[a-z]", value) and re.search(r"[A-Z]", value) and re.search(r"\d", value)):
        return None  # git SHA-1s are lower-case hex; words and identifiers lack digits
    if _near(text, match.start(), _AWS_WORDS, window=80):
        return 0.9
    return 0.6 if shannon_entropy(value) >= 4.5 and re.search(r"[/+]", value) else None


SECRET_DETECTORS = [
    Detector(
        "private_key",
        re.compile(r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END[^-]*-----|$)"),
        _fixed(0.99),
    ),
    Detector("aws_access_key", re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b"), _fixed(0.95)),
    Detector(
        "aws_secret_key", re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"), _aws_secret
    ),
    Detector(
        "github_token",
        re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{50,})\b"),
        _fixed(0.98),
    ),
    Detector("gitlab_token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}\b"), _fixed(0.97)),
    Detector("slack_token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"), _fixed(0.95)),
    Detector("google_api_key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"), _fixed(0.95)),
    Detector("stripe_key", re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}\b"), _fixed(0.95)),
    Detector("openai_key", re.compile(r"\bsk-(?:proj-|ant-(?:api\d\d-)?)?[A-Za-z0-9_-]{20,}\b"), _fixed(0.9)),
    Detector("huggingface_token", re.compile(r"\bhf_[A-Za-z0-9]{30,}\b"), _fixed(0.95)),
    Detector(
        "jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), _fixed(0.9)
    ),
    Detector(
        "url_credentials", re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s:@]{3,}@[^\s/]+"), _fixed(0.85)
    ),
    Detector(
        "credential_assignment",
        re.compile(
            r"(?i)(?:api[_-]?key|apikey|secret(?:[_-]?key)?|access[_-]?(?:key|token)|auth[_-]?token|token|"
            r"password|passwd|pwd|client[_-]?secret)\b[\"']?\s*[:=]\s*[\"']?(?P<value>[^\s\"',;]{6,})"
        ),
        _assignment,
    ),
]
SECRET_TYPES = sorted({d.type for d in SECRET_DETECTORS})


def detect(text: str, detectors: Iterable[Detector], types: Iterable[str] | None = None) -> list[Finding]:
    """All findings of ``detectors`` (restricted to ``types``), overlapping spans resolved by score then length."""
    allowed = set(types) if types is not None else None
    found: list[Finding] = []
    for detector in detectors:
        if allowed is not None and detector.type not in allowed:
            continue
        for match in detector.pattern.finditer(text):
            score = detector.validate(match, text)
            if score is None:
                continue
            span = match.span("value") if "value" in detector.pattern.groupindex else match.span()
            found.append(Finding(detector.type, span[0], span[1], float(score)))
    return _resolve_overlaps(found)


def _resolve_overlaps(findings: list[Finding]) -> list[Finding]:
    kept: list[Finding] = []
    for f in sorted(findings, key=lambda f: (-f.score, -(f.end - f.start), f.start)):
        if all(f.end <= k.start or f.start >= k.end for k in kept):
            kept.append(f)
    return sorted(kept, key=lambda f: f.start)


def find_pii(text: str, types: Iterable[str] | None = None) -> list[Finding]:
    """PII spans (email, phone, credit_card with its card_cvv and card_expiry, iban, ip_address, national_id)."""
    if types is not None:
        types = set(types)
        types |= {implied for t in list(types) for implied in _IMPLIED_TYPES.get(t, ())}
    return detect(text, PII_DETECTORS, types)


def find_secrets(text: str, types: Iterable[str] | None = None) -> list[Finding]:
    """API keys, tokens, private keys and high-entropy credential assignments."""
    return detect(text, SECRET_DETECTORS, types)


# rails -----------------------------------------------------------------------------------------------
class PiiConfig(RailConfig):
    rail: str = Field("pii", description="registered rail name")
    action: Action = Field("redact", description="what a firing rail does: block, redact or flag")
    types: list[str] = Field(
        default_factory=lambda: list(PII_TYPES), description=f"PII types: {', '.join(PII_TYPES)}"
    )


class SecretsConfig(RailConfig):
    rail: str = Field("secrets", description="registered rail name")
    action: Action = Field("redact", description="what a firing rail does: block, redact or flag")
    types: list[str] = Field(default_factory=lambda: list(SECRET_TYPES), description="secret types to detect")


def _score_findings(findings: list[Finding], threshold: float, what: str) -> tuple[float, list[Finding], str]:
    hits = [f for f in findings if f.score >= threshold]
    if not hits:
        return max((f.score for f in findings), default=0.0), [], ""
    kinds = sorted({f.type for f in hits})
    return max(f.score for f in hits), hits, f"{len(hits)} {what} span(s): {', '.join(kinds)}"


@register_rail("pii")
class PiiRail(Rail):
    """Personal data: emails, phones, card numbers (Luhn), IBANs (mod-97), IPs, national ids."""

    config_class = PiiConfig

    def score(self, text: str, context: RailContext) -> tuple[float, list[Finding], str]:
        return _score_findings(find_pii(text, self.config.types), self.config.threshold, "PII")


@register_rail("secrets")
class SecretsRail(Rail):
    """Credentials: cloud/VCS/chat/payment tokens, JWTs, private keys, high-entropy key assignments."""

    config_class = SecretsConfig

    def score(self, text: str, context: RailContext) -> tuple[float, list[Finding], str]:
        return _score_findings(find_secrets(text, self.config.types), self.config.threshold, "secret")
