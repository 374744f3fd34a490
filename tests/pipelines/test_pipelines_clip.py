"""CLIP as jobs: train, zero-shot and retrieval figures on the test split, CLIP-score of a generator,
and the mistakes users make as one-line errors."""

import json

import pytest
import torch

from genforge.core.errors import ConfigError, DataError
from genforge.pipelines.clip import clip_score, read_prompts, recall_at, train_clip, zeroshot
from genforge.pipelines.training import train

TINY = {"image_channels": 8, "text_width": 16, "embed_dim": 16}


def test_recall_at_counts_a_hit_anywhere_in_the_top_k():
    similarity = torch.tensor([[0.9, 0.1, 0.5], [0.2, 0.3, 0.1], [0.0, 0.2, 0.1]])
    hit = torch.tensor([[True, False, False], [True, False, False], [True, False, False]])
    assert recall_at(similarity, hit, ks=(1, 2, 3)) == {1: 1 / 3, 2: 2 / 3, 3: 1.0}


@pytest.fixture(scope="module")
def clip_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("clip")
    return train_clip(out=root, max_steps=40, overrides={**TINY, "eval_every": 40}).run


def test_zeroshot_reports_accuracy_and_recall_and_writes_them(clip_run):
    result = zeroshot(clip_run)
    assert result["num_images"] == 270
    assert result["zeroshot_accuracy"] > 0.3  # 40 tiny steps; chance is 0.1
    for key in ("image_to_text_recall@1", "text_to_image_recall@1"):
        assert 0.0 < result[key] <= result[key.replace("@1", "@5")] <= 1.0
    saved = json.loads(clip_run.artifact("zeroshot.json").read_text())
    assert saved["zeroshot_accuracy"] == result["zeroshot_accuracy"]
    evaluation = json.loads(clip_run.eval_path.read_text())
    assert 0.3 < evaluation["zeroshot_accuracy"] <= 1.0


def test_clip_score_of_an_unconditional_generator(clip_run, tmp_path):
    gen = train("vae", "digits", out=tmp_path, max_steps=2).run
    result = clip_score(gen, clip_run, prompts=["a seven", "an eight"], n=8)
    assert result["conditioned_on_prompts"] is False
    assert set(result["per_prompt"]) == {"a seven", "an eight"}
    assert all(0.0 <= v <= 100.0 for v in result["per_prompt"].values())
    again = clip_score(gen, clip_run, prompts=["a seven", "an eight"], n=8)
    assert again == result
    with pytest.raises(ConfigError, match="not a clip run"):
        clip_score(gen, gen, n=8)


def test_prompts_file_errors_name_the_line(tmp_path):
    path = tmp_path / "prompts.txt"
    path.write_text("a seven\n\na purple seven\n")
    with pytest.raises(DataError, match="prompts.txt line 2: .*'purple'"):
        read_prompts(path)
    path.write_text("\n")
    with pytest.raises(DataError, match="has no prompts"):
        read_prompts(path)
    assert read_prompts(None)[7] == "a seven"
