"""Synthetic scenes: boxes and masks agree with what is visible, COCO JSON is exported, the same seed
gives the same scenes, and impossible settings or damaged annotations are one clear error."""

import json

import pytest
import torch

from genforge.core.errors import ConfigError, DataError
from genforge.core.io import load_tensors
from genforge.data import load_dataset
from genforge.data.scenes import SceneConfig, make_scenes


@pytest.fixture(scope="module")
def scenes_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("scenes") / "s"
    make_scenes(out, SceneConfig(n=24, canvas=32, max_objects=3), seed=1)
    return out


def test_every_box_is_the_tight_box_of_its_visible_mask(scenes_dir):
    tensors = load_tensors(scenes_dir / "scenes.safetensors")
    coco = json.loads((scenes_dir / "annotations.json").read_text())
    by_image: dict[int, list] = {}
    for ann in coco["annotations"]:
        by_image.setdefault(ann["image_id"], []).append(ann)
    assert len(coco["images"]) == 24 and len(coco["categories"]) == 10
    for image_id, anns in by_image.items():
        instances = tensors["instances"][image_id - 1]
        semantic = tensors["semantic"][image_id - 1]
        for k, ann in enumerate(anns, 1):
            ys, xs = torch.nonzero(instances == k, as_tuple=True)
            x, y, w, h = ann["bbox"]
            assert (x, y, x + w - 1, y + h - 1) == (
                int(xs.min()),
                int(ys.min()),
                int(xs.max()),
                int(ys.max()),
            )
            assert ann["area"] == len(xs)
            assert set(semantic[instances == k].tolist()) == {ann["category_id"]}
        assert int(instances.max()) == len(anns)


def test_the_same_seed_gives_the_same_scenes(scenes_dir, tmp_path):
    make_scenes(tmp_path / "again", SceneConfig(n=24, canvas=32, max_objects=3), seed=1)
    assert (tmp_path / "again" / "scenes.safetensors").read_bytes() == (
        scenes_dir / "scenes.safetensors"
    ).read_bytes()
    assert (tmp_path / "again" / "annotations.json").read_text() == (
        scenes_dir / "annotations.json"
    ).read_text()


def test_scenes_load_as_splits_with_boxes_and_masks(scenes_dir):
    data = load_dataset(f"scenes:{scenes_dir}")
    assert data.describe()["sizes"] == {"train": 16, "val": 2, "test": 6}
    test = data.split("test")
    assert test["x"].shape == (6, 1, 32, 32) and test["semantic"].shape == (6, 32, 32)
    assert test["boxes"].shape == (6, 3, 5)
    real = test["boxes"][..., 0] >= 0
    assert real.any(1).all()  # every scene keeps at least one visible digit


def test_impossible_settings_and_bad_folders_are_errors(scenes_dir, tmp_path):
    with pytest.raises(ConfigError, match="cannot fit a 16-pixel canvas"):
        make_scenes(tmp_path / "x", SceneConfig(n=4, canvas=16))
    with pytest.raises(ConfigError, match="already holds scenes"):
        make_scenes(scenes_dir, SceneConfig(n=4, canvas=32))
    with pytest.raises(DataError, match="make scenes"):
        load_dataset(f"scenes:{tmp_path}")
    broken = tmp_path / "broken"
    make_scenes(broken, SceneConfig(n=4, canvas=32, max_objects=1), seed=0)
    coco = json.loads((broken / "annotations.json").read_text())
    coco["annotations"][0]["bbox"] = [30, 30, 8, 8]
    (broken / "annotations.json").write_text(json.dumps(coco))
    with pytest.raises(DataError, match="annotation 1 has a box outside its image"):
        load_dataset(f"scenes:{broken}")


def test_fixed_test_scenes_stay_the_same_as_the_folder_grows(tmp_path):
    small, large = tmp_path / "small", tmp_path / "large"
    make_scenes(small, SceneConfig(n=12, canvas=32, max_objects=2, test_scenes=4), seed=3)
    make_scenes(large, SceneConfig(n=30, canvas=32, max_objects=2, test_scenes=4), seed=3)
    a, b = load_dataset(f"scenes:{small}"), load_dataset(f"scenes:{large}")
    assert a.describe()["sizes"] == {"train": 7, "val": 1, "test": 4}
    assert b.describe()["sizes"] == {"train": 23, "val": 3, "test": 4}
    for key in ("x", "semantic", "instances", "boxes"):
        assert torch.equal(a.split("test")[key], b.split("test")[key])
    assert torch.equal(a.split("train")["x"], b.split("train")["x"][:7])  # the same stream before the test
    # without fixed test scenes the folder's last quarter is the test split, as before
    plain = tmp_path / "plain"
    make_scenes(plain, SceneConfig(n=12, canvas=32, max_objects=2), seed=3)
    assert torch.equal(load_dataset(f"scenes:{plain}").split("train")["x"][:7], a.split("train")["x"])
    assert load_dataset(f"scenes:{plain}").describe()["sizes"]["test"] == 3


def test_the_test_split_size_can_be_chosen_when_loading(scenes_dir):
    assert load_dataset(f"scenes:{scenes_dir}", {"test_scenes": 5}).describe()["sizes"]["test"] == 5
    assert load_dataset(f"scenes:{scenes_dir}", {"test_fraction": 0.5}).describe()["sizes"]["test"] == 12
    with pytest.raises(DataError, match="not both"):
        load_dataset(f"scenes:{scenes_dir}", {"test_scenes": 5, "test_fraction": 0.5})
    with pytest.raises(DataError, match="leave none to train on"):
        load_dataset(f"scenes:{scenes_dir}", {"test_scenes": 22})
    with pytest.raises(ConfigError, match="fewer than 2"):
        make_scenes(scenes_dir.parent / "tiny", SceneConfig(n=5, canvas=32, test_scenes=4))
