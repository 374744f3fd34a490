"""Guidance sweep of a class-conditional diffusion run: one row per weight with classifier accuracy in
[0, 1] and FD-digits, a picture with one row of samples per weight, deterministic given the seed, and the
mistakes a user makes (bad weights, an unconditional or non-diffusion run) as one-line errors."""

import contextlib
import io
import json

import numpy as np
import pytest
import torch
from PIL import Image

import genforge
from genforge.cli.main import main
from genforge.core.errors import ConfigError
from genforge.pipelines.guidance import cycled_labels, draw_guided, guidance_sweep, parse_weights
from genforge.pipelines.loading import load_run

TINY = {"base_channels": 8, "timesteps": 50, "sample_steps": 2, "final_eval": False, "num_samples": 4}


def _train(out, **overrides):
    return genforge.train("diffusion", "digits", out=out, max_steps=2, overrides={**TINY, **overrides}).run


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    return {"class": _train(out, cond="class"), "none": _train(out)}


def _cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def test_sweep_has_one_row_per_weight_and_is_deterministic_given_the_seed(runs, tmp_path):
    picture = tmp_path / "sweep.png"
    result = guidance_sweep(runs["class"].path, "0,1,3", num_samples=20, seed=0, picture=picture)
    assert [r["guidance"] for r in result["rows"]] == [0.0, 1.0, 3.0]
    for row in result["rows"]:
        assert 0.0 <= row["accuracy"] <= 1.0 and np.isfinite(row["fd_digits"]) and row["fd_digits"] >= 0
        # 20 samples cycle the labels twice, so each class holds 2 and the accuracy is the classes' mean
        assert len(row["per_class_accuracy"]) == 10
        assert row["accuracy"] == pytest.approx(np.mean(row["per_class_accuracy"]))
    assert result["extractor"] == "digits" and result["steps"] == 2 and result["n"] == 20
    assert 0.9 < result["classifier_test_accuracy"] <= 1.0  # the shipped CNN on the real test split
    assert result["warnings"]  # 20 < 128 feature dimensions: FD's bias is stated, not hidden
    with Image.open(picture) as image:  # 3 rows of 10 digits, 8x8 upscaled to 64 with 2-pixel padding
        assert image.size == (10 * 66 + 2, 3 * 66 + 2)
    again = guidance_sweep(runs["class"].path, [0, 1, 3], num_samples=20, seed=0)
    other = guidance_sweep(runs["class"].path, [0, 1, 3], num_samples=20, seed=1)
    strip = lambda r: [{k: v for k, v in row.items() if k != "seconds"} for row in r["rows"]]  # noqa: E731
    assert strip(again) == strip(result)
    assert [r["fd_digits"] for r in other["rows"]] != [r["fd_digits"] for r in result["rows"]]


def test_samples_are_drawn_for_the_requested_cycled_labels(runs):
    model = load_run(runs["class"].path).model
    images, labels = draw_guided(model, 13, 3.0, seed=0)
    assert labels.tolist() == [*range(10), 0, 1, 2] == cycled_labels(13, 10).tolist()
    assert images.shape == (13, 1, 8, 8) and images.min() >= 0 and images.max() <= 1
    assert torch.equal(images, draw_guided(model, 13, 3.0, seed=0)[0])

    def draw(**opts):
        return model.sample(13, generator=torch.Generator().manual_seed(0), guidance=3.0, **opts)

    # per-sample labels: all sevens is --label 7, and changing one label changes that sample only (DDIM)
    assert torch.equal(draw(labels=torch.full((13,), 7)), draw(label=7))
    changed = labels.clone()
    changed[7] = 2
    differ = (draw(labels=labels) != draw(labels=changed)).flatten(1).any(1)
    assert differ.tolist() == [i == 7 for i in range(13)]
    for bad in (torch.zeros(12, dtype=torch.long), torch.full((13,), 10)):
        with pytest.raises(ConfigError, match="labels must be 13 classes between 0 and 9"):
            draw(labels=bad)
    with pytest.raises(ConfigError, match="not both"):
        draw(labels=labels, label=3)


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ("0,x", "guidance weight 'x' is not a number"),
        ("-1", "guidance weight -1 is outside 0..50"),
        ("60", "guidance weight 60 is outside 0..50"),
        ("nan", "outside 0..50"),
        (" , ", "is not a number"),
        ("1,3,1", "guidance weights repeat"),
    ],
)
def test_bad_weights_are_one_line_errors(weights, message):
    with pytest.raises(ConfigError, match=message):
        parse_weights(weights)


def test_cli_sweep_prints_json_writes_the_picture_and_refuses_mistakes_in_one_line(runs, tmp_path):
    picture = tmp_path / "sweep.png"
    code, out, err = _cli(
        "eval", runs["class"].path, "--guidance-sweep", "0,3", "--n", 10, "--out", picture, "--json"
    )
    assert code == 0, err
    result = json.loads(out)
    assert [r["guidance"] for r in result["rows"]] == [0.0, 3.0] and picture.read_bytes()[:4] == b"\x89PNG"
    code, out, err = _cli("eval", runs["class"].path, "--guidance-sweep", "1", "--n", 10, "--seed", 3)
    assert code == 0, err
    assert "FD-digits" in out and "accuracy" in out and "seed 3;" in " ".join(out.split())
    cases = [
        ([runs["class"].path, "--guidance-sweep", "0,abc"], "guidance weight 'abc' is not a number"),
        ([runs["none"].path, "--guidance-sweep", "0,3"], "is not class-conditional"),
        ([runs["class"].path, "--guidance-sweep", "3", "--n", 5], "10 to 10000 samples"),
        ([runs["class"].path, "--guidance-sweep", "3", "--metrics", "fd"], "drop --metrics"),
        ([runs["class"].path, "--out", tmp_path / "x.png"], "--out and --steps belong to --guidance-sweep"),
    ]
    for argv, message in cases:
        target = tmp_path / "bad.png"
        code, out, err = _cli("eval", *argv, "--out", target) if "--out" not in argv else _cli("eval", *argv)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, (argv, err)
        assert not target.exists() and not (tmp_path / "x.png").exists()


def test_a_run_of_another_family_is_refused(tmp_path):
    vae = genforge.train("vae", "digits", out=tmp_path, max_steps=1, overrides={"final_eval": False}).run
    with pytest.raises(ConfigError, match="needs a diffusion run"):
        guidance_sweep(vae.path, "0,3", num_samples=10)
