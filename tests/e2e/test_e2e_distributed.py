"""A worker of ``genforge train --distributed ddp --nproc 2`` killed with SIGKILL: the command stops with
one line naming the rank, keeps the last good checkpoint (which ``--resume`` continues) and leaves no
process behind."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from genforge.core.runs import Run
from genforge.pipelines.distributed import available_cores

GF = [sys.executable, "-m", "genforge.cli.main"]
SETS = ["base_channels=4", "max_channels=8", "latent_dim=4", "batch_size=16", "log_every=1",
        "checkpoint_every=2", "final_eval=false", "eval_every=1000", "sample_every=1000"]  # fmt: skip


def _children(pid: int) -> set[int]:
    """Every live descendant of ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if fields[0] != "Z":
                parents[int(entry.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        return (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]) != "Z"
    except OSError:
        return False


def _workers(pid: int) -> list[int]:
    """The spawned training processes under the command (multiprocessing's spawn entry point)."""
    out = []
    for child in _children(pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in cmdline:
            out.append(child)
    return sorted(out)


@pytest.mark.slow
@pytest.mark.skipif(available_cores() < 2 or not Path("/proc").exists(), reason="2 cores and /proc")
def test_sigkill_of_a_worker_names_the_rank_keeps_the_checkpoint_and_leaves_no_orphans(tmp_path):
    argv = [*GF, "train", "vae", "--data", "digits", "--distributed", "ddp", "--nproc", "2",
            "--max-steps", "100000", "--out", str(tmp_path), "--quiet"]  # fmt: skip
    argv += [a for kv in SETS for a in ("--set", kv)]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and process.poll() is None:
            logs = list(tmp_path.glob("*/metrics.jsonl"))
            lines = logs[0].read_text().splitlines() if logs else []
            if lines and json.loads(lines[-1])["step"] >= 4:
                break
            time.sleep(0.05)
        assert process.poll() is None, process.communicate()
        workers = _workers(process.pid)
        assert len(workers) == 2
        everyone = _children(process.pid)
        os.kill(workers[-1], signal.SIGKILL)
        out, err = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: distributed training stopped: rank "), err
    assert "killed by signal 9" in lines[0] and "--resume" in lines[0]
    time.sleep(0.5)
    assert [pid for pid in everyone if _alive(pid)] == []
    (path,) = tmp_path.iterdir()
    checkpoint = Run(path).load_checkpoint()
    assert checkpoint.step >= 2 and checkpoint.step % 2 == 0
