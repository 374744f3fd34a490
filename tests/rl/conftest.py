"""A tiny GPT run trained for 3 steps on text:lee, shared by the RL-tune tests of this folder."""

import pytest

from genforge.pipelines.training import train


@pytest.fixture(scope="module")
def tiny_gpt_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("gpt")
    result = train(
        "gpt",
        "text:lee",
        data_options={"tokenizer": "char", "block_size": 16},
        overrides={"num_layers": 1, "embed_dim": 16, "num_heads": 2, "final_eval": False},
        max_steps=3,
        out=root,
        seed=0,
    )
    return result.run


@pytest.fixture
def letter_rules(tmp_path):
    path = tmp_path / "rules.yaml"
    # lower-case letters: the 3-step model draws them among ~300 characters, so rewards vary per sample
    path.write_text("rules:\n  - {type: regex, pattern: '[a-z]', cap: 8}\n")
    return path
