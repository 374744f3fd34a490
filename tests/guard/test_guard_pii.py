"""PII and secrets detection: checksummed identifiers fire, look-alike numbers do not; typed redaction."""

from __future__ import annotations

import pytest

from genforge.guard.base import Finding
from genforge.guard.pii import find_pii, find_secrets, shannon_entropy
from genforge.guard.redact import redact


def _types(text: str, threshold: float = 0.5) -> set[str]:
    return {f.type for f in find_pii(text) if f.score >= threshold}


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("write to jane.doe@acme-corp.io today", "email"),
        ("card 4111 1111 1111 1111 exp 12/27", "credit_card"),
        ("card 4111-1111-1111-1111", "credit_card"),
        ("pay to DE89 3704 0044 0532 0130 00 please", "iban"),
        ("my SSN is 123-45-6789", "national_id"),
        ("NI number AB 12 34 56 C", "national_id"),
        ("mijn BSN is 111222333", "national_id"),
        ("DNI 12345678Z", "national_id"),
        ("ssh to 93.184.216.34 now", "ip_address"),
        ("host 2606:4700:4700::1111 is up", "ip_address"),
        ("call me on +44 20 7946 0958", "phone"),
        ("phone: (415) 555-0132", "phone"),
    ],
)
def test_real_identifiers_are_found_with_their_type(text, kind):
    assert kind in _types(text)


@pytest.mark.parametrize(
    "text",
    [
        "order 4111 1111 1111 1112 shipped",  # fails Luhn
        "version 3.11.2 was released on 2023-02-08",
        "localhost is 127.0.0.1 and docs use 192.0.2.10",
        "the meeting is at 12:30:45",
        "ISBN 978-3-16-148410-0",
        "IBAN-like DE89 3704 0044 0532 0130 01",  # wrong check digits
        "reach me at someone@example.com",  # reserved documentation domain
        "the run took 123456789 steps",  # 9 digits without context
        "pip install numpy==1.26.4",
    ],
)
def test_look_alike_numbers_and_reserved_ranges_do_not_fire(text):
    assert _types(text) == set()


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "aws_access_key"),
        ("token ghp_aBcdEfGhIjKlMnOpQrStUvWxYz0123456789", "github_token"),
        ("key sk-proj-abcdefghij0123456789KLMNOP", "openai_key"),
        ("xoxb-123456789012-abcdefghijkl", "slack_token"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----", "private_key"),
        ("postgres://admin:s3cr3tPass@db.internal:5432/app", "url_credentials"),
        ("api_key = 'f9A8s7D6f5G4h3J2k1L0'", "credential_assignment"),
        (
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            "jwt",
        ),
    ],
)
def test_secret_formats_are_found(text, kind):
    assert kind in {f.type for f in find_secrets(text) if f.score >= 0.5}


@pytest.mark.parametrize(
    "text", ["password = <your-password>", "api_key: ${API_KEY}", "token = xxxxxxxxxx", "secret = changeme"]
)
def test_placeholder_credentials_are_not_secrets(text):
    assert find_secrets(text) == []


def test_entropy_of_repeated_and_varied_strings():
    assert shannon_entropy("aaaa") == 0.0
    assert shannon_entropy("abcd") == pytest.approx(2.0)


def test_redaction_uses_typed_numbered_placeholders_and_reuses_them_for_equal_values():
    text = "a@x.io and b@y.io wrote; a@x.io again"
    redacted, legend = redact(text, find_pii(text))
    assert redacted == "[EMAIL_1] and [EMAIL_2] wrote; [EMAIL_1] again"
    assert legend == {"[EMAIL_1]": "email", "[EMAIL_2]": "email"}


def test_overlapping_findings_keep_the_higher_score():
    text = "number 4111111111111111"
    findings = [Finding("phone", 7, 23, 0.6), Finding("credit_card", 7, 23, 0.97)]
    assert redact(text, findings)[0] == "number [CREDIT_CARD_1]"


def test_email_written_out_with_at_and_dot_in_brackets_is_found():
    found = find_pii("write to john.doe [at] acme-corp [dot] com or jane(at)corp(dot)io today")
    assert [(f.type, f.score) for f in found] == [("email", 0.9), ("email", 0.9)]
    assert find_pii("meet me at the cafe, dot the i's") == []


def test_lowercase_iban_is_found_and_checked():
    assert [f.type for f in find_pii("iban de89370400440532013000 please")] == ["iban"]
    assert find_pii("iban de89370400440532013001 please") == []


def test_spaced_iban_followed_by_a_short_word_is_found_whole():
    # the optional last group of 1-3 characters used to take " by" and fail mod-97
    text = "pay ES91 2100 0418 4502 0005 1332 by friday; GB82 WEST 1234 5698 7654 32 too"
    assert _spans(text) == [
        ("iban", "ES91 2100 0418 4502 0005 1332"),
        ("iban", "GB82 WEST 1234 5698 7654 32"),
    ]


def _spans(text: str) -> list[tuple[str, str]]:
    return [(f.type, text[f.start : f.end]) for f in find_pii(text) if f.score >= 0.5]


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("appelle-moi au 06 12 34 56 78 demain", "06 12 34 56 78"),
        ("mon portable : 07.98.76.54.32", "07.98.76.54.32"),
        ("WhatsApp +33 6 12 34 56 78 after six", "+33 6 12 34 56 78"),
    ],
)
def test_french_mobile_numbers_are_phones_without_a_cue_word(text, number):
    assert _spans(text) == [("phone", number)]


def test_bare_north_american_number_is_a_phone_but_integer_limits_and_n11_codes_are_not():
    assert _spans("reach Jane at 4155550132 tonight") == [("phone", "4155550132")]
    assert _spans("INT_MAX is 2147483647 and UINT_MAX 4294967295") == []
    assert _spans("the code 4115550132 has an N11 area") == []
    assert _spans("epoch 1701234567 in seconds") == []
    assert _spans("order no. 4155550132 shipped") == []
    assert _spans("xoxb-17653672481-19874698323-pdFZKVeT") == []


def test_card_number_written_with_dots_is_found_and_floats_are_not():
    assert _spans("my card 4111.1111.1111.1111, thanks") == [("credit_card", "4111.1111.1111.1111")]
    assert _spans("amex 3782.822463.10005 please") == [("credit_card", "3782.822463.10005")]
    assert _spans("pi is 3.1415926535897932 and e 2.718281828459045") == []


def test_spaced_ssn_needs_a_cue_word():
    assert _spans("social security 123 45 6789") == [("national_id", "123 45 6789")]
    assert _spans("rows 123 45 6789 were read") == []


def test_cvv_and_expiry_are_redacted_beside_the_card_number():
    text = "card 4111 1111 1111 1111 exp 12/27 cvv 123"
    assert _spans(text) == [
        ("credit_card", "4111 1111 1111 1111"),
        ("card_expiry", "12/27"),
        ("card_cvv", "123"),
    ]
    redacted, legend = redact(text, find_pii(text, ["credit_card"]))
    assert redacted == "card [CREDIT_CARD_1] exp [CARD_EXPIRY_1] cvv [CARD_CVV_1]"
    assert _spans("expires in 12 days, see section 3.2") == []


def test_aws_secret_access_key_is_a_secret_and_git_hashes_are_not():
    key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    for text in (f"my aws secret is {key}", f"AKIAIOSFODNN7EXAMPLE {key}"):
        found = [(f.type, text[f.start : f.end]) for f in find_secrets(text) if f.score >= 0.5]
        assert ("aws_secret_key", key) in found
    assert find_secrets("commit 9fceb02d0ae598e95dc970b74767f19372d61af8 fixed it") == []


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("call 924.321.9489x24115 after lunch", "924.321.9489x24115"),
        ("office 555-123-4567 ext. 12, ask for Ann", "555-123-4567 ext. 12"),
        ("Tel. (02668) 587840 oder per Post", "(02668) 587840"),
    ],
)
def test_phone_extensions_and_trunk_prefixed_area_codes_are_found(text, number):
    assert _spans(text) == [("phone", number)]


def test_years_in_parentheses_and_dimensions_are_not_phones():
    for text in ["in (2023) 123456 cases were seen", "a 12 x 34 grid", "built for 3.11.2 x86"]:
        assert _spans(text) == []


def test_twelve_digit_maestro_numbers_are_cards_only_beside_a_card_word():
    # Maestro is the one network issuing 12-digit numbers (Faker plants them); both pass Luhn
    assert "credit_card" in _types("The card number is 501812345673.")
    assert "credit_card" in _types("debit card 6304 1234 5674")
    assert _types("order id 501812345673 shipped") == set()  # no card word: a Luhn-valid id, not a card
    assert _types("card 123456789015") == set()  # Luhn-valid, 12 digits, but no Maestro prefix
