"""Check-digit algorithms against published valid and corrupted identifiers."""

from __future__ import annotations

import pytest

from genforge.guard.checksums import (
    card_brand,
    es_dni_valid,
    iban_valid,
    luhn_valid,
    nl_bsn_valid,
    uk_nino_valid,
    us_ssn_valid,
)


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        ("4111111111111111", "visa"),
        ("4222222222222", "visa"),
        ("5500005555555559", "mastercard"),
        ("2223000048400011", "mastercard"),
        ("378282246310005", "amex"),
        ("6011111111111117", "discover"),
        ("3530111333300000", "jcb"),
        ("3566002020360505", "jcb"),
        ("30569309025904", "diners"),
        ("38520000023237", "diners"),
        ("6759649826438453", "maestro"),
        ("5018000000000009", "maestro"),
        ("6304000000000000", "maestro"),
    ],
)
def test_luhn_accepts_network_test_card_numbers_with_their_exact_brand(number, brand):
    assert luhn_valid(number)
    assert card_brand(number) == brand


def test_luhn_valid_number_of_no_network_has_no_brand():
    assert luhn_valid("9999999999999995") and card_brand("9999999999999995") is None


@pytest.mark.parametrize("number", ["4111111111111112", "1234567812345678", "0000000000000001"])
def test_luhn_rejects_a_changed_digit(number):
    assert not luhn_valid(number)


@pytest.mark.parametrize(
    "iban",
    ["DE89370400440532013000", "GB82WEST12345698765432", "NL91ABNA0417164300", "FR1420041010050500013M02606"],
)
def test_iban_mod97_accepts_valid_ibans(iban):
    assert iban_valid(iban)


@pytest.mark.parametrize(
    "iban", ["DE89370400440532013001", "GB82WEST1234569876543", "XX89370400440532013000"]
)
def test_iban_rejects_wrong_check_length_or_country(iban):
    assert not iban_valid(iban)


def test_ssn_rules_reject_reserved_areas_groups_and_serials():
    assert us_ssn_valid("123456789")
    for bad in ("000456789", "666456789", "912456789", "123006789", "123450000", "078051120"):
        assert not us_ssn_valid(bad)


def test_nino_prefix_and_suffix_rules():
    assert uk_nino_valid("AB123456C")
    for bad in ("GB123456C", "DA123456C", "AB123456E", "AO123456C"):
        assert not uk_nino_valid(bad)


def test_bsn_eleven_test():
    assert nl_bsn_valid("111222333") and not nl_bsn_valid("111222334")


def test_dni_and_nie_control_letter():
    assert es_dni_valid("12345678Z") and not es_dni_valid("12345678A")
    assert es_dni_valid("X1234567L")
