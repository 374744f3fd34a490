"""Every file a metric command reads, damaged or of the wrong kind, is one error line naming the file.

The walk takes every ``genforge metrics`` command from the registry, puts each damaged file in each of
its input slots (the other slots hold good files) and checks: exit status 2, one line on stderr that
starts with ``error:`` and names the damaged file, no traceback, nothing on stdout.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from genforge.cli.main import main
from genforge.metrics.inputs import read_input, read_labels
from genforge.metrics.registry import metric_specs
from genforge.pipelines.measure import READERS

SET_KINDS = ("feature-set", "image-score", "pairwise")


def _write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, dict[str, Path]]:
    """Good inputs for each kind of slot and damaged ones: ``{"good": {...}, "sets": {...}, "texts": {...}}``."""
    root = tmp_path_factory.mktemp("inputs")
    rng = np.random.default_rng(0)
    digits = rng.integers(0, 256, size=(12, 1, 8, 8), dtype=np.uint8)
    good = {
        "features": root / "good_features.npz",
        "images": root / "good_images.npz",
        "labels": _write(root / "good_labels.txt", "0\n1\n1\n0\n"),
        "scores": _write(root / "good_scores.txt", "0.1\n0.9\n0.7\n0.2\n"),
        "sentences": _write(root / "good_sentences.txt", "a cat\na dog\nthe bird\nit rains\n"),
    }
    np.savez(good["features"], features=rng.normal(size=(12, 3)))
    np.savez(good["images"], images=digits)

    sets: dict[str, Path] = {
        "missing": root / "missing.npz",
        "empty_npz": _write(root / "empty.npz", b""),
        "empty_npy": _write(root / "empty.npy", b""),
        "garbage_npz": _write(root / "garbage.npz", rng.bytes(300)),
        "garbage_npy": _write(root / "garbage.npy", rng.bytes(300)),
        "text_npz": _write(root / "text_as.npz", "features\n1,2,3\n"),
        "labels_csv": _write(root / "labels_as_set.csv", "0\n1\n"),
        "no_suffix": _write(root / "noext", b"\x00\x01"),
    }
    np.save(root / "bare.npy", np.zeros((3, 2)))
    sets["npy_named_npz"] = (root / "bare.npy").rename(root / "bare_array.npz")
    np.savez(root / "archive.npz", features=np.zeros((3, 2)))
    sets["npz_named_npy"] = (root / "archive.npz").rename(root / "archive_as.npy")
    np.savez(root / "wrong_keys.npz", x=np.zeros((3, 2)), y=np.zeros((3, 2)))
    np.savez(root / "no_arrays.npz")
    np.save(root / "objects.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    np.save(root / "strings.npy", np.array(["a", "b"]))
    np.save(root / "scalar.npy", np.array(3.0))
    np.save(root / "one_d.npy", np.arange(5.0))
    np.save(root / "five_d.npy", np.zeros((2, 1, 1, 8, 8)))
    np.save(root / "zero_rows.npy", np.zeros((0, 4)))
    np.savez(root / "nan_features.npz", features=np.array([[0.0, np.nan], [1.0, 2.0]]))
    np.savez(root / "inf_images.npz", images=np.full((2, 1, 8, 8), np.inf, dtype=np.float32))
    np.savez(root / "bright_images.npz", images=np.full((2, 1, 8, 8), 200.0, dtype=np.float32))
    np.savez(root / "complex_features.npz", features=np.ones((3, 2), dtype=np.complex128))
    np.savez(root / "bool_images.npz", images=np.ones((2, 1, 8, 8), dtype=bool))
    np.savez(root / "two_channel_images.npz", images=np.zeros((2, 2, 8, 8), dtype=np.uint8))
    for name in ("wrong_keys.npz", "no_arrays.npz", "objects.npy", "strings.npy", "scalar.npy", "one_d.npy",
                 "five_d.npy", "zero_rows.npy", "nan_features.npz", "inf_images.npz", "bright_images.npz",
                 "complex_features.npz", "bool_images.npz", "two_channel_images.npz"):  # fmt: skip
        sets[name] = root / name
    whole = root / "whole.npz"
    np.savez_compressed(whole, features=rng.normal(size=(200, 8)))
    sets["truncated_npz"] = _write(root / "truncated.npz", whole.read_bytes()[: whole.stat().st_size // 2])
    with zipfile.ZipFile(root / "corrupt_member.npz", "w") as archive:
        archive.writestr("features.npy", b"\x93NUMPY\x01\x00garbage")
    sets["corrupt_member"] = root / "corrupt_member.npz"
    bad_png = root / "bad_png_folder"
    bad_png.mkdir()
    Image.fromarray(digits[0, 0]).save(bad_png / "a.png")
    _write(bad_png / "b.png", "this is not a png")
    sets["bad_png_folder"] = bad_png
    empty_folder = root / "empty_folder"
    empty_folder.mkdir()
    sets["empty_folder"] = empty_folder

    texts: dict[str, Path] = {
        "missing": root / "missing.txt",
        "empty": _write(root / "empty.txt", ""),
        "blank": _write(root / "blank.txt", "\n  \n"),
        "invalid_utf8": _write(root / "latin1.txt", b"caf\xe9\n\xff\xfe\n"),
        "nul_bytes": _write(root / "nul.txt", b"1\n\x002\n"),
        "binary_npz": good["features"],
        "folder": empty_folder,
    }
    return {"good": good, "sets": sets, "texts": texts}


def _good_inputs(kind: str, good: dict[str, Path]) -> list[Path]:
    return {
        "feature-set": [good["features"], good["features"]],
        "image-score": [good["images"]],
        "pairwise": [good["images"], good["images"]],
        "classification": [good["labels"], good["labels"]],
        "scores": [good["labels"], good["scores"]],
        "text": [good["sentences"], good["sentences"]],
    }[kind]


def _damaged_for(kind: str, slot: int, files: dict[str, dict[str, Path]], tmp: Path) -> dict[str, Path]:
    if kind in SET_KINDS:
        return files["sets"]
    damaged = dict(files["texts"])
    if kind in ("classification", "scores") and slot == 0 or kind == "classification":
        damaged["non_integer_labels"] = _write(tmp / "half_labels.txt", "0.5\n1\n1.5\n0\n")
        damaged["two_columns"] = _write(tmp / "two_columns.csv", "id,label\n1,0\n2,1\n3,1\n4,0\n")
    if kind == "scores" and slot == 1:
        damaged["not_numbers"] = _write(tmp / "words_as_scores.txt", "high\n0.2\n0.3\n0.4\n")
        damaged["nan_scores"] = _write(tmp / "nan_scores.txt", "nan\n0.2\n0.3\n0.4\n")
    if kind in ("classification", "scores"):
        damaged["too_few"] = _write(tmp / "three_rows.txt", "0\n1\n1\n")
    if kind == "text" and slot == 1:
        damaged["misaligned"] = _write(tmp / "three_sentences.txt", "a\nb\nc\n")
    return damaged


COMMANDS = [(spec.name, spec.kind) for spec in metric_specs() if spec.kind in READERS]


@pytest.mark.parametrize("name,kind", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_every_damaged_or_foreign_input_is_one_line_naming_the_file(
    name, kind, files, tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # the default feature cache would go here
    good = _good_inputs(kind, files["good"])
    walked = 0
    for slot in range(len(good)):
        for label, damaged in _damaged_for(kind, slot, files, tmp_path).items():
            inputs = list(good)
            inputs[slot] = damaged
            code = main(["metrics", name, *map(str, inputs)])
            out, err = capsys.readouterr()
            where = f"metrics {name}, slot {slot}, {label}: {err!r}"
            assert code == 2, where
            assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, where
            assert damaged.name in err and out == "", where
            walked += 1
    assert walked >= 14 * len(good) if kind in SET_KINDS else walked >= 7 * len(good)


def test_the_label_reader_keeps_what_it_promises(tmp_path):
    assert read_labels(_write(tmp_path / "a.txt", "\ufeff2\n0\n1\n")).tolist() == [2, 0, 1]  # BOM dropped
    assert read_labels(_write(tmp_path / "b.txt", "1.0\n2.0\n")).tolist() == [1, 2]
    assert read_labels(_write(tmp_path / "c.txt", "cat\ndog\n")).tolist() == ["cat", "dog"]
    csv = _write(tmp_path / "d.csv", "id,label\n1,[/bold]\n2,dog\n")
    assert read_labels(csv, "label").tolist() == ["[/bold]", "dog"]
    assert read_labels(csv, 0).tolist() == ["id", "1", "2"]


def test_set_files_of_channels_last_and_integer_types_are_read_as_images(tmp_path):
    np.save(tmp_path / "hwc.npy", np.zeros((2, 8, 8, 3), dtype=np.uint8))
    item = read_input(tmp_path / "hwc.npy")
    assert item.kind == "images" and item.array.shape == (2, 3, 8, 8) and item.array.dtype == np.float32
    with open(tmp_path / "upper.NPZ", "wb") as handle:  # numpy.savez would append .npz to a path
        np.savez(handle, features=np.ones((2, 3), dtype=np.int32))
    assert read_input(tmp_path / "upper.NPZ").kind == "features"
