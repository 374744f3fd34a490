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


@pytest.mark.slow
def test_kill_9_of_a_running_diffusion_train_then_resume_ends_like_the_uninterrupted_run(tmp_path):
    import signal
    import subprocess
    import sys

    import torch
    from tests.e2e.test_e2e_interrupts import final_checkpoint, wait_for_logged_step

    sets = [*TINY, "log_every=5", "checkpoint_every=100000", "checkpoint_minutes=0.002", "final_eval=false"]
    steps = 60

    def command(out):
        args = [
            "train",
            "diffusion",
            "--data",
            "digits",
            "--max-steps",
            steps,
            "--seed",
            2,
            "--out",
            out,
            "--quiet",
        ]
        return [
            sys.executable,
            "-m",
            "genforge.cli.main",
            *map(str, args),
            *[a for kv in sets for a in ("--set", kv)],
        ]

    done = subprocess.run(command(tmp_path / "a"), capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    process = subprocess.Popen(
        command(tmp_path / "b"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    wait_for_logged_step(tmp_path / "b", process, 10)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=300)
    run, stopped = final_checkpoint(tmp_path / "b")
    assert stopped.step < steps
    resumed = subprocess.run(
        [sys.executable, "-m", "genforge.cli.main", "train", "--resume", str(run.path), "--quiet"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert resumed.returncode == 0, resumed.stderr
    (_, expected), (_, got) = final_checkpoint(tmp_path / "a"), final_checkpoint(tmp_path / "b")
    assert got.step == expected.step == steps
    assert [k for k in expected.tensors if not torch.equal(expected.tensors[k], got.tensors[k])] == []
