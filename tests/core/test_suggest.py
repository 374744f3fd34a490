import pytest

from genforge.core.config import Config, split_overrides
from genforge.core.errors import ConfigError, ModelNotFound
from genforge.core.registry import Registry
from genforge.core.suggest import did_you_mean


def test_a_close_name_is_suggested_and_a_far_one_is_not():
    assert did_you_mean("vea", ["vae", "gan", "pixelcnn"]) == "did you mean 'vae'? "
    assert did_you_mean("xyzzy", ["vae", "gan"]) == ""


def test_a_registry_suggests_the_closest_name():
    registry = Registry("model family")
    for name in ("vae", "gan", "realnvp"):
        registry.register(name)(object())
    with pytest.raises(ModelNotFound) as err:
        registry.get("realnpv")
    assert (
        str(err.value)
        == "unknown model family 'realnpv' (did you mean 'realnvp'? available: gan, realnvp, vae)"
    )


class Small(Config):
    learning_rate: float = 0.1
    batch_size: int = 2


def test_unknown_config_keys_suggest_the_closest_key():
    with pytest.raises(
        ConfigError, match=r"unknown config key 'learnig_rate' \(did you mean 'learning_rate'\?"
    ):
        split_overrides({"learnig_rate": 1}, {"train": Small})
    with pytest.raises(ConfigError, match=r"unknown train key 'batchsize' \(did you mean 'batch_size'\?\)"):
        Small.build({"batchsize": 3}, where="train")
