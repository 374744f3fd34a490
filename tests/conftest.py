import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def onnx_export_dir(tmp_path_factory):
    """A cache folder holding the packaged MiniLM exported to ONNX once per test run (about 15 s).

    The ``onnx`` extra is part of ``all``, so CI has it: the ONNX tests fail rather than skip without it."""
    from genforge.embed.sentence import default_model_path
    from genforge.embed.sentence_onnx import ONNX_FILE, export_onnx

    folder = tmp_path_factory.mktemp("onnx-cache")
    export_onnx(default_model_path(), folder / ONNX_FILE)
    return folder


@pytest.fixture
def onnx_cache(onnx_export_dir, monkeypatch):
    """``GENFORGE_CACHE`` pointed at the exported ONNX model for one test."""
    monkeypatch.setenv("GENFORGE_CACHE", str(onnx_export_dir))
    return onnx_export_dir


@pytest.fixture(scope="module")
def tiny_gpt_run(tmp_path_factory):
    """A GPT run trained for 3 steps on text:lee: the parent of the RL-tune tests (rl/ and pipelines/)."""
    from genforge.pipelines.training import train

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
    """A reward rule file scoring lower-case letters."""
    path = tmp_path / "rules.yaml"
    # lower-case letters: the 3-step model draws them among ~300 characters, so rewards vary per sample
    path.write_text("rules:\n  - {type: regex, pattern: '[a-z]', cap: 8}\n")
    return path
