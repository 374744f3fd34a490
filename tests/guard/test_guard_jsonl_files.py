"""User-supplied JSON-lines files (labelled guard sets, RAG QA sets) are read strictly by one helper."""

from __future__ import annotations

import pytest

from genforge.cli.main import main
from genforge.core.errors import DataError
from genforge.core.io import read_jsonl_strict
from genforge.guard.evaluate import load_labelled
from genforge.rag.evaluate import load_qa


def test_records_come_with_their_line_numbers_and_blank_lines_are_skipped(tmp_path):
    path = tmp_path / "set.jsonl"
    path.write_text('{"a": 1}\n\n  \n{"a": 2}\n')
    assert read_jsonl_strict(path) == [(1, {"a": 1}), (4, {"a": 2})]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"a": 1}\n{"a": \n', r"set\.jsonl:2 is not JSON"),
        ('{"a": 1}\n[1, 2]\n', r"set\.jsonl:2 is not a JSON object"),
    ],
)
def test_a_bad_line_is_an_error_naming_file_and_line(tmp_path, content, message):
    path = tmp_path / "set.jsonl"
    path.write_text(content)
    with pytest.raises(DataError, match=message):
        read_jsonl_strict(path)


def test_missing_and_non_utf8_files_are_errors_naming_their_role(tmp_path):
    with pytest.raises(DataError, match=r"^QA file .*none\.jsonl does not exist$"):
        read_jsonl_strict(tmp_path / "none.jsonl", what="QA file")
    latin1 = tmp_path / "latin1.jsonl"
    latin1.write_bytes('{"text": "café"}\n'.encode("latin-1"))
    with pytest.raises(DataError, match="labelled file .* is not UTF-8"):
        load_labelled(latin1)


def test_both_loaders_use_the_strict_reader(tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_text('{"text": "hi", "expected": [], "question": "q?", "sources": ["a.md"]}\nnot json\n')
    for loader in (load_labelled, load_qa):
        with pytest.raises(DataError, match=r"mixed\.jsonl:2 is not JSON"):
            loader(path)


def test_guard_eval_on_a_broken_file_prints_one_error_line_and_exits_2(tmp_path, capsys):
    path = tmp_path / "set.jsonl"
    path.write_text('{"text": "fine", "expected": []}\n{"text": "no expected list"}\n')
    assert main(["guard", "eval", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "set.jsonl:2 needs 'text' and an 'expected' list" in err
