import pytest

from genforge.core.config import Config, split_overrides
from genforge.core.errors import ConfigError, DataError, ModelNotFound
from genforge.core.suggest import did_you_mean


def test_a_close_name_is_suggested_and_a_far_one_is_not():
    assert did_you_mean("vea", ["vae", "gan", "pixelcnn"]) == "; did you mean 'vae'?"
    assert did_you_mean("xyzzy", ["vae", "gan"]) == ""


def test_a_misspelt_family_or_dataset_gets_the_closest_name():
    from genforge.data import load_dataset
    from genforge.pipelines.training import resolve_configs

    with pytest.raises(
        ModelNotFound, match=r"unknown model family 'realnpv' \(available: .*\); did you mean 'realnvp'\?$"
    ):
        resolve_configs("realnpv", {})
    with pytest.raises(
        DataError, match=r"unknown dataset spec 'toy2' \(available: .*\); did you mean 'toy2d'\?$"
    ):
        load_dataset("toy2:moons")


class Small(Config):
    learning_rate: float = 0.1
    batch_size: int = 2


def test_unknown_config_keys_suggest_the_closest_key():
    with pytest.raises(
        ConfigError,
        match=r"unknown config key 'learnig_rate' \(known keys: .*\); did you mean 'learning_rate'\?$",
    ):
        split_overrides({"learnig_rate": 1}, {"train": Small})
    with pytest.raises(ConfigError, match=r"^unknown train key 'batchsize'; did you mean 'batch_size'\?$"):
        Small.build({"batchsize": 3}, where="train")
