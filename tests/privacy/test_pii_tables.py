"""PII in tables: columns flagged by their values and names, and redacted copies."""

import csv
import json

import pytest

from genforge.cli.main import main
from genforge.core.errors import ConfigError
from genforge.privacy.pii import name_hint, redact_table, scan_table

ROWS = [
    ["patient_name", "dob", "contact", "notes", "score"],
    ["Ada Byron", "1815-12-10", "ada@lovelace.org", "card 4111 1111 1111 1111 on file", "3"],
    ["Alan Turing", "1912-06-23", "+44 20 7946 0958", "no remarks", "5"],
    ["Grace Hopper", "1906-12-09", "grace@navy.mil", "call +1 202 555 0143", "4"],
]


@pytest.fixture
def table_path(tmp_path):
    path = tmp_path / "people.csv"
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows(ROWS)
    return path


def test_scan_flags_columns_by_values_and_by_names(table_path):
    result = scan_table(table_path)
    by_column = {c["column"]: c for c in result["columns"]}
    assert by_column["patient_name"]["name_hint"] == "person_name"
    assert by_column["dob"]["name_hint"] == "birth_date"
    assert by_column["contact"]["cells_with_pii"] == 3 and set(by_column["contact"]["types"]) == {
        "email",
        "phone",
    }
    assert by_column["notes"]["types"] == {"credit_card": 1, "phone": 1}
    assert not by_column["score"]["flagged"]
    assert result["flagged"] == ["patient_name", "dob", "contact", "notes"]


def test_name_hints_match_whole_words_only():
    assert name_hint("first_name") == "person_name" and name_hint("Email") == "email"
    assert name_hint("filename_count") is None and name_hint("telemetry") is None


def test_mask_redaction_removes_every_flagged_value_and_keeps_the_rest(table_path, tmp_path):
    out = tmp_path / "clean.csv"
    result = redact_table(table_path, out, strategy="mask")
    text = out.read_text()
    for secret in ("Ada Byron", "1815-12-10", "ada@lovelace.org", "4111 1111 1111 1111", "+1 202 555 0143"):
        assert secret not in text
    rows = list(csv.reader(out.open()))
    assert rows[0] == ROWS[0] and [r[4] for r in rows[1:]] == ["3", "5", "4"]
    assert rows[1][0] == "[PERSON_NAME]" and rows[1][2] == "[EMAIL_1]" and rows[2][3] == "no remarks"
    assert result["cells_changed"] == 11


def test_hash_redaction_keeps_equal_values_equal(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("email,n\na@corp.io,1\nb@corp.io,2\na@corp.io,3\n")
    redact_table(path, tmp_path / "h.csv", strategy="hash")
    rows = list(csv.reader((tmp_path / "h.csv").open()))
    assert rows[1][0] == rows[3][0] != rows[2][0] and "@" not in rows[1][0]


def test_cli_scan_json_and_bad_output_path(table_path, tmp_path, capsys):
    assert main(["pii", "scan", str(table_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == 3
    with pytest.raises(ConfigError, match="extensions"):
        redact_table(table_path, tmp_path / "clean.txt")


FAKE_ROWS = [
    ["first_name", "email", "notes", "n"],
    ["Ada", "ada@lovelace.org", "card 4111 1111 1111 1111, call +1 202 555 0143", "1"],
    ["Alan", "alan@turing.org", "IBAN GB82 WEST 1234 5698 7654 32 from 8.8.8.8", "2"],
    ["Ada", "ada@lovelace.org", "ssn 123-45-6789, call +1 202 555 0143", "3"],
]


def _faked(tmp_path, seed, name="fake.csv"):
    path = tmp_path / "people.csv"
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows(FAKE_ROWS)
    result = redact_table(path, tmp_path / name, strategy="fake", seed=seed)
    return result, list(csv.reader((tmp_path / name).open()))


def test_fake_redaction_is_type_aware_and_keeps_equal_values_equal(tmp_path):
    from genforge.guard.checksums import iban_valid, luhn_valid
    from genforge.guard.pii import find_pii

    result, rows = _faked(tmp_path, seed=0)
    text = (tmp_path / "fake.csv").read_text()
    for secret in (
        "Ada",
        "ada@lovelace.org",
        "4111 1111 1111 1111",
        "+1 202 555 0143",
        "GB82",
        "123-45-6789",
    ):
        assert secret not in text
    assert rows[0] == FAKE_ROWS[0] and [r[3] for r in rows[1:]] == ["1", "2", "3"]
    assert rows[1][:2] == rows[3][:2] and rows[1][:2] != rows[2][:2]  # joins survive, people stay apart
    assert " " not in rows[1][0]  # a first-name column gets first names
    assert rows[1][1].endswith(("@example.org", "@example.com", "@example.net"))
    found = {f.type: rows[r][2][f.start : f.end] for r in (1, 2, 3) for f in find_pii(rows[r][2])}
    assert luhn_valid(found["credit_card"].replace(" ", "")) and len(found["credit_card"]) == 16
    assert iban_valid(found["iban"]) and found["phone"].startswith("+1 ") and " 555 01" in found["phone"]
    assert {"national_id", "ip_address"} <= set(found)
    phones = [f for r in (1, 3) for f in find_pii(rows[r][2]) if f.type == "phone"]
    assert (
        len({rows[1][2][phones[0].start : phones[0].end], rows[3][2][phones[1].start : phones[1].end]}) == 1
    )
    assert result["distinct_values_faked"] == 9 and result["seed"] == 0


def test_fake_redaction_is_deterministic_with_the_seed(tmp_path):
    _, first = _faked(tmp_path, seed=7, name="a.csv")
    _, again = _faked(tmp_path, seed=7, name="b.csv")
    _, other = _faked(tmp_path, seed=8, name="c.csv")
    assert first == again and first != other


def test_cli_fake_redaction_and_a_bad_locale_is_one_line(table_path, tmp_path, capsys):
    out = tmp_path / "f.csv"
    assert (
        main(["pii", "redact", str(table_path), "--out", str(out), "--strategy", "fake", "--seed", "3"]) == 0
    )
    assert "Ada Byron" not in out.read_text()
    capsys.readouterr()
    bad = ["pii", "redact", str(table_path), "--out", str(tmp_path / "g.csv"), "--strategy", "fake"]
    assert main([*bad, "--locale", "xx_YY"]) == 2
    err = capsys.readouterr().err
    assert "no locale 'xx_YY'" in err and err.count("\n") == 1 and not (tmp_path / "g.csv").exists()
