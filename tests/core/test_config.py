import pytest
from pydantic import Field

from genforge.core.config import Config, parse_overrides, split_overrides
from genforge.core.errors import ConfigError


class ModelCfg(Config):
    loss: str = Field("ns", description="loss")
    spectral_norm: bool = Field(False, description="sn")


class TrainCfg(Config):
    lr: float = Field(1e-3, gt=0, description="lr")


def test_overrides_parse_json_values_and_strings():
    assert parse_overrides(["loss=hinge", "spectral_norm=true", "lr=2e-4", "dims=[1, 2]"]) == {
        "loss": "hinge",
        "spectral_norm": True,
        "lr": 2e-4,
        "dims": [1, 2],
    }


def test_override_without_equals_is_an_error():
    with pytest.raises(ConfigError, match="--set expects key=value, got 'loss'"):
        parse_overrides(["loss"])


def test_bare_and_qualified_keys_route_to_their_section():
    routed = split_overrides({"loss": "hinge", "train.lr": 0.1}, {"model": ModelCfg, "train": TrainCfg})
    assert routed == {"model": {"loss": "hinge"}, "train": {"lr": 0.1}}


def test_unknown_key_names_the_key():
    with pytest.raises(ConfigError, match="unknown config key 'los'"):
        split_overrides({"los": 1}, {"model": ModelCfg, "train": TrainCfg})


def test_bad_value_names_key_and_value():
    with pytest.raises(ConfigError, match=r"bad value for train key 'lr'.*got -1"):
        TrainCfg.build({"lr": -1}, where="train")
    with pytest.raises(ConfigError, match="unknown model key 'extra'"):
        ModelCfg.build({"extra": 1}, where="model")
