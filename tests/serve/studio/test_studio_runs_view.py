"""The studio's view of the runs folder: tolerant incremental log reading, sorting, paging, live status."""

from __future__ import annotations

import json

import numpy as np
import pytest

from genforge.core.errors import ConfigError, RunNotFound
from genforge.core.runs import Run
from genforge.render.downsample import downsample_curve
from genforge.serve.studio.runs_view import MetricsTail, get_run, list_page, points, run_row


def _fake_run(root, run_id, family="vae", step=0, loss=None):
    """A run folder as the trainer lays it out (config, log), made without training for listing tests."""
    run = Run(root / run_id)
    run.path.mkdir(parents=True)
    run.write_config({
        "family": family, "model": {}, "train": {}, "data": {"spec": "digits"},
        "data_info": {"kind": "image", "shape": [1, 8, 8]}, "seed": 0,
    })  # fmt: skip
    if loss is not None:
        run.write_eval({"bits_per_dim": loss})
    if step:
        run.save_checkpoint(step, {}, {"status": "completed"})
    return run


def test_tail_reads_only_complete_lines_and_resumes_where_it_stopped(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_bytes(b'{"step": 1, "split": "train", "loss": 2.0}\n{"step": 2, "spl')
    tail = MetricsTail(path)
    assert [r["step"] for r in tail.read_new()] == [1]
    with open(path, "ab") as handle:
        handle.write(b'it": "train", "loss": 1.5}\n')
    assert tail.read_new() == [{"step": 2, "split": "train", "loss": 1.5}]
    assert tail.read_new() == [] and tail.bad == []


def test_tail_flags_every_kind_of_bad_line_by_number_and_keeps_the_good_ones(tmp_path):
    path = tmp_path / "metrics.jsonl"
    lines = [
        b'{"step": 1, "split": "train", "loss": 2.0}',
        b"not json at all",
        b"\xff\xfe broken bytes",
        b"[1, 2, 3]",
        b"x" * (2 << 20),
        b'{"step": 2, "split": "train", "loss": 1.0}',
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    tail = MetricsTail(path)
    records = tail.read_new()
    assert [r["step"] for r in records] == [1, 2]
    assert tail.bad == [
        {"line": 2, "reason": "not JSON"},
        {"line": 3, "reason": "not UTF-8 text"},
        {"line": 4, "reason": "not a JSON object"},
        {"line": 5, "reason": "longer than 1 MiB"},
    ]


def test_an_overlong_line_still_being_written_is_skipped_without_buffering_it(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_bytes(b"y" * (3 << 20))
    tail = MetricsTail(path)
    assert tail.read_new() == [] and tail.pending == b""
    with open(path, "ab") as handle:
        handle.write(b"y" * 10 + b'\n{"step": 7, "split": "val", "loss": 0.5}\n')
    assert tail.read_new() == [{"step": 7, "split": "val", "loss": 0.5}]
    assert tail.bad == [{"line": 1, "reason": "longer than 1 MiB"}]


def test_points_skip_non_finite_and_non_numeric_values():
    records = [
        {"step": 1, "split": "train", "loss": 1.0},
        {"step": 2, "split": "train", "loss": float("nan")},
        {"step": 3, "split": "train", "loss": True},
        {"step": 4, "split": "val", "loss": 0.5},
        {"step": 5, "split": "event", "loss": 9.0},
    ]
    assert points(records, "loss") == {"train": ([1], [1.0]), "val": ([4], [0.5])}


def test_list_sorts_pages_and_keeps_runs_without_the_figure_last(tmp_path):
    for index in range(7):
        _fake_run(tmp_path, f"run-{index}", step=10 * index, loss=None if index == 3 else 3.0 - index / 10)
    rows, total, pages = list_page(tmp_path, "headline", descending=False, page=1, per_page=4)
    assert total == 7 and pages == 2
    assert [r["id"] for r in rows] == ["run-6", "run-5", "run-4", "run-2"]
    rows, _, _ = list_page(tmp_path, "headline", descending=True, page=2, per_page=4)
    assert [r["id"] for r in rows] == ["run-5", "run-6", "run-3"]
    rows, _, _ = list_page(tmp_path, "step", descending=True, page=1, per_page=2)
    assert [r["step"] for r in rows] == [60, 50]


def test_list_of_a_missing_folder_is_empty_and_bad_arguments_name_themselves(tmp_path):
    assert list_page(tmp_path / "nowhere") == ([], 0, 1)
    with pytest.raises(ConfigError, match="cannot sort runs by 'colour'"):
        list_page(tmp_path, "colour")
    with pytest.raises(ConfigError, match="per_page must be between 1 and 1000"):
        list_page(tmp_path, per_page=0)


def test_a_damaged_run_keeps_its_row_with_the_file_named(tmp_path):
    run = _fake_run(tmp_path, "broken")
    run.config_path.write_text("{not json", encoding="utf-8")
    row = run_row(run)
    assert row["status"] == "damaged" and "config.json" in row["error"]


def test_run_ids_are_folder_names_never_paths(tmp_path):
    _fake_run(tmp_path / "runs", "good")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "config.json").write_text(json.dumps({}), encoding="utf-8")
    assert get_run(tmp_path / "runs", "good").id == "good"
    for bad in ["../outside", "..", ".", "a/b", "", "x" * 300]:
        with pytest.raises(RunNotFound):
            get_run(tmp_path / "runs", bad)


def test_status_is_training_while_the_lock_is_held(tmp_path):
    run = _fake_run(tmp_path, "live", step=10)
    assert run_row(run)["status"] == "completed"
    with run.training_lock():
        assert run.is_training() and run_row(run)["status"] == "training"
    assert not run.is_training()


def test_downsampling_keeps_the_ends_and_a_spike_within_budget():
    steps = np.arange(100_000)
    values = np.exp(-steps / 20_000.0)
    values[61_234] = 50.0
    xs, ys = downsample_curve(steps.tolist(), values.tolist(), 1000)
    assert len(xs) <= 1000 and xs[0] == 0 and xs[-1] == 99_999
    assert 61_234 in xs and max(ys) == 50.0
    assert xs == sorted(xs)
    assert downsample_curve([1, 2], [3.0, 4.0], 10) == ([1, 2], [3.0, 4.0])
    with pytest.raises(ConfigError):
        downsample_curve([1, 2, 3], [1.0, 2.0, 3.0], 2)


def test_a_bad_line_deep_in_a_long_log_is_named_and_its_neighbours_kept(tmp_path):
    path = tmp_path / "metrics.jsonl"
    lines = [f'{{"step": {s}, "split": "train", "loss": {1 / s}}}' for s in range(1, 5001)]
    lines[3000] = '{"step": 3001, "split": "train", "loss": '  # torn in the middle of the file
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tail = MetricsTail(path)
    records = tail.read_new()
    assert len(records) == 4999 and records[2999]["step"] == 3000 and records[3000]["step"] == 3002
    assert tail.bad == [{"line": 3001, "reason": "not JSON"}]


def test_a_rewritten_log_is_read_again_from_its_start(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text(
        "".join(f'{{"step": {s}, "split": "train", "loss": 1.0}}\n' for s in range(1, 11)), "utf-8"
    )
    tail = MetricsTail(path)
    assert len(tail.read_new()) == 10 and not tail.restarted
    replacement = tmp_path / "new.jsonl"  # a resume drops records after its checkpoint, atomically
    replacement.write_text('{"step": 1, "split": "train", "loss": 2.0}\n', "utf-8")
    replacement.replace(path)
    assert tail.read_new() == [{"step": 1, "split": "train", "loss": 2.0}] and tail.restarted


def test_downsampling_orders_points_by_step():
    steps = list(range(1000, 0, -1))
    xs, _ = downsample_curve(steps, [float(s) for s in steps], 50)
    assert xs == sorted(xs) and xs[0] == 1 and xs[-1] == 1000


def test_cached_rows_follow_every_change_of_the_files_they_read(tmp_path):
    run = _fake_run(tmp_path, "cached", step=10, loss=2.5)
    assert run_row(run)["headline"] == 2.5
    run.write_eval({"bits_per_dim": 1.5})  # rewritten within the same timestamp tick: a new inode
    assert run_row(run)["headline"] == 1.5
    run.save_checkpoint(20, {}, {"status": "early_stopped"})
    row = run_row(run)
    assert row["step"] == 20 and row["status"] == "early_stopped"
    run.config_path.write_text("{", encoding="utf-8")
    assert run_row(run)["status"] == "damaged"


def test_metric_names_are_the_numeric_train_and_val_figures_of_every_key_set():
    from genforge.serve.studio.runs_view import metric_names

    records = [{"step": s, "split": "train", "loss": 1.0 / s, "lr": 0.1} for s in range(1, 50)]
    records += [{"step": 10, "split": "val", "loss": 0.5, "bits_per_dim": 2}]
    records += [
        {"step": 20, "split": "eval", "fid": 3.0},
        {"step": 20, "split": "train", "note": "x", "grad": 1.5},
    ]
    records += [{"step": 21, "split": "train", "ok": True}]  # a boolean is not a figure
    assert metric_names(records) == {"loss", "lr", "bits_per_dim", "grad"}
    assert metric_names([{"split": "val", "kl": 0.2}], {"loss"}) == {"loss", "kl"}
