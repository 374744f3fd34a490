"""Built-in seq2seq tasks have one right answer each; the pairs dataset pads, splits and validates files."""

import datetime as dt

import pytest

from genforge.core.errors import ConfigError, DataError
from genforge.data import load_dataset
from genforge.data.seq2seq_tasks import (
    DATE_STYLES,
    generate_pairs,
    number_words,
    ordinal,
    roman_numeral,
)


def test_number_words_examples():
    assert number_words(0) == "zero"
    assert number_words(42) == "forty-two"
    assert number_words(115) == "one hundred fifteen"
    assert number_words(40213) == "forty thousand two hundred thirteen"
    assert number_words(999999) == "nine hundred ninety-nine thousand nine hundred ninety-nine"


def test_roman_numerals_examples():
    assert [roman_numeral(n) for n in (1, 4, 9, 14, 40, 90, 400, 1994, 2021, 3999)] == [
        "I",
        "IV",
        "IX",
        "XIV",
        "XL",
        "XC",
        "CD",
        "MCMXCIV",
        "MMXXI",
        "MMMCMXCIX",
    ]


def test_every_date_style_names_the_day_unambiguously():
    day = dt.date(2021, 3, 3)
    texts = [style(day) for style in DATE_STYLES]
    assert "the 3rd of March 2021" in texts and "03.03.2021" in texts
    assert [ordinal(n) for n in (1, 2, 3, 11, 12, 13, 21, 22, 23)] == [
        "1st",
        "2nd",
        "3rd",
        "11th",
        "12th",
        "13th",
        "21st",
        "22nd",
        "23rd",
    ]


def test_generated_date_targets_are_the_iso_form_of_the_source():
    for source, target in generate_pairs("dates", 300):
        day = dt.date.fromisoformat(target)
        assert str(day.year) in source
        assert source.lower() in {style(day).lower() for style in DATE_STYLES}


def test_generation_is_seeded_and_sources_are_unique():
    pairs = generate_pairs("numbers", 500)
    assert pairs == generate_pairs("numbers", 500)
    assert len({s for s, _ in pairs}) == 500
    assert len(generate_pairs("roman", 10**6)) == 3999  # every year exactly once


def test_pairs_dataset_pads_targets_with_bos_and_eos(tmp_path):
    data = load_dataset("seq2seq:roman", {"num_examples": 200}, artifacts=tmp_path)
    info = data.info
    assert info.kind == "pairs" and (tmp_path / "tokenizer.json").exists()
    target = data.split("train")["target"][0].tolist()
    assert target[0] == info.extra["bos_id"] and info.extra["eos_id"] in target
    source = data.extra["decode"](data.split("train")["x"][0].tolist())
    assert data.extra["decode"](target) == roman_numeral(int(source))
    assert sum(data.size(s) for s in ("train", "val", "test")) == 200


def test_a_tab_separated_file_becomes_a_dataset(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("".join(f"w{i}\tW{i}\n" for i in range(20)), encoding="utf-8")
    data = load_dataset(f"seq2seq:file:{path}")
    assert sum(data.size(s) for s in ("train", "val", "test")) == 20


def test_bad_pairs_files_and_tasks_are_clear_errors(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("one\tuno\ntwo without a tab\nthree\ttres\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.tsv:2"):
        load_dataset(f"seq2seq:file:{bad}")
    with pytest.raises(DataError, match="unknown seq2seq task"):
        load_dataset("seq2seq:poetry")
    with pytest.raises(DataError, match="does not exist"):
        load_dataset(f"seq2seq:file:{tmp_path / 'nope.tsv'}")


def test_num_examples_sets_how_many_pairs_a_task_generates():
    sizes = load_dataset("seq2seq:dates", {"num_examples": 50}).describe()["sizes"]
    assert sizes == {"train": 40, "val": 5, "test": 5}
    assert sum(load_dataset("seq2seq:roman").describe()["sizes"].values()) == 3999  # default: every year once


def test_num_examples_beyond_a_task_or_for_a_file_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="only 3,999 distinct examples"):
        load_dataset("seq2seq:roman", {"num_examples": 5000})
    with pytest.raises(ConfigError, match="greater than or equal to 10"):
        load_dataset("seq2seq:dates", {"num_examples": 5})
    path = tmp_path / "pairs.tsv"
    path.write_text("".join(f"w{i}\tW{i}\n" for i in range(20)), encoding="utf-8")
    with pytest.raises(DataError, match="pairs file is used whole"):
        load_dataset(f"seq2seq:file:{path}", {"num_examples": 10})
