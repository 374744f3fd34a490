"""``genforge metrics ...`` on files: results, bad input as one error line, the feature cache, lean imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import sacrebleu
from PIL import Image
from rouge_score import rouge_scorer
from sklearn.metrics import precision_recall_fscore_support

from genforge.cli.main import main
from genforge.data import load_dataset
from genforge.metrics import image, lpips
from genforge.metrics.extractors import extract, load_extractor
from genforge.metrics.frechet import frechet_distance
from genforge.metrics.inception_score import inception_score
from genforge.metrics.kid import kernel_distance, mmd_rbf
from genforge.metrics.prdc import precision_recall_density_coverage


def run_cli(capsys, *args):
    code = main(["metrics", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _features(tmp_path, name, array, key="features"):
    path = tmp_path / f"{name}.npz"
    np.savez(path, **{key: array})
    return path


def _digit_folder(path, images):
    path.mkdir()
    for i, img in enumerate(images):
        Image.fromarray(img).save(path / f"{i:04d}.png")
    return path


@pytest.fixture(scope="module")
def digits_uint8():
    x = load_dataset("digits").split("test")["x"][:, 0]  # (270, 8, 8) levels 0..16
    return (x.float() * 255 / 16).round().byte().numpy()


def test_fd_on_feature_files_prints_json_with_value_n_and_extractor(tmp_path, capsys):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(200, 6)), rng.normal(size=(150, 6)) + 0.5
    code, out, _ = run_cli(capsys, "fd", _features(tmp_path, "a", a), _features(tmp_path, "b", b), "--json")
    result = json.loads(out)
    assert code == 0 and list(result)[0] == "fd"
    assert result["fd"] == pytest.approx(frechet_distance(a, b)["fd"], rel=1e-12)
    assert (result["n_real"], result["n_fake"], result["extractor"]) == (200, 150, "precomputed")


def test_every_set_metric_runs_on_feature_files(tmp_path, capsys):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(120, 4)), rng.normal(size=(110, 4))
    a, b = _features(tmp_path, "a", x), _features(tmp_path, "b", y)
    for args, want in (
        (
            ["kid", "--subset-size", "50", "--subsets", "5", "--seed", "3"],
            kernel_distance(x, y, subset_size=50, subsets=5, seed=3),
        ),
        (["prdc", "--k-pr", "4"], precision_recall_density_coverage(x, y, k_pr=4)),
        (["mmd", "--seed", "2"], mmd_rbf(x, y, seed=2)),
    ):
        code, out, _ = run_cli(capsys, args[0], a, b, *args[1:], "--json")
        result = json.loads(out)
        assert code == 0 and {k: result[k] for k in want} == json.loads(json.dumps(want))
    code, out, _ = run_cli(capsys, "fd", a, b)
    assert code == 0 and "frechet_distance" in out  # the human table


@pytest.fixture
def bad(tmp_path):
    """Real files for bad-input cases: features of 3 and 4 dimensions, an empty folder, a folder of two
    sizes, a folder of two RGB images and a weights file that is not the FID one."""
    rng = np.random.default_rng(2)
    files = SimpleNamespace(
        a=_features(tmp_path, "a", rng.normal(size=(20, 3))),
        b=_features(tmp_path, "b", rng.normal(size=(20, 4))),
        empty=tmp_path / "empty",
        mixed=tmp_path / "mixed",
        images=tmp_path / "images",
        wrong=tmp_path / "weights.pth",
    )
    for folder in (files.empty, files.mixed, files.images):
        folder.mkdir()
    Image.new("L", (8, 8)).save(files.mixed / "a.png")
    Image.new("L", (9, 8)).save(files.mixed / "b.png")
    for i in range(2):
        Image.new("RGB", (16, 16)).save(files.images / f"{i}.png")
    files.wrong.write_bytes(b"not the FID weights")
    return files


def test_bad_inputs_are_one_error_line_and_exit_2(tmp_path, capsys, bad):
    rng = np.random.default_rng(3)
    a, b, empty, mixed = bad.a, bad.b, bad.empty, bad.mixed
    cases = [
        (["fd", a, b], "dimensions"),
        (["fd", a, tmp_path / "missing.npz"], "does not exist"),
        (["fd", empty, empty], "has no .png"),
        (["fd", mixed, mixed], "differ in size"),
        (["fd", a, _features(tmp_path, "c", rng.normal(size=(1, 3)))], "at least 2"),
        (["fd", a, a, "--extractor", "digits"], "already holds features"),
        (["kid", a, a, "--subset-size", "100"], "subset size"),
    ]
    for args, message in cases:
        code, _, err = run_cli(capsys, *args)
        assert code == 2, args
        assert err.startswith("error: ") and message in err and err.count("\n") == 1, err


def test_image_folders_use_the_digits_extractor_and_cache_the_real_features(tmp_path, capsys, digits_uint8):
    real = _digit_folder(tmp_path / "real", digits_uint8[:120])
    fake = _digit_folder(tmp_path / "fake", digits_uint8[120:240])
    cache = tmp_path / "cache"
    code, out, _ = run_cli(capsys, "fd", real, fake, "--cache-dir", cache, "--json")
    first = json.loads(out)
    assert code == 0 and first["extractor"] == "digits" and "fd_digits" in first and "fid" not in first
    entries = sorted(p.suffix for p in cache.iterdir())
    assert entries == [".json", ".safetensors"]  # only the real set is cached
    meta = json.loads(next(cache.glob("*.json")).read_text())
    assert meta["extractor"] == "digits" and meta["shape"] == [120, 128]
    code, out, _ = run_cli(capsys, "fd", real, fake, "--cache-dir", cache, "--json")
    assert json.loads(out)["fd_digits"] == pytest.approx(first["fd_digits"], rel=1e-12)
    code, out, _ = run_cli(capsys, "fd", real, fake, "--cache-dir", cache, "--n", "60", "--json")
    assert json.loads(out)["n_real"] == 60 and len(list(cache.glob("*.json"))) == 2  # N is part of the key
    code, out, _ = run_cli(capsys, "fd", real, fake, "--cache-dir", cache, "--resize", "bilinear", "--json")
    assert code == 0 and len(list(cache.glob("*.json"))) == 3  # and so is the resize mode
    code, out, _ = run_cli(capsys, "fd", real, fake, "--cache-dir", cache, "--extractor", "pixels", "--json")
    assert code == 0 and len(list(cache.glob("*.json"))) == 4  # and the extractor (by its hash)


def test_a_failing_run_writes_no_cache_entry(tmp_path, capsys, digits_uint8):
    real = _digit_folder(tmp_path / "real", digits_uint8[:20])
    rgb = tmp_path / "rgb"
    rgb.mkdir()
    for i in range(3):
        Image.new("RGB", (8, 8)).save(rgb / f"{i}.png")
    cache = tmp_path / "cache"
    code, _, err = run_cli(capsys, "fd", real, rgb, "--cache-dir", cache)
    assert code == 2 and "1x8x8" in err
    code, _, err = run_cli(capsys, "fd", rgb, rgb, "--extractor", "digits", "--cache-dir", cache)
    assert code == 2 and "1-channel" in err
    wrong = tmp_path / "weights.pth"
    wrong.write_bytes(b"not the FID weights")
    code, _, err = run_cli(
        capsys, "fd", real, real, "--extractor", f"inception:{wrong}", "--cache-dir", cache
    )
    assert code == 2 and "refusing" in err and err.count("\n") == 1
    assert not cache.exists() or not any(cache.iterdir())


def test_bad_image_sets_are_one_error_line_and_leave_no_cache_entry(tmp_path, capsys, digits_uint8):
    real = _digit_folder(tmp_path / "real", digits_uint8[:30])
    one = _digit_folder(tmp_path / "one", digits_uint8[:1])
    three = _digit_folder(tmp_path / "three", digits_uint8[30:33])
    channels = tmp_path / "channels"
    channels.mkdir()
    Image.new("L", (8, 8)).save(channels / "a.png")
    Image.new("RGB", (8, 8)).save(channels / "b.png")
    cache = tmp_path / "cache"
    cases = [
        (["fd", real, channels], "differ in size or channels"),  # one grey and one colour image
        (["fd", real, one], "at least 2 fake"),  # the real set's features were computed first
        (["prdc", real, three], "at least 4 fake"),  # k = 3 neighbours other than the point itself
        (["kid", real, three, "--subset-size", "10"], "subset size"),
        (["mmd", three, one], "at least 2 fake"),
    ]
    for args, message in cases:
        code, _, err = run_cli(capsys, *args, "--cache-dir", cache)
        assert code == 2, args
        assert err.startswith("error: ") and message in err and err.count("\n") == 1, err
        assert not cache.exists() or not any(cache.iterdir()), args  # nothing cached by a failed command
    code, _, _ = run_cli(capsys, "fd", real, three, "--cache-dir", cache, "--json")
    assert code == 0 and len(list(cache.glob("*.json"))) == 1  # the same real set, cached on success


def test_the_installed_command_reports_bad_input_in_one_line_without_a_traceback(bad):
    a, b, wrong = bad.a, bad.b, bad.wrong
    genforge = Path(sys.executable).with_name("genforge")
    for args, message in (
        (["fd", a, b], "3 dimensions but fake features have 4"),
        (["fd", bad.empty, bad.empty], "has no .png"),
        (["fd", a, a, "--extractor", f"inception:{wrong}"], "already holds features"),
        (
            ["is", bad.images, "--extractor", f"inception:{wrong}"],
            "refusing to compute FID with other weights",
        ),
    ):
        done = subprocess.run([genforge, "metrics", *map(str, args)], capture_output=True, text=True)
        assert done.returncode == 2, (args, done.stderr)
        assert done.stderr.startswith("error: ") and message in done.stderr, done.stderr
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr and not done.stdout


def test_is_and_paired_image_metrics_on_image_arrays(tmp_path, capsys, digits_uint8):
    images = _features(tmp_path, "imgs", digits_uint8[:100, None], key="images")
    code, out, _ = run_cli(capsys, "is", images, "--splits", "5", "--json")
    result = json.loads(out)
    x = digits_uint8[:100, None].astype(np.float32) / 255
    logits = extract(load_extractor("digits"), x, output="logits")
    want = inception_score(logits, splits=5, seed=0, source=load_extractor("digits").source)
    assert code == 0 and result["is_digits"] == want["is_digits"] and result["n"] == 100
    y = x[::-1].copy()
    np.savez(tmp_path / "flipped.npz", images=digits_uint8[:100, None][::-1])
    for metric, want in (
        ("psnr", image.psnr(x, y, data_range=1.0)),
        ("ssim", image.ssim(x, y, data_range=1.0, kernel_size=3)),
        ("lpips", lpips.lpips_distance(x, y)),
    ):
        extra = ["--kernel-size", "3"] if metric == "ssim" else []
        code, out, _ = run_cli(capsys, metric, images, tmp_path / "flipped.npz", *extra, "--json")
        result = json.loads(out)
        assert code == 0 and {k: result[k] for k in want} == json.loads(json.dumps(want))


def test_classify_equals_scikit_learn_for_every_average(tmp_path, capsys):
    rng = np.random.default_rng(3)
    t = rng.integers(0, 4, 300)
    p = np.where(rng.random(300) < 0.7, t, rng.integers(0, 4, 300))
    np.savetxt(tmp_path / "t.csv", t, fmt="%d")
    np.savetxt(tmp_path / "p.csv", p, fmt="%d")
    for average in ("macro", "micro", "weighted"):
        code, out, _ = run_cli(
            capsys, "classify", tmp_path / "t.csv", tmp_path / "p.csv", "--average", average, "--json"
        )
        result = json.loads(out)
        want = precision_recall_fscore_support(t, p, average=average)
        assert code == 0 and (result["precision"], result["recall"], result["f1"]) == want[:3]
    code, out, _ = run_cli(capsys, "classify", tmp_path / "t.csv", tmp_path / "p.csv")
    assert code == 0 and "confusion matrix" in out


def test_classify_reads_a_named_csv_column_with_string_labels(tmp_path, capsys):
    (tmp_path / "t.csv").write_text("id,label\n1,cat\n2,dog\n3,dog\n")
    (tmp_path / "p.csv").write_text("id,label\n1,cat\n2,cat\n3,dog\n")
    code, out, _ = run_cli(
        capsys,
        "classify",
        tmp_path / "t.csv",
        tmp_path / "p.csv",
        "--column",
        "label",
        "--average",
        "none",
        "--json",
    )
    result = json.loads(out)
    assert code == 0 and result["labels"] == ["cat", "dog"] and result["per_label"][1]["recall"] == 0.5


def test_text_metrics_from_files(tmp_path, capsys):
    (tmp_path / "h.txt").write_text("the cat sat on the mat\na dog barked\n")
    (tmp_path / "r.txt").write_text("the cat sat on a mat\nthe dog barked\n")
    code, out, _ = run_cli(capsys, "text", tmp_path / "h.txt", tmp_path / "r.txt", "--json")
    result = json.loads(out)
    hyps, refs = ["the cat sat on the mat", "a dog barked"], ["the cat sat on a mat", "the dog barked"]
    assert code == 0 and result["bleu"] == sacrebleu.corpus_bleu(hyps, [refs]).score
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    rouge_l = [scorer.score(r, h)["rougeL"].fmeasure for h, r in zip(hyps, refs, strict=True)]
    assert result["rougeL_f"] == pytest.approx(sum(rouge_l) / 2, rel=1e-12)
    assert result["distinct_1"] == 8 / 9 and result["distinct_2"] == 1.0  # "the" twice in 9 words


def test_extractors_are_listed_with_hashes(capsys):
    code, out, _ = run_cli(capsys, "extractors", "--json")
    names = [row["name"] for row in json.loads(out)["extractors"]]
    assert code == 0 and names[0] == "digits" and "inception:PATH" in names


def test_fd_on_feature_files_does_not_import_torch(tmp_path):
    rng = np.random.default_rng(4)
    a, b = (
        _features(tmp_path, "a", rng.normal(size=(50, 3))),
        _features(tmp_path, "b", rng.normal(size=(50, 3))),
    )
    code = (
        "import sys\nfrom genforge.cli.main import main\n"
        f"rc = main(['metrics', 'fd', {str(a)!r}, {str(b)!r}, '--json'])\n"
        "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH', rc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("NO-TORCH 0")


def test_an_unusable_cache_folder_is_one_line_before_any_feature_is_computed(tmp_path, capsys, digits_uint8):
    real = _digit_folder(tmp_path / "real", digits_uint8[:20])
    a_file = tmp_path / "file"
    a_file.write_text("x")
    for cache, message in (
        (a_file, "is a file"),
        (a_file / "below", "is a file"),
        ("/proc/genforge-cache", "cannot write"),
    ):
        code, out, err = run_cli(capsys, "fd", real, real, "--cache-dir", cache)
        assert code == 2 and message in err and err.count("\n") == 1 and out == "", err
    code, out, _ = run_cli(capsys, "fd", real, real, "--cache-dir", tmp_path / "new" / "cache", "--json")
    assert code == 0 and len(list((tmp_path / "new" / "cache").glob("*.safetensors"))) == 1  # made on success
