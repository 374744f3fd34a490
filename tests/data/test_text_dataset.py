"""The text: dataset: corpora, windows, tokenizer saved with the run, and clear errors on bad corpora."""

import json

import pytest
import torch

from genforge.core.errors import DataError
from genforge.data import load_dataset
from genforge.data.text import load_corpus

PARAGRAPHS = [f"Paragraph {i} says the government met the union on day {i}. Ünïcödé ok." for i in range(12)]


@pytest.fixture()
def corpus_file(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("\n\n".join(PARAGRAPHS), encoding="utf-8")
    return path


def test_windows_cover_every_validation_token_exactly_once(corpus_file):
    data = load_dataset(f"text:file:{corpus_file}", {"block_size": 16})
    tokenizer = data.extra["tokenizer"]
    val = data.split("val")
    targets = sum(int(n) - 1 for n in val["length"])
    texts = load_corpus(f"file:{corpus_file}").texts("val")
    stream_length = 1 + sum(len(tokenizer.encode(t)) + 1 for t in texts)  # <eot> doc <eot> doc … <eot>
    assert targets == stream_length - 1
    assert val["x"].shape[1] == 17 and data.info.shape == (17,)
    assert data.info.extra["context_length"] == 16


def test_windows_decode_back_to_the_corpus_text(corpus_file):
    data = load_dataset(f"text:file:{corpus_file}", {"block_size": 2000})
    row, length = data.split("train")["x"][0], int(data.split("train")["length"][0])
    text = data.extra["decode"](row[:length].tolist())
    train_docs = load_corpus(f"file:{corpus_file}").texts("train")
    assert text == "<|endoftext|>" + "<|endoftext|>".join(train_docs) + "<|endoftext|>"


def test_tokenizer_is_saved_in_the_run_directory_and_reloaded(tmp_path, corpus_file):
    spec = f"text:file:{corpus_file}"
    first = load_dataset(spec, {"tokenizer": "bpe", "vocab_size": 300, "block_size": 16}, artifacts=tmp_path)
    saved = json.loads((tmp_path / "tokenizer.json").read_text())
    assert saved["kind"] == "bpe" and saved["trained_on"]["source"] == f"file:{corpus_file}"
    again = load_dataset(spec, {"tokenizer": "bpe", "vocab_size": 300, "block_size": 16}, artifacts=tmp_path)
    assert torch.equal(first.split("test")["x"], again.split("test")["x"])


def test_a_tokenizer_from_another_run_is_a_clear_error(tmp_path, corpus_file):
    load_dataset("text:lee-test", artifacts=tmp_path)
    with pytest.raises(DataError, match="another run"):
        load_dataset(f"text:file:{corpus_file}", artifacts=tmp_path)


def test_gensim_corpora_load_including_the_latin1_one():
    lee_test = load_corpus("lee-test")
    assert len(lee_test.documents) == 50 and any("£" in d for d in lee_test.documents)
    assert len(load_corpus("lee").documents) == 300


def test_bad_corpora_raise_data_errors(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("   \n\n  ")
    with pytest.raises(DataError, match="empty"):
        load_dataset(f"text:file:{empty}")
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    with pytest.raises(DataError, match="not UTF-8"):
        load_dataset(f"text:file:{latin}")
    with pytest.raises(DataError, match="does not exist"):
        load_dataset(f"text:file:{tmp_path / 'missing.txt'}")
    with pytest.raises(DataError, match="unknown text corpus"):
        load_dataset("text:nonsense")
    with pytest.raises(DataError, match="bpe only"):
        load_dataset("text:lee-test", {"vocab_size": 500})


def test_a_corpus_too_small_to_split_says_so_and_evaluates_on_its_training_text(tmp_path, caplog):
    path = tmp_path / "one.txt"
    path.write_text("A single short document.", encoding="utf-8")
    corpus = load_corpus(f"file:{path}")
    assert corpus.splits == {"train": [0], "val": [0], "test": [0]}
    assert "too few to split" in caplog.text and "fit, not generalization" in caplog.text


def test_a_file_given_as_a_directory_and_back_name_the_right_spec(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("text", encoding="utf-8")
    with pytest.raises(DataError, match="is a file: use text:file:"):
        load_corpus(f"dir:{path}")
    with pytest.raises(DataError, match="is a directory: use text:dir:"):
        load_corpus(f"file:{tmp_path}")
