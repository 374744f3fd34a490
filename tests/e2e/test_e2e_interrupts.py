"""Ctrl-C (SIGINT), SIGTERM and kill -9 sent to a running ``genforge train`` process, then ``--resume``:
the run ends with the same checkpoint and log as an uninterrupted one, with augmentation on (as a user
types it). Checkpoints every few hundredths of a second (``checkpoint_minutes``) give kill -9 a recent
one to resume from; a resume drops the log records written after it, so no step is logged twice."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from genforge.core.runs import Run

GF = [sys.executable, "-m", "genforge.cli.main"]
STEPS = 150


def command(family: str, out: Path) -> list[str]:
    sets = [
        "log_every=5",
        "checkpoint_every=100000",
        "checkpoint_minutes=0.002",
        "final_eval=false",
        "base_channels=4",
        "max_channels=8",
    ]
    return [
        *GF,
        "train",
        family,
        "--data",
        "digits",
        "--augment",
        "hflip",
        "--augment",
        "shift",
        "--max-steps",
        str(STEPS),
        "--seed",
        "2",
        "--out",
        str(out),
        "--quiet",
        *[a for kv in sets for a in ("--set", kv)],
    ]


def wait_for_logged_step(out: Path, process: subprocess.Popen, step: int) -> None:
    """Wait until the run under ``out`` has logged a training record at ``step`` or later."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        for log in out.glob("*/metrics.jsonl"):
            lines = log.read_text().splitlines()
            if lines and json.loads(lines[-1])["step"] >= step:
                return
        time.sleep(0.02)
    raise AssertionError(f"training never logged step {step} (exit {process.poll()})")


def final_checkpoint(out: Path):
    (path,) = out.iterdir()
    run = Run(path)
    return run, run.load_checkpoint()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted run of each family, trained once."""
    runs: dict[str, Path] = {}

    def get(family: str) -> Path:
        if family not in runs:
            out = tmp_path_factory.mktemp(f"ref-{family}")
            done = subprocess.run(command(family, out), capture_output=True, text=True, timeout=900)
            assert done.returncode == 0, done.stderr
            runs[family] = out
        return runs[family]

    return get


@pytest.mark.slow
@pytest.mark.parametrize(
    ("family", "sig", "code"),
    [("vae", signal.SIGINT, 130), ("gan", signal.SIGTERM, 143), ("vae", signal.SIGKILL, -9)],
)
def test_a_signal_to_the_train_command_leaves_a_run_that_resumes_exactly(
    tmp_path, reference, family, sig, code
):
    expected_out = reference(family)
    process = subprocess.Popen(
        command(family, tmp_path / "b"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    wait_for_logged_step(tmp_path / "b", process, 10)
    process.send_signal(sig)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == code, stderr
    run, stopped = final_checkpoint(tmp_path / "b")
    assert stopped.step < STEPS
    if sig != signal.SIGKILL:  # a signal genforge can catch: the step in progress is finished and saved
        assert "Traceback" not in stderr and "resume with: genforge train --resume" in stdout
        assert stopped.meta["status"] == "interrupted" and stopped.step >= 10

    resumed = subprocess.run(
        [*GF, "train", family, "--resume", str(run.path), "--quiet"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert resumed.returncode == 0, resumed.stderr
    expected_run, expected = final_checkpoint(expected_out)
    _, got = final_checkpoint(tmp_path / "b")
    assert got.step == expected.step == STEPS
    differ = [k for k in expected.tensors if not torch.equal(expected.tensors[k], got.tensors[k])]
    assert differ == [] and expected.tensors.keys() == got.tensors.keys()

    def log(r: Run) -> list[dict]:
        return [
            {k: v for k, v in rec.items() if k not in ("elapsed_s", "samples_per_s")}
            for rec in r.read_metrics()
        ]

    assert log(expected_run) == log(run)


def test_resuming_a_run_as_another_family_is_refused(tmp_path, gf):
    code, _, err = gf("train", "vae", "--data", "digits", "--max-steps", 2, "--out", tmp_path, "--quiet")
    assert code == 0, err
    (run,) = tmp_path.iterdir()
    before = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert gf("train", "gan", "--resume", run, "--max-steps", 4) == (
        2,
        "",
        f"error: run {run.name} is a vae run, not gan: resume it without naming a family, or train a new gan run\n",
    )
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == before
