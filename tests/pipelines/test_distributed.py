"""Distributed data-parallel training (``distributed="ddp"``): real processes over gloo on 127.0.0.1.

What holds, and is tested here: every rank ends with the same weights; two processes equal one process on
the same global batch to float tolerance (a family with no random draws in its loss: PixelCNN without
dropout, since each rank draws its own noise); a distributed run stopped at a step budget and resumed ends
bit for bit like the uninterrupted distributed run (checkpoint tensors and training log); and bad settings
are refused before any process starts, leaving nothing behind.
"""

from __future__ import annotations

import pytest
import torch

from genforge.core.errors import ConfigError
from genforge.core.runs import Run
from genforge.pipelines.distributed import available_cores, check_distributed
from genforge.pipelines.training import resume, train
from genforge.trainer.distributed import Distributed

pytestmark = pytest.mark.skipif(available_cores() < 2, reason="needs 2 CPU cores for 2 processes")

TRAIN = {"batch_size": 16, "log_every": 2, "eval_every": 4, "eval_batches": 1, "sample_every": 100,
         "checkpoint_every": 100, "num_samples": 4, "final_eval": False}  # fmt: skip
PIXELCNN = {"channels": 8, "num_layers": 2, "head_channels": 8, "dropout": 0.0, **TRAIN}
VAE = {"base_channels": 4, "max_channels": 8, "latent_dim": 4, "dropout": 0.1, "ema_decay": 0.9, **TRAIN}
TIMING = ("elapsed_s", "samples_per_s")


def _final(run: Run) -> dict[str, torch.Tensor]:
    return run.load_checkpoint().tensors


def _log(run: Run) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in TIMING} for r in run.read_metrics()]


@pytest.mark.slow
def test_two_processes_equal_one_process_on_the_same_global_batch(tmp_path):
    one = train("pixelcnn", "digits", out=tmp_path / "one", seed=1, max_steps=6, overrides=PIXELCNN)
    two = train(
        "pixelcnn", "digits", out=tmp_path / "two", seed=1, max_steps=6, overrides=PIXELCNN,
        distributed="ddp", nproc=2,
    )  # fmt: skip
    assert two.status == "completed" and two.step == 6
    assert two.distributed["nproc"] == 2 and two.distributed["ranks_agree"]
    a, b = _final(one.run), _final(two.run)
    weights = [k for k in a if k.startswith("model.")]
    assert weights and set(a) == set(b)
    for key in weights:
        torch.testing.assert_close(b[key], a[key], rtol=1e-4, atol=1e-5, msg=key)
    # the logged training loss is the mean over ranks, i.e. the loss of the global batch
    loss_one = [r["loss"] for r in one.run.read_metrics() if r["split"] == "train"]
    loss_two = [r["loss"] for r in two.run.read_metrics() if r["split"] == "train"]
    assert loss_two == pytest.approx(loss_one, rel=1e-4)


@pytest.mark.slow
def test_resumed_distributed_run_equals_the_uninterrupted_one(tmp_path):
    kwargs = {"seed": 2, "overrides": VAE, "distributed": "ddp", "nproc": 2}
    straight = train("vae", "digits", out=tmp_path / "straight", max_steps=8, **kwargs)
    half = train("vae", "digits", out=tmp_path / "half", max_steps=4, **kwargs)
    assert half.step == 4
    resumed = resume(half.run.path, max_steps=8, distributed="ddp", nproc=2)
    assert resumed.step == straight.step == 8
    a, b = _final(straight.run), _final(resumed.run)
    assert set(a) == set(b)
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert _log(resumed.run) == _log(straight.run)
    assert resumed.distributed["weights_sha256"] == straight.distributed["weights_sha256"]


def test_bad_process_counts_and_backends_are_refused():
    with pytest.raises(ConfigError, match="CPU core"):
        check_distributed("ddp", available_cores() + 1)
    with pytest.raises(ConfigError, match="--nproc needs --distributed"):
        check_distributed(None, 2)
    with pytest.raises(ConfigError, match="unknown distributed backend .dpx."):
        check_distributed("dpx", 2)
    check_distributed("ddp", 2)


def test_multi_optimizer_family_and_uneven_batch_are_refused_before_a_run_is_written(tmp_path):
    gan = {"base_channels": 4, "max_channels": 8, "latent_dim": 8, **TRAIN}
    with pytest.raises(ConfigError, match="one optimizer"):
        train("gan", "digits", out=tmp_path, max_steps=2, overrides=gan, distributed="ddp", nproc=2)
    with pytest.raises(ConfigError, match="divide evenly"):
        train("vae", "digits", out=tmp_path, max_steps=2, overrides={**VAE, "batch_size": 15},
              distributed="ddp", nproc=2)  # fmt: skip
    assert list(tmp_path.iterdir()) == []


def test_each_rank_takes_its_share_of_the_global_batch():
    ids = torch.arange(10)
    shards = [Distributed(rank, 2).shard(ids) for rank in range(2)]
    assert sorted(torch.cat(shards).tolist()) == list(range(10))
    assert shards[0].tolist() == [0, 2, 4, 6, 8]


@pytest.mark.slow
def test_ray_train_gives_the_same_run_as_torch_ddp(tmp_path):
    pytest.importorskip("ray.train.torch")
    kwargs = {"seed": 4, "max_steps": 4, "overrides": VAE, "nproc": 2}
    ddp = train("vae", "digits", out=tmp_path / "ddp", distributed="ddp", **kwargs)
    ray = train("vae", "digits", out=tmp_path / "ray", distributed="ray", **kwargs)
    assert ray.distributed["backend"] == "ray" and ray.distributed["ranks_agree"]
    a, b = _final(ddp.run), _final(ray.run)
    assert set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)
    assert _log(ray.run) == _log(ddp.run)
