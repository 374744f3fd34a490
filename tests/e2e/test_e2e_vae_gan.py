"""VAE and GAN through the CLI as a user types it: train, sample a PNG, interpolate, evaluate to JSON.

The commands run in this process through ``genforge.cli.main.main`` (the console script's function), so
torch and scikit-learn are imported once rather than once per command.
"""

import json

import pytest

from genforge.cli.main import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def gf(capsys, monkeypatch):
    def run(*args, cwd):
        monkeypatch.chdir(cwd)
        capsys.readouterr()
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        assert code == 0, err
        return out

    return run


def only_run(tmp_path):
    (run,) = (tmp_path / "runs").iterdir()
    return run


def sets(*pairs):
    return [a for kv in pairs for a in ("--set", kv)]


@pytest.mark.slow
def test_vae_trains_samples_interpolates_and_reports_iwae_bits_per_dim(tmp_path, gf):
    gf(
        "train",
        "vae",
        "--data",
        "digits",
        "--max-steps",
        3,
        "--seed",
        0,
        "--out",
        "runs",
        "--quiet",
        *sets("base_channels=8", "iwae_k=4"),
        cwd=tmp_path,
    )
    run = only_run(tmp_path)
    gf("sample", run, "-n", 4, "--temperature", 0.5, "--out", "grid.png", cwd=tmp_path)
    gf("sample", run, "--interpolate", 3, "--out", "path.png", cwd=tmp_path)
    assert (tmp_path / "grid.png").read_bytes()[:8] == PNG_MAGIC
    assert (tmp_path / "path.png").read_bytes()[:8] == PNG_MAGIC
    result = json.loads(gf("eval", run, "--json", "--examples", 32, cwd=tmp_path))
    assert result["num_examples"] == 32 and "metrics" not in result  # a likelihood family: no samples drawn
    assert result["headline"]["metric"] == "bits_per_dim_iwae"
    assert result["headline"]["reference"] == result["baseline"]["bits_per_dim"]
    # the same seed gives the same figures on this CPU; the IWAE bound is tighter than the ELBO
    assert result["bits_per_dim_iwae"] == pytest.approx(3.918644681572914, rel=1e-4)
    assert result["elbo_bits_per_dim"] == pytest.approx(3.9494891837239265, rel=1e-4)
    assert result["recon_mse"] == pytest.approx(0.17173916660249233, rel=1e-4)


@pytest.mark.slow
def test_hinge_gan_with_spectral_norm_trains_samples_a_label_and_reports_disc_scores(tmp_path, gf):
    gf(
        "train",
        "gan",
        "--data",
        "digits",
        "--max-steps",
        3,
        "--seed",
        0,
        "--out",
        "runs",
        "--quiet",
        *sets("loss=hinge", "spectral_norm=true", "conditional=true", "base_channels=8"),
        cwd=tmp_path,
    )
    run = only_run(tmp_path)
    gf("sample", run, "-n", 4, "--label", 7, "--out", "sevens.png", cwd=tmp_path)
    assert (tmp_path / "sevens.png").read_bytes()[:8] == PNG_MAGIC
    result = json.loads(gf("eval", run, "--json", "--examples", 32, "--n", 300, cwd=tmp_path))
    fd = result["metrics"]["fd"]
    assert result["headline"] == {  # a GAN is judged by FD-digits of its samples, not a likelihood
        "metric": "fd_digits",
        "value": fd["fd_digits"],
        "reference": fd["fd_digits_train_vs_test"],
        "reference_name": "train-vs-test FD",
    }
    assert fd["n_fake"] == 300 and fd["n_real"] == 270 and "baseline" not in result
    # the same seed gives the same figures on one CPU; adversarial training amplifies another CPU's
    # last-bit rounding (6.5e-4 relative seen on the discriminator's mean after a machine move), so 1e-2
    assert fd["fd_digits"] == pytest.approx(202.4337708035762, rel=1e-2)
    assert result["disc_real_mean"] == pytest.approx(0.5408080436754972, rel=1e-2)
    assert result["disc_fake_mean"] == pytest.approx(-0.7106026639230549, rel=1e-2)
    assert result["num_examples"] == 32


@pytest.mark.slow
def test_wgan_gp_trains_on_2d_points_and_writes_a_scatter_plot(tmp_path, gf):
    gf(
        "train",
        "gan",
        "--data",
        "toy2d:moons",
        "--max-steps",
        3,
        "--seed",
        0,
        "--out",
        "runs",
        "--quiet",
        *sets("loss=wgan-gp", "n_critic=2"),
        cwd=tmp_path,
    )
    run = only_run(tmp_path)
    gf("sample", run, "-n", 64, "--out", "points.png", cwd=tmp_path)
    assert (tmp_path / "points.png").read_bytes()[:8] == PNG_MAGIC
