import pytest
import torch

from genforge.core.errors import CheckpointError, RunNotFound
from genforge.core.runs import list_runs, new_run, resolve_run


def test_new_runs_get_unique_ids(tmp_path):
    a, b = new_run(tmp_path, "vae-digits"), new_run(tmp_path, "vae-digits")
    assert a.path != b.path and a.path.is_dir() and b.path.is_dir()


def test_checkpoints_keep_the_latest_two_and_load_latest(tmp_path):
    run = new_run(tmp_path, "x")
    for step in (1, 2, 3):
        run.save_checkpoint(step, {"w": torch.full((2,), float(step))}, {"note": step})
    assert run.checkpoint_steps() == [2, 3]
    checkpoint = run.load_checkpoint()
    assert checkpoint.step == 3 and checkpoint.meta["note"] == 3 and checkpoint.notes == []
    assert checkpoint.tensors["w"].tolist() == [3.0, 3.0]
    with pytest.raises(CheckpointError, match="no checkpoint at step 1"):
        run.load_checkpoint(1)


def test_checkpoint_without_its_json_is_incomplete(tmp_path):
    run = new_run(tmp_path, "x")
    run.save_checkpoint(5, {"w": torch.zeros(1)}, {})
    (run.checkpoint_dir / "step-5.json").unlink()
    assert run.checkpoint_steps() == []


def test_resolve_by_path_id_and_prefix(tmp_path):
    run = new_run(tmp_path, "gan-digits")
    run.write_config({"family": "gan"})
    assert resolve_run(run.path).path == run.path
    assert resolve_run(run.id, tmp_path).path == run.path
    assert resolve_run(run.id[:10], tmp_path).path == run.path
    assert [r.id for r in list_runs(tmp_path)] == [run.id]


def test_unknown_run_is_a_clear_error(tmp_path):
    with pytest.raises(RunNotFound, match="no run 'nope'"):
        resolve_run("nope", tmp_path)
    (tmp_path / "plain").mkdir()
    with pytest.raises(RunNotFound, match="not a genforge run directory"):
        resolve_run(tmp_path / "plain", tmp_path)
