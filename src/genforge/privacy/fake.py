"""Fake replacements for PII (``pii redact --strategy fake``): each found value becomes a Faker value of
the same type, seeded and consistent, so a redacted table keeps its shape, its formats and its joins.

- **Seeded**: one ``Faker`` instance seeded with ``seed``; values get their fakes in the order they are
  first met, so the same file and seed give the same output. The mapping is not a function of the value
  alone (unlike a hash): without the file, a guessed original cannot be confirmed from the seed.
- **Consistent**: the same ``(type, original)`` maps to the same fake everywhere in one redaction, and two
  different originals never share a fake (a collision is redrawn), so joins on the column survive and do
  not merge people.
- **Type-aware**, with what each fake is:

  ========================  =================================================================================
  email                     ``safe_email``: a name at ``example.org|com|net`` (reserved for examples, RFC
                            2606; the guard scores them below its threshold, so a rescan finds no email)
  phone                     ``+1 NXX 555 01XX``: the North American range set aside for fiction
  credit_card               Faker's Visa (Amex for 15 digits) number of the original's length: a network
                            prefix and a **valid Luhn digit** (it passes the checksum and is detected as a
                            card again; not an issued number except by chance)
  iban                      Faker's IBAN for the locale: country, **valid mod-97 check digits**, random bank
                            and account digits
  national_id               Faker's SSN (area not 000/666/9xx, so it passes the guard's SSN rules)
  ip_address                a private IPv4 address (RFC 1918)
  card_cvv / card_expiry    a three-digit code / an ``MM/YY`` date
  person_name               a full name, or a first/last name when the column's name says which
  birth_date                an ISO date of birth (ages 18 to 90)
  address                   a street address, or a city / postcode when the column's name says which
  ========================  =================================================================================
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from genforge.core.errors import ConfigError, require

MAX_REDRAWS = 100


def _phone(faker: Any, original: str, column: str) -> str:
    return faker.numerify(f"+1 {faker.random_int(2, 9)}## 555 01##")


CARD_TYPES = {13: "visa13", 15: "amex", 16: "visa16", 19: "visa19"}  # by the original's digit count


def _card(faker: Any, original: str) -> str:
    digits = sum(c.isdigit() for c in original)
    return faker.credit_card_number(CARD_TYPES.get(digits, "visa16"))


def _name(faker: Any, original: str, column: str) -> str:
    if re.search(r"(?i)first|given", column):
        return faker.first_name()
    if re.search(r"(?i)last|family|sur", column):
        return faker.last_name()
    return faker.name()


def _address(faker: Any, original: str, column: str) -> str:
    if re.search(r"(?i)zip|post", column):
        return faker.postcode()
    if re.search(r"(?i)city", column):
        return faker.city()
    return faker.street_address()


# (faker, original value, column name) -> fake
FAKES: dict[str, Callable[[Any, str, str], str]] = {
    "email": lambda faker, original, column: faker.safe_email(),
    "phone": _phone,
    "credit_card": lambda faker, original, column: _card(faker, original),
    "iban": lambda faker, original, column: faker.iban(),
    "national_id": lambda faker, original, column: faker.ssn(),
    "ip_address": lambda faker, original, column: faker.ipv4_private(),
    "card_cvv": lambda faker, original, column: faker.credit_card_security_code("visa"),
    "card_expiry": lambda faker, original, column: faker.credit_card_expire(),
    "person_name": _name,
    "birth_date": lambda faker, original, column: faker.date_of_birth(
        minimum_age=18, maximum_age=90
    ).isoformat(),
    "address": _address,
    "account": lambda faker, original, column: faker.iban(),
}


class FakeValues:
    """Seeded, consistent fakes: ``replace(kind, original, column)`` gives the same fake for the same
    ``(kind, original)`` and different fakes for different originals."""

    def __init__(self, seed: int = 0, locale: str = "en_US") -> None:
        faker_module = require("faker", "privacy")
        try:
            self.faker = faker_module.Faker(locale)
        except AttributeError:
            raise ConfigError(f"Faker has no locale '{locale}' (e.g. en_US, en_GB, de_DE, fr_FR)") from None
        self.faker.seed_instance(seed)
        self.seed, self.locale = seed, locale
        self._fakes: dict[tuple[str, str], str] = {}
        self._used: dict[str, set[str]] = {}

    def replace(self, kind: str, original: str, column: str = "") -> str:
        """The fake for ``original`` of PII type ``kind`` (a guard type or a column-name hint)."""
        key = (kind, original)
        if key in self._fakes:
            return self._fakes[key]
        make = FAKES.get(kind.split(":", 1)[-1])
        if make is None:
            raise ConfigError(f"no fake for PII type '{kind}' (fakes exist for {', '.join(sorted(FAKES))})")
        used = self._used.setdefault(kind, set())
        for _ in range(MAX_REDRAWS):
            fake = make(self.faker, original, column)
            if fake not in used and fake != original:
                break
        else:
            raise ConfigError(
                f"ran out of distinct fake {kind} values after {len(used):,}: use --strategy hash for this table"
            )
        used.add(fake)
        self._fakes[key] = fake
        return fake

    @property
    def count(self) -> int:
        """How many distinct originals were replaced."""
        return len(self._fakes)
