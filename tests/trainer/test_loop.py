import json
import math

import pytest
import torch

from genforge.core.errors import ConfigError, TrainingDiverged
from genforge.core.runs import Run
from genforge.pipelines.loading import load_run
from genforge.pipelines.training import resume, train
from tests.trainer import tiny_model  # noqa: F401  (registers the tiny-test family)


def _weights(run_path):
    loaded = load_run(run_path, ema=False)
    return {k: v.clone() for k, v in loaded.model.state_dict().items()}


def test_training_reduces_loss_and_writes_run_layout(tmp_path):
    result = train(
        "tiny-test",
        "digits",
        out=tmp_path,
        seed=0,
        max_steps=60,
        overrides={"log_every": 10, "eval_every": 30, "sample_every": 30},
    )
    run = result.run
    assert result.status == "completed" and result.step == 60
    records = run.read_metrics()
    train_losses = [r["loss"] for r in records if r["split"] == "train"]
    assert train_losses[-1] < train_losses[0]
    assert any(r["split"] == "val" for r in records)
    assert run.checkpoint_steps()[-1] == 60
    assert (run.samples_dir / "step-000030.png").exists()
    assert "\n# tiny-test on digits\n" in run.model_card_path.read_text()
    config = json.loads(run.config_path.read_text())
    assert config["train"]["lr"] == 3e-3  # the family's train_defaults apply
    assert config["data_info"]["num_levels"] == 17


def test_same_seed_gives_same_weights(tmp_path):
    a = train("tiny-test", "digits", out=tmp_path / "a", seed=3, max_steps=15)
    b = train("tiny-test", "digits", out=tmp_path / "b", seed=3, max_steps=15)
    wa, wb = _weights(a.run.path), _weights(b.run.path)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_resume_gives_same_weights_as_uninterrupted_run(tmp_path):
    settings = {"log_every": 5, "ema_decay": 0.9, "schedule": "cosine", "checkpoint_every": 1000}
    full = train("tiny-test", "digits", out=tmp_path / "full", seed=1, max_steps=30, overrides=settings)

    def interrupt_at_15(event):
        if event["step"] == 15:
            raise KeyboardInterrupt

    part = train(
        "tiny-test",
        "digits",
        out=tmp_path / "part",
        seed=1,
        max_steps=30,
        overrides=settings,
        progress=interrupt_at_15,
    )
    assert part.status == "interrupted" and part.step == 15
    resumed = resume(part.run.path)
    assert resumed.status == "completed" and resumed.step == 30
    wf, wr = _weights(full.run.path), _weights(part.run.path)
    assert all(torch.equal(wf[k], wr[k]) for k in wf)
    ef = load_run(full.run.path, ema=True).model.state_dict()
    er = load_run(part.run.path, ema=True).model.state_dict()
    assert all(torch.equal(ef[k], er[k]) for k in ef)


def test_unknown_config_key_is_one_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="unknown config key 'hiddn'"):
        train("tiny-test", "digits", out=tmp_path, overrides={"hiddn": 3}, max_steps=1)
    with pytest.raises(ConfigError, match="bad value for train key 'lr'"):
        train("tiny-test", "digits", out=tmp_path, overrides={"lr": -1}, max_steps=1)
    assert not any(tmp_path.iterdir())  # nothing half-written


def test_bad_dataset_leaves_no_run_directory(tmp_path):
    from genforge.core.errors import DataError

    with pytest.raises(DataError, match="does not exist"):
        train("tiny-test", "folder:/nonexistent/images", out=tmp_path, max_steps=1)
    assert list(tmp_path.iterdir()) == []


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
    with pytest.raises(TrainingDiverged, match=r"last good checkpoint \(step 10\)"):
        train(
            "tiny-test",
            "digits",
            out=tmp_path,
            seed=0,
            max_steps=40,
            overrides={"nan_at_call": 15, "checkpoint_every": 10},
        )
    run = Run(next(tmp_path.iterdir()))
    checkpoint = run.load_checkpoint()
    assert checkpoint.step == checkpoint.meta["step"] == 10
    assert all(torch.isfinite(v).all() for k, v in checkpoint.tensors.items() if k.startswith("model."))


def test_time_budget_stops_run(tmp_path):
    result = train("tiny-test", "digits", out=tmp_path, seed=0, max_minutes=0.001)
    assert result.status == "time_budget"


def test_early_stopping_triggers_on_flat_validation(tmp_path):
    result = train(
        "tiny-test",
        "digits",
        out=tmp_path,
        seed=0,
        max_steps=500,
        overrides={"lr": 1e-9, "eval_every": 2, "early_stop_patience": 2},
    )
    assert result.status == "early_stopped"
    assert result.step < 500


def test_resume_past_budget_is_an_error(tmp_path):
    done = train("tiny-test", "digits", out=tmp_path, seed=0, max_steps=5)
    with pytest.raises(ConfigError, match="already reached its step budget"):
        resume(done.run.path)
    more = resume(done.run.path, max_steps=8)
    assert more.step == 8 and math.isfinite(more.metrics["train_loss"])


def test_early_stopping_restores_the_best_weights_and_says_so(tmp_path):
    settings = {"lr": 1e-9, "eval_every": 2, "early_stop_patience": 2, "ema_decay": 0.5}
    stopped = train("tiny-test", "digits", out=tmp_path / "a", seed=0, max_steps=500, overrides=settings)
    assert stopped.status == "early_stopped" and stopped.step == 6
    assert stopped.notes == [
        f"early stopped at step 6: the weights of step 2 (best validation loss {stopped.metrics['val_loss']:.4g}) "
        "are restored"
    ]
    best = train("tiny-test", "digits", out=tmp_path / "b", seed=0, max_steps=2, overrides=settings)
    for ema in (False, True):
        restored = load_run(stopped.run.path, ema=ema).model.state_dict()
        expected = load_run(best.run.path, ema=ema).model.state_dict()
        assert all(torch.equal(restored[k], expected[k]) for k in expected)
    event = [r for r in stopped.run.read_metrics() if r["split"] == "event"]
    assert event == [
        {
            "step": 6,
            "split": "event",
            "event": "early_stopped",
            "restored_step": 2,
            "best_val_loss": stopped.metrics["val_loss"],
        }
    ]
    assert "weights restored from step 2" in stopped.run.model_card_path.read_text()
    with pytest.raises(ConfigError, match="stopped early at step 6 and holds its best weights"):
        resume(stopped.run.path, max_steps=600)


def test_a_new_run_is_checkpointed_at_once_and_every_few_minutes(tmp_path):
    quick = {"checkpoint_every": 1000, "log_every": 1}
    slow = train(
        "tiny-test", "digits", out=tmp_path / "a", max_steps=5, overrides={**quick, "checkpoint_minutes": 60}
    )
    assert slow.run.checkpoint_steps() == [0, 5]
    often = train(
        "tiny-test",
        "digits",
        out=tmp_path / "b",
        max_steps=5,
        overrides={**quick, "checkpoint_minutes": 1e-9},
    )
    assert often.run.checkpoint_steps() == [4, 5]


def test_a_finished_run_holds_its_test_evaluation_and_headline(tmp_path):
    from genforge.pipelines.runs import run_summaries

    result = train("tiny-test", "digits", out=tmp_path, seed=0, max_steps=3)
    evaluation = json.loads(result.run.eval_path.read_text())
    assert evaluation == result.evaluation and evaluation["split"] == "test" and evaluation["step"] == 3
    (summary,) = run_summaries(tmp_path)
    assert summary["headline"] == f"bits_per_dim {evaluation['bits_per_dim']:.4g}"


def test_resume_falls_back_past_a_damaged_latest_checkpoint_and_ends_exactly(tmp_path):
    settings = {"checkpoint_every": 2, "final_eval": False}
    full = train("tiny-test", "digits", out=tmp_path / "full", seed=4, max_steps=8, overrides=settings)
    part = train("tiny-test", "digits", out=tmp_path / "part", seed=4, max_steps=6, overrides=settings)
    latest = part.run.checkpoint_dir / "step-6.safetensors"
    data = bytearray(latest.read_bytes())
    data[-5] ^= 0x01
    latest.write_bytes(bytes(data))
    stale = part.run.checkpoint_dir / ".step-6.safetensors.k1ll3d.tmp"
    stale.write_bytes(b"half a checkpoint")
    resumed = resume(part.run.path, max_steps=8)
    assert (
        resumed.notes[0].startswith("checkpoint step 6 is unreadable") and "using step 4" in resumed.notes[0]
    )
    assert resumed.notes[1] == "renamed the unreadable checkpoint(s) [6] to *.damaged"
    assert (part.run.checkpoint_dir / "step-6.safetensors.damaged").exists() and not stale.exists()
    wf, wr = _weights(full.run.path), _weights(part.run.path)
    assert all(torch.equal(wf[k], wr[k]) for k in wf)
    steps = [r["step"] for r in part.run.read_metrics() if r["split"] == "train"]
    assert steps == sorted(set(steps))  # the redone steps 5 and 6 are logged once


def test_resume_refuses_a_damaged_log_before_training(tmp_path):
    from genforge.core.errors import CheckpointError

    done = train("tiny-test", "digits", out=tmp_path, seed=0, max_steps=4, overrides={"log_every": 1})
    lines = done.run.metrics_path.read_text().splitlines()
    lines[1] = "[1, 2, 3]"
    done.run.metrics_path.write_text("\n".join(lines) + "\n")
    with pytest.raises(CheckpointError, match=r"metrics\.jsonl line 2 is a JSON list"):
        resume(done.run.path, max_steps=6)
    assert done.run.checkpoint_steps()[-1] == 4


def test_training_into_a_file_or_an_unwritable_place_fails_before_any_work(tmp_path):
    (tmp_path / "taken").write_text("x")
    with pytest.raises(ConfigError, match="taken is a file, not a folder"):
        train("tiny-test", "digits", out=tmp_path / "taken", max_steps=1)
    with pytest.raises(ConfigError, match="cannot write /proc/nope: /proc is not writable"):
        train("tiny-test", "digits", out="/proc/nope", max_steps=1)
