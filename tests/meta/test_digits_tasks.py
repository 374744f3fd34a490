"""Few-shot digits: episodes hold K shots of N classes with labels permuted per episode, meta-test classes
never appear in meta-training, sampling is a function of the seed, every learner trains on it, and bad
task specs are one line with nothing written."""

import contextlib
import io
import json

import pytest
import torch
from tests.torch_threads import one_torch_thread  # noqa: F401  (the fixture pytestmark uses)

from genforge.cli.main import main
from genforge.core.errors import ConfigError
from genforge.meta.digits import TEST_DIGITS, TRAIN_DIGITS, digits_episodes, digits_pool
from genforge.meta.learner import evaluate_meta, train_meta
from genforge.meta.tasks import parse_task

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_meta_test_digits_never_appear_in_meta_training():
    train, test = digits_pool("train"), digits_pool("test")
    assert set(train.digit) == set(TRAIN_DIGITS) and set(test.digit) == set(TEST_DIGITS)
    assert train.num_classes == 7 * 4 and set(train.rotation) == {0, 1, 2, 3} and set(test.rotation) == {0}
    # no test image (in any rotation) is among the training images
    train_images = {
        tuple(img.flatten().tolist()) for c in range(train.num_classes) for img in _images(train, c)
    }
    for c in range(test.num_classes):
        for img in _images(test, c):
            assert all(
                tuple(torch.rot90(img, r, (1, 2)).flatten().tolist()) not in train_images for r in range(4)
            )


def _images(pool, c):
    return pool.images[c, : pool.counts[c]]


@pytest.mark.parametrize(("split", "ways", "shots", "query"), [("train", 5, 1, 15), ("test", 3, 5, 4)])
def test_an_episode_holds_k_shots_and_the_query_images_of_each_class(split, ways, shots, query):
    pool = digits_pool(split)
    batch = digits_episodes(6, ways, shots, query, torch.Generator().manual_seed(0), split)
    assert batch["xs"].shape == (6, ways * shots, 1, 8, 8) and batch["xq"].shape == (6, ways * query, 1, 8, 8)
    for t in range(6):
        assert torch.bincount(batch["ys"][t], minlength=ways).tolist() == [shots] * ways
        assert torch.bincount(batch["yq"][t], minlength=ways).tolist() == [query] * ways
        assert len(set(batch["classes"][t].tolist())) == ways  # distinct classes per episode
        for x, y in ((batch["xs"][t], batch["ys"][t]), (batch["xq"][t], batch["yq"][t])):
            for img, label in zip(x, y, strict=True):  # every image comes from its label's class
                members = _images(pool, int(batch["classes"][t, label]))
                assert (members == img).flatten(1).all(1).any()


def test_labels_are_permuted_per_episode():
    batch = digits_episodes(300, 3, 1, 1, torch.Generator().manual_seed(1), "test")
    orders = {tuple(row) for row in batch["classes"].tolist()}
    assert len(orders) == 6  # all 3! assignments of the held-out digits to labels occur
    assert {row[0] for row in orders} == {0, 1, 2}


def test_episodes_are_a_function_of_the_seed():
    a, b, c = (digits_episodes(8, 3, 1, 5, torch.Generator().manual_seed(s)) for s in (3, 3, 4))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["xs"], c["xs"])


def test_task_strings_are_read_with_the_family_defaults():
    assert parse_task("digits:5way-2shot") == (
        "digits",
        {"ways": 5, "shots": 2, "query": 15, "hidden": 64, "inner_lr": 0.4},
    )
    assert parse_task("digits")[1]["ways"] == 3 and parse_task("digits:2way1shot")[1]["shots"] == 1
    assert parse_task("sinusoid") == ("sinusoid", {})


@pytest.mark.parametrize(
    ("task", "overrides", "message"),
    [
        (
            "digits:4way-1shot",
            {},
            "4-way episodes need 4 classes but meta-test has only 3 .* use --ways 3 or fewer",
        ),
        ("digits", {"ways": 10}, "10-way episodes need 10 classes but meta-test has only 3"),
        ("digits:3way-0shot", {}, "asks for 0 shots"),
        ("digits:three-way", {}, "cannot read the task 'digits:three-way': write it like digits:3way-1shot"),
        ("sinusoid:5shot", {}, "cannot read the task"),
        ("digits:3way-1shot", {"ways": 2}, "says ways=3 but ways=2 was also given"),
        ("digits", {"query": 400}, "exceed the 174 images of the smallest digit class"),
        ("digits", {"ways": 1}, "need --ways of at least 2"),
        ("sinusoid", {"ways": 3}, "ways applies to classification tasks"),
    ],
)
def test_bad_task_specs_are_one_line_and_write_nothing(tmp_path, task, overrides, message):
    with pytest.raises(ConfigError, match=message):
        train_meta("maml", task, out=tmp_path / "runs", overrides=overrides)
    assert not (tmp_path / "runs").exists()


def test_the_cli_refuses_too_many_ways_with_exit_2(tmp_path):
    out, err = io.StringIO(), io.StringIO()
    argv = ["meta", "train", "maml", "--task", "digits:1shot", "--out", str(tmp_path / "runs")]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        assert main(argv) == 2
        assert main([*argv[:4], "digits", "--ways", "4", "--out", str(tmp_path / "runs"), "--json"]) == 2
    assert "cannot read the task 'digits:1shot'" in err.getvalue() and "Traceback" not in err.getvalue()
    assert "meta-test has only 3" in json.loads(out.getvalue())["error"]["message"]
    assert not (tmp_path / "runs").exists()


TINY = {"iterations": 120, "meta_batch": 8, "log_every": 40, "checkpoint_every": 40, "hidden": 32}


def test_maml_on_digits_learns_to_adapt_to_unseen_classes(tmp_path):
    trained = evaluate_meta(
        train_meta("maml", "digits:3way-1shot", out=tmp_path, seed=0, overrides=TINY).run, 300
    )
    untrained = train_meta(
        "maml", "digits:3way-1shot", out=tmp_path, seed=0, overrides={**TINY, "iterations": 1}
    )
    curve, before = trained["after_steps"], evaluate_meta(untrained.run, 300)["after_steps"]
    assert trained["metric"] == "accuracy" and trained["task"] == "digits:3way-1shot"
    assert abs(curve["0"]["accuracy"] - 1 / 3) < 0.05  # labels are permuted: no adaptation, chance
    assert curve["1"]["accuracy"] > curve["0"]["accuracy"] + 0.1
    assert curve["1"]["accuracy"] > before["1"]["accuracy"]


@pytest.mark.parametrize("algo", ["reptile", "maml-first-order"])
def test_reptile_and_first_order_maml_train_on_digits(tmp_path, algo):
    overrides = {**TINY, "iterations": 20, "log_every": 10}
    overrides |= {"inner_steps": 3} if algo == "reptile" else {"first_order": True}
    result = train_meta(algo.split("-")[0], "digits:2way-1shot", out=tmp_path, seed=0, overrides=overrides)
    losses = [r["meta_loss"] for r in result.run.read_metrics()]
    assert len(losses) == 2 and all(0 < v < 10 for v in losses)
    assert 0 <= result.evaluation["accuracy_after_1_step"] <= 1 and result.evaluation["episodes"] == 600


def test_the_pretrain_baseline_classifies_all_training_classes_then_gets_a_fresh_head(tmp_path):
    result = train_meta("pretrain", "digits:3way-1shot", out=tmp_path, seed=0, overrides=TINY)
    head = result.run.load_checkpoint().tensors["net.5.weight"]
    assert head.shape == (28, 32)  # one output per meta-training class (7 digits x 4 rotations)
    curve = result.evaluation["after_steps"]
    assert curve["0"]["accuracy"] == pytest.approx(1 / 3)  # zero head: every query gets label 0
    assert curve["10"]["accuracy"] > 0.5
