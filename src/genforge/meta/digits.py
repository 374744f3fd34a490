"""Few-shot digits: N-way K-shot classification episodes from scikit-learn's 8x8 digits.

Meta-training sees digits 0-6 and their copies rotated by 90, 180 and 270 degrees, each rotation a class
of its own (the practice of Omniglot few-shot work, Santoro et al. 2016), so 28 training classes; meta-test
episodes draw only from digits 7, 8 and 9, which training never shows. Caveat of this pool: a 6 turned
by 180 degrees looks like a 9, so one training class resembles a test class; every learner (the
fine-tune baseline included) trains on the same pool.

An episode picks ``ways`` classes at random, assigns them the labels ``0..ways-1`` in that random order
(so a label means nothing across episodes), then ``shots`` support and ``query`` query images per class,
all without replacement. Sampling is vectorised over the episodes of a batch and driven only by the
``torch.Generator`` passed in, so a batch is a function of the generator's state.
"""

from __future__ import annotations

import torch
from torch import nn

from genforge.core.errors import ConfigError
from genforge.data.images import digits_tensors

TRAIN_DIGITS = (0, 1, 2, 3, 4, 5, 6)
TEST_DIGITS = (7, 8, 9)
ROTATIONS = (0, 1, 2, 3)  # quarter turns of the training digits


class DigitsPool:
    """The images of a split grouped by class: ``images`` (classes, max_count, 1, 8, 8) float in [0, 1]
    (zero-padded), ``counts`` (classes,), and ``digit``/``rotation`` naming each class."""

    def __init__(self, split: str) -> None:
        if split not in ("train", "test"):
            raise ConfigError(f"digits episodes come from the 'train' or 'test' split, not '{split}'")
        x, y = digits_tensors()
        x = x.float() / 16.0
        digits, rotations = (TRAIN_DIGITS, ROTATIONS) if split == "train" else (TEST_DIGITS, (0,))
        groups, self.digit, self.rotation = [], [], []
        for d in digits:
            for r in rotations:
                groups.append(torch.rot90(x[y == d], r, dims=(2, 3)))
                self.digit.append(d)
                self.rotation.append(r)
        self.counts = torch.tensor([len(g) for g in groups])
        self.images = torch.zeros(len(groups), int(self.counts.max()), 1, 8, 8)
        for i, g in enumerate(groups):
            self.images[i, : len(g)] = g

    @property
    def num_classes(self) -> int:
        return len(self.counts)


_POOLS: dict[str, DigitsPool] = {}


def digits_pool(split: str) -> DigitsPool:
    """The split's pool, built once per process (reading the CSV takes a moment)."""
    if split not in _POOLS:
        _POOLS[split] = DigitsPool(split)
    return _POOLS[split]


def check_episode_shape(ways: int, shots: int, query: int) -> None:
    """One clear error when an episode asks for more classes or images than the test split holds."""
    test = digits_pool("test")
    if ways > test.num_classes:
        raise ConfigError(
            f"{ways}-way episodes need {ways} classes but meta-test has only {test.num_classes} "
            f"(digits {', '.join(map(str, TEST_DIGITS))}): use --ways {test.num_classes} or fewer"
        )
    fewest = int(min(test.counts.min(), digits_pool("train").counts.min()))
    if shots + query > fewest:
        raise ConfigError(
            f"{shots} shots + {query} query images per class exceed the {fewest} images of the smallest "
            f"digit class: lower --shots or --query"
        )


def digits_episodes(
    num_tasks: int, ways: int, shots: int, query: int, generator: torch.Generator, split: str = "train"
) -> dict[str, torch.Tensor]:
    """``xs`` (num_tasks, ways*shots, 1, 8, 8), ``ys`` (num_tasks, ways*shots) labels in 0..ways-1,
    ``xq``/``yq`` likewise with ``query`` images per class, and ``classes`` (num_tasks, ways): the pool
    class behind each label (index into :func:`digits_pool` ``(split)``)."""
    pool = digits_pool(split)
    if ways > pool.num_classes:
        raise ConfigError(
            f"{ways}-way episodes need {ways} classes; the {split} split has {pool.num_classes}"
        )
    # a random order of the classes per episode: the first `ways` are the episode's, label = position
    classes = torch.rand(num_tasks, pool.num_classes, generator=generator).argsort(1)[:, :ways]
    # a random order of each chosen class's images; padding slots sort last (key 2 > any rand)
    keys = torch.rand(num_tasks, ways, pool.images.shape[1], generator=generator)
    keys[torch.arange(pool.images.shape[1]) >= pool.counts[classes].unsqueeze(-1)] = 2.0
    picks = keys.argsort(-1)[..., : shots + query]  # (tasks, ways, shots + query)
    images = pool.images[classes.unsqueeze(-1), picks]  # (tasks, ways, shots + query, 1, 8, 8)
    labels = torch.arange(ways).view(1, ways, 1).expand(num_tasks, ways, shots + query)
    return {
        "xs": images[:, :, :shots].reshape(num_tasks, ways * shots, 1, 8, 8),
        "ys": labels[:, :, :shots].reshape(num_tasks, ways * shots),
        "xq": images[:, :, shots:].reshape(num_tasks, ways * query, 1, 8, 8),
        "yq": labels[:, :, shots:].reshape(num_tasks, ways * query),
        "classes": classes,
    }


def digits_batch(num_images: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Plain classification over all meta-training classes (the fine-tune baseline's pretraining):
    ``num_images`` images drawn with replacement and their class index in the training pool."""
    pool = digits_pool("train")
    classes = torch.randint(pool.num_classes, (num_images,), generator=generator)
    slots = (torch.rand(num_images, generator=generator) * pool.counts[classes]).long()
    return pool.images[classes, slots], classes


def mlp_classifier(hidden: int, outputs: int) -> nn.Module:
    """The 64 pixels through two ReLU layers of ``hidden`` units to ``outputs`` logits. An MLP rather than
    a conv: under ``vmap`` with second-order gradients a 3-layer conv took about 10x longer per
    meta-iteration here (0.50 s against 0.05 s, 25 episodes, one thread), for 8x8 images."""
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(64, hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Linear(hidden, outputs),
    )
