"""Diffusion through the CLI as a user types it: train, sample with each sampler and with guidance,
evaluate to JSON, and the sampling mistakes a user makes as one-line errors."""

import json

import pytest

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TINY = ["base_channels=8", "timesteps=50", "sample_steps=4"]


def train(gf, tmp_path, *settings):
    sets = [a for kv in (*TINY, *settings) for a in ("--set", kv)]
    code, out, err = gf(
        "train",
        "diffusion",
        "--data",
        "digits",
        "--max-steps",
        3,
        "--out",
        tmp_path / "runs",
        "--quiet",
        "--json",
        *sets,
    )
    assert code == 0, err
    return json.loads(out)["run"]


@pytest.mark.slow
def test_class_conditional_diffusion_trains_samples_with_each_sampler_and_guidance(gf, tmp_path):
    run = train(gf, tmp_path, "cond=class")
    for extra in (
        ["--sampler", "ddpm"],
        ["--sampler", "ddim", "--steps", "3"],
        ["--label", "7", "--guidance", "3"],
    ):
        out = tmp_path / "grid.png"
        code, _, err = gf("sample", run, "-n", 4, "--out", out, *extra)
        assert code == 0, err
        assert out.read_bytes()[:8] == PNG_MAGIC
        out.unlink()
    code, out, err = gf("eval", run, "--json")
    assert code == 0, err
    assert json.loads(out)["denoising_mse"] > 0


@pytest.mark.slow
def test_sampling_mistakes_are_one_line_errors_and_write_nothing(gf, tmp_path):
    run = train(gf, tmp_path)
    cases = {
        (
            "--guidance",
            "3",
        ): "unconditional: --label and --guidance need a model trained with --set cond=class",
        ("--steps", "51"): "--steps must be between 1 and 50",
        ("--eta", "1.5"): "--eta must be between 0 and 1",
    }
    for extra, message in cases.items():
        code, out, err = gf("sample", run, "-n", 2, "--out", tmp_path / "bad.png", *extra)
        assert code == 2, err
        assert err.startswith("error: ") and message in err and err.count("\n") == 1, err
        assert not (tmp_path / "bad.png").exists()
