"""LoRA adapters: a fresh adapter changes nothing, merged equals unmerged, only adapters train, the
adapter file round-trips, and a target that matches nothing is one clear error."""

import pytest
import torch
from torch import nn

from genforge.core.errors import CheckpointError, ConfigError
from genforge.transfer.lora import (
    LoraConfig,
    apply_lora,
    load_adapter,
    merge_lora,
    parse_lora,
    remove_lora,
    save_adapter,
    trainable_fraction,
    unmerge_lora,
)


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1, stride=2)
        self.head = nn.Linear(4 * 4 * 4, 10)

    def forward(self, x):
        return self.head(torch.relu(self.conv(x)).flatten(1))


def _net(seed=0):
    torch.manual_seed(seed)
    return Net()


def _train_adapters(model, x, steps=5):
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    for _ in range(steps):
        opt.zero_grad()
        model(x).square().mean().backward()
        opt.step()


def test_fresh_adapter_is_identity_and_only_adapters_train():
    model, x = _net(), torch.randn(3, 1, 8, 8)
    before = model(x).detach()
    frozen = {k: v.clone() for k, v in model.state_dict().items()}
    wrapped = apply_lora(model, LoraConfig(r=2))
    assert sorted(wrapped) == ["conv", "head"]
    assert torch.equal(model(x), before)
    trainable = sorted(n for n, p in model.named_parameters() if p.requires_grad)
    assert trainable == [
        "conv.lora_A.weight",
        "conv.lora_B.weight",
        "head.lora_A.weight",
        "head.lora_B.weight",
    ]
    assert 0 < trainable_fraction(model) < 0.5
    _train_adapters(model, x)
    assert not torch.allclose(model(x), before)
    for name, value in frozen.items():  # base weights untouched by training
        layer, _, kind = name.partition(".")
        assert torch.equal(model.state_dict()[f"{layer}.base.{kind}"], value)


def test_merged_output_equals_unmerged_and_unmerge_restores():
    model, x = _net(), torch.randn(3, 1, 8, 8)
    apply_lora(model, LoraConfig(r=3, alpha=6.0))
    _train_adapters(model, x)
    model.eval()
    unmerged = model(x).detach()
    base_before = model.conv.base.weight.clone()
    merge_lora(model)
    torch.testing.assert_close(model(x), unmerged, rtol=1e-5, atol=1e-6)
    unmerge_lora(model)
    torch.testing.assert_close(model.conv.base.weight, base_before, rtol=0, atol=1e-6)
    plain = remove_lora(model)
    assert isinstance(plain.conv, nn.Conv2d) and set(plain.state_dict()) == set(_net().state_dict())
    torch.testing.assert_close(plain(x), unmerged, rtol=1e-5, atol=1e-6)


def test_adapter_round_trip(tmp_path):
    model, x = _net(), torch.randn(2, 1, 8, 8)
    config = LoraConfig(r=2, targets=["head"])
    assert apply_lora(model, config) == ["head"]
    _train_adapters(model, x)
    model.eval()
    save_adapter(model, config, tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {"adapter.safetensors", "adapter.json"}
    fresh = _net()  # same base weights (same seed), adapters loaded from the file
    assert load_adapter(fresh, tmp_path) == config
    fresh.eval()
    torch.testing.assert_close(fresh(x), model(x))


def test_bad_targets_and_specs():
    with pytest.raises(ConfigError, match="match no Linear/Conv2d layer.*conv, head"):
        apply_lora(_net(), LoraConfig(targets=["encoder*"]))
    assert parse_lora("r=4,alpha=8,targets=conv|head") == LoraConfig(r=4, alpha=8, targets=["conv", "head"])
    with pytest.raises(ConfigError, match="--lora"):
        parse_lora("r=0")
    with pytest.raises(ConfigError, match="key=value"):
        parse_lora("8")
    with pytest.raises(CheckpointError, match="no LoRA adapter"):
        load_adapter(_net(), "/nonexistent")
