"""MiniLM fine-tuning on pairs: a real (one-step) run whose model the embed registry loads by path,
collapse stops the run with a note, and bad pairs files are one clear line."""

import json

import numpy as np
import pytest

from genforge.core.errors import DataError
from genforge.embed.base import load_embedding
from genforge.transfer.embed import finetune_embedding, read_pairs

PAIRS = [
    ("How do I count items in a list?", "Use collections.Counter."),
    ("How do I parse command-line options?", "Use argparse.ArgumentParser."),
    ("How do I make a temporary directory?", "Use tempfile.TemporaryDirectory."),
    ("How do I read a JSON file?", "Call json.load on the open file."),
    ("How do I sort a list in place?", "Call list.sort()."),
    ("How do I get the current time?", "Call time.time()."),
]


def _write(path, pairs):
    path.write_text("".join(json.dumps({"anchor": a, "positive": p}) + "\n" for a, p in pairs))
    return path


@pytest.mark.slow  # loads MiniLM twice (~25 s idle, more on a busy machine)
def test_lora_finetune_run_is_loadable_by_path(tmp_path):
    train, held = _write(tmp_path / "train.jsonl", PAIRS[:4]), _write(tmp_path / "held.jsonl", PAIRS[4:])
    config = {"max_steps": 1, "batch_size": 4, "lora": {"r": 2}, "check_every": 1}
    result = finetune_embedding(train, holdout_pairs=held, config=config, out=tmp_path / "runs")
    assert result.status == "completed" and result.steps == 1
    assert set(result.before) == set(result.after) >= {"mrr@10", "recall@1", "recall@5", "recall@10"}
    assert 0 < result.trainable_fraction < 0.02
    saved = json.loads((result.run.path / "eval.json").read_text())
    assert saved["after"] == result.after
    assert (result.run.path / "adapter" / "adapter.safetensors").is_file()
    embedding = load_embedding(result.run.path)  # what `genforge embed ... runs/<id>` and RAG open
    vectors = embedding.embed_texts([a for a, _ in PAIRS[4:]])
    assert vectors.shape == (2, 384) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-4)


@pytest.mark.slow
def test_collapse_stops_the_run_with_a_note(tmp_path):
    train = _write(tmp_path / "train.jsonl", PAIRS)
    # the pretrained model's random pairs already have mean cosine above 0.01: flagged at the first check
    config = {"max_steps": 3, "batch_size": 3, "check_every": 1, "collapse_cosine": 0.01, "holdout": 0}
    result = finetune_embedding(train, config=config, out=tmp_path / "runs")
    assert result.status == "collapsed" and result.steps == 1
    assert "collapse at step 1" in result.notes[0] and "weights of step 0" in result.notes[0]


def test_bad_pairs_files(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_pairs(tmp_path / "missing.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"anchor": "a", "positive": "b"}\n{"anchor": "a"\n')
    with pytest.raises(DataError, match=r"bad.jsonl:2 is not JSON"):
        read_pairs(bad)
    bad.write_text('{"anchor": "a", "positive": "b"}\n{"anchor": "a", "text": "b"}\n')
    with pytest.raises(DataError, match=r"bad.jsonl:2 has no text field 'positive'"):
        read_pairs(bad)
    with pytest.raises(DataError, match="at least 2"):
        read_pairs(_write(tmp_path / "one.jsonl", PAIRS[:1]))
    with pytest.raises(DataError, match="too few to hold out"):
        finetune_embedding(_write(tmp_path / "three.jsonl", PAIRS[:3]), out=tmp_path / "runs")
    assert not (tmp_path / "runs").exists() or list((tmp_path / "runs").iterdir()) == []


def test_lora_defaults_are_the_dev_chosen_settings():
    from genforge.transfer.embed import EmbedFinetuneConfig

    full, lora = EmbedFinetuneConfig.build({}), EmbedFinetuneConfig.build({"lora": {}})
    assert (full.learning_rate, full.passes) == (2e-5, 1)
    assert (lora.learning_rate, lora.passes) == (1e-3, 3)
    assert (lora.lora.r, lora.lora.scale, lora.lora.targets) == (8, 1.0, ["*"])
    given = EmbedFinetuneConfig.build({"lora": {}, "epochs": 3, "lr": 1e-4})
    assert (given.learning_rate, given.passes) == (1e-4, 3)


@pytest.mark.slow  # one real LoRA run of 3 steps through the CLI
def test_bare_lora_flag_trains_three_epochs_at_the_lora_rate(tmp_path, capsys):
    from genforge.cli.main import main

    train = _write(tmp_path / "train.jsonl", PAIRS[:4])
    args = [
        "finetune",
        "embed",
        "--pairs",
        str(train),
        "--lora",
        "--set",
        "holdout=0",
        "--set",
        "batch_size=4",
    ]
    assert main([*args, "--out", str(tmp_path / "runs"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["steps"] == 3 and out["status"] == "completed" and 0 < out["trainable_fraction"] < 0.02
    lrs = [json.loads(line)["lr"] for line in (tmp_path / "runs").glob("*/metrics.jsonl").__next__().open()]
    assert len(lrs) == 3 and max(lrs) <= 1e-3 and max(lrs) > 2e-5  # the LoRA rate, not the full one
    config = json.loads(next((tmp_path / "runs").glob("*/config.json")).read_text())
    assert config["train"]["lora"]["r"] == 8 and config["train"]["epochs"] is None
    assert config["resolved"] == {"epochs": 3, "lr": 1e-3}
