"""Interrupted and resumed runs end exactly where uninterrupted ones do, for every family.

Each case trains a small real model of one family for 12 steps (validation, samples, EMA, early-stopping
bookkeeping all active), interrupts it at one point of the loop, resumes it, and compares the final
checkpoint (every tensor: weights, optimizer state, EMA, best weights, RNG state) and the training log
with an uninterrupted run of the same seed. The interrupt is either what Ctrl-C does, a real SIGINT
sent to this process (``signal``), or a ``KeyboardInterrupt`` raised on the spot (``raise``: a second
Ctrl-C, or an interrupt outside the main thread), at these points: inside the training loss (for the GAN,
between its discriminator and generator updates), right after an optimizer step, inside validation and
inside sample writing (with the EMA weights swapped in).
"""

from __future__ import annotations

import os
import signal

import pytest
import torch

from genforge.core.runs import Run
from genforge.data.scenes import SceneConfig, make_scenes
from genforge.models.base import MODELS
from genforge.pipelines.training import resume, train

STEPS = 12
TRAIN = {
    "batch_size": 16,
    "log_every": 3,
    "eval_every": 4,
    "eval_batches": 2,
    "sample_every": 4,
    "checkpoint_every": 5,
    "num_samples": 4,
    "ema_decay": 0.9,
    "early_stop_patience": 5,
    "final_eval": False,
}
TEXT = {"tokenizer": "char", "block_size": 16}
CLIP_RUN = "<a tiny clip run, trained once per module>"
SCENES = "<tiny scenes, made once per module>"
_clip_runs: dict[str, str] = {}
CASES = {  # name: (family, data, model overrides, data options)
    "vae": ("vae", "digits", {"base_channels": 4, "max_channels": 8, "latent_dim": 4, "dropout": 0.1}, {}),
    "vae-augment": ("vae", "digits", {"base_channels": 4, "max_channels": 8, "latent_dim": 4}, {"augment": ["hflip", "shift"]}),
    "gan": ("gan", "digits", {"base_channels": 4, "max_channels": 8, "latent_dim": 8}, {}),
    "gan-dp": ("gan", "digits", {"base_channels": 4, "max_channels": 8, "latent_dim": 8, "dp": True, "dp_noise_multiplier": 1.0}, {}),
    "pixelcnn": ("pixelcnn", "digits", {"channels": 8, "num_layers": 2, "head_channels": 8, "dropout": 0.1}, {}),
    "realnvp": ("realnvp", "digits", {"hidden_channels": 4, "num_res_blocks": 0, "num_scales": 0, "final_couplings": 2}, {}),
    "gpt": ("gpt", "text:lee", {"num_layers": 1, "num_heads": 2, "embed_dim": 16, "dropout": 0.1}, TEXT),
    "lstm-lm": ("lstm-lm", "text:lee", {"embed_dim": 16, "hidden_dim": 16, "num_layers": 1, "dropout": 0.1}, TEXT),
    "gru-lm": ("gru-lm", "text:lee", {"embed_dim": 16, "hidden_dim": 16, "num_layers": 1, "dropout": 0.1}, TEXT),
    "seq2seq": ("seq2seq", "seq2seq:dates", {"embed_dim": 16, "hidden_dim": 16}, {"num_examples": 400}),
    "diffusion": ("diffusion", "digits", {"base_channels": 4, "timesteps": 50, "sample_steps": 3, "dropout": 0.1, "cond": "class"}, {}),
    "clip": ("clip", "digits-captions", {"image_channels": 4, "text_width": 8, "text_heads": 2, "embed_dim": 8}, {}),
    "diffusion-text": ("diffusion", "digits-captions", {"base_channels": 4, "timesteps": 50, "sample_steps": 3, "cond": "text", "clip_run": CLIP_RUN}, {}),
    "detector": ("detector", SCENES, {"width": 4}, {}),
    "segmenter": ("segmenter", SCENES, {"width": 4}, {}),
    "segmenter-instance": ("segmenter", SCENES, {"width": 4, "task": "instance"}, {}),
}  # fmt: skip
NO_SAMPLES = ("clip", "detector", "segmenter", "segmenter-instance")
# point: (the call that trips, its index): loss and optimizer in step 7, validation at step 8, samples at step 8
POINTS = {"loss": 7, "optimizer": 7, "validation": 3, "samples": 2}
TIMING = ("elapsed_s", "samples_per_s")


class Trap:
    """Counts calls and interrupts at the ``at``-th: a real SIGINT, a raised KeyboardInterrupt, or two
    SIGINTs (the second Ctrl-C that will not wait)."""

    def __init__(self, mode: str, at: int) -> None:
        self.mode, self.at, self.calls = mode, at, 0

    def fire(self) -> None:
        self.calls += 1
        if self.calls != self.at:
            return
        if self.mode == "raise":
            raise KeyboardInterrupt
        os.kill(os.getpid(), signal.SIGINT)
        if self.mode == "double-signal":
            os.kill(os.getpid(), signal.SIGINT)


def _after(original, trap: Trap, when):
    def wrapped(self, *args, **kwargs):
        out = original(self, *args, **kwargs)
        if when(self):
            trap.fire()
        return out

    return wrapped


def install(monkeypatch, family: str, point: str, trap: Trap) -> None:
    """Make ``trap`` fire at ``point`` of the loop for models of ``family``."""
    cls = MODELS.get(family).obj
    if point == "loss":  # the GAN's generator loss runs after its discriminator update: mid-step
        name = "generator_loss" if family == "gan" else "loss"
        monkeypatch.setattr(cls, name, _after(getattr(cls, name), trap, lambda m: m.training))
    elif point == "validation":
        monkeypatch.setattr(cls, "loss", _after(cls.loss, trap, lambda m: not m.training))
    elif point == "samples":
        monkeypatch.setattr(cls, "sample", _after(cls.sample, trap, lambda m: True))
    else:
        for opt_cls in (torch.optim.Adam, torch.optim.AdamW):
            monkeypatch.setattr(opt_cls, "step", _after(opt_cls.step, trap, lambda o: True))


@pytest.fixture(scope="module", autouse=True)
def tiny_clip_run(tmp_path_factory):
    """The clip run whose text tower the text-conditioned diffusion case embeds captions with."""
    out = tmp_path_factory.mktemp("clip")
    scenes = tmp_path_factory.mktemp("scenes") / "s"
    make_scenes(scenes, SceneConfig(n=200, canvas=16, max_scale=2, max_objects=2), seed=0)  # 2 val batches
    _clip_runs[SCENES] = f"scenes:{scenes}"
    _clip_runs[CLIP_RUN] = str(
        train(
            "clip", "digits-captions", out=out, max_steps=2, overrides={**TRAIN, **CASES["clip"][2]}
        ).run.path
    )
    yield
    _clip_runs.clear()


def run_case(name: str, out, **kwargs):
    family, data, model, options = CASES[name]
    data = _clip_runs.get(data, data)
    model = {k: _clip_runs.get(v, v) if isinstance(v, str) else v for k, v in model.items()}
    return train(
        family,
        data,
        out=out,
        seed=3,
        max_steps=STEPS,
        overrides={**TRAIN, **model},
        data_options=options,
        **kwargs,
    )


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted run of each case, trained once."""
    runs: dict[str, Run] = {}

    def get(name: str) -> Run:
        if name not in runs:
            runs[name] = run_case(name, tmp_path_factory.mktemp(f"ref-{name}")).run
        return runs[name]

    return get


def assert_same_run(expected: Run, got: Run) -> None:
    a, b = expected.load_checkpoint(), got.load_checkpoint()
    assert (a.step, a.meta["status"]) == (b.step, b.meta["status"]) == (STEPS, "completed")
    assert a.tensors.keys() == b.tensors.keys()
    differ = [k for k in a.tensors if not torch.equal(a.tensors[k], b.tensors[k])]
    assert differ == [], f"{len(differ)} of {len(a.tensors)} tensors differ, e.g. {differ[:3]}"
    assert a.meta["counters"] == b.meta["counters"]

    def log(run: Run) -> list[dict]:
        return [{k: v for k, v in r.items() if k not in TIMING} for r in run.read_metrics()]

    assert log(expected) == log(got)  # every step logged once, with the same figures
    final = f"step-{STEPS:06d}"
    written = sorted(p.name for p in expected.samples_dir.glob(f"{final}.*"))
    assert written == sorted(p.name for p in got.samples_dir.glob(f"{final}.*"))
    for name in written:
        assert (expected.samples_dir / name).read_bytes() == (got.samples_dir / name).read_bytes()


def _cases() -> list[tuple[str, str, str]]:
    """Every family at every point with both kinds of interrupt, except two that repeat another: right
    after an optimizer step is tried where a step holds more than one update (the GAN) and on the VAE,
    and pairs (seq2seq), the CLIP encoder, the detector and the segmenter have no samples to draw."""
    cases = []
    for name, (_, data, _, _) in CASES.items():
        for point in POINTS:
            if point == "optimizer" and name not in ("vae", "gan", "gan-dp"):
                continue
            if point == "samples" and (data.startswith("seq2seq") or name in NO_SAMPLES):
                continue
            cases += [(name, point, "signal"), (name, point, "raise")]
    return cases


PARAMS = _cases()


@pytest.mark.slow
@pytest.mark.parametrize(("name", "point", "mode"), PARAMS)
def test_interrupted_then_resumed_run_equals_the_uninterrupted_run(
    name, point, mode, reference, tmp_path, monkeypatch
):
    trap = Trap(mode, POINTS[point])
    with monkeypatch.context() as patch:
        install(patch, CASES[name][0], point, trap)
        part = run_case(name, tmp_path)
    assert trap.calls >= trap.at, "the interrupt point was never reached"
    assert part.status == "interrupted" and part.step < STEPS
    mid_step = mode == "raise" and point in ("loss", "optimizer")
    assert any("middle of a step" in note for note in part.notes) == mid_step
    resumed = resume(part.run.path)
    assert resumed.status == "completed" and resumed.step == STEPS
    assert_same_run(reference(name), part.run)


@pytest.mark.slow
def test_a_second_ctrl_c_stops_at_once_and_keeps_the_last_checkpoint(reference, tmp_path, monkeypatch):
    trap = Trap("double-signal", POINTS["loss"])
    with monkeypatch.context() as patch:
        install(patch, "vae", "loss", trap)
        part = run_case("vae", tmp_path)
    assert part.status == "interrupted" and part.step == 5  # the periodic checkpoint before step 7
    assert part.run.checkpoint_steps()[-1] == 5
    resume(part.run.path)
    assert_same_run(reference("vae"), part.run)


def test_signal_handlers_are_restored_after_training(tmp_path):
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    run_case("vae", tmp_path)
    assert {sig: signal.getsignal(sig) for sig in before} == before


def test_training_leaves_the_callers_global_rng_alone(tmp_path):
    torch.manual_seed(1234)
    expected = torch.rand(3)
    torch.manual_seed(1234)
    run_case("vae", tmp_path)
    assert torch.equal(torch.rand(3), expected)


def _trap_setup(monkeypatch, trap: Trap) -> None:
    """Fire ``trap`` while the trainer builds its optimizers: after the run folder and config exist,
    before the first step (where torch's lazy imports spend seconds)."""
    import genforge.trainer.loop as loop

    original = loop.make_optimizer

    def wrapped(*args, **kwargs):
        trap.fire()
        return original(*args, **kwargs)

    monkeypatch.setattr(loop, "make_optimizer", wrapped)


@pytest.mark.parametrize("name", ["vae", "gan"])
def test_a_ctrl_c_during_setup_stops_at_step_0_and_the_run_resumes_exactly(
    name, reference, tmp_path, monkeypatch
):
    trap = Trap("signal", 1)
    with monkeypatch.context() as patch:
        _trap_setup(patch, trap)
        part = run_case(name, tmp_path)
    assert trap.calls >= 1
    assert (part.status, part.step, part.stop_signal) == ("interrupted", 0, "SIGINT")
    assert part.run.checkpoint_steps() == [0]
    resumed = resume(part.run.path)
    assert resumed.status == "completed" and resumed.step == STEPS
    assert_same_run(reference(name), part.run)


def test_a_second_ctrl_c_during_setup_leaves_no_run_behind(tmp_path, monkeypatch):
    trap = Trap("double-signal", 1)
    with monkeypatch.context() as patch:
        _trap_setup(patch, trap)
        with pytest.raises(KeyboardInterrupt):
            run_case("vae", tmp_path)
    assert list(tmp_path.iterdir()) == []
