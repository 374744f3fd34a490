import json
import os

import pytest
import torch

from genforge.core import io
from genforge.core.errors import CheckpointError


def test_atomic_write_replaces_whole_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "a" / "f.json"
    io.atomic_write_json(target, {"x": 1})
    io.atomic_write_json(target, {"x": 2})
    assert json.loads(target.read_text()) == {"x": 2}
    assert os.listdir(target.parent) == ["f.json"]


def test_failed_write_keeps_old_content(tmp_path):
    target = tmp_path / "f.txt"
    io.atomic_write_text(target, "old")

    class Boom:
        def __bytes__(self):
            raise RuntimeError

    with pytest.raises(TypeError):
        io.atomic_write_bytes(target, Boom())  # type: ignore[arg-type]
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["f.txt"]


def test_tensors_round_trip_through_safetensors(tmp_path):
    tensors = {"a": torch.randn(3, 4), "b": torch.arange(5)}
    io.save_tensors(tmp_path / "t.safetensors", tensors)
    back = io.load_tensors(tmp_path / "t.safetensors")
    assert torch.equal(back["a"], tensors["a"]) and torch.equal(back["b"], tensors["b"])


def test_corrupt_safetensors_is_a_checkpoint_error(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a safetensors file")
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        io.load_tensors(bad)
    with pytest.raises(CheckpointError, match="does not exist"):
        io.load_tensors(tmp_path / "missing.safetensors")


def test_optimizer_state_flattens_and_restores_exactly():
    w = torch.nn.Parameter(torch.randn(4))
    opt = torch.optim.Adam([w], lr=0.1)
    (w**2).sum().backward()
    opt.step()
    tensors, skeleton = io.flatten_state(opt.state_dict(), "optim")
    json.dumps(skeleton)  # the skeleton is plain JSON
    restored = io.unflatten_state(json.loads(json.dumps(skeleton)), tensors)
    fresh = torch.optim.Adam([torch.nn.Parameter(w.detach().clone())], lr=0.5)
    fresh.load_state_dict(restored)
    assert fresh.param_groups[0]["lr"] == 0.1
    assert torch.equal(fresh.state_dict()["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])


def test_jsonl_skips_a_torn_last_line(tmp_path):
    path = tmp_path / "m.jsonl"
    io.append_jsonl(path, [{"step": 1}, {"step": 2}])
    with open(path, "a") as handle:
        handle.write('{"step": 3')
    assert [r["step"] for r in io.read_jsonl(path)] == [1, 2]


def test_a_json_file_with_bytes_that_are_not_utf8_is_a_checkpoint_error(tmp_path):
    path = tmp_path / "x.json"
    path.write_bytes(b'{"a": "\xff"}')
    with pytest.raises(CheckpointError, match=r"x\.json is not UTF-8 text \(byte 7\)"):
        io.read_json(path)
