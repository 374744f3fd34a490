"""digits-captions: captions are a pure function of the pixels, say what the pixels show, and prompts
outside their vocabulary are one clear error."""

import pytest
import torch

from genforge.core.errors import DataError
from genforge.data import load_dataset
from genforge.data.captions import (
    MAX_WORDS,
    VOCAB,
    caption_words,
    class_prompts,
    decode_caption,
    encode_caption,
    pixel_statistics,
)


def test_captions_name_the_digit_and_are_the_same_on_every_build():
    first, second = load_dataset("digits-captions"), load_dataset("digits-captions")
    for split in ("train", "val", "test"):
        assert torch.equal(first.split(split)["tokens"], second.split(split)["tokens"])
    data = first.split("train")
    assert data["tokens"].shape == (1257, MAX_WORDS)
    for row, label in zip(data["tokens"][:50], data["y"][:50], strict=True):
        words = decode_caption(row.tolist()).split()
        assert words[-1] == class_prompts()[int(label)].split()[-1]
        assert words[0] == ("an" if words[1] in ("upright", "eight") else "a")


def test_digits_captions_split_is_the_digits_split():
    plain, captioned = load_dataset("digits"), load_dataset("digits-captions")
    for split in ("train", "val", "test"):
        assert torch.equal(plain.split(split)["x"], captioned.split(split)["x"])
        assert torch.equal(plain.split(split)["y"], captioned.split(split)["y"])


def test_pixel_statistics_of_a_hand_made_image():
    img = torch.zeros(2, 1, 8, 8, dtype=torch.uint8)
    img[0, 0, 1:7, 3] = 16  # a vertical bar: upright, 6 rows x 1 column
    for row in range(6):  # a diagonal: one column to the right per row down
        img[1, 0, 1 + row, 1 + row] = 8
    ink, slant, area = pixel_statistics(img).T.tolist()
    assert ink == [96.0, 48.0]
    assert slant == pytest.approx([0.0, 1.0])
    assert area == [6.0, 36.0]


def test_extreme_digits_of_a_class_get_the_attribute_words():
    x = torch.zeros(3, 1, 8, 8, dtype=torch.uint8)
    x[0, 0, 2:6, 3] = 4  # little ink
    x[1, 0, 2:6, 3] = 8
    x[2, 0, 2:6, 3] = 16  # much ink
    words = caption_words(x, torch.tensor([1, 1, 1]))
    assert "thin" in words[0] and "thick" in words[2]
    assert "thin" not in words[1] and "thick" not in words[1]


def test_prompts_round_trip_and_unknown_words_are_named():
    ids = encode_caption("A thick slanted seven")
    assert decode_caption(ids) == "a thick slanted seven"
    assert len(ids) == MAX_WORDS and set(VOCAB[i] for i in ids if i) <= set(VOCAB)
    with pytest.raises(DataError, match="'purple'.*not in the captions' vocabulary"):
        encode_caption("a purple seven")
    with pytest.raises(DataError, match="empty"):
        encode_caption("  ")
    with pytest.raises(DataError, match="at most"):
        encode_caption("a thin thin thin thin seven")
