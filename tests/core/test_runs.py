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


def test_an_exact_id_is_not_ambiguous_with_a_longer_id_it_prefixes(tmp_path):
    first, second = (tmp_path / "20260101-000000-vae-digits"), (tmp_path / "20260101-000000-vae-digits-1")
    for path in (first, second):
        path.mkdir()
        (path / "config.json").write_text("{}")
    assert resolve_run(first.name, tmp_path).path == first
    with pytest.raises(RunNotFound, match="ambiguous"):
        resolve_run("20260101-000000-vae", tmp_path)


def test_unknown_run_is_a_clear_error(tmp_path):
    with pytest.raises(RunNotFound, match="no run 'nope'"):
        resolve_run("nope", tmp_path)
    (tmp_path / "plain").mkdir()
    with pytest.raises(RunNotFound, match="not a genforge run directory"):
        resolve_run(tmp_path / "plain", tmp_path)


CONFIG = {
    "family": "vae",
    "model": {},
    "train": {},
    "data": {"spec": "digits"},
    "data_info": {"kind": "image", "shape": [1, 8, 8]},
    "seed": 0,
}


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b'{"family": "vae\xff"}', "is not UTF-8 text"),
        (b"[]", "holds a JSON list, not an object"),
        (b'{"model": {}}', "has no 'family'"),
        (b'{"family": "vae", "model": {}, "train": {}, "data": {}}', "has no 'data_info'"),
        (b"{not json", "is not valid JSON"),
    ],
)
def test_a_damaged_config_is_one_error_naming_the_file(tmp_path, content, problem):
    run = new_run(tmp_path, "x")
    run.config_path.write_bytes(content)
    with pytest.raises(CheckpointError, match=problem) as err:
        run.read_config()
    assert str(run.config_path) in str(err.value)


@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"[1, 2]", "holds a JSON list"), (b'"done"', "holds a JSON string"), (b'{"a": "\xfe"}', "not UTF-8")],
)
def test_a_damaged_eval_json_is_one_error_naming_the_file(tmp_path, content, problem):
    run = new_run(tmp_path, "x")
    run.write_config(CONFIG)
    run.eval_path.write_bytes(content)
    with pytest.raises(CheckpointError, match=problem) as err:
        run.summary()
    assert "eval.json" in str(err.value)


@pytest.mark.parametrize(
    ("line", "problem"),
    [(b'{"step": 2, "loss": "\xff"}', "line 2 is not UTF-8"), (b"[1, 2]", "line 2 is a JSON list")],
)
def test_a_damaged_metrics_line_is_one_error_naming_file_and_line(tmp_path, line, problem):
    run = new_run(tmp_path, "x")
    run.metrics_path.write_bytes(b'{"step": 1}\n' + line + b'\n{"step": 3}\n')
    with pytest.raises(CheckpointError, match=problem) as err:
        run.read_metrics()
    assert "metrics.jsonl" in str(err.value)


def test_only_a_torn_last_metrics_line_is_forgiven(tmp_path):
    run = new_run(tmp_path, "x")
    run.metrics_path.write_bytes(b'{"step": 1}\n{"step": 2')
    assert run.read_metrics() == [{"step": 1}]
    run.metrics_path.write_bytes(b'{"step": 1}\n{"step": 2\n{"step": 3}\n')
    with pytest.raises(CheckpointError, match="line 2 is not JSON"):
        run.read_metrics()


def test_dropping_metrics_after_a_step_also_drops_a_torn_line(tmp_path):
    run = new_run(tmp_path, "x")
    run.metrics_path.write_bytes(b'{"step": 1}\n{"step": 2}\n{"step": 3}\n{"step": 4')
    run.drop_metrics_after(2)
    assert run.metrics_path.read_bytes() == b'{"step": 1}\n{"step": 2}\n'


def _three_checkpoints(tmp_path):
    run = new_run(tmp_path, "x")
    for step in (1, 2, 3):
        run.save_checkpoint(step, {"w": torch.full((2,), float(step))}, {"optimizers": {}}, keep=3)
    return run


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (lambda run: run.checkpoint_dir.joinpath("step-3.json").write_text("[1, 2, 3]"), "holds a JSON list"),
        (
            lambda run: run.checkpoint_dir.joinpath("step-3.json").write_text('{"step": 3}'),
            "lacks 'optimizers'",
        ),
        (lambda run: _flip_a_bit(run.checkpoint_dir / "step-3.safetensors"), "does not match the SHA-256"),
        (lambda run: run.checkpoint_dir.joinpath("step-3.safetensors").write_bytes(b""), "SHA-256"),
    ],
)
def test_a_damaged_latest_checkpoint_falls_back_to_the_previous_one_and_says_so(tmp_path, damage, problem):
    run = _three_checkpoints(tmp_path)
    damage(run)
    checkpoint = run.load_checkpoint(require={"optimizers": dict})
    assert checkpoint.step == 2 and checkpoint.tensors["w"].tolist() == [2.0, 2.0]
    (note,) = checkpoint.notes
    assert note.startswith("checkpoint step 3 is unreadable") and problem in note and "using step 2" in note
    with pytest.raises(CheckpointError, match=problem):
        run.load_checkpoint(3, require={"optimizers": dict})


def _flip_a_bit(path):
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x10  # inside the tensor bytes, after the header
    path.write_bytes(bytes(data))


def test_when_no_checkpoint_is_readable_the_error_names_the_latest(tmp_path):
    run = _three_checkpoints(tmp_path)
    for step in (1, 2, 3):
        _flip_a_bit(run.checkpoint_dir / f"step-{step}.safetensors")
    with pytest.raises(CheckpointError, match=r"step-3\.safetensors does not match .* no earlier checkpoint"):
        run.load_checkpoint()


def test_checkpoints_record_the_sha256_of_their_tensors(tmp_path):
    import hashlib
    import json

    run = _three_checkpoints(tmp_path)
    meta = json.loads((run.checkpoint_dir / "step-3.json").read_text())
    data = (run.checkpoint_dir / "step-3.safetensors").read_bytes()
    assert meta["tensors_sha256"] == hashlib.sha256(data).hexdigest()


def test_temporary_files_of_a_killed_checkpoint_write_are_removed(tmp_path):
    run = _three_checkpoints(tmp_path)
    stale = [
        run.checkpoint_dir / ".step-4.safetensors.abc123.tmp",
        run.checkpoint_dir / ".step-4.json.x_y.tmp",
    ]
    for path in stale:
        path.write_bytes(b"half")
    assert run.remove_stale_temp_files() == 2
    assert not any(p.exists() for p in stale) and run.checkpoint_steps() == [1, 2, 3]


def test_a_second_trainer_on_the_same_run_is_refused(tmp_path):
    run = new_run(tmp_path, "x")
    with (
        run.training_lock(),
        pytest.raises(CheckpointError, match="being trained by another process"),
        run.training_lock(),
    ):
        pass
    with run.training_lock():  # released
        pass


def test_a_runs_root_that_is_a_file_or_cannot_be_created_is_one_error(tmp_path):
    from genforge.core.errors import ConfigError

    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="file is a file, not a folder"):
        new_run(tmp_path / "file", "x")
    with pytest.raises(ConfigError, match="file is a file, not a folder"):
        new_run(tmp_path / "file" / "runs", "x")
    with pytest.raises(ConfigError, match="cannot write /proc/nope: /proc is not writable"):
        new_run("/proc/nope", "x")
