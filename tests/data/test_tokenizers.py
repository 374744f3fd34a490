"""Character-level and byte-level BPE tokenizers: exact round trips, byte/char accounting, persistence."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genforge.core.errors import CheckpointError, ConfigError, DataError
from genforge.data.tokenizers import (
    END_OF_TEXT,
    SEQ2SEQ_SPECIALS,
    BPETokenizer,
    CharTokenizer,
    fit_or_load,
    load_run_tokenizer,
    load_tokenizer,
    make_tokenizer,
)

TRAIN = [
    "The government said on Tuesday that the budget would be tabled next week.",
    "Hundreds of people have been forced to vacate their homes as strong winds pushed a bushfire.",
    "Der Zug fährt um 8:15 Uhr ab — naïve café, 東京, emoji 🎉 and tabs\tand newlines\n.",
] * 5


@pytest.fixture(scope="module")
def char_tok():
    return CharTokenizer().fit(TRAIN, source="unit")


@pytest.fixture(scope="module")
def bpe_tok():
    return BPETokenizer(vocab_size=400).fit(TRAIN, source="unit")


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=80))
def test_char_tokenizer_round_trips_any_unicode_text(char_tok, text):
    assert char_tok.decode(char_tok.encode(text)) == text


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=80))
def test_bpe_tokenizer_round_trips_any_unicode_text(bpe_tok, text):
    assert bpe_tok.decode(bpe_tok.encode(text)) == text


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=60))
def test_token_byte_and_char_counts_sum_to_the_text_length(char_tok, bpe_tok, text):
    for tok in (char_tok, bpe_tok):
        n_bytes, n_chars = tok.token_byte_counts()
        ids = tok.encode(text)
        assert sum(n_bytes[i] for i in ids) == len(text.encode("utf-8"))
        assert sum(n_chars[i] for i in ids) == len(text)


def test_char_tokenizer_spells_unseen_characters_as_utf8_bytes(char_tok):
    ids = char_tok.encode("Ω")
    assert len(ids) == len("Ω".encode()) and all(char_tok.is_byte_token(i) for i in ids)
    assert not char_tok.is_byte_token(char_tok.encode("T")[0])


def test_special_tokens_take_the_first_ids():
    tok = CharTokenizer(SEQ2SEQ_SPECIALS).fit(["abc"])
    assert [tok.token_id(t) for t in SEQ2SEQ_SPECIALS] == [0, 1, 2]
    assert CharTokenizer().fit(["abc"]).token_id(END_OF_TEXT) == 0


def test_bpe_merges_make_fewer_tokens_than_characters(bpe_tok, char_tok):
    text = "The government said that the budget would be tabled"
    assert len(bpe_tok.encode(text)) < len(char_tok.encode(text))


def test_bpe_training_is_deterministic():
    a = BPETokenizer(vocab_size=350).fit(TRAIN).to_dict()
    b = BPETokenizer(vocab_size=350).fit(TRAIN).to_dict()
    assert a == b


def test_save_and_load_give_the_same_ids(tmp_path, char_tok, bpe_tok):
    for tok in (char_tok, bpe_tok):
        path = tok.save(tmp_path / f"{tok.kind}.json")
        again = load_tokenizer(path)
        text = "The café 🎉 tabled\tbudget"
        assert again.kind == tok.kind and again.encode(text) == tok.encode(text)
        assert again.trained_on_ == tok.trained_on_
        assert again.digest() == tok.digest()


def test_fit_or_load_reuses_its_own_file_and_refuses_another_runs(tmp_path):
    path = tmp_path / "tokenizer.json"
    first = fit_or_load(path, CharTokenizer(), TRAIN, source="unit")
    assert path.exists()
    assert fit_or_load(path, CharTokenizer(), TRAIN, source="unit").to_dict() == first.to_dict()
    with pytest.raises(DataError, match="another run"):
        fit_or_load(path, CharTokenizer(), ["a different corpus"], source="other")
    with pytest.raises(DataError, match="bpe"):
        fit_or_load(path, BPETokenizer(300), TRAIN, source="unit")


def test_a_run_directory_gives_back_only_the_tokenizer_its_model_was_trained_with(tmp_path, char_tok):
    char_tok.save(tmp_path / "tokenizer.json")
    same = load_run_tokenizer(tmp_path, expected_digest=char_tok.digest(), vocab_size=char_tok.vocab_size)
    assert same.encode("The café") == char_tok.encode("The café")
    other = CharTokenizer().fit([text.upper() for text in TRAIN], source="other")
    with pytest.raises(CheckpointError, match="another run"):
        load_run_tokenizer(tmp_path, expected_digest=other.digest(), vocab_size=char_tok.vocab_size)
    with pytest.raises(
        CheckpointError, match="another run"
    ):  # runs without a digest: the size still has to fit
        load_run_tokenizer(tmp_path, expected_digest=None, vocab_size=char_tok.vocab_size + 1)
    with pytest.raises(CheckpointError, match="has no tokenizer.json"):
        load_run_tokenizer(tmp_path / "elsewhere", expected_digest=None, vocab_size=10)


def test_bad_inputs_raise_one_line_errors(tmp_path):
    with pytest.raises(DataError, match="empty"):
        CharTokenizer().fit(["", ""])
    with pytest.raises(ConfigError, match="at least"):
        BPETokenizer(vocab_size=100)
    with pytest.raises(ConfigError, match="char"):
        make_tokenizer("char", vocab_size=500)
    with pytest.raises(ConfigError, match="not fitted"):
        CharTokenizer().encode("x")
    (tmp_path / "junk.json").write_text('{"format": "something else"}')
    with pytest.raises(CheckpointError, match="not a genforge tokenizer"):
        load_tokenizer(tmp_path / "junk.json")
    with pytest.raises(ConfigError, match="outside"):
        CharTokenizer().fit(["ab"]).decode([10_000])
