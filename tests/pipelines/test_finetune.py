"""Fine-tuning a generator run into a new run: parent recorded, LoRA merged when loaded (the parent's
architecture), frozen parts unchanged, exact resume through the one trainer, clear errors."""

import pytest
import torch

import genforge
from genforge.core.errors import ConfigError
from genforge.pipelines.finetune import finetune_run
from genforge.pipelines.loading import load_run

SEVEN_TO_NINE = {"classes": [7, 8, 9], "per_class": 20}
FAST = {"final_eval": False, "num_samples": 4}


@pytest.fixture(scope="module")
def parent(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    result = genforge.train(
        "vae", "digits", data_options={"classes": list(range(7))}, out=out, max_steps=4, overrides=FAST
    )
    return result.run


def test_lora_finetune_records_parent_and_loads_as_the_parents_architecture(parent, tmp_path):
    result = finetune_run(
        parent.path,
        "digits",
        lora="r=2",
        data_options=SEVEN_TO_NINE,
        out=tmp_path,
        max_steps=3,
        overrides=FAST,
    )
    config = result.run.read_config()
    assert config["transfer"]["parent_id"] == parent.id and config["transfer"]["lora"]["r"] == 2
    assert 0 < config["trainable_parameters"] < config["parameters"]
    assert (result.run.path / "adapter" / "adapter.safetensors").is_file()
    child, base = load_run(result.run), load_run(parent)
    assert set(child.model.state_dict()) == set(base.model.state_dict())  # merged, plain layers
    child_state, base_state = child.model.state_dict(), base.model.state_dict()
    # EMA averaging of an unchanged tensor only rounds it: "moved" means beyond float rounding
    moved = {k for k, v in child_state.items() if not torch.allclose(v, base_state[k], rtol=0, atol=1e-5)}
    adapted = {f"{name}.weight" for name in config["transfer"]["lora_layers"]}
    assert moved and moved <= adapted  # only the adapted layers' weights moved; biases etc. frozen
    assert genforge.sample(result.run.path, 4) is not None


def test_freeze_keeps_the_encoder_fixed(parent, tmp_path):
    result = finetune_run(
        parent.path, "digits", freeze=["encoder"], data_options=SEVEN_TO_NINE, out=tmp_path, max_steps=2,
        overrides=FAST,
    )  # fmt: skip
    child, base = load_run(result.run).model.state_dict(), load_run(parent).model.state_dict()
    assert all(
        torch.allclose(child[k], base[k], rtol=0, atol=1e-5) for k in child if k.startswith("encoder.")
    )
    assert any(not torch.allclose(child[k], base[k], atol=1e-3) for k in child if k.startswith("decoder."))


def test_resume_of_a_lora_finetune_is_exact(parent, tmp_path):
    kwargs = {"lora": "r=2", "data_options": SEVEN_TO_NINE, "seed": 1, "overrides": FAST}
    whole = finetune_run(parent.path, "digits", out=tmp_path / "a", max_steps=4, **kwargs)
    half = finetune_run(parent.path, "digits", out=tmp_path / "b", max_steps=2, **kwargs)
    resumed = genforge.resume(half.run, max_steps=4)
    assert resumed.step == whole.step == 4
    a, b = whole.run.load_checkpoint().tensors, resumed.run.load_checkpoint().tensors
    assert set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)


def test_bad_input(parent, tmp_path):
    with pytest.raises(ConfigError, match="match no Linear/Conv2d"):
        finetune_run(parent.path, "digits", lora="targets=nothing*", out=tmp_path, max_steps=1)
    with pytest.raises(ConfigError, match="same shape"):
        finetune_run(parent.path, "toy2d:moons", out=tmp_path, max_steps=1)
    with pytest.raises(ConfigError, match="matches no parameter"):
        finetune_run(parent.path, "digits", freeze=["nope"], out=tmp_path, max_steps=1)
    assert list(tmp_path.iterdir()) == []  # nothing half-written
