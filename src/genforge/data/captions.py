"""``digits-captions``: scikit-learn's 8x8 digits, each with a templated caption of what it shows.

A caption names the digit and up to three attributes measured from its pixels: ``thin``/``thick``
(total ink), ``upright``/``slanted`` (the absolute ink-weighted slope of columns over rows) and
``small``/``large`` (the area of the bounding box of pixels at level >= 4). Each attribute is said only
for the outer thirds of the digit's own class (a thick one has less ink than a thin eight), so about a
third of the digits of a class get each word of a pair and a third say nothing about it:
``"a thick slanted seven"``, ``"an upright two"``, ``"an eight"``. The captions are a pure function of the
images, so splits, vocabulary and tokens are the same on every machine.

Captions travel as token ids ``(N, MAX_WORDS)`` (0 = padding) in the split key ``"tokens"`` beside
``x`` and ``y``; the vocabulary is fixed (:data:`VOCAB`) and :func:`encode_caption` turns a user's
prompt into ids, refusing words the captions never use. The data kind stays ``image`` so that every
image family trains on it unchanged; :class:`~genforge.data.info.DataInfo` ``extra`` carries the
vocabulary for the families that read captions (CLIP, text-conditioned diffusion).
"""

from __future__ import annotations

from pathlib import Path

import torch

from genforge.core.errors import DataError
from genforge.data import Dataset, register_dataset, split_indices
from genforge.data.images import SPLIT_SEED, ImageOptions, _augmenter, digits_tensors
from genforge.data.info import DataInfo

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ATTRIBUTES = (("thin", "thick"), ("upright", "slanted"), ("small", "large"))
VOCAB = ("<pad>", "a", "an", *(w for pair in ATTRIBUTES for w in pair), *DIGIT_WORDS)
MAX_WORDS = 2 + len(ATTRIBUTES)  # "a"/"an", the attributes, the digit
VOWEL_SOUND = ("upright", "eight")
INK_LEVEL = 4  # pixels at or above this level (of 16) count for the bounding box


def pixel_statistics(x: torch.Tensor) -> torch.Tensor:
    """(N, 3) float64: total ink, absolute slant (columns per row) and bounding-box area of images
    ``(N, 1, H, W)`` of integer levels."""
    img = x[:, 0].double()
    n, h, w = img.shape
    rows = torch.arange(h, dtype=torch.float64).view(1, h, 1)
    cols = torch.arange(w, dtype=torch.float64).view(1, 1, w)
    mass = img.sum((1, 2)).clamp_min(1e-9)
    mr = (img * rows).sum((1, 2)) / mass
    mc = (img * cols).sum((1, 2)) / mass
    dr, dc = rows - mr.view(n, 1, 1), cols - mc.view(n, 1, 1)
    slope = (img * dr * dc).sum((1, 2)) / (img * dr * dr).sum((1, 2)).clamp_min(1e-9)
    ink = x[:, 0] >= INK_LEVEL
    any_row, any_col = ink.any(2), ink.any(1)
    height = _extent(any_row)
    width = _extent(any_col)
    return torch.stack([img.sum((1, 2)), slope.abs(), (height * width).double()], dim=1)


def _extent(present: torch.Tensor) -> torch.Tensor:
    """Length of the span from the first to the last True along dim 1 (0 when none)."""
    idx = torch.arange(present.shape[1]).expand_as(present)
    first = torch.where(present, idx, present.shape[1]).min(1).values
    last = torch.where(present, idx, -1).max(1).values
    return (last - first + 1).clamp_min(0)


def caption_words(x: torch.Tensor, y: torch.Tensor) -> list[list[str]]:
    """The caption of each image as words, attributes judged against the image's own class's terciles."""
    stats = pixel_statistics(x)
    words: list[list[str]] = [[] for _ in range(len(x))]
    for attr, (low_word, high_word) in enumerate(ATTRIBUTES):
        for label in range(len(DIGIT_WORDS)):
            ids = (y == label).nonzero().flatten()
            if len(ids) == 0:
                continue
            values = stats[ids, attr]
            low, high = torch.quantile(values, torch.tensor([1 / 3, 2 / 3], dtype=torch.float64))
            for i, v in zip(ids.tolist(), values.tolist(), strict=True):
                if v < low:
                    words[i].append(low_word)
                elif v > high:
                    words[i].append(high_word)
    for i, label in enumerate(y.tolist()):
        words[i].append(DIGIT_WORDS[label])
        words[i].insert(0, article(words[i][0]))
    return words


def article(word: str) -> str:
    """ "an" before the words of the vocabulary that open with a vowel sound ("an eight", "a one")."""
    return "an" if word in VOWEL_SOUND else "a"


def encode_words(words: list[str]) -> list[int]:
    """Token ids of caption words padded to :data:`MAX_WORDS`."""
    index = {w: i for i, w in enumerate(VOCAB)}
    return [index[w] for w in words] + [0] * (MAX_WORDS - len(words))


def encode_caption(text: str) -> list[int]:
    """A user's prompt (``"a thick slanted seven"``) as padded token ids; words outside the captions'
    vocabulary or a prompt that is too long is a DataError that lists what the captions say."""
    words = text.lower().split()
    if not words:
        raise DataError("the prompt is empty: describe a digit, e.g. --prompt 'a thick seven'")
    unknown = [w for w in words if w not in VOCAB[1:]]
    if unknown:
        raise DataError(
            f"the prompt word(s) {', '.join(repr(w) for w in unknown)} are not in the captions' vocabulary "
            f"({' '.join(VOCAB[1:])})"
        )
    if len(words) > MAX_WORDS:
        raise DataError(f"the prompt has {len(words)} words; captions have at most {MAX_WORDS}")
    return encode_words(words)


def decode_caption(ids: list[int]) -> str:
    return " ".join(VOCAB[i] for i in ids if i)


def class_prompts() -> list[str]:
    """The zero-shot prompt of each class: ``"a zero"`` … ``"a nine"``."""
    return [f"{article(word)} {word}" for word in DIGIT_WORDS]


@register_dataset(
    "digits-captions",
    options=ImageOptions,
    kind="image",
    help="sklearn digits with templated captions (digit; thin/thick, upright/slanted, small/large)",
)
def digits_captions(arg: str | None, options: ImageOptions, artifacts: Path | None) -> Dataset:
    if arg:
        raise DataError(f"'digits-captions' takes no argument (got 'digits-captions:{arg}')")
    if options.image_size not in (None, 8) or options.channels == "rgb":
        raise DataError("digits-captions are 8x8 grey images: drop --image-size/--channels rgb")
    x, y = digits_tensors()
    tokens = torch.tensor([encode_words(w) for w in caption_words(x, y)], dtype=torch.long)
    idx = split_indices(len(x), (0.7, 0.15, 0.15), SPLIT_SEED)  # the digits dataset's own split
    splits = {name: {"x": x[ids], "y": y[ids], "tokens": tokens[ids]} for name, ids in idx.items()}
    info = DataInfo(
        kind="image",
        shape=(1, 8, 8),
        num_levels=17,
        num_classes=10,
        extra={"vocab": list(VOCAB), "max_words": MAX_WORDS, "captions": "digits-captions"},
    )
    return Dataset(
        spec="digits-captions",
        info=info,
        splits=splits,
        description="sklearn digits with templated captions",
        augment=_augmenter(options),
        extra={"decode_caption": decode_caption},
    )
