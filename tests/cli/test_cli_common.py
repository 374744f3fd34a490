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
