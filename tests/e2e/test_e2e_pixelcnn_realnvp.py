"""PixelCNN and RealNVP through the CLI as a user types it: train, sample a PNG, evaluate to JSON."""

import json
import math
import subprocess
import sys

import pytest

GF = [sys.executable, "-m", "genforge.cli.main"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def gf(*args, cwd):
    out = subprocess.run([*GF, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=600)
    assert "Traceback" not in out.stderr, out.stderr
    assert out.returncode == 0, out.stderr
    return out


def only_run(tmp_path):
    (run,) = (tmp_path / "runs").iterdir()
    return run


def train_tiny(tmp_path, family, data, steps, settings):
    """``genforge train FAMILY --data DATA`` for ``steps`` steps with ``--set`` for each setting; the run."""
    sets = [a for kv in settings for a in ("--set", kv)]
    gf(
        "train",
        family,
        "--data",
        data,
        "--max-steps",
        steps,
        "--seed",
        0,
        "--out",
        "runs",
        "--quiet",
        *sets,
        cwd=tmp_path,
    )
    return only_run(tmp_path)


@pytest.mark.slow
def test_class_conditional_pixelcnn_trains_samples_a_label_and_reports_bits_per_dim(tmp_path):
    tiny = ["channels=8", "num_layers=2", "head_channels=8", "class_conditional=true"]
    run = train_tiny(tmp_path, "pixelcnn", "digits", 3, tiny)
    gf("sample", run, "-n", 4, "--label", 7, "--temperature", 0.5, "--out", "grid.png", cwd=tmp_path)
    assert (tmp_path / "grid.png").read_bytes()[:8] == PNG_MAGIC
    result = json.loads(gf("eval", run, "--json", cwd=tmp_path).stdout)
    assert result["bits_per_dim"] == pytest.approx(4.007209353093748, rel=1e-4)  # same seed, same figure
    assert result["bits_per_dim_given_label"] == pytest.approx(4.007515607056795, rel=1e-4)
    assert result["bits_per_dim_given_label"] <= result["bits_per_dim"] + math.log2(10) / 64 + 1e-3


@pytest.mark.slow
def test_realnvp_on_digits_trains_samples_interpolates_and_reports_bits_per_dim(tmp_path):
    tiny = ["hidden_channels=8", "couplings_per_scale=1", "final_couplings=1"]
    run = train_tiny(tmp_path, "realnvp", "digits", 3, tiny)
    gf("sample", run, "-n", 9, "--temperature", 0.7, "--out", "grid.png", cwd=tmp_path)
    assert (tmp_path / "grid.png").read_bytes()[:8] == PNG_MAGIC
    gf("sample", run, "--interpolate", 4, "--out", "interp.png", cwd=tmp_path)
    assert (tmp_path / "interp.png").read_bytes()[:8] == PNG_MAGIC
    result = json.loads(gf("eval", run, "--json", cwd=tmp_path).stdout)
    assert result["bits_per_dim"] == pytest.approx(4.891806231604682, rel=1e-4)


@pytest.mark.slow
def test_realnvp_on_moons_trains_plots_and_reports_nll_in_nats(tmp_path):
    run = train_tiny(tmp_path, "realnvp", "toy2d:moons", 5, ["point_couplings=2"])
    gf("sample", run, "-n", 200, "--out", "moons.png", cwd=tmp_path)
    assert (tmp_path / "moons.png").read_bytes()[:8] == PNG_MAGIC
    result = json.loads(gf("eval", run, "--json", cwd=tmp_path).stdout)
    assert result["nll_nats"] == pytest.approx(3.480126703262329, rel=1e-4)
