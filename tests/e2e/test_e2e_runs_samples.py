"""Runs and samples through the CLI as a user types them: ``-n`` honoured, the picture format the file
name says, bad output paths refused before any work, ``runs list`` readable at 80 columns with a damaged
run marked, ``runs plot``, "did you mean", dataset rows and oversized images.

Commands run in-process through ``genforge.cli.main.main`` (the console script's function)."""

import json

import pytest
from PIL import Image

from genforge.models.realnvp import RealNVP

TINY_VAE = ["--set", "base_channels=4", "--set", "max_channels=8", "--set", "latent_dim=4"]


@pytest.fixture(autouse=True)
def in_tmp_at_80_columns(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "80")


@pytest.fixture
def vae_run(gf, tmp_path):
    code, _, err = gf("train", "vae", "--data", "digits", "--max-steps", 2, "--quiet", *TINY_VAE)
    assert code == 0, err
    (run,) = (tmp_path / "runs").iterdir()
    return run


def test_sample_writes_the_format_its_file_name_says(gf, vae_run, tmp_path):
    magic = {"g.png": b"\x89PNG\r\n\x1a\n", "g.jpg": b"\xff\xd8\xff", "g.JPEG": b"\xff\xd8\xff"}
    for name, start in magic.items():
        code, out, err = gf("sample", vae_run, "-n", 4, "--out", name)
        assert code == 0 and out.strip() == f"wrote {name}", err
        assert (tmp_path / name).read_bytes().startswith(start)
    code, _, err = gf("sample", vae_run, "-n", 4, "--out", "g.webp")
    data = (tmp_path / "g.webp").read_bytes()
    assert code == 0 and data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    with Image.open(tmp_path / "g.webp") as webp, Image.open(tmp_path / "g.png") as png:
        assert list(webp.convert("L").get_flattened_data()) == list(
            png.convert("L").get_flattened_data()
        )  # lossless


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("g.gif", "error: cannot write a picture to g.gif: use a .png, .jpg/.jpeg or .webp file name"),
        (
            "notes.txt",
            "error: cannot write a picture to notes.txt: use a .png, .jpg/.jpeg or .webp file name",
        ),
        ("taken/g.png", "error: cannot write taken/g.png: taken is a file, not a folder"),
        (".", "error: . is a folder: give a file name to write"),
    ],
)
def test_a_bad_sample_path_is_one_line_before_any_work(gf, vae_run, tmp_path, out, message):
    (tmp_path / "taken").write_text("a file")
    before = sorted(p.name for p in tmp_path.iterdir())
    code, stdout, err = gf("sample", vae_run, "--out", out)
    assert (code, stdout, err) == (2, "", message + "\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("taken", "error: cannot write into taken: taken is a file, not a folder"),
        ("/proc/nope", "error: cannot write /proc/nope: /proc is not writable (No such file or directory)"),
    ],
)
def test_a_bad_train_out_is_one_line_before_any_work(gf, tmp_path, out, message):
    (tmp_path / "taken").write_text("a file")
    code, stdout, err = gf("train", "vae", "--data", "digits", "--max-steps", 1, "--out", out)
    assert (code, stdout, err) == (2, "", message + "\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_sample_draws_exactly_n_points_and_n_texts(gf, tmp_path, monkeypatch):
    drawn = []
    original = RealNVP.sample
    monkeypatch.setattr(RealNVP, "sample", lambda self, n, **kw: drawn.append(n) or original(self, n, **kw))
    code, _, err = gf(
        "train", "realnvp", "--data", "toy2d:moons", "--max-steps", 1, "--quiet", "--set", "point_couplings=2",
        "--set", "final_eval=false", "--out", "points",
    )  # fmt: skip
    assert code == 0, err
    assert drawn == [2000]  # the final training-time plot: 2000 points unless num_samples says otherwise
    (points,) = (tmp_path / "points").iterdir()
    drawn.clear()
    assert gf("sample", points, "-n", 50, "--out", "moons.png")[0] == 0
    assert drawn == [50]

    code, _, err = gf(
        "train", "gpt", "--data", "text:lee", "--block-size", 8, "--max-steps", 1, "--quiet", "--set", "num_layers=1",
        "--set", "embed_dim=16", "--set", "num_heads=2", "--set", "final_eval=false", "--out", "text",
    )  # fmt: skip
    assert code == 0, err
    (text,) = (tmp_path / "text").iterdir()
    assert gf("sample", text, "-n", 10, "--out", "ten.txt")[0] == 0
    assert (tmp_path / "ten.txt").read_text(encoding="utf-8").count("--- sample ") == 10
    code, _, err = gf("sample", text, "--out", "ten.png")
    assert (code, err) == (2, "error: text samples are written as .txt, not .png (ten.png)\n")


def test_runs_list_never_cuts_an_id_at_80_columns_and_marks_a_damaged_run(gf, tmp_path):
    for family in ("vae", "gan"):
        code, _, err = gf("train", family, "--data", "digits", "--max-steps", 1, "--quiet", *TINY_VAE)
        assert code == 0, err
    broken = tmp_path / "runs" / "20200101-000000-vae-a-very-long-label-for-a-run"
    broken.mkdir()
    (broken / "config.json").write_bytes(b'{"family": "vae\xff"}')
    code, out, err = gf("runs", "list")
    assert code == 0, err
    assert max(len(line) for line in out.splitlines() if line[:1] in "┏┃┡│└") <= 80
    ids = sorted(p.name for p in (tmp_path / "runs").iterdir())
    table = [line.split("│")[1].strip() for line in out.splitlines() if line.startswith("│")]
    assert [cell for cell in table if cell] == ids  # whole ids, one row each
    assert (
        f"damaged run {broken.name}: runs/{broken.name}/config.json is not UTF-8 text (byte 15): the file is damaged"
        in out
    )
    rows = json.loads(gf("runs", "list", "--json")[1])["runs"]
    assert [r["id"] for r in rows] == ids and "not UTF-8" in rows[0]["error"]
    gan = next(r for r in rows if r["id"].endswith("gan-digits"))
    assert gan["headline"].startswith("fd_digits ")  # a GAN is judged by FD-digits, not discriminator means


def test_runs_plot_draws_one_run_or_compares_several(gf, vae_run, tmp_path):
    code, _, err = gf(
        "train", "vae", "--data", "digits", "--max-steps", 3, "--quiet", *TINY_VAE, "--set", "log_every=1"
    )
    assert code == 0, err
    other = next(p for p in (tmp_path / "runs").iterdir() if p != vae_run)
    code, out, err = gf("runs", "plot", other.name)
    assert code == 0 and out.strip() == f"wrote runs/{other.name}/curve-loss.png", err
    code, out, err = gf(
        "runs", "plot", other.name, "--compare", vae_run.name, "--metric", "kl_nats", "--out", "c.jpg"
    )
    assert code == 0 and (tmp_path / "c.jpg").read_bytes()[:3] == b"\xff\xd8\xff", err
    code, out, err = gf("runs", "plot", other.name, "--metric", "kl_nat")
    assert code == 2 and err == (
        f"error: run {other.name} logged no 'kl_nat' (logged: elbo_bits_per_dim, grad_norm, kl_nats, loss, lr, "
        "recon_nats); did you mean 'kl_nats'?\n"
    )


@pytest.mark.parametrize(
    ("args", "start", "end"),
    [
        (["train", "vea", "--data", "digits"], "unknown model family 'vea' (available:", "did you mean 'vae'?"),
        (["train", "vae", "--data", "digitz"], "unknown dataset spec 'digitz' (available:", "did you mean 'digits'?"),
        (["train", "vae", "--data", "digits", "--set", "latnt_dim=3"], "unknown config key 'latnt_dim' (known", "did you mean 'latent_dim'?"),
    ],
)  # fmt: skip
def test_a_misspelt_name_gets_a_suggestion(gf, args, start, end):
    code, _, err = gf(*args)
    assert code == 2 and err.startswith(f"error: {start}") and err.endswith(f"); {end}\n")


def test_every_builtin_text_corpus_has_a_row_in_data_list(gf):
    specs = {row["spec"]: row for row in json.loads(gf("data", "list", "--json")[1])["datasets"]}
    for name in ("lee", "lee-test", "head500", "crime", "miislita"):
        assert specs[f"text:{name}"]["kind"] == "tokens" and "sizes" in specs[f"text:{name}"]


def test_an_image_past_the_decompression_bomb_limit_is_one_line(gf, tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    Image.new("L", (20000, 20000)).save(folder / "00-huge.png")  # a few hundred KB on disk, 400 M pixels
    for i in range(1, 11):
        Image.new("L", (8, 8), color=i).save(folder / f"{i:02d}.png")
    message = (
        f"error: image {folder / '00-huge.png'} has more than the 89,478,485 pixels an image may have here "
        "(a decompression bomb?): downscale it or remove it from the folder\n"
    )
    assert gf("data", "show", f"folder:{folder}")[::2] == (2, message)
    assert gf("train", "vae", "--data", f"folder:{folder}", "--max-steps", 1)[::2] == (2, message)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
