"""User and document text printed by the CLI is data, never rich markup."""

import subprocess
import sys

from genforge.cli.common import console, err_console, table

MARKUP_LIKE = "[/time] [a-z] [/bold] [link=http://example.com]hidden[/link] :smile:"


def test_console_and_tables_print_markup_like_text_as_written(capsys):
    console().print(table(MARKUP_LIKE, ["text"], [[MARKUP_LIKE]]))
    console().print(MARKUP_LIKE)
    err_console().print(MARKUP_LIKE)
    out, err = capsys.readouterr()
    assert out.count(MARKUP_LIKE) == 3
    assert MARKUP_LIKE in err


def test_guard_check_of_markup_like_text_prints_it_without_a_traceback():
    out = subprocess.run(
        [sys.executable, "-m", "genforge.cli.main", "guard", "check", MARKUP_LIKE],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in out.stderr
    assert "MarkupError" not in out.stderr and out.returncode in (0, 1, 2, 3), out.stderr


def _render(t, width: int) -> str:
    from rich.console import Console

    out = Console(width=width, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    out.print(t)
    return out.export_text()


def test_tables_fit_80_columns_keep_ids_whole_and_never_ellipsize():
    ids = ["20261202-083312-vae-digits", "20261202-083312-pixelcnn-folder-images-long"]
    rows = [[ids[0], "vae", "digits", 200, 44337, "bits_per_dim_iwae 2.019"]]
    rows.append([ids[1], "pixelcnn", "folder:/home/user/some/long/path/images", 20000, 97521, "bits 1.7"])
    columns = ["id", "family", "data", "step", "params", "eval"]
    text = _render(table("runs", columns, rows, optional=(4,), width=80), 80)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in text
    assert all(any(i in line for line in lines) for i in ids)  # each id whole on one line
    data_column = "".join(line.split("│")[3].strip() for line in lines if line.startswith("│"))
    assert "folder:/home/user/some/long/path/images" in data_column  # wrapped, not cut


def test_optional_columns_are_dropped_before_short_values_are_broken():
    columns = ["method", "score", "a", "b", "c", "d", "e", "f", "seconds"]
    rows = [["fasttext-cbow-subword", 0.1235, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 12.34567]]
    text = _render(table(None, columns, rows, optional=(8,), width=70), 70)
    assert "seconds" not in text and "0.1235" in text and "fasttext-cbow-subword" in text
    assert max(len(line) for line in text.splitlines()) <= 70
