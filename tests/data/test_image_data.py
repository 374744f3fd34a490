import numpy as np
import pytest
import torch
from PIL import Image

from genforge.core.errors import DataError
from genforge.data import load_dataset


def _write_images(folder, n, size=(12, 10), mode="RGB"):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode=mode).save(folder / f"{i:03d}.png")


def test_digits_has_fixed_split_and_17_levels():
    d = load_dataset("digits")
    assert d.info.shape == (1, 8, 8) and d.info.num_levels == 17 and d.info.num_classes == 10
    sizes = {k: d.size(k) for k in ("train", "val", "test")}
    assert sizes == {"train": 1257, "val": 270, "test": 270}
    assert int(d.split("train")["x"].max()) == 16
    again = load_dataset("digits")
    assert torch.equal(d.split("test")["x"], again.split("test")["x"])


def test_digits_read_without_scikit_learn_equal_load_digits():
    from sklearn.datasets import load_digits

    from genforge.data.images import digits_tensors

    x, y = digits_tensors()
    bunch = load_digits()
    assert x.shape == (1797, 1, 8, 8) and x.dtype == torch.uint8 and y.dtype == torch.long
    assert np.array_equal(x.squeeze(1).numpy(), bunch.images) and np.array_equal(y.numpy(), bunch.target)


def test_digits_can_be_resized_to_256_levels():
    d = load_dataset("digits", {"image_size": 16})
    assert d.info.shape == (1, 16, 16) and d.info.num_levels == 256


def test_folder_of_rgb_images_with_resize(tmp_path):
    _write_images(tmp_path / "imgs", 20)
    d = load_dataset(f"folder:{tmp_path / 'imgs'}", {"image_size": 8})
    assert d.info.shape == (3, 8, 8) and d.info.num_levels == 256
    assert sum(d.size(s) for s in ("train", "val", "test")) == 20


def test_folder_of_grey_images_is_detected(tmp_path):
    _write_images(tmp_path / "g", 12, mode="L")
    assert load_dataset(f"folder:{tmp_path / 'g'}").info.shape == (1, 10, 12)


def test_missing_and_empty_folders_are_clear_errors(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_dataset(f"folder:{tmp_path / 'nope'}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="has no .png"):
        load_dataset(f"folder:{tmp_path / 'empty'}")


def test_truncated_image_error_names_the_file(tmp_path):
    _write_images(tmp_path / "t", 12)
    bad = tmp_path / "t" / "005.png"
    bad.write_bytes(bad.read_bytes()[:40])
    with pytest.raises(DataError, match="005.png"):
        load_dataset(f"folder:{tmp_path / 't'}")


def test_mixed_sizes_need_image_size(tmp_path):
    _write_images(tmp_path / "m", 11)
    Image.new("RGB", (30, 30)).save(tmp_path / "m" / "zz.png")
    with pytest.raises(DataError, match=r"mixed image sizes.*zz.png.*--image-size"):
        load_dataset(f"folder:{tmp_path / 'm'}")
    assert load_dataset(f"folder:{tmp_path / 'm'}", {"image_size": 8}).info.shape == (3, 8, 8)


def test_unknown_dataset_and_option_are_clear_errors():
    from genforge.core.errors import ConfigError

    with pytest.raises(DataError, match="unknown dataset spec 'mnist'"):
        load_dataset("mnist")
    with pytest.raises(ConfigError, match="unknown digits data option key 'tokenizer'"):
        load_dataset("digits", {"tokenizer": "bpe"})


def test_augmentation_changes_training_batches_only_through_generator():
    d = load_dataset("digits", {"augment": ["hflip=1.0"]})
    batch = {k: v[:4] for k, v in d.split("train").items()}
    out = d.augment(batch, torch.Generator().manual_seed(0))
    assert torch.equal(out["x"], batch["x"].flip(-1)) and torch.equal(out["y"], batch["y"])


def test_digits_classes_and_per_class_options():
    data = load_dataset("digits", {"classes": [7, 8, 9], "per_class": 50})
    train = data.split("train")
    assert sorted(train["y"].unique().tolist()) == [7, 8, 9]
    assert torch.bincount(train["y"], minlength=10)[7:].tolist() == [50, 50, 50]
    full_test = load_dataset("digits").split("test")
    assert len(data.split("test")["y"]) == int(torch.isin(full_test["y"], torch.tensor([7, 8, 9])).sum())
    with pytest.raises(DataError, match="among 0..9"):
        load_dataset("digits", {"classes": [12]})
