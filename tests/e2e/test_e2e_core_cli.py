"""End-to-end runs of the core CLI as a user types it, on tiny budgets."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

GF = [sys.executable, "-m", "genforge.cli.main"]


def gf(*args, cwd):
    out = subprocess.run([*GF, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=600)
    assert "Traceback" not in out.stderr, out.stderr
    return out


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("imgs")
    rng = np.random.default_rng(0)
    for i in range(24):
        Image.fromarray(rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)).save(folder / f"{i:02d}.png")
    return folder


@pytest.mark.slow
def test_vae_on_an_image_folder_trains_resumes_samples_and_evaluates(tmp_path, image_folder):
    out = gf(
        "train",
        "vae",
        "--data",
        f"folder:{image_folder}",
        "--image-size",
        8,
        "--max-steps",
        4,
        "--seed",
        0,
        "--set",
        "checkpoint_every=2",
        "--out",
        "runs",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    (run,) = (tmp_path / "runs").iterdir()
    assert json.loads((run / "config.json").read_text())["data_info"]["shape"] == [3, 8, 8]

    more = gf("train", "--resume", run, "--max-steps", 6, cwd=tmp_path)
    assert more.returncode == 0, more.stderr
    assert "6 steps" in more.stdout

    grid = gf("sample", run, "-n", 16, "--out", "grid.png", "--temperature", 0.8, "--seed", 1, cwd=tmp_path)
    assert grid.returncode == 0, grid.stderr
    assert (tmp_path / "grid.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    interp = gf("sample", run, "--interpolate", 5, "--out", "interp.png", cwd=tmp_path)
    assert interp.returncode == 0, interp.stderr
    with Image.open(tmp_path / "interp.png") as im:
        assert im.size[0] > im.size[1] * 0.5  # rows of 5 interpolation steps

    ev = gf("eval", run, "--json", cwd=tmp_path)
    assert ev.returncode == 0, ev.stderr
    result = json.loads(ev.stdout)
    assert result["family"] == "vae" and result["num_examples"] > 0
    # the same seed gives the same figures on this CPU (24 random 20x20 RGB images: hard to compress)
    assert result["bits_per_dim_iwae"] == pytest.approx(8.398360252380371, rel=1e-4)
    assert result["baseline"]["bits_per_dim"] == pytest.approx(7.862599849700928, rel=1e-4)

    listing = json.loads(gf("runs", "list", "--json", cwd=tmp_path).stdout)["runs"]
    assert [r["id"] for r in listing] == [run.name] and listing[0]["step"] == 6
    shown = json.loads(gf("runs", "show", run.name, "--json", cwd=tmp_path).stdout)
    assert shown["config"]["family"] == "vae" and shown["checkpoints"][-1] == 6


def test_missing_folder_is_one_clean_line(tmp_path):
    out = gf("train", "vae", "--data", "folder:/nonexistent/dir", "--max-steps", 1, cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.strip() == "error: image folder /nonexistent/dir does not exist"
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
